import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { Type } from '@nestjs/common';
import type { OpenAPIObject } from '@nestjs/swagger';
import { getMetadataStorage } from 'class-validator';
import { validationLimits, type ValidationLimit } from '../apps/api/src/document-validation-limits';
import { canonicalOpenApiDocument, generateOpenApiDocument } from '../apps/api/src/openapi';
import { queryDtosByOperationId } from '../apps/api/src/route-query-dtos';
import { createTestApp } from './support/test-app';

const ROOT = resolve(__dirname, '..');
const SPEC_FILE = join(ROOT, 'openapi.json');
const SDK_SCHEMA_FILE = join(ROOT, 'libs/sdk/src/generated/schema.ts');
const DASHBOARD_DIR = join(ROOT, 'apps/dashboard/public');
const REGENERATE =
  'Run `npm run openapi && npm run sdk:generate` and commit openapi.json and libs/sdk/src/generated/schema.ts.';
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'] as const;
const ERROR_REF = '#/components/schemas/ErrorResponseDto';

type Json = Record<string, any>;
interface Operation {
  method: string;
  path: string;
  op: Json;
}

/** JSON pointers where a and b differ (first `max`), for a readable drift report. */
function differences(a: unknown, b: unknown, at = '', out: string[] = [], max = 25): string[] {
  if (out.length >= max) return out;
  if (
    typeof a !== typeof b ||
    Array.isArray(a) !== Array.isArray(b) ||
    a === null ||
    b === null ||
    typeof a !== 'object'
  ) {
    if (JSON.stringify(a) !== JSON.stringify(b))
      out.push(
        `${at || '/'}: committed ${JSON.stringify(a)?.slice(0, 80)} ≠ generated ${JSON.stringify(b)?.slice(0, 80)}`,
      );
    return out;
  }
  const keys = new Set([...Object.keys(a as Json), ...Object.keys(b as Json)]);
  for (const key of keys)
    differences(
      (a as Json)[key],
      (b as Json)[key],
      `${at}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`,
      out,
      max,
    );
  return out;
}

function operations(doc: Json): Operation[] {
  return Object.entries(doc.paths as Json).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((method) => ({ method, path, op: item[method] as Json })),
  );
}

const name = ({ method, path, op }: Operation) =>
  `${op.operationId ?? '?'} (${method.toUpperCase()} ${path})`;
const jsonSchemaOf = (response: Json | undefined): Json | undefined =>
  response?.content?.['application/json']?.schema;
/** Name of the schema a property or response points to (`$ref`, or Nest's `allOf: [{ $ref }]` wrapper). */
const refName = (schema: Json | undefined): string | undefined =>
  (schema?.$ref ?? schema?.allOf?.[0]?.$ref)?.split('/').pop();

/**
 * Whether `properties` (a schema's, or query parameters' schemas by name) state a validator's limit
 * with its value: '' when they do, what is wrong when not, undefined when the document cannot say
 * it (a keyword beside a reference to a nested DTO, which OpenAPI 3.0 ignores). An enum may be
 * stated in the named schema referred to.
 */
function limitProblem(
  doc: Json,
  properties: Json | undefined,
  limit: ValidationLimit,
): string | undefined {
  const property = properties?.[limit.property];
  if (!property) return undefined; // not a documented property (e.g. a rule of a hidden field)
  let where: Json | undefined = limit.onItems ? property.items : property;
  const ref = refName(where);
  if (ref) {
    if (limit.keyword !== 'enum') return undefined;
    where = doc.components.schemas[ref];
  }
  const at = `${limit.property}${limit.onItems ? '[]' : ''}`;
  const stated = where?.[limit.keyword];
  if (limit.keyword === 'enum') {
    const values = (list: unknown) =>
      JSON.stringify([...new Set(list as unknown[])].filter((v) => v !== null).sort());
    return Array.isArray(stated) && values(stated) === values(limit.value)
      ? ''
      : `${at}: enum ${JSON.stringify(stated)}, the validator allows ${JSON.stringify(limit.value)} (${limit.rule})`;
  }
  return JSON.stringify(stated) === JSON.stringify(limit.value)
    ? ''
    : `${at}: ${limit.keyword} ${JSON.stringify(stated)}, the validator enforces ${JSON.stringify(limit.value)} (${limit.rule})`;
}

