import {
  MongoBulkWriteError,
  MongoClientClosedError,
  MongoNetworkError,
  MongoNetworkTimeoutError,
  MongoServerError,
  MongoServerSelectionError,
  type TopologyDescription,
} from 'mongodb';
import { isTransientDatabaseError, OutageRetries } from './database-outage';

const unreachable = () =>
  new MongoServerSelectionError('connection <monitor> closed', {
    error: undefined,
  } as unknown as TopologyDescription);
/** What Node gives a write after the peer ended the socket (writeAfterFIN). */
const socketEnded = () =>
  Object.assign(new Error('This socket has been ended by the other party'), { code: 'EPIPE' });
const duplicate = () => new MongoServerError({ code: 11000, errmsg: 'E11000 duplicate key' });

describe('isTransientDatabaseError', () => {
  it.each([
    ['a broken connection', new MongoNetworkError('connection 4 closed')],
    [
      'a bulk write a broken connection cut off',
      new MongoBulkWriteError(new MongoNetworkError('connection 4 closed'), {} as never),
    ],
    // The driver (7.8) passes on, unwrapped, the error of a write to a socket the server closed.
    ['a write to a socket the server closed', socketEnded()],
    [
      'a bulk write cut off by a write to a socket the server closed',
      new MongoBulkWriteError(socketEnded() as never, {} as never),
    ],
    ['a connection reset', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['a socket timeout', new MongoNetworkTimeoutError('timed out')],
    ['no server to select', unreachable()],
    ['a primary stepping down', new MongoServerError({ code: 189, errmsg: 'stepped down' })],
    ['a node shutting down', new MongoServerError({ code: 91, errmsg: 'shutting down' })],
    [
      'a labelled retryable write',
      new MongoServerError({ code: 1, errmsg: 'x', errorLabels: ['RetryableWriteError'] }),
    ],
    [
      'mongoose giving up its queue',
      new Error('Operation `messages.insertMany()` buffering timed out after 10000ms'),
    ],
  ])('is true for %s', (_, error) => expect(isTransientDatabaseError(error)).toBe(true));

  it.each([
    ['a duplicate key', duplicate()],
    [
      'a validation failure',
      new MongoServerError({ code: 121, errmsg: 'Document failed validation' }),
    ],
    ['our own shutdown', new MongoClientClosedError()],
    [
      'a bulk write refused on a duplicate',
      new MongoBulkWriteError({ message: 'E11000', code: 11000, writeErrors: [] }, {} as never),
    ],
    ['a bug', new TypeError('x is undefined')],
    ['not an error', 'down'],
  ])('is false for %s', (_, error) => expect(isTransientDatabaseError(error)).toBe(false));
});

describe('OutageRetries', () => {
  const policy = { baseMs: 1, capMs: 2 };
  const WAITING = 'Database unreachable: waiting';

  it('waits out failures that say the database is unreachable, logging each wait, then answers', async () => {
    const seen: number[] = [];
    const operation = vi.fn(async (attempt: number) => {
      seen.push(attempt);
      if (attempt < 4) throw unreachable();
      return 'stored';
    });
    const log = { warn: vi.fn() };
    const retries = new OutageRetries(log, policy);
    await expect(retries.run(operation, WAITING, { sessionId: 's1' })).resolves.toBe('stored');
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(log.warn.mock.calls.map(([fields, message]) => [fields.attempt, message])).toEqual([
      [1, WAITING],
      [2, WAITING],
      [3, WAITING],
    ]);
    expect(log.warn.mock.calls[0][0]).toMatchObject({
      sessionId: 's1',
      err: expect.any(MongoServerSelectionError),
      delayMs: expect.any(Number),
    });
    expect(retries.unreachable).toBe(false);
  });

  it('throws any other failure at once', async () => {
    const operation = vi.fn(async () => {
      throw duplicate();
    });
    const retries = new OutageRetries(undefined, policy);
    await expect(retries.run(operation, WAITING)).rejects.toMatchObject({ code: 11000 });
    expect(operation).toHaveBeenCalledTimes(1);
    expect(retries.unreachable).toBe(false); // it answered
  });

  it('stops waiting when stopped: the wait ends, and one more try then tells (the failure is thrown)', async () => {
    const operation = vi.fn(async () => {
      throw unreachable();
    });
    const retries = new OutageRetries(
      { warn: () => retries.stop() },
      {
        baseMs: 60_000,
        capMs: 60_000,
      },
    );
    await expect(retries.run(operation, WAITING)).rejects.toBeInstanceOf(MongoServerSelectionError);
    expect(operation).toHaveBeenCalledTimes(2);
  });

  // The database came back while the work waited out its backoff, and the shutdown found it
  // answering (it force-closes the connection when it does not: a try then fails at once).
  it('a wait the stop cuts off tries once more: what an outage held lands if the database is back', async () => {
    const operation = vi
      .fn<() => Promise<string>>()
      .mockRejectedValueOnce(unreachable())
      .mockResolvedValue('stored');
    const retries = new OutageRetries(
      { warn: () => retries.stop() },
      { baseMs: 60_000, capMs: 60_000 },
    );
    await expect(retries.run(operation, WAITING)).resolves.toBe('stored');
    expect(operation).toHaveBeenCalledTimes(2);
  });

  it('once stopped with the database last found unreachable, tries nothing more (each try waits out server selection)', async () => {
    const failing = vi.fn(async () => {
      throw unreachable();
    });
    const retries = new OutageRetries(undefined, policy);
    const cutOff = retries.run(failing, WAITING);
    retries.stop();
    await expect(cutOff).rejects.toBeInstanceOf(MongoServerSelectionError);
    expect(failing).toHaveBeenCalledTimes(1);
    expect(retries.unreachable).toBe(true);

    // Work still queued behind it fails at once with that failure (a transient one: kept to replay).
    const queued = vi.fn(async () => 'stored');
    await expect(retries.run(queued, WAITING)).rejects.toBeInstanceOf(MongoServerSelectionError);
    expect(queued).not.toHaveBeenCalled();
  });

  it('once stopped with the database answering, still runs what is queued (the last writes)', async () => {
    const retries = new OutageRetries(undefined, policy);
    await retries.run(async () => 'first', WAITING);
    retries.stop();
    await expect(retries.run(async () => 'stored', WAITING)).resolves.toBe('stored');
  });
});
