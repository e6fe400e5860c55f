import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  writeSync,
} from 'node:fs';
import { crc32 } from 'node:zlib';
import { deserialize, serialize, type Document } from 'bson';

const RECORD_HEADER = 8; // payload length (u32) + CRC-32 of the payload (u32)

export interface JournalContents {
  /** Operations of every intact record, in order. */
  operations: Document[];
  /** Bytes of a torn or corrupt tail that were cut off. */
  discardedBytes: number;
}

export interface JournalOpenOptions {
  /**
   * Cut the journal at a corrupt record even though intact records follow it (they are lost).
   * Without it, such a journal refuses to open.
   */
  truncateCorruption?: boolean;
}

/**
 * Append-only log. One record per committed command: length + CRC32 + the command's operations
 * as consecutive BSON documents. A record that was cut short by a crash fails its length or CRC
 * check and is truncated away on open. A bad record that intact ones follow is not a crash's
 * torn tail but damage to acknowledged writes: the journal then refuses to open (see
 * JournalOpenOptions.truncateCorruption).
 */
export class Journal {
  private constructor(
    private readonly fd: number,
    private bytes: number,
  ) {}

  static open(
    path: string,
    options: JournalOpenOptions = {},
  ): { journal: Journal; contents: JournalContents } {
    const fd = openSync(path, 'a+');
    const data = readFileSync(path);
    const { operations, validBytes } = parseRecords(data);
    const intactAfter = validBytes < data.length ? nextIntactRecord(data, validBytes + 1) : -1;
    if (intactAfter >= 0 && !options.truncateCorruption) {
      closeSync(fd);
      throw corruptJournalError(path, validBytes, intactAfter, data.length);
    }
    if (validBytes < data.length) {
      ftruncateSync(fd, validBytes);
      fdatasyncSync(fd);
    }
    return {
      journal: new Journal(fd, validBytes),
      contents: { operations, discardedBytes: data.length - validBytes },
    };
  }

  get size(): number {
    return this.bytes;
  }

  append(operations: Document[], sync: boolean): void {
    // A put carrying its document's bytes is framed straight into the record (see encodeOperation).
    const parts = operations.map((operation) =>
      isRawPut(operation) ? operation : encodeOperation(operation),
    );
    let length = 0;
    for (const part of parts) length += part instanceof Uint8Array ? part.length : rawPutSize(part);
    const record = Buffer.allocUnsafe(RECORD_HEADER + length);
    let at = RECORD_HEADER;
    for (const part of parts) {
      if (part instanceof Uint8Array) {
        record.set(part, at);
        at += part.length;
      } else at = writeRawPut(part, record, at);
    }
    record.writeUInt32LE(length, 0);
    record.writeUInt32LE(crc32(record.subarray(RECORD_HEADER)), 4);
    try {
      // A filling disk writes part of a record and returns the short count; the next write fails.
      for (let written = 0; written < record.length;)
        written += writeSync(this.fd, record, written, record.length - written);
    } catch (error) {
      // Records appended later must not follow a torn one (the journal would not open again).
      ftruncateSync(this.fd, this.bytes);
      throw error;
    }
    this.bytes += record.length;
    if (sync) fdatasyncSync(this.fd);
  }

  /** fdatasync on the thread pool: the event loop (and the app sharing it) keeps running meanwhile. */
  sync(): Promise<void> {
    return new Promise((resolve, reject) =>
      fdatasync(this.fd, (error) => (error ? reject(error) : resolve())),
    );
  }

