import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional, ValidateBy, type ValidationArguments } from 'class-validator';

export const MAX_PAGE_LIMIT = 100;
/** Deep enough for 10 million items at the largest limit; past it, a number is a mistake. */
export const MAX_PAGE = 100_000;

/**
 * A query integer written in plain decimal digits; anything else (`0x10`, `1e1`, ` 2`, `2.0`) is
 * left as text for `@IsInt` to refuse, where `Number()` would have read it as some number.
 */
export const queryInteger = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value;

/**
 * An integer in [min, max], with one message for what is wrong: IsInt + Min + Max each judged a
 * `0x10` left as text, and answered all three, "must not be greater than 100000" and "must not be
 * less than 1" together.
 */
export function IsQueryInteger(min: number, max: number): PropertyDecorator {
  const problem = ({ value, property }: ValidationArguments) => {
    if (typeof value !== 'number' || !Number.isInteger(value))
      return `${property} must be an integer written in decimal digits`;
    if (value < min) return `${property} must not be less than ${min}`;
    if (value > max) return `${property} must not be greater than ${max}`;
    return undefined;
  };
  return ValidateBy({
    name: 'isQueryInteger',
    constraints: [min, max],
    validator: {
      validate: (_value: unknown, args?: ValidationArguments) => problem(args!) === undefined,
      defaultMessage: (args?: ValidationArguments) => problem(args!) ?? '',
    },
  });
}

/** `page` ≥ 1 and 1 ≤ `limit` ≤ 100 (default 20), as DESIGN.md fixes for every list route. */
export class PaginationQueryDto {
  @ApiPropertyOptional({
    description: 'Page number, starting at 1',
    type: 'integer',
    minimum: 1,
    maximum: MAX_PAGE,
    default: 1,
    example: 1,
  })
  @IsOptional()
  @Transform(queryInteger)
  @IsQueryInteger(1, MAX_PAGE)
  page: number = 1;

  @ApiPropertyOptional({
    description: 'Items per page',
    type: 'integer',
    minimum: 1,
    maximum: MAX_PAGE_LIMIT,
    default: 20,
    example: 20,
  })
  @IsOptional()
  @Transform(queryInteger)
  @IsQueryInteger(1, MAX_PAGE_LIMIT)
  limit: number = 20;
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  limit: number;
}

export function skipFor(query: { page: number; limit: number }): number {
  return (query.page - 1) * query.limit;
}
