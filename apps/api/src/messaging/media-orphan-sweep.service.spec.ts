import { Logger } from '@nestjs/common';
import { existsSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type mongoose from 'mongoose';
import { useEmbeddedConnection } from '@app/embedded-mongo/testing/embedded-connection';
import { loadConfig } from '@app/common';
import { FileMediaStorage } from './media/file-media-storage';
import type { MediaStorage } from './media/media-storage';
import { MediaOrphanSweep } from './media-orphan-sweep.service';
import { MediaSweepsRepository } from './media-sweeps.repository';
import { MessagesRepository, newMessageId, type NewMessage } from './messages.repository';
import { MediaSweep, MediaSweepSchema } from './schemas/media-sweep.schema';
import { Message, MessageSchema } from './schemas/message.schema';

const HOUR_MS = 3_600_000;

describe('MediaOrphanSweep (embedded store, DATA_DIR files)', () => {
  let connection: mongoose.Connection;
  let messages: MessagesRepository;
  let sweeps: MediaSweepsRepository;
  let dir: string;
  let storage: FileMediaStorage;

  const connectionOf = useEmbeddedConnection('media-sweep');
  beforeAll(async () => {
    connection = connectionOf();
    const model = connection.model(Message.name, MessageSchema);
    await model.init();
    messages = new MessagesRepository(model);
    sweeps = new MediaSweepsRepository(connection.model(MediaSweep.name, MediaSweepSchema));
  });
  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'sweep-')), 'media');
    storage = new FileMediaStorage(dir);
    vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await connection.collection('messages').deleteMany({});
    await connection.collection('media_sweeps').deleteMany({});
  });

  const sweeper = () =>
    new MediaOrphanSweep(sweeps, messages, storage, loadConfig({ NODE_ENV: 'test' }));
  /** Stores bytes under `key`, as written `agoMs` ago. */
  const stored = async (key: string, agoMs: number) => {
    await storage.put(key, Buffer.from(key));
    const at = new Date(Date.now() - agoMs);
    utimesSync(join(dir, key), at, at);
  };
  const message = (media: NewMessage['media']): NewMessage & { _id: string } => ({
    _id: newMessageId(),
    organizationId: 'org',
    sessionId: 'org_main',
    sessionName: 'main',
    direction: 'in',
    chatJid: '201001234567@s.whatsapp.net',
    fromMe: false,
    type: 'image',
    status: 'delivered',
    media,
    timestamp: new Date(),
  });
  const exists = async (key: string) => (await storage.read(key)) !== null;

  it('deletes media no message holds once past the grace period, and keeps every other', async () => {
    const sent = message({
      mimetype: 'image/png',
      storageKey: newMessageId(),
      downloadStatus: 'stored',
    });
    const downloading = message({ mimetype: 'image/png', downloadStatus: 'pending' });
    await messages.insertAll([sent, downloading]);
    const orphan = newMessageId(); // a send's media whose message a crash kept from being stored
    const inFlight = newMessageId(); // a send's media whose message is being stored right now
    await stored(sent.media!.storageKey!, 2 * HOUR_MS);
    await stored(downloading._id, 2 * HOUR_MS); // a download retried: stored, not yet noted
    await stored(orphan, 2 * HOUR_MS);
    await stored(inFlight, 1_000);

    await sweeper().sweep();

    expect(await exists(orphan)).toBe(false);
    expect(await exists(sent.media!.storageKey!)).toBe(true);
    expect(await exists(downloading._id)).toBe(true);
    expect(await exists(inFlight)).toBe(true);
    // The pass went past the last key: the next one starts from the first again.
    expect(await connection.collection('media_sweeps').findOne({})).toEqual({
      _id: 'media-orphans',
    });
  });

  it('deletes the temp files of writes a crash cut off once past the grace period', async () => {
    await stored(newMessageId(), 2 * HOUR_MS); // the directory exists
    const tmp = (agoMs: number) => {
      const path = join(dir, `${newMessageId()}.4242.tmp`);
      writeFileSync(path, 'half');
      const at = new Date(Date.now() - agoMs);
      utimesSync(path, at, at);
      return path;
    };
    const cutOff = tmp(2 * HOUR_MS);
    const underWay = tmp(1_000);
    await sweeper().sweep();
    expect(existsSync(cutOff)).toBe(false);
    expect(existsSync(underWay)).toBe(true);
  });

  it('looks for writes a crash cut off from where the last pass stopped, from the start once past the end', async () => {
    const unfinished = vi
      .spyOn(storage as MediaStorage, 'deleteUnfinishedBefore')
      .mockResolvedValueOnce({ deleted: 1, next: 'upload-a' })
      .mockResolvedValueOnce({ deleted: 0, next: 'upload-b' })
      .mockResolvedValueOnce({ deleted: 2 });
    await sweeper().sweep();
    expect(await connection.collection('media_sweeps').findOne({})).toMatchObject({
      unfinishedCursor: 'upload-a',
    });
    await sweeper().sweep(); // another instance's pass goes on from there too
    await sweeper().sweep();
    await sweeper().sweep();
    expect(unfinished.mock.calls.map(([, after]) => after)).toEqual([
      undefined,
      'upload-a',
      'upload-b',
      undefined,
    ]);
  });

  it('leaves the store alone while another instance holds the sweep', async () => {
    const orphan = newMessageId();
    await stored(orphan, 2 * HOUR_MS);
    expect(await sweeps.claim(60_000)).toBeDefined(); // another instance's pass
    await sweeper().sweep();
    expect(await exists(orphan)).toBe(true);
  });

  it('takes over a lease that ran out (its instance died mid-pass), from where that pass got to', async () => {
    const [first, second] = [newMessageId(), newMessageId()].sort();
    await stored(first, 2 * HOUR_MS);
    await stored(second, 2 * HOUR_MS);
    const dead = (await sweeps.claim(60_000))!;
    await sweeps.advance(dead, first, -1); // got past `first`; its lease has run out since
    await sweeper().sweep();
    expect(await exists(first)).toBe(true); // the next pass, from the first key again, gets it
    expect(await exists(second)).toBe(false);
    await sweeper().sweep();
    expect(await exists(first)).toBe(false);
  });
});
