import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import {
  malformedRequests,
  type MalformedRequest,
  type RawAnswer,
  seededRandom,
  sendRaw,
} from './support/malformed-requests';
import { oddQueryValues, resolveSchema } from './support/schema-values';
import { schemaMismatches } from './support/openapi-conformance';
import { connectedSession, sandboxInbound } from './support/sandbox';
import {
  asNewClient,
  createTestApp,
  registerUser,
  type RegisteredUser,
  type TestApp,
} from './support/test-app';
import { waitFor } from './support/wait';

type Json = Record<string, any>;

const SEED = Number(process.env.FUZZ_SEED ?? 20261207);
const ANSWER_TIMEOUT_MS = 5_000;
const ERROR_KEYS = new Set(['statusCode', 'error', 'code', 'message', 'details', 'requestId']);
// A stack frame, a source file or a module path in an answer: internals a client must never see.
const LEAK = /\bat [\w.<>]+ \(|node_modules|\.[jt]s:\d+/;

/**
 * Every operation of the app's own OpenAPI document gets malformed requests derived from its
 * schema (wrong types, out-of-range numbers, unknown and prototype-polluting fields, bodies that
 * are not JSON objects or not JSON, odd path parameters, repeated and nested query parameters),
 * authenticated as the owner of an organization with a connected sandbox session. Each must be a
 * 4xx the operation documents, in the one error shape, within 5 s, and change no stored data.
 * Seeded (FUZZ_SEED) so a failure replays.
 */
describe('malformed requests on every route (e2e)', () => {
  let t: TestApp;
  let owner: RegisteredUser;
  let spec: Json;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    t = await createTestApp({ WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' });
    owner = await registerUser(t);
    await connectedSession(t, owner);
    await sandboxInbound(t, owner, 'main', { from: '+201112223334', text: 'hello' });
    const message = await waitFor(async () => {
      const res = await t.http().get('/api/v1/whatsapp/messages').set(owner.auth).expect(200);
      return res.body.items[0];
    });
    const contact = await waitFor(async () => {
      const res = await t.http().get('/api/v1/whatsapp/contacts').set(owner.auth).expect(200);
      return res.body.items[0];
    });
    const customer = await t
      .http()
      .post('/api/v1/customers')
      .set(owner.auth)
      .send({ name: 'Mona', phone: '+201112223334' })
      .expect(201);
    const webhook = await t
      .http()
      .post('/api/v1/webhooks')
      .set(owner.auth)
      .send({ url: 'http://127.0.0.1:9/hook', events: ['session.status'], sessionName: 'main' })
      .expect(201);
    Object.assign(ids, {
      message: message.id,
      contact: contact.id,
      customer: customer.body.id,
      webhook: webhook.body.id,
      user: owner.user.id,
    });
    spec = (await t.http().get('/api/docs-json').expect(200)).body;
  });

  afterAll(async () => {
    await t?.close();
  });

  /** A stored resource's id for a path parameter, so the request reaches its validation. */
  const realPathValue = (path: string, param: string): string => {
    if (param === 'name') return 'main';
    if (param === 'deliveryId') return 'ffffffffffffffffffffffff';
    if (path.startsWith('/api/v1/customers')) return ids.customer;
    if (path.startsWith('/api/v1/webhooks')) return ids.webhook;
    if (path.startsWith('/api/v1/whatsapp/contacts')) return ids.contact;
    if (path.startsWith('/api/v1/whatsapp/messages')) return ids.message;
    if (path.startsWith('/api/v1/organizations/me/users')) return ids.user;
    throw new Error(`no real value for ${param} of ${path}`);
  };

  /** Every collection's document count, and what the API lists: nothing may change. */
  const snapshot = async () => {
    const db = t.app.get<Connection>(getConnectionToken()).db!;
    const counts: Record<string, number> = {};
    for (const { name } of await db.listCollections().toArray())
      counts[name] = await db.collection(name).countDocuments();
    const list = async (path: string) =>
      (await t.http().get(path).set(owner.auth).expect(200)).body;
    const sessions = (await list('/api/v1/whatsapp/sessions')).map((s: Json) => ({
      name: s.sessionName,
      status: s.status,
      phone: s.phone,
    }));
    return {
      counts,
      sessions,
      contacts: await list('/api/v1/whatsapp/contacts?limit=100'),
      customers: await list('/api/v1/customers?limit=100'),
      messages: (await list('/api/v1/whatsapp/messages?limit=100')).items.map((m: Json) => ({
        id: m.id,
        status: m.status,
        text: m.text,
      })),
      webhooks: (await list('/api/v1/webhooks')).map((w: Json) => ({
        id: w.id,
        url: w.url,
        events: w.events,
        enabled: w.enabled,
        sessionName: w.sessionName,
      })),
      organization: await list('/api/v1/organizations/me'),
      users: await list('/api/v1/organizations/me/users'),
    };
  };

  /**
   * What is wrong with an answer to a malformed request (or, `mayAccept`, to an odd but possibly
   * valid one, which may also be a documented 2xx); empty when it is right.
   */
  const problemsOf = (
    request: MalformedRequest,
    answer: RawAnswer,
    mayAccept = false,
  ): string[] => {
    const [method, path] = request.operation.split(' ');
    const documented = spec.paths[path][method.toLowerCase()].responses;
    const problems: string[] = [];
    if (mayAccept && answer.status < 300 && documented[String(answer.status)]) return [];
    if (answer.status < 400 || answer.status >= 500) problems.push(`answered ${answer.status}`);
    else if (!documented[String(answer.status)])
      problems.push(`answered ${answer.status}, which the operation does not document`);
    let body: Json;
    try {
      body = JSON.parse(answer.text);
    } catch {
      return [...problems, `not a JSON body: ${answer.text.slice(0, 120)}`];
    }
    problems.push(...schemaMismatches({ $ref: '#/components/schemas/ErrorResponseDto' }, body));
    const extra = Object.keys(body).filter((key) => !ERROR_KEYS.has(key));
    if (extra.length) problems.push(`keys beyond the error shape: ${extra.join(', ')}`);
    if (body.statusCode !== answer.status) problems.push(`statusCode ${body.statusCode}`);
    if (!body.requestId || body.requestId !== answer.headers['x-request-id'])
      problems.push('requestId is not the X-Request-Id header');
    if (LEAK.test(answer.text)) problems.push(`leaks internals: ${answer.text.slice(0, 300)}`);
    if (request.field && body.code === 'VALIDATION_FAILED') {
      const named = Object.keys(body.details ?? {}).some(
        // `name[$ne]` is refused as an unknown parameter of that literal name.
        (key) =>
          key.startsWith(request.field!) && /^([.[]|$)/.test(key.slice(request.field!.length)),
      );
      if (!named)
        problems.push(`details do not name ${request.field}: ${answer.text.slice(0, 300)}`);
    }
    return problems.length ? [...problems, `(${answer.status} ${answer.text.slice(0, 200)})`] : [];
  };

  /** Sends each request in turn; the failures, one line each. */
  const sendAll = async (requests: MalformedRequest[], mayAccept = false) => {
    const failures: string[] = [];
    for (const request of requests) {
      // Public routes count attempts per client address: each request is a client of its own.
      const headers = request.headers.Authorization
        ? request.headers
        : { ...request.headers, ...asNewClient() };
      try {
        const answer = await sendRaw(t.url, { ...request, headers }, ANSWER_TIMEOUT_MS);
        const problems = problemsOf(request, answer, mayAccept);
        if (problems.length)
          failures.push(`${request.operation} [${request.label}]: ${problems.join('; ')}`);
      } catch (error) {
        failures.push(`${request.operation} [${request.label}]: ${(error as Error).message}`);
      }
    }
    return failures;
  };

  it('answers each with a documented 4xx in the error shape, and changes nothing', async () => {
    const random = seededRandom(SEED);
    const before = await snapshot();
    const ctx = {
      spec,
      random,
      auth: owner.auth,
      realPathValue,
      bodyOverrides: { sessionName: 'main' },
    };
    const requests: MalformedRequest[] = [];
    const perOperation: Record<string, number> = {};
    for (const [path, item] of Object.entries(spec.paths as Json))
      for (const [method, operation] of Object.entries(item as Json)) {
        const generated = malformedRequests(ctx, path, method, operation);
        perOperation[`${method.toUpperCase()} ${path}`] = generated.length;
        requests.push(...generated);
      }

    // Deletes last: one wrongly carried out must not turn the requests after it into 404s.
    requests.sort((a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'));
    const started = Date.now();
    const failures = await sendAll(requests);
    console.info(
      `bad-input: ${requests.length} requests on ${Object.keys(perOperation).length} operations in ${Date.now() - started} ms (seed ${SEED})`,
    );
    expect(({} as Json).polluted).toBeUndefined();
    expect(failures).toEqual([]);
    expect(await snapshot()).toEqual(before);
    // Every documented operation was exercised, none with a token set alone.
    expect(Object.entries(perOperation).filter(([, n]) => n < 2)).toEqual([]);
    expect(requests.length).toBeGreaterThan(1000);
  });

  it('answers odd text in search and filter parameters of reads with a 200 or a documented 4xx', async () => {
    const random = seededRandom(SEED + 1);
    const requests: MalformedRequest[] = [];
    for (const [path, item] of Object.entries(spec.paths as Json)) {
      const operation = (item as Json).get;
      // The event stream stays open once accepted: its parameters are covered above.
      if (!operation || path === '/api/v1/events') continue;
      const target = path.replace(/\{(\w+)\}/g, (_, param: string) =>
        encodeURIComponent(realPathValue(path, param)),
      );
      for (const param of (operation.parameters ?? []) as Json[]) {
        const schema = resolveSchema(spec, param.schema);
        if (param.in !== 'query' || schema.type !== 'string' || schema.enum || schema.format)
          continue;
        for (const [label, value] of oddQueryValues(random))
          requests.push({
            operation: `GET ${path}`,
            label: `query ${param.name}: ${label}`,
            method: 'GET',
            target: `${target}?${encodeURIComponent(param.name)}=${value}`,
            headers: owner.auth,
          });
      }
    }
    expect(requests.length).toBeGreaterThan(100);
    expect(await sendAll(requests, true)).toEqual([]);
  });
});
