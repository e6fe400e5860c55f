import { type BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { EventStreamQueryDto } from './dto/events.dto';
import { EventOutboxService } from './event-outbox.service';
import { EventStreamAuthService } from './event-stream-auth.service';
import { InvalidLastEventIdError } from './events.errors';
import { EVENTS_OPTIONS, type EventsOptions } from './events.options';
import { type StoredEvent, toEnvelope } from './events.types';

const REPLAY_PAGE = 500;
const EVENT_ID = /^[0-9a-fA-F]{24}$/;

/**
 * `GET /events` as Server-Sent Events. Per connection: authenticate, write the headers, subscribe
 * to the organization's live events (buffered), replay stored events after Last-Event-ID, flush the
 * buffer (skipping what the replay already sent), then stream live. `id:` is the event id, so a
 * reconnecting EventSource resumes by itself. Heartbeat comments keep proxies from timing out.
 */
@Injectable()
export class EventStreamService implements BeforeApplicationShutdown {
  private readonly log = new Logger(EventStreamService.name);
  private readonly open = new Set<() => void>();

  constructor(
    private readonly outbox: EventOutboxService,
    private readonly auth: EventStreamAuthService,
    @Inject(EVENTS_OPTIONS) private readonly options: EventsOptions,
  ) {}

  beforeApplicationShutdown(): void {
    for (const close of [...this.open]) close();
  }

  get connections(): number {
    return this.open.size;
  }

  async stream(req: Request, res: Response, query: EventStreamQueryDto): Promise<void> {
    const user = await this.auth.authenticate(req.headers.authorization, query.access_token);
    const headerId = req.headers['last-event-id'];
    const lastEventId =
      (Array.isArray(headerId) ? headerId[0] : headerId)?.trim() || query.lastEventId;
    if (lastEventId && !EVENT_ID.test(lastEventId)) throw new InvalidLastEventIdError();

    const types = query.types?.length ? new Set<string>(query.types) : undefined;
    const wanted = (e: StoredEvent) =>
      (!types || types.has(e.type)) && (!query.sessionName || e.sessionName === query.sessionName);
    let cursor = lastEventId?.toLowerCase() ?? '';
    let buffered: StoredEvent[] | undefined = lastEventId ? [] : undefined;
    let closed = false;

    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.write(`retry: 3000\n: stream open for organization ${user.organizationId}\n\n`);

    const close = () => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      unsubscribe();
      this.open.delete(close);
      res.end();
    };
    const send = (events: StoredEvent[]) => {
      for (const event of events) {
        if (closed || event.id <= cursor) continue;
        cursor = event.id;
        if (!wanted(event)) continue;
        res.write(`id: ${event.id}\ndata: ${JSON.stringify(toEnvelope(event))}\n\n`);
      }
      // A client this far behind is dropped; it reconnects with Last-Event-ID and replays from the outbox.
      if (res.writableLength > this.options.maxStreamBufferBytes) close();
    };
    const unsubscribe = this.outbox.subscribe(user.organizationId, (events) =>
      buffered ? buffered.push(...events) : send(events),
    );
    const heartbeat = setInterval(
      () => !closed && res.write(`: heartbeat ${new Date().toISOString()}\n\n`),
      this.options.heartbeatMs,
    );
    this.open.add(close);
    req.on('close', close);
    res.on('error', close);

    if (!lastEventId) return;
    try {
      const filter = { types: query.types, sessionName: query.sessionName };
      for (;;) {
        // The cursor advances over every event (filtered or not) the replay has seen.
        const page = await this.outbox.findAfter(user.organizationId, cursor, filter, REPLAY_PAGE);
        send(page);
        if (closed || page.length < REPLAY_PAGE) break;
      }
      const pending = buffered ?? [];
      buffered = undefined;
      send(pending);
    } catch (err) {
      this.log.warn({ err, organizationId: user.organizationId }, 'SSE replay failed');
      close();
    }
  }
}
