import { mongo } from 'mongoose';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { type MediaStorage, type OpenedMedia, type RangePicker } from './media-storage';

/** Media in GridFS (bucket `media`), so every gateway instance on the same MongoDB sees it. */
export class GridFsMediaStorage implements MediaStorage {
  private readonly bucket: InstanceType<typeof mongo.GridFSBucket>;

  constructor(db: InstanceType<typeof mongo.Db>) {
    // mongoose's own driver instance: the top-level `mongodb` package may be another version.
    this.bucket = new mongo.GridFSBucket(db, { bucketName: 'media' });
  }

  async put(key: string, data: Buffer | Readable): Promise<number> {
    await this.delete(key); // idempotent re-put after a retried download
    const upload = this.bucket.openUploadStream(key);
    try {
      await pipeline(Buffer.isBuffer(data) ? Readable.from([data]) : data, upload);
    } catch (error) {
      // The chunks written so far would otherwise stay, without a file document.
      await upload.abort().catch(() => undefined);
      throw error;
    }
    return upload.length;
  }

  async open(key: string, pickRange?: RangePicker): Promise<OpenedMedia | null> {
    const file = await this.bucket.find({ filename: key }).limit(1).next();
    if (!file) return null;
    const range = pickRange?.(file.length);
    // GridFS ends are exclusive.
    const bounds = range && { start: range.start, end: range.end + 1 };
    return {
      stream: this.bucket.openDownloadStream(file._id, bounds),
      size: file.length,
      range,
    };
  }

  async read(key: string): Promise<Buffer | null> {
    const opened = await this.open(key);
    return opened ? buffer(opened.stream) : null;
  }

  async delete(key: string): Promise<void> {
    for await (const file of this.bucket.find({ filename: key }))
      await this.bucket.delete(file._id);
  }

  /** A file's uploadDate is when its upload finished (its file document is written last). */
  async *listStoredBefore(before: Date, after = ''): AsyncIterable<string> {
    const files = this.bucket.find(
      { filename: { $gt: after }, uploadDate: { $lt: before } },
      { sort: { filename: 1 }, projection: { filename: 1 } },
    );
    let last: string | undefined;
    for await (const { filename } of files) {
      if (filename !== last) yield filename; // a put under way may briefly hold two
      last = filename;
    }
  }

  async deleteStoredBefore(key: string, before: Date): Promise<boolean> {
    let deleted = false;
    for await (const file of this.bucket.find({ filename: key, uploadDate: { $lt: before } })) {
      await this.bucket.delete(file._id);
      deleted = true;
    }
    return deleted;
  }
}
