import { proto } from '@whiskeysockets/baileys';
import { companionAddress, type Directory } from './directory';
import type { EmulatorContext } from './emulator-context';
import type { Envelopes, Outgoing } from './envelopes';
import { bytes, child, node, readUIntBE, type BinaryNode } from './nodes';
import type { PreKeyBundle } from './signal-device';
import { phoneOf, type AnyUser, type CompanionRecord, type PersistedCopy } from './state';

/** A copy sent to one companion, kept for its retry receipts. */
export interface SentCopy {
  account: string;
  deviceId: number;
  id: string;
  t: string;
  outgoing: Outgoing;
  /** How many more copies (first send included) go out undecryptable. */
  undecryptableLeft: number;
  resends: number;
}

/** What the emulator did with one retry receipt. */
export interface RetryRecord {
  account: string;
  deviceId: number;
  id: string;
  /** The `count` of the retry receipt. */
  count: number;
  /** The receipt carried a fresh key bundle: the resend starts a new Signal session from it. */
  withKeys: boolean;
  /** false when the message is unknown or the resend bound was reached. */
  resent: boolean;
}

/** Resends per message and companion, after which retry receipts are only acked (WhatsApp gives up too). */
export const MAX_RETRY_RESENDS = 3;
const MAX_REMEMBERED_COPIES = 5_000;

/**
 * Retry receipts: every copy sent to a companion is remembered (the last MAX_REMEMBERED_COPIES);
 * when the companion cannot decrypt one it asks again and gets it re-encrypted.
 */
export class RetryReceipts {
  private readonly copies = new Map<string, SentCopy>();
  readonly records: RetryRecord[] = [];

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly envelopes: Envelopes,
    private readonly send: (
      account: string,
      companion: CompanionRecord,
      stanza: BinaryNode,
    ) => void,
  ) {
    // Those of the previous run, in the order they were sent.
    for (const stored of ctx.store.state.retryCopies ?? []) {
      const copy = this.restore(stored);
      if (copy) this.remember(copy);
    }
    delete ctx.store.state.retryCopies;
  }

  /** Into the state, for the next run (at close: one write, not one per message sent). */
  persist(): void {
    this.ctx.store.state.retryCopies = [...this.copies.values()].map(persisted);
  }

  private restore(stored: PersistedCopy): SentCopy | undefined {
    const { users, lidUsers = {}, groups = {} } = this.ctx.store.state;
    const sender: AnyUser | undefined =
      'phone' in stored.sender ? users[stored.sender.phone] : lidUsers[stored.sender.lid];
    const record = stored.group && groups[stored.group.jid];
    if (!sender || (stored.group && !record)) return undefined;
    return {
      account: stored.account,
      deviceId: stored.deviceId,
      id: stored.id,
      t: stored.t,
      outgoing: {
        sender,
        attrs: stored.attrs,
        message: proto.Message.decode(Buffer.from(stored.message, 'base64')),
        ...(stored.group && record ? { group: { record, member: stored.group.member } } : {}),
      },
      undecryptableLeft: stored.undecryptableLeft,
      resends: stored.resends,
    };
  }

  private get directory(): Directory {
    return this.ctx.directory;
  }

  remember(copy: SentCopy): void {
    const key = `${companionAddress(copy.account, copy.deviceId)}/${copy.id}`;
    this.copies.delete(key);
    this.copies.set(key, copy);
    if (this.copies.size > MAX_REMEMBERED_COPIES)
      this.copies.delete(this.copies.keys().next().value as string);
  }

  /**
   * A companion could not decrypt message `id` (`<receipt type="retry">`): re-encrypt it and send it
   * again with `<enc count>`, from a new Signal session when the receipt carries the companion's
   * keys. At most MAX_RETRY_RESENDS times per message and companion.
   */
  async onRetryReceipt(account: string, deviceId: number, receipt: BinaryNode): Promise<void> {
    const id = receipt.attrs.id;
    const retry = child(receipt, 'retry');
    const count = Number(retry?.attrs.count ?? 1);
    const keys = child(receipt, 'keys');
    const record: RetryRecord = { account, deviceId, id, count, withKeys: !!keys, resent: false };
    this.records.push(record);
    const copy = this.copies.get(`${companionAddress(account, deviceId)}/${id}`);
    const companion = this.directory.companion(account, deviceId);
    if (!copy || !companion || companion.removed) {
      this.ctx.log('retry receipt for an unknown message', { account, deviceId, id });
      return;
    }
    if (copy.resends >= MAX_RETRY_RESENDS) {
      this.ctx.log('retry receipt ignored: resend bound reached', { account, deviceId, id });
      return;
    }
    copy.resends += 1;
    const bundle = keys ? retryBundle(receipt, keys) : undefined;
    const corrupt = copy.undecryptableLeft > 0;
    if (corrupt) copy.undecryptableLeft -= 1;
    const encs = await this.envelopes.encsFor(copy.outgoing, account, companion, {
      count,
      resend: true,
      corrupt,
      ...(bundle ? { bundle } : {}),
    });
    const stanza = node('message', { ...copy.outgoing.attrs, id, t: copy.t }, encs);
    record.resent = true;
    this.send(account, companion, stanza);
  }
}

/** The companion's fresh key bundle inside a retry receipt (`<registration>` + `<keys>`). */
function retryBundle(receipt: BinaryNode, keys: BinaryNode): PreKeyBundle | undefined {
  const identity = bytes(child(keys, 'identity'));
  const skey = child(keys, 'skey');
  const key = child(keys, 'key');
  if (!identity || !skey) return undefined;
  return {
    registrationId: readUIntBE(bytes(child(receipt, 'registration'))),
    identityKey: identity,
    signedPreKey: {
      keyId: readUIntBE(bytes(child(skey, 'id'))),
      publicKey: bytes(child(skey, 'value')) ?? Buffer.alloc(0),
      signature: bytes(child(skey, 'signature')) ?? Buffer.alloc(0),
    },
    ...(key
      ? {
          preKey: {
            keyId: readUIntBE(bytes(child(key, 'id'))),
            publicKey: bytes(child(key, 'value')) ?? Buffer.alloc(0),
          },
        }
      : {}),
  };
}

function persisted(copy: SentCopy): PersistedCopy {
  const { sender, attrs, message, group } = copy.outgoing;
  const phone = phoneOf(sender);
  return {
    account: copy.account,
    deviceId: copy.deviceId,
    id: copy.id,
    t: copy.t,
    sender: phone !== undefined ? { phone } : { lid: (sender as { lid: string }).lid },
    attrs,
    message: Buffer.from(proto.Message.encode(message).finish()).toString('base64'),
    ...(group ? { group: { jid: group.record.jid, member: group.member } } : {}),
    undecryptableLeft: copy.undecryptableLeft,
    resends: copy.resends,
  };
}
