import type { OpenAPIObject } from '@nestjs/swagger';
import { ArrayMaxSize, IsIn, IsInt, IsOptional, Matches, MaxLength, Min } from 'class-validator';
import { IsQueryInteger } from '@app/common';
import { documentValidationLimits, validationLimits } from './document-validation-limits';

class BaseQueryDto {
  @IsOptional()
  @IsQueryInteger(1, 100)
  limit?: number;
}

class ThingsQueryDto extends BaseQueryDto {
  @IsOptional()
  @Matches(/^[a-z]{1,8}$/)
  @MaxLength(8)
  name?: string;

  @IsOptional()
  @Matches(/^x$/i) // a flag JSON Schema patterns cannot say
  code?: string;

  @IsOptional()
  @ArrayMaxSize(2)
  @IsIn(['a', 'b'], { each: true })
  kinds?: string[];
}

/** Its schema is found by name: the class itself is never referred to. */
export class ThingBodyDto {
  @IsInt()
  @Min(0)
  revision!: number;
}

describe('validationLimits', () => {
  it('states every limit of a DTO as a JSON Schema keyword, its parents’ included', () => {
    const limits = validationLimits(ThingsQueryDto).map(({ property, keyword, value, onItems }) => [
      property,
      keyword,
      value,
      onItems,
    ]);
    expect(limits).toEqual(
      expect.arrayContaining([
        ['limit', 'type', 'integer', false],
        ['limit', 'minimum', 1, false],
        ['limit', 'maximum', 100, false],
        ['name', 'pattern', '^[a-z]{1,8}$', false],
        ['name', 'maxLength', 8, false],
        ['kinds', 'maxItems', 2, false],
        ['kinds', 'enum', ['a', 'b'], true],
      ]),
    );
    expect(limits.filter(([property]) => property === 'code')).toEqual([]);
  });
});

describe('documentValidationLimits', () => {
  const document = () =>
    ({
      openapi: '3.0.0',
      info: { title: 't', version: '1' },
      paths: {
        '/things': {
          get: {
            operationId: 'things_list',
            parameters: [
              { in: 'query', name: 'limit', schema: { type: 'integer', maximum: 100 } },
              { in: 'query', name: 'name', schema: { type: 'string' } },
              { in: 'query', name: 'kinds', schema: { type: 'array', items: { $ref: '#/x' } } },
            ],
            responses: {},
          },
        },
      },
      components: {
        schemas: { ThingBodyDto: { type: 'object', properties: { revision: { type: 'number' } } } },
      },
    }) as unknown as OpenAPIObject;

  it('adds the limits a query DTO enforces to its operation’s parameters, keeping stated ones', () => {
    const doc = documentValidationLimits(document(), new Map([['things_list', ThingsQueryDto]]));
    const [limit, name, kinds] = (doc.paths['/things'].get!.parameters ?? []) as unknown as Array<{
      schema: Record<string, unknown>;
    }>;
    expect(limit.schema).toEqual({ type: 'integer', minimum: 1, maximum: 100 });
    expect(name.schema).toEqual({ type: 'string', pattern: '^[a-z]{1,8}$', maxLength: 8 });
    // Never beside a reference: the named enum states its values.
    expect(kinds.schema).toEqual({ type: 'array', items: { $ref: '#/x' }, maxItems: 2 });
  });

  it('adds them to the schema named like a body DTO; a type stated differently is left to the check', () => {
    const doc = documentValidationLimits(document(), new Map());
    expect(doc.components!.schemas!.ThingBodyDto).toEqual({
      type: 'object',
      properties: { revision: { type: 'number', minimum: 0 } },
    });
    expect(doc.paths['/things'].get!.parameters![1]).toEqual({
      in: 'query',
      name: 'name',
      schema: { type: 'string' },
    });
  });
});
