import { randomBytes } from 'node:crypto';
import { Types } from 'mongoose';

const COUNTER_MAX = 0xffffff;

/**
 * Event ids: 12-byte ObjectIds laid out as [4 B unix seconds][2 B milliseconds][3 B counter]
 * [3 B per-process random]. Within a process they strictly increase; `seed` (the newest stored id,
 * read at boot) keeps them increasing across restarts even when the clock has not moved on (a
 * restart within the same second). The random tail keeps concurrent instances from colliding.
 * Plain ObjectIds would not do: their random middle makes two processes' ids of one second
 * compare in arbitrary order, and SSE resume relies on "id > Last-Event-ID".
 */
export class EventIdGenerator {
  private lastMs = 0;
  private counter = 0;
  private readonly tail: string;

  constructor(
    private readonly now: () => number = Date.now,
    tail: Buffer = randomBytes(3),
  ) {
    this.tail = tail.toString('hex');
  }

  /** Never hand out an id at or below `id`. */
  seed(id: string | undefined): void {
    if (!id || !/^[0-9a-f]{24}$/i.test(id)) return;
    const ms = parseInt(id.slice(0, 8), 16) * 1000 + (parseInt(id.slice(8, 12), 16) % 1000);
    const counter = parseInt(id.slice(12, 18), 16);
    if (ms > this.lastMs || (ms === this.lastMs && counter > this.counter)) {
      this.lastMs = ms;
      this.counter = counter;
    }
  }

  next(): string {
    const now = this.now();
    if (now > this.lastMs) {
      this.lastMs = now;
      this.counter = 0;
    } else if (this.counter >= COUNTER_MAX) {
      this.lastMs += 1;
      this.counter = 0;
    } else {
      this.counter += 1;
    }
    const seconds = Math.floor(this.lastMs / 1000);
    const millis = this.lastMs % 1000;
    return (
      seconds.toString(16).padStart(8, '0') +
      millis.toString(16).padStart(4, '0') +
      this.counter.toString(16).padStart(6, '0') +
      this.tail
    );
  }

  nextObjectId(): Types.ObjectId {
    return new Types.ObjectId(this.next());
  }
}
