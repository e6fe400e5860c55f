import { request as httpRequest } from 'node:http';
import {
  hugeString,
  INVALID_HEADER_VALUES,
  invalidBodyValues,
  invalidQueryValues,
  oddPathValues,
  resolveSchema,
  sampleBody,
  setAt,
  UNKNOWN_FIELD,
} from './schema-values';

type Json = Record<string, any>;

/** One malformed request derived from an operation of the OpenAPI document. */
export interface MalformedRequest {
  /** `METHOD /spec/path/{template}`: the operation whose documented answers apply. */
  operation: string;
  /** What is wrong with it, for the failure list. */
  label: string;
  method: string;
  /** The path and query as sent, byte for byte (never normalized: `..` stays `..`). */
  target: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /**
   * The body field or query parameter made invalid: a 400 VALIDATION_FAILED must name it (or a
   * path under it) in `details`, proving it was checked rather than the request refused for
   * another reason.
   */
  field?: string;
  /**
   * A Content-Length larger than `body`: only `body` is sent, and the answer must come before the
   * rest (the connection is then dropped), as it must for a body no route reads.
   */
  declaredLength?: number;
}

/** Over the body parser's 140 MB limit. */
export const OVERSIZED_BODY_BYTES = 150 * 2 ** 20;

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** Deterministic pseudo-random numbers (mulberry32): a failing run is replayed with its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Sends a request exactly as given (node:http, no URL normalization, raw body bytes), failing with
 * "no answer" past `timeoutMs` instead of hanging.
 */
export function sendRaw(
  baseUrl: string,
  malformed: Pick<MalformedRequest, 'method' | 'target' | 'headers' | 'body' | 'declaredLength'>,
  timeoutMs: number,
): Promise<RawAnswer> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...malformed.headers };
    if (malformed.body !== undefined)
      headers['Content-Length'] = malformed.declaredLength ?? Buffer.byteLength(malformed.body);
    const req = httpRequest(
      { hostname, port, method: malformed.method, path: malformed.target, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          });
          // The rest of a body declared longer than sent will never come.
          if (malformed.declaredLength !== undefined) req.destroy();
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    if (malformed.declaredLength === undefined) req.end(malformed.body);
    else req.write(malformed.body ?? '');
  });
}

/** What the generator needs to know about the running app and its data. */
export interface FuzzContext {
  spec: Json;
  random: () => number;
  auth: Record<string, string>;
  /** A real value for a path parameter of an operation (a stored id, the connected session). */
  realPathValue(path: string, param: string): string;
  /** Values used in every base body instead of the schema's examples (e.g. the real session). */
  bodyOverrides: Record<string, unknown>;
}

const encodeQuery = (name: string, value: string) =>
  `${encodeURIComponent(name)}=${encodeURIComponent(value)}`;

