import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Logger } from '@nestjs/common';
import { MongoNetworkError } from 'mongodb';
import { ByteCap } from '@app/common';
import {
  MediaExceedsLimitError,
  SessionNotConnectedError,
  type SessionRegistry,
} from '@app/whatsapp';
import { FileMediaStorage } from './media/file-media-storage';
import type { MediaStorage } from './media/media-storage';
import { MediaDownloadService } from './media-download.service';
import type { MessagesRepository } from './messages.repository';

describe('MediaDownloadService', () => {
  it('resumes every download a previous run left pending, a page at a time', async () => {
    const pending = Array.from({ length: 450 }, (_, i) => `m${String(i).padStart(4, '0')}`);
    const pages: Array<string | undefined> = [];
    const messages = {
      pendingMediaDownloads: async (limit: number, after?: string) => {
        pages.push(after);
        return pending.filter((id) => after === undefined || id > after).slice(0, limit);
      },
    } as unknown as MessagesRepository;
    const service = new MediaDownloadService(messages, {} as SessionRegistry, {} as MediaStorage);
    const scheduled: string[] = [];
    vi.spyOn(service, 'schedule').mockImplementation((id) => void scheduled.push(id));
    await service.onApplicationBootstrap();
    expect(scheduled).toEqual(pending);
    expect(pages).toEqual([undefined, 'm0199', 'm0399']);
  });

  describe('a download, stored as it streams', () => {
    const MB = 1024 * 1024;
    const message = {
      _id: '665f1c2b1e6a3e4f7e9d0e0d',
      sessionId: 's1',
      type: 'image',
      media: { downloadStatus: 'pending', mimetype: 'image/jpeg' },
    };

    function kitWith(download: () => Readable) {
      const dir = mkdtempSync(join(tmpdir(), 'media-dl-'));
      const writes: Array<Record<string, unknown>> = [];
      const messages = {
        findById: async () => message,
        mediaRefOf: async () => ({ any: 'ref' }),
        setFields: async (_filter: unknown, set: Record<string, unknown>) => void writes.push(set),
      } as unknown as MessagesRepository;
      const registry = { downloadMedia: async () => download() } as unknown as SessionRegistry;
      const service = new MediaDownloadService(messages, registry, new FileMediaStorage(dir));
      vi.spyOn(service, 'schedule').mockImplementation(() => undefined);
      return { service, writes, files: () => readdirSync(dir) };
    }

    /** `count` chunks of 1 MB, behind the engine's cap of 16 MB (an image's limit). */
    function megabytes(count: number): Readable {
      const source = Readable.from(
        (function* () {
          for (let i = 0; i < count; i++) yield Buffer.alloc(MB, i);
        })(),
      );
      return source.pipe(new ByteCap(16 * MB, () => new MediaExceedsLimitError(16 * MB)));
    }

    it('stores the whole media and records its size', async () => {
      const kit = kitWith(() => megabytes(3));
      await kit.service.download(message._id);
      expect(kit.writes).toEqual([
        expect.objectContaining({ 'media.downloadStatus': 'stored', 'media.size': 3 * MB }),
      ]);
      expect(kit.files()).toEqual([message._id]);
    });

    it('refuses media that passes the limit mid-stream, keeping no part of it', async () => {
      const kit = kitWith(() => megabytes(40));
      await kit.service.download(message._id);
      expect(kit.writes).toEqual([
        expect.objectContaining({
          'media.downloadStatus': 'failed',
          'media.downloadError': expect.stringContaining(String(16 * MB)),
        }),
      ]);
      expect(kit.files()).toEqual([]);
    });
  });

  describe('while the session is not connected here', () => {
    const message = {
      _id: '665f1c2b1e6a3e4f7e9d0e0f',
      sessionId: 'org_main',
      type: 'image',
      media: { downloadStatus: 'pending', mimetype: 'image/jpeg' },
    };

    it('uses up no attempt, and downloads once the session connects (here or on the instance it moved to)', async () => {
      const writes: Array<Record<string, unknown>> = [];
      let connected = false;
      const pages: Array<[number, string | undefined, string | undefined]> = [];
      const messages = {
        findById: async () => message,
        mediaRefOf: async () => ({ any: 'ref' }),
        setFields: async (_filter: unknown, set: Record<string, unknown>) => void writes.push(set),
        pendingMediaDownloads: async (limit: number, after?: string, sessionId?: string) => {
          pages.push([limit, after, sessionId]);
          return after ? [] : [message._id];
        },
      } as unknown as MessagesRepository;
      const registry = {
        // As SessionRegistry: no connection while it reconnects, restores or runs elsewhere.
        downloadMedia: (sessionId: string) => {
          if (!connected) throw new SessionNotConnectedError(sessionId);
          return Promise.resolve(Readable.from([Buffer.from('photo')]));
        },
      } as unknown as SessionRegistry;
      const dir = mkdtempSync(join(tmpdir(), 'media-dl-'));
      const service = new MediaDownloadService(messages, registry, new FileMediaStorage(dir));
      const scheduled: string[] = [];
      vi.spyOn(service, 'schedule').mockImplementation((id) => void scheduled.push(id));

      for (let i = 0; i < 6; i++) await service.download(message._id);
      expect(writes).toEqual([]); // still pending, with no attempt counted
      expect(scheduled).toEqual([]);

      connected = true;
      await service.onSessionStatus({
        sessionId: 'org_main',
        organizationId: 'org',
        sessionName: 'main',
        status: 'connected',
        previousStatus: 'connecting',
        at: new Date(),
      });
      expect(pages[0][2]).toBe('org_main');
      expect(scheduled).toEqual([message._id]);
      await service.download(message._id);
      expect(writes).toEqual([expect.objectContaining({ 'media.downloadStatus': 'stored' })]);
    });

    it('fails the pending downloads of a session that was logged out (or deleted)', async () => {
      const failPendingDownloads = vi.fn(async () => 2);
      const messages = { failPendingDownloads } as unknown as MessagesRepository;
      const service = new MediaDownloadService(messages, {} as SessionRegistry, {} as MediaStorage);
      await service.onSessionStatus({
        sessionId: 'org_main',
        organizationId: 'org',
        sessionName: 'main',
        status: 'logged_out',
        previousStatus: 'connected',
        at: new Date(),
      });
      expect(failPendingDownloads).toHaveBeenCalledWith(
        'org_main',
        "Session 'main' was logged out before the media was downloaded",
      );
    });
  });

  describe('when the database fails', () => {
    const message = {
      _id: '665f1c2b1e6a3e4f7e9d0e0e',
      sessionId: 's1',
      type: 'image',
      media: { downloadStatus: 'pending', mimetype: 'image/jpeg' },
    };
    beforeEach(() => vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined));
    afterEach(() => vi.restoreAllMocks());

    it('tries the download again later instead of rejecting (a timer runs it: the process would crash)', async () => {
      const writes: Array<Record<string, unknown>> = [];
      let reads = 0;
      let writesFail = true;
      const messages = {
        findById: async () => {
          if (++reads === 1) throw new MongoNetworkError('connection reset');
          return message;
        },
        mediaRefOf: async () => ({ any: 'ref' }),
        setFields: async (_filter: unknown, set: Record<string, unknown>) => {
          if (writesFail) throw new MongoNetworkError('connection reset');
          writes.push(set);
        },
      } as unknown as MessagesRepository;
      const registry = {
        downloadMedia: async () => Readable.from([Buffer.from('photo')]),
      } as unknown as SessionRegistry;
      const dir = mkdtempSync(join(tmpdir(), 'media-dl-'));
      const service = new MediaDownloadService(messages, registry, new FileMediaStorage(dir));
      const retries: number[] = [];
      vi.spyOn(service, 'schedule').mockImplementation((_id, delayMs = 0) => {
        retries.push(delayMs);
      });

      await service.download(message._id); // the message cannot be read
      await service.download(message._id); // stored, but neither it nor the failure is recorded
      writesFail = false;
      await service.download(message._id);

      expect(retries).toHaveLength(2);
      expect(retries.every((delayMs) => delayMs > 0)).toBe(true);
      expect(writes).toEqual([expect.objectContaining({ 'media.downloadStatus': 'stored' })]);
    });
  });
});
