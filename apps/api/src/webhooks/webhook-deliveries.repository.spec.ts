import mongoose, { Types } from 'mongoose';
import { useEmbeddedConnection } from '@app/embedded-mongo/testing/embedded-connection';
import { WebhookDelivery, WebhookDeliverySchema } from './schemas/webhook-delivery.schema';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';

const ME = 'gw-0';
const OTHER = 'gw-1';
const LEASE_MS = 30_000;

describe('WebhookDeliveriesRepository claims (embedded store)', () => {
  let connection: mongoose.Connection;
  let deliveries: WebhookDeliveriesRepository;

  const connectionOf = useEmbeddedConnection('delivery-claims');
  beforeAll(async () => {
    connection = connectionOf();
    const model = connection.model(WebhookDelivery.name, WebhookDeliverySchema);
    await model.init();
    deliveries = new WebhookDeliveriesRepository(model);
  });
  afterEach(() => connection.collection('webhook_deliveries').deleteMany({}));

  /** A lane's pending rows, oldest event first. */
  const lane = async (count: number, organizationId = 'org') => {
    const webhookId = new Types.ObjectId();
    await deliveries.insertMany(
      Array.from({ length: count }, () => ({
        organizationId,
        webhookId,
        eventId: new Types.ObjectId(),
        eventType: 'message.received',
        sessionName: 'main',
      })),
      new Date(Date.now() - 1_000),
    );
    return deliveries.laneHeads(
      { organizationId, webhookId: String(webhookId), sessionName: 'main' },
      count,
    );
  };
  const claim = (id: Types.ObjectId, owner: string) => {
    const now = new Date();
    return deliveries.claim(id, now, new Date(now.getTime() + LEASE_MS), owner);
  };
  const read = (id: Types.ObjectId) =>
    connection.collection('webhook_deliveries').findOne({ _id: id });

  it('claims in the name of an instance; a restart under that name releases only its own claims', async () => {
    const [mine] = await lane(2);
    const [theirs] = await lane(1);
    expect(await claim(mine._id, ME)).toMatchObject({ status: 'delivering', leaseOwner: ME });
    await claim(theirs._id, OTHER);

    const boot = new Date();
    expect(await deliveries.releaseClaimsOf(ME, boot)).toBe(1);
    const released = await read(mine._id);
    expect(released).toMatchObject({ status: 'pending', nextAttemptAt: boot });
    expect(released?.leaseOwner).toBeUndefined();
    expect(released?.leaseUntil).toBeUndefined();
    // Due at once: its lane (and the event behind it) goes on without waiting for the lease.
    expect(await deliveries.dueLanes(boot, 10)).toHaveLength(1);
    // Another instance's attempt may be in flight: its lease is left to run out.
    expect(await read(theirs._id)).toMatchObject({ status: 'delivering', leaseOwner: OTHER });
    expect(await deliveries.releaseClaimsOf(ME, new Date())).toBe(0);
  });

  it("finds every due lane although one lane's backlog is larger than a page of due rows", async () => {
    await lane(30); // stored first: a page of due rows in store order is all this lane
    const others = [await lane(1), await lane(2), await lane(1)];
    const found = await deliveries.dueLanes(new Date(), 10, { pageSize: 10 });
    expect(found).toHaveLength(4);
    for (const [row] of others)
      expect(found.map((l) => l.webhookId)).toContain(String(row.webhookId));
    // At most maxLanes, each once.
    const capped = await deliveries.dueLanes(new Date(), 2, { pageSize: 10 });
    expect(new Set(capped.map((l) => l.webhookId)).size).toBe(2);
  });

  it("gives each organization a share of a poll's lanes, and none to one whose lanes already wait", async () => {
    for (let i = 0; i < 12; i++) await lane(2, 'busy-a'); // stored first
    for (let i = 0; i < 12; i++) await lane(2, 'busy-b');
    const [[quiet]] = [await lane(1, 'quiet')];
    const polled = await deliveries.dueLanes(new Date(), 10, { perOrganization: 4, pageSize: 5 });
    const count = (org: string) => polled.filter((l) => l.organizationId === org).length;
    expect([count('busy-a'), count('busy-b'), count('quiet')]).toEqual([4, 4, 1]);
    expect(polled.map((l) => l.webhookId)).toContain(String(quiet.webhookId));
    const skipping = await deliveries.dueLanes(new Date(), 10, {
      skipOrganizations: new Set(['busy-a']),
    });
    expect(skipping.some((l) => l.organizationId === 'busy-a')).toBe(false);
    expect(skipping).toHaveLength(10);
  });

  it("lists a webhook's deliveries in the order of an index, which MongoDB need not sort in memory", async () => {
    // The sort the listing asks the store for, with and without a status filter.
    const sorts: object[] = [];
    mongoose.set('debug', (collection: string, method: string, ...args: unknown[]) => {
      if (collection === 'webhook_deliveries' && method === 'find')
        sorts.push((args.at(-1) as { sort: object }).sort);
    });
    try {
      await deliveries.listOwned('org', new Types.ObjectId(), undefined, 0, 20);
      await deliveries.listOwned('org', new Types.ObjectId(), 'failed', 20, 20);
    } finally {
      mongoose.set('debug', false);
    }
    // An index of one webhook's rows in that order: its equality prefix, then the sort key.
    // Without it MongoDB sorts every delivery of the webhook (up to 7 days) for each page.
    const indexes = WebhookDeliverySchema.indexes().map(([fields]) => fields);
    expect(sorts).toHaveLength(2);
    for (const sort of sorts)
      expect(indexes).toContainEqual({ organizationId: 1, webhookId: 1, ...sort });
  });

  it("walks a lane in the organization's event order, not in the order of the event ids' clocks", async () => {
    const webhookId = new Types.ObjectId();
    const row = (eventId: Types.ObjectId, eventSeq: number, text: string) => ({
      organizationId: 'org',
      webhookId,
      eventId,
      eventSeq,
      eventType: text,
      sessionName: 'main',
    });
    // Event 8 came from an instance whose clock runs a minute behind the one that stored event 7.
    const now = Date.now() / 1000;
    const seventh = row(Types.ObjectId.createFromTime(now), 7, 'message.received');
    const eighth = row(Types.ObjectId.createFromTime(now - 60), 8, 'message.status');
    await deliveries.insertMany([eighth, seventh], new Date());
    const heads = await deliveries.laneHeads(
      { organizationId: 'org', webhookId: String(webhookId), sessionName: 'main' },
      10,
    );
    expect(heads.map((h) => h.eventSeq)).toEqual([7, 8]);
  });

  it('ends the claim with the attempt, whatever its outcome', async () => {
    const rows = await lane(4);
    for (const row of rows) await claim(row._id, ME);
    const outcome = { attempts: 1, at: new Date(), durationMs: 5 };
    await deliveries.markDelivered(rows[0]._id, { ...outcome, responseCode: 200 });
    const retryAt = new Date(Date.now() + 60_000);
    await deliveries.markRetry(rows[1]._id, { ...outcome, responseCode: 503 }, retryAt);
    await deliveries.markFailed(rows[2]._id, { ...outcome, error: 'gave up' });
    await deliveries.release(rows[3]._id, new Date());

    expect(await deliveries.releaseClaimsOf(ME, new Date())).toBe(0);
    expect(await read(rows[1]._id)).toMatchObject({ status: 'pending', nextAttemptAt: retryAt });
    expect(
      await connection
        .collection('webhook_deliveries')
        .countDocuments({ leaseOwner: { $exists: true } }),
    ).toBe(0);
  });
});
