import type { OpenAPIObject, SchemaObject } from '@nestjs/swagger';
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
};

/** The value of the keyword for a rule, or undefined when JSON Schema cannot say it. */
function keywordValue(metadata: ValidationMetadata): unknown {
  const [constraint] = metadata.constraints ?? [];
  if (!(constraint instanceof RegExp)) return constraint;
  // JSON Schema patterns have no flags: a case-insensitive or multiline rule is left to the text.
  return /[imsy]/.test(constraint.flags) ? undefined : constraint.source;
}

/**
 * The limits the DTO validators enforce (lengths, patterns, ranges, array sizes), added to the
 * schemas of their DTOs where the decorators did not already state them: only a description said
 * "1-32 characters: letters, digits, _ and -", so generated clients could not check a session
 * name, a phone or a tag before sending. Applied to the schema named like the DTO class.
 */
export function documentValidationLimits(document: OpenAPIObject): OpenAPIObject {
  const schemas = (document.components?.schemas ?? {}) as Record<string, SchemaObject>;
  const storage = getMetadataStorage() as unknown as {
    validationMetadatas: Map<{ name: string }, ValidationMetadata[]>;
  };
  for (const [target, metadatas] of storage.validationMetadatas) {
    const schema = schemas[target.name];
    if (!schema?.properties) continue;
    for (const metadata of metadatas) {
      const keyword = KEYWORDS[metadata.name ?? ''];
      const property = schema.properties[metadata.propertyName] as SchemaObject | undefined;
      if (!keyword || !property) continue;
      const onItems = metadata.each && keyword !== 'maxItems' && keyword !== 'minItems';
      const where = (onItems ? property.items : property) as SchemaObject | undefined;
      // OpenAPI 3.0 ignores a keyword beside $ref (an enum or a nested DTO).
      if (!where || '$ref' in where) continue;
      const value = keywordValue(metadata);
      if (value !== undefined) (where as Record<string, unknown>)[keyword] ??= value;
    }
  }
  return document;
}
