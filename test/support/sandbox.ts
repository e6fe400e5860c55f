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

/** A message the sandbox session `sessionName` receives (the control route answers 202). */
export const sandboxInbound = (
  t: TestApp,
  user: RegisteredUser,
  sessionName: string,
  body: object,
) =>
  t
    .http()
    .post(`/api/v1/whatsapp/sandbox/sessions/${sessionName}/inbound`)
    .set(user.auth)
    .send(body)
    .expect(202);

/** A text sent through session `main` (202): the accepted message. */
export const sendText = async (t: TestApp, user: RegisteredUser, to: string, text: string) =>
  (
    await t
      .http()
      .post('/api/v1/whatsapp/messages/send')
      .set(user.auth)
      .send({ sessionName: 'main', to, text })
      .expect(202)
  ).body as { id: string; timestamp: string };
