import { request as httpRequest } from 'node:http';

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
}

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
  malformed: Pick<MalformedRequest, 'method' | 'target' | 'headers' | 'body'>,
  timeoutMs: number,
): Promise<RawAnswer> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...malformed.headers };
    if (malformed.body !== undefined) headers['Content-Length'] = Buffer.byteLength(malformed.body);
    const req = httpRequest(
      { hostname, port, method: malformed.method, path: malformed.target, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(malformed.body);
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

const UNKNOWN_FIELD = 'zzUnknownField';

/** Values of the documented header parameters that their operations refuse. */
const INVALID_HEADER_VALUES: Record<string, Array<[string, string]>> = {
  'idempotency-key': [
    ['empty', ''],
    ['over 255 characters', 'k'.repeat(256)],
    ['a space', 'order 42'],
    ['non-ASCII', 'commande-\u00e9'],
  ],
  'last-event-id': [
    ['not an event id', 'zzz'],
    ['23 hex characters', 'f'.repeat(23)],
    ['very long', 'f'.repeat(5000)],
  ],
  // A range past the end of the media (the media of the real message path is absent: 404 first).
  range: [['unsatisfiable', 'bytes=999999999-']],
};

/** Path parameter values no resource can have: traversal, encodings, unicode, injection, length. */
function oddPathValues(random: () => number): Array<[string, string]> {
  const junk = Array.from({ length: 12 }, () =>
    String.fromCharCode(0x21 + Math.floor(random() * 0x5e)),
  ).join('');
  return [
    ['dot-dot', '..'],
    ['dot', '.'],
    ['encoded dot-dot', '%2e%2e'],
    ['traversal', '..%2F..%2Fetc%2Fpasswd'],
    ['encoded slash', 'a%2Fb'],
    ['NUL', 'a%00b'],
    ['space', '%20'],
    ['very long', 'x'.repeat(4000)],
    ['unicode', encodeURIComponent('é𝄞ü\u202e')],
    ['malformed percent-encoding', '%FF%G0'],
    ['__proto__', '__proto__'],
    ['constructor', 'constructor'],
    ['operator', '%24where'],
    ['JSON operator', encodeURIComponent('{"$ne":null}')],
    ['negative', '-1'],
    ['absent 24-hex id', 'ffffffffffffffffffffffff'],
    ['seeded junk', encodeURIComponent(junk)],
  ];
}

/** The schema a `$ref` or a single-`allOf` wrapper stands for. */
export function resolveSchema(spec: Json, schema: Json | undefined): Json {
  if (!schema) return {};
  if (schema.$ref)
    return resolveSchema(spec, spec.components.schemas[schema.$ref.split('/').pop()]);
  if (schema.allOf?.length === 1) {
    const { allOf, ...rest } = schema;
    return { ...resolveSchema(spec, allOf[0]), ...rest, nullable: rest.nullable };
  }
  return schema;
}

/** A value the schema allows, from its example where it has one. */
function sampleValue(
  spec: Json,
  raw: Json,
  overrides: Record<string, unknown>,
  depth = 0,
): unknown {
  const schema = resolveSchema(spec, raw);
  if (schema.example !== undefined) return schema.example;
  if (schema.enum) return schema.enum.find((v: unknown) => v !== null);
  switch (schema.type) {
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return true;
    case 'array':
      return [];
    case 'string':
      return 'x'.repeat(Math.max(1, schema.minLength ?? 1));
    default:
      return depth < 3 ? sampleBody(spec, schema, overrides, depth + 1) : {};
  }
}

/** A body with the required fields of `schema`, from examples (and the context's overrides). */
export function sampleBody(
  spec: Json,
  raw: Json,
  overrides: Record<string, unknown>,
  depth = 0,
): Json {
  const schema = resolveSchema(spec, raw);
  const body: Json = {};
  for (const key of schema.required ?? []) {
    body[key] =
      key in overrides
        ? overrides[key]
        : sampleValue(spec, schema.properties?.[key] ?? {}, overrides, depth);
  }
  return body;
}

/** Values of the wrong type or out of range for a body field of `schema`. */
function invalidBodyValues(spec: Json, raw: Json): Array<[string, unknown]> {
  const schema = resolveSchema(spec, raw);
  const out: Array<[string, unknown]> = [];
  if (!schema.nullable) out.push(['null', null]);
  if (schema.enum) {
    out.push(['not in the enum', 'zz-not-a-value'], ['number for an enum', 42]);
    return out;
  }
  switch (schema.type) {
    case 'string':
      out.push(['number for a string', 42], ['boolean for a string', true]);
      out.push(['array for a string', ['a']], ['object for a string', { a: 1 }]);
      out.push(['lone surrogate', 'a\ud800b']);
      if (schema.maxLength !== undefined)
        out.push(['over maxLength', 'x'.repeat(schema.maxLength + 1)]);
      if (schema.minLength) out.push(['under minLength', '']);
      if (schema.pattern) {
        const pattern = new RegExp(schema.pattern);
        const mismatch = ['!', 'x y', '@@', '+', '0', 'é'].find((text) => !pattern.test(text));
        if (mismatch !== undefined) out.push(['not matching its pattern', mismatch]);
      }
      if (schema.format === 'date-time') out.push(['not a date', '2026-13-45T99:99:99Z']);
      if (schema.format === 'email') out.push(['not an email', 'not-an-email']);
      break;
    case 'integer':
    case 'number':
      out.push(['string for a number', 'abc'], ['numeric string', '7']);
      out.push(['boolean for a number', true], ['array for a number', [1]]);
      if (schema.type === 'integer') out.push(['fraction', 1.5]);
      if (schema.minimum !== undefined) out.push(['below minimum', schema.minimum - 1]);
      if (schema.maximum !== undefined) out.push(['above maximum', schema.maximum + 1]);
      break;
    case 'boolean':
      out.push(['string for a boolean', 'true'], ['number for a boolean', 1], ['array', [true]]);
      break;
    case 'array': {
      out.push(['string for an array', 'a'], ['object for an array', { a: 1 }]);
      const items = resolveSchema(spec, schema.items);
      if (items.type === 'string' || items.enum) out.push(['array of numbers', [42]]);
      if (items.type === 'object' || items.properties) out.push(['array of strings', ['a']]);
      if (schema.minItems) out.push(['under minItems', []]);
      if (schema.maxItems !== undefined)
        out.push([
          'over maxItems',
          Array.from({ length: schema.maxItems + 1 }, (_, i) => `item${i}`),
        ]);
      break;
    }
    default:
      // An object (a nested DTO).
      out.push(['array for an object', [{}]], ['string for an object', 'a'], ['number', 42]);
      out.push(['unknown nested field', { [UNKNOWN_FIELD]: 1 }]);
  }
  return out;
}

/** Values of a query parameter that break its schema (each sent alone, as `name=value`). */
function invalidQueryValues(schema: Json): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (schema.enum) out.push(['not in the enum', 'zz-not-a-value']);
  switch (schema.type) {
    case 'integer':
    case 'number':
      out.push(['not a number', 'abc'], ['empty', ''], ['overflowing', '1e999']);
      out.push(['hex', '0x10'], ['padded', ' 5 ']);
      if (schema.type === 'integer') out.push(['fraction', '1.5']);
      if (schema.minimum !== undefined) out.push(['below minimum', String(schema.minimum - 1)]);
      if (schema.maximum !== undefined) out.push(['above maximum', String(schema.maximum + 1)]);
      break;
    case 'boolean':
      out.push(['not a boolean', 'maybe'], ['number', '2']);
      break;
    case 'string':
      if (schema.format === 'date-time')
        out.push(['not a date', 'not-a-date'], ['impossible date', '2026-13-45T99:99:99Z']);
      if (schema.maxLength !== undefined)
        out.push(['over maxLength', 'x'.repeat(schema.maxLength + 1)]);
      break;
  }
  return out;
}

/**
 * Query values (percent-encoded) that a search or filter may well accept, but that reach regular expressions,
 * the store's matcher and the JID/phone parsers: a 200 or a documented 4xx, never a 5xx.
 */
export function oddQueryValues(random: () => number): Array<[string, string]> {
  const junk = Array.from({ length: 40 }, () =>
    String.fromCodePoint(0x20 + Math.floor(random() * 0x2fe0)),
  ).join('');
  const values: Array<[string, string]> = [
    ['regex metacharacters', '.*(+?[\\'],
    ['unbalanced group', '(a'],
    ['catastrophic backtracking', `${'a'.repeat(40)}!`],
    ['operator', '$where'],
    ['JSON operator', '{"$gt":""}'],
    ['NUL', 'a\u0000b'],
    ['bidi override', '\u202egnp.exe'],
    ['emoji', '👍🏽'],
    ['digits', '0000'],
    ['plus', '+'],
    ['very long', 'a'.repeat(8000)],
    ['seeded unicode', junk],
  ];
  const encoded = values.map(([label, value]): [string, string] => [
    label,
    encodeURIComponent(value),
  ]);
  // A lone surrogate has no UTF-8 form: its CESU-8 bytes, and bytes that decode to nothing.
  encoded.push(['lone surrogate', '%ED%A0%80'], ['malformed percent-encoding', '%FF%G0']);
  return encoded;
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
    for (const [label, value] of invalidQueryValues(schema))
      query(`query ${param.name}: ${label}`, encodeQuery(param.name, value), param.name);
    const example = String(schema.example ?? schema.enum?.[0] ?? schema.minimum ?? 'x');
    query(
      `query ${param.name}: repeated`,
      `${encodeQuery(param.name, example)}&${encodeQuery(param.name, example)}`,
      param.name,
    );
    query(`query ${param.name}: nested`, `${encodeURIComponent(param.name)}[$ne]=x`, param.name);
  }
  if (queryParams.length) {
    query('query: unknown parameter', encodeQuery(UNKNOWN_FIELD, '1'), UNKNOWN_FIELD);
    query('query: __proto__', '__proto__[polluted]=1&constructor[prototype][polluted]=1');
  }

  // Header parameters with values their operation refuses.
  for (const param of params.filter((p) => p.in === 'header')) {
    for (const [label, value] of INVALID_HEADER_VALUES[param.name.toLowerCase()] ?? []) {
      const headers = { ...(bodyText ? json : auth), [param.name]: value };
      add({ label: `header ${param.name}: ${label}`, target: realPath, headers, body: bodyText });
    }
  }

  if (!bodySchema) {
    // A route without a body refuses one, whatever its type.
    add({ label: 'body on a bodyless route', target: realPath, headers: json, body: '{"a":1}' });
    add({
      label: 'text body on a bodyless route',
      target: realPath,
      headers: { ...auth, 'Content-Type': 'text/plain' },
      body: 'hello',
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

/** About 200,000 characters of seeded text with some unicode, quotes and backslashes. */
function hugeString(random: () => number): string {
  // Code points, not UTF-16 units: a cut through 𝄞 would leave half a surrogate pair.
  const alphabet = Array.from('abc XYZ 019 "\\ é 𝄞 <script> %00 ${}');
  const start = Math.floor(random() * alphabet.length);
  const rotated = [...alphabet.slice(start), ...alphabet.slice(0, start)].join('');
  return rotated.repeat(Math.ceil(200_000 / rotated.length));
}

/** A copy of `body` with `value` at the dotted `path` (intermediate objects created). */
function setAt(body: Json, path: string, value: unknown): Json {
  const copy = structuredClone(body);
  const keys = path.split('.');
  let node = copy;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null || Array.isArray(node[key]))
      node[key] = {};
    node = node[key];
  }
  node[keys[keys.length - 1]] = value;
  return copy;
}
