import { connect } from 'node:net';
import { deserialize, serialize } from 'bson';
import { EmbeddedMongoServer } from '../src';
import { usingRealMongo } from './harness';

/** Old clients open with OP_QUERY `isMaster` on admin.$cmd and expect an OP_REPLY. */
function legacyIsMaster(port: number): Promise<Record<string, unknown>> {
  const query = Buffer.concat([
    Buffer.alloc(4),
    Buffer.from('admin.$cmd\0'),
    Buffer.alloc(4),
    Buffer.from([0xff, 0xff, 0xff, 0xff]),
    serialize({ isMaster: 1 }),
  ]);
  const header = Buffer.alloc(16);
  header.writeInt32LE(16 + query.length, 0);
  header.writeInt32LE(1, 4);
  header.writeInt32LE(2004, 12);
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(Buffer.concat([header, query])));
    let received = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 4 && received.length >= received.readInt32LE(0)) {
        socket.destroy();
        expect(received.readInt32LE(12)).toBe(1); // OP_REPLY
        expect(received.readInt32LE(8)).toBe(1); // responseTo
        resolve(deserialize(received.subarray(36)));
      }
    });
    socket.on('error', reject);
  });
}

(usingRealMongo ? describe.skip : describe)('legacy OP_QUERY handshake', () => {
  it('answers isMaster with an OP_REPLY', async () => {
    const server = await EmbeddedMongoServer.start();
    try {
      expect(await legacyIsMaster(server.port)).toMatchObject({
        ismaster: true,
        ok: 1,
        maxWireVersion: 21,
      });
    } finally {
      await server.close();
    }
  });
});