describe('OpenAPI document', () => {
  let generated: OpenAPIObject;
  let committed: Json;
  let ops: Operation[];

  beforeAll(async () => {
    generated = await generateOpenApiDocument();
    committed = JSON.parse(readFileSync(SPEC_FILE, 'utf8'));
    ops = operations(generated as unknown as Json);
  });

  it('the committed openapi.json is what the code produces (drift check)', () => {
    const diff = differences(committed, JSON.parse(JSON.stringify(generated)));
    expect(
      diff,
      `openapi.json is out of date with the code. ${REGENERATE}\n${diff.join('\n')}`,
    ).toEqual([]);
    expect(
      readFileSync(SPEC_FILE, 'utf8').endsWith('}\n'),
      'openapi.json must end with a newline; regenerate it',
    ).toBe(true);
  });

  it('is the document the running app serves at /api/docs-json', async () => {
    const t = await createTestApp();
    try {
      const res = await t.http().get('/api/docs-json').expect(200);
      const served = canonicalOpenApiDocument(res.body);
      expect(differences(served, JSON.parse(JSON.stringify(generated)))).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('is a valid OpenAPI 3 document (swagger-parser)', async () => {
    const api = (await SwaggerParser.validate(structuredClone(committed) as never)) as Json;
    expect(api.openapi).toMatch(/^3\./);
  });

  it('declares the bearer scheme and applies it to every route but register, login and health', () => {
    const doc = generated as unknown as Json;
    expect(doc.components.securitySchemes.bearer).toMatchObject({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    });
    expect(doc.security).toEqual([{ bearer: [] }]);
    const publicOps = ops
      .filter((o) => Array.isArray(o.op.security) && o.op.security.length === 0)
      .map((o) => o.op.operationId);
    expect(publicOps.sort()).toEqual(['auth_login', 'auth_register', 'health_check']);
  });

  it('every operation has a unique module_action operationId, a summary and tags', () => {
    const problems: string[] = [];
    const seen = new Set<string>();
    const declared = new Set(
      (((generated as unknown as Json).tags ?? []) as Json[])
        .filter((t) => t.description)
        .map((t) => t.name as string),
    );
    for (const o of ops) {
      const id = o.op.operationId as string | undefined;
      if (!id || !/^[a-z][a-zA-Z]*_[a-z][a-zA-Z]*$/.test(id))
        problems.push(`${name(o)}: operationId must look like sessions_create`);
      if (id && seen.has(id)) problems.push(`${name(o)}: duplicate operationId`);
      if (id) seen.add(id);
      if (!o.op.summary?.trim())
        problems.push(`${name(o)}: no summary (@ApiOperation({ summary }))`);
      if (!o.op.tags?.length) problems.push(`${name(o)}: no tag (@ApiTags)`);
      for (const tag of o.op.tags ?? []) {
        if (!declared.has(tag))
          problems.push(
            `${name(o)}: tag '${tag}' has no description (.addTag() in buildOpenApiDocument, apps/api/src/app.setup.ts)`,
          );
      }
    }
    expect(problems).toEqual([]);
  });

  it('every operation documents a typed 2xx response (not any)', () => {
    const problems: string[] = [];
    for (const o of ops) {
      const ok = Object.entries(o.op.responses as Json).filter(([code]) => /^2/.test(code));
      if (ok.length === 0) problems.push(`${name(o)}: no 2xx response`);
      for (const [code, response] of ok) {
        if (code === '204') continue;
        // JSON bodies need a DTO; streams (media bytes, text/event-stream) need a documented schema.
        const typed = Object.entries((response as Json).content ?? {}).some(([mediaType, c]) => {
          const s = (c as Json).schema;
          if (!s) return false;
          if (mediaType !== 'application/json') return true;
          return Boolean(s.$ref || s.items?.$ref || (s.type === 'object' && s.properties));
        });
        if (!typed)
          problems.push(`${name(o)}: ${code} has no response DTO (@ApiOkResponse({ type }))`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('every error response uses ErrorResponseDto; secured routes document 401, every route 400', () => {
    const problems: string[] = [];
    for (const o of ops) {
      const responses = o.op.responses as Json;
      for (const [code, response] of Object.entries(responses)) {
        if (!(response as Json).description?.trim())
          problems.push(`${name(o)}: ${code} has no description`);
        if (/^[45]/.test(code) && jsonSchemaOf(response as Json)?.$ref !== ERROR_REF)
          problems.push(`${name(o)}: ${code} must have type ErrorResponseDto`);
      }
      const secured = !(Array.isArray(o.op.security) && o.op.security.length === 0);
      if (secured && !responses['401'])
        problems.push(`${name(o)}: no 401 (@ApiUnauthorizedResponse({ type: ErrorResponseDto }))`);
      // Any route answers one: a body sent to a route that takes none, a malformed path.
      if (!responses['400']) problems.push(`${name(o)}: documents no 400`);
    }
    expect(problems).toEqual([]);
  });

  it('every POST, PUT and PATCH documents the 415 UNSUPPORTED_MEDIA_TYPE and 413 PAYLOAD_TOO_LARGE the server answers', () => {
    // jsonBodyOnly() and the body parser answer them before any route runs, bodyless POSTs included.
    const withBody = ops.filter((o) => ['post', 'put', 'patch'].includes(o.method));
    expect(withBody.map((o) => o.op.operationId)).toEqual(
      expect.arrayContaining(['sessions_restart', 'events_createStreamToken']),
    );
    expect(withBody.map((o) => o.op.operationId)).toEqual(
      expect.arrayContaining(['auth_login', 'messages_send', 'contacts_update', 'webhooks_update']),
    );
    const problems: string[] = [];
    for (const o of withBody) {
      for (const status of ['415', '413']) {
        const response = (o.op.responses as Json)[status] as Json | undefined;
        if (!response) problems.push(`${name(o)}: no ${status}`);
        else if (jsonSchemaOf(response)?.$ref !== ERROR_REF || !response.description?.trim())
          problems.push(`${name(o)}: ${status} must be described and typed ErrorResponseDto`);
      }
    }
    expect(problems).toEqual([]);
    // Nor do GETs and DELETEs: a body there is the 400 VALIDATION_FAILED of a bodyless route.
    expect(
      ops.filter(
        (o) =>
          ['get', 'delete'].includes(o.method) && (o.op.responses['415'] || o.op.responses['413']),
      ),
    ).toEqual([]);
  });

  it('documents the length, pattern, range, size and enum limits the body DTO validators enforce', () => {
    // What a generated client (and test/bad-input.e2e-spec.ts) can check before sending.
    const schemas = (generated as unknown as Json).components.schemas as Json;
    const storage = getMetadataStorage() as unknown as {
      validationMetadatas: Map<Type, unknown>;
    };
    const problems: string[] = [];
    let checked = 0;
    for (const target of storage.validationMetadatas.keys()) {
      const schema = schemas[target.name];
      if (!schema) continue;
      for (const limit of validationLimits(target)) {
        const problem = limitProblem(generated as unknown as Json, schema.properties, limit);
        if (problem === undefined) continue;
        checked += 1;
        if (problem) problems.push(`${target.name}.${problem}`);
      }
    }
    expect(checked).toBeGreaterThan(50);
    expect(problems).toEqual([]);
  });

  it('documents every limit the query DTO validators enforce on each query parameter of the served document', async () => {
    const t = await createTestApp();
    try {
      const served = (await t.http().get('/api/docs-json').expect(200)).body as Json;
      const dtos = queryDtosByOperationId(t.app);
      const problems: string[] = [];
      let checked = 0;
      for (const o of operations(served)) {
        const query = ((o.op.parameters ?? []) as Json[]).filter((p) => p.in === 'query');
        if (!query.length) continue;
        const dto = dtos.get(o.op.operationId);
        if (!dto) {
          problems.push(`${name(o)}: query parameters without a @Query() DTO`);
          continue;
        }
        const parameters = Object.fromEntries(query.map((p) => [p.name, p.schema]));
        for (const limit of validationLimits(dto)) {
          const problem = limitProblem(served, parameters, limit);
          if (problem === undefined) continue;
          checked += 1;
          if (problem) problems.push(`${name(o)} ?${problem}`);
        }
      }
      // page, limit, sessionName, search, chat, types… of nine operations.
      expect(checked).toBeGreaterThan(40);
      expect(problems).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('declares the Retry-After header of every 429 and of the send route’s 409 (IDEMPOTENCY_KEY_IN_USE)', () => {
    const with429 = ops.filter((o) => o.op.responses['429']);
    expect(with429.map((o) => o.op.operationId)).toContain('auth_login');
    const send = ops.find((o) => o.op.operationId === 'messages_send')!;
    for (const response of [...with429.map((o) => o.op.responses['429']), send.op.responses['409']])
      expect(response.headers?.['Retry-After']?.schema).toMatchObject({ type: 'integer' });
  });

  it('types every property as its example: no "object" where the decorator could not infer a type (string | null)', () => {
    const doc = generated as unknown as Json;
    const mistyped: string[] = [];
    for (const [name, schema] of Object.entries(doc.components.schemas as Record<string, Json>))
      for (const [prop, def] of Object.entries((schema.properties ?? {}) as Record<string, Json>))
        if (def.type === 'object' && def.example !== undefined && typeof def.example !== 'object')
          mistyped.push(`${name}.${prop}`);
    expect(mistyped).toEqual([]);
  });

  it('schemas carry examples and enums are named schemas (enumName)', () => {
    const doc = generated as unknown as Json;
    const problems: string[] = [];
    for (const [schemaName, schema] of Object.entries(doc.components.schemas as Json)) {
      for (const [prop, s] of Object.entries((schema.properties ?? {}) as Json)) {
        const where = `${schemaName}.${prop}`;
        if ((s.enum?.length ?? 0) > 1 || (s.items?.enum?.length ?? 0) > 1)
          problems.push(`${where}: inline enum, give it an enumName`);
        // openapi-typescript turns a property with a default into a required one, which breaks SDK request bodies.
        if (s.default !== undefined)
          problems.push(`${where}: has a default; state it in the description instead`);
        const isReference = s.$ref || s.allOf || s.items?.$ref || s.items?.allOf;
        if (!isReference && s.example === undefined) problems.push(`${where}: no example`);
      }
    }
    for (const o of ops) {
      for (const p of (o.op.parameters ?? []) as Json[]) {
        if ((p.schema?.enum?.length ?? 0) > 1)
          problems.push(`${name(o)} parameter ${p.name}: inline enum, give it an enumName`);
        // A reference to a named enum (or a list of them) documents its values.
        const named = p.schema?.$ref ?? p.schema?.items?.$ref;
        if (!named && p.schema?.example === undefined && p.example === undefined)
          problems.push(`${name(o)} parameter ${p.name}: no example`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('a nullable property that refers to a named schema finds null allowed there (OpenAPI 3.0 ignores nullable beside $ref)', () => {
    const schemas = (generated as unknown as Json).components.schemas as Json;
    const problems: string[] = [];
    for (const [schemaName, schema] of Object.entries(schemas)) {
      for (const [prop, s] of Object.entries((schema.properties ?? {}) as Json)) {
        const ref = refName(s);
        if (!s.nullable || !ref) continue;
        const target = schemas[ref];
        if (!target.nullable || (target.enum && !target.enum.includes(null)))
          problems.push(`${schemaName}.${prop} → ${ref}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('base64 examples are valid base64', () => {
    const problems: string[] = [];
    const visit = (value: unknown, where: string) => {
      if (!value || typeof value !== 'object') return;
      const s = value as Json;
      if (/base64/i.test(where.split('.').pop() ?? '') && typeof s.example === 'string') {
        const bytes = Buffer.from(s.example, 'base64');
        if (!/^[A-Za-z0-9+/]+={0,2}$/.test(s.example) || bytes.toString('base64') !== s.example)
          problems.push(where);
      }
      for (const [key, child] of Object.entries(s)) visit(child, `${where}.${key}`);
    };
    visit((generated as unknown as Json).components.schemas, 'schemas');
    expect(problems).toEqual([]);
  });

  it('message and session statuses are named enum schemas used by the DTOs and filters', () => {
    const schemas = (generated as unknown as Json).components.schemas as Json;
    expect(schemas.SessionStatus).toEqual({
      type: 'string',
      enum: ['connecting', 'qr_ready', 'connected', 'disconnected', 'logged_out', 'failed'],
      description: expect.stringContaining('disconnected: between reconnect attempts'),
    });
    expect(schemas.MessageStatus).toEqual({
      type: 'string',
      enum: ['pending', 'sent', 'delivered', 'read', 'played', 'failed'],
    });
    expect(refName(schemas.SessionResponseDto.properties.status)).toBe('SessionStatus');
    expect(refName(schemas.MessageResponseDto.properties.status)).toBe('MessageStatus');
    const list = ops.find((o) => o.op.operationId === 'messages_list')!;
    expect(refName(list.op.parameters.find((p: Json) => p.name === 'status').schema)).toBe(
      'MessageStatus',
    );
  });

  it('list routes answer named page schemas { items, total, page, limit } and take page/limit', () => {
    const schemas = (generated as unknown as Json).components.schemas as Json;
    const lists = ops.filter(
      (o) => o.method === 'get' && (o.op.parameters ?? []).some((p: Json) => p.name === 'page'),
    );
    expect(lists.map((o) => o.op.operationId).sort()).toEqual(
      expect.arrayContaining(['chats_list', 'contacts_list', 'customers_list', 'messages_list']),
    );
    for (const o of lists) {
      const pageName = refName(jsonSchemaOf(o.op.responses['200']));
      expect(pageName, `${name(o)} must answer a named *PageDto`).toMatch(/PageDto$/);
      const page = schemas[pageName!];
      expect(page.required, pageName).toEqual(
        expect.arrayContaining(['items', 'total', 'page', 'limit']),
      );
      expect(page.properties.items.items.$ref, pageName).toMatch(/^#\/components\/schemas\//);
      const limit = o.op.parameters.find((p: Json) => p.name === 'limit');
      expect(limit.schema, name(o)).toMatchObject({ minimum: 1, maximum: 100, default: 20 });
    }
  });

  it('documents the sandbox control routes, tagged sandbox and marked as available only with WHATSAPP_ENGINE=sandbox (or emulator)', () => {
    const sandbox = ops.filter((o) => o.path.startsWith('/api/v1/whatsapp/sandbox/'));
    expect(sandbox.map((o) => o.op.operationId)).toEqual(
      expect.arrayContaining([
        'sandbox_scan',
        'sandbox_inbound',
        'sandbox_receipt',
        'sandbox_disconnect',
      ]),
    );
    for (const o of sandbox) {
      expect(o.op.tags, name(o)).toEqual(['sandbox']);
      expect(o.op.summary, name(o)).toContain('WHATSAPP_ENGINE=sandbox');
    }
    expect(ops.filter((o) => o.op.tags?.includes('sandbox')).length).toBe(sandbox.length);
    const tag = ((generated as unknown as Json).tags as Json[]).find((t) => t.name === 'sandbox');
    expect(tag?.description).toContain('WHATSAPP_ENGINE=sandbox');
  });

  it('the committed SDK schema is what openapi-typescript generates from openapi.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wagw-sdk-'));
    try {
      const out = join(dir, 'schema.ts');
      const cli = join(ROOT, 'node_modules/openapi-typescript/bin/cli.js');
      execFileSync(process.execPath, [cli, SPEC_FILE, '-o', out], { cwd: ROOT, stdio: 'pipe' });
      expect(
        readFileSync(SDK_SCHEMA_FILE, 'utf8') === readFileSync(out, 'utf8'),
        `libs/sdk/src/generated/schema.ts is stale. ${REGENERATE}`,
      ).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every REST route the dashboard calls exists in the spec', () => {
    const specPaths = Object.entries((generated as unknown as Json).paths as Json).map(
      ([path, item]) => ({
        re: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`),
        methods: METHODS.filter((m) => item[m]),
      }),
    );
    const calls: string[] = [];
    for (const file of readdirSync(DASHBOARD_DIR).filter((f) => f.endsWith('.js'))) {
      const source = readFileSync(join(DASHBOARD_DIR, file), 'utf8');
      // api('METHOD', `/api/v1/...${x}...`) calls; template placeholders stand for one path segment.
      for (const match of source.matchAll(/api\(\s*'([A-Z]+)',\s*[`'](\/api\/v1\/[^`'?]*)/g))
        calls.push(`${match[1]} ${match[2].replace(/\$\{[^}]+\}/g, 'x')}`);
    }
    expect(calls.length).toBeGreaterThan(8);
    const unknown = calls.filter((call) => {
      const [method, path] = call.split(' ');
      return !specPaths.some(
        (p) => p.re.test(path) && p.methods.includes(method.toLowerCase() as never),
      );
    });
    expect(unknown, 'the dashboard calls routes that are not in openapi.json').toEqual([]);
  });
});
