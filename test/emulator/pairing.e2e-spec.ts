import { WaEmulator } from '@app/wa-emulator';
import { EngineHarness } from './engine-harness';

const ACCOUNT = '15550001111';

describe('wa-emulator: pairing and login with the real Baileys engine', () => {
  let emulator: WaEmulator;
  beforeAll(async () => {
    emulator = await WaEmulator.start();
  });
  afterAll(() => emulator?.close());

  it('QR → scan → 515 → open; close → reconnect with stored creds → open without QR', async () => {
    const engine = new EngineHarness(emulator.url);
    const first = await engine.connect();
    expect(first).toHaveProperty('qr');
    const qr = (first as { qr: string }).qr;
    expect(qr.split(',')).toHaveLength(5);

    const closed = engine.nextClose();
    const paired = await emulator.phone(ACCOUNT).scan(qr, { pushName: 'Acme Phone' });
    expect(paired.jid).toMatch(new RegExp(`^${ACCOUNT}:\\d+@s\\.whatsapp\\.net$`));
    expect(await closed).toMatchObject({ code: 515, reason: 'restartRequired' });

    const second = await engine.connect();
    expect(second).toEqual({
      open: expect.objectContaining({ jid: `${ACCOUNT}@s.whatsapp.net`, phone: ACCOUNT }),
    });
    expect(emulator.phone(ACCOUNT).connected).toBe(true);
    await engine.close();

    const third = await engine.connect();
    expect(third).toHaveProperty('open');
    await engine.close();
  });

  it('pairing code: requestPairingCode → the phone types it → 515 → open, and messages flow', async () => {
    const account = '15550001112';
    const engine = new EngineHarness(emulator.url, 'org_code');
    expect(await engine.connect()).toHaveProperty('qr');
    const code = await engine.connection!.requestPairingCode(account);
    expect(code).toMatch(/^[A-Z0-9]{8}$/);

    const closed = engine.nextClose();
    const paired = await emulator
      .phone(account)
      .enterPairingCode(`${code.slice(0, 4)}-${code.slice(4).toLowerCase()}`);
    expect(paired.jid).toMatch(new RegExp(`^${account}:\\d+@s\\.whatsapp\\.net$`));
    expect(await closed).toMatchObject({ code: 515, reason: 'restartRequired' });
    expect(await engine.connect()).toEqual({
      open: expect.objectContaining({ phone: account }),
    });
    // The ADV secret both sides derived is right (pair-success verified) and Signal works afterwards.
    await emulator.phone(account).sendText('15559991234', 'linked by code');
    await engine.until(
      () => engine.messages.find((m) => m.text === 'linked by code'),
      5_000,
      'text',
    );
    await engine.close();
  });

  it('pairing code: a wrong code is refused and links nothing', async () => {
    const account = '15550001113';
    const engine = new EngineHarness(emulator.url, 'org_wrong_code');
    expect(await engine.connect()).toHaveProperty('qr');
    const code = await engine.connection!.requestPairingCode(account);
    const wrong = code === 'AAAAAAAA' ? 'BBBBBBBB' : 'AAAAAAAA';
    await expect(emulator.phone(account).enterPairingCode(wrong)).rejects.toThrow(
      /wrong pairing code|did not finish/,
    );
    expect(emulator.phone(account).devices).toEqual([]);
    await expect(emulator.phone('15550001199').enterPairingCode(code)).rejects.toThrow(
      /no client is waiting/,
    );
    await engine.close();
  });
});

describe('wa-emulator: the JSON control API of the standalone emulator', () => {
  it('scans, sends a text and reports status over HTTP', async () => {
    const emulator = await WaEmulator.start();
    try {
      const post = (path: string, body: object) =>
        fetch(`${emulator.httpUrl}/control/accounts/15550006666/${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const engine = new EngineHarness(emulator.url, 'org_control');
      let usedQr = '';
      await engine.link(async (qr) => {
        usedQr = qr;
        expect((await post('scan', { qr })).status).toBe(200);
      });
      const { id } = (await (
        await post('text', { from: '+15559996001', text: 'over http' })
      ).json()) as { id: string };
      await engine.until(() => engine.messages.find((m) => m.waMessageId === id), 5_000, 'message');
      const status = (await (
        await fetch(`${emulator.httpUrl}/control/accounts/15550006666/status`)
      ).json()) as { connected: boolean; devices: number[] };
      expect(status).toMatchObject({ connected: true, devices: [1] });
      expect((await post('scan', { qr: usedQr })).status).toBe(400); // a used QR is no longer valid
      await engine.close();
    } finally {
      await emulator.close();
    }
  });
});
