import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { trimString } from './trim';

/**
 * No C0 control character but tab and line breaks (whitespace, as searches normalize it), no DEL:
 * a NUL cannot even be sent to MongoDB inside a pattern.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const NO_CONTROL_CHARACTERS = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$/;

/**
 * An optional `search` query parameter: 1-100 characters without control characters, trimmed
 * unless `trim: false` (a substring search where a leading space means a word start).
 */
export function SearchQuery(options: { trim?: boolean } = {}): PropertyDecorator {
  return applyDecorators(
    IsOptional(),
    ...(options.trim === false ? [] : [Transform(trimString)]),
    IsString(),
    MinLength(1),
    MaxLength(100),
    Matches(NO_CONTROL_CHARACTERS, { message: '$property must not contain control characters' }),
  );
}
