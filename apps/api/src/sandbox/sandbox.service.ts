import { Injectable } from '@nestjs/common';
import {
  type SandboxInboundSpec,
  SandboxControl,
  SessionRegistry,
  type WaSessionState,
} from '@app/whatsapp';
import { MessageHistoryService } from '../messaging/message-history.service';
import { WhatsAppSessionsService } from '../whatsapp-session/whatsapp-session.service';
import type {
  SandboxContactDto,
  SandboxGroupDto,
  SandboxInboundDto,
  SandboxPhoneReadDto,
  SandboxReceiptDto,
} from './sandbox.dto';
import { BadRequestError, groupBy } from '@app/common';

const SCAN_SETTLE_MS = 5_000;

/** Drives the simulated phone of one of the caller's sandbox sessions. */
@Injectable()
export class SandboxService {
  constructor(
    private readonly control: SandboxControl,
    private readonly registry: SessionRegistry,
    private readonly sessions: WhatsAppSessionsService,
    private readonly history: MessageHistoryService,
  ) {}

  /** The phone scans the QR; resolves once the session is connected (or after a few seconds). */
  async scan(
    organizationId: string,
    name: string,
    phone: string,
    pushName?: string,
  ): Promise<WaSessionState> {
    const session = await this.sessions.getOwned(organizationId, name);
    await this.control.scan(session.sessionId, phone, { pushName });
    await this.registry.waitForStatus(session.sessionId, (s) => s === 'connected', SCAN_SETTLE_MS);
    return this.sessions.getOwned(organizationId, name);
  }

  async enterPairingCode(
    organizationId: string,
    name: string,
    code: string,
  ): Promise<WaSessionState> {
    const session = await this.sessions.getOwned(organizationId, name);
    await this.control.enterPairingCode(session.sessionId, code);
    await this.registry.waitForStatus(session.sessionId, (s) => s === 'connected', SCAN_SETTLE_MS);
    return this.sessions.getOwned(organizationId, name);
  }

  async inbound(organizationId: string, name: string, dto: SandboxInboundDto) {
    const session = await this.sessions.getOwned(organizationId, name);
    const { media, history, ...rest } = dto;
    const spec: SandboxInboundSpec = { ...rest, ...(history ? { isHistory: true } : {}) };
    if (media)
      spec.media = {
        data: Buffer.from(media.base64, 'base64'),
        mimetype: media.mimetype,
        fileName: media.fileName,
        seconds: media.seconds,
      };
    const message = this.control.inbound(session.sessionId, spec);
    return { waMessageId: message.waMessageId, chatJid: message.chatJid };
  }

  async receipt(organizationId: string, name: string, dto: SandboxReceiptDto): Promise<void> {
    const session = await this.sessions.getOwned(organizationId, name);
    const message = await this.history.get(organizationId, dto.messageId);
    if (message.sessionId !== session.sessionId || message.direction !== 'out') {
      throw new BadRequestError(
        'NOT_AN_OUTGOING_MESSAGE',
        'messageId must be an outgoing message of this session',
      );
    }
    if (!message.waMessageId)
      throw new BadRequestError(
        'MESSAGE_NOT_SENT',
        'The message has not been sent yet (status pending)',
      );
    this.control.receipt(session.sessionId, message.waMessageId, dto.status, message.chatJid);
  }

  /** The phone reads received messages: one `read-self` receipt per chat, to the address WhatsApp used. */
  async phoneRead(organizationId: string, name: string, dto: SandboxPhoneReadDto): Promise<void> {
    const session = await this.sessions.getOwned(organizationId, name);
    const messages = await Promise.all(
      [...new Set(dto.messageIds)].map((id) => this.history.get(organizationId, id)),
    );
    const foreign = messages.find(
      (m) => m.sessionId !== session.sessionId || m.direction !== 'in' || !m.waMessageId,
    );
    if (foreign)
      throw new BadRequestError(
        'NOT_A_RECEIVED_MESSAGE',
        `messageIds must be received messages of this session: ${foreign._id} is not`,
      );
    const byChat = groupBy(messages, (m) => m.waAddress?.remoteJid ?? m.chatJid);
    for (const [chat, read] of byChat)
      this.control.readOnPhone(
        session.sessionId,
        chat,
        read.map((m) => m.waMessageId!),
      );
  }

  async disconnect(
    organizationId: string,
    name: string,
    reason: Parameters<SandboxControl['disconnect']>[1],
  ): Promise<void> {
    const session = await this.sessions.getOwned(organizationId, name);
    await this.control.disconnect(session.sessionId, reason);
  }

  async pushContact(organizationId: string, name: string, dto: SandboxContactDto): Promise<void> {
    const session = await this.sessions.getOwned(organizationId, name);
    this.control.pushContact(session.sessionId, dto);
  }

  async revealLid(
    organizationId: string,
    name: string,
    mapping: { phone: string; lid: string },
  ): Promise<void> {
    const session = await this.sessions.getOwned(organizationId, name);
    this.control.revealLid(session.sessionId, mapping);
  }

  async nameGroup(organizationId: string, name: string, dto: SandboxGroupDto): Promise<void> {
    const session = await this.sessions.getOwned(organizationId, name);
    this.control.nameGroup(session.sessionId, dto.chatJid, dto.subject);
  }
}
