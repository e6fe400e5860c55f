import {
  HasNoControlCharacters,
  trimString,
  PaginationQueryDto,
  SearchQuery,
  IsOmittable,
} from '@app/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsInt,
  IsMongoId,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { SESSION_NAME_MESSAGE, SESSION_NAME_PATTERN } from '../../whatsapp-session/dto/session.dto';
import {
  MAX_NOTES_LENGTH,
  MAX_TAG_LENGTH,
  MAX_TAGS,
  normalizeTag,
  normalizeTags,
} from '../contact-rules';
import { CUSTOMER_LINK_SOURCES, type CustomerLinkSource } from '../schemas/contact.schema';

/** Query strings: "true"/"1" and "false"/"0"; anything else stays as is and fails @IsBoolean. */
const queryBoolean = ({ obj, key }: { obj: Record<string, unknown>; key: string }) => {
  const raw = obj[key];
  if (raw === 'true' || raw === '1' || raw === true) return true;
  if (raw === 'false' || raw === '0' || raw === false) return false;
  return raw;
};

export class ListContactsQueryDto extends PaginationQueryDto {
  @ApiPropertyOptional({ description: 'Only contacts of this session', example: 'sales-1' })
  @IsOptional()
  @Matches(SESSION_NAME_PATTERN, { message: SESSION_NAME_MESSAGE })
  sessionName?: string;

  @ApiPropertyOptional({
    description:
      'Case-insensitive prefix of the name, address-book name or pushName (or of a later word in them: words start after a space, hyphen, apostrophe or other punctuation), or phone digits: anywhere in the number from 4 digits on (its last four, say), its start below that or after `+`',
    example: 'mona',
    maxLength: 100,
  })
  @SearchQuery()
  search?: string;

  @ApiPropertyOptional({
    description: 'Only contacts with this tag, normalised as stored tags are',
    example: 'vip',
    maxLength: MAX_TAG_LENGTH,
  })
  @IsOptional()
  @Transform(({ value }) => (typeof value === 'string' ? normalizeTag(value) : value))
  @IsString()
  @MinLength(1)
  @MaxLength(MAX_TAG_LENGTH)
  tag?: string;

  @ApiPropertyOptional({
    description: 'true: only contacts linked to a customer; false: only unlinked ones',
    example: true,
    type: Boolean,
  })
  @IsOptional()
  @Transform(queryBoolean)
  @IsBoolean({ message: 'hasCustomer must be true or false' })
  hasCustomer?: boolean;

  @ApiPropertyOptional({
    description: 'true: only groups; false: only people',
    example: false,
    type: Boolean,
  })
  @IsOptional()
  @Transform(queryBoolean)
  @IsBoolean({ message: 'isGroup must be true or false' })
  isGroup?: boolean;
}

export class TagCountsQueryDto {
  @ApiPropertyOptional({ description: 'Only tags of contacts of this session', example: 'sales-1' })
  @IsOptional()
  @Matches(SESSION_NAME_PATTERN, { message: SESSION_NAME_MESSAGE })
  sessionName?: string;
}

/** `POST /contacts/sync` body. */
export class SyncContactsDto {
  @ApiPropertyOptional({
    description:
      'Session whose contacts to re-read from WhatsApp (required here or, deprecated, as the sessionName query parameter)',
    example: 'sales-1',
  })
  @IsOmittable()
  @Matches(SESSION_NAME_PATTERN, { message: SESSION_NAME_MESSAGE })
  sessionName?: string;
}

/** The query form of the same call, from before it took a body; kept so existing clients work. */
export class SyncContactsQueryDto {
  @ApiPropertyOptional({
    description: 'Deprecated: send sessionName in the body',
    example: 'sales-1',
    deprecated: true,
  })
  @IsOptional()
  @Matches(SESSION_NAME_PATTERN, { message: SESSION_NAME_MESSAGE })
  sessionName?: string;
}

export class UpdateContactDto {
  @ApiPropertyOptional({
    description: 'Your name for the contact (overrides the address-book name); null clears it',
    example: 'Mona (supplier)',
    nullable: true,
    type: String,
    minLength: 1,
    maxLength: 120,
  })
  @IsOptional()
  @Transform(trimString)
  @IsString()
  @MinLength(1)
  @HasNoControlCharacters()
  @MaxLength(120)
  name?: string | null;

  @ApiPropertyOptional({
    description: `Replaces the tags: each 1-${MAX_TAG_LENGTH} characters, at most ${MAX_TAGS}; trimmed, lower-cased and de-duplicated. A contact merged from two may hold more: its tags are accepted back as long as none is added`,
    example: ['vip', 'supplier'],
    type: [String],
    maxItems: MAX_TAGS,
  })
  @IsOmittable()
  @Transform(({ value }) =>
    Array.isArray(value) && value.every((v) => typeof v === 'string')
      ? normalizeTags(value, { keepBlank: true })
      : value,
  )
  @IsArray()
  @IsString({ each: true })
  @MinLength(1, { each: true, message: 'each tag must be at least 1 character' })
  @MaxLength(MAX_TAG_LENGTH, {
    each: true,
    message: `each tag must be at most ${MAX_TAG_LENGTH} characters`,
  })
  @HasNoControlCharacters({ each: true })
  tags?: string[];

  @ApiPropertyOptional({
    description: `Free-text notes, trimmed; null or blank clears them. At most ${MAX_NOTES_LENGTH} characters, or no longer than the stored notes of a contact merged from two`,
    example: 'Prefers calls after 5pm',
    nullable: true,
    type: String,
    maxLength: MAX_NOTES_LENGTH,
  })
  @IsOptional()
  @Transform(({ value }) => (typeof value === 'string' ? value.trim() || null : value))
  @IsString()
  @HasNoControlCharacters({ multiline: true })
  notes?: string | null;

