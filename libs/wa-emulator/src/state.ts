import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SignalDeviceState } from './signal-device';

/** A WhatsApp user known to the emulator: an account's own phone, or a contact. */
export interface UserRecord {
  phone: string;
  lid: string;
  pushName: string;
  /** Device 0 (the phone). */
  device: SignalDeviceState;
}

/** What a linked companion (a Baileys client) uploaded: its Signal identity and pre-keys. */
export interface CompanionRecord {
  deviceId: number;
  keyIndex: number;
  noiseKey: string;
  identityKey: string;
  registrationId: number;
  signedPreKey: { keyId: number; publicKey: string; signature: string };
  preKeys: { keyId: number; publicKey: string }[];
  historySynced: boolean;
  removed: boolean;
  linkedAt: number;
}

export interface AccountRecord {
  phone: string;
  nextDeviceId: number;
  companions: Record<string, CompanionRecord>;
}

export interface EmulatorState {
  version: 1;
  noise?: { staticPub: string; staticPriv: string; rootPub: string; rootPriv: string };
  users: Record<string, UserRecord>;
  accounts: Record<string, AccountRecord>;
}

const FILE = 'wa-emulator-state.json';

/** In-memory state, written to `<dataDir>/wa-emulator-state.json` after each change when a dataDir is given. */
export class StateStore {
  readonly state: EmulatorState;

  constructor(private readonly dataDir?: string) {
    const path = dataDir ? join(dataDir, FILE) : undefined;
    this.state =
      path && existsSync(path)
        ? (JSON.parse(readFileSync(path, 'utf8')) as EmulatorState)
        : { version: 1, users: {}, accounts: {} };
    if (dataDir) mkdirSync(dataDir, { recursive: true });
  }

  save(): void {
    if (!this.dataDir) return;
    const path = join(this.dataDir, FILE);
    writeFileSync(`${path}.tmp`, JSON.stringify(this.state));
    renameSync(`${path}.tmp`, path);
  }

  mediaDir(): string | undefined {
    if (!this.dataDir) return undefined;
    const dir = join(this.dataDir, 'media');
    mkdirSync(dir, { recursive: true });
    return dir;
  }
}
