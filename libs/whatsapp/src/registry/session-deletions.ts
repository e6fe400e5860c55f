import { WA_EVENTS } from '../events';
import type { WaSessionDeletionNote, WaSessionState } from '../session-state/session-state';
import type { SessionStateStore } from '../session-state/session-state.store';
import type { WaEventPublisher } from './event-publisher';

/**
 * Deletes session documents so that each deletion is announced once it happened, also when a crash
 * or a failed event write comes between the delete and its announcement: the deletion is noted
 * before the document goes, and the note dropped only once every subscriber (the event outbox)
 * recorded the announcement. `announceMissed` settles the notes left behind: a deletion that
 * happened is announced late (`replayed`), one whose document is still there (the delete failed
 * or never ran) is dropped unannounced once older than `settledAfterMs`: a recent one may be of a
 * delete under way on another instance, whose own announcement depends on it.
 */
export class SessionDeletions {
  constructor(
    private readonly store: SessionStateStore,
    private readonly publisher: WaEventPublisher,
    private readonly onError: (what: string, err: unknown) => void,
    private readonly settledAfterMs: number,
  ) {}

  /**
   * Deletes `doc` through `remove`; the deletion to `announce` once deleted, undefined when
   * `remove` deleted nothing. A throw of `remove` leaves the note to `announceMissed`, which finds
   * out whether the delete happened.
   */
  async delete(
    doc: WaSessionState,
    remove: () => Promise<boolean>,
  ): Promise<WaSessionDeletionNote | undefined> {
    const note: WaSessionDeletionNote = {
      sessionId: doc.sessionId,
      organizationId: doc.organizationId,
      sessionName: doc.sessionName,
      ...(doc.phone ? { phone: doc.phone } : {}),
      sessionCreatedAt: new Date(doc.createdAt),
      at: new Date(),
    };
    await this.store.noteDeletion(note);
    if (await remove()) return note;
    await this.store.dropDeletionNote(note);
    return undefined;
  }

  /**
   * Announces a deletion that happened. Never throws: the delete is done whatever happens to its
   * announcement, which a failure leaves to `announceMissed` (the note stays).
   */
  async announce(note: WaSessionDeletionNote): Promise<void> {
    await this.publish(note).catch((err: unknown) =>
      this.onError(`Announcing the deletion of session ${note.sessionId} failed`, err),
    );
  }

  /** Settles the deletion notes written before `before`; returns how many it announced. */
  async announceMissed(before: Date): Promise<number> {
    let announced = 0;
    const settled = Date.now() - this.settledAfterMs;
    for (const note of await this.store.listDeletionNotes(before)) {
      const doc = await this.store.findBySessionId(note.sessionId);
      const notDeleted =
        doc && new Date(doc.createdAt).getTime() === new Date(note.sessionCreatedAt).getTime();
      if (notDeleted) {
        if (new Date(note.at).getTime() <= settled) await this.store.dropDeletionNote(note);
      } else {
        await this.publish(note, true);
        announced++;
      }
    }
    return announced;
  }

  private async publish(note: WaSessionDeletionNote, replayed = false): Promise<void> {
    const { sessionId, organizationId, sessionName, phone, sessionCreatedAt, at } = note;
    // Throws a subscriber's failure: the note is kept for a later pass then.
    await this.publisher.publishOrThrow(WA_EVENTS.sessionDeleted, {
      sessionId,
      organizationId,
      sessionName,
      ...(phone ? { phone } : {}),
      createdAt: new Date(sessionCreatedAt),
      at: new Date(at),
      ...(replayed ? { replayed } : {}),
    });
    await this.store.dropDeletionNote(note);
  }
}
