// Public API of libs/whatsapp (@app/whatsapp).
export * from './errors';
export * from './events';
export * from './whatsapp.options';
export * from './whatsapp-core.module';

export * from './engine/close-reason';
export * from './engine/inbound-message';
export * from './engine/outbound-content';
export * from './engine/wa-connection';
export type { WaLogger } from './engine/wa-logger';

export * from './auth-state/wa-auth-store';
export {
  InMemoryAuthStoreProvider,
  InMemoryAuthRowBackend,
} from './auth-state/in-memory-auth-store';
export { WaAuthKey, WaAuthKeySchema } from './auth-state/wa-auth-key.schema';

export * from './session-state/session-state';
export * from './session-state/session-state.store';
export { InMemorySessionStateStore } from './session-state/in-memory-session-state.store';
export { SessionQueryService } from './session-state/session-query.service';
export { WhatsAppSession, WhatsAppSessionSchema } from './session-state/whatsapp-session.schema';

export { SessionRegistry, type QrView, type RestoreSummary } from './registry/session-registry';
export { NOT_ALLOWED_TO_RUN } from './registry/session-restorer';

export {
  SandboxControl,
  type SandboxControlBackend,
  type SandboxInboundAccepted,
} from './sandbox/sandbox-control';
export { EmulatorBackend } from './emulator/emulator-backend';
export { SandboxHub } from './sandbox/sandbox-hub';
export { SandboxEngineFactory } from './sandbox/sandbox-engine.factory';
export type { SandboxInboundSpec } from './sandbox/sandbox-inbound';
export type { SandboxCreds, SandboxReceiptStatus } from './sandbox/sandbox-connection';
export { BaileysEngineFactory } from './baileys/baileys-engine.factory';
