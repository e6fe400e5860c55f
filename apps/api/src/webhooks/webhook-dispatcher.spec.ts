import { Logger } from '@nestjs/common';
import { Types } from 'mongoose';
import { AllowList, SecretBox } from '@app/common';
import type { EventOutboxService } from '../events/event-outbox.service';
import type {
  DeliveryRecord,
  Lane,
  WebhookDeliveriesRepository,
} from './webhook-deliveries.repository';
import { WebhookDispatcher } from './webhook-dispatcher';
import type { WebhookDirectory } from './webhook-directory';
import type { WebhookOptions } from './webhooks.options';
import type { WebhooksRepository } from './webhooks.repository';

const INSTANCE = 'gw-0';
const lane: Lane = {
  organizationId: 'org',
  webhookId: String(new Types.ObjectId()),
  sessionName: 'main',
};

/** A dispatcher over a repository that records its calls in order; the lane's head is due. */
function dispatcherWith(release: () => Promise<number>) {
  const calls: string[] = [];
  const head = {
    _id: new Types.ObjectId(),
    organizationId: 'org',
    webhookId: new Types.ObjectId(lane.webhookId),
    status: 'pending',
    nextAttemptAt: new Date(0),
  } as DeliveryRecord;
  let heads = [head];
  const deliveries = {
    releaseClaimsOf: async (owner: string) => {
      calls.push(`release ${owner}`);
      return release();
    },
    recoverExpiredLeases: async () => {
      calls.push('recover expired');
      return 0;
    },
    dueLanes: async () => [],
    laneHeads: async () => heads,
    // Taken meanwhile by someone else: the lane re-reads and finds nothing left.
    claim: async (_id: Types.ObjectId, _now: Date, _until: Date, owner: string) => {
      calls.push(`claim ${owner}`);
      heads = [];
      return null;
    },
  } as unknown as WebhookDeliveriesRepository;
  const directory = {
    get: async () => ({ _id: head.webhookId, organizationId: 'org', enabled: true }),
  } as unknown as WebhookDirectory;
  const options = {
    allowList: new AllowList(undefined),
    secrets: new SecretBox('k'.repeat(32), 'test'),
    leaseMs: 30_000,
    pollIntervalMs: 60_000,
    maxConcurrentLanes: 4,
    maxConcurrentLanesPerOrganization: 4,
  } as WebhookOptions;
  const dispatcher = new WebhookDispatcher(
    deliveries,
    {} as WebhooksRepository,
    directory,
    {} as EventOutboxService,
    options,
    INSTANCE,
  );
  return { dispatcher, calls };
}

describe('WebhookDispatcher after a restart', () => {
  let warn: ReturnType<typeof vi.spyOn>;
  beforeEach(() => {
    vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => vi.restoreAllMocks());

  it("releases this instance's own claims once, before its first claim, however a lane starts", async () => {
    const { dispatcher, calls } = dispatcherWith(async () => 1);
    // Fan-out may start a lane before the bootstrap's first poll.
    dispatcher.kick([lane]);
    await vi.waitFor(() => expect(calls).toContain(`claim ${INSTANCE}`));
    await dispatcher.poll();
    await dispatcher.poll();
    expect(calls).toEqual([
      `release ${INSTANCE}`,
      `claim ${INSTANCE}`,
      'recover expired',
      'recover expired',
    ]);
    await dispatcher.beforeApplicationShutdown();
  });

  it('goes on when the release fails (those claims then wait for their lease), and does not try again', async () => {
    const { dispatcher, calls } = dispatcherWith(async () => {
      throw new Error('database down');
    });
    await dispatcher.poll();
    dispatcher.kick([lane]);
    await vi.waitFor(() => expect(calls).toContain(`claim ${INSTANCE}`));
    await dispatcher.poll();
    expect(calls.filter((c) => c.startsWith('release'))).toEqual([`release ${INSTANCE}`]);
    expect(calls[0]).toBe(`release ${INSTANCE}`);
    expect(warn).toHaveBeenCalledWith(
      expect.objectContaining({ instanceId: INSTANCE }),
      expect.stringContaining('wait until their claim expires'),
    );
    await dispatcher.beforeApplicationShutdown();
  });
});
