/** The part of Baileys' event buffer (`sock.ev`) the watchdog uses. */
export interface BufferedEventSource {
  isBuffering(): boolean;
  flush(): boolean;
  /** Called with each batch of events Baileys releases; returns the unsubscribe. */
  process(handler: () => void): () => void;
}

/** How long Baileys may hold its events with nothing released before the watchdog releases them. */
export const EVENT_BUFFER_STALL_MS = 1_000;
const TICK_MS = 250;

/**
 * Releases Baileys' event buffer when it holds events longer than it means to.
 *
 * Baileys (7.0.0-rc14) buffers its bufferable events (messages.upsert, contacts, history sets…)
 * while it handles a node and means to release them 100 ms later. But a buffered call whose
 * release timer fires after another path flushed (the offline queue's end, a node handled with its
 * own flush) leaves that timer's handle set; from then on a lone buffered call schedules no release
 * at all, and what it emitted waits for some later node's flush or Baileys' 30 s safety timeout.
 * Seen on the emulator after a reconnect: the last history-sync chunk of an offline queue (an
 * address-book name) came 25–30 s after the others. Flushing early only gives up merging: Baileys
 * releases the same events, in the same order, as its own timeout does.
 */
export class EventBufferWatchdog {
  private static readonly watched = new Set<EventBufferWatchdog>();
  private static ticker?: NodeJS.Timeout;

  /** When the buffer was first seen holding with nothing released since (undefined: not holding). */
  private heldSince?: number;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly events: BufferedEventSource,
    private readonly onRelease: (heldMs: number) => void,
    private readonly stallMs = EVENT_BUFFER_STALL_MS,
  ) {
    this.unsubscribe = events.process(() => {
      this.heldSince = undefined; // released: a buffer seen from now on is a new one
    });
    EventBufferWatchdog.watched.add(this);
    EventBufferWatchdog.ticker ??= setInterval(() => EventBufferWatchdog.tick(), TICK_MS).unref();
  }

  stop(): void {
    this.unsubscribe();
    EventBufferWatchdog.watched.delete(this);
    if (EventBufferWatchdog.watched.size || !EventBufferWatchdog.ticker) return;
    clearInterval(EventBufferWatchdog.ticker);
    EventBufferWatchdog.ticker = undefined;
  }

  /** One timer for every connection's watchdog: hundreds of sessions, not hundreds of timers. */
  private static tick(): void {
    const now = Date.now();
    for (const watchdog of EventBufferWatchdog.watched) watchdog.check(now);
  }

  private check(now: number): void {
    if (!this.events.isBuffering()) {
      this.heldSince = undefined;
      return;
    }
    this.heldSince ??= now;
    const heldMs = now - this.heldSince;
    if (heldMs < this.stallMs) return;
    this.heldSince = undefined;
    if (this.events.flush()) this.onRelease(heldMs);
  }
}
