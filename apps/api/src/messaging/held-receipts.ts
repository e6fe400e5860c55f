import type { WaMessageAck } from '@app/whatsapp';
import { statusRank } from './message.types';

/** A receipt waiting for its turn (a database outage): the status it reports and when. */
export interface HeldReceipt {
  status: WaMessageAck;
  at: Date;
}

/**
 * Folds a receipt into the receipts one message holds, in arrival order. Applied one by one, a
 * receipt changes nothing once one of the same or a higher status came before it (statuses only
 * move forward, and a receipt that moved nothing leaves no trace, its time included), whatever
 * the message's status then: so only the receipts that go further than every earlier one are
 * kept, at most one per status, and applying those in order stores the same row and announces
 * the same changes, with the same times, as applying them all.
 */
export function foldReceipt(held: HeldReceipt[] | undefined, receipt: HeldReceipt): HeldReceipt[] {
  const list = held ?? [];
  const furthest = list.at(-1);
  if (!furthest || statusRank(receipt.status) > statusRank(furthest.status)) list.push(receipt);
  return list;
}
