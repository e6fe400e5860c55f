import type { Document } from 'bson';
import { runCommand } from '../commands/dispatcher';
import { OpCounters } from '../commands/op-counters';
import { StorageEngine } from '../storage/storage-engine';
import { CURSOR_IDLE_TIMEOUT_MS, CursorRegistry } from './cursor-registry';

describe('CursorRegistry', () => {
  const context = {
    db: 'test',
    storage: new StorageEngine(),
    cursors: new CursorRegistry(),
    connectionId: 1,
    clientAddress: '127.0.0.1:1',
    serverPort: 0,
    startedAt: Date.now(),
    opcounters: new OpCounters(),
  };
  const run = (command: Document) => runCommand(command, context);
  const openFind = (options: Document = {}) =>
    run({ find: 'notes', batchSize: 1, ...options }).cursor.id as { toNumber(): number };
  const getMore = (id: { toNumber(): number }) =>
    run({ getMore: id, collection: 'notes', batchSize: 1 });

  beforeAll(() => {
    run({ insert: 'notes', documents: [{ _id: 1 }, { _id: 2 }, { _id: 3 }] });
  });

  it('reaps cursors idle past the timeout, except those opened with noCursorTimeout', () => {
    const idle = openFind();
    const kept = openFind({ noCursorTimeout: true });
    context.cursors.reapIdle(Date.now() + CURSOR_IDLE_TIMEOUT_MS + 1_000);
    expect(getMore(idle)).toMatchObject({ ok: 0, code: 43 });
    expect(getMore(kept)).toMatchObject({ ok: 1, cursor: { nextBatch: [{ _id: 2 }] } });
  });
});
