import { AsyncLocalStorage } from 'node:async_hooks';
import { withSharedAsyncStorage } from './shared-async-storage';

describe('withSharedAsyncStorage', () => {
  it('hands out the shared class only inside the callback, and restores the native one', () => {
    const inside = withSharedAsyncStorage(
      () => new (process.getBuiltinModule('node:async_hooks').AsyncLocalStorage)<number>(),
    );
    expect(inside).not.toBeInstanceOf(AsyncLocalStorage);
    expect(new (process.getBuiltinModule('node:async_hooks').AsyncLocalStorage)()).toBeInstanceOf(
      AsyncLocalStorage,
    );
  });

  it('keeps each instance its own value through awaits, nesting and concurrent runs', async () => {
    const make = () =>
      withSharedAsyncStorage(
        () => new (process.getBuiltinModule('node:async_hooks').AsyncLocalStorage)<string>(),
      );
    const a = make();
    const b = make();
    const seen: Array<[string | undefined, string | undefined]> = [];
    const tick = () => new Promise((r) => setImmediate(r));
    expect(a.getStore()).toBeUndefined();
    await Promise.all([
      a.run('a1', async () => {
        await tick();
        await b.run('b1', async () => {
          await tick();
          seen.push([a.getStore(), b.getStore()]);
        });
        seen.push([a.getStore(), b.getStore()]);
      }),
      a.run('a2', async () => {
        await tick();
        seen.push([a.getStore(), b.getStore()]);
      }),
    ]);
    expect(seen).toEqual(
      expect.arrayContaining([
        ['a1', 'b1'],
        ['a1', undefined],
        ['a2', undefined],
      ]),
    );
    expect(seen).toHaveLength(3);
    expect(a.getStore()).toBeUndefined();
    expect(a.run('x', () => a.exit(() => a.getStore()))).toBeUndefined();
  });

  it('returns what the callback returns', () => {
    const als = withSharedAsyncStorage(
      () => new (process.getBuiltinModule('node:async_hooks').AsyncLocalStorage)<number>(),
    );
    expect(als.run(7, (x: number) => (als.getStore() ?? 0) + x, 1)).toBe(8);
  });
});
