import { SignalDevice } from '@app/wa-emulator';

/**
 * patches/libsignal+6.0.0.patch. Baileys decrypts with npm libsignal, which tries a `msg` against
 * each session of the sender in turn (open one first). Unpatched, a failed attempt stepped that
 * session's ratchet before the MAC check, and the record was stored once an older session
 * succeeded: the open session was corrupted for good. Seen on the emulator: after a reconnect,
 * Baileys starts a fresh session with the account's phone (and each contact) on its first send; a
 * message the phone had encrypted in the old session, delivered after that, broke the new one, so
 * every later message both ways failed ("Bad MAC" / "No matching sessions found for message").
 */
describe('libsignal: a failed attempt on one session leaves it as it was', () => {
  const text = async (
    device: SignalDevice,
    from: string,
    m: { type: string; ciphertext: Buffer },
  ) => (await device.decrypt(from, m.type, m.ciphertext)).toString();

  it('a message of an older session does not break the open one', async () => {
    const phone = SignalDevice.create();
    const companion = SignalDevice.create();
    await companion.startSession('phone.0', phone.takeBundle());
    const hello = await companion.encrypt('phone.0', Buffer.from('hello'));
    expect(await text(phone, 'companion.0', hello)).toBe('hello');
    // The phone writes in the first session, and the message is still on its way…
    const late = await phone.encrypt('companion.0', Buffer.from('typed before the new session'));
    // …when the companion starts a new session (Baileys does after a reconnect) and writes in it.
    await companion.startSession('phone.0', phone.takeBundle());
    const rekeyed = await companion.encrypt('phone.0', Buffer.from('new session'));
    expect(rekeyed.type).toBe('pkmsg');
    expect(await text(phone, 'companion.0', rekeyed)).toBe('new session');

    // Tried against the open (new) session first, then decrypted by the old one.
    expect(await text(companion, 'phone.0', late)).toBe('typed before the new session');

    // The new session still works both ways.
    const after = await companion.encrypt('phone.0', Buffer.from('after'));
    expect(await text(phone, 'companion.0', after)).toBe('after');
    const reply = await phone.encrypt('companion.0', Buffer.from('reply'));
    expect(await text(companion, 'phone.0', reply)).toBe('reply');
  });
});
