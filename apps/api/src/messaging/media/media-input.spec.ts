import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { AllowList } from '@app/common';
import { mediaSample } from '../../../../../test/support/media-samples';
import {
  type MediaFetchPolicy,
  mimetypeOfContentType,
  offeredFileName,
  resolveMediaInput,
} from './media-input';

/** A 200 response whose body is `chunks`, then ends without error once `endWhen` resolves. */
function quietlyEndingResponse(
  chunks: Buffer[],
  headers: Record<string, string>,
  endWhen: Promise<unknown>,
): IncomingMessage {
  const body = new Readable({ read() {} });
  for (const chunk of chunks) body.push(chunk);
  void endWhen.then(() => body.push(null));
  return Object.assign(body, { statusCode: 200, headers, complete: false }) as never;
}

const aborted = (signal: AbortSignal) =>
  new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));

/** The domain error a promise is refused with, as the API would answer it. */
const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: { code?: string; message: string; status?: number }) => ({
      code: error.code,
      message: error.message,
      status: error.status,
    }),
  );

describe('resolveMediaInput from media.base64', () => {
  const policy: MediaFetchPolicy = { allow: new AllowList(undefined, 'X'), timeoutMs: 300 };

  it.each([
    ['image', 'image/png'],
    ['video', 'video/mp4'],
    ['audio', 'audio/ogg'],
    ['document', 'application/pdf'],
  ] as const)('refuses empty %s bytes as empty media', async (type, mimetype) => {
    expect(await refusal(resolveMediaInput(type, { base64: '', mimetype }, policy))).toEqual({
      code: 'MEDIA_EMPTY',
      message: 'media.base64 is empty: the media has no bytes',
      status: 400,
    });
  });

  it('holds base64 to the limit by its exact decoded size, padding excluded', async () => {
    const limit = 16 * 1024 * 1024;
    const atLimit = mediaSample.png(limit);
    const media = await resolveMediaInput(
      'image',
      { base64: atLimit.toString('base64'), mimetype: 'image/png' },
      policy,
    );
    expect(media.buffer.length).toBe(limit);
    const over = Buffer.concat([atLimit, Buffer.alloc(1)]).toString('base64');
    await expect(
      resolveMediaInput('image', { base64: over, mimetype: 'image/png' }, policy),
    ).rejects.toMatchObject({
      code: 'MEDIA_TOO_LARGE',
      status: 413,
      message: `image media is ${limit + 1} bytes; the limit is ${limit} bytes`,
      details: { size: limit + 1, limit },
    });
  });

  it('takes bytes as they are decoded', async () => {
    const pdf = mediaSample.pdf(100);
    const media = await resolveMediaInput(
      'document',
      { base64: pdf.toString('base64'), mimetype: 'application/pdf' },
      policy,
    );
    expect(Buffer.compare(media.buffer, pdf)).toBe(0);
    expect(media.mimetype).toBe('application/pdf');
  });
});

