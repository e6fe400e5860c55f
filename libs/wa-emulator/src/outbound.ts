import { createHash } from 'node:crypto';
import { jidDecode, proto, unpadRandomMax16 } from '@whiskeysockets/baileys';
import type { ClientConnection } from './client-connection';
import { companionAddress } from './directory';
import type { EmulatorContext } from './emulator-context';
import type { Groups } from './groups';
import { decryptMedia } from './media-crypto';
import type { MediaHost } from './media-host';
import { mediaContentOf } from './message-kinds';
import { bytes, child, children, node, unixT, type BinaryNode } from './nodes';
import { phoneOf } from './state';
import type { OutboundMedia, OutboundRecord } from './types';
import { Waiters } from './waiters';

/**
 * Messages linked devices send (`<message to>`): each recipient device the emulator plays decrypts
 * its `<enc>`; what a contact received is recorded (with the attachment fetched from the media host
 * and decrypted), the account's own phone copy is only decrypted. Messages to groups: the pairwise
 * parts hand out the device's sender key, which then decrypts the `skmsg`; the message is recorded
 * once, with the group as recipient. Every stanza is acked.
 */
export class OutboundMessages {
  readonly records: OutboundRecord[] = [];
  private readonly waiters = new Waiters();
  /** Called for every recorded message (auto receipts). */
  onRecorded?: (record: OutboundRecord) => void;

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly mediaHost: MediaHost,
    private readonly groups: Groups,
  ) {}

  async onClientMessage(conn: ClientConnection, stanza: BinaryNode): Promise<void> {
    if (!conn.account || conn.deviceId === undefined) return;
    const to = stanza.attrs.to;
    const targets: { jid: string; enc: BinaryNode }[] = [];
    for (const t of children(child(stanza, 'participants'), 'to')) {
      const enc = child(t, 'enc');
      if (enc) targets.push({ jid: t.attrs.jid, enc });
    }
    const direct = child(stanza, 'enc');
    const group = to.endsWith('@g.us') ? this.groups.get(to) : undefined;
    if (direct && !group) targets.push({ jid: to, enc: direct });
    const sender = companionAddress(conn.account, conn.deviceId);
    const deviceJid = `${conn.account}:${conn.deviceId}@s.whatsapp.net`;
    const { directory } = this.ctx;
    for (const { jid, enc } of targets) {
      const user = directory.userByJid(jid, false);
      const device = jidDecode(jid)?.device ?? 0;
      const payload = bytes(enc);
      if (!user || device !== 0 || !payload) continue;
      try {
        const plaintext = await directory.device(user).decrypt(sender, enc.attrs.type, payload);
        this.ctx.store.save();
        const message = proto.Message.decode(unpadRandomMax16(plaintext));
        const phone = phoneOf(user);
        const skdm = message.senderKeyDistributionMessage?.axolotlSenderKeyDistributionMessage;
        if (group && skdm) await this.groups.receiveSenderKey(group, deviceJid, skdm);
        if (phone === conn.account || group) continue; // own phone's copy; a group's key hand-out
        this.record(conn, stanza, phone ?? `${user.lid}@lid`, message);
      } catch (err) {
        this.ctx.log('could not decrypt an outbound message', { jid, err: String(err) });
      }
    }
    const skmsg = direct && bytes(direct);
    if (group && skmsg && direct.attrs.type === 'skmsg') {
      try {
        const plaintext = await this.groups.decrypt(group, deviceJid, skmsg);
        this.record(conn, stanza, to, proto.Message.decode(unpadRandomMax16(plaintext)));
      } catch (err) {
        this.ctx.log('could not decrypt a group message', { to, err: String(err) });
      }
    }
    conn.send(node('ack', { class: 'message', id: stanza.attrs.id, from: to, t: unixT() }));
  }

  private record(
    conn: ClientConnection,
    stanza: BinaryNode,
    recipient: string,
    message: proto.IMessage,
  ): void {
    const record: OutboundRecord = {
      id: stanza.attrs.id,
      account: conn.account!,
      deviceId: conn.deviceId!,
      to: stanza.attrs.to,
      recipient,
      message,
      text: message.conversation ?? message.extendedTextMessage?.text ?? undefined,
      media: this.outboundMedia(message),
      at: new Date(),
    };
    this.records.push(record);
    this.waiters.notify();
    this.onRecorded?.(record);
  }

  find(account: string, id: string): OutboundRecord | undefined {
    return this.records.find((r) => r.account === account && r.id === id);
  }

  async waitFor(
    predicate: (r: OutboundRecord) => boolean,
    timeoutMs = 10_000,
  ): Promise<OutboundRecord> {
    await this.waiters.until(() => this.records.some(predicate), timeoutMs, 'an outbound message');
    return this.records.find(predicate)!;
  }

  /** The recipient's download of an outbound attachment: find the upload, check fileEncSha256, decrypt (MAC), check fileSha256. */
  private outboundMedia(message: proto.IMessage): OutboundMedia | undefined {
    const found = mediaContentOf(message);
    if (!found) return undefined;
    const { type, content } = found;
    const media: OutboundMedia = {
      type,
      ...(content.mimetype ? { mimetype: content.mimetype } : {}),
      ...('fileName' in content && content.fileName ? { fileName: content.fileName } : {}),
      ...('caption' in content && content.caption ? { caption: content.caption } : {}),
      ...('ptt' in content && content.ptt ? { ptt: true } : {}),
    };
    const encrypted = this.mediaHost.find(content.directPath) ?? this.mediaHost.find(content.url);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest();
    try {
      if (!encrypted) throw new Error(`no upload at ${content.directPath ?? content.url ?? '?'}`);
      if (!content.mediaKey || !content.fileEncSha256 || !content.fileSha256)
        throw new Error('mediaKey, fileEncSha256 or fileSha256 missing');
      if (!sha(encrypted).equals(Buffer.from(content.fileEncSha256)))
        throw new Error('fileEncSha256 does not match the upload');
      const data = decryptMedia(encrypted, type, Buffer.from(content.mediaKey));
      if (!sha(data).equals(Buffer.from(content.fileSha256)))
        throw new Error('fileSha256 does not match the decrypted file');
      if (content.fileLength !== undefined && content.fileLength !== null)
        if (Number(content.fileLength) !== data.length)
          throw new Error('fileLength does not match the decrypted file');
      media.data = data;
    } catch (err) {
      media.error = (err as Error).message;
      this.ctx.log('could not fetch an outbound attachment', { type, err: media.error });
    }
    return media;
  }
}
