import { Logger } from '@nestjs/common';
import { getContentType, normalizeMessageContent, proto } from '@whiskeysockets/baileys';
import type { PhoneControl } from '@app/wa-emulator';
import {
  InvalidPairingCodeError,
  SandboxInvalidInboundError,
  SandboxInvalidStateError,
  SandboxUnknownMessageError,
  SessionNotConnectedError,
} from '../errors';
import type { WaCloseReason } from '../engine/close-reason';
import type { ContactInfo } from '../engine/wa-connection';
import {
  describePhase,
  type SandboxReceiptStatus,
  type SandboxSentQuote,
  statusOfPhase,
} from '../sandbox/sandbox-connection';
import type { SandboxControlBackend, SandboxInboundAccepted } from '../sandbox/sandbox-control';
import { newSandboxMessageId, onlyDigits, phoneToJid } from '../sandbox/sandbox-ids';
import type { SandboxInboundSpec } from '../sandbox/sandbox-inbound';
import type { EmulatedConnection } from './emulated-connection';
import type { EmulatorBackend } from './emulator-backend';

const CLOSE_WAIT_MS = 5_000;
const MEDIA_KINDS = ['image', 'video', 'audio', 'voice', 'document', 'sticker'] as const;
type MediaKind = (typeof MEDIA_KINDS)[number];
const isMediaKind = (t: string): t is MediaKind => (MEDIA_KINDS as readonly string[]).includes(t);

/** Our message types by the proto field of a quoted message. */
const QUOTED_TYPES: Record<string, string> = {
  conversation: 'text',
  extendedTextMessage: 'text',
  imageMessage: 'image',
  videoMessage: 'video',
  audioMessage: 'audio',
  documentMessage: 'document',
  stickerMessage: 'sticker',
  locationMessage: 'location',
  contactMessage: 'contact',
  pollCreationMessage: 'poll',
};

const notYet = (what: string) =>
  new SandboxInvalidInboundError(
    `${what} is not supported by the emulator back-end yet (use WHATSAPP_ENGINE=sandbox)`,
  );

/**
 * The sandbox control routes, played by the WhatsApp emulator: the simulated phone really scans the
 * QR Baileys shows, contacts send Signal-encrypted messages, receipts and disconnects are server
 * stanzas. Whatever the emulator cannot do yet is refused with a 400/409 that says so.
 */
export class EmulatorSandboxControl implements SandboxControlBackend {
  private readonly log = new Logger('EmulatorSandboxControl');
  /** LID → phone of the reveals still queued, by session: the emulator links them in turn. */
  private readonly pendingLids = new Map<string, Map<string, string>>();

  constructor(private readonly backend: EmulatorBackend) {}

  private phone(account: string): PhoneControl {
    return this.backend.server.phone(account);
  }

  private openOrThrow(sessionId: string): EmulatedConnection & { account: string } {
    const conn = this.backend.getOrThrow(sessionId);
    if (conn.phase !== 'open' || !conn.account)
      throw new SessionNotConnectedError(sessionId, statusOfPhase(conn.phase));
    return conn as EmulatedConnection & { account: string };
  }

  async scan(
    sessionId: string,
    phone: string,
    profile: { pushName?: string; lid?: string } = {},
  ): Promise<void> {
    const conn = this.backend.getOrThrow(sessionId);
    const qr = conn.qr;
    if (conn.phase !== 'qr' || !qr)
      throw new SandboxInvalidStateError(
        `Nothing to scan: the session is ${describePhase(conn.phase)}`,
        sessionId,
      );
    const clean = Object.fromEntries(
      Object.entries(profile).filter(([, v]) => v !== undefined),
    ) as { pushName?: string; lid?: string };
    try {
      await this.phone(onlyDigits(phone)).scan(qr, clean);
    } catch (err) {
      throw new SandboxInvalidStateError(
        `The emulated phone could not link the session: ${(err as Error).message}`,
        sessionId,
      );
    }
  }

  /** The phone the code was requested for types it: link_code_companion_reg with the real Baileys client. */
  async enterPairingCode(sessionId: string, code: string): Promise<void> {
    const conn = this.backend.getOrThrow(sessionId);
    const phone = conn.pairingCodePhone;
    if (!phone) throw new InvalidPairingCodeError(sessionId);
    try {
      await this.phone(phone).enterPairingCode(code);
    } catch (err) {
      const message = (err as Error).message;
      if (/wrong pairing code|did not finish|no client is waiting/.test(message))
        throw new InvalidPairingCodeError(sessionId);
      throw new SandboxInvalidStateError(
        `The emulated phone could not link the session: ${message}`,
        sessionId,
      );
    }
  }

