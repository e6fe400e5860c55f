import { IsString } from 'class-validator';
import { createValidationPipe, inputShapeViolation } from './validation';

class LoginBody {
  @IsString() email!: string;
}

describe('inputShapeViolation', () => {
  const limits = { depth: 3, keysPerObject: 2, arrayLength: 2 };

  it('accepts input within the limits', () => {
    expect(inputShapeViolation({ a: [1, { b: 'x' }], c: null }, limits)).toBeUndefined();
    expect(inputShapeViolation('text', limits)).toBeUndefined();
  });

  it('names where the input is too deep, too wide or too long', () => {
    expect(inputShapeViolation({ a: { b: { c: {} } } }, limits)).toEqual({
      path: 'a.b.c',
      message: 'nesting must not exceed 3 levels',
    });
    expect(inputShapeViolation({ a: 1, b: 2, c: 3 }, limits)?.path).toBe('(root)');
    expect(inputShapeViolation({ a: [1, 2, 3] }, limits)).toEqual({
      path: 'a',
      message: 'arrays must not have more than 2 items',
    });
    expect(inputShapeViolation({ a: [1, { x: 1, y: 2, z: 3 }] }, limits)?.path).toBe('a[1]');
  });

  it('refuses text with a lone surrogate, which would be stored as U+FFFD', () => {
    // JSON may escape half of a surrogate pair ("\ud800"); UTF-8 (BSON) cannot hold it.
    for (const bad of ['a\ud800b', '\udc00', `${'x'.repeat(1999)}\ud83d`])
      expect(inputShapeViolation({ contact: { tags: ['ok', bad] } })).toEqual({
        path: 'contact.tags[1]',
        message: 'must be valid Unicode text: it holds half of a surrogate pair',
      });
    expect(inputShapeViolation({ text: '👍🏽 é \u202e' })).toBeUndefined();
  });

  it('checks 20,000 levels without overflowing the stack', () => {
    const deep = JSON.parse('['.repeat(20_000) + ']'.repeat(20_000));
    expect(inputShapeViolation(deep)?.message).toBe('nesting must not exceed 16 levels');
  });
});

describe('createValidationPipe', () => {
  const pipe = createValidationPipe();
  const body = { type: 'body' as const, metatype: LoginBody };

  it('refuses a body with 100,000 unknown keys at once, before the DTO transform', async () => {
    const wide: Record<string, unknown> = { email: 'a@b.test' };
    for (let i = 0; i < 100_000; i++) wide[`k${i}`] = 1;
    const error = await pipe.transform(wide, body).catch((e: unknown) => e);
    // The refusal comes from the shape check (its message), not from the DTO's whitelist.
    expect((error as { getResponse(): unknown }).getResponse()).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { '(root)': ['objects must not have more than 256 properties'] },
    });
  });

  it('refuses an array body to a DTO route as a whole: the body must be a JSON object', async () => {
    for (const array of [[{ email: 'a@b.test' }], []]) {
      const error = await pipe.transform(array, body).catch((e: unknown) => e);
      expect((error as { getResponse(): unknown }).getResponse()).toEqual({
        message: 'The request body must be a JSON object',
        code: 'VALIDATION_FAILED',
        details: { '(root)': ['must be a JSON object, not an array'] },
      });
    }
  });

  it('refuses a key named prototype, which the pipe would otherwise drop unseen', async () => {
    // Nest's ValidationPipe deletes __proto__, constructor and prototype before the whitelist
    // looks: a body carrying one was accepted as if the field had not been sent.
    for (const [key, at] of [
      ['prototype', 'prototype'],
      ['__proto__', '__proto__'],
      ['constructor', 'constructor'],
    ]) {
      const plain = JSON.parse(`{"email":"a@b.test","nested":{"${key}":{"polluted":true}}}`);
      const error = await pipe.transform(plain, body).catch((e: unknown) => e);
      expect((error as { getResponse(): unknown }).getResponse()).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: { [`nested.${at}`]: [`property ${key} should not exist`] },
      });
    }
    expect(inputShapeViolation({ a: { prototype: 1 } })).toEqual({
      path: 'a.prototype',
      message: 'property prototype should not exist',
    });
  });

  it('still validates and whitelists within the limits', async () => {
    await expect(pipe.transform({ email: 'a@b.test' }, body)).resolves.toBeInstanceOf(LoginBody);
    const error = await pipe.transform({ email: 'a@b.test', x: 1 }, body).catch((e: unknown) => e);
    expect((error as { getResponse(): unknown }).getResponse()).toMatchObject({
      details: { x: ['property x should not exist'] },
    });
  });
});
