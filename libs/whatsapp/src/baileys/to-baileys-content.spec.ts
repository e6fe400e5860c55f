import { generateWAMessage, proto } from '@whiskeysockets/baileys';
import type { OutboundContent, QuotedMessage } from '../engine/outbound-content';
import { toBaileysContent } from './to-baileys-content';

const ME = '15559990000:3@s.whatsapp.net';
const GROUP = '120363000000000002@g.us';
const MEMBER = '15552220001@s.whatsapp.net';
const PEER = '15553330002@s.whatsapp.net';

/** The contextInfo WhatsApp carries to the recipient, built as Baileys' sendMessage builds it. */
async function contextOf(to: string, replyTo: QuotedMessage): Promise<proto.IContextInfo> {
  const { content, options } = toBaileysContent({ type: 'text', text: 're', replyTo });
  const msg = await generateWAMessage(to, content, {
    ...options,
    userJid: ME,
    upload: () => Promise.reject(new Error('no upload for text')),
  } as Parameters<typeof generateWAMessage>[2]);
  // Over the wire and back, as the recipient decodes it.
  const wire = proto.Message.decode(proto.Message.encode(msg.message!).finish());
  return proto.ContextInfo.toObject(wire.extendedTextMessage!.contextInfo as proto.ContextInfo);
}
const quoted = (q: Partial<QuotedMessage>): QuotedMessage => ({
  waMessageId: 'Q1',
  chatJid: GROUP,
  fromMe: false,
  type: 'text',
  ...q,
});

describe('toBaileysContent: replies', () => {
  it('quotes a group member as the author, with the quoted text (not the group, not empty)', async () => {
    const ctx = await contextOf(GROUP, quoted({ author: MEMBER, text: 'Which size?' }));
    expect(ctx.stanzaId).toBe('Q1');
    expect(ctx.participant).toBe(MEMBER);
    expect(ctx.remoteJid ?? undefined).toBeUndefined();
    expect(ctx.quotedMessage).toEqual({ conversation: 'Which size?' });
  });

  it('keeps a LID author as WhatsApp addressed it (device stripped)', async () => {
    const ctx = await contextOf(GROUP, quoted({ author: '99887766:2@lid', text: 'hi' }));
    expect(ctx.participant).toBe('99887766@lid');
  });

  it('quotes our own messages as our account, the peer in a 1:1 chat', async () => {
    const own = await contextOf(GROUP, quoted({ fromMe: true, text: 'Question?' }));
    expect(own.participant).toBe('15559990000@s.whatsapp.net');
    const peer = await contextOf(PEER, quoted({ chatJid: PEER, author: PEER, text: 'Answer!' }));
    expect(peer.participant).toBe(PEER);
    expect(peer.quotedMessage?.conversation).toBe('Answer!');
  });

  it('names the quoted chat when the reply goes to another one', async () => {
    const ctx = await contextOf(PEER, quoted({ author: MEMBER, text: 'in the group' }));
    expect(ctx.remoteJid).toBe(GROUP);
    expect(ctx.participant).toBe(MEMBER);
  });

  it.each<[string, Partial<QuotedMessage>, object]>([
    [
      'image',
      { type: 'image', caption: 'the red one', media: { mimetype: 'image/jpeg' } },
      { imageMessage: { mimetype: 'image/jpeg', caption: 'the red one' } },
    ],
    [
      'video',
      { type: 'video', media: { mimetype: 'video/mp4', seconds: 7 } },
      { videoMessage: { mimetype: 'video/mp4', seconds: 7 } },
    ],
    [
      'voice',
      { type: 'voice', media: { mimetype: 'audio/ogg; codecs=opus', seconds: 3 } },
      { audioMessage: { mimetype: 'audio/ogg; codecs=opus', seconds: 3, ptt: true } },
    ],
    [
      'document',
      {
        type: 'document',
        caption: 'March',
        media: { mimetype: 'application/pdf', fileName: 'invoice.pdf' },
      },
      {
        documentMessage: { mimetype: 'application/pdf', fileName: 'invoice.pdf', caption: 'March' },
      },
    ],
    [
      'location',
      { type: 'location', location: { lat: 30.04, lng: 31.23, name: 'Shop' } },
      { locationMessage: { degreesLatitude: 30.04, degreesLongitude: 31.23, name: 'Shop' } },
    ],
    [
      'poll',
      { type: 'poll', poll: { name: 'Size?', options: ['S', 'M'] } },
      {
        pollCreationMessage: {
          name: 'Size?',
          options: [{ optionName: 'S' }, { optionName: 'M' }],
          selectableOptionsCount: 0,
        },
      },
    ],
  ])('carries a quoted %s as WhatsApp describes it', async (_kind, q, expected) => {
    const ctx = await contextOf(GROUP, quoted({ author: MEMBER, ...q }));
    expect(ctx.quotedMessage).toEqual(expected);
  });

  it('sends media replies with the same quote', () => {
    const content: OutboundContent = {
      type: 'image',
      buffer: Buffer.from('x'),
      mimetype: 'image/png',
      replyTo: quoted({ author: MEMBER, text: 'this?' }),
    };
    expect(toBaileysContent(content).options.quoted).toEqual({
      key: { id: 'Q1', remoteJid: GROUP, fromMe: false, participant: MEMBER },
      message: { conversation: 'this?' },
    });
  });
});
