import { MAX_RETRY_RESENDS, WaEmulator, type PhoneControl } from '@app/wa-emulator';
import { EngineHarness, linkedOnFreshEmulator } from './engine-harness';

const ACCOUNT = '15550003333';

describe('wa-emulator: fromMe, LID-only senders, groups and retries with the real Baileys engine', () => {
  let emulator: WaEmulator;
  let engine: EngineHarness;
  let phone: PhoneControl;
  const byId = (id: string) => engine.messages.filter((m) => m.waMessageId === id);
  /** Retry receipts the device sent for these messages (none: every copy decrypted at once). */
  const retriesFor = (...ids: string[]) => phone.retries.filter((r) => ids.includes(r.id));
  const waitForMessage = (id: string, what: string) => engine.until(() => byId(id)[0], 5_000, what);

  linkedOnFreshEmulator(
    ACCOUNT,
    (linked) => ({ emulator, phone, engine } = linked),
    (e) => new EngineHarness(e.url, 'org_chats'),
  );

  it('a message typed on the phone reaches the linked device as fromMe in the chat it was written in', async () => {
    const id = await phone.sendFromMe('15559993001', { conversation: 'typed on the phone' });
    const m = await waitForMessage(id, 'the fromMe message');
    expect(m).toMatchObject({
      chatJid: '15559993001@s.whatsapp.net',
      fromMe: true,
      type: 'text',
      text: 'typed on the phone',
      senderPhone: ACCOUNT,
    });
    expect(retriesFor(id)).toEqual([]);
  });

  it('a LID the emulator did not know writes as a LID-only contact, then is merged when revealed', async () => {
    const lid = '987654321099001@lid';
    const id = await phone.sendText(lid, 'hi from a lid', { pushName: 'Lina' });
    const m = await waitForMessage(id, 'the LID-only message');
    expect(m).toMatchObject({ chatJid: lid, text: 'hi from a lid', pushName: 'Lina' });
    expect(m.senderPhone).toBeUndefined();

    expect(phone.revealLid({ phone: '15559993002', lid })).toBe(1);
    expect(phone.contact('15559993002')).toMatchObject({
      lid: '987654321099001',
      pushName: 'Lina',
    });
    const again = await phone.sendText(lid, 'again');
    expect(await waitForMessage(again, 'the message after the reveal')).toMatchObject({
      text: 'again',
      senderPhone: '15559993002',
    });
    const byPhone = await phone.sendText('15559993002', 'and by phone');
    expect(await waitForMessage(byPhone, 'the message by phone')).toMatchObject({
      text: 'and by phone',
    });
    expect(retriesFor(id, again, byPhone)).toEqual([]);
  });

  it('group messages: sender key handed out once per member, skmsg decrypted, fromMe in a group', async () => {
    const group = '120363000000000001@g.us';
    const first = await phone.sendGroupMessage(
      group,
      '15559993003',
      { conversation: 'hello team' },
      { pushName: 'Sara' },
    );
    expect(await waitForMessage(first, 'the first group message')).toMatchObject({
      chatJid: group,
      participant: '15559993003@s.whatsapp.net',
      fromMe: false,
      text: 'hello team',
      pushName: 'Sara',
    });
    const second = await phone.sendGroupMessage(group, '15559993003', { conversation: 'second' });
    const third = await phone.sendGroupMessage(group, '15559993004', {
      conversation: 'another member',
    });
    const mine = await phone.sendGroupMessage(group, ACCOUNT, { conversation: 'from my phone' });
    expect(await waitForMessage(second, 'the second')).toMatchObject({ text: 'second' });
    expect(await waitForMessage(third, 'the third')).toMatchObject({
      participant: '15559993004@s.whatsapp.net',
    });
    expect(await waitForMessage(mine, 'the fromMe group message')).toMatchObject({
      chatJid: group,
      fromMe: true,
      text: 'from my phone',
    });
    expect(emulator.group(group)?.participants).toEqual([
      `${ACCOUNT}@s.whatsapp.net`,
      '15559993003@s.whatsapp.net',
      '15559993004@s.whatsapp.net',
    ]);
    expect(retriesFor(first, second, third, mine)).toEqual([]);
  });

  it('messages the gateway sends to a group: its sender key handed out, each skmsg decrypted and recorded', async () => {
    const group = '120363000000000001@g.us'; // made by the previous test, with two members
    for (const text of ['to the team', 'and again']) {
      const sent = await engine.connection!.sendMessage(group, { type: 'text', text });
      const out = await phone.waitForOutbound((r) => r.id === sent.waMessageId, 10_000);
      expect(out).toMatchObject({ to: group, recipient: group, text });
    }
    // Decrypted with the key the linked device handed out: kept under its device JID.
    const [out] = phone.outbox.filter((r) => r.to === group);
    const deviceJid = `${ACCOUNT}:${out.deviceId}@s.whatsapp.net`;
    expect(Object.keys(emulator.group(group)!.senderKeys)).toContain(deviceJid);
    expect(phone.outbox.filter((r) => r.to === group).map((r) => r.text)).toEqual([
      'to the team',
      'and again',
    ]);
  });

  it('receipts of a message sent to a group: each from the member (participant), played included', async () => {
    const group = '120363000000000001@g.us';
    const sent = await engine.connection!.sendMessage(group, { type: 'text', text: 'tick tock' });
    await phone.waitForOutbound((r) => r.id === sent.waMessageId, 10_000);
    await new Promise((r) => setTimeout(r, 300)); // the send's own upsert has settled
    const reported = (status: string) =>
      engine.until(
        () =>
          engine.statuses.find((s) => s.waMessageId === sent.waMessageId && s.status === status),
        5_000,
        `${status} of the group message`,
      );
    phone.receipt(sent.waMessageId, 'delivered'); // the first other member: 15559993003
    expect(await reported('delivered')).toMatchObject({ chatJid: group });
    phone.receipt(sent.waMessageId, 'read', { from: '15559993004' });
    await reported('read');
    // Baileys records a group `played` as a read; the stanza says played.
    phone.receipt(sent.waMessageId, 'played', { from: '15559993004' });
    await reported('played');
    expect(() => phone.receipt(sent.waMessageId, 'read', { from: ACCOUNT })).toThrow(
      /not another member/,
    );
  });

  it('an undecryptable message → retry receipt → resent and decrypted; stored once', async () => {
    const id = await phone.sendText('15559993005', 'second time lucky', { undecryptableCopies: 1 });
    const m = await waitForMessage(id, 'the resent message');
    expect(m.text).toBe('second time lucky');
    expect(phone.retries.filter((r) => r.id === id)).toEqual([
      expect.objectContaining({ count: 1, resent: true }),
    ]);
    await new Promise((r) => setTimeout(r, 500));
    expect(byId(id)).toHaveLength(1);
  });

  it('the second retry carries the device keys → resent from a fresh Signal session → stored once', async () => {
    const id = await phone.sendText('15559993010', 'third time', { undecryptableCopies: 2 });
    const m = await engine.until(() => byId(id)[0], 10_000, 'the message from the new session');
    expect(m.text).toBe('third time');
    expect(retriesFor(id)).toEqual([
      expect.objectContaining({ count: 1, withKeys: false, resent: true }),
      expect.objectContaining({ count: 2, withKeys: true, resent: true }),
    ]);
    // The new session carries on: the next message needs no retry.
    const next = await phone.sendText('15559993010', 'and then');
    await waitForMessage(next, 'the next message');
    expect(retriesFor(next)).toEqual([]);
    expect(byId(id)).toHaveLength(1);
  });

  it('a message that never decrypts is resent at most MAX_RETRY_RESENDS times', async () => {
    const id = await phone.sendText('15559993006', 'never', { undecryptableCopies: 100 });
    await engine.until(
      () => phone.retries.filter((r) => r.id === id).length > MAX_RETRY_RESENDS || undefined,
      15_000,
      'the retries to run out',
    );
    const retries = phone.retries.filter((r) => r.id === id);
    expect(retries.filter((r) => r.resent)).toHaveLength(MAX_RETRY_RESENDS);
    expect(retries.some((r) => r.withKeys)).toBe(true);
    expect(byId(id)).toHaveLength(0);
  });

  it('address book in app state: every resync re-reads it all; server_sync pushes; a new device gets it at its initial sync', async () => {
    await phone.pushContacts([
      { phone: '15559993007', name: 'Book Name', lid: '987654321099007' },
      { phone: '15559993008', pushName: 'Only a push name' },
    ]);
    await engine.until(
      () => engine.contacts.find((c) => c.jid === '15559993007@s.whatsapp.net' && c.name),
      5_000,
      'the history-sync contact',
    );
    engine.contacts.length = 0;
    await engine.connection!.resyncContacts();
    const fromAppState = await engine.until(
      () => engine.contacts.find((c) => c.jid === '15559993007@s.whatsapp.net'),
      5_000,
      'the contact from the app-state resync',
    );
    expect(fromAppState).toMatchObject({ name: 'Book Name', lid: '987654321099007@lid' });
    expect(engine.contacts.find((c) => c.jid === '15559993008@s.whatsapp.net')).toBeUndefined();

    // The device is up to date now, yet a resync re-reads everything: contacts lost on our side
    // come back (an incremental sync would fetch nothing).
    engine.contacts.length = 0;
    await engine.connection!.resyncContacts();
    await engine.until(
      () => engine.contacts.find((c) => c.jid === '15559993007@s.whatsapp.net' && c.name),
      5_000,
      'the contact again from a full re-read',
    );
    // The phone writes again and tells the device (server_sync).
    await phone.pushContacts([{ phone: '15559993009', name: 'Synced at once' }], {
      serverSync: true,
    });
    await engine.until(
      () => engine.contacts.filter((c) => c.name === 'Synced at once').length >= 2 || undefined,
      5_000,
      'the contact by history sync and by app state',
    );

    // A device linked later reads the whole address book at its initial app-state sync.
    const second = new EngineHarness(emulator.url, 'org_chats_second');
    await second.link((qr) => phone.scan(qr));
    try {
      const names = await second.until(
        () => {
          // People only: the account's groups are announced with their subjects too.
          const people = second.contacts.filter((c) => c.name && !c.jid.endsWith('@g.us'));
          const got = people.map((c) => c.name!);
          return got.length >= 2 ? got.sort() : undefined;
        },
        5_000,
        'the address book at the initial sync',
      );
      expect(names).toEqual(['Book Name', 'Synced at once']);
    } finally {
      await second.close();
    }
  });
});
