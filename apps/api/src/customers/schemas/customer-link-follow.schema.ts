import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { type Types, Schema as MongooseSchema } from 'mongoose';
import type { CustomerPayload } from '../customers.events';

/**
 * A write-ahead note for a customer change the contacts' links follow (a phone written, a delete),
 * or for the links the crm module's switch-on makes (`linkAll`): written before, deleted once the
 * links followed. A row that outlives its grace period marks a follow that failed or that a crash
 * cut off: CustomerLinksRecovery announces the change again.
 */
@Schema({ collection: 'customer_link_follows', versionKey: false })
export class CustomerLinkFollow {
  _id: Types.ObjectId;
  @Prop({ type: String, required: true }) organizationId: string;
  /** The customer as it was read before the change (a deleted one is announced as it was). */
  @Prop({ type: MongooseSchema.Types.Mixed }) customer?: CustomerPayload;
  /** Instead of a customer: the organization's contacts are linked by phone (crm switched on). */
  @Prop({ type: Boolean }) linkAll?: boolean;
  /** The contacts the follow was about to move, noted before each write: a replay announces them. */
  @Prop({ type: [String] }) moved?: string[];
  @Prop({ type: Date, required: true }) createdAt: Date;
  /** Recovery's lease (WriteAheadNotes), so two instances do not replay the same note at once. */
  @Prop({ type: Date }) claimedUntil?: Date;
}

export const CustomerLinkFollowSchema = SchemaFactory.createForClass(CustomerLinkFollow);
CustomerLinkFollowSchema.index({ createdAt: 1 });
