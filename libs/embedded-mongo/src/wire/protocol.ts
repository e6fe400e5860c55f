import { deserialize, serialize, type Document } from 'bson';
import { MAX_REPLY_BYTES, tooLargeToReturn } from '../document-size';
import { ErrorCode, MongoCommandError } from '../errors';

export const OpCode = { REPLY: 1, QUERY: 2004, COMPRESSED: 2012, MSG: 2013 } as const;

const HEADER_SIZE = 16;
const MSG_CHECKSUM_PRESENT = 1 << 0;
const MSG_MORE_TO_COME = 1 << 1;

/** A decoded request: the command document plus what the reply must look like. */
export interface WireRequest {
  requestId: number;
  opCode: number;
  command: Document;
  /** The client does not want a reply (e.g. endSessions, w:0 writes). */
  moreToCome: boolean;
  /** OP_QUERY commands carry the database in the namespace instead of `$db`. */
  legacyDb?: string;
}

// Promoted values (int32, double, Long within 2^53 -> number) are what mingo compares correctly;
// a Long beyond 2^53 stays a Long so no precision is lost.
const deserializeOptions = {
  promoteValues: true,
  promoteBuffers: false,
  validation: { utf8: false },
} as const;

export function decodeMessage(message: Buffer): WireRequest {
  const requestId = message.readInt32LE(4);
  const opCode = message.readInt32LE(12);
  if (opCode === OpCode.MSG) return decodeOpMsg(message, requestId);
  if (opCode === OpCode.QUERY) return decodeOpQuery(message, requestId);
  throw new MongoCommandError(ErrorCode.CommandNotSupported, `unsupported wire opCode ${opCode}`);
}

function decodeOpMsg(message: Buffer, requestId: number): WireRequest {
  const flags = message.readUInt32LE(HEADER_SIZE);
  // The CRC-32C trailer is optional integrity data we do not need over loopback.
  const end = flags & MSG_CHECKSUM_PRESENT ? message.length - 4 : message.length;
  let offset = HEADER_SIZE + 4;
  let command: Document | undefined;
  const sequences: Array<[string, Document[]]> = [];
  while (offset < end) {
    const kind = message[offset++];
    if (kind === 0) {
      const size = message.readInt32LE(offset);
      command = deserialize(message.subarray(offset, offset + size), deserializeOptions);
      offset += size;
    } else if (kind === 1) {
      const size = message.readInt32LE(offset);
      const sectionEnd = offset + size;
      const nameEnd = message.indexOf(0, offset + 4);
      const identifier = message.toString('utf8', offset + 4, nameEnd);
      const documents: Document[] = [];
      for (let cursor = nameEnd + 1; cursor < sectionEnd;) {
        const docSize = message.readInt32LE(cursor);
        documents.push(deserialize(message.subarray(cursor, cursor + docSize), deserializeOptions));
        cursor += docSize;
      }
      sequences.push([identifier, documents]);
      offset = sectionEnd;
    } else {
      throw new MongoCommandError(ErrorCode.FailedToParse, `invalid OP_MSG section kind ${kind}`);
    }
  }
  if (!command)
    throw new MongoCommandError(ErrorCode.FailedToParse, 'OP_MSG without a body section');
  for (const [identifier, documents] of sequences) command[identifier] = documents;
  return { requestId, opCode: OpCode.MSG, command, moreToCome: (flags & MSG_MORE_TO_COME) !== 0 };
}

function decodeOpQuery(message: Buffer, requestId: number): WireRequest {
  let offset = HEADER_SIZE + 4;
  const nameEnd = message.indexOf(0, offset);
  const namespace = message.toString('utf8', offset, nameEnd);
  offset = nameEnd + 1 + 8; // numberToSkip + numberToReturn
  const size = message.readInt32LE(offset);
  let command = deserialize(message.subarray(offset, offset + size), deserializeOptions);
  // Legacy clients may wrap the command as { $query: {...}, $readPreference: ... }.
  if (command.$query && typeof command.$query === 'object') command = command.$query as Document;
  const legacyDb = namespace.slice(0, namespace.indexOf('.'));
  return { requestId, opCode: OpCode.QUERY, command, moreToCome: false, legacyDb };
}

function header(length: number, requestId: number, responseTo: number, opCode: number): Buffer {
  const buffer = Buffer.allocUnsafe(HEADER_SIZE);
  buffer.writeInt32LE(length, 0);
  buffer.writeInt32LE(requestId, 4);
  buffer.writeInt32LE(responseTo, 8);
  buffer.writeInt32LE(opCode, 12);
  return buffer;
}

/**
 * The BSON of a reply, refused over the limit (bson's serializer silently truncates strings past
 * its 17 MiB buffer, so an oversized result would otherwise reach the client corrupted).
 */
function replyBody(reply: Document): Uint8Array {
  const body = serialize(reply);
  if (body.length > MAX_REPLY_BYTES) throw tooLargeToReturn(body.length);
  return body;
}

/** OP_MSG reply: header, flagBits 0, one body section. */
export function encodeOpMsgReply(requestId: number, responseTo: number, reply: Document): Buffer {
  const body = replyBody(reply);
  const length = HEADER_SIZE + 4 + 1 + body.length;
  const prefix = Buffer.alloc(5); // flagBits (0) + section kind 0
  return Buffer.concat([header(length, requestId, responseTo, OpCode.MSG), prefix, body], length);
}

/** OP_REPLY for the legacy OP_QUERY handshake: one document, no cursor. */
export function encodeOpReply(requestId: number, responseTo: number, reply: Document): Buffer {
  const body = replyBody(reply);
  const fields = Buffer.alloc(20); // responseFlags, cursorID (8), startingFrom, numberReturned
  fields.writeInt32LE(1, 16);
  const length = HEADER_SIZE + fields.length + body.length;
  return Buffer.concat([header(length, requestId, responseTo, OpCode.REPLY), fields, body], length);
}
