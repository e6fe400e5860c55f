import { BadRequestError, DomainError } from '@app/common';
import type { OutboundMediaType } from '../message.types';

const MB = 1024 * 1024;
/** WhatsApp's own limits: 16 MB for images, audio and video, 100 MB for documents. */
export const MEDIA_SIZE_LIMITS: Record<OutboundMediaType | 'sticker' | 'voice', number> = {
  image: 16 * MB,
  video: 16 * MB,
  audio: 16 * MB,
  voice: 16 * MB,
  sticker: 1 * MB,
  document: 100 * MB,
};

export class MediaTooLargeError extends DomainError {
  constructor(type: string, size: number, limit: number) {
    super('MEDIA_TOO_LARGE', `${type} media is ${size} bytes; the limit is ${limit} bytes`, 413, {
      size,
      limit,
    });
  }
}

/** No bytes are no file: WhatsApp has nothing to show or play (`source` says where they were missing). */
export class MediaEmptyError extends BadRequestError {
  constructor(source: string) {
    super('MEDIA_EMPTY', `${source}: the media has no bytes`);
  }
}

/**
 * What a file name may not hold: path separators, control characters (C0, DEL and C1) and the
 * bidirectional controls that make a name read as another (`invoice\u202Efdp.exe` shows as
 * `invoiceexe.pdf`).
 */
export const UNSAFE_FILE_NAME_CHAR =
  // eslint-disable-next-line no-control-regex -- control characters are what it finds
  /[/\\\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** The longest mimetype a send takes (media.mimetype) or keeps (a download's Content-Type). */
export const MAX_MIMETYPE_LENGTH = 255;

/** The mimetype family each media type must belong to (documents: any). */
export const MIME_PREFIX: Partial<Record<OutboundMediaType, string>> = {
  image: 'image/',
  video: 'video/',
  audio: 'audio/',
};
const MIME_PATTERN = /^[\w.+-]+\/[\w.+-]+(;.*)?$/;

/** Whether a mimetype is well-formed and of the type's family (assertMimetypeFits, as a test). */
export const mimetypeFits = (type: OutboundMediaType, mimetype: string): boolean =>
  MIME_PATTERN.test(mimetype) &&
  (!MIME_PREFIX[type] || mimetype.toLowerCase().startsWith(MIME_PREFIX[type]));

export function assertMimetypeFits(type: OutboundMediaType, mimetype: string): void {
  if (!MIME_PATTERN.test(mimetype))
    throw new BadRequestError('INVALID_MIMETYPE', `'${mimetype}' is not a valid mimetype`);
  const prefix = MIME_PREFIX[type];
  if (prefix && !mimetype.toLowerCase().startsWith(prefix)) {
    throw new BadRequestError(
      'MIMETYPE_MISMATCH',
      `mimetype '${mimetype}' does not fit type '${type}' (expected ${prefix}*)`,
    );
  }
}

/**
 * The number of bytes base64 decodes to, exactly, without decoding it: 3 per 4 characters, less
 * what the '=' padding stands for (with or without padding).
 */
export function base64DecodedSize(base64: string): number {
  let end = base64.length;
  while (end > 0 && base64[end - 1] === '=') end--;
  return Math.floor((end * 3) / 4);
}

export function assertSizeFits(type: keyof typeof MEDIA_SIZE_LIMITS, size: number): void {
  const limit = MEDIA_SIZE_LIMITS[type];
  if (size > limit) throw new MediaTooLargeError(type, size, limit);
}
