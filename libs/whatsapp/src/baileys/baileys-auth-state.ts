import {
  initAuthCreds,
  proto,
  type AuthenticationCreds,
  type AuthenticationState,
  type SignalDataSet,
  type SignalDataTypeMap,
} from '@whiskeysockets/baileys';
import type { WaAuthStore, WaKeyStore } from '../auth-state/wa-auth-store';

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
      set: (data: SignalDataSet) => keys.set(data as Record<string, Record<string, unknown>>),
    },
  };
}