  /**
   * A contact writes (pairwise, or in group `chatJid`), or the user typed the message on the phone
   * (`fromMe`: a `deviceSentMessage` copy from the account's own phone; in a group, from the
   * account as member). Encrypted to this session's device only, in order per session.
   */
  inbound(sessionId: string, spec: SandboxInboundSpec): SandboxInboundAccepted {
    const conn = this.openOrThrow(sessionId);
    const partner = this.resolveSender(spec.from);
    const group = spec.chatJid;
    const chatJid = group ?? partner.chatJid;
    const message = this.buildMessage(spec, conn.account, chatJid);
    // Where Baileys will file it: a contact with a phone number writes from its LID with
    // `sender_pn`, which Baileys gives as key.remoteJidAlt and our normalization prefers.
    const phoneOfLid =
      !group && !spec.fromMe && !spec.isHistory && partner.via === 'lid'
        ? this.phoneOfLid(sessionId, partner.contact)
        : undefined;
    const waMessageId = spec.waMessageId ?? newSandboxMessageId();
    void conn
      .enqueue(async () => {
        const { deviceId } = await conn.device();
        const phone = this.phone(conn.account);
        const opts = {
          id: waMessageId,
          deviceId,
          via: partner.via,
          ...(spec.pushName ? { pushName: spec.pushName } : {}),
          ...(spec.timestamp ? { timestamp: spec.timestamp } : {}),
        };
        if (spec.isHistory)
          await phone.syncHistory(
            chatJid,
            [
              {
                id: waMessageId,
                message,
                fromMe: spec.fromMe,
                ...(group && !spec.fromMe ? { participant: partner.chatJid } : {}),
                pushName: spec.pushName,
                timestamp: spec.timestamp,
              },
            ],
            { deviceId },
          );
        else if (group)
          await phone.sendGroupMessage(
            group,
            spec.fromMe ? conn.account : partner.contact,
            message,
            opts,
          );
        else if (spec.fromMe)
          await phone.sendFromMe(partner.chatJid, message, {
            id: waMessageId,
            deviceId,
            ...(spec.timestamp ? { timestamp: spec.timestamp } : {}),
          });
        else await phone.sendMessage(partner.contact, message, opts);
      })
      .catch((err: Error) =>
        this.log.warn(`inbound ${waMessageId} for ${sessionId} was not delivered: ${err.message}`),
      );
    return { waMessageId, chatJid: phoneOfLid ? phoneToJid(phoneOfLid) : chatJid };
  }

  /**
   * The recipient reports the message (in a group: its first other member). `chatJid` names the chat
   * of a message the emulator no longer remembers (it keeps sent messages in memory only).
   */
  receipt(
    sessionId: string,
    waMessageId: string,
    status: SandboxReceiptStatus,
    chatJid?: string,
  ): void {
    const conn = this.openOrThrow(sessionId);
    try {
      this.phone(conn.account).receipt(waMessageId, status, {
        deviceId: conn.cachedDevice?.deviceId,
        ...(chatJid ? { chat: chatJid } : {}),
      });
    } catch (err) {
      throw new SandboxUnknownMessageError(waMessageId, (err as Error).message);
    }
  }

  readOnPhone(sessionId: string, chatJid: string, waMessageIds: string[]): void {
    const conn = this.openOrThrow(sessionId);
    this.phone(conn.account).readOnPhone(chatJid, waMessageIds, conn.cachedDevice?.deviceId);
  }

  async disconnect(sessionId: string, reason: WaCloseReason): Promise<void> {
    const conn = this.backend.getOrThrow(sessionId);
    if (conn.phase !== 'open' || !conn.account)
      throw new SandboxInvalidStateError(
        `The emulator back-end disconnects connected sessions only (now: ${describePhase(conn.phase)})`,
        sessionId,
      );
    const { account, deviceId } = await conn.device();
    const phone = this.phone(account);
    switch (reason) {
      case 'connectionLost':
        phone.drop(deviceId);
        break;
      case 'loggedOut':
        phone.logout(deviceId);
        break;
      case 'restartRequired':
        phone.streamError(515, deviceId);
        break;
      case 'connectionReplaced':
        phone.replace(deviceId);
        break;
      case 'forbidden':
        phone.streamError(403, deviceId);
        break;
      case 'multideviceMismatch':
        phone.streamError(411, deviceId);
        break;
      case 'badSession':
        phone.streamError(500, deviceId);
        break;
      case 'unavailableService':
        phone.streamError(503, deviceId);
        break;
      default:
        throw notYet(`Disconnect reason "${reason}"`);
    }
    await conn.waitForClose(CLOSE_WAIT_MS);
  }

