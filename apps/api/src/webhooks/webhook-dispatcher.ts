import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { EventOutboxService } from '../events/event-outbox.service';
import { type StoredEvent, toEnvelope } from '../events/events.types';
import { nextAttemptAt } from './webhook-backoff';
import {
  type AttemptOutcome,
  type DeliveryRecord,
  type Lane,
  WebhookDeliveriesRepository,
} from './webhook-deliveries.repository';
import { WebhookDirectory } from './webhook-directory';
import { WebhookLaneScheduler } from './webhook-lane-scheduler';
import { postWebhook } from './webhook-sender';
import { signWebhookPayload } from './webhook-signature';
import { WEBHOOK_OPTIONS, type WebhookOptions } from './webhooks.options';
import { type WebhookRecord, WebhooksRepository } from './webhooks.repository';
import {
  INSTANCE_ID,
  releasePreviousRunClaims,
  resolveAllowedTarget,
  UrlNotAllowedError,
} from '@app/common';

const BODY_CACHE_SIZE = 10_000;
/** Unfinished rows of a lane read at once (walked in order, one attempt at a time). */
const LANE_BATCH = 100;
const USER_AGENT = 'WA-Gateway-Webhooks/0.1';
const laneKey = (lane: Lane) => `${lane.webhookId}|${lane.sessionName}`;
/** A shutdown waits for attempts in flight this much past their own timeout before cutting them off. */
const SHUTDOWN_MARGIN_MS = 2_000;

/** Lanes one poll hands to the scheduler at most (32 run at once; the rest queue, fairly). */
const DUE_LANES_PER_POLL = 256;

