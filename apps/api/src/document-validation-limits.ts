import type { Type } from '@nestjs/common';
import type { OpenAPIObject, ParameterObject, SchemaObject } from '@nestjs/swagger';
import { getMetadataStorage } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';

/** class-validator rules and the JSON Schema keyword each is documented as. */
const KEYWORDS: Record<string, string> = {
  maxLength: 'maxLength',
  minLength: 'minLength',
  matches: 'pattern',
  max: 'maximum',
  min: 'minimum',
  arrayMaxSize: 'maxItems',
  arrayMinSize: 'minItems',
  isIn: 'enum',
};

/** One limit a validator enforces on a property, as a JSON Schema keyword and its value. */
export interface ValidationLimit {
  property: string;
  keyword: string;
  value: unknown;
  /** Enforced on each item of an array rather than on the array. */
  onItems: boolean;
  /** The class-validator rule it comes from, for messages. */
  rule: string;
}

/** The value of the keyword for a rule, or undefined when JSON Schema cannot say it. */
function keywordValue(metadata: ValidationMetadata): unknown {
  const [constraint] = metadata.constraints ?? [];
  if (!(constraint instanceof RegExp)) return constraint;
  // JSON Schema patterns have no flags: a case-insensitive or multiline rule is left to the text.
  return /[imsy]/.test(constraint.flags) ? undefined : constraint.source;
}

/** The limits of one validator; IsQueryInteger (libs/common pagination) states three. */
function limitsOf(metadata: ValidationMetadata): ValidationLimit[] {
  const { propertyName: property, name: rule = '' } = metadata;
  if (rule === 'isInt' || rule === 'isQueryInteger') {
    const limits = [{ property, keyword: 'type', value: 'integer', onItems: false, rule }];
    if (rule === 'isInt') return limits;
    const [min, max] = metadata.constraints as [number, number];
    return [
      ...limits,
      { property, keyword: 'minimum', value: min, onItems: false, rule },
      { property, keyword: 'maximum', value: max, onItems: false, rule },
    ];
  }
  const keyword = KEYWORDS[rule];
  const value = keyword ? keywordValue(metadata) : undefined;
  if (!keyword || value === undefined) return [];
  const onItems = Boolean(metadata.each) && keyword !== 'maxItems' && keyword !== 'minItems';
  return [{ property, keyword, value, onItems, rule }];
}

/**
 * The limits the validators of a DTO class enforce (lengths, patterns, ranges, array sizes,
 * enums, integers), its parent classes' included: what its OpenAPI schema or query parameters
 * must state for a generated client to check a value before sending it.
 */
export function validationLimits(target: Type): ValidationLimit[] {
  return getMetadataStorage()
    .getTargetValidationMetadatas(target, '', false, false)
    .flatMap(limitsOf);
}

/** Adds a limit to a property's schema where the decorators did not state it. */
function stateLimit(schema: SchemaObject | undefined, limit: ValidationLimit): void {
  const where = (limit.onItems ? schema?.items : schema) as SchemaObject | undefined;
  // OpenAPI 3.0 ignores a keyword beside $ref (a named enum, a nested DTO; also wrapped in allOf
  // by Nest): the enum is stated there.
  if (!where || '$ref' in where || where.allOf) return;
  (where as Record<string, unknown>)[limit.keyword] ??= limit.value;
}

/**
 * The limits the DTO validators enforce, added to the document where the decorators did not
 * already state them: only a description said "1-32 characters: letters, digits, _ and -", so
 * generated clients could not check a session name, a phone or a tag before sending. Body DTOs
 * are found as the schema named like their class; query DTOs, spread into parameters, through
 * `queryDtos` (by operationId).
 */
export function documentValidationLimits(
  document: OpenAPIObject,
  queryDtos: ReadonlyMap<string, Type>,
): OpenAPIObject {
  const schemas = (document.components?.schemas ?? {}) as Record<string, SchemaObject>;
  const storage = getMetadataStorage() as unknown as {
    validationMetadatas: Map<Type, ValidationMetadata[]>;
  };
  for (const target of storage.validationMetadatas.keys()) {
    const properties = schemas[target.name]?.properties;
    if (!properties) continue;
    for (const limit of validationLimits(target))
      stateLimit(properties[limit.property] as SchemaObject | undefined, limit);
  }
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item) as Array<{
      operationId?: string;
      parameters?: ParameterObject[];
    }>) {
      const dto = queryDtos.get(operation?.operationId ?? '');
      if (!dto) continue;
      for (const limit of validationLimits(dto)) {
        const parameter = operation.parameters?.find(
          (p) => p.in === 'query' && p.name === limit.property,
        );
        stateLimit(parameter?.schema as SchemaObject | undefined, limit);
      }
    }
  }
  return document;
}
