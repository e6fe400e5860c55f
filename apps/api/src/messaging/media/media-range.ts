import parseRange from 'range-parser';
import { DomainError } from '@app/common';
import type { ByteRange } from './media-storage';

export class RangeNotSatisfiableError extends DomainError {
  constructor(size: number) {
    super('RANGE_NOT_SATISFIABLE', `The requested range is outside the media's ${size} bytes`, 416);
    this.headers = { 'Content-Range': `bytes */${size}` };
  }
}

/**
 * The one byte range a GET asks for (`Range: bytes=…`), when it asks for one we serve: the whole
 * media otherwise (RFC 9110 §14.2 lets a server ignore Range). A malformed header, another unit
 * or several ranges get the whole media (no multipart answers); a range past the end is a 416.
 * `If-Range` is answered with the whole media: the media route sends no validators to match it.
 */
export function requestedRange(
  headers: { range?: string; 'if-range'?: string },
  size: number,
): ByteRange | undefined {
  if (!headers.range || headers['if-range'] !== undefined) return undefined;
  if (hasReversedRange(headers.range)) return undefined; // invalid (RFC 9110 §14.1.1), not unsatisfiable
  const parsed = parseRange(size, headers.range, { combine: true });
  if (parsed === -1) throw new RangeNotSatisfiableError(size);
  if (parsed === -2 || parsed.type !== 'bytes' || parsed.length !== 1) return undefined;
  const [{ start, end }] = parsed;
  return start === 0 && end === size - 1 ? undefined : { start, end };
}

/** A `first-last` range whose last byte comes before its first, which makes the header invalid. */
function hasReversedRange(header: string): boolean {
  return header
    .replace(/^\s*bytes\s*=/i, '')
    .split(',')
    .some((spec) => {
      const match = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(spec);
      return match !== null && Number(match[2]) < Number(match[1]);
    });
}
