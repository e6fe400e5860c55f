import { SignalDevice } from './signal-device';

describe('SignalDevice (npm libsignal)', () => {
  it('pkmsg then msg both ways; pre-keys are consumed once', async () => {
    const alice = SignalDevice.create();
    const bob = SignalDevice.create();
    const bundle = bob.takeBundle();
    expect(bob.takeBundle().preKey!.keyId).not.toBe(bundle.preKey!.keyId); // a handed-out pre-key is not handed out again
    await alice.startSession('bob.0', bundle);

    const first = await alice.encrypt('bob.0', Buffer.from('hi bob'));
    expect(first.type).toBe('pkmsg');
    expect((await bob.decrypt('alice.0', first.type, first.ciphertext)).toString()).toBe('hi bob');
    expect(bob.toJSON().preKeys[bundle.preKey!.keyId]).toBeUndefined();

    const reply = await bob.encrypt('alice.0', Buffer.from('hi alice'));
    expect(reply.type).toBe('msg');
    expect((await alice.decrypt('bob.0', reply.type, reply.ciphertext)).toString()).toBe(
      'hi alice',
    );
    const next = await alice.encrypt('bob.0', Buffer.from('again'));
    expect(next.type).toBe('msg');
    expect((await bob.decrypt('alice.0', next.type, next.ciphertext)).toString()).toBe('again');
  });

  it('survives a JSON round trip of its state', async () => {
    const alice = SignalDevice.create();
    const bob = SignalDevice.create();
    await alice.startSession('bob.0', bob.takeBundle());
    const m1 = await alice.encrypt('bob.0', Buffer.from('one'));
    await bob.decrypt('alice.0', m1.type, m1.ciphertext);
    const bob2 = SignalDevice.restore(JSON.parse(JSON.stringify(bob.toJSON())));
    const alice2 = SignalDevice.restore(JSON.parse(JSON.stringify(alice.toJSON())));
    const m2 = await alice2.encrypt('bob.0', Buffer.from('two'));
    expect((await bob2.decrypt('alice.0', m2.type, m2.ciphertext)).toString()).toBe('two');
  });
});
