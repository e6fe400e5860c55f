import { Types } from 'mongoose';
import { EventIdGenerator } from './event-id';

describe('EventIdGenerator', () => {
  it('makes valid, strictly increasing ObjectIds, also within one millisecond', () => {
    const gen = new EventIdGenerator(() => 1_700_000_000_123);
    const ids = Array.from({ length: 1000 }, () => gen.next());
    expect(ids.every((id) => Types.ObjectId.isValid(id) && id.length === 24)).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Types.ObjectId(ids[0]).getTimestamp().getTime()).toBe(1_700_000_000_000);
  });

  it('follows the clock, and never goes back when the clock does', () => {
    let now = 1_700_000_000_000;
    const gen = new EventIdGenerator(() => now);
    const a = gen.next();
    now += 5;
    const b = gen.next();
    now -= 1_000;
    const c = gen.next();
    expect(a < b && b < c).toBe(true);
  });

  it('continues after the newest stored id (a restart within the same millisecond, another process tail)', () => {
    const now = () => 1_700_000_000_500;
    const before = new EventIdGenerator(now, Buffer.from('ffffff', 'hex'));
    const stored = [before.next(), before.next(), before.next()];
    const after = new EventIdGenerator(now, Buffer.from('000000', 'hex'));
    after.seed(stored[2]);
    const next = after.next();
    expect(next > stored[2]).toBe(true);
    after.seed('not-an-id');
    expect(after.next() > next).toBe(true);
  });
});
