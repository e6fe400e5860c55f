import { MongoServerSelectionError, type TopologyDescription } from 'mongodb';
import type { WaContactsUpsertedEvent } from '@app/whatsapp';
import type { CustomerLinksService } from './customer-links.service';
import { ContactsSyncListener } from './contacts-sync.listener';
import type { ContactsSyncService } from './contacts-sync.service';

const unreachable = () =>
  new MongoServerSelectionError('connect ECONNREFUSED', {
    error: undefined,
  } as unknown as TopologyDescription);

describe('ContactsSyncListener', () => {
  it('does not hold a shutdown during a database outage for the syncs queued behind the lock', async () => {
    // The first address book met the outage; the second waits for the session's contact lock,
    // where each of its database calls would wait out server selection before failing.
    let release!: () => void;
    const queued = new Promise<void>((resolve) => (release = resolve));
    const syncContacts = vi
      .fn<ContactsSyncService['syncContacts']>()
      .mockRejectedValueOnce(unreachable())
      .mockReturnValueOnce(queued);
    const listener = new ContactsSyncListener(
      { syncContacts } as unknown as ContactsSyncService,
      {} as CustomerLinksService,
    );
    const event = { sessionId: 'org_main' } as WaContactsUpsertedEvent;
    void listener.onContacts(event);
    await vi.waitFor(() => expect(syncContacts).toHaveBeenCalledTimes(1));
    void listener.onContacts(event);

    let stopped = false;
    void listener.beforeApplicationShutdown().then(() => (stopped = true));
    await vi.waitFor(() => expect(stopped).toBe(true));
    release();
  });
});
