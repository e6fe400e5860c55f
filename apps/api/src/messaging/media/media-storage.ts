import type { Readable } from 'node:stream';

export const MEDIA_STORAGE = Symbol('MEDIA_STORAGE');

/**
 * What an opened media stream fails with when its bytes were deleted while it was being read (a
 * failed send's media discarded, a sweep): the media is gone, not the storage broken.
 */
export class MediaGoneError extends Error {
  constructor(key: string) {
    super(`Media ${key} was deleted while it was being read`);
    this.name = 'MediaGoneError';
  }
}

/** Where message media bytes live: DATA_DIR files with the embedded store, GridFS with a real MongoDB. */
/** Bytes `start` to `end`, both included (as in an HTTP Range). */
export interface ByteRange {
  start: number;
  end: number;
}

/** Picks the bytes to read once the size is known; undefined = all of them. */
export type RangePicker = (size: number) => ByteRange | undefined;

export interface OpenedMedia {
  stream: Readable;
  /** The whole size, whatever the range. */
  size: number;
  /** The bytes `stream` holds, when a range was picked. */
  range?: ByteRange;
}

export interface UnfinishedSweep {
  deleted: number;
  next?: string;
}

export interface MediaStorage {
  /**
   * Stores the bytes under `key`, replacing what was there; a stream is written as it arrives,
   * never held whole. All or nothing: a stream that fails leaves nothing stored under the key.
   * Resolves to the number of bytes stored.
   */
  put(key: string, data: Buffer | Readable): Promise<number>;
  /**
   * The stored bytes and their whole size; only the range `pickRange` picks once the size is
   * known, when it picks one. null when the key is unknown.
   */
  open(key: string, pickRange?: RangePicker): Promise<OpenedMedia | null>;
  read(key: string): Promise<Buffer | null>;
  delete(key: string): Promise<void>;
  /**
   * The keys whose bytes were stored before `before`, in key order, those after `after` only (for
   * the orphan sweep, a batch at a time). A key stored while the listing runs may be left out.
   */
  listStoredBefore(before: Date, after?: string): AsyncIterable<string>;
  /**
   * Deletes the key's bytes if they were stored before `before`: bytes stored again since (a
   * download retried) stay. Resolves to whether anything was deleted.
   */
  deleteStoredBefore(key: string, before: Date): Promise<boolean>;
  /**
   * Deletes what writes a crash cut off left (they are no keys, and nothing else removes them):
   * those last written before `before` (one still being written stays). A call may look at a
   * bounded part of the store only, from after `after` (the `next` an earlier call answered).
   * Resolves to how many such writes were deleted, and where the next call goes on (none: from
   * the start again).
   */
  deleteUnfinishedBefore(before: Date, after?: string): Promise<UnfinishedSweep>;
}
