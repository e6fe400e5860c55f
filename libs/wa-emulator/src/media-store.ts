import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { encryptMedia } from './media-crypto';
import type { StateStore } from './state';

export type UploadedMediaType = 'image' | 'video' | 'audio' | 'document' | 'sticker';

/**
 * Files contacts send: encrypted the WhatsApp way and served (plain HTTP) from
 * `GET <httpUrl>/media/<id>`; also written to `<dataDir>/media` when persisted.
 */
export class InboundMediaStore {
  private readonly files = new Map<string, Buffer>();

  constructor(
    private readonly store: StateStore,
    private readonly baseUrl: () => string,
  ) {}

  /** Stores `data` encrypted for WhatsApp media download and returns the fields of a media message. */
  upload(data: Buffer, type: UploadedMediaType) {
    const enc = encryptMedia(data, type);
    const id = randomBytes(16).toString('hex');
    this.files.set(id, enc.encrypted);
    const dir = this.store.mediaDir();
    if (dir) writeFileSync(join(dir, id), enc.encrypted);
    return {
      url: `${this.baseUrl()}/media/${id}`,
      mediaKey: enc.mediaKey,
      fileSha256: enc.fileSha256,
      fileEncSha256: enc.fileEncSha256,
      fileLength: enc.fileLength,
      mediaKeyTimestamp: Math.floor(Date.now() / 1000),
    };
  }

  /** Serves `GET /media/<id>`; false when the request is not a media route. */
  serve(req: IncomingMessage, res: ServerResponse): boolean {
    const match = /^\/media\/([0-9a-f]{32})$/.exec(req.url?.split('?')[0] ?? '');
    if (!match) return false;
    let body = this.files.get(match[1]);
    const dir = this.store.mediaDir();
    if (!body && dir && existsSync(join(dir, match[1]))) body = readFileSync(join(dir, match[1]));
    if (req.method !== 'GET' || !body) {
      res.writeHead(404).end();
      return true;
    }
    res
      .writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length })
      .end(body);
    return true;
  }
}
