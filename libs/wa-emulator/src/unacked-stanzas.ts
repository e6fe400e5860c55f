import { children, type BinaryNode } from './nodes';

/**
 * The messages and receipts sent on one connection that the client has not acknowledged, in order.
 * WhatsApp keeps a stanza until the device acknowledges it (a message with its `<receipt>` or
 * `<ack class="message">`, a receipt with `<ack class="receipt">`) and delivers what a dropped
 * connection left unacknowledged again at the next login: Baileys acknowledges a message only once
 * it has handled it.
 */
export class UnackedStanzas {
  private readonly stanzas: BinaryNode[] = [];

  sent(n: BinaryNode): void {
    if ((n.tag === 'message' || n.tag === 'receipt') && n.attrs.id) this.stanzas.push(n);
  }

  /**
   * What the client acknowledges with `n`: a message by its receipt (each listed id) or ack, a
   * receipt by its ack; the oldest copy first. A retry receipt acknowledges nothing: it says the
   * copy could not be decrypted, and Baileys nacks that copy next (`<ack class="message" error>`),
   * after the copy resent for the retry, under the same id, may have come in. Taken as the first
   * copy's acknowledgement, it let that nack take the resend off instead, while Baileys was still
   * handling it: a connection closed then lost the message.
   */
  received(n: BinaryNode): void {
    if (n.tag === 'receipt' && n.attrs.type === 'retry') return;
    const ids =
      n.tag === 'receipt'
        ? [
            n.attrs.id,
            ...children(n, 'list').flatMap((l) => children(l, 'item').map((i) => i.attrs.id)),
          ]
        : n.tag === 'ack'
          ? [n.attrs.id]
          : [];
    const tag = n.tag === 'receipt' ? 'message' : n.attrs.class;
    for (const id of ids) {
      const at = this.stanzas.findIndex((u) => u.tag === tag && u.attrs.id === id);
      if (at >= 0) this.stanzas.splice(at, 1);
    }
  }

  /** What is left unacknowledged (taken, in order). */
  take(): BinaryNode[] {
    return this.stanzas.splice(0);
  }
}
