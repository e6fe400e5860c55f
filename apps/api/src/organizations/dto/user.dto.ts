import {
  HasNoControlCharacters,
  trimEmail,
  trimString,
  PHONE_PATTERN,
  IsOmittable,
} from '@app/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsEmail, IsIn, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { USER_ROLES, type UserRole } from '../schemas/user.schema';

export class UserResponseDto {
  @ApiProperty({ example: '665f1c2b1e6a3e4f7e9d0e0c' })
  id: string;

  @ApiProperty({ example: '665f1c2b1e6a3e4f7e9d0e0b' })
  organizationId: string;

  @ApiProperty({ example: 'Mona Ali' })
  name: string;

  @ApiProperty({ example: 'mona@acme.test' })
  email: string;

  @ApiPropertyOptional({ example: '+201001234567' })
  phone?: string;

  @ApiProperty({ enum: USER_ROLES, enumName: 'UserRole', example: 'owner' })
  role: UserRole;

  @ApiProperty({ example: false })
  disabled: boolean;

  @ApiProperty({ example: '2026-01-01T00:00:00.000Z' })
  createdAt: Date;
}

/** Shared rules of a new user's identity (register and invite). */
export class NewUserFieldsDto {
  @ApiProperty({ description: 'Full name', example: 'Mona Ali', minLength: 1, maxLength: 120 })
  @Transform(trimString)
  @IsString()
  @MinLength(1)
  @HasNoControlCharacters()
  @MaxLength(120)
  name: string;

  @ApiProperty({ description: 'Login email (case-insensitive, unique)', example: 'mona@acme.test' })
  @Transform(trimEmail)
  @IsEmail({}, { message: 'email must be a valid email address' })
  @MaxLength(254)
  email: string;

  @ApiPropertyOptional({
    description: 'Phone number, 10-15 digits (the first not 0) with an optional +',
    example: '+201001234567',
  })
  @IsOmittable()
  @Transform(trimString)
  @Matches(PHONE_PATTERN, {
    message: 'phone must be 10-15 digits, the first not 0, with an optional leading +',
  })
  phone?: string;

  @ApiProperty({
    description: 'At least 8 characters',
    example: 'S3cure-passw0rd',
    minLength: 8,
    maxLength: 128,
  })
  @IsString()
  @MinLength(8, { message: 'password must be at least 8 characters' })
  @MaxLength(128)
  password: string;
}

export const INVITABLE_ROLES = ['admin', 'member'] as const;

export class CreateUserDto extends NewUserFieldsDto {
  @ApiProperty({
    enum: INVITABLE_ROLES,
    enumName: 'InvitableUserRole',
    example: 'member',
    description: 'Only owners may create admins',
  })
  @IsIn(INVITABLE_ROLES, { message: 'role must be one of: admin, member' })
  role: (typeof INVITABLE_ROLES)[number];
}

export class UpdateUserDto {
  @ApiPropertyOptional({ enum: USER_ROLES, enumName: 'UserRole', example: 'admin' })
  @IsOmittable()
  @IsIn(USER_ROLES, { message: 'role must be one of: owner, admin, member' })
  role?: UserRole;

  @ApiPropertyOptional({ example: true })
  @IsOmittable()
  @IsBoolean()
  disabled?: boolean;
}
