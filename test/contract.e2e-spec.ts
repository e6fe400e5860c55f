import {
  queryParameters,
  responseMismatches,
  schemaMismatches,
} from './support/openapi-conformance';
import { connectedSession, sandboxInbound } from './support/sandbox';
import { createTestApp, registerUser, type RegisteredUser, type TestApp } from './support/test-app';
import { waitFor } from './support/wait';

// A 1×1 PNG.
const PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

/**
 * Real answers checked against openapi.json, field by field: what an integrator's generated client
 * (libs/sdk, or any other OpenAPI generator) trusts, e.g. that an optional string is a string when
 * present, never null.
 */
describe('responses match their OpenAPI schema (e2e)', () => {
  let t: TestApp;
  let owner: RegisteredUser;

  beforeAll(async () => {
    t = await createTestApp();
    owner = await registerUser(t);
    await connectedSession(t, owner);
  });

  afterAll(async () => {
    await t?.close();
  });

  it('a chat whose last message has no text leaves its preview out rather than null', async () => {
    const from = '+201112223335';
    await sandboxInbound(t, owner, 'main', {
      from,
      type: 'image',
      media: { base64: PNG_BASE64, mimetype: 'image/png' },
    });
    const chats = await waitFor(async () => {
      const res = await t.http().get('/api/v1/whatsapp/chats').set(owner.auth).expect(200);
      return res.body.items.length ? res.body : undefined;
    });
    expect(chats.items[0].lastMessage).toMatchObject({ type: 'image' });
    expect(responseMismatches('GET', '/api/v1/whatsapp/chats', 200, chats)).toEqual([]);

    const read = await t
      .http()
      .post('/api/v1/whatsapp/chats/read')
      .set(owner.auth)
      .send({ sessionName: 'main', chat: from })
      .expect(200);
    expect(responseMismatches('POST', '/api/v1/whatsapp/chats/read', 200, read.body)).toEqual([]);
  });

  it('documents page and limit as the integers the server takes: a fraction is a 400', async () => {
    for (const query of ['page=1.5', 'limit=2.5'])
      await t.http().get(`/api/v1/whatsapp/messages?${query}`).set(owner.auth).expect(400);
    const documented = [...queryParameters('page'), ...queryParameters('limit')];
    expect(documented.length).toBeGreaterThanOrEqual(10);
    for (const { operation, schema } of documented) {
      expect({ operation, allowsFraction: schemaMismatches(schema, 1.5).length === 0 }).toEqual({
        operation,
        allowsFraction: false,
      });
      expect({ operation, allowsOne: schemaMismatches(schema, 1).length === 0 }).toEqual({
        operation,
        allowsOne: true,
      });
    }
  });

  it('the sandbox control routes document the 409 of a session that is not connected', async () => {
    await t.http().post('/api/v1/whatsapp/sessions').set(owner.auth).send({ sessionName: 'idle' });
    const controls: Array<[string, object]> = [
      ['inbound', { from: '+201112223336', text: 'hi' }],
      ['contacts', { phone: '+201112223336', pushName: 'Ali' }],
      ['lid-mapping', { phone: '+201112223336', lid: '123456789012345@lid' }],
    ];
    for (const [route, body] of controls) {
      const path = `/api/v1/whatsapp/sandbox/sessions/{name}/${route}`;
      const res = await t
        .http()
        .post(path.replace('{name}', 'idle'))
        .set(owner.auth)
        .send(body)
        .expect(409);
      expect(res.body.code).toBe('SESSION_NOT_CONNECTED');
      // The session's public status (waiting for its QR), not the engine's phase.
      expect(['connecting', 'qr_ready']).toContain(res.body.details.status);
      expect(res.body.message).toContain(`(status: ${res.body.details.status})`);
      expect(responseMismatches('POST', path, 409, res.body)).toEqual([]);
    }
  });
});
