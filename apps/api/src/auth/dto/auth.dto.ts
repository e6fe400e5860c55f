import { HasNoControlCharacters, trimEmail, trimString } from '@app/common';
import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsString, MaxLength, MinLength } from 'class-validator';
import { OrganizationResponseDto } from '../../organizations/dto/organization.dto';
import { NewUserFieldsDto, UserResponseDto } from '../../organizations/dto/user.dto';

export class RegisterDto extends NewUserFieldsDto {
  @ApiProperty({
    description: 'Name of the new organization',
    example: 'Acme Trading',
    minLength: 1,
    maxLength: 120,
  })
  @Transform(trimString)
  @IsString()
  @MinLength(1)
  @HasNoControlCharacters()
  @MaxLength(120)
  organizationName: string;
}

export class LoginDto {
  @ApiProperty({ example: 'mona@acme.test' })
  @Transform(trimEmail)
  @IsEmail({}, { message: 'email must be a valid email address' })
  email: string;

  @ApiProperty({ example: 'S3cure-passw0rd' })
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  password: string;
}

export class AuthTokenResponseDto {
  @ApiProperty({
    description: 'JWT to send as `Authorization: Bearer <token>`',
    example: 'eyJhbGciOiJIUzI1NiIs...',
  })
  accessToken: string;

  @ApiProperty({ example: 'Bearer', enum: ['Bearer'] })
  tokenType: 'Bearer';

  @ApiProperty({ description: 'Lifetime of the token in seconds', example: 43200 })
  expiresIn: number;

  @ApiProperty({ type: UserResponseDto })
  user: UserResponseDto;

  @ApiProperty({ type: OrganizationResponseDto })
  organization: OrganizationResponseDto;
}

export class MeResponseDto {
  @ApiProperty({ type: UserResponseDto })
  user: UserResponseDto;

  @ApiProperty({ type: OrganizationResponseDto })
  organization: OrganizationResponseDto;
}
