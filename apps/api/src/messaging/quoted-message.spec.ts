import type { MessageRecord } from './message.types';
import { quotedMessageOf } from './quoted-message';

const GROUP = '120363000000000002@g.us';
const MEMBER = '15552220001@s.whatsapp.net';
const PEER = '15553330002@s.whatsapp.net';

const stored = (m: Partial<MessageRecord>): MessageRecord =>
  ({
    _id: 'm1',
    sessionId: 's1',
    waMessageId: 'Q1',
    chatJid: PEER,
    fromMe: false,
    type: 'text',
    ...m,
  }) as MessageRecord;

describe('quotedMessageOf', () => {
  it('names a group message by its member, as WhatsApp addressed them', () => {
    expect(
      quotedMessageOf(
        stored({
          chatJid: GROUP,
          participant: MEMBER,
          senderJid: MEMBER,
          waAddress: { remoteJid: GROUP, participant: '99887766@lid' },
          text: 'Which size?',
        }),
      ),
    ).toEqual({
      waMessageId: 'Q1',
      chatJid: GROUP,
      fromMe: false,
      author: '99887766@lid',
      type: 'text',
      text: 'Which size?',
    });
    // Without WhatsApp's address (stored before it was kept): the participant.
    expect(quotedMessageOf(stored({ chatJid: GROUP, participant: MEMBER })).author).toBe(MEMBER);
  });

  it('names the peer of a 1:1 chat, and nobody for our own messages', () => {
    expect(quotedMessageOf(stored({ senderJid: PEER })).author).toBe(PEER);
    expect(quotedMessageOf(stored({ waAddress: { remoteJid: '4455@lid' } })).author).toBe(
      '4455@lid',
    );
    const own = quotedMessageOf(stored({ fromMe: true, chatJid: GROUP, text: 'Question?' }));
    expect(own).not.toHaveProperty('author');
    expect(own).toMatchObject({ fromMe: true, text: 'Question?' });
  });

  it('carries the content as last edited, and what is known of media', () => {
    expect(quotedMessageOf(stored({ text: 'teh', editedText: 'the' })).text).toBe('the');
    expect(
      quotedMessageOf(
        stored({
          type: 'document',
          caption: 'March',
          media: {
            mimetype: 'application/pdf',
            fileName: 'invoice.pdf',
            size: 10,
            storageKey: 'k',
            downloadStatus: 'stored',
          },
        }),
      ),
    ).toMatchObject({
      type: 'document',
      caption: 'March',
      media: { mimetype: 'application/pdf', fileName: 'invoice.pdf' },
    });
  });
});
