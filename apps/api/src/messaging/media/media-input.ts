import type { MediaInputDto } from '../dto/send-message.dto';
import type { OutboundMediaType } from '../message.types';
import { MediaFetchError } from '../messaging.errors';
import { assertMimetypeFits, assertSizeFits, MEDIA_SIZE_LIMITS } from './media-limits';

const FETCH_TIMEOUT_MS = 30_000;

export interface ResolvedMedia {
  buffer: Buffer;
  mimetype: string;
}

/** Turns `{base64, mimetype}` or `{url}` into checked bytes (type, mimetype, size). */
export async function resolveMediaInput(type: OutboundMediaType, input: MediaInputDto): Promise<ResolvedMedia> {
  if (input.base64 !== undefined) {
    assertSizeFits(type, Math.floor((input.base64.length * 3) / 4)); // before decoding a huge string
    const buffer = Buffer.from(input.base64, 'base64');
    assertSizeFits(type, buffer.length);
    assertMimetypeFits(type, input.mimetype!);
    return { buffer, mimetype: input.mimetype! };
  }
  const { buffer, contentType } = await fetchLimited(input.url!, MEDIA_SIZE_LIMITS[type], type);
  const mimetype = input.mimetype ?? contentType?.split(';')[0].trim() ?? 'application/octet-stream';
  assertMimetypeFits(type, mimetype);
  return { buffer, mimetype };
}

async function fetchLimited(url: string, limit: number, type: OutboundMediaType): Promise<{ buffer: Buffer; contentType?: string }> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'follow' });
  } catch (error) {
    throw new MediaFetchError((error as Error).message);
  }
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
  return { buffer: Buffer.concat(chunks), contentType: response.headers.get('content-type') ?? undefined };
}
