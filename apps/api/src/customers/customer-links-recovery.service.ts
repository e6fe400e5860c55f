import {
  type BeforeApplicationShutdown,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { PeriodicPass } from '@app/common';
import {
  CustomerLinkFollowsRepository,
  LINK_FOLLOW_GRACE_MS,
} from './customer-link-follows.repository';
import { CustomersService } from './customers.service';

const RECOVERY_INTERVAL_MS = 30_000;

/**
 * Finishes the link follows of customer changes that failed or that a crash cut off (their notes,
 * see CustomersService): at boot and then periodically, so what another, dead instance left is
 * picked up too. Each note is leased while it is replayed; a replay that runs next to the original
 * follow (or another replay) is safe, as the follow reads the customer from the database.
 */
@Injectable()
export class CustomerLinksRecovery implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger(CustomerLinksRecovery.name);
  private readonly passes = new PeriodicPass(() => this.pass(), RECOVERY_INTERVAL_MS);

  constructor(
    private readonly follows: CustomerLinkFollowsRepository,
    private readonly customers: CustomersService,
  ) {}

  onApplicationBootstrap(): void {
    this.passes.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.passes.stop();
  }

  /** One pass over the stale notes; resolves when it is done (also when one is running already). */
  recover(): Promise<void> {
    return this.passes.run();
  }

  private async pass(): Promise<void> {
    try {
      while (!this.passes.stopped) {
        const note = await this.follows.claimStale(
          new Date(Date.now() - LINK_FOLLOW_GRACE_MS),
          LINK_FOLLOW_GRACE_MS,
        );
        if (!note) return;
        try {
          await this.customers.replayFollow(note);
          this.log.warn(
            { organizationId: note.organizationId, customerId: note.customer?.id },
            "Finished the contacts' link follow of a customer change",
          );
        } catch (err) {
          // Leased: this pass moves on to the next note, a later pass takes this one again.
          this.log.error(
            { err, organizationId: note.organizationId, customerId: note.customer?.id },
            "A customer change's link follow failed again; the next pass retries",
          );
        }
      }
    } catch (err) {
      this.log.error({ err }, 'Customer link recovery failed; the next pass retries');
    }
  }
}
