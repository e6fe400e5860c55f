import type { SessionRegistry } from '@app/whatsapp';
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
});
