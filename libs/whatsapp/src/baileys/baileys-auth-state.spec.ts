import { randomBytes } from 'node:crypto';
import { BatchedAuthStore } from '../auth-state/batched-auth-store';
import { InMemoryAuthStoreProvider } from '../auth-state/in-memory-auth-store';
import { loadBaileysAuthState } from './baileys-auth-state';

const keyPair = () => ({ public: randomBytes(33), private: randomBytes(32) });

describe('loadBaileysAuthState', () => {
  const setUp = async () => {
    const provider = new InMemoryAuthStoreProvider();
    const store = provider.forSession('s1');
    const revocable = store.revocableKeys();
    const state = await loadBaileysAuthState(store, revocable);
    const stored = (type: string, ids: string[]) =>
      new BatchedAuthStore('s1', provider.backend).keys.get(type, ids);
    return { provider, store, revocable, state, stored };
  };

  it('stores the pre-keys of an upload without reading their ids first; the connection taking its writes back leaves them', async () => {
    const { provider, store, revocable, state, stored } = await setUp();
    const reads = vi.spyOn(provider.backend, 'readMany');
    const preKeys = Object.fromEntries(
      Array.from({ length: 30 }, (_, i) => [`${i + 1}`, keyPair()]),
    );

    await state.keys.set({ 'pre-key': preKeys });
    expect(reads).not.toHaveBeenCalled();
    revocable.takeBack();
    await store.flush();
    expect(Object.keys(await stored('pre-key', Object.keys(preKeys)))).toHaveLength(30);
  });

  it('still takes back the deletion of a used pre-key and the session written with it', async () => {
    const { store, revocable, state, stored } = await setUp();
    const preKey = keyPair();
    await store.keys.set({ 'pre-key': { '7': preKey } });

    await state.keys.set({ 'pre-key': { '7': null }, session: { peer: randomBytes(8) } });
    revocable.takeBack();
    await store.flush();
    expect(await stored('pre-key', ['7'])).toEqual({ '7': preKey });
    expect(await stored('session', ['peer'])).toEqual({});
  });
});
