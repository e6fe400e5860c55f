import { randomUUID } from 'node:crypto';
import {
  RelayedWhatsAppError,
  SessionHolderUnavailableError,
  SessionNotFoundError,
  WhatsAppError,
} from '../errors';
import type {
  AskedRequest,
  HolderAnswer,
  HolderRequest,
  RelayedError,
} from '../session-state/holder-request';
import type { SessionStateStore } from '../session-state/session-state.store';

/** Requests stay readable this long, answered or not, then the database drops them. */
const REQUEST_RETENTION_MS = 10 * 60_000;
const ANSWER_POLL_MS = 100;

export interface HolderRelayOptions {
  instanceId: string;
  /** How often this instance looks for requests to the sessions it holds. */
  pollMs: number;
  /** How long an asker waits for the holder's answer. */
  answerTimeoutMs: number;
}

/**
 * What needs a session's live connection (QR, pairing code, restart, logout, contacts resync)
 * asked of the instance holding it, through the database: the asker leaves a request, the holder
 * takes it on its next poll, carries it out as if it had been asked directly and leaves the answer
 * (or the domain error) for the asker. No instance talks to another directly.
 */
export class HolderRelay {
  private timer?: NodeJS.Timeout;
  private polling?: Promise<void>;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly store: SessionStateStore,
    private readonly options: HolderRelayOptions,
    /** The sessions this instance holds, and those of them connected here. */
    private readonly held: () => { sessionIds: string[]; connected: string[] },
    private readonly carryOut: (sessionId: string, request: HolderRequest) => Promise<unknown>,
    private readonly onError: (message: string, err: unknown) => void,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.poll(), this.options.pollMs);
    this.timer.unref();
  }

  /** Takes no more requests; those under way are answered first. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.polling;
    await Promise.all(this.inFlight);
  }

  /**
   * Asks the holder and waits for its answer; its domain errors are thrown here as they were
   * there. While waiting, the session is looked at again: deleted, it is a 404; no longer held by
   * another live instance (released, expired), the request is withdrawn and `here` runs instead.
   * Past the wait, a request nobody took is withdrawn (it never runs later) and the caller gets a
   * 503; one the holder took is waited for once more, so what it runs is not reported as failed.
   */
  async ask(sessionId: string, request: HolderRequest, here: () => Promise<unknown>) {
    const id = await this.leave(sessionId, request);
    const started = Date.now();
    let deadline = started + this.options.answerTimeoutMs;
    let taken = false;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, ANSWER_POLL_MS));
      const answer = await this.store.holderAnswer(id);
      if (answer) return unwrap(answer);
      const timedOut = Date.now() >= deadline;
      if (taken) {
        if (timedOut) throw new SessionHolderUnavailableError(sessionId, Date.now() - started);
        continue;
      }
      // By the database's clock, as leases are taken: the asker's may be off.
      const heldElsewhere = await this.store.isLeasedElsewhere(sessionId, this.options.instanceId);
      if (heldElsewhere && !timedOut) continue;
      if (await this.store.withdrawHolderRequest(id)) {
        if (heldElsewhere) throw new SessionHolderUnavailableError(sessionId, Date.now() - started);
        if (!(await this.store.findBySessionId(sessionId)))
          throw new SessionNotFoundError(sessionId);
        return here();
      }
      taken = true; // the holder has it: its answer is worth one more wait
      deadline = Date.now() + this.options.answerTimeoutMs;
    }
  }

  /**
   * Asks the holder without waiting for the answer (work the caller only accepts, 202). Carried
   * out by whichever instance holds the session connected, this one too if it comes to hold it
   * (the holder died and this instance adopted the session): no asker is left to run it.
   */
  async tell(sessionId: string, request: HolderRequest): Promise<void> {
    await this.leave(sessionId, request, true);
  }

  /** One pass: takes the open requests to the sessions held here; each is answered when done. */
  poll(): Promise<void> {
    this.polling ??= this.takeAndCarryOut().finally(() => (this.polling = undefined));
    return this.polling;
  }

  private async leave(sessionId: string, request: HolderRequest, told = false): Promise<string> {
    const id = randomUUID();
    await this.store.askHolder({
      id,
      sessionId,
      request,
      askedBy: this.options.instanceId,
      expiresAt: new Date(Date.now() + REQUEST_RETENTION_MS),
      ...(told ? { told } : {}),
    });
    return id;
  }

  private async takeAndCarryOut(): Promise<void> {
    const { sessionIds, connected } = this.held();
    if (!sessionIds.length) return;
    try {
      const taken = await this.store.takeHolderRequests(
        sessionIds,
        this.options.instanceId,
        connected,
      );
      // Not awaited: a QR wait of one session must not hold up the requests to the others.
      for (const request of taken) this.track(this.answer(request));
    } catch (err) {
      this.onError('Reading the requests to held sessions failed', err);
    }
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async answer({ id, sessionId, request }: AskedRequest): Promise<void> {
    let answer: HolderAnswer;
    try {
      answer = { ok: true, value: await this.carryOut(sessionId, request) };
    } catch (err) {
      if (!(err instanceof WhatsAppError))
        this.onError(`Carrying out ${request.kind} for ${sessionId} failed`, err);
      answer = { ok: false, error: relayable(err) };
    }
    await this.store
      .answerHolderRequest(id, answer)
      .catch((err) => this.onError(`Answering ${request.kind} for ${sessionId} failed`, err));
  }
}

function unwrap(answer: HolderAnswer): unknown {
  if (answer.ok) return answer.value;
  throw new RelayedWhatsAppError(answer.error);
}

/** Domain errors travel as they are; anything else is the asker's internal error too. */
function relayable(err: unknown): RelayedError {
  if (err instanceof WhatsAppError)
    return {
      code: err.code,
      httpStatus: err.httpStatus,
      message: err.message,
      ...(err.details ? { details: err.details } : {}),
    };
  return { code: 'INTERNAL', httpStatus: 500, message: 'Internal server error' };
}
