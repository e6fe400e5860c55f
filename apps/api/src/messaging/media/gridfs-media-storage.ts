import { mongo } from 'mongoose';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import {
  MediaGoneError,
  type MediaStorage,
  type OpenedMedia,
  type RangePicker,
  type UnfinishedSweep,
} from './media-storage';

/** Upload ids whose file documents are looked up together. */
const BATCH = 200;
/**
 * Chunk ids one look for writes a crash cut off reads, at most (about 5 GB of media in 255 KB
 * chunks); the next goes on after them.
 */
const UNFINISHED_CHUNKS_PER_CALL = 20_000;

/**
 * The `length` bytes of a download, or a MediaGoneError when the file was deleted after it was
 * looked up: the driver then fails with FileNotFound (the file document gone before the download
 * read it) or ChunkIsMissing, or simply ends early (the chunks gone after it read the file
 * document), which would serve a short body under the full Content-Length.
 */
async function* whole(download: Readable, length: number, key: string): AsyncGenerator<Buffer> {
  let read = 0;
  try {
    for await (const chunk of download) {
      read += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
  } catch (error) {
    throw isDeletedMeanwhile(error) ? new MediaGoneError(key) : error;
  } finally {
    download.destroy(); // a consumer gone early (a client disconnected) ends the download
  }
  if (read < length) throw new MediaGoneError(key);
}

function isDeletedMeanwhile(error: unknown): boolean {
  if ((error as { code?: unknown })?.code === 'ENOENT') return true; // FileNotFound
  return error instanceof mongo.MongoGridFSChunkError && error.message.startsWith('ChunkIsMissing');
}

/** Media in GridFS (bucket `media`), so every gateway instance on the same MongoDB sees it. */
export class GridFsMediaStorage implements MediaStorage {
  private readonly bucket: InstanceType<typeof mongo.GridFSBucket>;
  private readonly files: InstanceType<typeof mongo.Collection>;
  private readonly chunks: InstanceType<typeof mongo.Collection>;

  constructor(
    db: InstanceType<typeof mongo.Db>,
    private readonly unfinishedChunksPerCall = UNFINISHED_CHUNKS_PER_CALL,
  ) {
    // mongoose's own driver instance: the top-level `mongodb` package may be another version.
    this.bucket = new mongo.GridFSBucket(db, { bucketName: 'media' });
    this.files = db.collection('media.files');
    this.chunks = db.collection('media.chunks');
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
    const download = this.bucket.openDownloadStream(file._id, bounds);
    const length = range ? range.end - range.start + 1 : file.length;
    return { stream: Readable.from(whole(download, length, key)), size: file.length, range };
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

  /**
   * Chunks without their file document: an upload writes its file document last, a delete first,
   * so a crash in between leaves them. Ids are dated when made: an upload's when it begins, a
   * chunk's when written; one with a chunk written since `before` may still be under way. Reads
   * the upload ids of at most `unfinishedChunksPerCall` chunks (the chunks index holds them), in
   * order from after `after`: a store of any size costs each call the same.
   */
  async deleteUnfinishedBefore(before: Date, after?: string): Promise<UnfinishedSweep> {
    const cutoff = mongo.ObjectId.createFromTime(Math.floor(before.getTime() / 1000));
    const range =
      after && mongo.ObjectId.isValid(after)
        ? { $gt: new mongo.ObjectId(after), $lt: cutoff }
        : { $lt: cutoff };
    const chunks = this.chunks.find(
      { files_id: range },
      {
        sort: { files_id: 1 },
        projection: { _id: 0, files_id: 1 },
        limit: this.unfinishedChunksPerCall,
      },
    );
    let read = 0;
    let deleted = 0;
    let batch: Array<InstanceType<typeof mongo.ObjectId>> = [];
    let last: InstanceType<typeof mongo.ObjectId> | undefined;
    for await (const { files_id: id } of chunks) {
      read += 1;
      if (last?.equals(id)) continue;
      last = id;
      batch.push(id);
      if (batch.length < BATCH) continue;
      deleted += await this.deleteChunksWithoutFile(batch, cutoff);
      batch = [];
    }
    deleted += await this.deleteChunksWithoutFile(batch, cutoff);
    // Fewer than asked for: past the last upload begun before the cutoff.
    return read < this.unfinishedChunksPerCall || !last
      ? { deleted }
      : { deleted, next: last.toHexString() };
  }

  private async deleteChunksWithoutFile(
    ids: Array<InstanceType<typeof mongo.ObjectId>>,
    cutoff: InstanceType<typeof mongo.ObjectId>,
  ): Promise<number> {
    if (!ids.length) return 0;
    const files = await this.files.distinct('_id', { _id: { $in: ids } });
    const withoutFile = ids.filter((id) => !files.some((file) => id.equals(file)));
    if (!withoutFile.length) return 0;
    const written = await this.chunks.distinct('files_id', {
      files_id: { $in: withoutFile },
      _id: { $gte: cutoff },
    });
    const unfinished = withoutFile.filter((id) => !written.some((w) => id.equals(w)));
    if (unfinished.length) await this.chunks.deleteMany({ files_id: { $in: unfinished } });
    return unfinished.length;
  }
}
