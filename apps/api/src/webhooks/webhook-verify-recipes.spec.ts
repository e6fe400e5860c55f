import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { signWebhookPayload } from './webhook-signature';

type Verify = (
  secret: string,
  rawBody: string | Buffer,
  headers: Record<string, string>,
) => boolean;

const root = join(__dirname, '../../../..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');

/** The first ```js block after `marker` in `text`, run as CommonJS; returns its function `name`. */
function recipe(text: string, marker: string, name: string): Verify {
  const from = text.indexOf(marker);
  const code = /```js\n([\s\S]*?)```/.exec(text.slice(from))?.[1];
  if (from < 0 || !code) throw new Error(`no recipe after "${marker}"`);
  return new Function('require', `${code}\nreturn ${name};`)(createRequire(__filename)) as Verify;
}

/** The verification code receivers copy: the README's and the one in the OpenAPI document. */
const recipes: Array<[string, Verify]> = [
  ['README.md', recipe(read('README.md'), 'Verify a delivery', 'verifyWebhook')],
  [
    'openapi.json (webhooks_create)',
    recipe(
      (JSON.parse(read('openapi.json')) as Record<string, any>).paths['/api/v1/webhooks'].post
        .description as string,
      'Verify',
      'verify',
    ),
  ],
];

describe.each(recipes)('the webhook verification recipe of %s', (_where, verify) => {
  const secret = 'whsec_recipe-test';
  const body = '{"id":"6650a1b2003e8a0000001f3c","type":"message.received","data":{"text":"é"}}';
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = signWebhookPayload(secret, timestamp, body);
  const headers = { 'x-webhook-timestamp': timestamp, 'x-webhook-signature': signature };

  it('accepts a delivery as the gateway signs it, the raw body as a Buffer or a string', () => {
    expect(verify(secret, Buffer.from(body), headers)).toBe(true);
    expect(verify(secret, body, headers)).toBe(true);
  });

  it('refuses another body, another secret and a stale timestamp', () => {
    expect(verify(secret, body.replace('received', 'sent'), headers)).toBe(false);
    expect(verify('whsec_other', body, headers)).toBe(false);
    const old = String(Number(timestamp) - 3600);
    const oldHeaders = {
      'x-webhook-timestamp': old,
      'x-webhook-signature': signWebhookPayload(secret, old, body),
    };
    expect(verify(secret, body, oldHeaders)).toBe(false);
  });

  it('refuses, without throwing, a signature of the right length that is not ASCII', () => {
    // Node reads a header byte ≥ 0x80 as a latin1 character: one character, two bytes in UTF-8.
    const forged = { ...headers, 'x-webhook-signature': `${signature.slice(0, -1)}é` };
    expect(verify(secret, body, forged)).toBe(false);
  });
});
