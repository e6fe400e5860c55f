import type mongoose from 'mongoose';
import { useEmbeddedConnection } from '@app/embedded-mongo/testing/embedded-connection';
import { EarlyReceiptsRepository } from './early-receipts.repository';
import { foldReceipt, type HeldReceipt } from './held-receipts';
import { EarlyReceipt, EarlyReceiptSchema } from './schemas/early-receipt.schema';

const STATUSES: HeldReceipt['status'][] = ['delivered', 'read', 'played'];

/** Every sequence of `length` receipts over STATUSES. */
function sequences(length: number): HeldReceipt['status'][][] {
  if (!length) return [[]];
  return sequences(length - 1).flatMap((rest) => STATUSES.map((s) => [...rest, s]));
}

describe('EarlyReceiptsRepository (embedded store)', () => {
  let model: mongoose.Model<EarlyReceipt>;
  let repository: EarlyReceiptsRepository;

  const connectionOf = useEmbeddedConnection('early-receipts');
  beforeAll(async () => {
    model = connectionOf().model(EarlyReceipt.name, EarlyReceiptSchema);
    await model.init();
    repository = new EarlyReceiptsRepository(model);
  });
  afterEach(() => model.deleteMany({}));

  it('holds what foldReceipt keeps of every sequence of receipts, a repeat of each changing nothing', async () => {
    const all = [1, 2, 3].flatMap(sequences);
    // A message's receipts in order (one round's writer); the messages side by side.
    await Promise.all(
      all.map(async (statuses, i) => {
        for (const [j, status] of statuses.entries()) {
          await repository.hold('s1', `W${i}`, { status, at: new Date(j) });
          // The same write again (an answer the connection lost): nothing more is held.
          await repository.hold('s1', `W${i}`, { status, at: new Date(j) });
        }
      }),
    );
    const held = await repository.findOf(
      's1',
      all.map((_, i) => `W${i}`),
    );
    expect(held).toHaveLength(all.length);
    for (const { waMessageId, receipts } of held) {
      const statuses = all[Number(waMessageId.slice(1))];
      const folded = statuses.reduce<HeldReceipt[] | undefined>(
        (list, status, j) => foldReceipt(list, { status, at: new Date(j) }),
        undefined,
      );
      expect(receipts, statuses.join(',')).toEqual(folded);
    }
  });

  it('answers per session, and forgets what was applied unless a further receipt came meanwhile', async () => {
    await repository.hold('s1', 'W1', { status: 'delivered', at: new Date(1) });
    await repository.hold('s1', 'W2', { status: 'delivered', at: new Date(1) });
    expect(await repository.findOf('s2', ['W1', 'W2'])).toEqual([]);

    const [first, second] = await repository.findOf('s1', ['W1', 'W2']);
    await repository.hold('s1', 'W2', { status: 'read', at: new Date(2) });
    await repository.remove('s1', first);
    await repository.remove('s1', second);
    expect(await repository.findOf('s1', ['W1', 'W2'])).toEqual([
      {
        waMessageId: 'W2',
        furthest: 4,
        receipts: [
          { status: 'delivered', at: new Date(1) },
          { status: 'read', at: new Date(2) },
        ],
      },
    ]);
  });
});
