import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSelfSignedCert } from './tls-cert';

/** Largest upload accepted (WhatsApp's hosts announce about 100 MB too). */
export const MEDIA_MAX_BYTES = 100 * 1024 * 1024;
const UPLOAD_PATH = /^\/mms\/([a-z-]+)\/([A-Za-z0-9_-]+)$/;
const STORED_PATH = /\/v\/emu\/([0-9a-f]{32})\.enc/;

/** WhatsApp's upload token: base64 of fileEncSha256, URL-safe, without padding (Baileys' encodeBase64EncodedStringForUpload). */
const uploadToken = (encrypted: Buffer) =>
  createHash('sha256')
    .update(encrypted)
    .digest('base64')
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

/**
 * The emulator's media host, what `media_conn` names: HTTPS (Baileys always uploads to
 * `https://<hostname>/mms/<type>/<token>?auth=…&token=…`) with a self-signed certificate made at
 * start, so clients must trust `cert` (the gateway passes it as Baileys' `fetchAgent` CA). Stores the
 * encrypted uploads (in memory) and serves them back at their `direct_path`.
 */
export class MediaHost {
  /** Encrypted bytes by upload id. */
  private readonly uploads = new Map<string, Buffer>();
  /** The `auth` that media_conn hands out and uploads must carry. */
  readonly auth = randomBytes(24).toString('base64');

  private constructor(
    private readonly server: Server,
    readonly cert: string,
    private readonly host: string,
    private readonly log: (message: string, details?: Record<string, unknown>) => void,
  ) {}

  static async start(
    host: string,
    port: number,
    log: (message: string, details?: Record<string, unknown>) => void,
  ): Promise<MediaHost> {
    const { cert, key } = createSelfSignedCert([host, 'localhost']);
    const server = createServer({ cert, key });
    const media = new MediaHost(server, cert, host, log);
    server.on('request', (req, res) => media.serve(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return media;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** `hostname` of the media_conn `<host>` (Baileys puts it between `https://` and the path). */
  get hostname(): string {
    return `${this.host}:${this.port}`;
  }

  /** The encrypted upload a message's `url` or `directPath` points at. */
  find(urlOrPath: string | null | undefined): Buffer | undefined {
    const match = urlOrPath ? STORED_PATH.exec(urlOrPath) : null;
    return match ? this.uploads.get(match[1]) : undefined;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://media.invalid');
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method === 'GET') {
      const body = this.find(url.pathname);
      if (!body) return void res.writeHead(404).end();
      return void res
        .writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': body.length,
        })
        .end(body);
    }
    const upload = UPLOAD_PATH.exec(url.pathname);
    if (req.method !== 'POST' || !upload) return void json(404, { error: 'not found' });
    if (url.searchParams.get('auth') !== this.auth)
      return void json(401, { error: 'bad media auth' });
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MEDIA_MAX_BYTES) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      const encrypted = Buffer.concat(chunks);
      if (uploadToken(encrypted) !== upload[2]) {
        this.log('media upload refused: fileEncSha256 does not match', { type: upload[1] });
        return void json(400, { error: 'fileEncSha256 mismatch' });
      }
      const id = randomBytes(16).toString('hex');
      this.uploads.set(id, encrypted);
      const directPath = `/v/emu/${id}.enc?type=${upload[1]}`;
      json(200, { url: `https://${this.hostname}${directPath}`, direct_path: directPath });
    });
  }
}