  @ApiPropertyOptional({
    description:
      "Id of a customer of your organization to link (needs the 'crm' module: 403 MODULE_DISABLED otherwise); null unlinks (and stops the automatic link by phone for this contact)",
    example: '665f1c2b1e6a3e4f7e9d0e0d',
    nullable: true,
    type: String,
  })
  @IsOptional()
  @IsMongoId({ message: 'customerId must be a 24-character hex id' })
  customerId?: string | null;

  @ApiPropertyOptional({
    description:
      "The contact's revision this edit was made from (as read): if the name, tags, notes or customer link changed since (another user's edit, an automatic link, a merge), the edit is refused with 409 CONTACT_CHANGED (details.revision: the current one) instead of overwriting that change. Omitted: the edit applies whatever changed",
    type: 'integer',
    example: 3,
    minimum: 0,
  })
  @IsOmittable()
  @IsInt()
  @Min(0)
  expectedRevision?: number;
}

export class ContactResponseDto {
  @ApiProperty({ description: 'Contact id', example: '665f1c2b1e6a3e4f7e9d0e0e' })
  id: string;

  @ApiProperty({ description: 'Session that sees this contact', example: 'sales-1' })
  sessionName: string;

  @ApiProperty({
    description:
      'WhatsApp id: phone JID when the number is known, else the LID; group JID for groups',
    example: '201001234567@s.whatsapp.net',
  })
  jid: string;

  @ApiProperty({
    description: 'Privacy id (LID) when WhatsApp revealed it',
    example: '123456789012345@lid',
    nullable: true,
    type: String,
  })
  lid: string | null;

  @ApiProperty({
    description: 'Phone as E.164 digits without +',
    example: '201001234567',
    nullable: true,
    type: String,
  })
  phone: string | null;

  @ApiProperty({
    description: 'Name to use: your override if set, else the address-book name',
    example: 'Mona Ali',
    nullable: true,
    type: String,
  })
  name: string | null;

  @ApiProperty({
    description: 'Your name override (set with PUT), null when none',
    example: null,
    nullable: true,
    type: String,
  })
  customName: string | null;

  @ApiProperty({
    description: "Name in the linked phone's address book (group subject for groups), as synced",
    example: 'Mona Ali',
    nullable: true,
    type: String,
  })
  addressBookName: string | null;

  @ApiProperty({
    description: 'Name the contact set for themselves',
    example: 'Mona',
    nullable: true,
    type: String,
  })
  pushName: string | null;

  @ApiProperty({
    description: 'Verified business name',
    example: null,
    nullable: true,
    type: String,
  })
  verifiedName: string | null;

  @ApiProperty({
    description: 'Best available label: name, verified name, pushName, then the number',
    example: 'Mona Ali',
  })
  displayName: string;

  @ApiProperty({ description: 'WhatsApp Business account', example: false })
  isBusiness: boolean;

  @ApiProperty({ description: 'A group chat', example: false })
  isGroup: boolean;

  @ApiProperty({
    description: 'Profile picture URL when the engine provided one',
    example: null,
    nullable: true,
    type: String,
  })
  profilePictureUrl: string | null;

  @ApiProperty({ description: 'Tags (lower-case)', example: ['vip'], type: [String] })
  tags: string[];

  @ApiProperty({
    description: 'Notes',
    example: 'Prefers calls after 5pm',
    nullable: true,
    type: String,
  })
  notes: string | null;

  @ApiProperty({
    description: 'Linked CRM customer',
    example: '665f1c2b1e6a3e4f7e9d0e0d',
    nullable: true,
    type: String,
  })
  customerId: string | null;

  @ApiProperty({
    description:
      'How the customer link was set: auto (matching phone) or manual (PUT); null when never linked',
    // null listed in the enum itself: OpenAPI 3.0 ignores `nullable` next to a $ref.
    enum: [...CUSTOMER_LINK_SOURCES, null],
    enumName: 'CustomerLinkSource',
    example: 'auto',
    nullable: true,
  })
  customerLinkSource: CustomerLinkSource | null;

  @ApiProperty({
    description: 'First time this contact was seen',
    example: '2026-01-01T00:00:00.000Z',
  })
  firstSeenAt: Date;

  @ApiProperty({
    description: 'Time of the latest message in the chat with this contact',
    example: '2026-01-02T10:00:00.000Z',
    nullable: true,
    type: Date,
  })
  lastMessageAt: Date | null;

  @ApiProperty({
    description: 'Messages stored for the chat with this contact (in and out)',
    example: 12,
  })
  messageCount: number;

  @ApiProperty({
    description:
      'Counts the changes to the name, tags, notes and customer link; send it back as expectedRevision so an edit never overwrites one made since you read the contact',
    example: 3,
  })
  revision: number;
}

export class ContactPageDto {
  @ApiProperty({
    description: 'Contacts on this page (latest activity first)',
    type: [ContactResponseDto],
  })
  items: ContactResponseDto[];

  @ApiProperty({ description: 'Contacts matching the filters', example: 42 })
  total: number;

  @ApiProperty({ description: 'Page number', example: 1 })
  page: number;

  @ApiProperty({ description: 'Page size', example: 20 })
  limit: number;
}

export class TagCountDto {
  @ApiProperty({ description: 'Tag', example: 'vip' })
  tag: string;

  @ApiProperty({ description: 'Contacts with this tag', example: 3 })
  count: number;
}

export class SyncStartedDto {
  @ApiProperty({
    description: 'The resync was requested; contacts arrive asynchronously',
    example: 'started',
    enum: ['started'],
  })
  status: 'started';
}
