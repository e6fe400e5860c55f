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

/**
 * Append-only log. One record per committed command: length + CRC32 + the command's operations
 * as consecutive BSON documents. A record that was cut short by a crash fails its length or CRC
 * check and is truncated away on open.
 */
export class Journal {
  private constructor(
    private readonly fd: number,
    private bytes: number,
  ) {}

  static open(path: string): { journal: Journal; contents: JournalContents } {
    const fd = openSync(path, 'a+');
    const data = readFileSync(path);
    const { operations, validBytes } = parseRecords(data);
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
    writeSync(this.fd, record);
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
