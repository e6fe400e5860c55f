import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import {
  type HealthCheckResult,
  HealthCheckService,
  MongooseHealthIndicator,
} from '@nestjs/terminus';
import { WhatsAppSessionsService } from '../whatsapp-session/whatsapp-session.service';
import { NotReadyError } from './health.errors';

@Injectable()
export class HealthService {
  constructor(
    private readonly health: HealthCheckService,
    private readonly mongoose: MongooseHealthIndicator,
    private readonly sessions: WhatsAppSessionsService,
  ) {}

  /** Every indicator; one down is NOT_READY (503), whose details keep terminus' per-indicator status. */
  async check(): Promise<HealthCheckResult> {
    try {
      return await this.health.check([
        () => ({
          process: {
            status: 'up',
            uptimeSeconds: Math.round(process.uptime()),
            rssBytes: process.memoryUsage().rss,
          },
        }),
        () => this.mongoose.pingCheck('database', { timeout: 1500 }),
        () => ({ sessions: { status: 'up', ...this.sessions.summary() } }),
      ]);
    } catch (err) {
      const result =
        err instanceof ServiceUnavailableException
          ? (err.getResponse() as Partial<HealthCheckResult>)
          : undefined;
      if (!result?.details) throw err;
      throw new NotReadyError(result.details);
    }
  }
}
