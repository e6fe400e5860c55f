import { AsyncLocalStorage } from 'node:async_hooks';
import { syncBuiltinESMExports } from 'node:module';

/**
 * Baileys (7.0.0-rc14, `addTransactionCapability`) creates an AsyncLocalStorage per socket and never
 * disables it. On Node 20 every enabled instance is visited each time any promise or other async
 * resource is created anywhere in the process, so with N sockets every `await` costs O(N)
 * (200,000 awaits: 12 ms with none, 1.7 s with 120 instances, 6.7 s with 500), and the instances of
 * closed sockets stay forever.
 *
 * While `withSharedAsyncStorage` runs its callback, `AsyncLocalStorage` (also Baileys' ESM import
 * of it) is a class whose instances all ride on one native instance, each reading and writing its
 * own slot: the same per-instance `run`/`getStore` semantics, O(1) per async resource. The native
 * class is put back right after, so nothing else in the process is affected.
 */
const shared = new AsyncLocalStorage<ReadonlyMap<object, unknown>>();

class MultiplexedAsyncLocalStorage<T> {
  private disabled = false;

  static bind = AsyncLocalStorage.bind.bind(AsyncLocalStorage);
  static snapshot = AsyncLocalStorage.snapshot.bind(AsyncLocalStorage);

  getStore(): T | undefined {
    return this.disabled ? undefined : (shared.getStore()?.get(this) as T | undefined);
  }

  run<R, A extends unknown[]>(store: T, callback: (...args: A) => R, ...args: A): R {
    this.disabled = false;
    return shared.run(this.slots(store), callback, ...args);
  }

  exit<R, A extends unknown[]>(callback: (...args: A) => R, ...args: A): R {
    return shared.run(this.slots(undefined), callback, ...args);
  }

  enterWith(store: T): void {
    this.disabled = false;
    shared.enterWith(this.slots(store));
  }

  disable(): void {
    this.disabled = true;
  }

  /** The current slots with this instance's set to `store` (or removed). */
  private slots(store: T | undefined): ReadonlyMap<object, unknown> {
    const next = new Map(shared.getStore());
    if (store === undefined) next.delete(this);
    else next.set(this, store);
    return next;
  }
}

const asyncHooks = process.getBuiltinModule('node:async_hooks');

/** Runs `create` (which must create its AsyncLocalStorage instances synchronously) with the shared class in place. */
export function withSharedAsyncStorage<R>(create: () => R): R {
  const native = asyncHooks.AsyncLocalStorage;
  asyncHooks.AsyncLocalStorage = MultiplexedAsyncLocalStorage as unknown as typeof native;
  syncBuiltinESMExports();
  try {
    return create();
  } finally {
    asyncHooks.AsyncLocalStorage = native;
    syncBuiltinESMExports();
  }
}
