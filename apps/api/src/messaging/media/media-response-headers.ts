import { create as contentDisposition } from 'content-disposition';
import type { ByteRange } from './media-storage';

/** type/subtype with optional parameters: anything else is not sent as a Content-Type. */
const MIMETYPE = /^[\w.+-]+\/[\w.+-]+(\s*;\s*[\w.+-]+=("[^"\r\n]*"|[\w.+-]+))*$/;

/** Media a browser shows without running anything: images (not SVG, which may script), video, audio. */
const isPassive = (mimetype: string) => /^(image\/(?!svg)|video\/|audio\/)/i.test(mimetype);

/**
 * Headers for serving stored media. The bytes and their mimetype come from whoever sent the
 * message, so the response must never become an active page on our origin: a mimetype that is
 * not one is served as octet-stream, anything but passive media is an attachment, and a CSP
 * sandbox stops scripts even if a browser renders it anyway. The file name is encoded
 * (RFC 6266 / 5987), never pasted into the header.
 */
export function mediaResponseHeaders(media: {
  mimetype: string;
  size: number;
  fileName?: string;
  /** The bytes served of a 206 answer to a Range request. */
  range?: ByteRange;
}): Record<string, string> {
  const mimetype = MIMETYPE.test(media.mimetype) ? media.mimetype : 'application/octet-stream';
  const type = isPassive(mimetype) ? 'inline' : 'attachment';
  const { range } = media;
  return {
    'Content-Type': mimetype,
    'Content-Length': String(range ? range.end - range.start + 1 : media.size),
    // Players seek in audio and video by asking for byte ranges.
    'Accept-Ranges': 'bytes',
    ...(range ? { 'Content-Range': `bytes ${range.start}-${range.end}/${media.size}` } : {}),
    'Content-Disposition': media.fileName ? contentDisposition(media.fileName, { type }) : type,
    'Content-Security-Policy': "default-src 'none'; sandbox",
    'X-Content-Type-Options': 'nosniff',
  };
}
