import { MESSAGE_STATUSES, impliedTimeFields, statusesBelow, statusRank } from './message.types';

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
