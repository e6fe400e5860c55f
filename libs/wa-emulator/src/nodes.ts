import {
  getBinaryNodeChild,
  getBinaryNodeChildren,
  S_WHATSAPP_NET,
  type BinaryNode,
} from '@whiskeysockets/baileys';

export type { BinaryNode };

export const SERVER = S_WHATSAPP_NET;

export const child = (node: BinaryNode | undefined, tag: string): BinaryNode | undefined =>
  getBinaryNodeChild(node, tag);
export const children = (node: BinaryNode | undefined, tag: string): BinaryNode[] =>
  getBinaryNodeChildren(node, tag);
export const firstChild = (node: BinaryNode | undefined): BinaryNode | undefined =>
  Array.isArray(node?.content) ? node.content[0] : undefined;

export function bytes(node: BinaryNode | undefined): Buffer | undefined {
  const c = node?.content;
  if (c instanceof Uint8Array) return Buffer.from(c);
  if (typeof c === 'string') return Buffer.from(c, 'utf8');
  return undefined;
}

export const readUIntBE = (buf: Buffer | undefined): number =>
  buf && buf.length ? buf.readUIntBE(0, buf.length) : 0;

export function uintBE(value: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  out.writeUIntBE(value, 0, length);
  return out;
}

export const node = (
  tag: string,
  attrs: Record<string, string> = {},
  content?: BinaryNode['content'],
): BinaryNode => (content === undefined ? { tag, attrs } : { tag, attrs, content });

export const iqResult = (request: BinaryNode, content?: BinaryNode[]): BinaryNode =>
  node('iq', { id: request.attrs.id, type: 'result', from: request.attrs.to ?? SERVER }, content);

export const nowSeconds = () => Math.floor(Date.now() / 1000);
export const unixT = () => String(nowSeconds());
