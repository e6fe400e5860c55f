import { BufferJSON, proto, type WAMessage } from '@whiskeysockets/baileys';
import { decodeAuthValue, encodeAuthValue } from '../auth-state/buffer-json';
import { mapBaileysClose } from './baileys-close-reason';
import { statusFromMessageUpdate, statusFromReceipt } from './baileys-receipts';
import { fromMediaRef } from './media-ref';
import { normalizeContact, normalizeGroup } from './normalize-contact';
import { normalizeMessage } from './normalize-message';

const PEER = '15550001111@s.whatsapp.net';
const ctx = { isHistory: false, me: { jid: '15559990000@s.whatsapp.net', lid: '777@lid' } };
const wa = (
  message: proto.IMessage,
  key: Partial<WAMessage['key']> = {},
  extra: Partial<WAMessage> = {},
): WAMessage =>
  ({
    key: { remoteJid: PEER, fromMe: false, id: 'ABC123', ...key },
    message,
    messageTimestamp: 1_700_000_000,
    pushName: 'Ann',
    ...extra,
  }) as WAMessage;
const media = {
  mimetype: 'image/jpeg',
  url: 'https://mmg.whatsapp.net/x',
  directPath: '/v/x',
  mediaKey: Buffer.from('k'.repeat(32)),
  fileLength: 1234,
  jpegThumbnail: Buffer.alloc(50),
};

