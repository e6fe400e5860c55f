import { Injectable, Logger } from '@nestjs/common';
import { groupBy } from '@app/common';
import { WhatsAppSessionsService } from '../whatsapp-session/whatsapp-session.service';
import { ChatCountsService } from './chat-counts.service';
import { ChatsRepository } from './chats.repository';
import { MediaDownloadService } from './media-download.service';
import {
  EFFECTS_GRACE_MS,
  type OpenCreation,
  MessageCreationsRepository,
} from './message-creations.repository';
import { MessageStatusService } from './message-status.service';
import { changeTargetFilter, isChatMessage, type MessageRecord } from './message.types';
import { MessagesRepository } from './messages.repository';

/**
 * What follows the first store of messages (received, sent from the phone, or accepted for
 * sending): edits and revokes reach their target, the chat moves, listeners (stats, contacts, the
 * event log) hear of them, session activity, media downloads. Crash-safe: `begin` notes the ids
 * before the insert and `complete` deletes the note after the effects, so a crash in between
 * leaves a note that MessageEffectsRecovery replays. Edits, the chat snapshot, stats and the
 * event log are idempotent on replay; chat counts are recounted after it, and contact message
 * counts by the contacts listener (the event says `replayed`).
 */
@Injectable()
export class MessageCreationService {
  private readonly log = new Logger(MessageCreationService.name);

  constructor(
    private readonly creations: MessageCreationsRepository,
    private readonly messages: MessagesRepository,
    private readonly chats: ChatsRepository,
    private readonly counts: ChatCountsService,
    private readonly status: MessageStatusService,
    private readonly sessions: WhatsAppSessionsService,
    private readonly downloads: MediaDownloadService,
  ) {}

  /** Call before inserting messages that carry these ids. */
  begin(sessionId: string, messageIds: string[]): Promise<OpenCreation> {
    return this.creations.open(sessionId, messageIds);
  }

  /** Runs the effects for the messages the insert created (any subset of the noted ids), then closes the note. */
  complete(creation: OpenCreation, created: MessageRecord[], replayed = false): Promise<void> {
    return this.completeAll([creation], created, replayed);
  }

  /** `complete` for the messages of several notes of one session, in one run of the effects. */
  async completeAll(
    creations: OpenCreation[],
    created: MessageRecord[],
    replayed = false,
  ): Promise<void> {
    await this.runEffects(creations, created, replayed);
    await this.applyEarlyReceipts(created);
    await this.creations.close(creations.map((c) => c.id));
  }

  /**
   * Receipts of our messages typed on the phone that came before the message was stored: applied
   * after its effects (its status change is announced after its creation) and before its note
   * closes, so effects or receipts that fail are replayed by recovery, receipts included (they are
   * held in the database until applied, for any instance's recovery).
   */
  private async applyEarlyReceipts(created: MessageRecord[]): Promise<void> {
    const ours = created.filter((m) => m.direction === 'out' && m.waMessageId);
    for (const [sessionId, messages] of groupBy(ours, (m) => m.sessionId))
      await this.status.applyEarlyReceipts(
        sessionId,
        messages.map((m) => m.waMessageId!),
      );
  }

  /**
   * Runs the effects for the messages known to be stored and leaves the note open: an insert whose
   * answer was lost may have stored others of its ids, which recovery finds once the note is
   * stale (replaying these again, which effects allow).
   */
  completeLeavingOpen(creation: OpenCreation, created: MessageRecord[]): Promise<void> {
    return this.runEffects([creation], created, false);
  }

  private async runEffects(
    creations: OpenCreation[],
    created: MessageRecord[],
    replayed: boolean,
  ): Promise<void> {
    const sessionId = creations[0]?.sessionId;
    if (!sessionId || !created.length) return;
    // The chat first: an edit or revoke applied next finds its target as the chat's last message.
    // The changes that came before their targets are looked up meanwhile (a read: no order to keep).
    const [, earlier] = await Promise.all([
      this.counts.record(created),
      this.changesStoredBefore(sessionId, created),
    ]);
    await this.applyChanges(created, earlier);
    await this.status.emitCreated(sessionId, created, creations, replayed);
    await this.sessions.touchActivity(sessionId, new Date());
    for (const record of created)
      if (record.media?.downloadStatus === 'pending') this.downloads.schedule(record._id);
  }

  /** Keeps recovery off these open notes for another grace period: their effects are on the way. */
  hold(creations: OpenCreation[]): Promise<void> {
    return this.creations.hold(
      creations.map((c) => c.id),
      EFFECTS_GRACE_MS,
    );
  }

  /** The insert was refused: nothing was created under these ids that needs effects. */
  async abandon(creation: OpenCreation): Promise<void> {
    await this.creations.close([creation.id]).catch((err: unknown) => {
      // Left behind, the note is replayed later and finds no message: harmless.
      this.log.warn({ err, sessionId: creation.sessionId }, 'Could not close a creation note');
    });
  }

  /**
   * Recovery: the noted messages that were stored get their effects (again). Their chats' counts,
   * which may have counted them before the crash, are then recounted from the messages (unread:
   * those counted in, see Chat.countedThrough; written only if no count changed meanwhile).
   */
  async replay(creation: OpenCreation): Promise<number> {
    const stored = await this.messages.findByIds(creation.messageIds);
    await this.complete(creation, stored, true);
    const chats = new Map(stored.filter(isChatMessage).map((m) => [m.chatJid, m]));
    for (const m of chats.values())
      await this.counts.recount(m.sessionId, m.chatJid, { messages: true });
    return stored.length;
  }

  /** The stored edits and revokes of messages the batch brings (they arrived before them). */
  private changesStoredBefore(sessionId: string, created: MessageRecord[]) {
    const targets = created.flatMap((m) => (m.waMessageId && !m.targetId ? [m.waMessageId] : []));
    return targets.length ? this.messages.findChangesOf(sessionId, targets) : [];
  }

  /**
   * Edits and revokes reach the message they target, whichever came first: the batch's own, and
   * `earlier`, those stored before their targets in the batch. The newest edit wins.
   */
  private async applyChanges(created: MessageRecord[], earlier: MessageRecord[]): Promise<void> {
    const changes = new Map<string, MessageRecord>();
    for (const m of [...created.filter((m) => m.targetId), ...earlier])
      changes.set(String(m._id), m);
    for (const change of changes.values()) await this.applyToTarget(change);
  }

  private async applyToTarget(m: MessageRecord): Promise<void> {
    if (!m.targetId) return;
    const target = changeTargetFilter(m);
    if (m.type === 'edit' && m.editedText !== undefined) {
      await this.messages.applyEdit(target, m.editedText, new Date(m.timestamp));
    } else if (m.type === 'revoke') {
      await this.messages.setFields(target, { revoked: true });
    } else return;
    // The target as it now is (the newest edit won): the chat list shows that, or nothing.
    const changed = await this.messages.findOne(target);
    if (changed) await this.chats.refreshSnapshot(changed);
  }
}