/**
 * Delivers webhook rows. Work is organised in lanes, (webhook, session): a lane runs one delivery
 * at a time, always its oldest unfinished row, so a session's events reach a webhook in order; a
 * row waiting for its retry holds its lane (later events wait; other lanes go on).
 *
 * Lanes start when fan-out creates rows (in-process kick), when a retry falls due (timer), and from
 * a poll (restart recovery, other instances, expired claims). A row is claimed with a lease
 * (findOneAndUpdate pending → delivering) in this instance's name, so several instances can share
 * the work. Before its first claim, a process releases the claims left under its own name (its
 * previous run crashed mid-attempt): those lanes go on at once instead of after the lease.
 *
 * Which lanes run is up to the WebhookLaneScheduler: a cap per instance and a smaller one per
 * organization (an attempt can hold its slot for the whole timeout), waiting lanes admitted
 * round-robin by organization, so one tenant's slow receivers cannot hold up another's deliveries.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger(WebhookDispatcher.name);
  private readonly lanes: WebhookLaneScheduler<Lane>;
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly inflight = new Set<AbortController>();
  private readonly bodies = new Map<string, { type: string; body: string }>();
  private pollTimer?: NodeJS.Timeout;
  private polling = false;
  private stopped = false;
  private ownClaimsReleased?: Promise<void>;

  constructor(
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly webhooks: WebhooksRepository,
    private readonly directory: WebhookDirectory,
    private readonly outbox: EventOutboxService,
    @Inject(WEBHOOK_OPTIONS) private readonly options: WebhookOptions,
    @Inject(INSTANCE_ID) private readonly instanceId: string,
  ) {
    this.lanes = new WebhookLaneScheduler<Lane>(
      () => ({
        total: options.maxConcurrentLanes,
        perOrganization: options.maxConcurrentLanesPerOrganization,
      }),
      (lane) => this.runLane(lane),
      (err, key) => this.log.error({ err, lane: key }, 'Webhook lane failed'),
    );
  }

  onApplicationBootstrap(): void {
    void this.poll();
    this.pollTimer = setInterval(() => void this.poll(), this.options.pollIntervalMs);
    this.pollTimer.unref();
  }

  /**
   * No attempt starts any more; those in flight finish (each within its timeout) and are recorded,
   * as the receiver may have the whole body already: cut off and released, such an attempt was
   * made again by the next owner, and the event delivered twice. The rest is left, pending, to the
   * next owner. One still running well past the timeout is cut off and released after all.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.pollTimer);
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    const running = this.lanes.stop();
    const cutOff = setTimeout(() => {
      for (const controller of this.inflight) controller.abort();
    }, this.options.timeoutMs + SHUTDOWN_MARGIN_MS);
    try {
      await running;
    } finally {
      clearTimeout(cutOff);
    }
  }

  /** Bodies of freshly stored events, so the first attempt needs no read. */
  remember(events: StoredEvent[]): void {
    for (const event of events) {
      this.bodies.set(event.id, { type: event.type, body: JSON.stringify(toEnvelope(event)) });
      if (this.bodies.size > BODY_CACHE_SIZE)
        this.bodies.delete(this.bodies.keys().next().value as string);
    }
  }

  kick(lanes: Lane[]): void {
    for (const lane of lanes) this.start(lane);
  }

  /** One pass of the safety net: expired claims back to pending, then every lane with due work. */
  async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      await this.releaseOwnClaims();
      const now = new Date();
      await this.deliveries.recoverExpiredLeases(now);
      this.kick(
        await this.deliveries.dueLanes(now, DUE_LANES_PER_POLL, {
          // Two rounds of an organization's slots; one whose lanes already wait here gets none.
          perOrganization: 2 * this.options.maxConcurrentLanesPerOrganization,
          skipOrganizations: this.lanes.waitingOrganizations(),
        }),
      );
    } catch (err) {
      this.log.warn({ err }, 'Webhook poll failed');
    } finally {
      this.polling = false;
    }
  }

  /**
   * Once per process, before its first claim (the poll and every lane wait for it; fan-out may
   * start lanes before the bootstrap): claims under this instance's id are its previous run's, cut
   * off by a crash, and are due now. Done once only: a later pass would take this run's own
   * attempts in flight. Should it fail, those claims wait out their lease as before.
   */
  private releaseOwnClaims(): Promise<void> {
    return (this.ownClaimsReleased ??= releasePreviousRunClaims(
      () => this.deliveries.releaseClaimsOf(this.instanceId, new Date()),
      this.log,
      this.instanceId,
      'webhook deliveries',
    ));
  }

  private start(lane: Lane): void {
    if (!this.stopped) this.lanes.submit(laneKey(lane), lane);
  }

  private wakeAt(lane: Lane, at: Date): void {
    if (this.stopped) return;
    const key = laneKey(lane);
    const existing = this.timers.get(key);
    if (existing && existing.at <= at.getTime()) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(
      () => {
        this.timers.delete(key);
        this.start(lane);
      },
      Math.max(0, at.getTime() - Date.now()),
    );
    timer.unref();
    this.timers.set(key, { at: at.getTime(), timer });
  }

  private async runLane(lane: Lane): Promise<void> {
    await this.releaseOwnClaims();
    while (!this.stopped) {
      const heads = await this.deliveries.laneHeads(lane, LANE_BATCH);
      if (!heads.length) return;
      for (const head of heads) {
        if (this.stopped || head.status === 'delivering') return; // shutting down, or in flight on another instance
        const now = new Date();
        if (head.nextAttemptAt.getTime() > now.getTime())
          return this.wakeAt(lane, head.nextAttemptAt);
        const webhook = await this.webhookOf(head.organizationId, lane.webhookId);
        // Deleted during a fan-out that then created these rows: they go as its log went.
        if (!webhook) return this.deliveries.deleteByWebhook(head.webhookId);
        if (!webhook.enabled) {
          await this.deliveries.failPendingOfWebhook(head.webhookId, 'Webhook disabled', now);
          return;
        }
        const claimed = await this.deliveries.claim(
          head._id,
          now,
          new Date(now.getTime() + this.options.leaseMs),
          this.instanceId,
        );
        if (!claimed) break; // changed meanwhile (retry requested, disabled, another instance): re-read the lane
        if (!(await this.attempt(claimed, webhook, lane))) return;
      }
    }
  }

  /**
   * The webhook as cached, unless the cache has it gone or disabled: that fails every pending
   * delivery, so the database decides (the cache may be behind another instance's create or
   * re-enable, whose fan-out made these rows).
   */
  private async webhookOf(
    organizationId: string,
    webhookId: string,
  ): Promise<WebhookRecord | undefined> {
    const cached = await this.directory.get(organizationId, webhookId);
    if (cached?.enabled) return cached;
    const stored = await this.webhooks.findById(webhookId);
    if (stored?.enabled) this.directory.invalidate(organizationId);
    return stored ?? undefined;
  }

  /** true when the lane may go on to its next row; false when it waits (retry scheduled, or shutdown). */
  private async attempt(
    delivery: DeliveryRecord,
    webhook: WebhookRecord,
    lane: Lane,
  ): Promise<boolean> {
    const eventId = String(delivery.eventId);
    const attempts = delivery.attempts + 1;
    const payload = this.bodies.get(eventId) ?? (await this.loadBody(eventId));
    if (!payload) {
      await this.deliveries.markFailed(delivery._id, {
        attempts: delivery.attempts,
        at: new Date(),
        error: 'The event is no longer stored (retention)',
        durationMs: 0,
      });
      return true;
    }
    let addresses;
    try {
      addresses = await resolveAllowedTarget(
        webhook.url,
        this.options.allowList,
        this.options.resolver,
      );
    } catch (err) {
      // DNS rebinding or a changed record: the host now points somewhere we refuse to call.
      const error =
        err instanceof UrlNotAllowedError ? err.message : `DNS: ${(err as Error).message}`;
      return this.onFailure(delivery, webhook, lane, {
        attempts,
        at: new Date(),
        error,
        durationMs: 0,
      });
    }
    let secret: string;
    try {
      secret = this.options.secrets.open(webhook.secret);
    } catch (err) {
      return this.onFailure(delivery, webhook, lane, {
        attempts,
        at: new Date(),
        error: `${(err as Error).message} (SECRETS_KEY or JWT_SECRET); rotate the webhook secret`,
        durationMs: 0,
      });
    }
    if (this.stopped) {
      await this.deliveries.release(delivery._id, new Date()); // not sent yet: the next owner's
      return false;
    }
    const timestamp = Math.floor(Date.now() / 1000);
    const controller = new AbortController();
    this.inflight.add(controller);
    const result = await postWebhook({
      url: webhook.url,
      body: payload.body,
      timeoutMs: this.options.timeoutMs,
      addresses,
      signal: controller.signal,
      headers: {
        'Content-Type': 'application/json',
        'User-Agent': USER_AGENT,
        'X-Webhook-Id': eventId,
        'X-Webhook-Timestamp': String(timestamp),
        'X-Webhook-Signature': signWebhookPayload(secret, timestamp, payload.body),
        'X-Webhook-Event': payload.type,
        'X-Webhook-Delivery': String(delivery._id),
        'X-Webhook-Attempt': String(attempts),
      },
    }).finally(() => this.inflight.delete(controller));
    const at = new Date();
    if (controller.signal.aborted && this.stopped) {
      await this.deliveries.release(delivery._id, at); // cut off by a shutdown: not an attempt
      return false;
    }
    const outcome: AttemptOutcome = {
      attempts,
      at,
      responseCode: result.statusCode,
      error: result.error,
      durationMs: result.durationMs,
    };
    if (!result.ok) return this.onFailure(delivery, webhook, lane, outcome);
    await this.deliveries.markDelivered(delivery._id, outcome);
    if (webhook.failingSince) {
      await this.webhooks.recordSuccess(webhook._id);
      this.directory.invalidate(webhook.organizationId);
    }
    return true;
  }

  private async onFailure(
    delivery: DeliveryRecord,
    webhook: WebhookRecord,
    lane: Lane,
    outcome: AttemptOutcome,
  ): Promise<boolean> {
    const policy = {
      baseMs: this.options.retryBaseMs,
      capMs: this.options.maxRetryDelayMs,
      windowMs: this.options.retryWindowMs,
    };
    const next = nextAttemptAt(outcome.attempts, delivery.windowStart, outcome.at, policy);
    if (next) await this.deliveries.markRetry(delivery._id, outcome, next);
    else await this.deliveries.markFailed(delivery._id, outcome);
    const updated = await this.webhooks.recordFailure(
      webhook._id,
      outcome.at,
      outcome.error ?? 'Failed',
    );
    this.directory.invalidate(webhook.organizationId);
    if (
      updated?.enabled &&
      updated.failingSince &&
      outcome.at.getTime() - new Date(updated.failingSince).getTime() >= this.options.disableAfterMs
    ) {
      await this.disable(updated, outcome);
      return false;
    }
    if (next) this.wakeAt(lane, next);
    return !next;
  }

  private async disable(webhook: WebhookRecord, outcome: AttemptOutcome): Promise<void> {
    const hours = Math.round(this.options.disableAfterMs / 3_600_000);
    const reason = `Disabled automatically: every delivery attempt failed for ${hours} h (since ${new Date(webhook.failingSince!).toISOString()}); last error: ${outcome.error ?? 'unknown'}`;
    if (!(await this.webhooks.disable(webhook._id, reason, outcome.at))) return;
    await this.directory.changed(webhook.organizationId);
    const failed = await this.deliveries.failPendingOfWebhook(
      webhook._id,
      'Webhook disabled',
      outcome.at,
    );
    this.log.warn(
      {
        webhookId: String(webhook._id),
        organizationId: webhook.organizationId,
        failedDeliveries: failed,
      },
      'Webhook disabled after failing continuously',
    );
  }

  private async loadBody(eventId: string): Promise<{ type: string; body: string } | undefined> {
    const event = await this.outbox.findById(eventId);
    if (!event) return undefined;
    this.remember([event]);
    return this.bodies.get(eventId);
  }
}