describe('normalizeMessage', () => {
  it('plain conversation text', () => {
    expect(normalizeMessage(wa({ conversation: 'hello' }), ctx)).toEqual({
      waMessageId: 'ABC123',
      chatJid: PEER,
      senderJid: PEER,
      senderPhone: '15550001111',
      fromMe: false,
      pushName: 'Ann',
      timestamp: new Date(1_700_000_000_000),
      type: 'text',
      text: 'hello',
      isHistory: false,
      address: { remoteJid: PEER },
    });
  });

  it('extendedText with a quote → quotedId from contextInfo.stanzaId', () => {
    const m = normalizeMessage(
      wa({
        extendedTextMessage: { text: 'reply', contextInfo: { stanzaId: 'Q1', participant: PEER } },
      }),
      ctx,
    )!;
    expect(m).toMatchObject({ type: 'text', text: 'reply', quotedId: 'Q1' });
  });

  it.each([
    ['imageMessage', 'image'],
    ['videoMessage', 'video'],
    ['documentMessage', 'document'],
    ['stickerMessage', 'sticker'],
  ] as const)('%s → %s with a downloadable media ref', (kind, type) => {
    const m = normalizeMessage(
      wa({
        [kind]: {
          ...media,
          caption: kind === 'stickerMessage' ? undefined : 'cap',
          fileName: 'f.bin',
          seconds: 7,
        },
      }),
      ctx,
    )!;
    expect(m.type).toBe(type);
    expect(m.media).toMatchObject({ mimetype: 'image/jpeg', size: 1234 });
    if (type !== 'sticker') expect(m.caption).toBe('cap');
    // the ref is plain JSON and turns back into a WAMessage with the media keys as bytes
    const ref = JSON.parse(JSON.stringify(m.media!.ref));
    const back = fromMediaRef(ref) as any;
    expect(back.key.id).toBe('ABC123');
    expect(Buffer.isBuffer(back.message[kind].mediaKey)).toBe(true);
    expect(back.message[kind].mediaKey.equals(media.mediaKey)).toBe(true);
    expect(back.message[kind].jpegThumbnail).toBeUndefined();
  });

  it('audio vs voice note (ptt)', () => {
    expect(
      normalizeMessage(wa({ audioMessage: { ...media, mimetype: 'audio/ogg', seconds: 3 } }), ctx)!,
    ).toMatchObject({ type: 'audio', media: { seconds: 3 } });
    expect(normalizeMessage(wa({ audioMessage: { ...media, ptt: true } }), ctx)!.type).toBe(
      'voice',
    );
  });

  it('unwraps ephemeral and view-once wrappers', () => {
    const eph = wa({ ephemeralMessage: { message: { extendedTextMessage: { text: 'psst' } } } });
    expect(normalizeMessage(eph, ctx)).toMatchObject({ type: 'text', text: 'psst' });
    const once = wa({
      viewOnceMessageV2: { message: { imageMessage: { ...media, caption: 'once' } } },
    });
    expect(normalizeMessage(once, ctx)).toMatchObject({ type: 'image', caption: 'once' });
    const docCaption = wa({
      documentWithCaptionMessage: {
        message: {
          documentMessage: {
            ...media,
            mimetype: 'application/pdf',
            fileName: 'a.pdf',
            caption: 'doc',
          },
        },
      },
    });
    expect(normalizeMessage(docCaption, ctx)).toMatchObject({
      type: 'document',
      caption: 'doc',
      media: { fileName: 'a.pdf' },
    });
  });

  it('location, contact card, contacts array', () => {
    expect(
      normalizeMessage(
        wa({ locationMessage: { degreesLatitude: 52.5, degreesLongitude: 13.4, name: 'Berlin' } }),
        ctx,
      ),
    ).toMatchObject({
      type: 'location',
      location: { lat: 52.5, lng: 13.4, name: 'Berlin' },
    });
    expect(
      normalizeMessage(
        wa({ contactMessage: { displayName: 'Bob', vcard: 'BEGIN:VCARD\nEND:VCARD' } }),
        ctx,
      ),
    ).toMatchObject({
      type: 'contact',
      contact: { displayName: 'Bob', vcard: 'BEGIN:VCARD\nEND:VCARD' },
    });
    expect(
      normalizeMessage(
        wa({
          contactsArrayMessage: {
            displayName: '2 contacts',
            contacts: [{ vcard: 'A' }, { vcard: 'B' }],
          },
        }),
        ctx,
      ),
    ).toMatchObject({
      type: 'contact',
      contact: { displayName: '2 contacts', vcard: 'A\nB' },
    });
  });

  it('reaction and poll', () => {
    expect(
      normalizeMessage(
        wa({ reactionMessage: { text: '👍', key: { id: 'T1', remoteJid: PEER } } }),
        ctx,
      ),
    ).toMatchObject({
      type: 'reaction',
      reaction: { emoji: '👍', targetId: 'T1' },
    });
    expect(
      normalizeMessage(
        wa({
          pollCreationMessageV3: {
            name: 'Lunch?',
            options: [{ optionName: 'Yes' }, { optionName: 'No' }],
          },
        }),
        ctx,
      ),
    ).toMatchObject({
      type: 'poll',
      poll: { name: 'Lunch?', options: ['Yes', 'No'] },
    });
  });

  it('protocolMessage REVOKE and MESSAGE_EDIT (also inside editedMessage)', () => {
    const revoke = wa({
      protocolMessage: { type: proto.Message.ProtocolMessage.Type.REVOKE, key: { id: 'OLD1' } },
    });
    expect(normalizeMessage(revoke, ctx)).toMatchObject({ type: 'revoke', targetId: 'OLD1' });
    const edit = wa({
      protocolMessage: {
        type: proto.Message.ProtocolMessage.Type.MESSAGE_EDIT,
        key: { id: 'OLD2' },
        editedMessage: { conversation: 'fixed' },
      },
    });
    expect(normalizeMessage(edit, ctx)).toMatchObject({
      type: 'edit',
      targetId: 'OLD2',
      editedText: 'fixed',
    });
    const wrapped = wa({
      editedMessage: {
        message: {
          protocolMessage: {
            type: proto.Message.ProtocolMessage.Type.MESSAGE_EDIT,
            key: { id: 'OLD3' },
            editedMessage: { extendedTextMessage: { text: 'v2' } },
          },
        },
      },
    });
    expect(normalizeMessage(wrapped, ctx)).toMatchObject({
      type: 'edit',
      targetId: 'OLD3',
      editedText: 'v2',
    });
  });

  it('skips messages with nothing for users', () => {
    expect(
      normalizeMessage(
        wa({ protocolMessage: { type: proto.Message.ProtocolMessage.Type.EPHEMERAL_SETTING } }),
        ctx,
      ),
    ).toBeUndefined();
    expect(
      normalizeMessage(wa({ senderKeyDistributionMessage: { groupId: 'g' } }), ctx),
    ).toBeUndefined();
    expect(
      normalizeMessage(wa({ conversation: 'story' }, { remoteJid: 'status@broadcast' }), ctx),
    ).toBeUndefined();
    expect(normalizeMessage(wa({}), ctx)).toBeUndefined();
  });

  it('unknown content types are kept as unknown', () => {
    expect(
      normalizeMessage(wa({ eventMessage: { name: 'Party' } } as proto.IMessage), ctx)!.type,
    ).toBe('unknown');
  });

  it('LID 1:1 sender with remoteJidAlt (Baileys 7) → phone JID plus senderLid', () => {
    const m = normalizeMessage(
      wa({ conversation: 'hi' }, { remoteJid: '123456@lid', remoteJidAlt: PEER }),
      ctx,
    )!;
    expect(m).toMatchObject({
      chatJid: PEER,
      senderJid: PEER,
      senderPhone: '15550001111',
      senderLid: '123456@lid',
      // Shown by phone number, but its read receipt goes back to the LID it came from.
      address: { remoteJid: '123456@lid' },
    });
    const legacy = normalizeMessage(
      wa({ conversation: 'hi' }, { remoteJid: '123456@lid', senderPn: PEER } as never),
      ctx,
    )!;
    expect(legacy).toMatchObject({ senderPhone: '15550001111', senderLid: '123456@lid' });
    const lidOnly = normalizeMessage(wa({ conversation: 'hi' }, { remoteJid: '123456@lid' }), ctx)!;
    expect(lidOnly).toMatchObject({
      chatJid: '123456@lid',
      senderJid: '123456@lid',
      senderLid: '123456@lid',
    });
    expect(lidOnly.senderPhone).toBeUndefined();
  });

  it('group message: participant (LID + participantAlt / participantPn) is the sender', () => {
    const g = normalizeMessage(
      wa(
        { conversation: 'yo' },
        {
          remoteJid: '1203630@g.us',
          participant: '42@lid',
          participantAlt: '15552223333:4@s.whatsapp.net',
        },
      ),
      ctx,
    )!;
    expect(g).toMatchObject({
      chatJid: '1203630@g.us',
      senderJid: '15552223333@s.whatsapp.net',
      participant: '15552223333@s.whatsapp.net',
      senderLid: '42@lid',
      senderPhone: '15552223333',
      address: { remoteJid: '1203630@g.us', participant: '42@lid' },
    });
    const legacy = normalizeMessage(
      wa({ conversation: 'yo' }, {
        remoteJid: '1203630@g.us',
        participant: '42@lid',
        participantPn: '15552223333@s.whatsapp.net',
      } as never),
      ctx,
    )!;
    expect(legacy.senderPhone).toBe('15552223333');
  });

  it('fromMe (sent from the phone) uses our own identity; history flag passes through', () => {
    const m = normalizeMessage(wa({ conversation: 'from my phone' }, { fromMe: true }), {
      ...ctx,
      isHistory: true,
    })!;
    expect(m.address).toBeUndefined(); // nothing to report read
    expect(m).toMatchObject({
      fromMe: true,
      chatJid: PEER,
      senderJid: '15559990000@s.whatsapp.net',
      senderPhone: '15559990000',
      senderLid: '777@lid',
      isHistory: true,
    });
    expect(m.pushName).toBeUndefined();
  });

  it('accepts Long timestamps', () => {
    const long = { low: 1_700_000_000, high: 0, unsigned: true, toNumber: () => 1_700_000_000 };
    expect(
      normalizeMessage(
        wa({ conversation: 'x' }, {}, { messageTimestamp: long as never }),
        ctx,
      )!.timestamp.getTime(),
    ).toBe(1_700_000_000_000);
  });

  it('takes a timestamp of 0 (protobuf for none) as now, not as 1970', () => {
    const before = Date.now();
    const m = normalizeMessage(wa({ conversation: 'x' }, {}, { messageTimestamp: 0 }), ctx)!;
    expect(m.timestamp.getTime()).toBeGreaterThanOrEqual(before);
  });
});

