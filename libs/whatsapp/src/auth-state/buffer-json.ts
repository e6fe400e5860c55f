/**
 * Byte-exact JSON codec, wire-compatible with Baileys' BufferJSON
 * (kept here so the auth store does not import Baileys).
 */
function replacer(_key: string, value: any): any {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array || value?.type === 'Buffer') {
    return { type: 'Buffer', data: Buffer.from(value?.data || value).toString('base64') };
  }
  return value;
}

function reviver(_key: string, value: any): any {
  if (
    typeof value === 'object' &&
    value !== null &&
    value.type === 'Buffer' &&
    typeof value.data === 'string'
  ) {
    return Buffer.from(value.data, 'base64');
  }
  return value;
}

export function encodeAuthValue(value: unknown): string {
  return JSON.stringify(value, replacer);
}

export function decodeAuthValue<T = unknown>(json: string): T {
  return JSON.parse(json, reviver) as T;
}
