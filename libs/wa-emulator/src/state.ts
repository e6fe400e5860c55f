import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SignalDeviceState } from './signal-device';

/** A WhatsApp user known to the emulator: an account's own phone, or a contact. */
export interface UserRecord {
  phone: string;
  lid: string;
  /** The name the user set for themselves ('' when none was given). */
  pushName: string;
  /** Device 0 (the phone). */
  device: SignalDeviceState;
}

/** A contact WhatsApp knows only by its LID so far (no phone number revealed). */
export interface LidUserRecord {
  lid: string;
  pushName: string;
  device: SignalDeviceState;
}

/** Anyone who can send: a user with a phone number, or a contact known only by LID. */
export type AnyUser = UserRecord | LidUserRecord;

export const phoneOf = (user: AnyUser): string | undefined =>
  'phone' in user ? user.phone : undefined;

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
  /** The phone has shared its app-state sync key with this companion. */
  appStateKeyShared?: boolean;
  removed: boolean;
  linkedAt: number;
}

export interface AccountRecord {
  phone: string;
  nextDeviceId: number;
  companions: Record<string, CompanionRecord>;
}

/** A group chat: who is in it, and each member's sender key (Signal group cipher state). */
export interface GroupRecord {
  /** `…@g.us` */
  jid: string;
  subject: string;
  /** Phone digits of the account that created it. */
  creator: string;
  creation: number;
  /** Member JIDs (PN, or LID for contacts known only by LID). */
  participants: string[];
  /** Sender key record per sending member JID (Baileys' SenderKeyRecord, BufferJSON). */
  senderKeys: Record<string, string>;
  /** Per companion ("account.device"): the member JIDs whose sender key it already received. */
  distributed: Record<string, string[]>;
}

/** An account's app state (WhatsApp's synced settings, here the address book). */
export interface AppStateRecord {
  /** The app-state sync key the phone shares with its companions. */
  key: { id: string; data: string; timestamp: number };
  collections: Record<string, AppStateCollectionRecord>;
}

export interface AppStateCollectionRecord {
  version: number;
  /** LT hash (base64) and the value MAC (base64) of each live index MAC (base64). */
  hash: string;
  indexValueMap: Record<string, string>;
  /** Encoded SyncdPatch per version (base64), oldest first: patch i has version i + 1. */
  patches: string[];
}

export interface EmulatorState {
  version: 1;
  noise?: { staticPub: string; staticPriv: string; rootPub: string; rootPriv: string };
  users: Record<string, UserRecord>;
  /** Contacts known only by LID, by LID digits. */
  lidUsers?: Record<string, LidUserRecord>;
  accounts: Record<string, AccountRecord>;
  groups?: Record<string, GroupRecord>;
  appState?: Record<string, AppStateRecord>;
  /**
   * What waits for each companion ("account.device") to log in again, oldest first: stanzas as
   * JSON (BufferJSON). WhatsApp keeps it on its servers, so it outlives a restart of the emulator.
   */
  offline?: Record<string, string[]>;
  /**
   * The copies the contacts' phones keep for retry receipts, written at close (see RetryReceipts):
   * a phone does not forget what it sent when the linked device's server side restarts.
   */
  retryCopies?: PersistedCopy[];
  /** The HTTP port of the last run (media URLs point at it), taken again when free. */
  httpPort?: number;
}

/** A SentCopy as stored: its sender and group by address, its message as encoded protobuf. */
export interface PersistedCopy {
  account: string;
  deviceId: number;
  id: string;
  t: string;
  sender: { phone: string } | { lid: string };
  attrs: Record<string, string>;
  /** base64 of proto.Message */
  message: string;
  group?: { jid: string; member: string };
  undecryptableLeft: number;
  resends: number;
}

const FILE = 'wa-emulator-state.json';
/** Changes within this window are written together (the whole state is one JSON file). */
const SAVE_DELAY_MS = 50;

/**
 * In-memory state, written to `<dataDir>/wa-emulator-state.json` when a dataDir is given: shortly
 * after a change (changes in between are coalesced into one write), and at once by `flush()`.
 */
export class StateStore {
  readonly state: EmulatorState;
  private pending?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly dataDir?: string) {
    const path = dataDir ? join(dataDir, FILE) : undefined;
    this.state =
      path && existsSync(path)
        ? (JSON.parse(readFileSync(path, 'utf8')) as EmulatorState)
        : { version: 1, users: {}, accounts: {} };
    if (dataDir) mkdirSync(dataDir, { recursive: true });
  }

  /** Marks the state changed: it is written within SAVE_DELAY_MS. */
  save(): void {
    // After close (a handler still finishing): the data directory may already be gone.
    if (!this.dataDir || this.pending || this.closed) return;
    this.pending = setTimeout(() => this.flush(), SAVE_DELAY_MS);
    this.pending.unref();
  }

  /** Writes the state now (and cancels the pending write). */
  flush(): void {
    if (!this.dataDir) return;
    if (this.pending) clearTimeout(this.pending);
    this.pending = undefined;
    const path = join(this.dataDir, FILE);
    writeFileSync(`${path}.tmp`, JSON.stringify(this.state));
    renameSync(`${path}.tmp`, path);
  }

  /** Last write; later changes stay in memory only. */
  close(): void {
    this.flush();
    this.closed = true;
  }

  mediaDir(): string | undefined {
    if (!this.dataDir) return undefined;
    const dir = join(this.dataDir, 'media');
    mkdirSync(dir, { recursive: true });
    return dir;
  }
}