describe('Baileys mappings', () => {
  it('close reasons from Boom status codes (408 split by message)', () => {
    const boom = (statusCode: number, message: string) =>
      Object.assign(new Error(message), { output: { statusCode } });
    expect(mapBaileysClose(boom(401, 'Connection Failure'))).toEqual({
      code: 401,
      reason: 'loggedOut',
      message: 'Connection Failure',
    });
    expect(mapBaileysClose(boom(515, 'Stream Errored (restart required)')).reason).toBe(
      'restartRequired',
    );
    expect(mapBaileysClose(boom(440, 'Stream Errored (conflict)')).reason).toBe(
      'connectionReplaced',
    );
    expect(mapBaileysClose(boom(408, 'QR refs attempts ended')).reason).toBe('timedOut');
    expect(
      mapBaileysClose(boom(408, 'WebSocket Error (getaddrinfo ENOTFOUND web.whatsapp.com)')).reason,
    ).toBe('connectionLost');
    expect(mapBaileysClose(boom(500, 'Bad MAC')).reason).toBe('badSession');
    expect(mapBaileysClose(boom(403, 'Connection Failure')).reason).toBe('forbidden');
    expect(mapBaileysClose(boom(411, 'Multi-device beta not joined')).reason).toBe(
      'multideviceMismatch',
    );
    expect(mapBaileysClose(boom(503, 'Stream Errored (unknown)')).reason).toBe(
      'unavailableService',
    );
    expect(mapBaileysClose(undefined)).toEqual({
      code: 428,
      reason: 'other',
      message: 'Connection Closed',
    });
  });

  it('message status codes 0/2/3/4/5 and receipts', () => {
    const upd = (status: number, fromMe = true) =>
      statusFromMessageUpdate({ key: { id: 'M1', remoteJid: PEER, fromMe }, update: { status } });
    expect([0, 1, 2, 3, 4, 5].map((s) => upd(s)?.status)).toEqual([
      'failed',
      undefined,
      'sent',
      'delivered',
      'read',
      'played',
    ]);
    expect(upd(3, false)).toBeUndefined();
    expect(
      statusFromReceipt(
        {
          key: { id: 'M1', remoteJid: '1@g.us', fromMe: true },
          receipt: { userJid: PEER, readTimestamp: 1_700_000_000 },
        },
        { jid: '15559990000@s.whatsapp.net' },
      ),
    ).toMatchObject({
      status: 'read',
      at: new Date(1_700_000_000_000),
    });
  });

  it('contacts (LID-first ids with phoneNumber)', () => {
    expect(
      normalizeContact({
        id: '99@lid',
        phoneNumber: PEER,
        notify: 'Ann',
        verifiedName: 'Ann Inc',
        imgUrl: 'changed',
      }),
    ).toEqual({
      jid: PEER,
      lid: '99@lid',
      phone: '15550001111',
      notify: 'Ann',
      verifiedName: 'Ann Inc',
      isBusiness: true,
    });
    expect(normalizeContact({ id: '1203630@g.us', name: 'group' })).toBeUndefined();
  });

  it('groups: the subject is the name; a change of something else is no contact', () => {
    expect(normalizeGroup({ id: '1203630@g.us', subject: 'Suppliers' })).toEqual({
      jid: '1203630@g.us',
      name: 'Suppliers',
    });
    expect(normalizeGroup({ id: '1203630@g.us', subject: '' })).toBeUndefined();
    expect(normalizeGroup({ id: '1203630@g.us' })).toBeUndefined(); // e.g. an announce change
    expect(normalizeGroup({ id: PEER, subject: 'x' })).toBeUndefined();
  });

  it('our auth codec is wire-compatible with Baileys BufferJSON in both directions', () => {
    const value = {
      a: Buffer.from([1, 2, 3]),
      b: new Uint8Array([4, 5]),
      nested: [{ c: Buffer.alloc(0) }],
      n: 1,
      s: 'x',
    };
    const ours = encodeAuthValue(value);
    expect(ours).toBe(JSON.stringify(value, BufferJSON.replacer));
    const theirs = JSON.parse(ours, BufferJSON.reviver);
    const back = decodeAuthValue<typeof value>(JSON.stringify(theirs, BufferJSON.replacer));
    expect(back.a.equals(Buffer.from([1, 2, 3]))).toBe(true);
    expect(Buffer.from(back.b).equals(Buffer.from([4, 5]))).toBe(true);
  });
});
