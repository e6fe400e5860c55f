import type { WaEngineKind } from './engine/wa-connection';
import type { WaLogger } from './engine/wa-logger';

export const WHATSAPP_OPTIONS = Symbol('WHATSAPP_OPTIONS');

export interface WhatsAppOptions {
  engine: WaEngineKind;
  /** Shown on the phone under "Linked devices". */
  browserName: string;
  /** Override WhatsApp's websocket endpoint (WA_WEBSOCKET_URL); undefined = WhatsApp's. */
  waWebSocketUrl?: string;
  /** engine = 'emulator': where the in-process WhatsApp emulator keeps its state (in memory when omitted). */
  emulatorDataDir?: string;
  /** engine = 'sandbox': where the simulated WhatsApp keeps media contacts send (in memory when omitted). */
  sandboxMediaDir?: string;
  /** Baileys connect timeout. */
  connectTimeoutMs: number;
  /**
   * Reconnects after a close: delay base·2^(n-1) up to the cap, `failed` after `maxRetries` closes
   * in a row. A connection that opens counts as a fresh start only once it stayed open
   * `stableAfterMs`: one closed again sooner (a flapping session) counts as a failed attempt.
   */
  backoff: { baseMs: number; capMs: number; maxRetries: number; stableAfterMs: number };
  leaseTtlMs: number;
  /** Lifetime of the first QR and of each later one; after `maxQrRefs` QR codes the attempt times out. */
  qr: { firstTtlMs: number; rotateMs: number; maxQrRefs: number };
  /** How long getQr / requestPairingCode wait for a fresh QR after (re)starting a session. */
  qrWaitMs: number;
  restoreConcurrency: number;
  /** How often an instance looks for requests other instances left for the sessions it holds. */
  holderPollMs: number;
  /** How long an instance waits for the holder's answer before a 503 (retry). */
  holderAnswerTimeoutMs: number;
  /** Root logger; per-session children are made from it. Defaults to a silent-ish pino. */
  logger?: WaLogger;
  /** Restore linked sessions from onApplicationBootstrap, in the background (default true). */
  restoreOnBoot?: boolean;
  /** QR text → PNG data URL; defaults to `qrcode.toDataURL`. */
  renderQr?: (qr: string) => Promise<string>;
  /** Instance id for session leases; random by default. */
  instanceId?: string;
  /**
   * Whether an organization's sessions may run now (e.g. its WhatsApp module is on). The boot
   * restore and the adoption of orphans start no session of an organization that may not, and
   * settle it `disconnected`; every organization may by default.
   */
  mayRun?: (organizationId: string) => Promise<boolean>;
}

export type WhatsAppOptionsInput = Partial<Omit<WhatsAppOptions, 'backoff' | 'qr'>> & {
  backoff?: Partial<WhatsAppOptions['backoff']>;
  qr?: Partial<WhatsAppOptions['qr']>;
};

export const DEFAULT_WHATSAPP_OPTIONS: WhatsAppOptions = {
  engine: 'baileys',
  browserName: 'WA Gateway',
  connectTimeoutMs: 20_000,
  backoff: { baseMs: 1_000, capMs: 60_000, maxRetries: 20, stableAfterMs: 120_000 },
  leaseTtlMs: 30_000,
  qr: { firstTtlMs: 60_000, rotateMs: 20_000, maxQrRefs: 6 },
  qrWaitMs: 15_000,
  restoreConcurrency: 16,
  holderPollMs: 250,
  holderAnswerTimeoutMs: 30_000,
};

export function resolveWhatsAppOptions(input: WhatsAppOptionsInput = {}): WhatsAppOptions {
  return {
    ...DEFAULT_WHATSAPP_OPTIONS,
    ...input,
    backoff: { ...DEFAULT_WHATSAPP_OPTIONS.backoff, ...input.backoff },
    qr: { ...DEFAULT_WHATSAPP_OPTIONS.qr, ...input.qr },
  };
}
