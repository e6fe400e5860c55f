import { makeEventBuffer } from '@whiskeysockets/baileys';
import { EVENT_BUFFER_STALL_MS, EventBufferWatchdog } from './event-buffer-watchdog';

const silent = {
  level: 'silent',
  child: () => silent,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/**
 * Baileys' own event buffer, brought into the state seen on the emulator: a buffered call whose
 * work saw another path flush (the offline queue's end) leaves its release timer's handle behind,
 * and every lone buffered call after it is released only by Baileys' 30 s safety timeout.
 */
async function stalledBuffer() {
  const ev = makeEventBuffer(silent as never);
  const released: string[] = [];
  ev.on('contacts.upsert', (contacts) => released.push(...contacts.map((c) => c.id)));
  const upsert = ev.createBufferedFunction(async (id: string, othersFlush: boolean) => {
    await Promise.resolve();
    if (othersFlush) ev.flush();
    ev.emit('contacts.upsert', [{ id }]);
  });
  await upsert('first', true);
  await vi.advanceTimersByTimeAsync(300);
  return { ev, released, upsert };
}

describe('EventBufferWatchdog', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('Baileys alone holds a lone buffered call until its 30 s timeout (the bug it works around)', async () => {
    const { ev, released, upsert } = await stalledBuffer();
    await upsert('last', false);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(released).toEqual(['first']);
    expect(ev.isBuffering()).toBe(true);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(released).toEqual(['first', 'last']);
  });

  it('releases a buffer held past the stall limit, within a tick of it', async () => {
    const { ev, released, upsert } = await stalledBuffer();
    const releases: number[] = [];
    const watchdog = new EventBufferWatchdog(ev, (heldMs) => releases.push(heldMs));
    try {
      await upsert('last', false);
      await vi.advanceTimersByTimeAsync(EVENT_BUFFER_STALL_MS + 500);
      expect(released).toEqual(['first', 'last']);
      expect(ev.isBuffering()).toBe(false);
      expect(releases).toHaveLength(1);
      expect(releases[0]).toBeGreaterThanOrEqual(EVENT_BUFFER_STALL_MS);
    } finally {
      watchdog.stop();
    }
  });

  it('leaves a buffer alone that Baileys releases on its own, and one that keeps releasing', async () => {
    const ev = makeEventBuffer(silent as never);
    const released: string[] = [];
    ev.on('contacts.upsert', (contacts) => released.push(...contacts.map((c) => c.id)));
    const upsert = ev.createBufferedFunction(async (id: string) => {
      ev.emit('contacts.upsert', [{ id }]);
    });
    const flush = vi.spyOn(ev, 'flush');
    const watchdog = new EventBufferWatchdog(ev, () => undefined);
    try {
      await upsert('a');
      await vi.advanceTimersByTimeAsync(200);
      expect(released).toEqual(['a']); // Baileys' own 100 ms release
      // A burst: buffered again and again, each released by Baileys within its 100 ms.
      for (let i = 0; i < 20; i++) {
        ev.buffer();
        ev.emit('contacts.upsert', [{ id: `b${i}` }]);
        await vi.advanceTimersByTimeAsync(150);
        ev.flush();
      }
      flush.mockClear();
      await vi.advanceTimersByTimeAsync(5_000);
      expect(flush).not.toHaveBeenCalled();
      expect(released).toHaveLength(21);
    } finally {
      watchdog.stop();
    }
  });

  it('stops watching once stopped (one shared timer, gone with the last watchdog)', async () => {
    const { ev, released, upsert } = await stalledBuffer();
    const watchdog = new EventBufferWatchdog(ev, () => undefined);
    watchdog.stop();
    await upsert('last', false);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(released).toEqual(['first']);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(released).toEqual(['first', 'last']);
  });
});
