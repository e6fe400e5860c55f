import { BufferJSON, jidDecode } from '@whiskeysockets/baileys';
import {
  GroupCipher,
  GroupSessionBuilder,
  SenderKeyDistributionMessage,
  SenderKeyName,
  SenderKeyRecord,
} from '@whiskeysockets/baileys/lib/Signal/Group/index.js';
import type { ClientConnection } from './client-connection';
import type { EmulatorContext } from './emulator-context';
import { pnJid } from './ids';
import { firstChild, iqResult, node, SERVER, type BinaryNode } from './nodes';
import type { GroupRecord } from './state';

/** A group member's sender key, as a Signal SenderKeyStore holding just that one record. */
class MemberKeyStore {
  constructor(
    private readonly group: GroupRecord,
    private readonly member: string,
  ) {}

  async loadSenderKey(): Promise<SenderKeyRecord> {
    const stored = this.group.senderKeys[this.member];
    return stored ? SenderKeyRecord.deserialize(Buffer.from(stored)) : new SenderKeyRecord();
  }

  async storeSenderKey(_name: SenderKeyName, record: SenderKeyRecord): Promise<void> {
    this.group.senderKeys[this.member] = JSON.stringify(record.serialize(), BufferJSON.replacer);
  }
}

/**
 * Group chats: members, each member's sender key (Baileys' own group cipher, so what it produces
 * is what Baileys expects), which companions already hold which member's key, and the group
 * metadata queries (`xmlns=w:g2`) linked devices make.
 */
export class Groups {
  constructor(private readonly ctx: EmulatorContext) {}

  private get all(): Record<string, GroupRecord> {
    return (this.ctx.store.state.groups ??= {});
  }

  get(jid: string): GroupRecord | undefined {
    return this.all[jid];
  }

  /** The group `jid`, created by `account` (with a default subject) on first use; `members` are added. */
  ensure(jid: string, account: string, members: string[] = [], subject?: string): GroupRecord {
    let group = this.all[jid];
    if (!group) {
      group = {
        jid,
        subject: subject ?? `Group ${jid.split('@')[0].slice(-4)}`,
        creator: account,
        creation: Math.floor(Date.now() / 1000),
        participants: [pnJid(account)],
        senderKeys: {},
        distributed: {},
      };
      this.all[jid] = group;
    } else if (subject) group.subject = subject;
    for (const member of [pnJid(account), ...members])
      if (!group.participants.includes(member)) group.participants.push(member);
    this.ctx.store.save();
    return group;
  }

  private keyName(group: GroupRecord, member: string): SenderKeyName {
    const decoded = jidDecode(member);
    const id = `${decoded?.user ?? member}${decoded?.server === 'lid' ? '_1' : ''}`;
    const sender = { id, deviceId: 0, toString: () => `${id}.0` };
    return new SenderKeyName(group.jid, sender as never);
  }

  /** `member`'s SenderKeyDistributionMessage for the group (its sender key is made on first use). */
  async distributionMessage(group: GroupRecord, member: string): Promise<Uint8Array> {
    const store = new MemberKeyStore(group, member);
    const skdm = await new GroupSessionBuilder(store).create(this.keyName(group, member));
    this.ctx.store.save();
    return skdm.serialize();
  }

  /** Encrypts (already padded) `plaintext` with `member`'s sender key: the `skmsg` payload. */
  async encrypt(group: GroupRecord, member: string, plaintext: Uint8Array): Promise<Buffer> {
    const store = new MemberKeyStore(group, member);
    const name = this.keyName(group, member);
    await new GroupSessionBuilder(store).create(name);
    const ciphertext = await new GroupCipher(store, name).encrypt(plaintext);
    this.ctx.store.save();
    return Buffer.from(ciphertext);
  }

  /**
   * A linked device handed out its own sender key for the group (`senderKeyDistributionMessage`
   * in a pairwise message): kept under the device's JID (`account:device@s.whatsapp.net`).
   */
  async receiveSenderKey(group: GroupRecord, deviceJid: string, skdm: Uint8Array): Promise<void> {
    const store = new MemberKeyStore(group, deviceJid);
    const message = new SenderKeyDistributionMessage(null, null, null, null, skdm);
    await new GroupSessionBuilder(store).process(this.keyName(group, deviceJid), message);
    this.ctx.store.save();
  }

  /** Decrypts a linked device's `skmsg` with the sender key it handed out (padded plaintext). */
  async decrypt(group: GroupRecord, deviceJid: string, ciphertext: Uint8Array): Promise<Buffer> {
    const store = new MemberKeyStore(group, deviceJid);
    const plaintext = await new GroupCipher(store, this.keyName(group, deviceJid)).decrypt(
      ciphertext,
    );
    this.ctx.store.save();
    return Buffer.from(plaintext);
  }

  /** Whether the companion at `address` ("account.device") still needs `member`'s sender key. */
  needsKey(group: GroupRecord, address: string, member: string): boolean {
    return !(group.distributed[address] ?? []).includes(member);
  }

  markKeySent(group: GroupRecord, address: string, member: string): void {
    const sent = (group.distributed[address] ??= []);
    if (!sent.includes(member)) sent.push(member);
    this.ctx.store.save();
  }

  /** `w:g2` queries: one group's metadata (`query`), or every group the account is in (`participating`). */
  onGroupIq(conn: ClientConnection, iq: BinaryNode): void {
    const first = firstChild(iq);
    if (first?.tag === 'query') {
      const group = this.all[iq.attrs.to];
      const member = conn.account ? pnJid(conn.account) : '';
      if (!group || !group.participants.includes(member))
        return conn.send(
          node('iq', { id: iq.attrs.id, type: 'error', from: iq.attrs.to ?? SERVER }, [
            node('error', {
              code: group ? '401' : '404',
              text: group ? 'not-authorized' : 'item-not-found',
            }),
          ]),
        );
      return conn.send(iqResult(iq, [this.metadataNode(group)]));
    }
    if (first?.tag === 'participating') {
      const member = conn.account ? pnJid(conn.account) : '';
      const groups = Object.values(this.all).filter((g) => g.participants.includes(member));
      return conn.send(
        iqResult(iq, [
          node(
            'groups',
            {},
            groups.map((g) => this.metadataNode(g)),
          ),
        ]),
      );
    }
    conn.send(iqResult(iq));
  }

  private metadataNode(group: GroupRecord): BinaryNode {
    const creator = pnJid(group.creator);
    return node(
      'group',
      {
        id: group.jid.split('@')[0],
        subject: group.subject,
        s_t: String(group.creation),
        s_o: creator,
        creation: String(group.creation),
        creator,
        size: String(group.participants.length),
        addressing_mode: 'pn',
      },
      group.participants.map((jid) =>
        node('participant', { jid, ...(jid === creator ? { type: 'superadmin' } : {}) }),
      ),
    );
  }
}
