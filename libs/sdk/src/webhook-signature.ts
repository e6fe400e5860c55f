/**
 * Checks a webhook delivery as the gateway signs it: `X-Webhook-Signature: sha256=<hex
 * HMAC-SHA256 of "<X-Webhook-Timestamp>.<raw body>">` keyed with the webhook's secret, and a
 * timestamp within `toleranceSeconds` of now (a replayed old delivery fails). Pass the body exactly
 * as received, before any JSON parsing. Web Crypto: runs in Node ≥ 20, browsers and edge runtimes.
 */
export async function verifyWebhookSignature(
  secret: string,
  headers: { signature?: HeaderValue; timestamp?: HeaderValue },
  rawBody: string | Uint8Array,
  options: { toleranceSeconds?: number; nowSeconds?: number } = {},
): Promise<boolean> {
  const [signature, timestamp] = [single(headers.signature), single(headers.timestamp)];
  const { toleranceSeconds = 300, nowSeconds = Math.floor(Date.now() / 1000) } = options;
  if (!signature?.startsWith('sha256=') || !timestamp || !/^\d+$/.test(timestamp)) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) return false;
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey(
    'raw',
    encoder.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['verify'],
  );
  const given = hexBytes(signature.slice('sha256='.length));
  if (!given) return false;
  const body = typeof rawBody === 'string' ? encoder.encode(rawBody) : rawBody;
  const signed = new Uint8Array([...encoder.encode(`${timestamp}.`), ...body]);
  // verify() compares in constant time.
  return crypto.subtle.verify('HMAC', key, given, signed);
}

/** A header as Fetch (`headers.get()`: string | null) or Node (`req.headers[…]`: string | string[]) gives it. */
type HeaderValue = string | readonly string[] | null | undefined;

/** The header's one value; a header repeated with several values is none. */
function single(value: HeaderValue): string | undefined {
  if (typeof value === 'string') return value;
  return value?.length === 1 ? value[0] : undefined;
}

function hexBytes(hex: string): Uint8Array | undefined {
  if (!/^[0-9a-f]{64}$/i.test(hex)) return undefined;
  return Uint8Array.from(hex.match(/../g)!, (byte) => parseInt(byte, 16));
}
