import {
  initAuthCreds,
  proto,
  type AuthenticationCreds,
  type AuthenticationState,
  type SignalDataSet,
  type SignalDataTypeMap,
} from '@whiskeysockets/baileys';
import type { KeyWrites, WaAuthStore, WaKeyStore } from '../auth-state/wa-auth-store';

/**
 * Our WaAuthStore as a Baileys AuthenticationState, its signal keys read and written through `keys`.
 * Fresh creds are made on first use (and saved on the first creds.update, as Baileys expects).
 */
export async function loadBaileysAuthState(
  store: WaAuthStore,
  keys: WaKeyStore,
): Promise<AuthenticationState> {
  const stored = await store.readCreds();
  const creds = stored && !stored.sandbox ? (stored as AuthenticationCreds) : initAuthCreds();
  return {
    creds,
    keys: {
      get: async <T extends keyof SignalDataTypeMap>(type: T, ids: string[]) => {
        const values = await keys.get(type, ids);
        if (type === 'app-state-sync-key') {
          // JSON loses the protobuf class; Baileys needs the real message object back.
          for (const id of Object.keys(values))
            values[id] = proto.Message.AppStateSyncKeyData.fromObject(values[id] as object);
        }
        return values as { [id: string]: SignalDataTypeMap[T] };
      },
      set: async (data: SignalDataSet) => {
        const { 'pre-key': preKeys = {}, ...rest } = data as KeyWrites;
        const created = Object.entries(preKeys).filter(([, value]) => value != null);
        const used = Object.entries(preKeys).filter(([, value]) => value == null);
        // Baileys makes new pre-keys under ids never used before (then uploads them): there is no
        // earlier value to take back, so they go past `keys` and its read of those ids (812 at
        // pairing). An unused one kept does no harm; the deletion of a used one stays revocable.
        const revocable = used.length > 0 ? { ...rest, 'pre-key': Object.fromEntries(used) } : rest;
        await Promise.all([
          created.length > 0 ? store.keys.set({ 'pre-key': Object.fromEntries(created) }) : null,
          Object.keys(revocable).length > 0 ? keys.set(revocable) : null,
        ]);
      },
    },
  };
}
