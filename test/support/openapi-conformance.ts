import { readFileSync } from 'node:fs';
import { join } from 'node:path';

type Json = Record<string, any>;

const SPEC: Json = JSON.parse(readFileSync(join(__dirname, '../../openapi.json'), 'utf8'));

/**
 * Where `value` breaks `schema` (the subset of OpenAPI 3.0 openapi.json uses: $ref, allOf, type,
 * nullable, enum, required, properties, items), as JSON paths; empty when it conforms. A property
 * the schema does not declare is not a mismatch (the document lists no additionalProperties).
 */
export function schemaMismatches(schema: Json, value: unknown, at = '$'): string[] {
  if (schema.$ref) return schemaMismatches(resolveRef(schema.$ref), value, at);
  if (value === null)
    return schema.nullable || schema.enum?.includes(null) ? [] : [`${at}: null is not allowed`];
  const problems = (schema.allOf ?? []).flatMap((part: Json) => schemaMismatches(part, value, at));
  if (schema.enum && !schema.enum.includes(value))
    problems.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (schema.type && !hasType(schema.type, value))
    return [...problems, `${at}: ${JSON.stringify(value)?.slice(0, 80)} is not a ${schema.type}`];
  if (schema.type === 'array')
    (value as unknown[]).forEach((item, i) =>
      problems.push(...schemaMismatches(schema.items ?? {}, item, `${at}[${i}]`)),
    );
  if (schema.type === 'object' || schema.properties) {
    const object = value as Json;
    for (const key of schema.required ?? [])
      if (!(key in object)) problems.push(`${at}.${key}: required but absent`);
    for (const [key, property] of Object.entries((schema.properties ?? {}) as Json))
      if (key in object) problems.push(...schemaMismatches(property, object[key], `${at}.${key}`));
  }
  return problems;
}

/** The JSON schema openapi.json gives the answer `status` of `method path` (a spec path template). */
export function responseSchema(method: string, path: string, status: number): Json {
  const operation = SPEC.paths[path]?.[method.toLowerCase()];
  if (!operation) throw new Error(`${method} ${path} is not in openapi.json`);
  const response = operation.responses[String(status)];
  if (!response) throw new Error(`${method} ${path} does not document a ${status}`);
  const schema = response.content?.['application/json']?.schema;
  if (!schema) throw new Error(`${method} ${path} ${status} has no JSON schema`);
  return schema;
}

/** The query parameters openapi.json documents under `name`, with the operations they belong to. */
export function queryParameters(name: string): Array<{ operation: string; schema: Json }> {
  return Object.entries(SPEC.paths as Json).flatMap(([path, item]) =>
    Object.entries(item as Json).flatMap(([method, operation]) =>
      ((operation as Json).parameters ?? [])
        .filter((p: Json) => p.in === 'query' && p.name === name)
        .map((p: Json) => ({ operation: `${method.toUpperCase()} ${path}`, schema: p.schema })),
    ),
  );
}

/** Where a real answer breaks its documented schema; empty when it conforms. */
export function responseMismatches(
  method: string,
  path: string,
  status: number,
  body: unknown,
): string[] {
  return schemaMismatches(responseSchema(method, path, status), body);
}

function resolveRef(ref: string): Json {
  const name = ref.replace('#/components/schemas/', '');
  const schema = SPEC.components.schemas[name];
  if (!schema) throw new Error(`Unknown schema ${ref}`);
  return schema;
}

function hasType(type: string, value: unknown): boolean {
  switch (type) {
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'integer':
      return Number.isInteger(value);
    default:
      return typeof value === type;
  }
}
