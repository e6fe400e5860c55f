import { type BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { AuthUser } from '../auth/auth-user';
import type { EventStreamQueryDto } from './dto/events.dto';
import { EventOutboxService } from './event-outbox.service';
import { EventStreamAuthService } from './event-stream-auth.service';
import { InvalidLastEventIdError } from './events.errors';
import { EVENTS_OPTIONS, type EventsOptions } from './events.options';
import { type StoredEvent, toEnvelope } from './events.types';
import { EventTailService } from './event-tail.service';

const REPLAY_PAGE = 500;
const EVENT_ID = /^[0-9a-fA-F]{24}$/;

/**
 * `GET /events` as Server-Sent Events, to a user EventStreamAuthGuard authenticated. Per
 * connection: subscribe to the organization's live tail (buffered; it delivers in sequence order
 * whichever instance wrote the event), write the headers, replay stored events after
 * Last-Event-ID up to the tail's position, flush the buffer, then stream live. `id:` is the event
 * id, so a reconnecting EventSource resumes by itself. Heartbeat comments keep proxies from
 * timing out.
 */
@Injectable()
export class EventStreamService implements BeforeApplicationShutdown {
  private readonly log = new Logger(EventStreamService.name);
  private readonly open = new Set<() => void>();

  constructor(
    private readonly outbox: EventOutboxService,
    private readonly tails: EventTailService,
    private readonly auth: EventStreamAuthService,
    @Inject(EVENTS_OPTIONS) private readonly options: EventsOptions,
  ) {}

  beforeApplicationShutdown(): void {
    for (const close of [...this.open]) close();
  }

  get connections(): number {
    return this.open.size;
  }

  async stream(
    user: AuthUser,
    req: Request,
    res: Response,
    query: EventStreamQueryDto,
  ): Promise<void> {
    const organizationId = user.organizationId;
    const headerId = req.headers['last-event-id'];
    const lastEventId =
      (Array.isArray(headerId) ? headerId[0] : headerId)?.trim() || query.lastEventId;
    if (lastEventId && !EVENT_ID.test(lastEventId)) throw new InvalidLastEventIdError();
    // Another organization's event id only tells a point in time: replay by id then.
    const resumeFrom = lastEventId ? await this.outbox.findById(lastEventId) : null;
    const resumeSeq = resumeFrom?.organizationId === organizationId ? resumeFrom.seq : undefined;

    const types = query.types?.length ? new Set<string>(query.types) : undefined;
    const wanted = (e: StoredEvent) =>
      (!types || types.has(e.type)) && (!query.sessionName || e.sessionName === query.sessionName);
    let position = 0; // the last sequence number sent (or passed over by the filter)
    let buffered: StoredEvent[] | undefined = [];
    let closed = false;
    const write = (events: StoredEvent[]) => {
      for (const event of events)
        if (!closed && wanted(event))
          res.write(`id: ${event.id}\ndata: ${JSON.stringify(toEnvelope(event))}\n\n`);
      // A client this far behind is dropped; it reconnects with Last-Event-ID and replays from the outbox.
      if (res.writableLength > this.options.maxStreamBufferBytes) close();
    };
    /** Live and sequence-replayed events: each sequence number once, in order. */
    const send = (events: StoredEvent[]) => {
      const fresh = events.filter((event) => event.seq! > position);
      if (fresh.length) position = fresh[fresh.length - 1].seq!;
      write(fresh);
    };
    const tail = await this.tails.subscribe(organizationId, (events) =>
      buffered ? buffered.push(...events) : send(events),
    );

    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.write(`retry: 3000\n: stream open for organization ${organizationId}\n\n`);

    const close = () => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      tail.unsubscribe();
      this.open.delete(close);
      res.end();
    };
    const heartbeat = setInterval(() => {
      if (closed) return;
      res.write(`: heartbeat ${new Date().toISOString()}\n\n`);
      // Access is checked again as often: a user disabled, or the module switched off, ends the
      // stream (a reconnect is then refused). A failed check keeps it; the next one decides.
      this.auth.stillAllowed(user).then(
        (allowed) => allowed || close(),
        (err: unknown) => this.log.warn({ err, organizationId }, 'SSE access check failed'),
      );
    }, this.options.heartbeatMs);
    this.open.add(close);
    req.on('close', close);
    res.on('error', close);
    // A client that left while the stream was set up (its close came before these listeners) would
    // otherwise hold its tail subscription and heartbeat for good.
    if (req.socket.destroyed) close();

    try {
      const filter = { types: query.types, sessionName: query.sessionName };
      const upto = tail.position; // the tail delivers what follows
      if (resumeSeq !== undefined) {
        position = resumeSeq;
        for (let after = resumeSeq; after < upto && !closed;) {
          const page = await this.outbox.findBySequence(
            organizationId,
            { afterSeq: after, uptoSeq: upto },
            filter,
            REPLAY_PAGE,
          );
          send(page.events);
          after = page.through;
        }
      } else if (lastEventId) {
        // An event stored before sequence numbers existed, or one the retention already removed.
        for (let cursor = lastEventId; !closed;) {
          const page = await this.outbox.findAfter(organizationId, cursor, filter, REPLAY_PAGE);
          write(page.filter((event) => event.seq === undefined || event.seq <= upto));
          if (page.length < REPLAY_PAGE) break;
          cursor = page[page.length - 1].id;
        }
      }
      position = Math.max(position, tail.position);
      const pending = buffered;
      buffered = undefined;
      send(pending);
    } catch (err) {
      this.log.warn({ err, organizationId }, 'SSE replay failed');
      close();
    }
  }
}
