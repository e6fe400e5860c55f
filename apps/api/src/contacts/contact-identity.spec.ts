import type { MessageRecord } from '../messaging/message.types';
import {
  observationFromContactInfo,
  observationsFromMessage,
  resolveIdentity,
  toLid,
  toPhone,
} from './contact-identity';

const NOW = new Date('2026-01-02T10:00:00.000Z');

function message(overrides: Partial<MessageRecord>): MessageRecord {
  return {
    _id: 'm1',
    organizationId: 'org1',
    sessionId: 'org1_main',
    sessionName: 'main',
    direction: 'in',
    chatJid: '201001234567@s.whatsapp.net',
    senderJid: '201001234567@s.whatsapp.net',
    fromMe: false,
    type: 'text',
    status: 'delivered',
    attempts: 0,
    timestamp: NOW,
    createdAt: NOW,
    updatedAt: NOW,
    ...overrides,
  } as MessageRecord;
}

describe('phone and JID normalization', () => {
  it.each([
    ['+20 100 123 4567', '201001234567'],
    ['00201001234567', '201001234567'],
    ['201001234567', '201001234567'],
    ['201001234567@s.whatsapp.net', '201001234567'],
    ['201001234567:12@s.whatsapp.net', '201001234567'],
    ['123456789012345@lid', undefined],
    ['120363021234@g.us', undefined],
    ['hello', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('toPhone(%j) → %j', (input, expected) => expect(toPhone(input)).toBe(expected));

  it.each([
    ['123456789012345@lid', '123456789012345@lid'],
    ['123456789012345:7@lid', '123456789012345@lid'],
    ['123456789012345', '123456789012345@lid'],
    ['201001234567@s.whatsapp.net', undefined],
    ['abc@lid', undefined],
    [null, undefined],
  ])('toLid(%j) → %j', (input, expected) => expect(toLid(input)).toBe(expected));

  it('keys a phone JID with a device suffix by the bare phone JID', () => {
    expect(resolveIdentity('201001234567:12@s.whatsapp.net')).toEqual({
      jid: '201001234567@s.whatsapp.net',
      phone: '201001234567',
      isGroup: false,
    });
  });

  it('keys a LID by the phone JID once the phone is known, keeping the LID', () => {
    expect(resolveIdentity('123456789012345:3@lid', { phone: '+20 100 123 4567' })).toEqual({
      jid: '201001234567@s.whatsapp.net',
      lid: '123456789012345@lid',
      phone: '201001234567',
      isGroup: false,
    });
    expect(resolveIdentity('123456789012345@lid')).toEqual({
      jid: '123456789012345@lid',
      lid: '123456789012345@lid',
      isGroup: false,
    });
  });

  it('treats the JID as authoritative over hints', () => {
    expect(
      resolveIdentity('201001234567@s.whatsapp.net', { phone: '441234567890', lid: '99@lid' }),
    ).toEqual({
      jid: '201001234567@s.whatsapp.net',
      lid: '99@lid',
      phone: '201001234567',
      isGroup: false,
    });
  });

  it('recognizes groups and rejects broadcast lists, newsletters and garbage', () => {
    expect(resolveIdentity('120363021234-1600000000@g.us')).toEqual({
      jid: '120363021234-1600000000@g.us',
      isGroup: true,
    });
    expect(resolveIdentity('status@broadcast')).toBeUndefined();
    expect(resolveIdentity('120363000000@newsletter')).toBeUndefined();
    expect(resolveIdentity('abc@s.whatsapp.net')).toBeUndefined();
    expect(resolveIdentity('')).toBeUndefined();
  });
});

describe('observationFromContactInfo', () => {
  it('maps engine fields, trims names and ignores the "changed" picture placeholder', () => {
    expect(
      observationFromContactInfo(
        {
          jid: '201001234567:2@s.whatsapp.net',
          lid: '555@lid',
          name: '  Mona   Ali ',
          notify: 'Mona',
          verifiedName: '',
          isBusiness: true,
          imgUrl: 'changed',
        },
        NOW,
      ),
    ).toEqual({
      jid: '201001234567@s.whatsapp.net',
      lid: '555@lid',
      phone: '201001234567',
      isGroup: false,
      addressBookName: 'Mona Ali',
      pushName: 'Mona',
      isBusiness: true,
      observedAt: NOW,
    });
    expect(
      observationFromContactInfo(
        { jid: '2010@s.whatsapp.net', imgUrl: 'https://pps.whatsapp.net/x.jpg' },
        NOW,
      ),
    ).toBeUndefined();
    expect(
      observationFromContactInfo(
        { jid: '201001234567@s.whatsapp.net', imgUrl: 'https://pps.whatsapp.net/x.jpg' },
        NOW,
      )?.profilePictureUrl,
    ).toBe('https://pps.whatsapp.net/x.jpg');
  });

  it('accepts a LID contact with its phone as a JID or digits', () => {
    expect(
      observationFromContactInfo({ jid: '555@lid', phone: '201001234567@s.whatsapp.net' }, NOW)
        ?.jid,
    ).toBe('201001234567@s.whatsapp.net');
    expect(observationFromContactInfo({ jid: '555@lid', phone: '+201001234567' }, NOW)?.lid).toBe(
      '555@lid',
    );
  });
});

describe('observationsFromMessage', () => {
  it('an inbound 1:1 message: the sender with pushName, LID and a counted message', () => {
    const [o, ...rest] = observationsFromMessage(
      message({ senderLid: '555@lid', senderPhone: '201001234567', pushName: 'Mona' }),
    );
    expect(rest).toHaveLength(0);
    expect(o).toEqual({
      jid: '201001234567@s.whatsapp.net',
      lid: '555@lid',
      phone: '201001234567',
      isGroup: false,
      pushName: 'Mona',
      observedAt: NOW,
      message: { at: NOW },
    });
  });

  it('an inbound message from a LID chat with the phone revealed is keyed by the phone', () => {
    const [o] = observationsFromMessage(
      message({
        chatJid: '555:2@lid',
        senderJid: '555@lid',
        senderLid: '555@lid',
        senderPhone: '201001234567',
      }),
    );
    expect(o).toMatchObject({
      jid: '201001234567@s.whatsapp.net',
      lid: '555@lid',
      phone: '201001234567',
    });
  });

  it('an outgoing message: the chat partner, no pushName, our own sender data ignored', () => {
    const [o] = observationsFromMessage(
      message({
        direction: 'out',
        fromMe: true,
        senderJid: '201111111111@s.whatsapp.net',
        senderPhone: '201111111111',
        senderLid: '999@lid',
        pushName: 'Me',
      }),
    );
    expect(o).toEqual({
      jid: '201001234567@s.whatsapp.net',
      phone: '201001234567',
      isGroup: false,
      observedAt: NOW,
      message: { at: NOW },
    });
  });

  it('a group message: the group is counted, the participant is only sighted', () => {
    const out = observationsFromMessage(
      message({
        chatJid: '120363021234@g.us',
        participant: '201001234567:3@s.whatsapp.net',
        senderJid: '201001234567@s.whatsapp.net',
        pushName: 'Mona',
      }),
    );
    expect(out).toEqual([
      { jid: '120363021234@g.us', isGroup: true, observedAt: NOW, message: { at: NOW } },
      {
        jid: '201001234567@s.whatsapp.net',
        phone: '201001234567',
        isGroup: false,
        pushName: 'Mona',
        observedAt: NOW,
      },
    ]);
  });

  it('reactions, edits and revokes are sightings, not counted messages; broadcasts are ignored', () => {
    expect(observationsFromMessage(message({ type: 'reaction' }))[0].message).toBeUndefined();
    expect(observationsFromMessage(message({ type: 'revoke' }))[0].message).toBeUndefined();
    expect(observationsFromMessage(message({ chatJid: 'status@broadcast' }))).toEqual([]);
  });
});
