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
    expect(second).toEqual({ open: expect.objectContaining({ jid: `${ACCOUNT}@s.whatsapp.net`, phone: ACCOUNT }) });
    expect(emulator.phone(ACCOUNT).connected).toBe(true);
    await engine.close();

    const third = await engine.connect();
    expect(third).toHaveProperty('open');
    await engine.close();
  });
});
