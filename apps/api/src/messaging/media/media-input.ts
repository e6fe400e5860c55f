import {
  type AllowList,
  BadRequestError,
  resolveAllowedTarget,
  UrlNotAllowedError,
} from '@app/common';
import type { MediaInputDto } from '../dto/send-message.dto';
import type { OutboundMediaType } from '../message.types';
import { MediaFetchError } from '../messaging.errors';
import { assertMimetypeFits, assertSizeFits, MEDIA_SIZE_LIMITS } from './media-limits';

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

/** Turns `{base64, mimetype}` or `{url}` into checked bytes (type, mimetype, size). */
export async function resolveMediaInput(
  type: OutboundMediaType,
  input: MediaInputDto,
  allow: AllowList,
): Promise<ResolvedMedia> {
  if (input.base64 !== undefined) {
    assertSizeFits(type, Math.floor((input.base64.length * 3) / 4)); // before decoding a huge string
    const buffer = Buffer.from(input.base64, 'base64');
    assertSizeFits(type, buffer.length);
    assertMimetypeFits(type, input.mimetype!);
    return { buffer, mimetype: input.mimetype! };
  }
  const { buffer, contentType } = await fetchLimited(
    input.url!,
    MEDIA_SIZE_LIMITS[type],
    type,
    allow,
  );
  const mimetype =
    input.mimetype ?? contentType?.split(';')[0].trim() ?? 'application/octet-stream';
  assertMimetypeFits(type, mimetype);
  return { buffer, mimetype };
}

/** SSRF guard: every hop (the URL and each redirect) must resolve to public addresses only. */
async function assertAllowed(url: string, allow: AllowList): Promise<void> {
  try {
    await resolveAllowedTarget(url, allow);
  } catch (error) {
    if (error instanceof UrlNotAllowedError) throw new MediaUrlNotAllowedError(error.message);
    throw error;
  }
}

async function fetchChecked(url: string, allow: AllowList): Promise<Response> {
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    await assertAllowed(current, allow);
    let response: Response;
    try {
      response = await fetch(current, {
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
        redirect: 'manual',
      });
    } catch (error) {
      throw new MediaFetchError((error as Error).message);
    }
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || !location) return response;
    current = new URL(location, current).toString();
  }
  throw new MediaFetchError(`more than ${MAX_REDIRECTS} redirects`);
}

async function fetchLimited(
  url: string,
  limit: number,
  type: OutboundMediaType,
  allow: AllowList,
): Promise<{ buffer: Buffer; contentType?: string }> {
  const response = await fetchChecked(url, allow);
  if (!response.ok || !response.body) throw new MediaFetchError(`HTTP ${response.status}`);
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared) assertSizeFits(type, declared);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    assertSizeFits(type, size); // stop reading as soon as it is too large
    chunks.push(Buffer.from(chunk));
  }
  return {
    buffer: Buffer.concat(chunks),
    contentType: response.headers.get('content-type') ?? undefined,
  };
}
