import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBase64,
  IsDefined,
  IsIn,
  IsString,
  IsUrl,
  Matches,
  MaxLength,
  MinLength,
  ValidateBy,
  ValidateIf,
  ValidateNested,
  type ValidationArguments,
} from 'class-validator';
import { JID_PATTERN, PHONE_PATTERN, IsOmittable } from '@app/common';
import { SESSION_NAME_MESSAGE, SESSION_NAME_PATTERN } from '../../whatsapp-session/dto/session.dto';
import { OUTBOUND_MEDIA_TYPES } from '../message.types';
import { MAX_MIMETYPE_LENGTH, UNSAFE_FILE_NAME_CHAR } from '../media/media-limits';

const SEND_TYPES = ['text', ...OUTBOUND_MEDIA_TYPES] as const;
export type SendType = (typeof SEND_TYPES)[number];
const isMedia = (o: SendMessageDto) =>
  (OUTBOUND_MEDIA_TYPES as readonly unknown[]).includes(o.type);
const isText = (o: SendMessageDto) => o.type === undefined || o.type === 'text';
const TO_PATTERN = new RegExp(`(${PHONE_PATTERN.source})|(${JID_PATTERN.source})`);

/**
 * One rule for a field that can see the whole request: `problem` says what is wrong with the value
 * (undefined when nothing is), so a field gets one clear message rather than one per stacked
 * validator, and fields that contradict each other are refused instead of one being dropped.
 */
function Rule<T extends object>(
  problem: (value: unknown, dto: T) => string | undefined,
): PropertyDecorator {
  const of = (args: ValidationArguments) => problem(args.value, args.object as T);
  return ValidateBy({
    name: 'rule',
    validator: {
      validate: (_value: unknown, args?: ValidationArguments) => of(args!) === undefined,
      defaultMessage: (args?: ValidationArguments) => of(args!) ?? '',
    },
  });
}

/** Refuses the field when it is given on a request that `refused` says cannot have it. */
const NotWith = <T extends object>(refused: (dto: T) => boolean, message: string) =>
  Rule<T>((value, dto) => (value !== undefined && refused(dto) ? message : undefined));

export class MediaInputDto {
  @ApiPropertyOptional({
    description: 'http(s) URL the gateway downloads the media from (give url or base64, not both)',
    example: 'https://example.com/invoice.pdf',
  })
  @ValidateIf((o: MediaInputDto) => o.base64 === undefined || o.url !== undefined)
  @NotWith<MediaInputDto>((o) => o.base64 !== undefined, 'give media.url or media.base64, not both')
  @IsUrl(
    { protocols: ['http', 'https'], require_protocol: true, require_tld: false },
    { message: 'media.url must be an http(s) URL (or give media.base64)' },
  )
  url?: string;

  @ApiPropertyOptional({
    description: 'Media bytes, base64-encoded (give url or base64, not both)',
    example: 'JVBERi0xLjQKJSVFT0YK', // a minimal PDF, like the other examples
  })
  @ValidateIf((o: MediaInputDto) => o.url === undefined)
  @IsBase64({}, { message: 'media.base64 must be base64-encoded bytes (or give media.url)' })
  base64?: string;

  @ApiPropertyOptional({
    description:
      'Required with base64; with url it defaults to the response Content-Type. Bytes of a format the gateway recognises are stored and sent as that format (PNG bytes declared image/jpeg go out as image/png), so this names the format of bytes it cannot tell (many documents), or the document format built on a recognised container (a .docx is a zip). The bytes must be of the message type (MEDIA_CONTENT_MISMATCH otherwise)',
    example: 'application/pdf',
  })
  @ValidateIf((o: MediaInputDto) => o.base64 !== undefined || o.mimetype !== undefined)
  @Rule<MediaInputDto>((mimetype) => {
    if (mimetype === undefined) return 'mimetype is required with base64';
    if (typeof mimetype !== 'string') return 'mimetype must be a string';
    if (mimetype.length > MAX_MIMETYPE_LENGTH)
      return `mimetype must be shorter than or equal to ${MAX_MIMETYPE_LENGTH} characters`;
    return undefined;
  })
  mimetype?: string;
}

export class SendMessageDto {
  @ApiProperty({ description: 'Session to send from', example: 'sales-1' })
  @Matches(SESSION_NAME_PATTERN, {
    message: SESSION_NAME_MESSAGE,
  })
  sessionName: string;

