import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import type { HydratedDocument } from 'mongoose';

export const CUSTOMER_LINK_SOURCES = ['auto', 'manual'] as const;
export type CustomerLinkSource = (typeof CUSTOMER_LINK_SOURCES)[number];

/**
 * One WhatsApp peer (person or group) as seen by one session.
 * Sync-owned fields come from the engine; user-owned fields (`customName`, `tags`, `notes`,
 * `customerId`) are only written by the REST API (and by the customer auto-link while unset).
 */
@Schema({ collection: 'contacts', timestamps: true })
export class Contact {
  @Prop({ type: String, required: true })
  organizationId: string;

  /** `${organizationId}_${sessionName}`. */
  @Prop({ type: String, required: true })
  sessionId: string;

  @Prop({ type: String, required: true })
  sessionName: string;

  /** Phone JID (`<digits>@s.whatsapp.net`) when the number is known, else the `@lid`, or the group JID. */
  @Prop({ type: String, required: true })
  jid: string;

  /** Privacy id (`<id>@lid`) when WhatsApp revealed it. */
  @Prop({ type: String })
  lid?: string;

  /** E.164 digits without '+'. */
  @Prop({ type: String })
  phone?: string;

  @Prop({ type: Boolean, default: false })
  isGroup: boolean;

  // ---- sync-owned ----
  /** Name saved in the linked phone's address book (or a group's subject). */
  @Prop({ type: String })
  addressBookName?: string;

  /** Name the contact set for themselves. */
  @Prop({ type: String })
  pushName?: string;

  /** Time of the observation that set `pushName`; older observations never overwrite a newer one. */
  @Prop({ type: Date })
  pushNameAt?: Date;

  @Prop({ type: String })
  verifiedName?: string;

  @Prop({ type: Boolean })
  isBusiness?: boolean;

  @Prop({ type: String })
  profilePictureUrl?: string;

  @Prop({ type: Date, required: true })
  firstSeenAt: Date;

  @Prop({ type: Date })
  lastMessageAt?: Date;

  @Prop({ type: Number, default: 0 })
  messageCount: number;

  // ---- user-owned ----
  /** The user's name override. */
  @Prop({ type: String, default: null })
  customName?: string | null;

  @Prop({ type: [String], default: [] })
  tags: string[];

  @Prop({ type: String, default: null })
  notes?: string | null;

  /** Id of a customer of the same organization. */
  @Prop({ type: String, default: null })
  customerId?: string | null;

  /** `manual` once a user set or cleared the link: the auto-link then never touches it again. */
  @Prop({ type: String, enum: CUSTOMER_LINK_SOURCES, default: null })
  customerLinkSource?: CustomerLinkSource | null;

  /**
   * Counts the changes to the user-owned fields (an edit, an automatic customer link, a merge), so
   * an edit made from an older read can be refused instead of overwriting the newer one.
   */
  @Prop({ type: Number, default: 0 })
  revision: number;

  // ---- search keys (lower-cased name and its word suffixes; anchored regex stays index-bounded) ----
  @Prop({ type: [String], default: [] })
  searchCustomName: string[];

  @Prop({ type: [String], default: [] })
  searchAddressBookName: string[];

  @Prop({ type: [String], default: [] })
  searchPushName: string[];

  /** The phone's suffixes (phoneSearchKeys), so a search finds digits anywhere in it. */
  @Prop({ type: [String], default: [] })
  searchPhone: string[];

  createdAt: Date;
  updatedAt: Date;
}

export type ContactDocument = HydratedDocument<Contact>;
export const ContactSchema = SchemaFactory.createForClass(Contact);
ContactSchema.index({ organizationId: 1, sessionId: 1, jid: 1 }, { unique: true });
ContactSchema.index({ organizationId: 1, sessionId: 1, lid: 1 });
ContactSchema.index({ organizationId: 1, phone: 1 });
ContactSchema.index({ organizationId: 1, lastMessageAt: -1 });
ContactSchema.index({ organizationId: 1, firstSeenAt: 1 });
ContactSchema.index({ organizationId: 1, tags: 1 });
ContactSchema.index({ organizationId: 1, customerId: 1 });
ContactSchema.index({ organizationId: 1, searchCustomName: 1 });
ContactSchema.index({ organizationId: 1, searchAddressBookName: 1 });
ContactSchema.index({ organizationId: 1, searchPushName: 1 });
ContactSchema.index({ organizationId: 1, searchPhone: 1 });
