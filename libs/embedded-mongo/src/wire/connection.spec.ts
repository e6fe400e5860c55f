import { connect, type Socket } from 'node:net';
import { deserialize, serialize, type Document } from 'bson';
import { OpCode } from './protocol';
import { WireServer } from './wire-server';

/** A one-section OP_MSG carrying `command`. */
function opMsg(requestId: number, command: Document): Buffer {
  const body = serialize(command);
  const message = Buffer.alloc(21 + body.length);
  message.writeInt32LE(message.length, 0);
  message.writeInt32LE(requestId, 4);
  message.writeInt32LE(OpCode.MSG, 12);
  message.set(body, 21);
  return message;
}

/** Sends the commands in turn and returns the reply documents, in order. */
async function exchange(port: number, commands: Document[]): Promise<Document[]> {
  const socket: Socket = connect(port, '127.0.0.1');
  const replies: Document[] = [];
  let pending = Buffer.alloc(0);
  return new Promise((resolve, reject) => {
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= pending.readInt32LE(0)) {
        const length = pending.readInt32LE(0);
        replies.push(deserialize(pending.subarray(21, length)));
        pending = pending.subarray(length);
      }
      if (replies.length === commands.length) {
        socket.destroy();
        resolve(replies);
      }
    });
    commands.forEach((command, i) => socket.write(opMsg(i + 1, command)));
  });
}

describe('WireConnection', () => {
  it('answers a reply it cannot encode, or a failed one, with an error and keeps serving', async () => {
    const huge = 'y'.repeat(17 * 1024 * 1024);
    const server = new WireServer(
      (command) => {
        if (command.big) return { ok: 1, value: huge };
        if (command.rejected) return Promise.reject(new Error('disk gone'));
        return { ok: 1, echo: command.ping };
      },
      () => undefined,
    );
    const port = await server.listen(0);
    try {
      const [big, rejected, ping] = await exchange(port, [
        { big: 1 },
        { rejected: 1 },
        { ping: 7 },
      ]);
      expect(big).toMatchObject({ ok: 0, code: 10334, codeName: 'BSONObjectTooLarge' });
      expect(rejected).toMatchObject({ ok: 0, errmsg: 'disk gone' });
      expect(ping).toEqual({ ok: 1, echo: 7 });
    } finally {
      await server.close();
    }
  });
});