/** Every malformed request for one operation of the document. */
export function malformedRequests(
  ctx: FuzzContext,
  path: string,
  method: string,
  operation: Json,
): MalformedRequest[] {
  const { spec, random } = ctx;
  const name = `${method.toUpperCase()} ${path}`;
  const params: Json[] = operation.parameters ?? [];
  const pathParams = params.filter((p) => p.in === 'path');
  const queryParams = params.filter((p) => p.in === 'query');
  const bodySchema = operation.requestBody?.content?.['application/json']?.schema;
  const isPublic = Array.isArray(operation.security) && operation.security.length === 0;
  const auth = isPublic ? {} : ctx.auth;
  const realPath = pathParams.reduce(
    (p, param) =>
      p.replace(`{${param.name}}`, encodeURIComponent(ctx.realPathValue(path, param.name))),
    path,
  );
  const baseBody = bodySchema ? sampleBody(spec, bodySchema, ctx.bodyOverrides) : undefined;
  const json = { ...auth, 'Content-Type': 'application/json' };
  const out: MalformedRequest[] = [];
  const add = (r: Omit<MalformedRequest, 'operation' | 'method'>) =>
    out.push({ operation: name, method: method.toUpperCase(), ...r });
  const withBody = (target: string, label: string, body: string | Buffer, field?: string) =>
    add({ label, target, headers: json, body, field });

  // Path parameters no resource can have (a body route gets its base body, to reach the look-up).
  for (const param of pathParams) {
    for (const [label, value] of oddPathValues(random)) {
      const target = pathParams.reduce(
        (p, other) =>
          p.replace(
            `{${other.name}}`,
            other.name === param.name
              ? value
              : encodeURIComponent(ctx.realPathValue(path, other.name)),
          ),
        path,
      );
      if (baseBody) withBody(target, `path ${param.name}: ${label}`, JSON.stringify(baseBody));
      else add({ label: `path ${param.name}: ${label}`, target, headers: auth });
    }
  }

  // Query parameters: wrong types, out of range, repeated, nested, unknown.
  const bodyText = baseBody ? JSON.stringify(baseBody) : undefined;
  const query = (label: string, queryString: string, field?: string) =>
    add({
      label,
      target: `${realPath}?${queryString}`,
      headers: bodyText ? json : auth,
      body: bodyText,
      field,
    });
  for (const param of queryParams) {
    const schema = resolveSchema(spec, param.schema);
    for (const [label, value] of invalidQueryValues(spec, schema))
      query(`query ${param.name}: ${label}`, encodeQuery(param.name, value), param.name);
    const example = String(schema.example ?? schema.enum?.[0] ?? schema.minimum ?? 'x');
    query(
      `query ${param.name}: repeated`,
      `${encodeQuery(param.name, example)}&${encodeQuery(param.name, example)}`,
      param.name,
    );
    query(`query ${param.name}: nested`, `${encodeURIComponent(param.name)}[$ne]=x`, param.name);
  }
  // Every route, with query parameters or none, refuses one it does not declare (a typo).
  query('query: unknown parameter', encodeQuery(UNKNOWN_FIELD, '1'), UNKNOWN_FIELD);
  query(
    'query: unknown parameter without a value',
    encodeURIComponent(UNKNOWN_FIELD),
    UNKNOWN_FIELD,
  );
  query('query: __proto__', '__proto__[polluted]=1&constructor[prototype][polluted]=1');

  // Header parameters with values their operation refuses.
  for (const param of params.filter((p) => p.in === 'header')) {
    for (const [label, value] of INVALID_HEADER_VALUES[param.name.toLowerCase()] ?? []) {
      const headers = { ...(bodyText ? json : auth), [param.name]: value };
      add({ label: `header ${param.name}: ${label}`, target: realPath, headers, body: bodyText });
    }
  }

  if (!bodySchema) {
    // A route without a body refuses one, whatever its type, charset, encoding or size.
    const bodyless = (label: string, headers: Record<string, string>, body: string) =>
      add({
        label: `${label} on a bodyless route`,
        target: realPath,
        headers,
        body,
        field: 'body',
      });
    bodyless('body', json, '{"a":1}');
    bodyless('text body', { ...auth, 'Content-Type': 'text/plain' }, 'hello');
    bodyless('invalid JSON', json, "{'a':1}");
    bodyless(
      'latin1 charset',
      { ...json, 'Content-Type': 'application/json; charset=latin1' },
      '{}',
    );
    bodyless('unknown charset', { ...json, 'Content-Type': 'application/json; charset=zz' }, '{}');
    bodyless('unsupported Content-Encoding', { ...json, 'Content-Encoding': 'zz-packed' }, '{}');
    bodyless('gzip over plain bytes', { ...json, 'Content-Encoding': 'gzip' }, '{"a":1}');
    // A POST reads its body whole before answering (a documented 413); no GET or DELETE does.
    if (!['POST', 'PUT', 'PATCH'].includes(method.toUpperCase()))
      add({
        label: 'body over the size limit on a bodyless route',
        target: realPath,
        headers: json,
        body: '{"a":"',
        declaredLength: OVERSIZED_BODY_BYTES,
        field: 'body',
      });
    return out;
  }

  // The body as a whole.
  const base = baseBody ?? {};
  const baseJson = JSON.stringify(base);
  for (const [label, text] of [
    ['array body', '[]'],
    ['array of the body', `[${baseJson}]`],
    ['null body', 'null'],
    ['number body', '42'],
    ['string body', '"x"'],
    ['truncated JSON', baseJson.slice(0, -1)],
    ['trailing garbage', `${baseJson}x`],
    ['single quotes', "{'a':1}"],
    ['empty object', '{}'],
    ['deeply nested', `{"${UNKNOWN_FIELD}":${'['.repeat(40)}${']'.repeat(40)}}`],
    [
      'too many keys',
      JSON.stringify({
        ...base,
        ...Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, i])),
      }),
    ],
    ['unknown field', JSON.stringify({ ...base, [UNKNOWN_FIELD]: 1 })],
    [
      '__proto__ key',
      `{"__proto__":{"polluted":true}${baseJson === '{}' ? '}' : `,${baseJson.slice(1)}`}`,
    ],
    [
      'constructor.prototype',
      JSON.stringify({ ...base, constructor: { prototype: { polluted: true } } }),
    ],
    ['prototype key', JSON.stringify({ ...base, prototype: { polluted: true } })],
    ['duplicate keys', baseJson.replace(/^\{/, `{"${UNKNOWN_FIELD}":1,"${UNKNOWN_FIELD}":2,`)],
  ] as Array<[string, string]>) {
    if (label === 'empty object' && !resolveSchema(spec, bodySchema).required?.length) continue;
    withBody(realPath, label, text);
  }
  add({
    label: 'invalid UTF-8',
    target: realPath,
    headers: json,
    body: Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
  });
  // Not JSON, or JSON under another name.
  for (const [label, contentType, text] of [
    ['text/plain body', 'text/plain', baseJson],
    ['form body', 'application/x-www-form-urlencoded', 'a=1&b=2'],
    ['multipart body', 'multipart/form-data; boundary=x', '--x\r\n\r\na\r\n--x--'],
    ['XML body', 'application/xml', '<a/>'],
    ['no Content-Type', '', baseJson],
    ['latin1 charset', 'application/json; charset=latin1', baseJson],
    ['unknown charset', 'application/json; charset=zz-unknown', baseJson],
  ] as Array<[string, string, string]>) {
    const headers: Record<string, string> = { ...auth };
    if (contentType) headers['Content-Type'] = contentType;
    add({ label, target: realPath, headers, body: text });
  }
  add({
    label: 'unsupported Content-Encoding',
    target: realPath,
    headers: { ...json, 'Content-Encoding': 'zz-packed' },
    body: baseJson,
  });
  add({
    label: 'gzip Content-Encoding over plain bytes',
    target: realPath,
    headers: { ...json, 'Content-Encoding': 'gzip' },
    body: baseJson,
  });

  // Each field (and each field of a nested object) made invalid, the rest of the body kept.
  const fields = (schema: Json, prefix: string, depth: number): void => {
    for (const [key, raw] of Object.entries((schema.properties ?? {}) as Json)) {
      const fieldPath = prefix ? `${prefix}.${key}` : key;
      for (const [label, value] of invalidBodyValues(spec, raw))
        withBody(
          realPath,
          `body ${fieldPath}: ${label}`,
          JSON.stringify(setAt(base, fieldPath, value)),
          fieldPath,
        );
      // A huge value, with an unknown field beside it so that it is refused even where it fits.
      withBody(
        realPath,
        `body ${fieldPath}: huge string beside an unknown field`,
        JSON.stringify({ ...setAt(base, fieldPath, hugeString(random)), [UNKNOWN_FIELD]: 1 }),
        UNKNOWN_FIELD,
      );
      const nested = resolveSchema(spec, raw);
      if (depth < 2 && nested.properties) fields(nested, fieldPath, depth + 1);
    }
  };
  fields(resolveSchema(spec, bodySchema), '', 0);
  return out;
}
