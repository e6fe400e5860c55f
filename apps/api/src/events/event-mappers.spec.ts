import type { MessageRecord } from '../messaging/message.types';
import {
  contactUpdatedEvent,
  messageCreatedEvent,
  messageStatusEvent,
  sessionDeletedEvent,
  sessionQrEvent,
  sessionStatusEvent,
} from './event-mappers';

const at = new Date('2026-01-01T10:00:00Z');
const message = (over: Partial<MessageRecord> = {}): MessageRecord => ({
  _id: '665f1c2b1e6a3e4f7e9d0e0c',
  organizationId: 'org1',
  sessionId: 'org1_main',
  sessionName: 'main',
  direction: 'in',
  chatJid: '201112223334@s.whatsapp.net',
  fromMe: false,
  type: 'text',
  text: 'hi',
  status: 'delivered',
  attempts: 0,
  timestamp: at,
  createdAt: at,
  updatedAt: at,
  ...over,
});

describe('event mappers', () => {
  it('keys a session deletion by the session and its creation: a repeat of it as itself, a later session of the name apart', () => {
    const deletion = (createdAt: Date, when = at, phone?: string) =>
      sessionDeletedEvent({
        sessionId: 'org1_main',
        organizationId: 'org1',
        sessionName: 'main',
        createdAt,
        at: when,
        ...(phone ? { phone } : {}),
      });
    const created = new Date('2025-12-01T00:00:00Z');
    const first = deletion(created, at, '201001234567');
    expect(first).toMatchObject({
      type: 'session.deleted',
      organizationId: 'org1',
      sessionName: 'main',
      occurredAt: at,
      data: { sessionId: 'org1_main', sessionName: 'main', phone: '201001234567', deletedAt: at },
    });
    expect(deletion(created, new Date(at.getTime() + 5)).sourceKey).toBe(first.sourceKey);
    expect(deletion(new Date(created.getTime() + 1)).sourceKey).not.toBe(first.sourceKey);
    expect(deletion(created).data).not.toHaveProperty('phone');
  });

  it('keys each session status change apart, and a replay of one as the change itself', () => {
    const change = (status: 'connecting' | 'qr_ready', replayed?: boolean) =>
      sessionStatusEvent({
        sessionId: 'org1_main',
        organizationId: 'org1',
        sessionName: 'main',
        status,
        previousStatus: status === 'qr_ready' ? 'connecting' : null,
        at,
        ...(replayed ? { replayed } : {}),
      }).sourceKey;
    // Two changes dated the same millisecond (a writer on another instance, a clock step back).
    expect(change('connecting')).not.toBe(change('qr_ready'));
    expect(change('qr_ready', true)).toBe(change('qr_ready'));
  });

  it('maps session status and QR events', () => {
    const e = sessionStatusEvent({
      sessionId: 'org1_main',
      organizationId: 'org1',
      sessionName: 'main',
      status: 'connected',
      previousStatus: 'qr_ready',
      phone: '201001234567',
      jid: '201001234567@s.whatsapp.net',
      at,
    });
    expect(e).toMatchObject({
      type: 'session.status',
      organizationId: 'org1',
      sessionName: 'main',
      occurredAt: at,
    });
    expect(e.data).toEqual({
      sessionId: 'org1_main',
      sessionName: 'main',
      status: 'connected',
      previousStatus: 'qr_ready',
      phone: '201001234567',
      jid: '201001234567@s.whatsapp.net',
      statusChangedAt: at,
    });
    // A session's first status event: no status before it, said as null (not left out).
    const first = sessionStatusEvent({
      sessionId: 'org1_main',
      organizationId: 'org1',
      sessionName: 'main',
      status: 'connecting',
      previousStatus: null,
      at,
    });
    expect(first.data).toEqual({
      sessionId: 'org1_main',
      sessionName: 'main',
      status: 'connecting',
      previousStatus: null,
      statusChangedAt: at,
    });
    const qr = sessionQrEvent(
      {
        sessionId: 'org1_main',
        organizationId: 'org1',
        sessionName: 'main',
        qr: 'data:image/png;base64,AA',
        expiresAt: at,
      },
      at,
    );
    expect(qr).toMatchObject({
      type: 'session.qr',
      data: { qr: 'data:image/png;base64,AA', status: 'qr_ready', expiresAt: at },
    });
  });

  it('maps created messages: inbound → received, from the phone → sent, API pending → nothing', () => {
    const received = messageCreatedEvent(message());
    expect(received?.type).toBe('message.received');
    expect(received?.data).toMatchObject({
      id: '665f1c2b1e6a3e4f7e9d0e0c',
      text: 'hi',
      direction: 'in',
    });
    expect(received?.data).not.toHaveProperty('organizationId');
    const fromPhone = { direction: 'out', fromMe: true, attempts: undefined } as const;
    expect(messageCreatedEvent(message({ ...fromPhone, status: 'sent' }))?.type).toBe(
      'message.sent',
    );
    expect(
      messageCreatedEvent(message({ direction: 'out', fromMe: true, status: 'pending' })),
    ).toBeUndefined();
    // An API send replayed after a crash, sent meanwhile: its status change announced it already.
    expect(
      messageCreatedEvent(message({ direction: 'out', fromMe: true, status: 'sent', attempts: 1 })),
    ).toBeUndefined();
  });

  it('maps status changes: sent → message.sent, later ones → message.status', () => {
    const out = message({ direction: 'out', fromMe: true });
    expect(
      messageStatusEvent({
        message: { ...out, status: 'sent' },
        status: 'sent',
        at,
      })?.type,
    ).toBe('message.sent');
    for (const status of ['delivered', 'read', 'played', 'failed'] as const) {
      const e = messageStatusEvent({
        message: { ...out, status },
        status,
        at,
      });
      expect(e?.type).toBe('message.status');
      expect(e?.data.status).toBe(status);
      expect(e?.occurredAt).toEqual(at);
    }
  });

  it('maps contact updates and ignores payloads without an organization', () => {
    const e = contactUpdatedEvent(
      {
        contact: {
          organizationId: 'org1',
          id: 'c1',
          sessionName: 'main',
          displayName: 'Ali',
          tags: ['vip'],
        },
      },
      at,
    );
    expect(e).toMatchObject({
      type: 'contact.updated',
      organizationId: 'org1',
      sessionName: 'main',
      data: { id: 'c1', displayName: 'Ali', tags: ['vip'] },
    });
    expect(e?.data).not.toHaveProperty('organizationId');
    expect(contactUpdatedEvent({ contact: {} as never })).toBeUndefined();
  });
});