  @ApiProperty({
    description:
      'Phone number (10-15 digits, the first not 0; optional +) or a JID (…@s.whatsapp.net, …@g.us, …@lid)',
    example: '+201001234567',
  })
  @IsString()
  @Matches(new RegExp(`^(?:${TO_PATTERN.source})$`), {
    message:
      'to must be a phone number of 10-15 digits, the first not 0 (optional +), or a WhatsApp JID',
  })
  to: string;

  @ApiPropertyOptional({
    enum: SEND_TYPES,
    enumName: 'SendMessageType',
    description: 'Message type; text when omitted',
    example: 'text',
  })
  @IsOmittable()
  @IsIn(SEND_TYPES, { message: `type must be one of: ${SEND_TYPES.join(', ')}` })
  type?: SendType;

  @ApiPropertyOptional({
    description:
      'Text of a text message (1-4096 characters, not only whitespace); not for media messages, which take caption',
    example: 'Hello from Acme!',
  })
  @ValidateIf((o: SendMessageDto) => !isMedia(o) || o.text !== undefined)
  @Rule<SendMessageDto>((text, o) => {
    if (o.type === 'audio') return 'text is only for text messages; audio carries no text';
    if (isMedia(o))
      return `text is only for text messages; give ${o.type === 'image' ? 'an' : 'a'} ${o.type} its text as caption`;
    if (typeof text !== 'string') return 'text is required for text messages';
    if (!text.length) return 'text must not be empty';
    // WhatsApp's apps refuse to send a blank message; one sent through the API shows as nothing.
    if (!text.trim().length) return 'text must not be only whitespace';
    // Code points (an emoji is one), as caption counts them.
    if ([...text].length > 4096) return 'text must be shorter than or equal to 4096 characters';
    return undefined;
  })
  text?: string;

  @ApiPropertyOptional({
    type: MediaInputDto,
    description: 'Required for image, video, audio and document messages; not for text messages',
  })
  @ValidateIf((o: SendMessageDto) => isMedia(o) || o.media !== undefined)
  @NotWith(isText, 'media needs type image, video, audio or document (type is text when omitted)')
  @IsDefined({ message: 'media is required for image, video, audio and document messages' })
  @ValidateNested()
  @Type(() => MediaInputDto)
  media?: MediaInputDto;

  @ApiPropertyOptional({
    description: 'Caption of image, video or document; not for text or audio messages',
    example: 'Your invoice',
    maxLength: 1024,
  })
  @IsOmittable()
  @Rule<SendMessageDto>((caption, o) => {
    // WhatsApp's audio messages carry no caption: refused rather than silently dropped.
    if (o.type === 'audio')
      return 'caption is only for image, video and document messages; audio carries no caption';
    if (isText(o))
      return 'caption is only for image, video and document messages; a text message has text';
    // Code points, as text counts them (MaxLength would not count emoji variation selectors).
    if (typeof caption === 'string' && [...caption].length > 1024)
      return 'caption must be shorter than or equal to 1024 characters';
    return undefined;
  })
  @IsString()
  caption?: string;

  @ApiPropertyOptional({
    description:
      "File name shown for documents: no path separators, control characters or bidirectional controls (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F); not for text messages. A document by media.url without one takes the name the download offers (Content-Disposition, else the URL's file name)",
    example: 'invoice-42.pdf',
  })
  @IsOmittable()
  @NotWith(isText, 'fileName is only for media messages (documents show it)')
  @IsString()
  @MinLength(1)
  @MaxLength(255)
  @Rule((fileName) =>
    typeof fileName === 'string' && UNSAFE_FILE_NAME_CHAR.test(fileName)
      ? 'fileName must be a file name without path separators or control characters'
      : undefined,
  )
  fileName?: string;

  @ApiPropertyOptional({
    description:
      'Id of one of our stored messages (sent or received, same session) to quote; not a reaction, edit or revoke (400 REPLY_TARGET_NOT_FOUND), nor one deleted for everyone (400 REPLY_TARGET_REVOKED)',
    example: '665f1c2b1e6a3e4f7e9d0e0d',
  })
  @IsOmittable()
  @IsString()
  @MaxLength(64)
  replyTo?: string;

  @ApiPropertyOptional({
    description: 'JIDs or phone numbers to mention',
    example: ['201001234567'],
    type: [String],
  })
  @IsOmittable()
  @IsArray()
  @ArrayMaxSize(50)
  @Matches(new RegExp(`^(?:${TO_PATTERN.source})$`), {
    each: true,
    message: 'each mention must be a phone number or JID',
  })
  mentions?: string[];
}