describe('resolveMediaInput from media.url (local HTTP server)', () => {
  const pdf = mediaSample.pdf(3000);
  let server: Server;
  let baseUrl: string;
  const routes = new Map<string, (res: ServerResponse, req: IncomingMessage) => void>();
  // Downloads that end on their own get a timeout they never reach, even on a loaded machine;
  // only the cases about the timeout itself get a short one.
  const policy: MediaFetchPolicy = { allow: new AllowList('127.0.0.1', 'X'), timeoutMs: 10_000 };
  const shortPolicy: MediaFetchPolicy = { ...policy, timeoutMs: 300 };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const route = routes.get(req.url ?? '');
      if (route) route(res, req);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const fromUrl = (path: string, fetchPolicy = policy) =>
    resolveMediaInput('document', { url: `${baseUrl}${path}` }, fetchPolicy);

  it('downloads a whole body', async () => {
    routes.set('/whole', (res) =>
      res.writeHead(200, { 'Content-Type': 'application/pdf' }).end(pdf),
    );
    const media = await fromUrl('/whole');
    expect(Buffer.compare(media.buffer, pdf)).toBe(0);
    expect(media.mimetype).toBe('application/pdf');
  });

  it("lets the bytes decide over a download's Content-Type that is not of the message type, or no mimetype at all", async () => {
    const jpeg = mediaSample.jpeg(500);
    routes.set('/photo-as-text', (res) =>
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end(jpeg),
    );
    routes.set('/photo-as-image', (res) =>
      res.writeHead(200, { 'Content-Type': 'image' }).end(jpeg),
    );
    routes.set('/login-page', (res) =>
      res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>log in first</html>'),
    );
    const image = (path: string, mimetype?: string) =>
      resolveMediaInput('image', { url: `${baseUrl}${path}`, mimetype }, policy);
    expect((await image('/photo-as-text')).mimetype).toBe('image/jpeg');
    expect((await image('/photo-as-image')).mimetype).toBe('image/jpeg');
    // Bytes that are no image are refused for what they are, not for the server's type.
    expect(await refusal(image('/login-page'))).toMatchObject({ code: 'MEDIA_CONTENT_MISMATCH' });
    expect(
      await refusal(resolveMediaInput('video', { url: `${baseUrl}/login-page` }, policy)),
    ).toMatchObject({ code: 'MEDIA_TYPE_UNKNOWN' });
    // A mimetype the caller gave is still held to the message type.
    expect(await refusal(image('/photo-as-text', 'text/plain'))).toMatchObject({
      code: 'MIMETYPE_MISMATCH',
    });
  });

  it("offers the file name of the response's Content-Disposition, else of the URL it came from after redirects", async () => {
    routes.set('/download?id=7', (res) =>
      res
        .writeHead(200, {
          'Content-Type': 'application/pdf',
          'Content-Disposition': `attachment; filename="rates.pdf"; filename*=UTF-8''%E2%82%AC%20rates.pdf`,
        })
        .end(pdf),
    );
    expect((await fromUrl('/download?id=7')).offeredFileName).toBe('€ rates.pdf');
    routes.set('/go', (res) => res.writeHead(302, { Location: '/files/Q3%20report.pdf' }).end());
    routes.set('/files/Q3%20report.pdf', (res) =>
      res.writeHead(200, { 'Content-Type': 'application/pdf' }).end(pdf),
    );
    expect((await fromUrl('/go')).offeredFileName).toBe('Q3 report.pdf');
    routes.set('/blob', (res) =>
      res.writeHead(200, { 'Content-Type': 'application/pdf' }).end(pdf),
    );
    expect((await fromUrl('/blob')).offeredFileName).toBeUndefined();
  });

  it('refuses an empty body as empty media', async () => {
    routes.set('/empty', (res) => res.writeHead(200, { 'Content-Type': 'application/pdf' }).end());
    expect(await refusal(fromUrl('/empty'))).toEqual({
      code: 'MEDIA_EMPTY',
      message: 'media.url answered with an empty body: the media has no bytes',
      status: 400,
    });
  });

  it('refuses a body that stalls after the headers past the timeout, saying it timed out', async () => {
    routes.set('/stall', (res) => {
      res.writeHead(200, { 'Content-Type': 'application/pdf' });
      res.flushHeaders(); // headers out, then nothing
    });
    expect(await refusal(fromUrl('/stall', shortPolicy))).toEqual({
      code: 'MEDIA_FETCH_FAILED',
      message: 'Could not fetch media.url: timed out after 0.3 s',
      status: 400,
    });
  });

  it('refuses a body that stalls part-way past the timeout, with or without Content-Length', async () => {
    routes.set('/partial-sized', (res) => {
      res.writeHead(200, { 'Content-Type': 'application/pdf', 'Content-Length': pdf.length });
      res.write(pdf.subarray(0, 1000));
    });
    routes.set('/partial-chunked', (res) => {
      res.writeHead(200, { 'Content-Type': 'application/pdf' });
      res.write(pdf.subarray(0, 1000));
    });
    for (const path of ['/partial-sized', '/partial-chunked'])
      expect(await refusal(fromUrl(path, shortPolicy))).toMatchObject({
        code: 'MEDIA_FETCH_FAILED',
        message: 'Could not fetch media.url: timed out after 0.3 s',
      });
  });

  it('refuses headers that never come within the timeout, saying it timed out', async () => {
    routes.set('/silent', () => undefined);
    expect(await refusal(fromUrl('/silent', shortPolicy))).toMatchObject({
      code: 'MEDIA_FETCH_FAILED',
      message: 'Could not fetch media.url: timed out after 0.3 s',
    });
  });

  it('refuses a body the server cut short by closing the connection', async () => {
    routes.set('/cut', (res) => {
      res.writeHead(200, { 'Content-Type': 'application/pdf', 'Content-Length': pdf.length });
      res.write(pdf.subarray(0, 1000), () => res.socket?.destroy());
    });
    expect(await refusal(fromUrl('/cut'))).toMatchObject({
      code: 'MEDIA_FETCH_FAILED',
      message: 'Could not fetch media.url: the body broke off: aborted',
    });
  });
});

