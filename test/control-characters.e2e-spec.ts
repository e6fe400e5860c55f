import { connectedSession } from './support/sandbox';
import {
  asNewClient,
  createTestApp,
  registerUser,
  type RegisteredUser,
  type TestApp,
  uniqueEmail,
} from './support/test-app';
import { waitFor } from './support/wait';

/**
 * Names, tags and notes people type are shown back in lists, exports and other people's screens:
 * control characters (a NUL, an escape sequence, a bidi override that reverses what follows) are
 * refused with a 400 naming the field; notes may hold line breaks and tabs.
 */
describe('control characters in user-given text (e2e)', () => {
  let t: TestApp;
  let owner: RegisteredUser;
  const REFUSED = ['a\u0000b', 'esc\u001b[31m', 'del\u007f', 'c1\u0085', 'evil\u202egnp.exe'];

  const expectRefused = (res: { status: number; body: any }, field: string) => {
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(res.body.details[field]).toEqual([expect.stringContaining('control characters')]);
  };

  beforeAll(async () => {
    t = await createTestApp();
    owner = await registerUser(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('refuses them in the names of registrations, organizations and users', async () => {
    for (const bad of REFUSED) {
      for (const field of ['name', 'organizationName']) {
        const res = await t
          .http()
          .post('/api/v1/auth/register')
          .set(asNewClient())
          .send({
            organizationName: 'Acme',
            name: 'Owner',
            email: uniqueEmail(),
            password: 'password-123',
            [field]: bad,
          });
        expectRefused(res, field);
      }
      expectRefused(
        await t.http().patch('/api/v1/organizations/me').set(owner.auth).send({ name: bad }),
        'name',
      );
      expectRefused(
        await t.http().post('/api/v1/organizations/me/users').set(owner.auth).send({
          name: bad,
          email: uniqueEmail(),
          password: 'password-123',
          role: 'member',
        }),
        'name',
      );
    }
    // Letters of any script, and bidi marks that are not overrides, stay welcome.
    const arabic = '\u0645\u0646\u0649 \u200f(\u0627\u0644\u0645\u0648\u0631\u062f)';
    await t
      .http()
      .patch('/api/v1/organizations/me')
      .set(owner.auth)
      .send({ name: arabic })
      .expect(200);
  });

  it('refuses them in customer names', async () => {
    const customer = (
      await t.http().post('/api/v1/customers').set(owner.auth).send({ name: 'Mona' }).expect(201)
    ).body;
    for (const bad of REFUSED) {
      expectRefused(
        await t.http().post('/api/v1/customers').set(owner.auth).send({ name: bad }),
        'name',
      );
      expectRefused(
        await t
          .http()
          .patch(`/api/v1/customers/${customer.id}`)
          .set(owner.auth)
          .send({ name: bad }),
        'name',
      );
    }
  });

  it("refuses them in a contact's name and tags, and in notes except line breaks and tabs", async () => {
    await connectedSession(t, owner, 'main');
    await t
      .http()
      .post('/api/v1/whatsapp/sandbox/sessions/main/contacts')
      .set(owner.auth)
      .send({ phone: '+201112223334', pushName: 'Ali' })
      .expect(202);
    const contact = await waitFor(async () => {
      const res = await t.http().get('/api/v1/whatsapp/contacts').set(owner.auth).expect(200);
      return res.body.items[0];
    });
    const put = (body: object) =>
      t.http().put(`/api/v1/whatsapp/contacts/${contact.id}`).set(owner.auth).send(body);
    for (const bad of REFUSED) {
      expectRefused(await put({ name: bad }), 'name');
      // Tags drop invisible format characters, the bidi overrides among them, when normalised.
      if (!bad.includes('\u202e')) expectRefused(await put({ tags: ['ok', bad] }), 'tags');
      expectRefused(await put({ notes: `line one\n${bad}` }), 'notes');
    }
    const saved = await put({
      notes: 'Line one\r\n\tLine two\nLine three',
      tags: ['evil\u202egnp'],
    }).expect(200);
    expect(saved.body).toMatchObject({
      notes: 'Line one\r\n\tLine two\nLine three',
      tags: ['evilgnp'],
    });
  });
});
