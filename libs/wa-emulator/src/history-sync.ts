import { deflateSync } from 'node:zlib';
import { proto } from '@whiskeysockets/baileys';

/** A HISTORY_SYNC_NOTIFICATION protocol message carrying `history` inline (no media download). */
export function historySyncMessage(history: proto.IHistorySync): proto.IMessage {
  const syncType = history.syncType ?? proto.HistorySync.HistorySyncType.RECENT;
  const payload = proto.HistorySync.encode({
    progress: 100,
    chunkOrder: 0,
    ...history,
    syncType,
  }).finish();
  return {
    protocolMessage: {
      type: proto.Message.ProtocolMessage.Type.HISTORY_SYNC_NOTIFICATION,
      historySyncNotification: {
        syncType,
        chunkOrder: 0,
        progress: 100,
        initialHistBootstrapInlinePayload: deflateSync(payload),
      },
    },
  };
}
