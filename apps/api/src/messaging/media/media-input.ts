import type { IncomingMessage } from 'node:http';
import { parse as parseContentDisposition } from 'content-disposition';
import {
  type AllowList,
  BadRequestError,
  DomainError,
  pinnedGet,
  readCapped,
  type ResolvedAddress,
  resolveAllowedTarget,
  UrlNotAllowedError,
} from '@app/common';
import type { MediaInputDto } from '../dto/send-message.dto';
import type { OutboundMediaType } from '../message.types';
import { MediaFetchError } from '../messaging.errors';
import { settleMediaMimetype } from './media-content';
import {
  assertSizeFits,
  base64DecodedSize,
  MAX_MIMETYPE_LENGTH,
  MEDIA_SIZE_LIMITS,
  MediaEmptyError,
  MediaTooLargeError,
  mimetypeFits,
  UNSAFE_FILE_NAME_CHAR,
} from './media-limits';

const MAX_REDIRECTS = 3;

/** `details` as WEBHOOK_URL_NOT_ALLOWED's: the field's messages, and the guard's reason. */
export class MediaUrlNotAllowedError extends BadRequestError {
  constructor(message: string, reason: UrlNotAllowedError['reason']) {
    super('MEDIA_URL_NOT_ALLOWED', `media.url is not allowed: ${message}`, {
      'media.url': [message],
      reason,
    });
  }
}

export interface ResolvedMedia {
  buffer: Buffer;
  mimetype: string;
  /** The name a media.url download offered (Content-Disposition, else the URL's file name). */
  offeredFileName?: string;
}

/** Where media.url may point, and how long its download (headers and body) may take. */
export interface MediaFetchPolicy {
  allow: AllowList;
  timeoutMs: number;
  /** The GET each hop makes (pinnedGet; tests hand in responses a real server cannot make). */
  get?: typeof pinnedGet;
}

/** Turns `{base64, mimetype}` or `{url}` into checked bytes (type, mimetype against the bytes, size). */
export async function resolveMediaInput(
  type: OutboundMediaType,
  input: MediaInputDto,
  fetchPolicy: MediaFetchPolicy,
): Promise<ResolvedMedia> {
  if (input.base64 !== undefined) {
    assertSizeFits(type, base64DecodedSize(input.base64)); // before decoding a huge string
    const buffer = Buffer.from(input.base64, 'base64');
    if (!buffer.length) throw new MediaEmptyError('media.base64 is empty');
    assertSizeFits(type, buffer.length);
    return { buffer, mimetype: await settleMediaMimetype(type, input.mimetype, buffer) };
  }
  const { buffer, contentType, offeredFileName } = await fetchLimited(
    input.url!,
    type,
    fetchPolicy,
  );
  if (!buffer.length) throw new MediaEmptyError('media.url answered with an empty body');
  // The server chose its Content-Type, not the caller: one that is malformed or of another family
  // (a photo served as text/plain) declares nothing, and the bytes decide, as without one.
  const served = mimetypeOfContentType(contentType);
  const declared = input.mimetype ?? (served && mimetypeFits(type, served) ? served : undefined);
  return {
    buffer,
    mimetype: await settleMediaMimetype(type, declared, buffer),
    offeredFileName,
  };
}

/**
 * The mimetype a download's Content-Type declares, with its parameters (`audio/ogg; codecs=opus`
 * is what makes a voice note) but without `charset`, which servers add to anything and which means
 * nothing for media bytes. At most MAX_MIMETYPE_LENGTH characters, as a declared media.mimetype:
 * the server, not the caller, chose it, so rather than refusing the send, parameters are kept
 * whole, in order, while they fit, and the rest dropped (never cut inside one); a bare type longer
 * than that declares nothing (none: the bytes decide, as for a missing Content-Type).
 */
export function mimetypeOfContentType(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const [type, ...params] = headerParts(contentType);
  if (!type || type.length > MAX_MIMETYPE_LENGTH) return undefined;
  let mimetype = type;
  for (const param of params) {
    if (!param || /^charset\s*=/i.test(param)) continue;
    const longer = `${mimetype}; ${param}`;
    if (longer.length > MAX_MIMETYPE_LENGTH) break;
    mimetype = longer;
  }
  return mimetype;
}

/**
 * A header value's parts at the semicolons outside quoted strings (a parameter's quoted value may
 * hold one, and a backslash escapes a quote in it), each trimmed.
 */
