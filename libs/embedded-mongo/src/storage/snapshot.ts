import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { deserialize, serialize, type Document } from 'bson';
import { decodeFields, FieldSet, STORED_DOCUMENT_OPTIONS } from './bson-reader';
import type { StorageEngine } from './storage-engine';

const FORMAT = 'embedded-mongo-snapshot';
const FLUSH_BYTES = 4 * 1024 * 1024;

/**
 * The whole store as one file of BSON documents: a header, then per collection a descriptor
 * (name, options, index definitions, document count) followed by its documents, then a trailer.
 * Written to a temporary file, fsynced and renamed, so a crash leaves the previous snapshot intact.
 */
export function writeSnapshot(path: string, storage: StorageEngine): void {
  const temporary = `${path}.tmp`;
  const fd = openSync(temporary, 'w');
  try {
    const writer = new BufferedWriter(fd);
    writer.write(serialize({ format: FORMAT, version: 1, createdAt: new Date() }));
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
    writer.write(serialize({ end: true }));
    writer.flush();
    fsyncSync(fd);
  } finally {
    closeSync(fd);
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
  if (first.done || decode(first.value).format !== FORMAT)
    throw new Error(`embedded-mongo: ${path} is not a snapshot file`);
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

  constructor(private readonly fd: number) {}

  write(buffer: Uint8Array): void {
    this.pending.push(buffer);
    this.pendingBytes += buffer.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }

  flush(): void {
    if (this.pendingBytes === 0) return;
    writeSync(this.fd, Buffer.concat(this.pending, this.pendingBytes));
    this.pending = [];
    this.pendingBytes = 0;
  }
}
