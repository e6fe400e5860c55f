import type { IncomingMessage } from 'node:http';
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
import { assertSizeFits, MEDIA_SIZE_LIMITS, MediaTooLargeError } from './media-limits';

const FETCH_TIMEOUT_MS = 30_000;
const MAX_REDIRECTS = 3;

export class MediaUrlNotAllowedError extends BadRequestError {
  constructor(reason: string) {
    super('MEDIA_URL_NOT_ALLOWED', `media.url is not allowed: ${reason}`);
  }
}

export interface ResolvedMedia {
  buffer: Buffer;
  mimetype: string;
}

/** Turns `{base64, mimetype}` or `{url}` into checked bytes (type, mimetype against the bytes, size). */
export async function resolveMediaInput(
  type: OutboundMediaType,
  input: MediaInputDto,
  allow: AllowList,
): Promise<ResolvedMedia> {
  if (input.base64 !== undefined) {
    assertSizeFits(type, Math.floor((input.base64.length * 3) / 4)); // before decoding a huge string
    const buffer = Buffer.from(input.base64, 'base64');
    assertSizeFits(type, buffer.length);
    return { buffer, mimetype: await settleMediaMimetype(type, input.mimetype, buffer) };
  }
  const { buffer, contentType } = await fetchLimited(input.url!, type, allow);
  const declared = input.mimetype ?? contentType?.split(';')[0].trim();
  return { buffer, mimetype: await settleMediaMimetype(type, declared || undefined, buffer) };
}

/** SSRF guard: every hop (the URL and each redirect) must resolve to public addresses only. */
async function allowedAddresses(url: string, allow: AllowList): Promise<ResolvedAddress[]> {
  try {
    return await resolveAllowedTarget(url, allow);
  } catch (error) {
    if (error instanceof UrlNotAllowedError) throw new MediaUrlNotAllowedError(error.message);
    throw error;
  }
}

/** Follows up to MAX_REDIRECTS redirects; each hop connects only to the addresses checked for it. */
async function fetchChecked(url: string, allow: AllowList, signal: AbortSignal) {
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const addresses = await allowedAddresses(current, allow);
    let response: IncomingMessage;
    try {
      response = await pinnedGet(current, addresses, { signal });
    } catch (error) {
      throw new MediaFetchError((error as Error).message);
    }
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (status < 300 || status >= 400 || !location) return response;
    response.resume(); // a redirect's body is not needed
    current = new URL(location, current).toString();
  }
  throw new MediaFetchError(`more than ${MAX_REDIRECTS} redirects`);
}

async function fetchLimited(
  url: string,
  type: OutboundMediaType,
  allow: AllowList,
): Promise<{ buffer: Buffer; contentType?: string }> {
  const response = await fetchChecked(url, allow, AbortSignal.timeout(FETCH_TIMEOUT_MS));
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
      );
    } catch (error) {
      if (error instanceof DomainError) throw error; // too large
      throw new MediaFetchError((error as Error).message); // timeout, reset
    }
    return { buffer, contentType: response.headers['content-type'] };
  } finally {
    response.destroy(); // frees the socket when we stopped early
  }
}
