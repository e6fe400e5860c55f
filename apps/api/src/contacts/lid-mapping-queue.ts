import { KeyedBatchQueue } from '@app/common';
import type { WaLidMappingEvent } from '@app/whatsapp';
import { toLid, toPhone } from './contact-identity';

export interface LidMappingQueueOptions {
  /** Applies one mapping; must not throw (a failure is the caller's to log). */
  apply: (event: WaLidMappingEvent) => Promise<void>;
  /** Most mappings one session holds waiting for their turn; further ones are dropped. */
  maxHeld: number;
  /** Told once when a session starts dropping, again only after its queue ran empty. */
  onFull: (sessionId: string) => void;
}

/** A mapping waiting for its turn. */
interface Held {
  event: WaLidMappingEvent;
  /** Normalized pair; undefined when malformed (never taken for a duplicate). */
  lid?: string;
  phone?: string;
  applied?: Promise<void>;
}

/** What one session holds: how many, and the latest held per LID and per phone. */
interface SessionHeld {
  count: number;
  byLid: Map<string, Held>;
  byPhone: Map<string, Held>;
  full: boolean;
}

/**
 * LID mappings per session, applied one by one in the order WhatsApp revealed them (a LID's
 * latest phone wins, a phone's latest LID too, and each merge follows from the ones before), so
 * during a database outage only the first waits it out and the rest queue behind it. Not folded:
 * a merge depends on the contacts the mappings before it left.
 *
 * Bounded, losing nothing that is not recovered: WhatsApp repeats a mapping with each message of
 * its sender, so one equal to the latest held for both its LID and its phone is a no-op duplicate
 * and is not held again (it settles with the one held). Past `maxHeld` distinct ones a session's
 * further mappings are dropped; each comes again with its sender's next message, which carries
 * both the LID and the phone (and joins the two contacts from there).
 */
export class LidMappingQueue {
  private readonly sessions = new Map<string, SessionHeld>();
  private readonly queue: KeyedBatchQueue<Held>;

  constructor(private readonly options: LidMappingQueueOptions) {
    this.queue = new KeyedBatchQueue<Held>({
      maxBatch: 100,
      process: async (sessionId, batch) => {
        for (const held of batch) {
          this.release(sessionId, held); // applied now: no longer a duplicate to skip
          await options.apply(held.event);
        }
        return batch.map(() => undefined);
      },
    });
  }

  /** Resolves once the mapping was applied, or at once when it was dropped. */
  push(event: WaLidMappingEvent): Promise<void> {
    const sessionId = event?.sessionId ?? '';
    const session = this.sessionOf(sessionId);
    const lid = toLid(event?.lid);
    const phone = toPhone(event?.pn);
    if (lid && phone) {
      const latest = session.byLid.get(lid);
      if (latest?.applied && latest === session.byPhone.get(phone)) return latest.applied;
    }
    if (session.count >= this.options.maxHeld) {
      if (!session.full) this.options.onFull(sessionId);
      session.full = true;
      return Promise.resolve();
    }
    const held: Held = { event, lid, phone };
    session.count += 1;
    if (lid && phone) {
      session.byLid.set(lid, held);
      session.byPhone.set(phone, held);
    }
    held.applied = this.queue.push(sessionId, held);
    return held.applied;
  }

  /** Mappings of the session waiting for their turn (the one being applied not counted). */
  heldCount(sessionId: string): number {
    return this.sessions.get(sessionId)?.count ?? 0;
  }

  private sessionOf(sessionId: string): SessionHeld {
    let session = this.sessions.get(sessionId);
    if (!session) {
      session = { count: 0, byLid: new Map(), byPhone: new Map(), full: false };
      this.sessions.set(sessionId, session);
    }
    return session;
  }

  private release(sessionId: string, held: Held): void {
    const session = this.sessions.get(sessionId);
    if (!session) return;
    session.count -= 1;
    if (held.lid && session.byLid.get(held.lid) === held) session.byLid.delete(held.lid);
    if (held.phone && session.byPhone.get(held.phone) === held) session.byPhone.delete(held.phone);
    if (session.count === 0) this.sessions.delete(sessionId); // ran empty: dropping is told again
  }
}
