import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { deserialize, serialize, type Document } from 'bson';
import { decodeFields, FieldSet, STORED_DOCUMENT_OPTIONS } from './bson-reader';
import type { StorageEngine } from './storage-engine';

const FORMAT = 'embedded-mongo-snapshot';
/** Version 2 adds the CRC-32 of the file to its end marker; version 1 files load unchecked. */
const VERSION = 2;
const FLUSH_BYTES = 4 * 1024 * 1024;

/**
 * The whole store as one file of BSON documents: a header, then per collection a descriptor
 * (name, options, index definitions, document count) followed by its documents, then an end
 * marker holding the CRC-32 of every byte before it. Written to a temporary file, fsynced and
 * renamed, so a crash leaves the previous snapshot intact.
 */
export function writeSnapshot(path: string, storage: StorageEngine): void {
  const temporary = `${path}.tmp`;
  const fd = openSync(temporary, 'w');
  let complete = false;
  try {
    const writer = new BufferedWriter(fd);
    writer.write(serialize({ format: FORMAT, version: VERSION, createdAt: new Date() }));
    for (const collection of storage.allCollections()) {
      writer.write(
        serialize({
          collection: {
            db: collection.db,
            coll: collection.name,
            options: collection.options,
            indexes: collection.indexSpecs().slice(1),
            count: collection.count,
          },
        }),
      );
      // Documents are kept as BSON already: their bytes go to the file as they are.
      for (const bytes of collection.rawDocuments()) writer.write(bytes);
    }
    writer.flush();
    writer.write(serialize({ end: true, crc32: writer.checksum }));
    writer.flush();
    fsyncSync(fd);
    complete = true;
  } finally {
    closeSync(fd);
    // A partial file (a full disk) would only hold on to the space the next attempt needs.
    if (!complete) rmSync(temporary, { force: true });
  }
  renameSync(temporary, path);
  syncDirectory(dirname(path));
}

/** Loads a snapshot into the engine (through replayable operations); absent file = empty store. */
export function readSnapshot(path: string, storage: StorageEngine): void {
  if (!existsSync(path)) return;
  const data = readFileSync(path);
  const documents = splitDocuments(data);
  const decode = (bytes: Buffer) => deserialize(bytes, STORED_DOCUMENT_OPTIONS);
  const first = documents.next();
  const header = first.done ? undefined : decode(first.value);
  if (header?.format !== FORMAT) throw new Error(`embedded-mongo: ${path} is not a snapshot file`);
  verifyChecksum(path, data, Number(header.version) >= 2);
  for (let entry = documents.next(); !entry.done; entry = documents.next()) {
    const descriptor = decode(entry.value);
    if (descriptor.end) return;
    const { db, coll, options, indexes, count } = descriptor.collection as Document;
    storage.apply({ op: 'createCollection', db, coll, options });
    for (const spec of indexes) storage.apply({ op: 'createIndex', db, coll, spec });
    // The store keeps the bytes; of each document only what its index keys need is decoded.
    const fields = storage.getCollection(db, coll)?.keyFields();
    const keyFields = fields && new FieldSet(fields);
    for (let i = 0; i < count; i++) {
      const document = documents.next();
      if (document.done) break;
      const bytes = document.value;
      const doc = keyFields ? decodeFields(bytes, keyFields) : decode(bytes);
      storage.apply({ op: 'put', db, coll, doc, bytes });
    }
  }
  throw new Error(`embedded-mongo: snapshot ${path} is truncated (no end marker)`);
}

/**
 * Compares the CRC-32 in the end marker with the bytes before it, before anything is loaded: a
 * damaged snapshot must stop the start, not be served (and compacted into the next one). A
 * version 1 file has none (`required` false): it loads as before and gets one when rewritten.
 */
function verifyChecksum(path: string, data: Buffer, required: boolean): void {
  let endAt = -1;
  for (let offset = 0; offset + 4 <= data.length;) {
    const size = data.readInt32LE(offset);
    if (size < 5 || offset + size > data.length) break;
    endAt = offset;
    offset += size;
  }
  let expected: unknown;
  try {
    const end = deserialize(data.subarray(endAt));
    expected = end.end === true ? end.crc32 : undefined;
  } catch {
    expected = undefined;
  }
  if (expected === undefined) {
    if (!required) return;
    throw new Error(`embedded-mongo: snapshot ${path} is truncated (no end marker)`);
  }
  const actual = crc32(data.subarray(0, endAt));
  if (actual !== expected)
    throw new Error(
      `embedded-mongo: snapshot ${path} fails its checksum (CRC-32 ${actual}, recorded ` +
        `${String(expected)}): the file is damaged, so the store will not start rather than ` +
        `serve corrupted data. The file was not changed; restore the data directory from a backup.`,
    );
}

/** The bytes of each document in the file (the store keeps them instead of re-serializing). */
function* splitDocuments(data: Buffer): Generator<Buffer> {
  for (let offset = 0; offset + 4 <= data.length;) {
    const size = data.readInt32LE(offset);
    if (offset + size > data.length) return;
    yield data.subarray(offset, offset + size);
    offset += size;
  }
}

function syncDirectory(directory: string): void {
  const fd = openSync(directory, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Groups small writes into multi-megabyte ones; one syscall per document would dominate. */
class BufferedWriter {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** CRC-32 of everything flushed so far. */
  checksum = 0;

  constructor(private readonly fd: number) {}

  write(buffer: Uint8Array): void {
    this.pending.push(buffer);
    this.pendingBytes += buffer.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }

  flush(): void {
    if (this.pendingBytes === 0) return;
    const chunk = Buffer.concat(this.pending, this.pendingBytes);
    this.checksum = crc32(chunk, this.checksum);
    // A filling disk writes part of a chunk and returns the short count; the next write fails.
    for (let written = 0; written < chunk.length;)
      written += writeSync(this.fd, chunk, written, chunk.length - written);
    this.pending = [];
    this.pendingBytes = 0;
  }
}
