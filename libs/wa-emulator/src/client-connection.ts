import { decodeBinaryNode, encodeBinaryNode, type proto } from '@whiskeysockets/baileys';
import type { WebSocket } from 'ws';
import { FrameReader, frame, NoiseResponder, type NoiseIdentity } from './noise';
import type { BinaryNode } from './nodes';
import { UnackedStanzas } from './unacked-stanzas';

export interface ConnectionHandler {
  onHandshake(conn: ClientConnection, payload: proto.ClientPayload): void;
  onNode(conn: ClientConnection, node: BinaryNode): Promise<void>;
  onClose(conn: ClientConnection): void;
}

let nextConnectionId = 1;

/** One Baileys client's WebSocket: Noise handshake, then encrypted binary nodes in both directions. */
export class ClientConnection {
  readonly id = nextConnectionId++;
  private readonly reader = new FrameReader();
  private readonly noise: NoiseResponder;
  private stage: 'hello' | 'finish' | 'transport' = 'hello';
  private chain: Promise<void> = Promise.resolve();
  closed = false;
  /** Set once logged in: account phone digits and companion device id. */
  account?: string;
  deviceId?: number;
  /** Set while waiting for a QR scan. */
  registration?: proto.ClientPayload.IDevicePairingRegistrationData;
  refs: string[] = [];

  constructor(
    private readonly ws: WebSocket,
    identity: NoiseIdentity,
    private readonly handler: ConnectionHandler,
    private readonly onError: (err: unknown) => void,
  ) {
    this.noise = new NoiseResponder(identity);
    ws.on('message', (data: Buffer) => this.receive(data));
    ws.on('close', () => this.markClosed());
    ws.on('error', () => undefined);
  }

  private notified = false;
  private readonly unacked = new UnackedStanzas();

  private markClosed(): void {
    this.closed = true;
    if (this.notified) return;
    this.notified = true;
    this.handler.onClose(this);
  }

  get clientStaticKey(): Buffer | undefined {
    return this.noise.clientStatic;
  }

  private receive(data: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.reader.push(Buffer.from(data));
    } catch (err) {
      this.onError(err);
      this.terminate();
      return;
    }
    for (const f of frames) {
      // Frames are handled strictly in order, each after the previous one's handler settled.
      this.chain = this.chain.then(() => this.handleFrame(f)).catch((err) => this.onError(err));
    }
  }

  private async handleFrame(f: Buffer): Promise<void> {
    if (this.closed) return;
    if (this.stage === 'hello') {
      this.stage = 'finish';
      this.ws.send(frame(this.noise.hello(f)));
      return;
    }
    if (this.stage === 'finish') {
      const payload = this.noise.finish(f);
      this.stage = 'transport';
      this.handler.onHandshake(this, payload);
      return;
    }
    const decoded = await decodeBinaryNode(this.noise.decrypt(f));
    this.unacked.received(decoded);
    await this.handler.onNode(this, decoded);
  }

  send(n: BinaryNode): void {
    if (this.closed || this.stage !== 'transport') return;
    this.unacked.sent(n);
    this.ws.send(frame(this.noise.encrypt(encodeBinaryNode(n))));
  }

  /** The messages and receipts sent on this connection that the client never acknowledged (taken, in order). */
  takeUnacknowledged(): BinaryNode[] {
    return this.unacked.take();
  }

  /** Ends the socket cleanly (close frame). */
  close(): void {
    if (this.closed) return;
    this.ws.close();
    this.markClosed();
  }

  /** Drops the socket without a close frame, as a network failure would. */
  terminate(): void {
    if (this.closed) return;
    this.ws.terminate();
    this.markClosed();
  }
}
