import { createHmac } from 'node:crypto';
import {
  generateWebhookSecret,
  signWebhookPayload,
  verifyWebhookSignature,
} from './webhook-signature';

describe('webhook signatures', () => {
  const secret = 'whsec_test-secret';
  const body = '{"id":"6650a1b2003e8a0000001f3c","type":"message.received"}';

  it('is sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">', () => {
    const expected = createHmac('sha256', secret).update(`1700000000.${body}`).digest('hex');
    expect(signWebhookPayload(secret, 1700000000, body)).toBe(`sha256=${expected}`);
    expect(signWebhookPayload(secret, '1700000000', Buffer.from(body))).toBe(`sha256=${expected}`);
  });

  it('verifies a good signature and rejects tampering, other secrets and stale timestamps', () => {
    const signature = signWebhookPayload(secret, 1700000000, body);
    const now = 1700000010;
    expect(
      verifyWebhookSignature(secret, { signature, timestamp: '1700000000' }, body, 300, now),
    ).toBe(true);
    expect(
      verifyWebhookSignature(
        secret,
        { signature, timestamp: '1700000000' },
        body.replace('received', 'sent'),
        300,
        now,
      ),
    ).toBe(false);
    expect(
      verifyWebhookSignature('whsec_other', { signature, timestamp: '1700000000' }, body, 300, now),
    ).toBe(false);
    expect(
      verifyWebhookSignature(secret, { signature, timestamp: '1700000001' }, body, 300, now),
    ).toBe(false);
    expect(
      verifyWebhookSignature(secret, { signature, timestamp: '1700000000' }, body, 300, 1700000301),
    ).toBe(false);
    expect(
      verifyWebhookSignature(
        secret,
        { signature: 'sha256=00', timestamp: '1700000000' },
        body,
        300,
        now,
      ),
    ).toBe(false);
    expect(verifyWebhookSignature(secret, {}, body)).toBe(false);
  });

  it('generates distinct, prefixed secrets', () => {
    const a = generateWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(generateWebhookSecret()).not.toBe(a);
  });
});
