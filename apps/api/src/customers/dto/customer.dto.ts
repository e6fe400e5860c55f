import {
  HasNoControlCharacters,
  IsOmittable,
  normalizePhone,
  PaginationQueryDto,
  PHONE_PATTERN,
  SearchQuery,
  trimEmail,
  trimString,
} from '@app/common';
import { ApiProperty, ApiPropertyOptional, OmitType, PartialType } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsEmail,
  IsOptional,
  IsString,
  MaxLength,
  MinLength,
  ValidateBy,
  type ValidationOptions,
} from 'class-validator';

/**
 * A phone in any common notation ("+20 100 123 4567", "00201001234567") that normalizes to an
 * international number (PHONE_PATTERN: 10-15 digits, country code first, so no leading 0).
 */
export function IsNormalizablePhone(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isNormalizablePhone',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' && PHONE_PATTERN.test(normalizePhone(value) ?? ''),
        defaultMessage: () =>
          '$property must be a phone number with country code (10-15 digits, not starting with 0, optional + or 00 prefix)',
      },
    },
    options,
  );
}

/** The phone as typed: 15 digits with a 00 prefix, separated and grouped, fit with room to spare. */
const PHONE_INPUT_MAX_LENGTH = 40;

export class CreateCustomerDto {
  @ApiProperty({ description: 'Customer name', example: 'Mona Ali', minLength: 1, maxLength: 120 })
  @Transform(trimString)
  @IsString()
  @MinLength(1)
  @HasNoControlCharacters()
  @MaxLength(120)
  name: string;

  @ApiPropertyOptional({
    description:
      'Phone with country code; spaces, dashes, parentheses, a leading + or 00 are accepted and normalized to digits (at most 40 characters as typed)',
    example: '+20 100 123 4567',
    maxLength: PHONE_INPUT_MAX_LENGTH,
    type: String,
    nullable: true,
  })
  @IsOptional() // null: none, as the customer reads back
  @Transform(trimString)
  @MaxLength(PHONE_INPUT_MAX_LENGTH) // stored as typed (phoneInput) next to the digits
  @IsNormalizablePhone()
  phone?: string | null;

  @ApiPropertyOptional({
    description: 'Email address',
    example: 'mona@example.com',
    maxLength: 254,
    type: String,
    nullable: true,
  })
  @IsOptional() // null: none, as the customer reads back
  @Transform(trimEmail)
  @IsEmail({}, { message: 'email must be a valid email address' })
  @MaxLength(254)
  email?: string | null;
}

/** Fields left out stay as they are; `phone` or `email` null removes it. */
export class UpdateCustomerDto extends PartialType(OmitType(CreateCustomerDto, ['name'] as const)) {
  @ApiPropertyOptional({
    description: 'Customer name',
    example: 'Mona Ali',
    minLength: 1,
    maxLength: 120,
  })
  @IsOmittable() // a customer always has a name: null is refused
  @Transform(trimString)
  @IsString()
  @MinLength(1)
  @HasNoControlCharacters()
  @MaxLength(120)
  name?: string;
}

export class ListCustomersQueryDto extends PaginationQueryDto {
  @ApiPropertyOptional({
    description:
      'Case-insensitive prefix of the name (or of any later word in it: words start after a space, hyphen, apostrophe or other punctuation), of the email, or phone digits: anywhere in the number from 4 digits on (its last four, say), its start below that or after `+`',
    example: 'mona',
    maxLength: 100,
  })
  @SearchQuery()
  search?: string;
}

export class CustomerResponseDto {
  @ApiProperty({ description: 'Customer id', example: '665f1c2b1e6a3e4f7e9d0e0d' })
  id: string;

  @ApiProperty({ description: 'Customer name', example: 'Mona Ali' })
  name: string;

  @ApiProperty({
    description: 'Phone as E.164 digits without +',
    example: '201001234567',
    nullable: true,
    type: String,
  })
  phone: string | null;

  @ApiProperty({
    description: 'Email address (lower-cased)',
    example: 'mona@example.com',
    nullable: true,
    type: String,
  })
  email: string | null;

  @ApiProperty({ description: 'Creation time', example: '2026-01-01T00:00:00.000Z' })
  createdAt: Date;

  @ApiProperty({ description: 'Last update time', example: '2026-01-01T00:00:00.000Z' })
  updatedAt: Date;
}

export class CustomerPageDto {
  @ApiProperty({ description: 'Customers on this page', type: [CustomerResponseDto] })
  items: CustomerResponseDto[];

  @ApiProperty({ description: 'Customers matching the filters', example: 42 })
  total: number;

  @ApiProperty({ description: 'Page number', example: 1 })
  page: number;

  @ApiProperty({ description: 'Page size', example: 20 })
  limit: number;
}
