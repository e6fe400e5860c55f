import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { createTestApp, registerUser, type RegisteredUser, type TestApp } from './support/test-app';

describe('customers (HTTP, crm module)', () => {
  let t: TestApp;
  let owner: RegisteredUser;
  let other: RegisteredUser;

  const create = (user: RegisteredUser, body: object) =>
    t.http().post('/api/v1/customers').set(user.auth).send(body);
  const list = async (user: RegisteredUser, query: Record<string, string | number> = {}) =>
    (await t.http().get('/api/v1/customers').query(query).set(user.auth).expect(200)).body;

  beforeAll(async () => {
    t = await createTestApp();
    owner = await registerUser(t);
    other = await registerUser(t, { organizationName: 'Other Org' });
  });
  afterEach(async () => {
    await t.app.get<Connection>(getConnectionToken()).collection('customers').deleteMany({});
  });
  afterAll(() => t?.close());

  it('creates a customer with a normalized phone and a lower-cased email', async () => {
    const res = await create(owner, {
      name: '  Mona Ali ',
      phone: '+20 100 123 4567',
      email: 'Mona@Example.COM',
    }).expect(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{24}$/),
      name: 'Mona Ali',
      phone: '201001234567',
      email: 'mona@example.com',
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const fetched = await t
      .http()
      .get(`/api/v1/customers/${res.body.id}`)
      .set(owner.auth)
      .expect(200);
    expect(fetched.body).toEqual(res.body);
    const bare = await create(owner, { name: 'No Phone' }).expect(201);
    expect(bare.body).toMatchObject({ phone: null, email: null });
  });

  it('takes null for phone and email as none, as a customer reads back', async () => {
    const res = await create(owner, { name: 'No Contact', phone: null, email: null }).expect(201);
    expect(res.body).toMatchObject({ name: 'No Contact', phone: null, email: null });
  });

  it('rejects invalid bodies with 400 and per-field details', async () => {
    const res = await create(owner, { name: '', phone: '12', email: 'nope', extra: 1 }).expect(400);
    expect(res.body).toMatchObject({
      statusCode: 400,
      code: 'VALIDATION_FAILED',
      requestId: expect.any(String),
    });
    expect(Object.keys(res.body.details).sort()).toEqual(['email', 'extra', 'name', 'phone']);
    expect((await create(owner, {}).expect(400)).body.details.name).toBeDefined();
  });

  it('refuses a phone without its country code (a leading 0 never becomes a WhatsApp number)', async () => {
    for (const phone of ['01001234567', '(020) 100 123 4570', '+0201001234570']) {
      const res = await create(owner, { name: 'Local', phone }).expect(400);
      expect(res.body.details.phone).toEqual([
        'phone must be a phone number with country code (10-15 digits, not starting with 0, optional + or 00 prefix)',
      ]);
    }
  });

  it('bounds the phone as typed: 40 characters at most (400), however few digits it has', async () => {
    const spaced = `+20${' '.repeat(5_000)}100 123 4567`; // normalizes to a valid number
    const res = await create(owner, { name: 'Padded', phone: spaced }).expect(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.details.phone).toEqual([
      'phone must be shorter than or equal to 40 characters',
    ]);
    const mona = (await create(owner, { name: 'Mona', phone: '+20 (100) 123-4567' }).expect(201))
      .body;
    const patched = await t
      .http()
      .patch(`/api/v1/customers/${mona.id}`)
      .set(owner.auth)
      .send({ phone: spaced })
      .expect(400);
    expect(patched.body.details.phone).toEqual([
      'phone must be shorter than or equal to 40 characters',
    ]);
    const atBound = `+20${' '.repeat(27)}1001234567`;
    expect(atBound).toHaveLength(40);
    await create(owner, { name: 'At the bound', phone: atBound }).expect(201);
    await create(owner, { name: 'Past it', phone: `${atBound} ` + '-' }).expect(400);
    expect((await list(owner)).total).toBe(2);
  });

  it('lists newest first with search (name word prefix, phone digits, email; regex-safe) and pagination', async () => {
    await create(owner, { name: 'Mona Ali', phone: '+201001234567' }).expect(201);
    await create(owner, {
      name: 'Omar Hassan',
      phone: '00201119998888',
      email: 'omar@shop.test',
    }).expect(201);
    await create(owner, { name: 'Monica Geller', email: 'monica@example.com' }).expect(201);
    await create(other, { name: 'Mona Elsewhere' }).expect(201);

    const all = await list(owner);
    expect(all).toMatchObject({ total: 3, page: 1, limit: 20 });
    expect(all.items.map((c: { name: string }) => c.name)).toEqual([
      'Monica Geller',
      'Omar Hassan',
      'Mona Ali',
    ]);

    expect((await list(owner, { search: 'mon' })).total).toBe(2);
    expect(
      (await list(owner, { search: 'ali' })).items.map((c: { name: string }) => c.name),
    ).toEqual(['Mona Ali']);
    expect(
      (await list(owner, { search: '+20 111' })).items.map((c: { name: string }) => c.name),
    ).toEqual(['Omar Hassan']);
    // A phone's last digits find it too (four or more digits match anywhere in the number).
    expect(
      (await list(owner, { search: '8888' })).items.map((c: { name: string }) => c.name),
    ).toEqual(['Omar Hassan']);
    expect((await list(owner, { search: '234 567' })).total).toBe(1);
    expect((await list(owner, { search: 'omar@' })).total).toBe(1);
    expect((await list(owner, { search: '.*' })).total).toBe(0);

    const page2 = await list(owner, { page: 2, limit: 2 });
    expect(page2).toMatchObject({ total: 3, page: 2, limit: 2 });
    expect(page2.items.map((c: { name: string }) => c.name)).toEqual(['Mona Ali']);
    await t.http().get('/api/v1/customers').query({ limit: 0 }).set(owner.auth).expect(400);
  });

  it('stores an email typed with a combining accent as the precomposed one, so the search finds it', async () => {
    const created = await create(owner, { name: 'José', email: 'Jose\u0301@Example.com' }).expect(
      201,
    );
    expect(created.body.email).toBe('jos\u00e9@example.com');
    expect((await list(owner, { search: 'jos\u00e9@' })).total).toBe(1);
    expect((await list(owner, { search: 'jose\u0301@' })).total).toBe(1);
  });

  it('finds a long full name by any of its words, the tenth too', async () => {
    const name = 'Abd El Rahman Mohamed Abd El Aziz El Sayed Hassan';
    await create(owner, { name }).expect(201);
    for (const search of ['hassan', 'sayed hass', 'aziz'])
      expect((await list(owner, { search })).items.map((c: { name: string }) => c.name)).toEqual([
        name,
      ]);
  });

  it('reads page and limit as plain decimal integers, page at most 100,000', async () => {
    const get = (query: string) => t.http().get(`/api/v1/customers?${query}`).set(owner.auth);
    for (const query of ['limit=0x10', 'limit=1e1', 'page=%202', 'page=2.0', 'page=-1'])
      expect((await get(query).expect(400)).body.code).toBe('VALIDATION_FAILED');
    expect((await get('page=100001').expect(400)).body.details.page).toEqual([
      'page must not be greater than 100000',
    ]);
    expect((await get('page=99999999999999999999').expect(400)).body.details.page).toBeDefined();
    expect((await get('page=100000&limit=07').expect(200)).body).toMatchObject({
      page: 100000,
      limit: 7,
      items: [],
    });
  });

  it('normalizes the search as names are stored: whitespace runs and full-width letters', async () => {
    await create(owner, { name: 'Nour  Hany' }).expect(201);
    await create(owner, {
      name: '\uFF33\uFF41\uFF52\uFF41 \uFF2B\uFF48\uFF41\uFF4C\uFF45\uFF44',
    }).expect(201);
    const names = async (search: string) =>
      (await list(owner, { search })).items.map((c: { name: string }) => c.name);

    expect(await names('nour  hany')).toEqual(['Nour  Hany']);
    expect(await names('NOUR \t HA')).toEqual(['Nour  Hany']);
    expect(await names('\uFF33\uFF41\uFF52\uFF41')).toEqual([
      '\uFF33\uFF41\uFF52\uFF41 \uFF2B\uFF48\uFF41\uFF4C\uFF45\uFF44',
    ]);
    expect(await names('sara kh')).toEqual([
      '\uFF33\uFF41\uFF52\uFF41 \uFF2B\uFF48\uFF41\uFF4C\uFF45\uFF44',
    ]);
    expect(await names('\uFF4B\uFF48\uFF41')).toEqual([
      '\uFF33\uFF41\uFF52\uFF41 \uFF2B\uFF48\uFF41\uFF4C\uFF45\uFF44',
    ]);
  });

  it('PATCH changes the fields given: null removes phone or email, a name is required', async () => {
    const mona = (
      await create(owner, { name: 'Mona', phone: '+20 100 123 4567', email: 'mona@x.io' }).expect(
        201,
      )
    ).body;
    const patch = (body: object, id = mona.id, user = owner) =>
      t.http().patch(`/api/v1/customers/${id}`).set(user.auth).send(body);
    const renamed = await patch({ name: '  Mona Ali ', phone: '0020 111 222 3333' }).expect(200);
    expect(renamed.body).toMatchObject({
      id: mona.id,
      name: 'Mona Ali',
      phone: '201112223333',
      email: 'mona@x.io',
    });
    // Found by its new name and phone, no longer by the old phone.
    expect((await list(owner, { search: 'ali' })).items).toHaveLength(1);
    expect((await list(owner, { search: '2223333' })).items).toHaveLength(1);
    expect((await list(owner, { search: '1234567' })).total).toBe(0);

    const cleared = await patch({ phone: null, email: null }).expect(200);
    expect(cleared.body).toMatchObject({ name: 'Mona Ali', phone: null, email: null });
    expect((await patch({}).expect(200)).body).toMatchObject({ name: 'Mona Ali' });
    const read = await t.http().get(`/api/v1/customers/${mona.id}`).set(owner.auth).expect(200);
    expect(read.body).toEqual(cleared.body);

    const refused = await patch({ name: null, phone: '0100', email: 'x', vip: true }).expect(400);
    expect(Object.keys(refused.body.details).sort()).toEqual(['email', 'name', 'phone', 'vip']);
    await patch({ name: 'X' }, mona.id, other).expect(404);
    await patch({ name: 'X' }, 'not-an-id').expect(404);
    await patch({ name: 'X' }, '000000000000000000000000').expect(404);
  });

  it('DELETE removes the customer (204), then 404; never another organization’s', async () => {
    const mona = (await create(owner, { name: 'Mona' }).expect(201)).body;
    const remove = (id: string, user = owner) =>
      t.http().delete(`/api/v1/customers/${id}`).set(user.auth);
    await remove(mona.id, other).expect(404);
    await remove(mona.id).expect(204);
    await t.http().get(`/api/v1/customers/${mona.id}`).set(owner.auth).expect(404);
    const again = await remove(mona.id).expect(404);
    expect(again.body.code).toBe('CUSTOMER_NOT_FOUND');
    await remove('not-an-id').expect(404);
    expect((await list(owner)).total).toBe(0);
  });

  it("answers 404 for another organization's customer and for malformed ids", async () => {
    const mine = await create(owner, { name: 'Mona' }).expect(201);
    const res = await t.http().get(`/api/v1/customers/${mine.body.id}`).set(other.auth).expect(404);
    expect(res.body).toMatchObject({ statusCode: 404, code: 'CUSTOMER_NOT_FOUND' });
    await t.http().get('/api/v1/customers/not-an-id').set(owner.auth).expect(404);
    expect((await list(other)).total).toBe(0);
  });

  it('needs a token and the crm module', async () => {
    await t.http().get('/api/v1/customers').expect(401);
    const solo = await registerUser(t, { organizationName: 'No CRM' });
    await t
      .http()
      .put('/api/v1/organizations/me/modules')
      .set(solo.auth)
      .send({ modules: ['whatsapp'] })
      .expect(200);
    const res = await t.http().get('/api/v1/customers').set(solo.auth).expect(403);
    expect(res.body.code).toBe('MODULE_DISABLED');
  });

  it('documents every route in OpenAPI with operation ids and the error shape', async () => {
    const spec = (await t.http().get('/api/docs-json').expect(200)).body;
    expect(spec.paths['/api/v1/customers'].post.operationId).toBe('customers_create');
    expect(spec.paths['/api/v1/customers'].get.operationId).toBe('customers_list');
    expect(spec.paths['/api/v1/customers/{id}'].patch.operationId).toBe('customers_update');
    expect(spec.paths['/api/v1/customers/{id}'].delete.operationId).toBe('customers_delete');
    expect(
      spec.paths['/api/v1/customers/{id}'].get.responses['404'].content['application/json'].schema
        .$ref,
    ).toContain('ErrorResponseDto');
  });
});
