import type { Socket } from 'node:net';
import type { Document } from 'bson';
import { toCommandError } from '../errors';
import {
  decodeMessage,
  encodeOpMsgReply,
  encodeOpReply,
  OpCode,
  type WireRequest,
} from './protocol';

/** A reply, or a promise of one when it must wait for the journal to reach the disk (group commit). */
export type CommandRunner = (
  command: Document,
  db: string,
  connection: WireConnection,
) => Document | Promise<Document>;

/** Upper bound for one incoming message (the driver's maxMessageSizeBytes plus slack). */
const MAX_INCOMING_MESSAGE = 64 * 1024 * 1024;

let nextResponseId = 1;

/** One client socket: frames incoming bytes into messages and answers each in order. */
export class WireConnection {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Replies leave in request order even when some wait for an fsync. */
  private replies: Promise<void> = Promise.resolve();

  constructor(
    readonly id: number,
    private readonly socket: Socket,
    private readonly runCommand: CommandRunner,
    private readonly onProtocolError: (error: Error) => void,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.receive(chunk));
  }

  get clientAddress(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  private receive(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    try {
      for (let message = this.nextMessage(); message; message = this.nextMessage())
        this.handle(message);
    } catch (error) {
      this.onProtocolError(error as Error);
      this.socket.destroy();
    }
  }

  /** Pops one complete message when enough bytes have arrived; chunks are joined only then. */
  private nextMessage(): Buffer | undefined {
    if (this.buffered < 4) return undefined;
    const head = this.chunks[0].length >= 4 ? this.chunks[0] : Buffer.concat(this.chunks);
    const length = head.readInt32LE(0);
    if (length < 16 || length > MAX_INCOMING_MESSAGE)
      throw new Error(`invalid message length ${length}`);
    if (this.buffered < length) return undefined;
    const all =
      this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered);
    const rest = all.subarray(length);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return all.subarray(0, length);
  }

  private handle(message: Buffer): void {
    let request: WireRequest;
    try {
      request = decodeMessage(message);
    } catch (error) {
      const opCode = message.readInt32LE(12);
      this.reply(message.readInt32LE(4), opCode, toCommandError(error).toReply());
      return;
    }
    const db = (request.command.$db as string | undefined) ?? request.legacyDb ?? 'admin';
    const reply = this.runCommand(request.command, db, this);
    if (request.moreToCome) return;
    this.replies = this.replies.then(async () => {
      let document: Document;
      try {
        document = await reply;
      } catch (error) {
        document = toCommandError(error).toReply();
      }
      this.reply(request.requestId, request.opCode, document);
    });
  }

  /**
   * Sends a reply. One that cannot be encoded (too large, or anything unexpected) is answered
   * with that error instead: an exception here would end the process (the gateway's worker).
   */
  private reply(requestId: number, opCode: number, reply: Document): void {
    const encode = opCode === OpCode.QUERY ? encodeOpReply : encodeOpMsgReply;
    let message: Buffer;
    try {
      message = encode(nextResponseId++ & 0x7fffffff, requestId, reply);
    } catch (error) {
      message = encode(nextResponseId++ & 0x7fffffff, requestId, toCommandError(error).toReply());
    }
    if (!this.socket.destroyed) this.socket.write(message);
  }
}
