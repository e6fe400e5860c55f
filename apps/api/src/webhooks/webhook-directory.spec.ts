import { WebhookDirectory } from './webhook-directory';
import type { WebhooksRepository } from './webhooks.repository';

describe('WebhookDirectory', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it('serves a cached list only to a caller that needs no newer read than it', async () => {
    const listByOrganization = vi.fn(async () => []);
    const directory = new WebhookDirectory({ listByOrganization } as unknown as WebhooksRepository);
    await directory.list('org');
    vi.setSystemTime(1_000_100);
    await directory.list('org'); // within the TTL, no time asked for
    await directory.list('org', 1_000_000); // read at 1_000_000: recent enough
    expect(listByOrganization).toHaveBeenCalledTimes(1);
    await directory.list('org', 1_000_050); // an event after that read: read again
    expect(listByOrganization).toHaveBeenCalledTimes(2);
    await directory.list('org', 1_000_050);
    expect(listByOrganization).toHaveBeenCalledTimes(2);
  });
});
