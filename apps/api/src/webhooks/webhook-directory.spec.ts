import type { EventOutboxService } from '../events/event-outbox.service';
import { WebhookDirectory } from './webhook-directory';
import type { WebhooksRepository } from './webhooks.repository';

describe('WebhookDirectory', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  const setup = () => {
    const listByOrganization = vi.fn(async () => []);
    const changeSubscriptions = vi.fn(async () => undefined);
    const directory = new WebhookDirectory(
      { listByOrganization } as unknown as WebhooksRepository,
      { changeSubscriptions } as unknown as EventOutboxService,
    );
    return { directory, listByOrganization, changeSubscriptions };
  };

  it("serves the worker's lookups from the cache for TTL_MS, and the recovery a list read now", async () => {
    const { directory, listByOrganization } = setup();
    await directory.list('org');
    vi.setSystemTime(1_004_000);
    await directory.list('org');
    expect(listByOrganization).toHaveBeenCalledTimes(1);
    await directory.fresh('org');
    expect(listByOrganization).toHaveBeenCalledTimes(2);
    vi.setSystemTime(1_006_000); // past TTL_MS of the first read, within that of the fresh one
    await directory.list('org');
    expect(listByOrganization).toHaveBeenCalledTimes(2);
    vi.setSystemTime(1_010_000);
    await directory.list('org');
    expect(listByOrganization).toHaveBeenCalledTimes(3);
  });

  it('reads the list for a live batch again only when its subscriptions version changed', async () => {
    const { directory, listByOrganization } = setup();
    await directory.listAt('org', null); // no webhook ever written
    vi.setSystemTime(1_030_000); // past the worker's TTL: the version alone decides
    await directory.listAt('org', null);
    directory.invalidate('org'); // the worker's copy only (e.g. a failed attempt recorded)
    await directory.listAt('org', null);
    expect(listByOrganization).toHaveBeenCalledTimes(1);
    await directory.listAt('org', 'v1'); // written since, on any instance
    await directory.listAt('org', 'v1');
    await directory.listAt('other-org', 'v1');
    expect(listByOrganization.mock.calls).toEqual([['org'], ['org'], ['other-org']]);
  });

  it('changes the subscriptions version on a write and drops the worker copy', async () => {
    const { directory, listByOrganization, changeSubscriptions } = setup();
    await directory.get('org', 'hook');
    await directory.changed('org');
    expect(changeSubscriptions).toHaveBeenCalledWith('org');
    await directory.get('org', 'hook');
    expect(listByOrganization).toHaveBeenCalledTimes(2);
  });
});
