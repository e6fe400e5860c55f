// Public API of libs/wa-emulator (@app/wa-emulator).
export {
  WaEmulator,
  digits,
  type WaEmulatorOptions,
  type OutboundRecord,
  type OutboundMedia,
  type ClientReceiptRecord,
  type InboundOptions,
  type PairResult,
  type ReceiptType,
} from './wa-emulator';
export { historySyncMessage } from './history-sync';
export {
  PhoneControl,
  type InboundMediaSpec,
  type InboundMediaKind,
  type ContactSpec,
} from './phone-control';
export { encryptMedia, decryptMedia, deriveMediaKeys, type EncryptedMedia } from './media-crypto';
export { SignalDevice } from './signal-device';
