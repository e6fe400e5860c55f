import { SecretBox, SecretUnreadableError } from './secret-box';

describe('SecretBox', () => {
  const box = new SecretBox('k'.repeat(40), 'webhook-secrets');

  it('round-trips, with a fresh IV per value (the same secret never looks the same twice)', () => {
    const a = box.seal('whsec_abc');
    const b = box.seal('whsec_abc');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^enc:v1:/);
    expect(a).not.toContain('whsec_abc');
    expect(box.open(a)).toBe('whsec_abc');
    expect(box.open(b)).toBe('whsec_abc');
  });

  it('passes values stored before encryption through', () => {
    expect(box.open('whsec_plain')).toBe('whsec_plain');
  });

  it('refuses a value sealed with another key or purpose, or tampered with', () => {
    const sealed = box.seal('whsec_abc');
    expect(() => new SecretBox('x'.repeat(40), 'webhook-secrets').open(sealed)).toThrow(
      SecretUnreadableError,
    );
    expect(() => new SecretBox('k'.repeat(40), 'other').open(sealed)).toThrow(
      SecretUnreadableError,
    );
    const flipped = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'BB' : 'AA');
    expect(() => box.open(flipped)).toThrow(SecretUnreadableError);
  });
});
