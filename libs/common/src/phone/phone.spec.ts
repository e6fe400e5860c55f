import {
  decodeJid,
  isGroupJid,
  isLidJid,
  normalizeJid,
  normalizePhone,
  phoneFromJid,
  toJid,
} from './phone';

describe('phone and JID helpers', () => {
  it.each([
    ['+20 100 123 4567', '201001234567'],
    ['00201001234567', '201001234567'],
    ['(555) 123-4567', '5551234567'],
    ['201001234567', '201001234567'],
    ['abc', undefined],
    ['', undefined],
    ['+1234', undefined],
  ])('normalizePhone(%j) → %j', (input, expected) => expect(normalizePhone(input)).toBe(expected));

  it('strips device suffixes from JIDs', () => {
    expect(normalizeJid('201001234567:12@s.whatsapp.net')).toBe('201001234567@s.whatsapp.net');
    expect(normalizeJid('123456789012345:3@lid')).toBe('123456789012345@lid');
    expect(decodeJid('201001234567:12@s.whatsapp.net')).toEqual({
      user: '201001234567',
      server: 's.whatsapp.net',
      device: 12,
    });
  });

  it('classifies JIDs', () => {
    expect(isLidJid('1234@lid')).toBe(true);
    expect(isGroupJid('1203630-1234@g.us')).toBe(true);
    expect(phoneFromJid('201001234567:2@s.whatsapp.net')).toBe('201001234567');
    expect(phoneFromJid('1234@lid')).toBeUndefined();
  });

  it('turns a `to` value into a JID', () => {
    expect(toJid('+20 100 123 4567')).toBe('201001234567@s.whatsapp.net');
    expect(toJid('120363021234@g.us')).toBe('120363021234@g.us');
    expect(() => toJid('hello')).toThrow('Not a phone number or JID');
  });
});