  /** Empties the journal once a snapshot holds everything it recorded. */
  reset(): void {
    ftruncateSync(this.fd, 0);
    fdatasyncSync(this.fd);
    this.bytes = 0;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * BSON of one operation. A `put` that carries its document's bytes is assembled around them (the
 * same bytes `serialize({ op, db, coll, doc })` would produce) instead of serializing the document again.
 */
export function encodeOperation(operation: Document): Uint8Array {
  if (isRawPut(operation)) {
    const out = Buffer.allocUnsafe(rawPutSize(operation));
    writeRawPut(operation, out, 0);
    return out;
  }
  const { bytes: _bytes, ...rest } = operation;
  return serialize(rest);
}

interface RawPut {
  op: 'put';
  db: string;
  coll: string;
  bytes: Uint8Array;
}

const isRawPut = (operation: Document): operation is Document & RawPut =>
  operation.op === 'put' && operation.bytes instanceof Uint8Array;

const rawPutSize = (put: RawPut): number =>
  4 + putHead(put.db, put.coll).length + put.bytes.length + 1;

/** Writes `{ op: 'put', db, coll, doc: <bytes> }` as BSON at `at`; returns the end offset. */
function writeRawPut(put: RawPut, out: Buffer, at: number): number {
  const head = putHead(put.db, put.coll);
  const size = 4 + head.length + put.bytes.length + 1;
  out.writeInt32LE(size, at);
  head.copy(out, at + 4);
  out.set(put.bytes, at + 4 + head.length);
  out[at + size - 1] = 0;
  return at + size;
}

const putHeads = new Map<string, Buffer>();

/** The elements `op: 'put', db, coll` and the header of the embedded `doc`, the same for a collection. */
function putHead(db: string, coll: string): Buffer {
  const key = `${db}\0${coll}`;
  let head = putHeads.get(key);
  if (!head) {
    head = Buffer.concat([
      stringElement('op', 'put'),
      stringElement('db', db),
      stringElement('coll', coll),
      Buffer.from([0x03, 0x64, 0x6f, 0x63, 0x00]), // embedded document "doc"
    ]);
    if (putHeads.size < 10_000) putHeads.set(key, head);
  }
  return head;
}

function stringElement(name: string, value: string): Buffer {
  const text = Buffer.from(value, 'utf8');
  const element = Buffer.allocUnsafe(1 + name.length + 1 + 4 + text.length + 1);
  let at = element.writeUInt8(0x02, 0);
  at += element.write(name, at, 'latin1');
  at = element.writeUInt8(0, at);
  at = element.writeInt32LE(text.length + 1, at);
  at += text.copy(element, at);
  element.writeUInt8(0, at);
  return element;
}

function parseRecords(data: Buffer): { operations: Document[]; validBytes: number } {
  const operations: Document[] = [];
  let offset = 0;
  while (offset + RECORD_HEADER <= data.length) {
    const length = data.readUInt32LE(offset);
    const end = offset + RECORD_HEADER + length;
    if (end > data.length) break;
    const payload = data.subarray(offset + RECORD_HEADER, end);
    if (crc32(payload) !== data.readUInt32LE(offset + 4)) break;
    const recordOperations = decodeOperations(payload);
    if (!recordOperations) break;
    operations.push(...recordOperations);
    offset = end;
  }
  return { operations, validBytes: offset };
}

/** Where the first intact record at or after `from` starts, or -1 (nothing but a torn tail). */
function nextIntactRecord(data: Buffer, from: number): number {
  for (let offset = from; offset + RECORD_HEADER < data.length; offset++)
    if (isIntactRecord(data, offset)) return offset;
  return -1;
}

/**
 * A record a commit wrote: at least one operation, whose BSON length fits the payload (a cheap
 * test that rules out almost every offset before its CRC is computed), and a matching CRC.
 */
function isIntactRecord(data: Buffer, offset: number): boolean {
  const length = data.readUInt32LE(offset);
  const end = offset + RECORD_HEADER + length;
  if (length < 5 || end > data.length) return false;
  const firstSize = data.readInt32LE(offset + RECORD_HEADER);
  if (firstSize < 5 || firstSize > length) return false;
  const payload = data.subarray(offset + RECORD_HEADER, end);
  return (
    crc32(payload) === data.readUInt32LE(offset + 4) && decodeOperations(payload) !== undefined
  );
}

function corruptJournalError(path: string, at: number, intactAt: number, size: number): Error {
  return new Error(
    `embedded-mongo: the journal ${path} is corrupt at byte ${at} of ${size}, and intact records ` +
      `follow from byte ${intactAt}: this is damage, not a torn last write, and cutting it off ` +
      `would lose acknowledged writes, so the store will not start. Copy the data directory ` +
      `aside, then either restore it from a backup or start once with truncateCorruptJournal ` +
      `(EMBEDDED_MONGO_TRUNCATE_CORRUPT_JOURNAL=true for the gateway, --truncate-corrupt-journal ` +
      `for the CLI) to keep only the ${at} bytes before the corruption.`,
  );
}

function decodeOperations(payload: Buffer): Document[] | undefined {
  const operations: Document[] = [];
  try {
    for (let offset = 0; offset < payload.length;) {
      const size = payload.readInt32LE(offset);
      operations.push(deserialize(payload.subarray(offset, offset + size)));
      offset += size;
    }
  } catch {
    return undefined;
  }
  return operations;
}
