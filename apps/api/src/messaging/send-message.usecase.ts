import { type BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { Types } from 'mongoose';
import {
  AllowList,
  APP_CONFIG,
  type AppConfig,
  isTransientDatabaseError,
  KeyedBatchQueue,
  toJid,
} from '@app/common';
import type { WaSessionState } from '@app/whatsapp';
import { WhatsAppSessionsService } from '../whatsapp-session/whatsapp-session.service';
import type { SendMessageDto } from './dto/send-message.dto';
import { sendFingerprint } from './idempotency-fingerprint';
import { type IdempotencyClaim, IdempotencyRepository } from './idempotency.repository';
import { MEDIA_STORAGE, type MediaStorage } from './media/media-storage';
import { type MediaFetchPolicy, resolveMediaInput } from './media/media-input';
import { MessageCreationService } from './message-creation.service';
import { MessagesRepository, type NewMessage } from './messages.repository';
import {
  isChatMessage,
  type MessageRecord,
  type OutboundMediaType,
  type StoredMedia,
} from './message.types';
import {
  IdempotencyKeyInUseError,
  IdempotencyKeyReusedError,
  InvalidIdempotencyKeyError,
  ReplyTargetNotFoundError,
  ReplyTargetRevokedError,
  SessionLoggedOutError,
} from './messaging.errors';
import { OutboxDispatcher } from './outbox-dispatcher';

const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
/** How long a retry waits for a concurrent request with its key to store the message. */
const DUPLICATE_WAIT_MS = 2_000;
/**
 * A claim this old without its message was left by a request that died before storing it (an
 * accept takes at most the media download's MEDIA_FETCH_TIMEOUT_SECONDS, 60 s at most): a retry takes the key over instead of being
 * refused for the rest of the key's 24 h.
 */
export const ABANDONED_CLAIM_MS = 120_000;
/** Largest batch of one session's accepted sends stored together. */
const ACCEPT_BATCH = 100;

/** An insert the database may have applied though its answer never came. */
const isUnanswered = (outcome: MessageRecord | Error): outcome is Error =>
  outcome instanceof Error && isTransientDatabaseError(outcome);

/** The accepted message; `replayed` when an earlier request with the same Idempotency-Key holds it. */
export interface SendOutcome {
  message: MessageRecord;
  replayed: boolean;
}

/**
 * Accepts a send request: validate, store it in the outbox (status pending), answer 202.
 * The OutboxDispatcher sends it, so a crash after the 202 loses nothing.
 */
/**
 * A send being accepted: the id its Idempotency-Key claim holds (moved to the message's id), the
 * message's id once made, and the key its media was stored under.
 */
interface AcceptedRequest {
  claimId: string;
  idempotencyKey?: string;
  messageId?: string;
  mediaKey?: string;
}

@Injectable()
export class SendMessageUseCase implements BeforeApplicationShutdown {
  private readonly log = new Logger(SendMessageUseCase.name);
  private readonly mediaFetch: MediaFetchPolicy;
  /**
   * Group commit of accepted sends per session: what arrives while a batch is being stored is the
   * next batch, so a burst of requests costs a few writes per collection instead of a dozen round
   * trips per message; a lone request is stored at once. Per-item outcomes: one refused message
   * fails only its own request.
   */
  private readonly accepted = new KeyedBatchQueue<
    NewMessage & { _id: string },
    MessageRecord | Error
  >({
    maxBatch: ACCEPT_BATCH,
    process: (sessionId, messages) => this.store(sessionId, messages),
  });

  constructor(
    private readonly sessions: WhatsAppSessionsService,
    private readonly messages: MessagesRepository,
    private readonly creation: MessageCreationService,
    private readonly idempotency: IdempotencyRepository,
    private readonly dispatcher: OutboxDispatcher,
    @Inject(MEDIA_STORAGE) private readonly media: MediaStorage,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.mediaFetch = {
      allow: new AllowList(config.MEDIA_ALLOWED_HOSTS, 'MEDIA_ALLOWED_HOSTS'),
      timeoutMs: config.MEDIA_FETCH_TIMEOUT_SECONDS * 1000,
    };
  }

  /** Requests already accepted reach the database before the connection closes. */
  beforeApplicationShutdown(): Promise<void> {
    return this.accepted.idle();
  }

  async execute(
    organizationId: string,
    dto: SendMessageDto,
    idempotencyKey?: string,
  ): Promise<SendOutcome> {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey))
      throw new InvalidIdempotencyKeyError();
    // The id the key is claimed for (and the media stored under); the message gets its own.
    const request: AcceptedRequest = {
      claimId: new Types.ObjectId().toHexString(),
      idempotencyKey,
    };
    // The key first: a retry of a send that was accepted answers with it, also once its session
    // has been logged out or deleted since.
    if (idempotencyKey) {
      const claim = { messageId: request.claimId, fingerprint: sendFingerprint(dto) };
      const earlier = await this.holdKey(organizationId, idempotencyKey, claim);
      if (earlier) return { message: earlier, replayed: true };
    }
    try {
      const session = await this.sessions.getOwned(organizationId, dto.sessionName);
      if (session.status === 'logged_out')
        throw new SessionLoggedOutError(dto.sessionName, 'scan a new QR code before sending');
      return { message: await this.accept(request, session, dto), replayed: false };
    } catch (error) {
      await this.undoUnlessStored(organizationId, request);
      throw error;
    }
  }

  /**
   * Undoes what a request that failed holds, unless its message was stored before the failure (an
   * insert whose answer was lost): its key, which a retry then gets that message with instead of
   * sending it twice, and its stored media, which no message would ever send. When that cannot be
   * read, both are kept; a claim without its message is taken over after ABANDONED_CLAIM_MS.
   */
  private async undoUnlessStored(
    organizationId: string,
    { idempotencyKey, claimId, messageId, mediaKey }: AcceptedRequest,
  ): Promise<void> {
    if (!idempotencyKey && !mediaKey) return;
    const stored = messageId
      ? await this.messages.findOwned(organizationId, messageId).catch(() => undefined)
      : null;
    if (stored !== null) return;
    if (idempotencyKey) await this.idempotency.release(organizationId, idempotencyKey, claimId);
    if (mediaKey)
      await this.media.delete(mediaKey).catch((err: unknown) => {
        this.log.warn({ err, mediaKey }, "Could not delete a refused send's media");
      });
  }

  private async accept(
    request: AcceptedRequest,
    session: WaSessionState,
    dto: SendMessageDto,
  ): Promise<MessageRecord> {
    const { idempotencyKey } = request;
    const chatJid = toJid(dto.to);
    const quotedId = dto.replyTo ? await this.quotedWaId(session, dto.replyTo) : undefined;
    const media = dto.type && dto.type !== 'text' ? await this.storeMedia(request, dto) : undefined;
    // Id and date are made together, as the message is stored, after its media is in (a download
    // may take seconds): ids grow in store order (ChatPosition), so a customer's message that
    // arrived meanwhile is older than this send, in history and in the chat's unread count alike.
    const id = new Types.ObjectId().toHexString();
    request.messageId = id;
    if (idempotencyKey) {
      const moved = await this.idempotency.moveClaim(
        session.organizationId,
        idempotencyKey,
        request.claimId,
        id,
      );
      if (!moved) throw new IdempotencyKeyInUseError(idempotencyKey); // taken over meanwhile
      request.claimId = id;
    }
    const now = new Date();
    const message: NewMessage & { _id: string } = {
      _id: id,
      organizationId: session.organizationId,
      sessionId: session.sessionId,
      sessionName: session.sessionName,
      sessionCreatedAt: session.createdAt,
      sessionLoggedOutAt: session.loggedOutAt,
      direction: 'out',
      chatJid,
      fromMe: true,
      type: dto.type ?? 'text',
      quotedId,
      // Each person once, however spelled (+20…, 20…@s.whatsapp.net).
      mentions: dto.mentions && [...new Set(dto.mentions.map(toJid))],
      status: 'pending',
      attempts: 0,
      nextAttemptAt: now,
      idempotencyKey,
      timestamp: now,
    };
    if (media) {
      message.caption = dto.caption;
      message.media = media;
    } else {
      message.text = dto.text;
    }
    const stored = await this.accepted.push(session.sessionId, message);
    if (stored instanceof Error) throw stored;
    return stored;
  }

  /** Fetches or decodes the send's media and stores it under the request's claim id. */
  private async storeMedia(request: AcceptedRequest, dto: SendMessageDto): Promise<StoredMedia> {
    const type = dto.type as OutboundMediaType;
    const resolved = await resolveMediaInput(type, dto.media!, this.mediaFetch);
    const key = request.claimId;
    request.mediaKey = key; // before the put: one cut off leaves nothing, or what undo deletes
    await this.media.put(key, resolved.buffer);
    return {
      mimetype: resolved.mimetype,
      // A document without a name would reach the phone as "file": take the one its URL offered.
      fileName: dto.fileName ?? (type === 'document' ? resolved.offeredFileName : undefined),
      size: resolved.buffer.length,
      storageKey: key,
      downloadStatus: 'stored',
    };
  }

  /**
   * One note, one insert and one round of effects for a session's concurrent sends. Once stored, a
   * message is accepted: it goes out whatever happens to its effects (chat, stats, event log), and
   * those a failure cut off stay in the open note that MessageEffectsRecovery replays. So does a
   * message whose insert went unanswered (the connection broke): the database may have stored it.
   */
  private async store(
    sessionId: string,
    messages: Array<NewMessage & { _id: string }>,
  ): Promise<Array<MessageRecord | Error>> {
    const note = await this.creation.begin(
      sessionId,
      messages.map((m) => m._id),
    );
    const outcomes = await this.insertAll(messages);
    const stored = outcomes.filter((o): o is MessageRecord => !(o instanceof Error));
    const unanswered = outcomes.some(isUnanswered);
    const effects = unanswered
      ? this.creation.completeLeavingOpen(note, stored)
      : this.creation.complete(note, stored);
    await effects.catch((err: unknown) => {
      this.log.warn(
        { err, sessionId, messages: stored.length },
        'Effects of accepted sends failed; recovery replays them',
      );
    });
    if (stored.length) this.dispatcher.kick(sessionId);
    return outcomes;
  }

  /**
   * Each message's record or the error that kept it out. One whose insert went unanswered is read
   * back: stored, it is accepted as any other; otherwise (or unreadable) its error stays.
   */
  private async insertAll(
    messages: Array<NewMessage & { _id: string }>,
  ): Promise<Array<MessageRecord | Error>> {
    const outcomes = await this.messages.insertAll(messages).catch((error: unknown) => {
      const failure = error instanceof Error ? error : new Error(String(error));
      return messages.map(() => failure);
    });
    const unanswered = messages.filter((_, i) => isUnanswered(outcomes[i]));
    if (!unanswered.length) return outcomes;
    const found = await this.messages.findByIds(unanswered.map((m) => m._id)).catch(() => []);
    const byId = new Map(found.map((m) => [String(m._id), m]));
    return outcomes.map((outcome, i) => byId.get(messages[i]._id) ?? outcome);
  }

  /**
   * WhatsApp's id of the message a reply quotes: a chat message of the same session (not a
   * reaction, edit or revoke, which cannot be replied to), not deleted for everyone (the quote
   * would show the deleted content again).
   */
  private async quotedWaId(session: WaSessionState, replyTo: string): Promise<string> {
    const quoted = await this.messages.findOwned(session.organizationId, replyTo).catch(() => null);
    if (
      !quoted ||
      quoted.sessionId !== session.sessionId ||
      !quoted.waMessageId ||
      !isChatMessage(quoted)
    )
      throw new ReplyTargetNotFoundError();
    if (quoted.revoked) throw new ReplyTargetRevokedError();
    return quoted.waMessageId;
  }

  /**
   * Claims the key for this request (undefined), or returns the message of the earlier request
   * that holds it. A holder that has not stored its message is still at work (409, retry) or died
   * before storing it (its claim is taken over).
   */
  private async holdKey(
    organizationId: string,
    key: string,
    claim: IdempotencyClaim,
  ): Promise<MessageRecord | undefined> {
    const holder = await this.idempotency.claim(organizationId, key, claim, new Date());
    if (holder.messageId === claim.messageId) return undefined;
    // Keys claimed before fingerprints were stored have none: they replay as they did then.
    if (holder.fingerprint !== undefined && holder.fingerprint !== claim.fingerprint)
      throw new IdempotencyKeyReusedError(key);
    const message = await this.waitForMessage(organizationId, key, holder.messageId);
    if (message) return message;
    if (Date.now() - holder.claimedAt.getTime() < ABANDONED_CLAIM_MS)
      throw new IdempotencyKeyInUseError(key);
    const taken = await this.idempotency.takeOver(
      organizationId,
      key,
      holder.messageId,
      claim,
      new Date(),
    );
    if (taken.messageId === claim.messageId) return undefined;
    throw new IdempotencyKeyInUseError(key); // another retry took it over first
  }

  /**
   * A concurrent request with the same key may still be writing its message (media downloads
   * take seconds). Its claim moves to the message's id when the message is stored (see accept),
   * so the claim is read again, less often as the wait grows: two reads per round.
   */
  private async waitForMessage(
    organizationId: string,
    key: string,
    claimedId: string,
  ): Promise<MessageRecord | undefined> {
    const deadline = Date.now() + DUPLICATE_WAIT_MS;
    let id = claimedId;
    for (let pause = 25; ; pause = Math.min(pause * 2, 400)) {
      const message = await this.messages.findOwned(organizationId, id);
      if (message || Date.now() >= deadline) return message ?? undefined;
      await new Promise((r) => setTimeout(r, Math.min(pause, Math.max(deadline - Date.now(), 0))));
      id = (await this.idempotency.holderOf(organizationId, key))?.messageId ?? id;
    }
  }
}
