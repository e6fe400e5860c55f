import {
  changeTargetFilter,
  impliedTimeFields,
  MESSAGE_STATUSES,
  type MessageRecord,
  statusesBelow,
  statusRank,
} from './message.types';

describe('message status order', () => {
  it('only moves forward: pending → sent → delivered → read → played', () => {
    expect(statusesBelow('sent')).toEqual(['pending']);
    expect(statusesBelow('delivered')).toEqual(['pending', 'sent']);
    expect(statusesBelow('read')).toEqual(['pending', 'sent', 'delivered']);
    expect(statusesBelow('played')).toEqual(['pending', 'sent', 'delivered', 'read']);
  });

  it('fails only pending messages, and nothing moves a failed message', () => {
    expect(statusesBelow('failed')).toEqual(['pending']);
    for (const status of MESSAGE_STATUSES) expect(statusesBelow(status)).not.toContain('failed');
  });

  it('ranks statuses consistently with statusesBelow', () => {
    for (const next of MESSAGE_STATUSES.filter((s) => s !== 'failed')) {
      for (const current of statusesBelow(next))
        expect(statusRank(current)).toBeLessThan(statusRank(next));
    }
  });

  it('names the times a receipt implies came before it', () => {
    expect(impliedTimeFields('played')).toEqual(['deliveredAt', 'readAt']);
    expect(impliedTimeFields('read')).toEqual(['deliveredAt']);
    expect(impliedTimeFields('delivered')).toEqual([]);
    expect(impliedTimeFields('sent')).toEqual([]);
    expect(impliedTimeFields('failed')).toEqual([]);
  });
});

describe('changeTargetFilter', () => {
  const change = (over: Partial<MessageRecord>) =>
    ({
      sessionId: 's1',
      type: 'edit',
      targetId: 'T1',
      chatJid: '201001234567@s.whatsapp.net',
      fromMe: false,
      ...over,
    }) as MessageRecord;

  it('a peer changes only its own messages of its chat, under its phone or its LID', () => {
    expect(changeTargetFilter(change({ senderPhone: '201001234567', senderLid: '555' }))).toEqual({
      sessionId: 's1',
      waMessageId: 'T1',
      chatJid: { $in: ['201001234567@s.whatsapp.net', '555@lid'] },
      fromMe: false,
    });
    expect(changeTargetFilter(change({ type: 'revoke', fromMe: true }))).toEqual({
      sessionId: 's1',
      waMessageId: 'T1',
      chatJid: { $in: ['201001234567@s.whatsapp.net'] },
      fromMe: true,
    });
  });

  it('in a group, an edit or a revoke only by its author', () => {
    const group = { chatJid: '1203630-1@g.us', participant: '201009999999@s.whatsapp.net' };
    expect(changeTargetFilter(change(group))).toEqual({
      sessionId: 's1',
      waMessageId: 'T1',
      chatJid: '1203630-1@g.us',
      fromMe: false,
      $or: [
        { participant: { $in: ['201009999999@s.whatsapp.net'] } },
        { senderJid: { $in: ['201009999999@s.whatsapp.net'] } },
      ],
    });
    expect(changeTargetFilter(change({ ...group, type: 'revoke' }))).toMatchObject({
      fromMe: false,
      $or: [
        { participant: { $in: ['201009999999@s.whatsapp.net'] } },
        { senderJid: { $in: ['201009999999@s.whatsapp.net'] } },
      ],
    });
    // Ours, in a group: only we can change it.
    expect(changeTargetFilter(change({ ...group, type: 'revoke', fromMe: true }))).toEqual({
      sessionId: 's1',
      waMessageId: 'T1',
      chatJid: '1203630-1@g.us',
      fromMe: true,
    });
  });
});
