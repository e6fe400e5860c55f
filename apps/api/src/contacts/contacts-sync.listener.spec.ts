import { Logger } from '@nestjs/common';
import { MongoServerSelectionError, type TopologyDescription } from 'mongodb';
import type { WaContactsUpsertedEvent, WaLidMappingEvent } from '@app/whatsapp';
import type { CustomerLinksService } from './customer-links.service';
import { ContactsSyncListener, MAX_HELD_LID_MAPPINGS } from './contacts-sync.listener';
import type { ContactObservation } from './contact-identity';
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
    const syncObserved = vi
      .fn<ContactsSyncService['syncObserved']>()
      .mockRejectedValueOnce(unreachable())
      // Tried once more at the stop (the database might be back): still away.
      .mockRejectedValueOnce(unreachable())
      .mockReturnValueOnce(queued);
    const listener = new ContactsSyncListener(
      { syncObserved } as unknown as ContactsSyncService,
      {} as CustomerLinksService,
    );
    const event = {
      sessionId: 'org_main',
      contacts: [{ jid: '201000000001@s.whatsapp.net', name: 'Saved' }],
    } as WaContactsUpsertedEvent;
    void listener.onContacts(event);
    await vi.waitFor(() => expect(syncObserved).toHaveBeenCalledTimes(1));
    void listener.onContacts(event);

    let stopped = false;
    void listener.beforeApplicationShutdown().then(() => (stopped = true));
    await vi.waitFor(() => expect(stopped).toBe(true));
    release();
  });

  it('holds the contact events of a database outage as one sync per round, folded per contact', async () => {
    // The database does not answer: a sync waits until it does (the driver's server selection).
    let answer!: () => void;
    const back = new Promise<void>((resolve) => (answer = resolve));
    let waiting = 0;
    let mostWaiting = 0;
    const synced: ContactObservation[][] = [];
    const sync = vi.fn(async (...args: unknown[]) => {
      mostWaiting = Math.max(mostWaiting, ++waiting);
      await back;
      waiting--;
      synced.push(args.at(-1) as ContactObservation[]);
    });
    const listener = new ContactsSyncListener(
      { syncContacts: sync, syncObserved: sync } as unknown as ContactsSyncService,
      {} as CustomerLinksService,
    );
    const ref = { sessionId: 'org_main', organizationId: 'org', sessionName: 'main' };
    const contact = (i: number) => ({
      jid: `20100000000${i % 3}@s.whatsapp.net`,
      notify: `Name ${i}`,
      // Baileys' 'changed' says a new picture exists: no URL to store.
      ...(i < 3
        ? { name: 'Saved', imgUrl: 'https://pps.whatsapp.net/a.jpg' }
        : { imgUrl: 'changed' }),
    });
    // A busy number: three contacts change their names and pictures over and over.
    const handed = [listener.onContacts({ ...ref, contacts: [contact(0)] })];
    await vi.waitFor(() => expect(waiting).toBe(1));
    for (let i = 1; i < 100; i++)
      handed.push(listener.onContacts({ ...ref, contacts: [contact(i)] }));
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(mostWaiting).toBe(1);

    answer();
    await Promise.all(handed);
    // The first round took the first event; the second, the other 99 folded per contact (in the
    // order they first came): each with its latest name, and what no later event took back.
    const jid = (c: number) => `20100000000${c}@s.whatsapp.net`;
    const saved = { addressBookName: 'Saved', profilePictureUrl: 'https://pps.whatsapp.net/a.jpg' };
    expect(synced).toEqual([
      [expect.objectContaining({ jid: jid(0), pushName: 'Name 0', ...saved })],
      [
        expect.objectContaining({ jid: jid(1), pushName: 'Name 97', ...saved }),
        expect.objectContaining({ jid: jid(2), pushName: 'Name 98', ...saved }),
        expect.objectContaining({ jid: jid(0), pushName: 'Name 99' }),
      ],
    ]);
    expect(synced[1][2].profilePictureUrl).toBeUndefined();
  });

  it('applies the LID mappings a database outage held in the order WhatsApp revealed them', async () => {
    // The latest mapping of a LID wins (lidOf, the merges that follow): order is what is stored.
    let down = true;
    const applied: string[] = [];
    const applyLidMapping = vi.fn(async (event: WaLidMappingEvent) => {
      if (down) throw unreachable();
      applied.push(event.pn);
    });
    const listener = new ContactsSyncListener(
      { applyLidMapping } as unknown as ContactsSyncService,
      {} as CustomerLinksService,
    );
    const mapping = (pn: string) =>
      ({ sessionId: 'org_main', lid: '1@lid', pn }) as WaLidMappingEvent;
    const first = listener.onLidMapping(mapping('201000000001'));
    // The first waited out two tries (its next one is a while off) when the second comes.
    await vi.waitFor(() => expect(applyLidMapping).toHaveBeenCalledTimes(2), { timeout: 5_000 });
    const second = listener.onLidMapping(mapping('201000000002'));
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    down = false;

    await Promise.all([first, second]);
    expect(applied).toEqual(['201000000001', '201000000002']);
  });
  describe('LID mappings held by a database outage', () => {
    /** A listener whose database is away until `back()`; records the mappings applied. */
    function duringOutage() {
      let down = true;
      const applied: string[] = [];
      const applyLidMapping = vi.fn(async (event: WaLidMappingEvent) => {
        if (down) throw unreachable();
        applied.push(`${event.lid}>${event.pn}`);
      });
      const listener = new ContactsSyncListener(
        { applyLidMapping } as unknown as ContactsSyncService,
        {} as CustomerLinksService,
      );
      const reveal = (lid: string, pn: string) =>
        listener.onLidMapping({
          sessionId: 'org_main',
          organizationId: 'org',
          sessionName: 'main',
          lid: `${lid}@lid`,
          pn: `${pn}@s.whatsapp.net`,
        });
      return { applyLidMapping, applied, reveal, back: () => (down = false) };
    }

    it('skips a mapping already waiting for the same LID and phone, not one that a mapping in between changed', async () => {
      const { applyLidMapping, applied, reveal, back } = duringOutage();
      const first = reveal('1', '201000000001');
      await vi.waitFor(() => expect(applyLidMapping).toHaveBeenCalled());
      // WhatsApp repeats a mapping with each message of the sender while the database is away.
      const rest = [
        reveal('1', '201000000002'),
        reveal('1', '201000000002'), // the same as the one waiting: nothing more to apply
        reveal('2', '201000000003'), // another person: the one waiting stays the latest for both
        reveal('1', '201000000002'),
        reveal('1', '201000000001'), // the LID goes back to its first phone: not a duplicate
        reveal('3', '201000000001'), // the phone gets another LID
        reveal('1', '201000000001'), // so this one changes what is stored again
      ];
      back();
      await Promise.all([first, ...rest]);
      expect(applied).toEqual([
        '1@lid>201000000001@s.whatsapp.net',
        '1@lid>201000000002@s.whatsapp.net',
        '2@lid>201000000003@s.whatsapp.net',
        '1@lid>201000000001@s.whatsapp.net',
        '3@lid>201000000001@s.whatsapp.net',
        '1@lid>201000000001@s.whatsapp.net',
      ]);
    });

    it('holds at most MAX_HELD_LID_MAPPINGS per session, saying so once, and applies those in order', async () => {
      const error = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      const { applyLidMapping, applied, reveal, back } = duringOutage();
      const waiting = [reveal('0', '201000000000')];
      await vi.waitFor(() => expect(applyLidMapping).toHaveBeenCalled());
      const phone = (i: number) => String(201000000000 + i);
      for (let i = 1; i <= MAX_HELD_LID_MAPPINGS + 10; i++)
        waiting.push(reveal(String(i), phone(i)));
      // The ones past the cap are answered at once (dropped), the held ones once applied.
      let answered = 0;
      waiting.forEach((w) => void w.then(() => answered++));
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(answered).toBe(10);
      const full = error.mock.calls.filter(([, message]) =>
        String(message).startsWith('Too many LID mappings waiting'),
      );
      expect(full).toHaveLength(1);

      back();
      await Promise.all(waiting);
      expect(applied).toHaveLength(MAX_HELD_LID_MAPPINGS + 1);
      expect(applied.at(-1)).toBe(
        `${MAX_HELD_LID_MAPPINGS}@lid>${phone(MAX_HELD_LID_MAPPINGS)}@s.whatsapp.net`,
      );
    }, 60_000);
  });
});
