import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import type { WaEmulator } from '@app/wa-emulator';
import type { RegisteredUser, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait';
import { waitForSessionStatus } from '../support/sandbox';

/** Reads the QR text back out of the PNG data URL the API returns, as a phone camera would. */
export function decodeQrDataUrl(dataUrl: string): string {
  const png = PNG.sync.read(Buffer.from(dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64'));
  const code = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  if (!code) throw new Error('no QR code in the image');
  return code.data;
}

/** Creates a session through the API, scans its QR with the emulator's phone, waits for `connected`. */
export async function linkSession(
  t: TestApp,
  owner: RegisteredUser,
  emulator: WaEmulator,
  phone: string,
  sessionName = 'main',
) {
  await t
    .http()
    .post('/api/v1/whatsapp/sessions')
    .set(owner.auth)
    .send({ sessionName })
    .expect(201);
  const qr = await waitFor(
    async () => {
      const res = await t.http().get(`/api/v1/whatsapp/sessions/${sessionName}/qr`).set(owner.auth);
      return res.status === 200 ? (res.body.qr as string) : undefined;
    },
    15_000,
    'a QR code',
  );
  await emulator.phone(phone).scan(decodeQrDataUrl(qr));
  return waitForSessionStatus(t, owner, sessionName, 'connected', 15_000);
}
