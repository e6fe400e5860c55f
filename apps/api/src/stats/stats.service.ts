import { Inject, Injectable } from '@nestjs/common';
import { makeSessionId, SessionNotFoundError } from '@app/whatsapp';
import type { StatsQueryDto } from './dto/stats-query.dto';
import type {
  StatsResponseDto,
  StatsResponsivenessDto,
  StatsSessionsDto,
} from './dto/stats-response.dto';
import {
  deliveryRates,
  locateMedian,
  medianOfWindow,
  medianWindow,
  sumCounters,
  topFailureReasons,
} from './stats-counters';
import {
  STATS_CONTACTS_SOURCE,
  STATS_SESSIONS_SOURCE,
  type StatsContactsSource,
  type StatsSessionsSource,
} from './stats.ports';
import { fillSeries, resolveRange } from './stats-range';
import { StatsRepository, type StatsWindow } from './stats.repository';

export const STATS_CLOCK = Symbol('STATS_CLOCK');
export type StatsClock = () => Date;

/** Answers the stats route from the maintained counters; never scans messages. */
@Injectable()
export class StatsService {
  constructor(
    private readonly repository: StatsRepository,
    @Inject(STATS_SESSIONS_SOURCE) private readonly sessions: StatsSessionsSource,
    @Inject(STATS_CONTACTS_SOURCE) private readonly contacts: StatsContactsSource,
    @Inject(STATS_CLOCK) private readonly now: StatsClock,
  ) {}

  async get(organizationId: string, query: StatsQueryDto): Promise<StatsResponseDto> {
    const range = resolveRange(query, this.now());
    const sessionName = query.sessionName;
    const allSessions = await this.sessions.list(organizationId);
    const sessions = sessionName
      ? allSessions.filter((s) => s.sessionName === sessionName)
      : allSessions;
    if (
      sessionName &&
      sessions.length === 0 &&
      !(await this.repository.hasSessionData(organizationId, sessionName))
    ) {
      // The same 404 as every other route that names a session (message and details alike).
      throw new SessionNotFoundError(makeSessionId(organizationId, sessionName));
    }

    const window: StatsWindow = {
      organizationId,
      sessionName,
      days: range.days,
      since: range.since,
      until: range.until,
    };
    const empty = range.buckets.length === 0;
    const [buckets, failures, contacts] = await Promise.all([
      empty ? Promise.resolve([]) : this.repository.findBuckets(window, range.granularity),
      empty ? Promise.resolve([]) : this.repository.findFailureReasons(window, range.granularity),
      this.contactsSummary(organizationId, sessionName, range.since, range.until),
    ]);
    const { rt, ...totals } = sumCounters(buckets);
    const responsiveness = await this.responsiveness(window, rt);
    return {
      range: {
        since: range.since.toISOString(),
        until: range.until.toISOString(),
        granularity: range.granularity,
        sessionName: sessionName ?? null,
      },
      sessions: summarizeSessions(sessions),
      messages: {
        ...totals,
        ...deliveryRates(totals.byStatus),
        topFailureReasons: topFailureReasons(failures),
      },
      series: fillSeries(range.buckets, buckets),
      contacts: {
        total: contacts.total,
        new: contacts.new,
        linkedToCustomers: contacts.linkedToCustomers,
      },
      responsiveness,
      generatedAt: this.now().toISOString(),
    };
  }

  /** Async wrapper: a synchronous throw must reject here, not leave the sibling queries dangling. */
  private async contactsSummary(
    organizationId: string,
    sessionName: string | undefined,
    since: Date,
    until: Date,
  ) {
    return this.contacts.summary(organizationId, { sessionName, since, until });
  }

  /**
   * Exact median without sorting the window's samples: the buckets' histogram says which bin holds
   * the middle rank(s) and at which offset; only that bin's samples are read (sorted, skip, limit).
   * If the histogram and the samples ever disagree (a crash between the two writes), falls back to
   * count + sorted skip over the whole window.
   */
  private async responsiveness(
    window: StatsWindow,
    histogram: Record<string, number>,
  ): Promise<StatsResponsivenessDto> {
    const { samples, picks } = locateMedian(histogram);
    if (picks.length === 0) return { medianFirstResponseMs: null, samples: 0 };
    const sameBin = picks.length === 2 && picks[0].bin === picks[1].bin;
    const middle = sameBin
      ? await this.repository.responseTimesInBin(window, picks[0].bin, picks[0].offset, 2)
      : (
          await Promise.all(
            picks.map((p) => this.repository.responseTimesInBin(window, p.bin, p.offset, 1)),
          )
        ).flat();
    if (middle.length === picks.length)
      return { medianFirstResponseMs: medianOfWindow(middle), samples };

    const count = await this.repository.countResponseSamples(window);
    const fallback = medianWindow(count);
    if (!fallback) return { medianFirstResponseMs: null, samples: 0 };
    return {
      medianFirstResponseMs: medianOfWindow(
        await this.repository.responseTimesAt(window, fallback.skip, fallback.take),
      ),
      samples: count,
    };
  }
}

export function summarizeSessions(sessions: Array<{ status: string }>): StatsSessionsDto {
  const byStatus: Record<string, number> = {};
  for (const session of sessions) byStatus[session.status] = (byStatus[session.status] ?? 0) + 1;
  return { total: sessions.length, connected: byStatus.connected ?? 0, byStatus };
}
