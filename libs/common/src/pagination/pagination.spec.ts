import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { PaginationQueryDto } from './pagination';

const messages = (query: Record<string, string>) =>
  Object.fromEntries(
    validateSync(plainToInstance(PaginationQueryDto, query)).map((e) => [
      e.property,
      Object.values(e.constraints ?? {}),
    ]),
  );

describe('PaginationQueryDto', () => {
  it('reads page and limit written in plain decimal digits', () => {
    const dto = plainToInstance(PaginationQueryDto, { page: '3', limit: '07' });
    expect(validateSync(dto)).toEqual([]);
    expect(dto).toMatchObject({ page: 3, limit: 7 });
    expect(plainToInstance(PaginationQueryDto, {})).toMatchObject({ page: 1, limit: 20 });
  });

  it('says once what is wrong with a value that is no decimal integer, not that it is out of range', () => {
    // Each used to get all three messages, two of them contradictory: "must not be greater than
    // 100000", "must not be less than 1", "must be an integer number".
    for (const value of ['0x10', '1e1', '2.0', ' 2', '-1', 'abc', '99999999999999999999'])
      expect(messages({ page: value })).toEqual({
        page: ['page must be an integer written in decimal digits'],
      });
    expect(messages({ limit: '0x10' })).toEqual({
      limit: ['limit must be an integer written in decimal digits'],
    });
  });

  it('names the bound a decimal integer is past', () => {
    expect(messages({ page: '0' })).toEqual({ page: ['page must not be less than 1'] });
    expect(messages({ page: '100001' })).toEqual({
      page: ['page must not be greater than 100000'],
    });
    expect(messages({ limit: '0', page: '1' })).toEqual({
      limit: ['limit must not be less than 1'],
    });
    expect(messages({ limit: '101' })).toEqual({ limit: ['limit must not be greater than 100'] });
  });
});
