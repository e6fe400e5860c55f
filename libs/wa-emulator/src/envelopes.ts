import { randomBytes } from 'node:crypto';
import { encodeWAMessage, type proto } from '@whiskeysockets/baileys';
import { companionAddress } from './directory';
import type { EmulatorContext } from './emulator-context';
import type { Groups } from './groups';
import { msgId } from './ids';
import type { KeyBundles } from './key-bundles';
import { mediaTypeOf } from './message-kinds';
import { node, unixT, type BinaryNode } from './nodes';
import type { PreKeyBundle } from './signal-device';
import type { AnyUser, CompanionRecord, GroupRecord } from './state';

/** What a simulated phone sends: the same for every companion it is encrypted to. */
export interface Outgoing {
  /** Whose phone (Signal device 0) encrypts it. */
  sender: AnyUser;
  /** Stanza attributes but `id` and `t`: from, recipient / participant, type, notify, category… */
  attrs: Record<string, string>;
  /** What goes into the pairwise (`pkmsg`/`msg`) envelope; for groups, into the `skmsg`. */
  message: proto.IMessage;
  /** A group message: `member`'s sender key encrypts it (`skmsg`); the pairwise part hands out that key. */
  group?: { record: GroupRecord; member: string };
}

/** How one copy is to be encrypted. */
export interface CopyOptions {
  /** Retry number (`<enc count>`). */
  count?: number;
  /** Group message: the `skmsg` payload (encrypted once for every companion)… */
  skmsg?: Buffer;
  /** …and the sender key distribution message taken just before it. */
  skdm?: Uint8Array;
  /** A retry: resend everything in the pairwise envelope (group: message and sender key, no skmsg). */
  resend?: boolean;
  /** Garble the payloads (after the version byte) so the companion cannot decrypt this copy. */
  corrupt?: boolean;
  /** Start a new Signal session from this bundle first (a retry that carried the companion's keys). */
  bundle?: PreKeyBundle;
}

/**
 * The `<enc>` envelopes of a message for one companion device: pairwise Signal (`pkmsg`/`msg`,
 * a session is started from the companion's bundle on first contact) from the sender's phone, and
 * for group messages the sender key (pairwise, once per companion) and the `skmsg`.
 */
export class Envelopes {
  constructor(
    private readonly ctx: EmulatorContext,
    private readonly keyBundles: KeyBundles,
    private readonly groups: Groups,
  ) {}

  /**
   * Encrypts `message` from `sender`'s phone to one companion of `account` (pairwise, starting a
   * Signal session if needed) and wraps it in a `<message>` stanza.
   */
  async encryptStanza(
    sender: AnyUser,
    account: string,
    companion: CompanionRecord,
    message: proto.IMessage,
    attrs: Record<string, string>,
  ): Promise<BinaryNode> {
    const enc = await this.pairwiseEnc(sender, account, companion, message);
    return node('message', { id: msgId(), t: unixT(), ...attrs }, [enc]);
  }

  private async pairwiseEnc(
    sender: AnyUser,
    account: string,
    companion: CompanionRecord,
    message: proto.IMessage,
    opts: CopyOptions = {},
  ): Promise<BinaryNode> {
    const device = this.ctx.directory.device(sender);
    const peer = companionAddress(account, companion.deviceId);
    if (opts.bundle) await device.startSession(peer, opts.bundle);
    else if (!device.hasSession(peer))
      await device.startSession(peer, this.keyBundles.companionBundle(account, companion));
    const { type, ciphertext } = await device.encrypt(peer, encodeWAMessage(message));
    this.ctx.store.save();
    return node(
      'enc',
      this.encAttrs(type, message, opts),
      opts.corrupt ? garble(ciphertext) : ciphertext,
    );
  }

  private encAttrs(type: string, message: proto.IMessage, opts: CopyOptions) {
    const attrs: Record<string, string> = { v: '2', type };
    const mediaType = mediaTypeOf(message);
    if (mediaType) attrs.mediatype = mediaType;
    if (opts.count) attrs.count = String(opts.count);
    return attrs;
  }

  /** The `<enc>` children of `out` for one companion. */
  async encsFor(
    out: Outgoing,
    account: string,
    companion: CompanionRecord,
    opts: CopyOptions,
  ): Promise<BinaryNode[]> {
    if (!out.group)
      return [await this.pairwiseEnc(out.sender, account, companion, out.message, opts)];
    const { record, member } = out.group;
    const address = companionAddress(account, companion.deviceId);
    const keyShare = async (): Promise<proto.IMessage> => ({
      senderKeyDistributionMessage: {
        groupId: record.jid,
        axolotlSenderKeyDistributionMessage:
          opts.skdm ?? (await this.groups.distributionMessage(record, member)),
      },
    });
    if (opts.resend) {
      // A retry of a group message comes pairwise, with the sender key again (WhatsApp does the same).
      const message = { ...out.message, ...(await keyShare()) };
      const enc = await this.pairwiseEnc(out.sender, account, companion, message, opts);
      this.groups.markKeySent(record, address, member);
      return [enc];
    }
    const encs: BinaryNode[] = [];
    if (this.groups.needsKey(record, address, member)) {
      encs.push(await this.pairwiseEnc(out.sender, account, companion, await keyShare(), opts));
      this.groups.markKeySent(record, address, member);
    }
    const skmsg =
      opts.skmsg ?? (await this.groups.encrypt(record, member, encodeWAMessage(out.message)));
    encs.push(
      node('enc', this.encAttrs('skmsg', out.message, opts), opts.corrupt ? garble(skmsg) : skmsg),
    );
    return encs;
  }

  /**
   * The sender key `out.group.member` hands out now, and `out` encrypted with it (`skmsg`): taken in
   * that order, so the key covers the message. Undefined for pairwise messages.
   */
  async groupParts(out: Outgoing): Promise<Pick<CopyOptions, 'skdm' | 'skmsg'>> {
    if (!out.group) return {};
    const { record, member } = out.group;
    const skdm = await this.groups.distributionMessage(record, member);
    const skmsg = await this.groups.encrypt(record, member, encodeWAMessage(out.message));
    return { skdm, skmsg };
  }
}

/** Random bytes after the version byte: a payload no Signal session decrypts. */
function garble(ciphertext: Uint8Array): Buffer {
  return Buffer.concat([
    Buffer.from(ciphertext.subarray(0, 1)),
    randomBytes(ciphertext.length - 1),
  ]);
}
