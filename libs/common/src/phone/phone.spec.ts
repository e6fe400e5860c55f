import {
  decodeJid,
  isGroupJid,
  isLidJid,
  JID_PATTERN,
  normalizeJid,
  normalizePhone,
  phoneFromJid,
  PHONE_PATTERN,
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

  it('takes international numbers and JIDs WhatsApp can address, nothing else', () => {
    const valid = (v: string) => PHONE_PATTERN.test(v) || JID_PATTERN.test(v);
    for (const ok of [
      '+201001234567',
      '2010012345',
      '201001234567@s.whatsapp.net',
      '201001234567:12@s.whatsapp.net',
      '123456789012345@lid',
      '120363000000000001@g.us',
      '201001234567-1600000000@g.us',
    ])
      expect(valid(ok)).toBe(true);
    for (const bad of [
      '+0000000000',
      '0201001234567',
      '-@s.whatsapp.net',
      '---@lid',
      '1-@g.us',
      '1@s.whatsapp.net',
      '123456789012345678901234567890@s.whatsapp.net',
      '201001234567@example.com',
    ])
      expect(valid(bad)).toBe(false);
  });
});
