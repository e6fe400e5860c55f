import { getConnectionToken } from '@nestjs/mongoose';
import { type Connection, Types } from 'mongoose';
import { UserEmailsNfcMigration } from '../apps/api/src/organizations/user-emails-nfc.migration';
import { createHmac } from 'node:crypto';
import {
  asNewClient,
  createTestApp,
  registerUser,
  TEST_JWT_SECRET,
  uniqueEmail,
  type TestApp,
} from './support/test-app';

const b64url = (v: object | string) =>
  Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
function signHs256(
  payload: object,
  secret = TEST_JWT_SECRET,
  header: object = { alg: 'HS256', typ: 'JWT' },
): string {
  const head = `${b64url(header)}.${b64url(payload)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

describe('auth and organizations (HTTP)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ LOGIN_MAX_FAILURES: '10' });
  });
  afterAll(() => t.close());

  describe('register', () => {
    it('creates an organization with its owner and returns a usable token', async () => {
      const email = uniqueEmail('Mixed.Case');
      const res = await t
        .http()
        .post('/api/v1/auth/register')
        .set(asNewClient())
        .send({
          organizationName: 'Acme',
          name: 'Mona',
          email,
          password: 'password-123',
          phone: '+201001234567',
        })
        .expect(201);
      expect(res.body).toMatchObject({
        accessToken: expect.any(String),
        tokenType: 'Bearer',
        expiresIn: 12 * 3600,
        user: {
          name: 'Mona',
          email: email.toLowerCase(),
          role: 'owner',
          phone: '+201001234567',
          disabled: false,
        },
        organization: { name: 'Acme', modules: ['whatsapp', 'crm'] },
      });
      expect(JSON.stringify(res.body)).not.toMatch(/password|scrypt/i);
      const me = await t
        .http()
        .get('/api/v1/auth/me')
        .set('Authorization', `Bearer ${res.body.accessToken}`)
        .expect(200);
      expect(me.body.user.id).toBe(res.body.user.id);
      expect(me.body.organization.id).toBe(res.body.organization.id);
      expect(Object.keys(me.body.user).sort()).toEqual([
        'createdAt',
        'disabled',
        'email',
        'id',
        'name',
        'organizationId',
        'phone',
        'role',
      ]);
    });

    it.each([
      [{}, ['organizationName', 'name', 'email', 'password']],
      [
        { organizationName: 'A', name: 'B', email: 'not-an-email', password: 'password-123' },
        ['email'],
      ],
      [{ organizationName: 'A', name: 'B', email: 'a@b.test', password: 'short' }, ['password']],
      [
        {
          organizationName: 'A',
          name: 'B',
          email: 'a@b.test',
          password: 'password-123',
          phone: '12ab',
        },
        ['phone'],
      ],
      [
        {
          organizationName: 'A',
          name: 'B',
          email: 'a@b.test',
          password: 'password-123',
          phone: '+123',
        },
        ['phone'],
      ],
      [
        { organizationName: 42, name: 'B', email: 'a@b.test', password: 'password-123' },
        ['organizationName'],
      ],
      [
        {
          organizationName: 'A',
          name: 'B',
          email: 'a@b.test',
          password: 'password-123',
          isAdmin: true,
        },
        ['isAdmin'],
      ],
    ])('rejects %j with 400 and per-field messages', async (body, fields) => {
      const res = await t
        .http()
        .post('/api/v1/auth/register')
        .set(asNewClient())
        .send(body)
        .expect(400);
      expect(res.body).toMatchObject({
        statusCode: 400,
        code: 'VALIDATION_FAILED',
        message: 'Validation failed',
        requestId: expect.any(String),
      });
      expect(Object.keys(res.body.details).sort()).toEqual([...fields].sort());
      for (const field of fields) expect(res.body.details[field][0]).toEqual(expect.any(String));
    });

    it('rejects a reused email (any case) with 409', async () => {
      const email = uniqueEmail('dup');
      await registerUser(t, { email });
      const res = await t
        .http()
        .post('/api/v1/auth/register')
        .set(asNewClient())
        .send({
          organizationName: 'Other',
          name: 'X',
          email: email.toUpperCase(),
          password: 'password-123',
        })
        .expect(409);
      expect(res.body.code).toBe('EMAIL_TAKEN');
    });

    it('takes an email however its accents are encoded as one address, and trims the phone', async () => {
      const local = `jos\u00e9-${Date.now()}`; // é precomposed
      const register = (email: string, extra: object = {}) =>
        t
          .http()
          .post('/api/v1/auth/register')
          .set(asNewClient())
          .send({
            organizationName: 'Acme',
            name: 'José',
            email,
            password: 'password-123',
            ...extra,
          });
      const first = await register(`${local.normalize('NFD')}@x.test`, {
        phone: ' +201001234567 ',
      }).expect(201);
      expect(first.body.user).toMatchObject({ email: `${local}@x.test`, phone: '+201001234567' });
      const again = await register(`${local}@x.test`).expect(409);
      expect(again.body.code).toBe('EMAIL_TAKEN');
      await t
        .http()
        .post('/api/v1/auth/login')
        .send({ email: `${local.normalize('NFD')}@X.TEST`, password: 'password-123' })
        .expect(200);

      // An account stored before emails were normalized, with the decomposed accent, is rewritten
      // at boot: it logs in again, and its address stays taken.
      const users = t.app.get<Connection>(getConnectionToken()).collection('users');
      await users.updateOne(
        { email: `${local}@x.test` },
        { $set: { email: `${local.normalize('NFD')}@x.test` } },
      );
      await t.app.get(UserEmailsNfcMigration).onApplicationBootstrap();
      expect(await users.countDocuments({ email: `${local}@x.test` })).toBe(1);
      await t
        .http()
        .post('/api/v1/auth/login')
        .send({ email: `${local}@x.test`, password: 'password-123' })
        .expect(200);
      expect((await register(`${local}@x.test`).expect(409)).body.code).toBe('EMAIL_TAKEN');
    });

    it('lets exactly one of 20 concurrent registrations with one email win', async () => {
      const email = uniqueEmail('race');
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          t
            .http()
            .post('/api/v1/auth/register')
            .set(asNewClient())
            .send({ organizationName: `Org ${i}`, name: 'R', email, password: 'password-123' }),
        ),
      );
      const statuses = results.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 201)).toHaveLength(1);
      expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    });
  });

  describe('login', () => {
    it('returns the token shape for good credentials', async () => {
      const email = uniqueEmail('login');
      await registerUser(t, { email, password: 'password-123' });
      const res = await t
        .http()
        .post('/api/v1/auth/login')
        .send({ email: email.toUpperCase(), password: 'password-123' })
        .expect(200);
      expect(res.body).toMatchObject({
        tokenType: 'Bearer',
        accessToken: expect.any(String),
        user: { email },
        organization: { name: 'Acme' },
      });
    });

    it('answers the same 401 for an unknown email and a wrong password', async () => {
      const email = uniqueEmail('login401');
      await registerUser(t, { email });
      const wrongPassword = await t
        .http()
        .post('/api/v1/auth/login')
        .send({ email, password: 'wrong-password' })
        .expect(401);
      const unknown = await t
        .http()
        .post('/api/v1/auth/login')
        .send({ email: uniqueEmail('ghost'), password: 'wrong-password' })
        .expect(401);
      expect(wrongPassword.body.message).toBe(unknown.body.message);
      expect(wrongPassword.body.code).toBe('INVALID_CREDENTIALS');
    });

    it('locks an email after 10 failures with 429 and Retry-After, even for the right password', async () => {
      const email = uniqueEmail('brute');
      await registerUser(t, { email, password: 'password-123' });
      for (let i = 0; i < 10; i++) {
        await t
          .http()
          .post('/api/v1/auth/login')
          .send({ email, password: `guess-${i}-xx` })
          .expect(401);
      }
      const locked = await t
        .http()
        .post('/api/v1/auth/login')
        .send({ email, password: 'password-123' })
        .expect(429);
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(locked.headers['retry-after'])).toBeLessThanOrEqual(900);
      expect(locked.body.code).toBe('TOO_MANY_LOGIN_ATTEMPTS');
    });
  });

  describe('tokens', () => {
    it.each([
      ['no token', undefined],
      ['garbage', 'Bearer not.a.jwt'],
      [
        'wrong signature',
        () =>
          signHs256(
            { sub: '0'.repeat(24), org: '0'.repeat(24), role: 'owner' },
            'another-secret-of-sufficient-length-000000',
          ),
      ],
      [
        'alg none',
        () =>
          `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: '0'.repeat(24), org: '0'.repeat(24), role: 'owner' })}.`,
      ],
      [
        'expired',
        () =>
          signHs256({
            sub: '0'.repeat(24),
            org: '0'.repeat(24),
            role: 'owner',
            exp: Math.floor(Date.now() / 1000) - 60,
          }),
      ],
    ])('rejects %s with 401', async (_name, token) => {
      const value = typeof token === 'function' ? `Bearer ${token()}` : token;
      const req = t.http().get('/api/v1/auth/me');
      const res = await (value ? req.set('Authorization', value) : req).expect(401);
      expect(res.body).toMatchObject({
        statusCode: 401,
        code: 'UNAUTHORIZED',
        requestId: expect.any(String),
      });
    });

    it('rejects a validly signed token whose user was tampered into another org', async () => {
      const a = await registerUser(t);
      const b = await registerUser(t);
      const forged = signHs256({
        sub: a.user.id,
        org: b.organization.id,
        role: 'owner',
        exp: Math.floor(Date.now() / 1000) + 60,
      });
      await t.http().get('/api/v1/auth/me').set('Authorization', `Bearer ${forged}`).expect(401);
    });

    it('refuses the tokens of an organization that no longer exists with 401, on every route', async () => {
      const owner = await registerUser(t);
      const connection = t.app.get<Connection>(getConnectionToken());
      await connection
        .collection('organizations')
        .deleteOne({ _id: new Types.ObjectId(owner.organization.id) });
      const attempts = [
        t.http().get('/api/v1/auth/me'),
        t.http().get('/api/v1/organizations/me/users'),
        t
          .http()
          .post('/api/v1/organizations/me/users')
          .send({
            name: 'M',
            email: uniqueEmail('ghost'),
            password: 'password-123',
            role: 'member',
          }),
        t.http().get('/api/v1/whatsapp/sessions'),
        t.http().get('/api/v1/events'),
      ];
      for (const attempt of attempts) {
        const res = await attempt.set(owner.auth);
        expect(res.status).toBe(401);
        expect(res.body.code).toBe('UNAUTHORIZED');
      }
    });

    it('stops accepting the token of a disabled user, also after the user is enabled again', async () => {
      const owner = await registerUser(t);
      const email = uniqueEmail('member');
      const created = await t
        .http()
        .post('/api/v1/organizations/me/users')
        .set(owner.auth)
        .send({ name: 'M', email, password: 'password-123', role: 'member' })
        .expect(201);
      const login = await t
        .http()
        .post('/api/v1/auth/login')
        .send({ email, password: 'password-123' })
        .expect(200);
      const memberAuth = { Authorization: `Bearer ${login.body.accessToken}` };
      await t.http().get('/api/v1/auth/me').set(memberAuth).expect(200);
      await t
        .http()
        .patch(`/api/v1/organizations/me/users/${created.body.id}`)
        .set(owner.auth)
        .send({ disabled: true })
        .expect(200);
      await t.http().get('/api/v1/auth/me').set(memberAuth).expect(401);
      await t
        .http()
        .post('/api/v1/auth/login')
        .send({ email, password: 'password-123' })
        .expect(401);

      // Enabled again: the tokens from before the disable stay dead; a new login works.
      await t
        .http()
        .patch(`/api/v1/organizations/me/users/${created.body.id}`)
        .set(owner.auth)
        .send({ disabled: false })
        .expect(200);
      await t.http().get('/api/v1/auth/me').set(memberAuth).expect(401);
      const again = await t
        .http()
        .post('/api/v1/auth/login')
        .send({ email, password: 'password-123' })
        .expect(200);
      await t
        .http()
        .get('/api/v1/auth/me')
        .set({ Authorization: `Bearer ${again.body.accessToken}` })
        .expect(200);
      // Other changes (a role) leave the tokens working.
      await t
        .http()
        .patch(`/api/v1/organizations/me/users/${created.body.id}`)
        .set(owner.auth)
        .send({ role: 'admin' })
        .expect(200);
      await t
        .http()
        .get('/api/v1/auth/me')
        .set({ Authorization: `Bearer ${again.body.accessToken}` })
        .expect(200);
    });
  });

  describe('organizations and roles', () => {
    it('reads and renames the organization', async () => {
      const owner = await registerUser(t);
      await t
        .http()
        .patch('/api/v1/organizations/me')
        .set(owner.auth)
        .send({ name: '  New Name ' })
        .expect(200)
        .expect((r) => expect(r.body.name).toBe('New Name'));
      await t
        .http()
        .get('/api/v1/organizations/me')
        .set(owner.auth)
        .expect(200)
        .expect((r) => expect(r.body.name).toBe('New Name'));
      await t
        .http()
        .patch('/api/v1/organizations/me')
        .set(owner.auth)
        .send({ name: '' })
        .expect(400);
    });

    it('validates modules against the known list', async () => {
      const owner = await registerUser(t);
      const res = await t
        .http()
        .put('/api/v1/organizations/me/modules')
        .set(owner.auth)
        .send({ modules: ['whatsapp', 'teleport'] })
        .expect(400);
      expect(res.body.details.modules[0]).toContain('whatsapp, crm, attendance');
      await t
        .http()
        .put('/api/v1/organizations/me/modules')
        .set(owner.auth)
        .send({ modules: ['crm', 'reports'] })
        .expect(200)
        .expect((r) => expect(r.body.modules).toEqual(['crm', 'reports']));
    });

    it('lets admins invite members but only owners create admins; members cannot use admin routes', async () => {
      const owner = await registerUser(t);
      const adminEmail = uniqueEmail('admin');
      await t
        .http()
        .post('/api/v1/organizations/me/users')
        .set(owner.auth)
        .send({ name: 'A', email: adminEmail, password: 'password-123', role: 'admin' })
        .expect(201);
      const admin = await t
        .http()
        .post('/api/v1/auth/login')
        .send({ email: adminEmail, password: 'password-123' })
        .expect(200);
      const adminAuth = { Authorization: `Bearer ${admin.body.accessToken}` };
      await t
        .http()
        .post('/api/v1/organizations/me/users')
        .set(adminAuth)
        .send({ name: 'A2', email: uniqueEmail('admin2'), password: 'password-123', role: 'admin' })
        .expect(403);
      const memberEmail = uniqueEmail('m');
      await t
        .http()
        .post('/api/v1/organizations/me/users')
        .set(adminAuth)
        .send({ name: 'M', email: memberEmail, password: 'password-123', role: 'member' })
        .expect(201);
      const member = await t
        .http()
        .post('/api/v1/auth/login')
        .send({ email: memberEmail, password: 'password-123' })
        .expect(200);
      const memberAuth = { Authorization: `Bearer ${member.body.accessToken}` };
      const denied = await t
        .http()
        .patch('/api/v1/organizations/me')
        .set(memberAuth)
        .send({ name: 'x' })
        .expect(403);
      expect(denied.body.code).toBe('ROLE_REQUIRED');
      await t
        .http()
        .put('/api/v1/organizations/me/modules')
        .set(memberAuth)
        .send({ modules: [] })
        .expect(403);
      await t
        .http()
        .get('/api/v1/organizations/me/users')
        .set(memberAuth)
        .expect(200)
        .expect((r) => expect(r.body).toHaveLength(3));
      await t
        .http()
        .post('/api/v1/organizations/me/users')
        .set(memberAuth)
        .send({ name: 'X', email: uniqueEmail('x'), password: 'password-123', role: 'member' })
        .expect(403);
    });

    it('never demotes or disables the last owner', async () => {
      const owner = await registerUser(t);
      const res = await t
        .http()
        .patch(`/api/v1/organizations/me/users/${owner.user.id}`)
        .set(owner.auth)
        .send({ role: 'admin' })
        .expect(409);
      expect(res.body.code).toBe('LAST_OWNER');
      await t
        .http()
        .patch(`/api/v1/organizations/me/users/${owner.user.id}`)
        .set(owner.auth)
        .send({ disabled: true })
        .expect(409);
      // With a second owner, the first may step down.
      const email = uniqueEmail('second');
      const second = await t
        .http()
        .post('/api/v1/organizations/me/users')
        .set(owner.auth)
        .send({ name: 'S', email, password: 'password-123', role: 'member' })
        .expect(201);
      await t
        .http()
        .patch(`/api/v1/organizations/me/users/${second.body.id}`)
        .set(owner.auth)
        .send({ role: 'owner' })
        .expect(200);
      await t
        .http()
        .patch(`/api/v1/organizations/me/users/${owner.user.id}`)
        .set(owner.auth)
        .send({ role: 'admin' })
        .expect(200);
    });

    it('refuses null for fields that cannot be empty (a null role would leave the organization without an owner)', async () => {
      const owner = await registerUser(t);
      const patchSelf = (body: object) =>
        t
          .http()
          .patch(`/api/v1/organizations/me/users/${owner.user.id}`)
          .set(owner.auth)
          .send(body);
      const role = await patchSelf({ role: null }).expect(400);
      expect(role.body).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: { role: [expect.stringContaining('role must be one of')] },
      });
      const disabled = await patchSelf({ disabled: null }).expect(400);
      expect(disabled.body.details.disabled).toEqual(['disabled must be a boolean value']);
      const name = await t
        .http()
        .patch('/api/v1/organizations/me')
        .set(owner.auth)
        .send({ name: null })
        .expect(400);
      expect(Object.keys(name.body.details)).toEqual(['name']);
      // Nothing changed: still the owner, enabled, and the organization keeps its name.
      const me = await t.http().get('/api/v1/auth/me').set(owner.auth).expect(200);
      expect(me.body.user).toMatchObject({ role: 'owner', disabled: false });
      expect(me.body.organization.name).toEqual(expect.any(String));
    });

    it('never lets one organization read or change another organization’s users (404)', async () => {
      const a = await registerUser(t);
      const b = await registerUser(t);
      const res = await t
        .http()
        .patch(`/api/v1/organizations/me/users/${b.user.id}`)
        .set(a.auth)
        .send({ disabled: true })
        .expect(404);
      expect(res.body.code).toBe('USER_NOT_FOUND');
      await t
        .http()
        .patch('/api/v1/organizations/me/users/not-an-id')
        .set(a.auth)
        .send({ disabled: true })
        .expect(404);
      const list = await t.http().get('/api/v1/organizations/me/users').set(a.auth).expect(200);
      expect(list.body.map((u: { id: string }) => u.id)).toEqual([a.user.id]);
    });
  });
});

describe('login limits under a burst (own app: the per-address limit counts every login)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ LOGIN_MAX_FAILURES: '10' });
  });
  afterAll(() => t.close());
  const login = (email: string, password: string) =>
    t.http().post('/api/v1/auth/login').send({ email, password });

  it('announces the limit on the limited routes only', async () => {
    const limited = await login(uniqueEmail('headers'), 'password-123');
    expect(limited.headers['x-ratelimit-limit']).toBe('30');
    const user = await registerUser(t, { email: uniqueEmail('headers'), password: 'password-123' });
    const me = await t.http().get('/api/v1/auth/me').set('Authorization', `Bearer ${user.token}`);
    expect(me.status).toBe(200);
    expect(Object.keys(me.headers).filter((h) => h.startsWith('x-ratelimit'))).toEqual([]);
  });

  it('checks at most LOGIN_MAX_FAILURES passwords of a concurrent burst; the rest are 429', async () => {
    const email = uniqueEmail('burst');
    await registerUser(t, { email, password: 'password-123' });
    const answers = await Promise.all(
      Array.from({ length: 25 }, (_, i) => login(email, `guess-${i}-xx`)),
    );
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
    for (const locked of answers.filter((r) => r.status === 429))
      expect(locked.body.code).toBe('TOO_MANY_LOGIN_ATTEMPTS');
    expect((await login(email, 'password-123')).status).toBe(429); // locked, right password or not
  });

  it('refuses past 30 logins a minute from one address with a coded 429 and Retry-After', async () => {
    let refused;
    for (let i = 0; i < 10 && !refused; i++) {
      const res = await login(uniqueEmail('ip'), 'password-123');
      if (res.status === 429) refused = res;
      else expect(res.status).toBe(401);
    }
    expect(refused?.body).toMatchObject({
      statusCode: 429,
      code: 'TOO_MANY_REQUESTS',
      message: 'Too many requests from this address; try again later',
    });
    expect(Number(refused?.headers['retry-after'])).toBeGreaterThan(0);
  });
});

describe('the per-address login limit behind a proxy (TRUST_PROXY)', () => {
  // Two clients reach the gateway through an ingress at 10.0.0.7, which reaches it over loopback.
  const CLIENT_A = '203.0.113.1, 10.0.0.7';
  const CLIENT_B = '203.0.113.2, 10.0.0.7';
  /** Spends client A's 30 logins of the minute, then answers the next one's status for A and B. */
  async function afterAsLimit(env: Record<string, string>) {
    const t = await createTestApp(env);
    try {
      const login = (forwardedFor: string) =>
        t
          .http()
          .post('/api/v1/auth/login')
          .set('X-Forwarded-For', forwardedFor)
          .send({ email: uniqueEmail('proxied'), password: 'password-123' });
      for (let i = 0; i < 30; i++) expect((await login(CLIENT_A)).status).toBe(401);
      return { a: (await login(CLIENT_A)).status, b: (await login(CLIENT_B)).status };
    } finally {
      await t.close();
    }
  }

  it('counts each client apart when the ingress is trusted', async () => {
    expect(await afterAsLimit({ TRUST_PROXY: 'loopback, 10.0.0.0/8' })).toEqual({ a: 429, b: 401 });
  });

  it('counts them as one address (the ingress) by default, trusting loopback only', async () => {
    expect(await afterAsLimit({})).toEqual({ a: 429, b: 429 });
  });
});

describe('the per-address registration limit', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());
  const register = (forwardedFor: string) =>
    t
      .http()
      .post('/api/v1/auth/register')
      .set('X-Forwarded-For', forwardedFor)
      .send({
        organizationName: 'Signup',
        name: 'S',
        email: uniqueEmail('signup'),
        password: 'password-123',
      });

  it('refuses past 20 registrations an hour from one address with a coded 429 and Retry-After', async () => {
    for (let i = 0; i < 20; i++) expect((await register('203.0.113.50')).status).toBe(201);
    const refused = await register('203.0.113.50');
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(60);
    expect((await register('203.0.113.51')).status).toBe(201);
  });
});
