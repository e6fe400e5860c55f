import { Inject, Injectable } from '@nestjs/common';
import type { StatsQueryDto } from './dto/stats-query.dto';
import type { StatsResponseDto, StatsResponsivenessDto, StatsSessionsDto } from './dto/stats-response.dto';
import { deliveryRates, medianOfWindow, medianWindow, sumCounters, topFailureReasons } from './stats-counters';
import { StatsSessionNotFoundError } from './stats.errors';
import { STATS_CONTACTS_SOURCE, STATS_SESSIONS_SOURCE, type StatsContactsSource, type StatsSessionsSource } from './stats.ports';
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
    const sessions = sessionName ? allSessions.filter((s) => s.sessionName === sessionName) : allSessions;
    if (sessionName && sessions.length === 0 && !(await this.repository.hasSessionData(organizationId, sessionName))) {
      throw new StatsSessionNotFoundError(sessionName);
    }

    const window: StatsWindow = { organizationId, sessionName, days: range.days, since: range.since, until: range.until };
    const [buckets, failures, responsiveness, contacts] = await Promise.all([
      range.buckets.length ? this.repository.findBuckets(window, range.granularity) : Promise.resolve([]),
      range.buckets.length ? this.repository.findFailureReasons(window) : Promise.resolve([]),
      range.buckets.length ? this.responsiveness(window) : Promise.resolve({ medianFirstResponseMs: null, samples: 0 }),
      this.contactsSummary(organizationId, sessionName, range.since, range.until),
    ]);

    const totals = sumCounters(buckets);
    return {
      range: { since: range.since.toISOString(), until: range.until.toISOString(), granularity: range.granularity, sessionName: sessionName ?? null },
      sessions: summarizeSessions(sessions),
      messages: { ...totals, ...deliveryRates(totals.byStatus), topFailureReasons: topFailureReasons(failures) },
      series: fillSeries(range.buckets, buckets),
      contacts: { total: contacts.total, new: contacts.new, linkedToCustomers: contacts.linkedToCustomers },
      responsiveness,
      generatedAt: this.now().toISOString(),
    };
  }

  /** Async wrapper: a synchronous throw must reject here, not leave the sibling queries dangling. */
  private async contactsSummary(organizationId: string, sessionName: string | undefined, since: Date, until: Date) {
    return this.contacts.summary(organizationId, { sessionName, since, until });
  }

  /** Exact median via count + sorted skip/limit on the samples index (reads one or two values). */
  private async responsiveness(window: StatsWindow): Promise<StatsResponsivenessDto> {
    const samples = await this.repository.countResponseSamples(window);
    const middle = medianWindow(samples);
    if (!middle) return { medianFirstResponseMs: null, samples };
    const values = await this.repository.responseTimesAt(window, middle.skip, middle.take);
    return { medianFirstResponseMs: medianOfWindow(values), samples };
  }
}

export function summarizeSessions(sessions: Array<{ status: string }>): StatsSessionsDto {
  const byStatus: Record<string, number> = {};
  for (const session of sessions) byStatus[session.status] = (byStatus[session.status] ?? 0) + 1;
  return { total: sessions.length, connected: byStatus.connected ?? 0, byStatus };
}
