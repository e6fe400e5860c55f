import type { RegisteredUser, TestApp } from './test-app';
import { waitFor } from './wait';

/** Creates a sandbox session and links it by "scanning" its QR; resolves when connected. */
export async function connectedSession(
  t: TestApp,
  owner: RegisteredUser,
  sessionName = 'main',
  phone = '+201001234567',
) {
  await t
    .http()
    .post('/api/v1/whatsapp/sessions')
    .set(owner.auth)
    .send({ sessionName })
    .expect(201);
  await scanWhenQrShows(t, owner, sessionName, phone);
  await waitForSessionStatus(t, owner, sessionName, 'connected');
}

export function waitForSessionStatus(
  t: TestApp,
  owner: RegisteredUser,
  sessionName: string,
  status: string,
  timeoutMs = 10_000,
) {
  return waitFor(
    async () => {
      const res = await t
        .http()
        .get(`/api/v1/whatsapp/sessions/${sessionName}/status`)
        .set(owner.auth);
      return res.body.status === status ? res.body : undefined;
    },
    timeoutMs,
    `session ${sessionName} to be ${status}`,
  );
}

/** Waits until the session shows a QR code, then lets the simulated phone scan it. */
export async function scanWhenQrShows(
  t: TestApp,
  owner: RegisteredUser,
  sessionName: string,
  phone: string,
) {
  await waitFor(
    async () =>
      (await t.http().get(`/api/v1/whatsapp/sessions/${sessionName}/qr`).set(owner.auth)).status ===
      200,
    10_000,
    `a QR code for ${sessionName}`,
  );
  await t
    .http()
    .post(`/api/v1/whatsapp/sandbox/sessions/${sessionName}/scan`)
    .set(owner.auth)
    .send({ phone })
    .expect(200);
}
