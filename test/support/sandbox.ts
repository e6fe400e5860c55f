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
  await waitFor(
    async () =>
      (await t.http().get(`/api/v1/whatsapp/sessions/${sessionName}/status`).set(owner.auth)).body
        .status === 'qr_ready',
    10_000,
    'qr_ready',
  );
  await t
    .http()
    .post(`/api/v1/whatsapp/sandbox/sessions/${sessionName}/scan`)
    .set(owner.auth)
    .send({ phone })
    .expect(200);
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
