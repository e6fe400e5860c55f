import type { WAMessage } from '@whiskeysockets/baileys';
import { decodeAuthValue } from '../auth-state/buffer-json';
import type { MediaRef } from '../engine/inbound-message';

/** Bytes → BufferJSON form, protobuf Long → number. */
function replacer(_key: string, value: any): any {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array || value?.type === 'Buffer') {
    return { type: 'Buffer', data: Buffer.from(value?.data || value).toString('base64') };
  }
  if (value && typeof value === 'object' && typeof value.toNumber === 'function' && 'low' in value)
    return value.toNumber();
  return value;
}

/**
 * JSON-safe copy of just what `downloadMediaMessage` needs (key + the one media
 * sub-message, without the thumbnail), so the app can store it with the message.
 */
export function toMediaRef(msg: WAMessage, kind: string, media: Record<string, any>): MediaRef {
  const { jpegThumbnail: _thumb, contextInfo: _ctx, ...essential } = media;
  return {
    engine: 'baileys',
    wa: JSON.parse(JSON.stringify({ key: msg.key, message: { [kind]: essential } }, replacer)),
  };
}

export function fromMediaRef(ref: MediaRef): WAMessage {
  if (ref.engine !== 'baileys' || typeof ref.wa !== 'object' || ref.wa === null)
    throw new Error('Not a Baileys media reference');
  return decodeAuthValue<WAMessage>(JSON.stringify(ref.wa));
}
