import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_PREFIX = 'sha256=';

/** A new webhook secret: `whsec_` + 32 random bytes, base64url. Shown to the user once. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** `sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">` keyed with the webhook's secret. */
export function signWebhookPayload(
  secret: string,
  timestamp: number | string,
  rawBody: string | Buffer,
): string {
  const hmac = createHmac('sha256', secret);
  hmac.update(`${timestamp}.`);
  hmac.update(rawBody);
  return `${SIGNATURE_PREFIX}${hmac.digest('hex')}`;
}

/**
 * What a receiver does (the README shows the same code): recompute the signature over the raw body,
 * compare in constant time, and reject stale timestamps (replays).
 */
export function verifyWebhookSignature(
  secret: string,
  headers: { signature?: string; timestamp?: string },
  rawBody: string | Buffer,
  toleranceSeconds = 300,
  nowSeconds = Math.floor(Date.now() / 1000),
): boolean {
  const { signature, timestamp } = headers;
  if (!signature || !timestamp || !/^\d+$/.test(timestamp)) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhookPayload(secret, timestamp, rawBody));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
