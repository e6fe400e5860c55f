import type { WaMessageAck } from '@app/whatsapp';
import { foldReceipt, type HeldReceipt } from './held-receipts';
import {
  impliedTimeFields,
  MESSAGE_STATUSES,
  type MessageStatus,
  STATUS_TIME_FIELD,
  statusesBelow,
} from './message.types';

const ACKS: WaMessageAck[] = ['sent', 'delivered', 'read', 'played', 'failed'];

interface Row {
  status: MessageStatus;
  times: Record<string, number>;
}

/**
 * What MessageStatusService.applyReceipt does to a stored message of ours (its conditional update
 * in MessagesRepository.advanceStatus, with the rules of message.types): the changes it announces.
 */
function apply(row: Row, { status, at }: HeldReceipt, playable: boolean): string[] {
  const to: MessageStatus = status === 'played' && !playable ? 'read' : status;
  if (!statusesBelow(to).includes(row.status)) return [];
  row.status = to;
  row.times[STATUS_TIME_FIELD[to]!] = at.getTime();
  for (const field of impliedTimeFields(to))
    row.times[field] = Math.min(row.times[field] ?? Infinity, at.getTime());
  return [`${to}@${at.getTime()}`];
}

function applyAll(start: MessageStatus, receipts: HeldReceipt[], playable: boolean) {
  const row: Row = { status: start, times: {} };
  const announced = receipts.flatMap((r) => apply(row, r, playable));
  return { row, announced };
}

/** Every sequence of receipts up to `length` long. */
function* sequences(length: number): Generator<WaMessageAck[]> {
  if (length === 0) {
    yield [];
    return;
  }
  for (const shorter of sequences(length - 1)) {
    yield shorter;
    if (shorter.length === length - 1) for (const ack of ACKS) yield [...shorter, ack];
  }
}

describe('foldReceipt', () => {
  it('keeps the receipts that go further than every earlier one, in arrival order', () => {
    const at = (s: number) => new Date(s * 1000);
    const held = [
      { status: 'delivered', at: at(1) },
      { status: 'read', at: at(2) },
      { status: 'delivered', at: at(3) },
      { status: 'read', at: at(4) },
      { status: 'played', at: at(5) },
      { status: 'sent', at: at(6) },
    ].reduce<HeldReceipt[] | undefined>(
      (list, r) => foldReceipt(list, r as HeldReceipt),
      undefined,
    );
    expect(held).toEqual([
      { status: 'delivered', at: at(1) },
      { status: 'read', at: at(2) },
      { status: 'played', at: at(5) },
    ]);
  });

  it('stores the same row and announces the same changes as applying every receipt, in order', () => {
    let cases = 0;
    for (const acks of sequences(5)) {
      const receipts = acks.map((status, i) => ({ status, at: new Date(1000 * (i + 1)) }));
      const folded = receipts.reduce<HeldReceipt[]>((list, r) => foldReceipt(list, r), []);
      for (const start of MESSAGE_STATUSES)
        for (const playable of [true, false]) {
          cases++;
          const all = applyAll(start, receipts, playable);
          expect(applyAll(start, folded, playable), `${start} ${String(playable)} ${acks}`).toEqual(
            all,
          );
        }
    }
    expect(cases).toBe(3906 * MESSAGE_STATUSES.length * 2);
  });
});
