import { node } from './nodes';
import { UnackedStanzas } from './unacked-stanzas';

describe('UnackedStanzas', () => {
  const message = (id: string, count?: number) =>
    node('message', { id, from: '201550000001@s.whatsapp.net' }, [
      node('enc', { v: '2', type: 'msg', ...(count ? { count: String(count) } : {}) }),
    ]);
  const countOf = (n: { content?: unknown }) =>
    (n.content as { attrs: { count?: string } }[])[0].attrs.count;

  it('a message is acknowledged by its receipt or its ack; a receipt of ours by its ack', () => {
    const unacked = new UnackedStanzas();
    unacked.sent(message('A'));
    unacked.sent(message('B'));
    unacked.sent(message('C'));
    unacked.sent(node('receipt', { id: 'R1', type: 'read' }));
    unacked.received(node('receipt', { id: 'A' }, [node('list', {}, [node('item', { id: 'B' })])]));
    unacked.received(node('ack', { id: 'R1', class: 'receipt' }));
    expect(unacked.take().map((n) => n.attrs.id)).toEqual(['C']);
    expect(unacked.take()).toEqual([]);
  });

  /** Baileys could not decrypt M: a retry receipt, the copy resent for it, then the first copy's nack. */
  const retried = () => {
    const unacked = new UnackedStanzas();
    unacked.sent(message('M'));
    unacked.received(node('receipt', { id: 'M', type: 'retry' }, [node('retry', { count: '1' })]));
    unacked.sent(message('M', 1));
    unacked.received(node('ack', { id: 'M', class: 'message', error: '500' }));
    return unacked;
  };

  it('keeps a copy resent for a retry until that copy is acknowledged itself', () => {
    // The resend is still being handled: a close now delivers it again at the next login.
    const left = retried().take();
    expect(left.map((n) => n.attrs.id)).toEqual(['M']);
    expect(countOf(left[0])).toBe('1');
  });

  it('a resend handled in time is acknowledged by its receipt', () => {
    const unacked = retried();
    unacked.received(node('receipt', { id: 'M', type: 'inactive' }));
    expect(unacked.take()).toEqual([]);
  });
});