function headerParts(value: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted && c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (c === ';' && !quoted) {
      parts.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(value.slice(start).trim());
  return parts;
}

/**
 * The file name a download offers: Content-Disposition's `filename` (RFC 8187 `filename*`
 * preferred), else the last segment of the URL it came from when that has an extension
 * (`…/invoice-42.pdf`). Path separators, control characters and bidirectional controls become `_`;
 * at most 255 characters.
 */
export function offeredFileName(disposition: string | undefined, url: string): string | undefined {
  let name: string | undefined;
  if (disposition) {
    try {
      name = parseContentDisposition(disposition).parameters.filename;
    } catch {
      // a malformed header offers nothing
    }
  }
  if (!name) {
    const last = new URL(url).pathname.split('/').pop() ?? '';
    let decoded = last;
    try {
      decoded = decodeURIComponent(last);
    } catch {
      // a malformed escape: keep it as sent
    }
    if (/\.[A-Za-z0-9]{1,10}$/.test(decoded)) name = decoded;
  }
  const clean = name
    ?.replace(new RegExp(UNSAFE_FILE_NAME_CHAR.source, 'g'), '_')
    .trim()
    .slice(0, 255);
  return clean || undefined;
}

/** SSRF guard: every hop (the URL and each redirect) must resolve to public addresses only. */
async function allowedAddresses(url: string, allow: AllowList): Promise<ResolvedAddress[]> {
  try {
    return await resolveAllowedTarget(url, allow);
  } catch (error) {
    if (error instanceof UrlNotAllowedError)
      throw new MediaUrlNotAllowedError(error.message, error.reason);
    throw error;
  }
}

/** Follows up to MAX_REDIRECTS redirects; each hop connects only to the addresses checked for it. */
async function fetchChecked(
  url: string,
  { allow, get = pinnedGet }: MediaFetchPolicy,
  signal: AbortSignal,
  failure: (error: unknown) => MediaFetchError,
) {
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const addresses = await allowedAddresses(current, allow);
    let response: IncomingMessage;
    try {
      response = await get(current, addresses, { signal });
    } catch (error) {
      throw failure(error);
    }
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (status < 300 || status >= 400 || !location) return { response, url: current };
    response.resume(); // a redirect's body is not needed
    current = new URL(location, current).toString();
  }
  throw new MediaFetchError(`more than ${MAX_REDIRECTS} redirects`);
}

/**
 * Downloads the body whole or fails: a body cut off (by the timeout, or by the server closing the
 * connection early) is refused, never taken for the file.
 */
async function fetchLimited(
  url: string,
  type: OutboundMediaType,
  policy: MediaFetchPolicy,
): Promise<{ buffer: Buffer; contentType?: string; offeredFileName?: string }> {
  const { timeoutMs } = policy;
  const signal = AbortSignal.timeout(timeoutMs);
  // Once the timeout fired, whatever the request or the body stream says is because of it.
  const failure = (error: unknown, stage = '') =>
    new MediaFetchError(
      signal.aborted ? `timed out after ${timeoutMs / 1000} s` : stage + (error as Error).message,
    );
  const { response, url: finalUrl } = await fetchChecked(url, policy, signal, failure);
  const status = response.statusCode ?? 0;
  try {
    if (status < 200 || status >= 300) throw new MediaFetchError(`HTTP ${status}`);
    const declared = Number(response.headers['content-length'] ?? 0);
    if (declared) assertSizeFits(type, declared);
    const limit = MEDIA_SIZE_LIMITS[type];
    let buffer: Buffer;
    try {
      buffer = await readCapped(
        response,
        limit,
        (size) => new MediaTooLargeError(type, size, limit),
        signal,
      );
    } catch (error) {
      if (error instanceof DomainError) throw error; // too large
      throw failure(error, 'the body broke off: '); // timeout, reset
    }
    if (!response.complete || (declared && buffer.length !== declared))
      throw new MediaFetchError(
        `the body ended after ${buffer.length}${declared ? ` of ${declared}` : ''} bytes, before it was complete`,
      );
    return {
      buffer,
      contentType: response.headers['content-type'],
      offeredFileName: offeredFileName(response.headers['content-disposition'], finalUrl),
    };
  } finally {
    response.destroy(); // frees the socket when we stopped early
  }
}