  pushContact(
    sessionId: string,
    input: { jid?: string; phone?: string; pushName?: string; name?: string; lid?: string },
  ): ContactInfo {
    const conn = this.openOrThrow(sessionId);
    const phone = input.phone
      ? onlyDigits(input.phone)
      : input.jid?.endsWith('@s.whatsapp.net')
        ? input.jid.split('@')[0]
        : undefined;
    if (!phone) throw notYet('A contact without a phone number');
    const jid = phoneToJid(phone);
    const lid = input.lid ? (input.lid.includes('@') ? input.lid : `${input.lid}@lid`) : undefined;
    // WhatsApp sends push names and address-book names in separate history-sync chunks; the route promises one contact event.
    conn.expectContactParts(jid, (input.pushName ? 1 : 0) + (input.name || lid ? 1 : 0));
    void conn
      .enqueue(async () => {
        const { deviceId } = await conn.device();
        await this.phone(conn.account).pushContacts(
          [{ phone, pushName: input.pushName, name: input.name, lid }],
          { deviceId },
        );
      })
      .catch((err: Error) =>
        this.log.warn(`contact ${jid} for ${sessionId} was not delivered: ${err.message}`),
      );
    return {
      jid,
      phone,
      ...(lid ? { lid } : {}),
      ...(input.pushName ? { notify: input.pushName } : {}),
      ...(input.name ? { name: input.name } : {}),
    };
  }

  /** WhatsApp reveals the LID's phone number: the emulator links them, then tells this session's device. */
  revealLid(sessionId: string, mapping: { phone: string; lid: string }): void {
    const conn = this.openOrThrow(sessionId);
    const lid = mapping.lid.includes('@') ? mapping.lid : `${mapping.lid}@lid`;
    const phone = onlyDigits(mapping.phone);
    const owner = this.phoneOfLid(sessionId, lid);
    if (owner && owner !== phone)
      throw new SandboxInvalidStateError(
        `LID ${lid} already belongs to another phone number in the emulator`,
        sessionId,
      );
    let pending = this.pendingLids.get(sessionId);
    if (!pending) this.pendingLids.set(sessionId, (pending = new Map()));
    pending.set(lid, phone);
    void conn
      .enqueue(async () => {
        const { deviceId } = await conn.device();
        // Linked in order with the inbound messages around it: earlier ones still come from the LID-only contact.
        this.phone(conn.account).revealLid({ phone, lid }, { deviceId });
      })
      .catch((err: Error) =>
        this.log.warn(`LID mapping for ${sessionId} was not delivered: ${err.message}`),
      )
      .finally(() => {
        if (pending.get(lid) === phone) pending.delete(lid);
        if (!pending.size && this.pendingLids.get(sessionId) === pending)
          this.pendingLids.delete(sessionId);
      });
  }

  /** The emulator names the group (with the account in it) and tells the session's device. */
  nameGroup(sessionId: string, chatJid: string, subject: string): void {
    const conn = this.openOrThrow(sessionId);
    void conn
      .enqueue(async () => {
        this.phone(conn.account).nameGroup(chatJid, subject);
      })
      .catch((err: Error) =>
        this.log.warn(`group ${chatJid} for ${sessionId} was not announced: ${err.message}`),
      );
  }

  /** The phone number the emulator gives `lid` (digits) once this session's queued reveals are in. */
  private phoneOfLid(sessionId: string, lid: string): string | undefined {
    return this.pendingLids.get(sessionId)?.get(lid) ?? this.backend.server.userByLid(lid)?.phone;
  }

  /** The read receipts the session's Baileys client sent to the emulator. */
  readReceipts(sessionId: string): string[] {
    const { account } = this.openOrThrow(sessionId);
    return this.backend.server.clientReceipts
      .filter((r) => r.account === account && r.type === 'read')
      .map((r) => r.id);
  }

  /** The contextInfo of the session's message `waMessageId` as its recipient decrypted it. */
  sentQuote(sessionId: string, waMessageId: string): SandboxSentQuote | undefined {
    const { account } = this.openOrThrow(sessionId);
    const record = this.phone(account).outbox.find((r) => r.id === waMessageId);
    const content = record && normalizeMessageContent(record.message);
    const kind = content && getContentType(content);
    const body = kind && (content[kind] as { contextInfo?: proto.IContextInfo | null } | null);
    const context = body?.contextInfo;
    if (!context?.stanzaId || !context.quotedMessage) return undefined;
    const quoted = normalizeMessageContent(context.quotedMessage)!;
    const quotedKind = getContentType(quoted);
    const inner = (quotedKind && quoted[quotedKind]) as
      { caption?: string | null; text?: string | null; ptt?: boolean | null } | string | undefined;
    const text = typeof inner === 'string' ? inner : (inner?.text ?? undefined);
    const caption = typeof inner === 'object' ? inner?.caption : undefined;
    return {
      waMessageId: context.stanzaId,
      participant: context.participant ?? '',
      type: QUOTED_TYPES[quotedKind as string] ?? String(quotedKind),
      ...(typeof inner === 'object' && inner?.ptt ? { type: 'voice' } : {}),
      ...(text !== undefined ? { text } : {}),
      ...(caption ? { caption } : {}),
    };
  }

