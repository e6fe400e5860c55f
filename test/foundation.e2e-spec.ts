import { connect } from 'node:net';
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { createTestApp, registerUser, type TestApp } from './support/test-app';

describe('foundation (HTTP)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('GET /health answers 200 with the database up', async () => {
    const res = await t.http().get('/health').expect(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.info.database.status).toBe('up');
    expect(res.body.info.process.status).toBe('up');
    expect(res.body.info.sessions).toEqual({
      status: 'up',
      live: 0,
      connected: 0,
      restoring: false,
    });
  });

  it('unknown routes answer 404 in the JSON error shape with a request id', async () => {
    const res = await t.http().get('/api/v1/nope').expect(404);
    expect(res.body).toEqual({
      statusCode: 404,
      error: 'Not Found',
      code: 'ROUTE_NOT_FOUND',
      message: 'Route GET /api/v1/nope not found',
      requestId: expect.any(String),
    });
    expect(res.headers['x-request-id']).toBe(res.body.requestId);
  });

  it('every unknown route is that 404, inside the prefix or not; the query is left out', async () => {
    for (const [method, path] of [
      ['get', '/nothing'],
      ['post', '/nothing'],
      ['get', '/api/nothing'],
      ['get', '/api/docs/nothing'],
      ['get', '/dashboard/nothing.js'],
      ['get', '/health/nothing'],
      ['post', '/health'],
      ['delete', '/api/v1/auth/me'],
    ] as const) {
      const res = await t.http()[method](`${path}?token=secret`).expect(404);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual({
        statusCode: 404,
        error: 'Not Found',
        code: 'ROUTE_NOT_FOUND',
        message: `Route ${method.toUpperCase()} ${path} not found`,
        requestId: res.headers['x-request-id'],
      });
    }
    // What is served outside the prefix still is.
    await t.http().get('/health').expect(200);
    await t.http().get('/dashboard').expect(301).expect('Location', '/dashboard/');
    await t
      .http()
      .get('/dashboard/')
      .expect(200)
      .expect('Content-Type', /text\/html/);
    await t.http().get('/dashboard/app.js').expect(200);
    await t
      .http()
      .get('/api/docs')
      .expect(200)
      .expect('Content-Type', /text\/html/);
    await t.http().get('/api/docs-json').expect(200).expect('Content-Type', /json/);
  });

  it('sends security headers and does not name its framework', async () => {
    for (const path of ['/health', '/api/v1/nope', '/dashboard/']) {
      const res = await t.http().get(path);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-security-policy']).toContain("object-src 'none'");
      expect(res.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(res.headers).not.toHaveProperty('x-powered-by');
      expect(res.headers).not.toHaveProperty('strict-transport-security'); // the TLS proxy's job
    }
  });

  it('sends no CORS headers unless CORS_ORIGINS is set', async () => {
    const res = await t.http().get('/health').set('Origin', 'https://app.example.com').expect(200);
    expect(res.headers).not.toHaveProperty('access-control-allow-origin');
  });

  it('honours an incoming X-Request-Id and echoes it', async () => {
    const res = await t.http().get('/api/v1/nope').set('X-Request-Id', 'trace-abc-123').expect(404);
    expect(res.headers['x-request-id']).toBe('trace-abc-123');
    expect(res.body.requestId).toBe('trace-abc-123');
  });

  it('replaces a malformed X-Request-Id with a generated one', async () => {
    const res = await t.http().get('/health').set('X-Request-Id', 'bad id with spaces').expect(200);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('rejects malformed JSON with 400 in the error shape', async () => {
    const res = await t
      .http()
      .post('/api/v1/auth/login')
      .set('Content-Type', 'application/json')
      .send('{"email":')
      .expect(400);
    expect(res.body).toMatchObject({
      statusCode: 400,
      error: 'Bad Request',
      requestId: expect.any(String),
    });
    expect(JSON.stringify(res.body)).not.toContain('at ');
  });

  it('refuses a body too wide or too deep for validation with a 400, before validating it', async () => {
    const wide: Record<string, unknown> = { email: 'a@b.test', password: 'x'.repeat(12) };
    for (let i = 0; i < 100_000; i++) wide[`k${i}`] = 1;
    const tooWide = await t.http().post('/api/v1/auth/login').send(wide).expect(400);
    expect(tooWide.body).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { '(root)': ['objects must not have more than 256 properties'] },
    });
    // 20,000 levels overflowed class-transformer's recursion: a 500 before.
    const deep = `{"email":"a@b.test","password":"xxxxxxxxxxxx","x":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    const tooDeep = await t
      .http()
      .post('/api/v1/auth/login')
      .set('Content-Type', 'application/json')
      .send(deep)
      .expect(400);
    expect(tooDeep.body).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { [`x${'[0]'.repeat(15)}`]: ['nesting must not exceed 16 levels'] },
    });
  });

  it('refuses a search with a control character (a NUL was a 500 from the BSON encoder)', async () => {
    const owner = await registerUser(t);
    for (const path of [
      '/api/v1/whatsapp/messages',
      '/api/v1/whatsapp/contacts',
      '/api/v1/customers',
    ]) {
      const res = await t.http().get(path).query({ search: 'x\u0000' }).set(owner.auth).expect(400);
      expect(res.body).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: { search: ['search must not contain control characters'] },
      });
    }
  });

  it('body-parser errors carry the request id (body and header, an incoming one honoured) and a code', async () => {
    const badJson = await t
      .http()
      .post('/api/v1/auth/login')
      .set('Content-Type', 'application/json')
      .send('{bad')
      .expect(400);
    expect(badJson.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      code: 'INVALID_JSON',
      message: expect.stringMatching(/^The request body is not valid JSON: ./),
      requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(badJson.headers['x-request-id']).toBe(badJson.body.requestId);

    const traced = await t
      .http()
      .put('/api/v1/whatsapp/contacts/665f1c2b1e6a3e4f7e9d0e0e')
      .set('Content-Type', 'application/json')
      .set('X-Request-Id', 'trace-bad-json')
      .send('{"notes":')
      .expect(400);
    expect(traced.headers['x-request-id']).toBe('trace-bad-json');
    expect(traced.body).toMatchObject({ code: 'INVALID_JSON', requestId: 'trace-bad-json' });

    // Valid JSON, but not an object: a body of the wrong shape, as an array is (below), not a
    // syntax error.
    for (const [bare, what] of [
      ['null', 'null'],
      ['42', 'a number'],
      ['"x"', 'a string'],
      ['true', 'a boolean'],
    ]) {
      const res = await t
        .http()
        .post('/api/v1/auth/login')
        .set('Content-Type', 'application/json')
        .send(bare)
        .expect(400);
      expect(res.body).toMatchObject({
        code: 'VALIDATION_FAILED',
        message: 'The request body must be a JSON object',
        details: { '(root)': [`must be a JSON object, not ${what}`] },
      });
    }

    // Past the 140 MB JSON limit (body-parser reads the whole body before it answers).
    const tooLarge = await t
      .http()
      .post('/api/v1/auth/login')
      .set('Content-Type', 'application/json')
      .set('X-Request-Id', 'trace-too-large')
      .send(`{"email":"${'x'.repeat(141 * 1024 * 1024)}"}`);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.headers['x-request-id']).toBe('trace-too-large');
    expect(tooLarge.body).toEqual({
      statusCode: 413,
      error: 'Payload Too Large',
      code: 'PAYLOAD_TOO_LARGE',
      message: 'The request body is over the 140 MB limit',
      requestId: 'trace-too-large',
    });
  });

  it('answers 415 to a body that is not JSON; a request without a body is unaffected', async () => {
    const form = await t
      .http()
      .post('/api/v1/auth/login')
      .type('form')
      .send({ email: 'a@b.test', password: 'x' })
      .expect(415);
    expect(form.body).toMatchObject({
      statusCode: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
      details: { contentType: 'application/x-www-form-urlencoded' },
      requestId: form.headers['x-request-id'],
    });
    const bodiless = await t.http().post('/api/v1/auth/login').expect(400);
    expect(bodiless.body.code).toBe('VALIDATION_FAILED');
  });

  it('answers 415 with a message that says what to send for a charset or Content-Encoding the parser cannot read', async () => {
    const body = JSON.stringify({ email: 'a@b.test', password: 'x' });
    const charset = await t
      .http()
      .post('/api/v1/auth/login')
      .set('Content-Type', 'application/json; charset=latin1')
      .send(body)
      .expect(415);
    expect(charset.body).toMatchObject({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: 'The charset LATIN1 is not supported: send the body as UTF-8',
    });
    const encoding = await t
      .http()
      .post('/api/v1/auth/login')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'compress')
      .send(body)
      .expect(415);
    expect(encoding.body).toMatchObject({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message:
        'Content-Encoding compress is not supported: send the body uncompressed, or as gzip, deflate or br',
    });
  });

  it('refuses a body on a route that takes none, as DTO routes refuse unknown fields', async () => {
    const owner = await registerUser(t);
    const meant = await t
      .http()
      .post('/api/v1/events/token')
      .set(owner.auth)
      .send({ expiresIn: 3600 })
      .expect(400);
    expect(meant.body).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { body: ['this route takes no request body'] },
    });
    // What clients send to such a route passes: nothing, or an empty object.
    await t.http().post('/api/v1/events/token').set(owner.auth).expect(201);
    await t.http().post('/api/v1/events/token').set(owner.auth).send({}).expect(201);
    await t.http().get('/api/v1/auth/me').set(owner.auth).send({ x: 1 }).expect(400);
  });

  it('refuses a query parameter a route does not declare, as DTO routes refuse unknown ones', async () => {
    const owner = await registerUser(t);
    const typo = await t.http().get('/api/v1/whatsapp/sessions?limt=5').set(owner.auth).expect(400);
    expect(typo.body).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { limt: ['property limt should not exist'] },
    });
    // The same on a route with a query DTO, and nothing created by a POST that got one.
    const listed = await t.http().get('/api/v1/customers?limt=5').set(owner.auth).expect(400);
    expect(listed.body.details).toEqual({ limt: ['property limt should not exist'] });
    await t
      .http()
      .post('/api/v1/customers?dryRun=1')
      .set(owner.auth)
      .send({ name: 'Mona' })
      .expect(400);
    expect((await t.http().get('/api/v1/customers').set(owner.auth).expect(200)).body.total).toBe(
      0,
    );
    // Credentials come first, as on every route; /health refuses one as well.
    await t.http().get('/api/v1/whatsapp/sessions?limt=5').expect(401);
    await t.http().get('/health?probe=1').expect(400);
  });

  it('answers a request the HTTP parser refuses in the one error shape (431, 400), not a bare status line', async () => {
    const { hostname, port } = new URL(t.url);
    const raw = (request: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => socket.end(request));
        const chunks: Buffer[] = [];
        socket.on('data', (chunk: Buffer) => chunks.push(chunk));
        socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
        socket.on('error', reject);
      });
    const answer = (text: string) => {
      const [head, body] = text.split('\r\n\r\n');
      return {
        status: Number(head.split(' ')[1]),
        requestId: /^x-request-id: (.+)$/im.exec(head)?.[1],
        contentType: /^content-type: (.+)$/im.exec(head)?.[1],
        body: JSON.parse(body) as Record<string, unknown>,
      };
    };
    // A path parameter of 20,000 characters: past Node's 16 KB of request head.
    const long = answer(
      await raw(`GET /api/v1/customers/${'x'.repeat(20_000)} HTTP/1.1\r\nHost: a\r\n\r\n`),
    );
    expect(long).toMatchObject({ status: 431, contentType: expect.stringContaining('json') });
    expect(long.body).toEqual({
      statusCode: 431,
      error: 'Request Header Fields Too Large',
      code: 'HEADERS_TOO_LARGE',
      message: 'The request line and headers are over 16 KB',
      requestId: long.requestId,
    });
    const malformed = answer(await raw('GET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n'));
    expect(malformed).toMatchObject({ status: 400 });
    expect(malformed.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      code: 'BAD_REQUEST',
      message: 'The request is not valid HTTP',
      requestId: malformed.requestId,
    });
  });

  it('refuses a body of any type on a GET or DELETE, instead of acting as if none was sent', async () => {
    const owner = await registerUser(t);
    const customer = await t
      .http()
      .post('/api/v1/customers')
      .set(owner.auth)
      .send({ name: 'Mona' })
      .expect(201);
    const path = `/api/v1/customers/${customer.body.id}`;
    for (const [method, contentType, body] of [
      ['delete', 'text/plain', '{"soft":true}'],
      ['delete', 'application/x-www-form-urlencoded', 'soft=true'],
      ['delete', undefined, 'soft'],
      ['get', 'text/plain', 'hello'],
      // What the JSON parser would refuse with an undocumented 415: refused as a body all the same.
      ['delete', 'application/json; charset=latin1', '{}'],
    ] as const) {
      let req = t.http()[method](path).set(owner.auth);
      if (contentType) req = req.set('Content-Type', contentType);
      const res = await req.send(Buffer.from(body)).expect(400);
      expect(res.body).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: { body: ['this route takes no request body'] },
      });
    }
    // Nothing was deleted; with an empty object, or without a body, the same DELETE goes through.
    await t.http().get(path).set(owner.auth).send({}).expect(200);
    await t.http().delete(path).set(owner.auth).expect(204);
    // An event stream asked for with a body is refused, not opened.
    const stream = await t
      .http()
      .get('/api/v1/events')
      .set(owner.auth)
      .set('Content-Type', 'text/plain')
      .send('hello')
      .timeout(5_000)
      .expect(400);
    expect(stream.body.code).toBe('VALIDATION_FAILED');
  });

  it('refuses unknown fields named like Object.prototype members, which the whitelist misses', async () => {
    for (const body of ['{"email":"a@b.test","password":"x","constructor":1}', '{"toString":1}']) {
      const res = await t
        .http()
        .post('/api/v1/auth/login')
        .set('Content-Type', 'application/json')
        .send(body)
        .expect(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(Object.values(res.body.details).flat()).toEqual([
        expect.stringMatching(/^property (constructor|toString) should not exist$/),
      ]);
    }
  });

  it('refuses a JSON array sent to a DTO route: the body must be a JSON object', async () => {
    const owner = await registerUser(t);
    const send = { sessionName: 'main', to: '+201001234567', text: 'hi' };
    for (const [path, auth, body] of [
      ['/api/v1/whatsapp/messages/send', owner.auth, [send]],
      ['/api/v1/whatsapp/messages/send', owner.auth, []],
      ['/api/v1/auth/login', {}, [{ email: 'a@b.test', password: 'x'.repeat(12) }]],
    ] as const) {
      const res = await t.http().post(path).set(auth).send(body).expect(400);
      expect(res.body).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        code: 'VALIDATION_FAILED',
        message: 'The request body must be a JSON object',
        details: { '(root)': ['must be a JSON object, not an array'] },
        requestId: expect.any(String),
      });
    }
  });

  it('serves Swagger UI and the OpenAPI JSON with the bearer scheme', async () => {
    const ui = await t.http().get('/api/docs').redirects(1).expect(200);
    expect(ui.text).toContain('swagger-ui');
    const spec = await t.http().get('/api/docs-json').expect(200);
    expect(spec.body.openapi).toMatch(/^3\./);
    expect(spec.body.components.securitySchemes.bearer).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    });
    expect(spec.body.paths['/api/v1/auth/register']).toBeDefined();
  });
});

describe('CORS with CORS_ORIGINS', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      CORS_ORIGINS: 'https://app.example.com, https://admin.example.com:8443',
    });
  });
  afterAll(() => t.close());

  it('answers a preflight of a listed origin, before authentication and the JSON body check', async () => {
    const res = await t
      .http()
      .options('/api/v1/whatsapp/messages/send')
      .set('Origin', 'https://admin.example.com:8443')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization,content-type,idempotency-key')
      .expect(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://admin.example.com:8443');
    expect(res.headers['access-control-allow-headers']).toMatch(/Idempotency-Key/);
    expect(res.headers['access-control-allow-methods']).toMatch(/POST/);
    expect(res.headers).not.toHaveProperty('access-control-allow-credentials');
  });

  it('lets a listed origin read answers and their headers; other origins get no CORS headers', async () => {
    const user = await registerUser(t);
    const ok = await t
      .http()
      .get('/api/v1/auth/me')
      .set(user.auth)
      .set('Origin', 'https://app.example.com')
      .expect(200);
    expect(ok.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(ok.headers['access-control-expose-headers']).toMatch(/X-Request-Id/);
    // Errors too: a browser client must be able to read the error shape.
    const denied = await t
      .http()
      .get('/api/v1/auth/me')
      .set('Origin', 'https://app.example.com')
      .expect(401);
    expect(denied.headers['access-control-allow-origin']).toBe('https://app.example.com');
    const other = await t
      .http()
      .get('/api/v1/auth/me')
      .set(user.auth)
      .set('Origin', 'https://evil.example.net')
      .expect(200);
    expect(other.headers).not.toHaveProperty('access-control-allow-origin');
  });
});

describe('health when the database is down', () => {
  it('answers 503 in the JSON error shape', async () => {
    const t = await createTestApp();
    try {
      await t.app.get<Connection>(getConnectionToken()).close(true);
      const res = await t.http().get('/health').expect(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.body).toMatchObject({
        statusCode: 503,
        error: 'Service Unavailable',
        code: 'NOT_READY',
        message: 'Not ready: database is down',
        requestId: expect.any(String),
        details: {
          process: { status: 'up' },
          database: { status: 'down' },
          sessions: { status: 'up' },
        },
      });
    } finally {
      await t.close();
    }
  });
});