describe('resolveMediaInput from media.url whose body ends quietly but incomplete', () => {
  const pdf = mediaSample.pdf(3000);
  /** The response each test hands out in place of a server's. */
  let respond: (signal: AbortSignal) => IncomingMessage;
  const policy: MediaFetchPolicy = {
    allow: new AllowList('127.0.0.1', 'X'),
    timeoutMs: 200,
    get: (_url, _addresses, options) => Promise.resolve(respond(options!.signal!)),
  };
  const fromUrl = () => resolveMediaInput('document', { url: 'http://127.0.0.1:9/x.pdf' }, policy);

  it('refuses an empty or partial body cut off by the timeout, saying it timed out', async () => {
    for (const sent of [[], [pdf.subarray(0, 1000)]]) {
      respond = (signal) =>
        quietlyEndingResponse(sent, { 'content-type': 'application/pdf' }, aborted(signal));
      expect(await refusal(fromUrl())).toEqual({
        code: 'MEDIA_FETCH_FAILED',
        message: 'Could not fetch media.url: timed out after 0.2 s',
        status: 400,
      });
    }
  });

  it('refuses a body that ended before it was complete, or short of its Content-Length', async () => {
    respond = () =>
      quietlyEndingResponse(
        [pdf.subarray(0, 1000)],
        { 'content-type': 'application/pdf', 'content-length': String(pdf.length) },
        Promise.resolve(),
      );
    expect(await refusal(fromUrl())).toMatchObject({
      code: 'MEDIA_FETCH_FAILED',
      message:
        'Could not fetch media.url: the body ended after 1000 of 3000 bytes, before it was complete',
    });
    respond = () => {
      const short = quietlyEndingResponse(
        [pdf.subarray(0, 1000)],
        { 'content-type': 'application/pdf', 'content-length': String(pdf.length) },
        Promise.resolve(),
      );
      return Object.assign(short, { complete: true });
    };
    expect(await refusal(fromUrl())).toMatchObject({
      message:
        'Could not fetch media.url: the body ended after 1000 of 3000 bytes, before it was complete',
    });
  });
});

describe('offeredFileName', () => {
  it('never offers a path or control characters, and at most 255 characters', () => {
    expect(offeredFileName('attachment; filename="../../etc/passwd.txt"', 'http://x/a')).toBe(
      '.._.._etc_passwd.txt',
    );
    expect(offeredFileName(undefined, 'http://x/a%2Fb%0A.pdf')).toBe('a_b_.pdf');
    expect(
      offeredFileName(`attachment; filename*=UTF-8''invoice%E2%80%AEfdp.exe`, 'http://x/'),
    ).toBe('invoice_fdp.exe');
    expect(offeredFileName(undefined, 'http://x/a%C2%85b.pdf')).toBe('a_b.pdf');
    expect(offeredFileName('attachment; filename=""', 'http://x/y')).toBeUndefined();
    expect(offeredFileName('not a header;;;', 'http://x/doc.docx')).toBe('doc.docx');
    expect(offeredFileName(undefined, 'http://x/bad%E0%A4%A.pdf')).toBe('bad%E0%A4%A.pdf');
    expect(offeredFileName(`inline; filename="${'a'.repeat(300)}.pdf"`, 'http://x/')).toHaveLength(
      255,
    );
  });
});

describe('mimetypeOfContentType', () => {
  it('keeps the parameters that describe the media, not the charset servers add to anything', () => {
    expect(mimetypeOfContentType('audio/ogg; codecs=opus')).toBe('audio/ogg; codecs=opus');
    expect(mimetypeOfContentType('application/pdf; charset=UTF-8')).toBe('application/pdf');
    expect(mimetypeOfContentType('audio/ogg;codecs=opus;charset=binary')).toBe(
      'audio/ogg; codecs=opus',
    );
    expect(mimetypeOfContentType('')).toBeUndefined();
    expect(mimetypeOfContentType(undefined)).toBeUndefined();
  });

  it('keeps at most 255 characters, as media.mimetype: whole parameters while they fit', () => {
    const long = `x-junk=${'a'.repeat(300)}`;
    expect(mimetypeOfContentType(`audio/ogg; codecs=opus; ${long}; rate=48000`)).toBe(
      'audio/ogg; codecs=opus',
    );
    // Up to exactly 255 characters is kept as it is.
    const fits = `application/pdf; name=${'b'.repeat(255 - 'application/pdf; name='.length)}`;
    expect(fits).toHaveLength(255);
    expect(mimetypeOfContentType(`${fits}; charset=utf-8`)).toBe(fits);
    expect(mimetypeOfContentType(`${fits}c`)).toBe('application/pdf');
    // A bare type too long to be one declares nothing: the bytes decide.
    expect(mimetypeOfContentType(`application/${'x'.repeat(250)}; a=b`)).toBeUndefined();
  });

  it('splits at semicolons outside quoted values only: a quoted parameter is kept or dropped whole', () => {
    // Too long as a whole: dropped, never cut inside its quotes.
    const quoted = `name="${'a'.repeat(200)};${'b'.repeat(60)}"`;
    expect(mimetypeOfContentType(`application/pdf; v=1; ${quoted}`)).toBe('application/pdf; v=1');
    expect(mimetypeOfContentType('application/x-report; name="q1;q2"; charset=utf-8')).toBe(
      'application/x-report; name="q1;q2"',
    );
    expect(mimetypeOfContentType('application/x-report; name="a\\";b"; v=1')).toBe(
      'application/x-report; name="a\\";b"; v=1',
    );
  });
});
