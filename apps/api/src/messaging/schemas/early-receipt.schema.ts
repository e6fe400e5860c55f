import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import type { MessageStatus } from '../message.types';

/**
 * WhatsApp's receipts of one of our messages that came before the message was stored (typed on
 * the phone, its insert not landed yet; a send whose id is not recorded yet), applied once it is
 * (MessageStatusService.applyEarlyReceipts), by whichever instance stores it or replays its
 * effects, after a restart too. Folded as they come (foldReceipt): only the receipts that went
 * further than every earlier one, in order. Forgotten after a week: the receipts of a message that
 * never comes (sent before the link).
 */
@Schema({ collection: 'early_receipts', versionKey: false })
export class EarlyReceipt {
  @Prop({ type: String, required: true }) sessionId: string;
  @Prop({ type: String, required: true }) waMessageId: string;
  @Prop({ type: [{ _id: false, status: String, at: Date }], required: true })
  receipts: Array<{ status: MessageStatus; at: Date }>;
  /** The rank of the last (furthest) receipt: a receipt is folded in only if it goes further. */
  @Prop({ type: Number, required: true }) furthest: number;
  @Prop({ type: Date, required: true }) expiresAt: Date;
}

export const EarlyReceiptSchema = SchemaFactory.createForClass(EarlyReceipt);
EarlyReceiptSchema.index({ sessionId: 1, waMessageId: 1 }, { unique: true });
EarlyReceiptSchema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });
