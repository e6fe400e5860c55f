import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

export const MAX_PAGE_LIMIT = 100;
/** Deep enough for 10 million items at the largest limit; past it, a number is a mistake. */
export const MAX_PAGE = 100_000;

/**
 * A query integer written in plain decimal digits; anything else (`0x10`, `1e1`, ` 2`, `2.0`) is
 * left as text for `@IsInt` to refuse, where `Number()` would have read it as some number.
 */
export const queryInteger = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value;

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
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE)
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
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_LIMIT)
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
