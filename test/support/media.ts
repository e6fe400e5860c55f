import type { TestApp } from './test-app';

/** GET /whatsapp/messages/:id/media as raw bytes (200 expected), with its headers. */
export async function downloadMedia(
  t: TestApp,
  auth: Record<string, string>,
  messageId: string,
  headers: Record<string, string> = {},
  status = 200,
) {
  const res = await t
    .http()
    .get(`/api/v1/whatsapp/messages/${messageId}/media`)
    .set(auth)
    .set(headers)
    .buffer(true)
    .parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    })
    .expect(status);
  return {
    bytes: res.body as Buffer,
    contentType: String(res.headers['content-type']),
    headers: res.headers as Record<string, string>,
  };
}