  isLive(sessionId: string): boolean {
    return this.backend.get(sessionId) !== undefined;
  }

  phase(sessionId: string): string | undefined {
    return this.backend.get(sessionId)?.phase;
  }

  // ---------------------------------------------------------------- helpers

  /**
   * The other side of the chat: a phone number or PN JID, or a `…@lid` JID (a LID the emulator does
   * not know writes as a contact known only by LID, without a phone number behind it).
   */
  private resolveSender(from: string): { contact: string; via: 'pn' | 'lid'; chatJid: string } {
    if (from.endsWith('@lid')) {
      const lid = `${onlyDigits(from.split('@')[0].split(':')[0])}@lid`;
      return { contact: lid, via: 'lid', chatJid: lid };
    }
    const phone = onlyDigits(from.split('@')[0].split(':')[0]);
    if (phone.length < 6)
      throw new SandboxInvalidInboundError(`"from" must be a phone number or a JID, got "${from}"`);
    return { contact: phone, via: 'pn', chatJid: phoneToJid(phone) };
  }

  private buildMessage(spec: SandboxInboundSpec, account: string, chatJid: string): proto.IMessage {
    // revoke / edit apply to the sender's own message; a reaction's target is someone else's.
    const ownTarget = spec.fromMe ?? false;
    const type = spec.type ?? (spec.media ? 'document' : 'text');
    const need = <T>(value: T | undefined, field: string): T => {
      if (value === undefined || value === null)
        throw new SandboxInvalidInboundError(`a "${type}" message needs "${field}"`);
      return value;
    };
    const context = spec.quotedId ? { contextInfo: { stanzaId: spec.quotedId } } : {};
    const targetKey = (id: string, fromMe = false) => ({ remoteJid: chatJid, fromMe, id });
    if (type === 'text') {
      const text = need(spec.text, 'text');
      return spec.quotedId ? { extendedTextMessage: { text, ...context } } : { conversation: text };
    }
    if (isMediaKind(type)) {
      const media = need(spec.media, 'media');
      const message = this.phone(account).mediaMessage(type, {
        data: media.data,
        mimetype: media.mimetype,
        fileName: media.fileName,
        seconds: media.seconds,
        caption: spec.caption,
      });
      if (spec.quotedId)
        for (const body of Object.values(message)) Object.assign(body as object, context);
      return message;
    }
    switch (type) {
      case 'location': {
        const loc = need(spec.location, 'location');
        return {
          locationMessage: {
            degreesLatitude: loc.lat,
            degreesLongitude: loc.lng,
            ...(loc.name ? { name: loc.name } : {}),
          },
        };
      }
      case 'contact': {
        const card = need(spec.contact, 'contact');
        return { contactMessage: { displayName: card.displayName, vcard: card.vcard } };
      }
      case 'reaction': {
        const reaction = need(spec.reaction, 'reaction');
        return {
          reactionMessage: {
            key: targetKey(reaction.targetId),
            text: reaction.emoji,
            senderTimestampMs: Date.now(),
          },
        };
      }
      case 'poll': {
        const poll = need(spec.poll, 'poll');
        return {
          pollCreationMessageV3: {
            name: poll.name,
            options: poll.options.map((optionName) => ({ optionName })),
            selectableOptionsCount: 1,
          },
        };
      }
      case 'revoke':
        return {
          protocolMessage: {
            type: proto.Message.ProtocolMessage.Type.REVOKE,
            key: targetKey(need(spec.targetId, 'targetId'), ownTarget),
          },
        };
      case 'edit':
        return {
          protocolMessage: {
            type: proto.Message.ProtocolMessage.Type.MESSAGE_EDIT,
            key: targetKey(need(spec.targetId, 'targetId'), ownTarget),
            editedMessage: { conversation: need(spec.editedText ?? spec.text, 'editedText') },
            timestampMs: Date.now(),
          },
        };
      default:
        throw notYet(`Inbound type "${type}"`);
    }
  }
}
