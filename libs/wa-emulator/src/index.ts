// Public API of libs/wa-emulator (@app/wa-emulator).
export { WaEmulator } from './wa-emulator';
export { digits } from './ids';
export type {
  WaEmulatorOptions,
  OutboundRecord,
  OutboundMedia,
  ClientReceiptRecord,
  InboundOptions,
  PairResult,
  ReceiptType,
  ReceiptOptions,
} from './types';
export { historySyncMessage } from './history-sync';
export {
  PhoneControl,
  type InboundMediaSpec,
  type InboundMediaKind,
  type ContactSpec,
} from './phone-control';
export { encryptMedia, decryptMedia, deriveMediaKeys, type EncryptedMedia } from './media-crypto';
export { SignalDevice } from './signal-device';
export { MAX_RETRY_RESENDS, type RetryRecord } from './retry-receipts';
export type { GroupRecord } from './state';
