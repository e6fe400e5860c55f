import { fileTypeFromBuffer } from 'file-type';
import { BadRequestError } from '@app/common';
import type { OutboundMediaType } from '../message.types';
import { assertMimetypeFits, MIME_PREFIX } from './media-limits';

/** Mimetypes that say nothing about the content (S3, CDNs and plain file servers answer these). */
const GENERIC_MIMETYPES = new Set(['application/octet-stream', 'binary/octet-stream']);

/**
 * Audio often comes in containers the sniffer names as video (m4a in mp4, opus in webm, 3gp): what
 * such audio is, as audio.
 */
const AUDIO_CONTAINERS = new Map([
  ['video/mp4', 'audio/mp4'],
  ['video/webm', 'audio/webm'],
  ['video/3gpp', 'audio/3gpp'],
  ['video/ogg', 'audio/ogg'],
  ['application/ogg', 'audio/ogg'],
]);

/**
 * Formats others are built on (Office and EPUB files are zips, old Office files CFB, many formats
 * XML): bytes sniffed as one of these may well be the more specific document the sender declared.
 */
const CONTAINER_FORMATS = new Set(['application/zip', 'application/x-cfb', 'application/xml']);

/** Whether sniffed content is of the type's family, as a declared mimetype must be. */
function contentFits(type: OutboundMediaType, detected: string): boolean {
  const prefix = MIME_PREFIX[type];
  return (
    !prefix || detected.startsWith(prefix) || (type === 'audio' && AUDIO_CONTAINERS.has(detected))
  );
}

/** A mimetype without its parameters, lower-cased: `Audio/Ogg; codecs=opus` → `audio/ogg`. */
const essence = (mimetype: string) => mimetype.split(';')[0].trim().toLowerCase();

export class MediaContentMismatchError extends BadRequestError {
  constructor(type: OutboundMediaType, detected: string | undefined) {
    super(
      'MEDIA_CONTENT_MISMATCH',
      detected
        ? `the media bytes are ${detected}, not ${type === 'image' ? 'an' : 'a'} ${type}`
        : `the media bytes are not an image format we recognise (JPEG, PNG, WebP, GIF, …)`,
      { type, detected },
    );
  }
}

export class MediaTypeUnknownError extends BadRequestError {
  constructor(type: OutboundMediaType) {
    super(
      'MEDIA_TYPE_UNKNOWN',
      `the ${type}'s format could not be told from its bytes or its Content-Type; give media.mimetype`,
    );
  }
}

/**
 * The mimetype a send goes out with, checked against the bytes: a declared mimetype must fit the
 * message type, and the bytes (by their signature) must be of that kind, so a PDF posted as an
 * image is refused here rather than reaching the recipient as a broken message. Bytes of a format
 * the sniffer knows go out as that format (PNG bytes declared image/jpeg are image/png, so they are
 * stored and served as what they are); the declared mimetype is kept when it names the same format
 * (with its parameters, e.g. codecs=opus) or a document built on the sniffed container (a .docx is
 * a zip). A missing or generic mimetype is taken from the bytes. Video, audio and documents whose
 * format the sniffer does not know pass as declared; an image must be a recognised format.
 */
export async function settleMediaMimetype(
  type: OutboundMediaType,
  declared: string | undefined,
  bytes: Buffer,
): Promise<string> {
  const generic = !declared || GENERIC_MIMETYPES.has(essence(declared));
  if (!generic) assertMimetypeFits(type, declared);
  const sniffed = (await fileTypeFromBuffer(bytes))?.mime;
  if (sniffed && !contentFits(type, sniffed)) throw new MediaContentMismatchError(type, sniffed);
  const detected =
    sniffed && type === 'audio' ? (AUDIO_CONTAINERS.get(sniffed) ?? sniffed) : sniffed;
  // An image must be a recognised format, whatever was declared (a mimetype would not help).
  if (type === 'image' && !detected) throw new MediaContentMismatchError(type, undefined);
  if (generic) {
    if (detected) return detected;
    if (type === 'document') return 'application/octet-stream';
    throw new MediaTypeUnknownError(type);
  }
  if (!detected || essence(declared) === essence(detected)) return declared;
  if (type === 'document' && CONTAINER_FORMATS.has(detected)) return declared;
  return detected;
}
