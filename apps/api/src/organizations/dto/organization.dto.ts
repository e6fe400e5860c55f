import { HasNoControlCharacters, trimString, IsOmittable } from '@app/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayUnique, IsArray, IsIn, IsString, MaxLength, MinLength } from 'class-validator';
import { Transform } from 'class-transformer';
import { ORGANIZATION_MODULES, type OrganizationModuleName } from '../schemas/organization.schema';

export class OrganizationResponseDto {
  @ApiProperty({ example: '665f1c2b1e6a3e4f7e9d0e0b' })
  id: string;

  @ApiProperty({ example: 'Acme Trading' })
  name: string;

  @ApiProperty({
    enum: ORGANIZATION_MODULES,
    enumName: 'OrganizationModule',
    isArray: true,
    example: ['whatsapp', 'crm'],
    description: 'Enabled modules',
  })
  modules: OrganizationModuleName[];

  @ApiProperty({ example: '2026-01-01T00:00:00.000Z' })
  createdAt: Date;
}

export class UpdateOrganizationDto {
  @ApiPropertyOptional({
    description: 'New organization name',
    example: 'Acme Trading LLC',
    minLength: 1,
    maxLength: 120,
  })
  @IsOmittable()
  @Transform(trimString)
  @IsString()
  @MinLength(1)
  @HasNoControlCharacters()
  @MaxLength(120)
  name?: string;
}

export class UpdateModulesDto {
  @ApiProperty({
    enum: ORGANIZATION_MODULES,
    enumName: 'OrganizationModule',
    isArray: true,
    example: ['whatsapp', 'crm', 'reports'],
    description: 'The complete set of enabled modules',
  })
  @IsArray()
  @ArrayUnique()
  @IsIn(ORGANIZATION_MODULES, {
    each: true,
    message: `each value in modules must be one of: ${ORGANIZATION_MODULES.join(', ')}`,
  })
  modules: OrganizationModuleName[];
}
