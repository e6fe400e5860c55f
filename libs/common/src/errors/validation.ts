import {
  type ArgumentMetadata,
  BadRequestException,
  ValidationError,
  ValidationPipe,
} from '@nestjs/common';

/** Flattens nested class-validator errors into { "field.path": [messages] }. */
export function flattenValidationErrors(
  errors: ValidationError[],
  prefix = '',
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const error of errors) {
    const path = prefix ? `${prefix}.${error.property}` : error.property;
    if (error.constraints) out[path] = Object.values(error.constraints);
    Object.assign(out, flattenValidationErrors(error.children ?? [], path));
  }
  return out;
}

/**
 * Bounds on the shape of a request body or query, far above what any DTO declares (a few levels,
 * a few dozen properties, arrays of at most 100). class-transformer and class-validator work in
 * time that grows faster than the input (an object with 100,000 unknown keys kept the event loop
 * busy for 30 s) and recurse (20,000 levels overflowed the stack): such input is refused first.
 */
export interface InputShapeLimits {
  depth: number;
  keysPerObject: number;
  arrayLength: number;
}
export const INPUT_SHAPE_LIMITS: Readonly<InputShapeLimits> = {
  depth: 16,
  keysPerObject: 256,
  arrayLength: 1000,
};

/**
 * Whether a string is valid Unicode: JSON may escape half of a surrogate pair (`"\ud800"`), which
 * UTF-8, and so the database, cannot hold; it was stored as U+FFFD while the answer echoed it.
 * (String.prototype.isWellFormed, Node 20+, is not in the ES2023 lib.)
 */
const isWellFormed = (text: string): boolean =>
  (text as string & { isWellFormed(): boolean }).isWellFormed();

/**
 * The first place where `value` exceeds INPUT_SHAPE_LIMITS or holds text that is not valid
 * Unicode, as a field path and a message.
 */
export function inputShapeViolation(
  value: unknown,
  limits: Readonly<InputShapeLimits> = INPUT_SHAPE_LIMITS,
): { path: string; message: string } | undefined {
  // Iterative, so the check itself cannot overflow the stack.
  const stack: Array<{ value: unknown; path: string; depth: number }> = [
    { value, path: '', depth: 0 },
  ];
  while (stack.length) {
    const { value: node, path, depth } = stack.pop()!;
    const at = path || '(root)';
    if (typeof node === 'string' && !isWellFormed(node))
      return { path: at, message: 'must be valid Unicode text: it holds half of a surrogate pair' };
    if (node === null || typeof node !== 'object') continue;
    if (depth >= limits.depth)
      return { path: at, message: `nesting must not exceed ${limits.depth} levels` };
    if (Array.isArray(node)) {
      if (node.length > limits.arrayLength)
        return { path: at, message: `arrays must not have more than ${limits.arrayLength} items` };
      node.forEach((item, i) =>
        stack.push({ value: item, path: `${path}[${i}]`, depth: depth + 1 }),
      );
      continue;
    }
    const keys = Object.keys(node);
    if (keys.length > limits.keysPerObject)
      return {
        path: at,
        message: `objects must not have more than ${limits.keysPerObject} properties`,
      };
    // class-validator's whitelist looks names up in a plain object, so these pass it unseen, and
    // Nest's ValidationPipe deletes `prototype` (with __proto__ and constructor) before it looks.
    const inherited = keys.find((key) => key in Object.prototype || key === 'prototype');
    if (inherited)
      return {
        path: path ? `${path}.${inherited}` : inherited,
        message: `property ${inherited} should not exist`,
      };
    for (const key of keys)
      stack.push({
        value: (node as Record<string, unknown>)[key],
        path: path ? `${path}.${key}` : key,
        depth: depth + 1,
      });
  }
  return undefined;
}

export const validationFailed = (details: Record<string, string[]>) =>
  new BadRequestException({ message: 'Validation failed', code: 'VALIDATION_FAILED', details });

export const BODY_NOT_OBJECT_MESSAGE = 'The request body must be a JSON object';

/**
 * A JSON array sent to a route whose body is a DTO (every body route): refused as a whole, instead
 * of the whitelist's "property 0 should not exist" and every field missing (`[]`: "object is
 * expected").
 */
const bodyIsArray = (value: unknown, metadata: ArgumentMetadata): boolean =>
  metadata.type === 'body' &&
  !metadata.data &&
  Array.isArray(value) &&
  metadata.metatype !== undefined &&
  metadata.metatype !== Array;

/** The global pipe: whitelisted DTO validation, after a cheap check of the input's shape. */
class BoundedValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (bodyIsArray(value, metadata))
      throw new BadRequestException({
        message: BODY_NOT_OBJECT_MESSAGE,
        code: 'VALIDATION_FAILED',
        details: { '(root)': ['must be a JSON object, not an array'] },
      });
    if (metadata.type === 'body' || metadata.type === 'query') {
      const violation = inputShapeViolation(value);
      if (violation) throw validationFailed({ [violation.path]: [violation.message] });
    }
    return super.transform(value, metadata);
  }
}

export function createValidationPipe(): ValidationPipe {
  return new BoundedValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => validationFailed(flattenValidationErrors(errors)),
  });
}
