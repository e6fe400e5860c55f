import {
  MongoBulkWriteError,
  MongoClientClosedError,
  MongoNetworkError,
  MongoNetworkTimeoutError,
  MongoServerError,
  MongoServerSelectionError,
  type TopologyDescription,
} from 'mongodb';
import { DatabaseReach, isTransientDatabaseError, retryThroughOutage } from './database-outage';

const unreachable = () =>
  new MongoServerSelectionError('connection <monitor> closed', {
    error: undefined,
  } as unknown as TopologyDescription);
const duplicate = () => new MongoServerError({ code: 11000, errmsg: 'E11000 duplicate key' });

describe('isTransientDatabaseError', () => {
  it.each([
    ['a broken connection', new MongoNetworkError('connection 4 closed')],
    [
      'a bulk write a broken connection cut off',
      new MongoBulkWriteError(new MongoNetworkError('connection 4 closed'), {} as never),
    ],
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

describe('retryThroughOutage', () => {
  const policy = { baseMs: 1, capMs: 2 };

  it('waits out failures that say the database is unreachable, then answers', async () => {
    const seen: number[] = [];
    const operation = vi.fn(async (attempt: number) => {
      seen.push(attempt);
      if (attempt < 4) throw unreachable();
      return 'stored';
    });
    const retries: number[] = [];
    const result = await retryThroughOutage(operation, {
      signal: new AbortController().signal,
      policy,
      onRetry: (_, attempt) => retries.push(attempt),
    });
    expect(result).toBe('stored');
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(retries).toEqual([1, 2, 3]);
  });

  it('throws any other failure at once', async () => {
    const operation = vi.fn(async () => {
      throw duplicate();
    });
    await expect(
      retryThroughOutage(operation, { signal: new AbortController().signal, policy }),
    ).rejects.toMatchObject({ code: 11000 });
    expect(operation).toHaveBeenCalledTimes(1);
  });

  it('stops waiting when aborted: the wait ends, and the next failure is thrown', async () => {
    const abort = new AbortController();
    const operation = vi.fn(async () => {
      throw unreachable();
    });
    const run = retryThroughOutage(operation, {
      signal: abort.signal,
      policy: { baseMs: 60_000, capMs: 60_000 },
      onRetry: () => abort.abort(),
    });
    await expect(run).rejects.toBeInstanceOf(MongoServerSelectionError);
    expect(operation).toHaveBeenCalledTimes(2);
  });

  it('once stopping with the database last found unreachable, tries nothing more (each try waits out server selection)', async () => {
    const abort = new AbortController();
    const reach = new DatabaseReach();
    const failing = vi.fn(async () => {
      throw unreachable();
    });
    const cutOff = retryThroughOutage(failing, {
      signal: abort.signal,
      reach,
      policy: { baseMs: 60_000, capMs: 60_000 },
      onRetry: () => abort.abort(),
    });
    await expect(cutOff).rejects.toBeInstanceOf(MongoServerSelectionError);
    expect(failing).toHaveBeenCalledTimes(1);

    // Work still queued behind it fails at once with that failure (a transient one: kept to replay).
    const queued = vi.fn(async () => 'stored');
    await expect(retryThroughOutage(queued, { signal: abort.signal, reach })).rejects.toBe(
      reach.lastOutage,
    );
    expect(queued).not.toHaveBeenCalled();
    // A database that answered since is tried as before.
    reach.lastOutage = undefined;
    await expect(retryThroughOutage(queued, { signal: abort.signal, reach })).resolves.toBe(
      'stored',
    );
  });
});
