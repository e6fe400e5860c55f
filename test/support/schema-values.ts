/**
 * Values derived from an OpenAPI schema for test/bad-input.e2e-spec.ts: valid base bodies from the
 * examples, and values each field, query or path parameter and header must refuse.
 */

type Json = Record<string, any>;

/** A field no DTO declares. */
export const UNKNOWN_FIELD = 'zzUnknownField';

/** Values of the documented header parameters that their operations refuse. */
export const INVALID_HEADER_VALUES: Record<string, Array<[string, string]>> = {
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
export function oddPathValues(random: () => number): Array<[string, string]> {
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
export function invalidBodyValues(spec: Json, raw: Json): Array<[string, unknown]> {
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
      if (patternMismatch(schema.pattern) !== undefined)
        out.push(['not matching its pattern', patternMismatch(schema.pattern)!]);
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

/** A text its pattern refuses, if one of a few usual suspects is. */
function patternMismatch(pattern: string | undefined): string | undefined {
  if (pattern === undefined) return undefined;
  const re = new RegExp(pattern);
  return ['!', 'x y', '@@', '+', '0', 'é', '\u0001'].find((text) => !re.test(text));
}

/**
 * Values of a query parameter that break its schema (each sent alone, as `name=value`); `spec`
 * resolves the named enum of a list's items.
 */
export function invalidQueryValues(spec: Json, schema: Json): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (schema.enum) out.push(['not in the enum', 'zz-not-a-value']);
  switch (schema.type) {
    case 'array': {
      // Comma-separated (style form, explode false): one item outside the enum, or too many.
      const items = resolveSchema(spec, schema.items);
      const valid = items.enum?.find((v: unknown) => v !== null) ?? 'x';
      if (items.enum) out.push(['an item not in the enum', `${valid},zz-not-a-value`]);
      if (schema.maxItems !== undefined)
        out.push([
          'over maxItems',
          Array(schema.maxItems + 1)
            .fill(valid)
            .join(','),
        ]);
      break;
    }
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
      if (schema.minLength) out.push(['under minLength', '']);
      if (patternMismatch(schema.pattern) !== undefined)
        out.push(['not matching its pattern', patternMismatch(schema.pattern)!]);
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

/** About 200,000 characters of seeded text with some unicode, quotes and backslashes. */
export function hugeString(random: () => number): string {
  // Code points, not UTF-16 units: a cut through 𝄞 would leave half a surrogate pair.
  const alphabet = Array.from('abc XYZ 019 "\\ é 𝄞 <script> %00 ${}');
  const start = Math.floor(random() * alphabet.length);
  const rotated = [...alphabet.slice(start), ...alphabet.slice(0, start)].join('');
  return rotated.repeat(Math.ceil(200_000 / rotated.length));
}

/** A copy of `body` with `value` at the dotted `path` (intermediate objects created). */
export function setAt(body: Json, path: string, value: unknown): Json {
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
