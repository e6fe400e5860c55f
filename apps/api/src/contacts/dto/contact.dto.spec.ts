import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { flattenValidationErrors } from '@app/common';
import { CreateCustomerDto } from '../../customers/dto/customer.dto';
import { ListContactsQueryDto, UpdateContactDto } from './contact.dto';

function check<T extends object>(
  cls: new () => T,
  plain: object,
): { value: T; errors: Record<string, string[]> } {
  const value = plainToInstance(cls, plain);
  const errors = flattenValidationErrors(
    validateSync(value, { whitelist: true, forbidNonWhitelisted: true }),
  );
  return { value, errors };
}

describe('UpdateContactDto', () => {
  it('normalizes tags before validating them (so 20 distinct tags after de-duplication pass)', () => {
    const many = Array.from({ length: 20 }, (_, i) => `Tag${i}`);
    const { value, errors } = check(UpdateContactDto, { tags: [...many, 'TAG0', ' tag1 '] });
    expect(errors).toEqual({});
    expect(value.tags).toHaveLength(20);
    expect(value.tags?.[0]).toBe('tag0');
  });

  it('rejects empty or over-long tags and malformed customer ids; the counts are checked by the service (limitViolations)', () => {
    const { errors } = check(UpdateContactDto, {
      tags: Array.from({ length: 21 }, (_, i) => `t${i}`),
      notes: 'x'.repeat(2001),
      customerId: 'not-an-id',
    });
    expect(Object.keys(errors).sort()).toEqual(['customerId']);
    expect(check(UpdateContactDto, { tags: ['ok', 'x'.repeat(33)] }).errors.tags).toBeDefined();
    expect(check(UpdateContactDto, { tags: 'vip' }).errors.tags).toBeDefined();
    expect(check(UpdateContactDto, { tags: ['ok', '  '] }).errors.tags).toBeDefined();
    expect(check(UpdateContactDto, { name: '   ' }).errors.name).toBeDefined();
  });

  it('accepts null to clear name, notes and the customer link', () => {
    const { value, errors } = check(UpdateContactDto, {
      name: null,
      notes: null,
      customerId: null,
    });
    expect(errors).toEqual({});
    expect(value).toMatchObject({ name: null, notes: null, customerId: null });
  });
});

describe('ListContactsQueryDto', () => {
  it('parses booleans and pagination from query strings', () => {
    const { value, errors } = check(ListContactsQueryDto, {
      hasCustomer: 'false',
      isGroup: 'true',
      page: '2',
      limit: '5',
      tag: ' VIP ',
    });
    expect(errors).toEqual({});
    expect(value).toMatchObject({
      hasCustomer: false,
      isGroup: true,
      page: 2,
      limit: 5,
      tag: 'vip',
    });
    expect(check(ListContactsQueryDto, { hasCustomer: 'maybe' }).errors.hasCustomer).toBeDefined();
    expect(check(ListContactsQueryDto, { limit: '101' }).errors.limit).toBeDefined();
    expect(
      check(ListContactsQueryDto, { sessionName: 'bad name!' }).errors.sessionName,
    ).toBeDefined();
  });
});

describe('CreateCustomerDto', () => {
  it('accepts common phone notations and rejects the rest', () => {
    expect(check(CreateCustomerDto, { name: 'Mona', phone: '+20 100 123 4567' }).errors).toEqual(
      {},
    );
    expect(check(CreateCustomerDto, { name: 'Mona', phone: '00201001234567' }).errors).toEqual({});
    expect(
      Object.keys(check(CreateCustomerDto, { name: '', phone: '12', email: 'x' }).errors).sort(),
    ).toEqual(['email', 'name', 'phone']);
  });
});
