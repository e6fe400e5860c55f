import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class ErrorResponseDto {
  @ApiProperty({ description: 'HTTP status code', example: 400 })
  statusCode: number;

  @ApiProperty({ description: 'HTTP status text', example: 'Bad Request' })
  error: string;

  @ApiPropertyOptional({
    description: 'Stable machine-readable error code',
    example: 'VALIDATION_FAILED',
  })
  code?: string;

  @ApiProperty({ description: 'Human-readable summary', example: 'Validation failed' })
  message: string;

  @ApiPropertyOptional({
    description: 'Extra detail, e.g. per-field validation messages',
    example: { email: ['email must be an email'] },
  })
  details?: unknown;

  @ApiProperty({
    description: 'Request id (also in the X-Request-Id header)',
    example: '4f1c2b1e-6a3e-4f7e-9d0e-0b8f0a1d2c3b',
  })
  requestId: string;
}

/** The Retry-After header of a 429, a 503 or a 409 that clears by itself, for `headers` in Swagger decorators. */
export const RETRY_AFTER_HEADER = {
  description: 'Seconds to wait before trying again',
  schema: { type: 'integer', minimum: 1 },
} as const;
