import type { Readable } from 'node:stream';
import { ByteCap } from '@app/common';
import { MediaExceedsLimitError } from '../errors';

/**
 * The byte cap every engine puts on a media download. Passing it destroys `source` too, so the
 * download stops instead of running on into nothing.
 */
export function capped(maxBytes: number, source: Readable): ByteCap {
  const cap = new ByteCap(maxBytes, () => new MediaExceedsLimitError(maxBytes));
  cap.once('error', () => source.destroy());
  // .pipe() does not forward a source's error; the reader sees it on the cap.
  source.once('error', (error) => cap.destroy(error));
  return cap;
}
