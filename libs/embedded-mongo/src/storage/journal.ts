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
    const payload = Buffer.concat(operations.map((operation) => serialize(operation)));
    const header = Buffer.allocUnsafe(RECORD_HEADER);
    header.writeUInt32LE(payload.length, 0);
    header.writeUInt32LE(crc32(payload), 4);
    const record = Buffer.concat([header, payload]);
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
