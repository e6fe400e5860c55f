import { serialize } from 'bson';
import { decodeMessage, encodeOpMsgReply, OpCode } from './protocol';

function opMsg(flags: number, sections: Buffer[], checksum = false): Buffer {
  const body = Buffer.concat([
    Buffer.alloc(4),
    ...sections,
    ...(checksum ? [Buffer.alloc(4, 0xab)] : []),
  ]);
  body.writeUInt32LE(flags, 0);
  const header = Buffer.alloc(16);
  header.writeInt32LE(16 + body.length, 0);
  header.writeInt32LE(7, 4);
  header.writeInt32LE(OpCode.MSG, 12);
  return Buffer.concat([header, body]);
}

const bodySection = (doc: object) => Buffer.concat([Buffer.from([0]), serialize(doc)]);

function sequenceSection(identifier: string, docs: object[]): Buffer {
  const payload = Buffer.concat([Buffer.from(`${identifier}\0`), ...docs.map((d) => serialize(d))]);
  const size = Buffer.alloc(4);
  size.writeInt32LE(4 + payload.length, 0);
  return Buffer.concat([Buffer.from([1]), size, payload]);
}

describe('OP_MSG decoding', () => {
  it('merges document sequences into the command and skips the checksum trailer', () => {
    const message = opMsg(
      1,
      [bodySection({ insert: 'c', $db: 'd' }), sequenceSection('documents', [{ a: 1 }, { a: 2 }])],
      true,
    );
    const request = decodeMessage(message);
    expect(request.command).toEqual({ insert: 'c', $db: 'd', documents: [{ a: 1 }, { a: 2 }] });
    expect(request.moreToCome).toBe(false);
    expect(request.requestId).toBe(7);
  });

  it('reads the moreToCome flag', () => {
    expect(decodeMessage(opMsg(2, [bodySection({ endSessions: [] })])).moreToCome).toBe(true);
  });

  it('encodes a reply that answers the request id', () => {
    const reply = encodeOpMsgReply(9, 7, { ok: 1 });
    expect(reply.readInt32LE(0)).toBe(reply.length);
    expect(reply.readInt32LE(8)).toBe(7);
    expect(reply.readInt32LE(12)).toBe(OpCode.MSG);
  });
});
