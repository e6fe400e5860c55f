import { EventEmitter2 } from '@nestjs/event-emitter';
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { MongoNetworkError } from 'mongodb';
import { MIGRATIONS_COLLECTION, type SearchKeysBackfill } from '@app/common';
import { ContactsRepository } from '../apps/api/src/contacts/contacts.repository';
import { Contact as ContactModel } from '../apps/api/src/contacts/schemas/contact.schema';
import { CustomerLinksRecovery } from '../apps/api/src/customers/customer-links-recovery.service';
import { Customer } from '../apps/api/src/customers/schemas/customer.schema';
import { EventOutboxService } from '../apps/api/src/events/event-outbox.service';
import { WA_EVENTS, type WaContactsUpsertedEvent } from '@app/whatsapp';
import { connectedSession } from './support/sandbox';
import { createTestApp, registerUser, type RegisteredUser, type TestApp } from './support/test-app';
import { waitFor } from './support/wait';

interface Contact {
  id: string;
  jid: string;
  lid: string | null;
  phone: string | null;
  name: string | null;
  customName: string | null;
  addressBookName: string | null;
  pushName: string | null;
  displayName: string;
  isGroup: boolean;
  tags: string[];
  notes: string | null;
  customerId: string | null;
  customerLinkSource: string | null;
  messageCount: number;
  lastMessageAt: string | null;
  revision: number;
  [key: string]: unknown;
}

const API = '/api/v1/whatsapp';
const SANDBOX = `${API}/sandbox/sessions/main`;

describe('contacts (HTTP, sandbox engine)', () => {
  let t: TestApp;
  let owner: RegisteredUser;
  let other: RegisteredUser;
  let sessionId: string;

  const list = async (query: Record<string, string | number | boolean> = {}, user = owner) =>
    (await t.http().get(`${API}/contacts`).query(query).set(user.auth).expect(200)).body as {
      items: Contact[];
      total: number;
      page: number;
      limit: number;
    };
  const byPhone = async (phone: string) =>
    (await list({ search: phone })).items.find((c) => c.phone === phone);
  const waitForContact = (
    phone: string,
    accept: (c: Contact) => boolean = () => true,
    what = `contact ${phone}`,
  ) =>
    waitFor(
      async () => {
        const c = await byPhone(phone);
        return c && accept(c) ? c : undefined;
      },
      10_000,
      what,
    );
  const put = (id: string, body: object, user = owner) =>
    t.http().put(`${API}/contacts/${id}`).set(user.auth).send(body);
  const inbound = (body: object) =>
    t.http().post(`${SANDBOX}/inbound`).set(owner.auth).send(body).expect(202);
  const pushContact = (body: object) =>
    t.http().post(`${SANDBOX}/contacts`).set(owner.auth).send(body).expect(202);
  const createCustomer = async (body: object, user = owner) =>
    (await t.http().post('/api/v1/customers').set(user.auth).send(body).expect(201)).body;
  const patchCustomer = (id: string, body: object) =>
    t.http().patch(`/api/v1/customers/${id}`).set(owner.auth).send(body).expect(200);
  /** Contact events as the SessionRegistry publishes them (awaited: the listener is promisified). */
  const emitContacts = (contacts: WaContactsUpsertedEvent['contacts']) =>
    t.app.get(EventEmitter2).emitAsync(WA_EVENTS.contactsUpserted, {
      sessionId,
      organizationId: owner.user.organizationId,
      sessionName: 'main',
      contacts,
    });

  beforeAll(async () => {
    t = await createTestApp();
    owner = await registerUser(t);
    other = await registerUser(t, { organizationName: 'Other Org' });
    await connectedSession(t, owner, 'main');
    sessionId = `${owner.user.organizationId}_main`;
  });
  afterEach(async () => {
    const db = t.app.get<Connection>(getConnectionToken());
    await Promise.all([
      db.collection('contacts').deleteMany({}),
      db.collection('customers').deleteMany({}),
      db.collection('contact_lid_mappings').deleteMany({}),
      db.collection('customer_link_follows').deleteMany({}),
    ]);
  });
  afterAll(() => t?.close());

  it('creates contacts from inbound and outgoing messages, counting them', async () => {
    await inbound({ from: '+201112223334', pushName: 'Ali', text: 'Hi' });
    await inbound({ from: '+201112223334', pushName: 'Ali', text: 'Is my order ready?' });
    const ali = await waitForContact('201112223334', (c) => c.messageCount === 2);
    expect(ali).toMatchObject({
      jid: '201112223334@s.whatsapp.net',
      sessionName: 'main',
      pushName: 'Ali',
      displayName: 'Ali',
      name: null,
      isGroup: false,
      tags: [],
      customerId: null,
      lastMessageAt: expect.any(String),
      firstSeenAt: expect.any(String),
    });

    await t
      .http()
      .post(`${API}/messages/send`)
      .set(owner.auth)
      .send({ sessionName: 'main', to: '+201115556667', text: 'Welcome!' })
      .expect(202);
    const outgoing = await waitForContact('201115556667', (c) => c.messageCount === 1);
    expect(outgoing).toMatchObject({ pushName: null, displayName: '+201115556667' });
  });

  it('concurrent messages from a new number make exactly one contact with every message counted', async () => {
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        inbound({ from: '+201119990000', pushName: 'Burst', text: `m${i}` }),
      ),
    );
    const c = await waitForContact(
      '201119990000',
      (x) => x.messageCount === 10,
      '10 messages counted',
    );
    expect(c.pushName).toBe('Burst');
    expect((await list()).total).toBe(1);
  });

  it('declares the unique identity index and the lookup/search indexes', async () => {
    const indexes = await t.app
      .get<Connection>(getConnectionToken())
      .collection('contacts')
      .indexes();
    const unique = indexes.find((i) => i.unique);
    expect(unique?.key).toEqual({ organizationId: 1, sessionId: 1, jid: 1 });
    const keys = indexes.map((i) => Object.keys(i.key).join(','));
    for (const k of [
      'organizationId,sessionId,lid',
      'organizationId,phone',
      'organizationId,tags',
      'organizationId,customerId',
      'organizationId,searchPushName',
      'organizationId,searchPhone',
    ]) {
      expect(keys).toContain(k);
    }
  });

  it('lists a group and its writing participant separately (isGroup filter)', async () => {
    await inbound({
      from: '+201117778889',
      pushName: 'Sara',
      chatJid: '120363021234567890@g.us',
      text: 'hello team',
    });
    const group = await waitFor(
      async () => (await list({ isGroup: true })).items[0],
      10_000,
      'group contact',
    );
    expect(group).toMatchObject({
      jid: '120363021234567890@g.us',
      isGroup: true,
      messageCount: 1,
      phone: null,
    });
    const sara = await waitForContact('201117778889');
    expect(sara).toMatchObject({ pushName: 'Sara', isGroup: false, messageCount: 0 });
    expect((await list({ isGroup: false })).items.every((c) => !c.isGroup)).toBe(true);
  });

  it("takes a group's subject as its name, and follows a rename", async () => {
    const chatJid = '120363021234567891@g.us';
    const nameGroup = (subject: string) =>
      t.http().post(`${SANDBOX}/groups`).set(owner.auth).send({ chatJid, subject }).expect(202);
    const named = (subject: string) =>
      waitFor(
        async () => (await list({ isGroup: true })).items.find((c) => c.name === subject),
        10_000,
        `group named ${subject}`,
      );
    await nameGroup('Suppliers');
    expect(await named('Suppliers')).toMatchObject({
      jid: chatJid,
      isGroup: true,
      addressBookName: 'Suppliers',
      displayName: 'Suppliers',
    });
    await nameGroup('Suppliers (EU)');
    await named('Suppliers (EU)');
    // One contact for the group (the emulator also re-announces the account's other groups).
    const groups = (await list({ isGroup: true })).items;
    expect(groups.filter((c) => c.jid === chatJid)).toHaveLength(1);

    const refused = await t
      .http()
      .post(`${SANDBOX}/groups`)
      .set(owner.auth)
      .send({ chatJid: '201117778889@s.whatsapp.net', subject: '' })
      .expect(400);
    expect(Object.keys(refused.body.details).sort()).toEqual(['chatJid', 'subject']);
  });

  it('sandbox contact events update pushName and the address-book name without touching user fields', async () => {
    await pushContact({ phone: '+201112223334', pushName: 'Ali', name: 'Ali Supplier' });
    const first = await waitForContact('201112223334');
    expect(first).toMatchObject({
      pushName: 'Ali',
      addressBookName: 'Ali Supplier',
      name: 'Ali Supplier',
      customName: null,
      messageCount: 0,
    });

    const customer = await createCustomer({ name: 'Someone else' });
    await put(first.id, {
      name: 'Ali (VIP)',
      tags: ['VIP'],
      notes: 'Pays on time',
      customerId: customer.id,
    }).expect(200);

    await pushContact({ phone: '+201112223334', pushName: 'Ali Hassan', name: 'Ali S.' });
    const after = await waitForContact(
      '201112223334',
      (c) => c.pushName === 'Ali Hassan',
      'pushName update',
    );
    expect(after).toMatchObject({
      id: first.id,
      addressBookName: 'Ali S.',
      customName: 'Ali (VIP)',
      name: 'Ali (VIP)',
      displayName: 'Ali (VIP)',
      tags: ['vip'],
      notes: 'Pays on time',
      customerId: customer.id,
      customerLinkSource: 'manual',
    });
  });

  it('syncs engine contact events (names, business, groups) idempotently', async () => {
    const batch = [
      {
        jid: '201001112222:3@s.whatsapp.net',
        name: 'Hana Shop',
        verifiedName: 'Hana LLC',
        isBusiness: true,
        imgUrl: 'https://pps.whatsapp.net/hana.jpg',
      },
      { jid: '120363099999999999@g.us', name: 'Suppliers' },
      { jid: 'status@broadcast' },
    ];
    await emitContacts(batch);
    await emitContacts(batch);
    const all = await list();
    expect(all.total).toBe(2);
    expect(all.items.find((c) => c.phone === '201001112222')).toMatchObject({
      jid: '201001112222@s.whatsapp.net',
      addressBookName: 'Hana Shop',
      verifiedName: 'Hana LLC',
      isBusiness: true,
      profilePictureUrl: 'https://pps.whatsapp.net/hana.jpg',
      messageCount: 0,
    });
    expect(all.items.find((c) => c.isGroup)).toMatchObject({
      addressBookName: 'Suppliers',
      displayName: 'Suppliers',
    });
  });

  it('merges the LID contact into the phone contact when WhatsApp reveals the mapping', async () => {
    await inbound({ from: '987654321012345@lid', pushName: 'Lina', text: 'hi from a lid' });
    // The engine may announce the contact (its pushName) before the message's effects count it.
    const lidOnly = await waitFor(
      async () => {
        const [contact] = (await list({ search: 'lina' })).items;
        return contact?.messageCount === 1 ? contact : undefined;
      },
      10_000,
      'LID contact',
    );
    expect(lidOnly).toMatchObject({
      jid: '987654321012345@lid',
      lid: '987654321012345@lid',
      phone: null,
      messageCount: 1,
    });
    await put(lidOnly.id, { tags: ['lead'], notes: 'Met at the fair' }).expect(200);

    await inbound({ from: '+201223334445', text: 'same person, by phone' });
    await waitForContact('201223334445', (c) => c.messageCount === 1);
    expect((await list()).total).toBe(2);

    await t
      .http()
      .post(`${SANDBOX}/lid-mapping`)
      .set(owner.auth)
      .send({ phone: '+201223334445', lid: '987654321012345@lid' })
      .expect(202);
    const merged = await waitFor(
      async () => {
        const page = await list();
        return page.total === 1 && page.items[0].lid ? page.items[0] : undefined;
      },
      10_000,
      'merge',
    );
    expect(merged).toMatchObject({
      jid: '201223334445@s.whatsapp.net',
      lid: '987654321012345@lid',
      phone: '201223334445',
      pushName: 'Lina',
      messageCount: 2,
      tags: ['lead'],
      notes: 'Met at the fair',
    });
    await t.http().get(`${API}/contacts/${lidOnly.id}`).set(owner.auth).expect(404);

    // Later messages from the LID land on the merged contact.
    await inbound({ from: '987654321012345@lid', text: 'again' });
    const after = await waitForContact(
      '201223334445',
      (c) => c.messageCount === 3,
      'third message',
    );
    expect(after.id).toBe(merged.id);
    expect((await list()).total).toBe(1);
  });

  it("a LID mapping sent right after the LID's first message reaches the contact that message creates", async () => {
    // The message's contact is written by the batched ingest, after the mapping arrived.
    const lid = '444444444444444@lid';
    const customer = await createCustomer({ name: 'Quick', phone: '+201112229999' });
    await inbound({ from: lid, pushName: 'Quick', text: 'first, by lid' });
    await t
      .http()
      .post(`${SANDBOX}/lid-mapping`)
      .set(owner.auth)
      .send({ phone: '+201112229999', lid })
      .expect(202);
    const contact = await waitForContact(
      '201112229999',
      (c) => c.lid === lid && c.messageCount === 1 && !!c.customerId,
      'the LID contact with its phone, linked to its customer',
    );
    expect(contact).toMatchObject({
      jid: '201112229999@s.whatsapp.net',
      pushName: 'Quick',
      customerId: customer.id,
      customerLinkSource: 'auto',
    });
    expect((await list()).total).toBe(1);

    // The phone writes next: the same contact, no duplicate.
    await inbound({ from: '+201112229999', text: 'now by phone' });
    const after = await waitForContact('201112229999', (c) => c.messageCount === 2, 'by phone');
    expect(after.id).toBe(contact.id);
    expect((await list()).total).toBe(1);
  });

  it('a LID mapping that arrives before any contact is kept for the contacts created later', async () => {
    await t
      .http()
      .post(`${SANDBOX}/lid-mapping`)
      .set(owner.auth)
      .send({ phone: '+201112228888', lid: '444444444444448@lid' })
      .expect(202);
    await t
      .http()
      .post(`${SANDBOX}/lid-mapping`)
      .set(owner.auth)
      .send({ phone: '+201112227777', lid: '444444444444447@lid' })
      .expect(202);
    // Known first by phone: the contact gets its LID.
    await inbound({ from: '+201112228888', text: 'by phone' });
    const byPhoneFirst = await waitForContact(
      '201112228888',
      (c) => c.lid === '444444444444448@lid',
      'the LID on the phone contact',
    );
    // Known first by LID: the contact is keyed by the phone.
    await inbound({ from: '444444444444447@lid', pushName: 'Early', text: 'by lid' });
    const byLidFirst = await waitForContact(
      '201112227777',
      (c) => c.lid === '444444444444447@lid' && c.messageCount === 1,
      'the phone of the LID contact',
    );
    expect(byLidFirst.jid).toBe('201112227777@s.whatsapp.net');
    await inbound({ from: '444444444444448@lid', text: 'now by lid' });
    await waitForContact('201112228888', (c) => c.messageCount === 2, 'the message by LID');
    expect((await list()).items.map((c) => c.id).sort()).toEqual(
      [byPhoneFirst.id, byLidFirst.id].sort(),
    );
  });

  it('a merge keeps all tags and notes of both contacts, even past the limits, and the result can be written back', async () => {
    const tagsOf = (prefix: string) => Array.from({ length: 20 }, (_, i) => `${prefix}${i}`);
    await inbound({ from: '555000222333444@lid', pushName: 'Over', text: 'hi' });
    const lidOnly = await waitFor(
      async () => (await list({ search: 'over' })).items[0],
      10_000,
      'LID contact',
    );
    await put(lidOnly.id, { tags: tagsOf('l'), notes: 'L'.repeat(2000) }).expect(200);
    await inbound({ from: '+201223330000', text: 'by phone' });
    const byPhoneContact = await waitForContact('201223330000');
    await put(byPhoneContact.id, { tags: tagsOf('p'), notes: 'P'.repeat(2000) }).expect(200);
    await t
      .http()
      .post(`${SANDBOX}/lid-mapping`)
      .set(owner.auth)
      .send({ phone: '+201223330000', lid: '555000222333444@lid' })
      .expect(202);
    const merged = await waitForContact('201223330000', (c) => !!c.lid, 'merge');
    expect(merged.tags).toEqual([...tagsOf('p'), ...tagsOf('l')]);
    const notes = merged.notes!;
    expect(notes).toHaveLength(4002);

    // Written back as read, renamed, or trimmed: accepted. Grown: refused.
    await put(merged.id, { name: 'Renamed', tags: merged.tags, notes }).expect(200);
    await put(merged.id, { tags: merged.tags.slice(1), notes: notes.slice(1) }).expect(200);
    const grown = await put(merged.id, {
      tags: [...merged.tags, 'new'],
      notes: `${notes}!`,
    });
    expect(grown.status).toBe(400);
    expect(Object.keys(grown.body.details).sort()).toEqual(['notes', 'tags']);
    const kept = (await t.http().get(`${API}/contacts/${merged.id}`).set(owner.auth)).body;
    expect(kept).toMatchObject({ name: 'Renamed', tags: merged.tags.slice(1) });
    expect(kept.notes).toHaveLength(4001);
  });

  it('PUT sets tags (normalized), notes, name and customerId; null clears; tags are counted', async () => {
    await pushContact({ phone: '+201001230001', pushName: 'A' });
    await pushContact({ phone: '+201001230002', pushName: 'B' });
    const a = await waitForContact('201001230001');
    const b = await waitForContact('201001230002');
    const customer = await createCustomer({ name: 'Acme Buyer' });

    const res = await put(a.id, {
      tags: [' VIP ', 'vip', 'Wholesale'],
      notes: '  Call after 5pm\n',
      name: 'Alpha',
      customerId: customer.id,
    }).expect(200);
    expect(res.body).toMatchObject({
      id: a.id,
      tags: ['vip', 'wholesale'],
      notes: 'Call after 5pm',
      name: 'Alpha',
      customName: 'Alpha',
      customerId: customer.id,
      customerLinkSource: 'manual',
    });
    await put(b.id, { tags: ['vip'], notes: 'Keep me' }).expect(200);
    // Blank notes clear them, like null.
    expect((await put(b.id, { notes: ' \n ' }).expect(200)).body.notes).toBeNull();

    const tags = await t.http().get(`${API}/contacts/tags`).set(owner.auth).expect(200);
    expect(tags.body).toEqual([
      { tag: 'vip', count: 2 },
      { tag: 'wholesale', count: 1 },
    ]);

    const cleared = await put(a.id, { name: null, notes: null, customerId: null, tags: [] }).expect(
      200,
    );
    expect(cleared.body).toMatchObject({
      name: null,
      notes: null,
      customerId: null,
      customerLinkSource: 'manual',
      tags: [],
      displayName: 'A',
    });
    const fetched = await t.http().get(`${API}/contacts/${a.id}`).set(owner.auth).expect(200);
    expect(fetched.body).toEqual(cleared.body);
  });

  it("an edit made from a stale read is refused (409 CONTACT_CHANGED) instead of overwriting a colleague's", async () => {
    await pushContact({ phone: '+201001230003', pushName: 'C' });
    const read = await waitForContact('201001230003');
    expect(read.revision).toBe(0);
    // Two people open the same contact; the first saves a note.
    const first = await put(read.id, {
      tags: ['vip'],
      notes: 'Call after 5pm',
      expectedRevision: read.revision,
    }).expect(200);
    expect(first.body).toMatchObject({ notes: 'Call after 5pm', revision: 1 });
    // The second saves what they read plus a tag: it would drop the note, so it is refused.
    const stale = await put(read.id, {
      tags: ['vip', 'wholesale'],
      notes: null,
      expectedRevision: read.revision,
    }).expect(409);
    expect(stale.body).toMatchObject({ code: 'CONTACT_CHANGED', details: { revision: 1 } });
    const kept = await t.http().get(`${API}/contacts/${read.id}`).set(owner.auth).expect(200);
    expect(kept.body).toMatchObject({ tags: ['vip'], notes: 'Call after 5pm', revision: 1 });
    // Re-read, then saved: accepted. Without expectedRevision an edit applies as before.
    await put(read.id, { tags: ['vip', 'wholesale'], expectedRevision: 1 }).expect(200);
    expect((await put(read.id, { name: 'Cee' }).expect(200)).body.revision).toBe(3);
    // An automatic customer link changes the contact too.
    await createCustomer({ name: 'Cee Ltd', phone: '+201001230003' });
    await put(read.id, { notes: 'x', expectedRevision: 3 }).expect(409);
    // A malformed or unknown contact is still a 404, whatever the revision.
    await put('000000000000000000000000', { notes: 'x', expectedRevision: 0 }).expect(404);
    await put(read.id, { expectedRevision: -1 }).expect(400);
    // A contact stored before revisions were counted has none: it is at 0.
    await t.app
      .get<Connection>(getConnectionToken())
      .collection('contacts')
      .updateOne({ phone: '201001230003' }, { $unset: { revision: '' } });
    const legacy = await t.http().get(`${API}/contacts/${read.id}`).set(owner.auth).expect(200);
    expect(legacy.body.revision).toBe(0);
    expect(
      (await put(read.id, { notes: 'y', expectedRevision: 0 }).expect(200)).body.revision,
    ).toBe(1);
  });

  it('auto-links a contact to the customer with the same phone: customer first', async () => {
    const customer = await createCustomer({ name: 'Mona', phone: '00 20 111 000 2222' });
    await inbound({ from: '+201110002222', text: 'hello' });
    const contact = await waitForContact('201110002222', (c) => !!c.customerId, 'auto-link');
    expect(contact).toMatchObject({ customerId: customer.id, customerLinkSource: 'auto' });
  });

  it("contacts follow a customer's phone change and deletion: to the oldest other customer with their phone, or none", async () => {
    await pushContact({ phone: '+201110003331', name: 'Ann' });
    await pushContact({ phone: '+201110003332', name: 'Bob' });
    const ann = await waitForContact('201110003331');
    const bob = await waitForContact('201110003332');
    const linkOf = async (id: string) => {
      const c = (await t.http().get(`${API}/contacts/${id}`).set(owner.auth).expect(200)).body;
      return { customerId: c.customerId, source: c.customerLinkSource };
    };
    const older = await createCustomer({ name: 'Ann Co', phone: '+201110003331' });
    const younger = await createCustomer({ name: 'Ann Branch', phone: '+201110003331' });
    expect(await linkOf(ann.id)).toEqual({ customerId: older.id, source: 'auto' });
    expect(await linkOf(bob.id)).toEqual({ customerId: null, source: null });

    // The older customer takes Bob's phone: Ann goes to the other customer with hers.
    await patchCustomer(older.id, { phone: '+201110003332' });
    expect(await linkOf(ann.id)).toEqual({ customerId: younger.id, source: 'auto' });
    expect(await linkOf(bob.id)).toEqual({ customerId: older.id, source: 'auto' });

    // Linked by hand to the younger one, which is then deleted: Bob falls back on his phone's.
    await put(bob.id, { customerId: younger.id }).expect(200);
    await t.http().delete(`/api/v1/customers/${younger.id}`).set(owner.auth).expect(204);
    expect(await linkOf(ann.id)).toEqual({ customerId: null, source: null });
    expect(await linkOf(bob.id)).toEqual({ customerId: older.id, source: 'auto' });

    // A phone removed: its automatic links go; a link set by hand stays.
    await put(ann.id, { customerId: older.id }).expect(200);
    await patchCustomer(older.id, { phone: null });
    expect(await linkOf(bob.id)).toEqual({ customerId: null, source: null });
    expect(await linkOf(ann.id)).toEqual({ customerId: older.id, source: 'manual' });
  });

  it('a customer change whose link follow failed still answers, and the recovery puts the links right', async () => {
    await pushContact({ phone: '+201110003361', name: 'Hala' });
    await pushContact({ phone: '+201110003362', name: 'Iman' });
    const hala = await waitForContact('201110003361');
    const iman = await waitForContact('201110003362');
    const linkOf = async (id: string) =>
      (await t.http().get(`${API}/contacts/${id}`).set(owner.auth).expect(200)).body.customerId;
    const halaCo = await createCustomer({ name: 'Hala Co', phone: '+201110003361' });
    const imanCo = await createCustomer({ name: 'Iman Co', phone: '+201110003362' });
    expect(await linkOf(hala.id)).toBe(halaCo.id);
    expect(await linkOf(iman.id)).toBe(imanCo.id);

    // The database drops the connection in the middle of each follow (the change itself landed).
    const unlink = vi
      .spyOn(t.app.get(ContactsRepository), 'unlinkCustomer')
      .mockRejectedValue(new MongoNetworkError('connection reset'));
    try {
      await patchCustomer(halaCo.id, { phone: '+201110003363' });
      await t.http().delete(`/api/v1/customers/${imanCo.id}`).set(owner.auth).expect(204);
    } finally {
      unlink.mockRestore();
    }
    expect(await linkOf(hala.id)).toBe(halaCo.id);
    expect(await linkOf(iman.id)).toBe(imanCo.id);

    // The recovery (at boot, then every 30 s) takes what is left once its grace period is over.
    const db = t.app.get<Connection>(getConnectionToken());
    const notes = db.collection('customer_link_follows');
    expect(await notes.countDocuments()).toBe(2);
    await notes.updateMany({}, { $set: { createdAt: new Date(Date.now() - 10 * 60_000) } });
    await t.app.get(CustomerLinksRecovery).recover();
    expect(await linkOf(hala.id)).toBeNull();
    expect(await linkOf(iman.id)).toBeNull();
    expect(await notes.countDocuments()).toBe(0);

    // A follow that went through leaves nothing to recover.
    await patchCustomer(halaCo.id, { phone: '+201110003361' });
    expect(await linkOf(hala.id)).toBe(halaCo.id);
    expect(await notes.countDocuments()).toBe(0);
  });

  it('a customer created while its links could not follow gets its contacts from the recovery', async () => {
    await pushContact({ phone: '+201110003371', name: 'Jana' });
    const jana = await waitForContact('201110003371');
    const link = vi
      .spyOn(t.app.get(ContactsRepository), 'autoLinkByPhone')
      .mockRejectedValue(new MongoNetworkError('connection reset'));
    let customer;
    try {
      customer = await createCustomer({ name: 'Jana Co', phone: '+201110003371' });
    } finally {
      link.mockRestore();
    }
    const linkOf = async () =>
      (await t.http().get(`${API}/contacts/${jana.id}`).set(owner.auth).expect(200)).body
        .customerId;
    expect(await linkOf()).toBeNull();

    const notes = t.app.get<Connection>(getConnectionToken()).collection('customer_link_follows');
    await notes.updateMany({}, { $set: { createdAt: new Date(Date.now() - 10 * 60_000) } });
    await t.app.get(CustomerLinksRecovery).recover();
    expect(await linkOf()).toBe(customer.id);
    expect(await notes.countDocuments()).toBe(0);
  });

  it("a follow replayed while 'crm' is off links nothing (as the live path), and still unlinks a deleted customer's contacts", async () => {
    await pushContact({ phone: '+201110003395', name: 'Omar' });
    await pushContact({ phone: '+201110003396', name: 'Rana' });
    const omar = await waitForContact('201110003395');
    const rana = await waitForContact('201110003396');
    const ranaCo = await createCustomer({ name: 'Rana Co', phone: '+201110003396' });
    const contacts = t.app.get(ContactsRepository);
    const link = vi
      .spyOn(contacts, 'autoLinkByPhone')
      .mockRejectedValue(new MongoNetworkError('connection reset'));
    const unlink = vi
      .spyOn(contacts, 'unlinkCustomer')
      .mockRejectedValue(new MongoNetworkError('connection reset'));
    let omarCo;
    try {
      omarCo = await createCustomer({ name: 'Omar Co', phone: '+201110003395' });
      await t.http().delete(`/api/v1/customers/${ranaCo.id}`).set(owner.auth).expect(204);
    } finally {
      link.mockRestore();
      unlink.mockRestore();
    }
    const linkOf = async (id: string) =>
      (await t.http().get(`${API}/contacts/${id}`).set(owner.auth).expect(200)).body.customerId;
    expect(await linkOf(omar.id)).toBeNull();
    expect(await linkOf(rana.id)).toBe(ranaCo.id);

    const setModules = (modules: string[]) =>
      t
        .http()
        .put('/api/v1/organizations/me/modules')
        .set(owner.auth)
        .send({ modules })
        .expect(200);
    const notes = t.app.get<Connection>(getConnectionToken()).collection('customer_link_follows');
    await notes.updateMany({}, { $set: { createdAt: new Date(Date.now() - 10 * 60_000) } });
    await setModules(['whatsapp']);
    try {
      await t.app.get(CustomerLinksRecovery).recover();
      expect(await notes.countDocuments()).toBe(0);
      expect(await linkOf(omar.id)).toBeNull();
      expect(await linkOf(rana.id)).toBeNull();
    } finally {
      await setModules(['whatsapp', 'crm']);
    }
    expect(await linkOf(omar.id)).toBe(omarCo.id);
  });

  it('a follow whose announcement failed after the links moved gets each contact.updated from the recovery, once', async () => {
    await pushContact({ phone: '+201110003391', name: 'Lina' });
    await pushContact({ phone: '+201110003392', name: 'Maha' });
    const lina = await waitForContact('201110003391');
    const maha = await waitForContact('201110003392');
    await pushContact({ phone: '+201110003394', name: 'Nour' });
    const nour = await waitForContact('201110003394');
    const linaCo = await createCustomer({ name: 'Lina Co', phone: '+201110003391' });
    const mahaCo = await createCustomer({ name: 'Maha Co', phone: '+201110003392' });
    await put(nour.id, { customerId: mahaCo.id }).expect(200);
    const db = t.app.get<Connection>(getConnectionToken());
    const unlinkedEvents = (id: string) =>
      db.collection('events').countDocuments({
        type: 'contact.updated',
        'data.id': id,
        'data.customerId': null,
        'data.revision': { $gte: 2 }, // after the automatic link (revision 1)
      });

    // Lina's link moved, then reading it back for the announcement failed; Maha's and Nour's
    // moved, and the event log refused the first of their two announcements.
    const contacts = t.app.get(ContactsRepository);
    const read = vi
      .spyOn(contacts, 'findByIds')
      .mockRejectedValueOnce(new MongoNetworkError('connection reset'));
    try {
      await patchCustomer(linaCo.id, { phone: '+201110003393' });
    } finally {
      read.mockRestore();
    }
    const outbox = t.app.get(EventOutboxService);
    const append = outbox.append.bind(outbox);
    let refused = 0;
    const store = vi.spyOn(outbox, 'append').mockImplementation(async (event) => {
      if (event.type !== 'contact.updated' || refused) return append(event);
      refused++;
      throw new MongoNetworkError('connection reset');
    });
    try {
      await t.http().delete(`/api/v1/customers/${mahaCo.id}`).set(owner.auth).expect(204);
    } finally {
      store.mockRestore();
    }
    expect(refused).toBe(1);
    const linkOf = async (id: string) =>
      (await t.http().get(`${API}/contacts/${id}`).set(owner.auth).expect(200)).body.customerId;
    expect(await linkOf(lina.id)).toBeNull();
    expect(await linkOf(maha.id)).toBeNull();
    expect(await unlinkedEvents(lina.id)).toBe(0);
    expect((await unlinkedEvents(maha.id)) + (await unlinkedEvents(nour.id))).toBe(1);

    const notes = db.collection('customer_link_follows');
    expect(await notes.countDocuments()).toBe(2);
    await notes.updateMany({}, { $set: { createdAt: new Date(Date.now() - 10 * 60_000) } });
    await t.app.get(CustomerLinksRecovery).recover();
    expect(await notes.countDocuments()).toBe(0);
    expect(await unlinkedEvents(lina.id)).toBe(1);
    expect(await unlinkedEvents(maha.id)).toBe(1);

    expect(await unlinkedEvents(nour.id)).toBe(1);
  });

  it('a link set by hand to a customer deleted just before the link was written does not stay (404)', async () => {
    await pushContact({ phone: '+201110003381', name: 'Kamal' });
    const kamal = await waitForContact('201110003381');
    const doomed = await createCustomer({ name: 'Doomed' });
    // The DELETE, and its follow, land between the PUT's look-up of the customer and its write.
    const contacts = t.app.get(ContactsRepository);
    const write = contacts.updateOwned.bind(contacts);
    const racing = vi.spyOn(contacts, 'updateOwned').mockImplementationOnce(async (...args) => {
      await t.http().delete(`/api/v1/customers/${doomed.id}`).set(owner.auth).expect(204);
      return write(...args);
    });
    try {
      const res = await put(kamal.id, { customerId: doomed.id }).expect(404);
      expect(res.body.code).toBe('CUSTOMER_NOT_FOUND');
    } finally {
      racing.mockRestore();
    }
    const after = (await t.http().get(`${API}/contacts/${kamal.id}`).set(owner.auth).expect(200))
      .body;
    expect(after).toMatchObject({ customerId: null, customerLinkSource: null });
  });

  it('a customer that takes a phone as the oldest customer with it gets its automatic links, as a contact seen later would', async () => {
    await pushContact({ phone: '+201110003341', name: 'Dina' });
    const dina = await waitForContact('201110003341');
    const older = await createCustomer({ name: 'Dina Co' });
    const younger = await createCustomer({ name: 'Dina Shop', phone: '+201110003341' });
    const linkOf = async (id: string) =>
      (await t.http().get(`${API}/contacts/${id}`).set(owner.auth).expect(200)).body.customerId;
    expect(await linkOf(dina.id)).toBe(younger.id);
    await patchCustomer(older.id, { phone: '+201110003341' });
    expect(await linkOf(dina.id)).toBe(older.id);
    // A link set by hand to the younger one stays.
    await put(dina.id, { customerId: younger.id }).expect(200);
    await patchCustomer(older.id, { phone: '+201110003341' });
    expect(await linkOf(dina.id)).toBe(younger.id);
  });

  it('auto-links a contact to the customer with the same phone: contact first', async () => {
    await inbound({ from: '+201110003333', text: 'hello' });
    const contact = await waitForContact('201110003333');
    expect(contact.customerId).toBeNull();
    const otherOrgCustomer = await createCustomer(
      { name: 'Not yours', phone: '+201110003333' },
      other,
    );
    const customer = await createCustomer({ name: 'Omar', phone: '+20 111 000 3333' });
    const linked = (await t.http().get(`${API}/contacts/${contact.id}`).set(owner.auth).expect(200))
      .body;
    expect(linked).toMatchObject({ customerId: customer.id, customerLinkSource: 'auto' });
    expect(linked.customerId).not.toBe(otherOrgCustomer.id);
    expect((await list({ hasCustomer: true })).items.map((c) => c.id)).toEqual([contact.id]);
    // Announced like any change of the contact (the event log feeds SSE and webhooks).
    const events = t.app.get<Connection>(getConnectionToken()).collection('events');
    await waitFor(
      () =>
        events.findOne({
          organizationId: owner.organization.id,
          type: 'contact.updated',
          'data.id': contact.id,
          'data.customerId': customer.id,
        }),
      5_000,
      'contact.updated with the link',
    );
  });

  it('searches by name, pushName and phone digits (indexed, regex-safe) and filters by tag with pagination', async () => {
    await emitContacts([
      { jid: '201005550001@s.whatsapp.net', name: 'Mona Ali' },
      { jid: '201005550002@s.whatsapp.net', notify: 'Monir' },
      { jid: '201005550003@s.whatsapp.net', name: 'Karim Mostafa' },
      { jid: '441234567890@s.whatsapp.net', name: 'John (UK)' },
      { jid: '201005550005@s.whatsapp.net', notify: 'Zed' },
    ]);
    const names = (page: { items: Contact[] }) => page.items.map((c) => c.displayName).sort();
    expect(names(await list({ search: 'mon' }))).toEqual(['Mona Ali', 'Monir']);
    expect(names(await list({ search: 'MOST' }))).toEqual(['Karim Mostafa']);
    expect(names(await list({ search: 'ali' }))).toEqual(['Mona Ali']);
    expect((await list({ search: '+20 100 555' })).total).toBe(4);
    expect(names(await list({ search: '44' }))).toEqual(['John (UK)']);
    // From four digits on, anywhere in the number (its last four, say); fewer: its start only.
    expect(names(await list({ search: '0003' }))).toEqual(['Karim Mostafa']);
    expect(names(await list({ search: '456-7890' }))).toEqual(['John (UK)']);
    expect((await list({ search: '5550' })).total).toBe(4);
    expect((await list({ search: '890' })).total).toBe(0);
    expect((await list({ search: '.*' })).total).toBe(0);
    expect(names(await list({ search: 'john (' }))).toEqual(['John (UK)']);

    const all = await list();
    for (const c of all.items.filter((x) => x.phone?.startsWith('2010055500')))
      await put(c.id, { tags: ['lead'] }).expect(200);
    await put(all.items.find((c) => c.phone === '201005550001')!.id, { name: 'Zara' }).expect(200);
    expect(names(await list({ search: 'zar' }))).toEqual(['Zara']);

    const p1 = await list({ tag: 'LEAD', page: 1, limit: 3 });
    const p2 = await list({ tag: 'lead', page: 2, limit: 3 });
    expect(p1).toMatchObject({ total: 4, page: 1, limit: 3 });
    expect(p1.items).toHaveLength(3);
    expect(p2.items).toHaveLength(1);
    expect(new Set([...p1.items, ...p2.items].map((c) => c.id)).size).toBe(4);
    expect((await list({ tag: 'lead', search: 'zed' })).total).toBe(1);
    // The filter is normalised as stored tags are (NFKC, spaces collapsed, lower case).
    const zed = all.items.find((c) => c.phone === '201005550005')!;
    await put(zed.id, { tags: ['Big  Spender', 'ＶＩＰ'] }).expect(200);
    expect((await list({ tag: ' big   SPENDER ' })).items.map((c) => c.id)).toEqual([zed.id]);
    expect((await list({ tag: 'ｖｉｐ' })).items.map((c) => c.id)).toEqual([zed.id]);
    // A session name the organization does not know is a 404, not an empty list.
    for (const path of ['contacts', 'contacts/tags']) {
      const unknown = await t
        .http()
        .get(`${API}/${path}`)
        .query({ sessionName: 'other-session' })
        .set(owner.auth)
        .expect(404);
      expect(unknown.body.code).toBe('SESSION_NOT_FOUND');
    }
    expect((await list({ sessionName: 'main', search: 'nobody' })).total).toBe(0);
  });

  it('finds later words after a hyphen or apostrophe, also in contacts and customers stored under the old word rule (backfilled at boot)', async () => {
    await emitContacts([{ jid: '201005550011@s.whatsapp.net', name: "Book 12 O'Brien-Smith" }]);
    const customer = await createCustomer({ name: 'Acme-Widgets Ltd', phone: '+201005550099' });
    const customerSearch = async (search: string) =>
      (await t.http().get('/api/v1/customers').query({ search }).set(owner.auth).expect(200)).body
        .items as Array<{ id: string }>;
    expect((await list({ search: 'smith' })).total).toBe(1);
    expect((await list({ search: 'brien' })).total).toBe(1);
    expect((await customerSearch('widg')).map((c) => c.id)).toEqual([customer.id]);

    // Keys as the old rule stored them (words after spaces only), and no record of the backfill.
    const db = t.app.get<Connection>(getConnectionToken());
    await db.collection('contacts').updateMany(
      { addressBookName: "Book 12 O'Brien-Smith" },
      {
        $set: {
          searchAddressBookName: ["book 12 o'brien-smith", "12 o'brien-smith", "o'brien-smith"],
          searchPhone: [], // written before phone digits were searchable anywhere
        },
      },
    );
    await db
      .collection('customers')
      .updateMany(
        { name: 'Acme-Widgets Ltd' },
        { $set: { searchName: ['acme-widgets ltd', 'ltd'] } },
      );
    await db.collection(MIGRATIONS_COLLECTION).deleteMany({});
    expect((await list({ search: 'smith' })).total).toBe(0);
    expect((await list({ search: '0011' })).total).toBe(0);
    expect(await customerSearch('widg')).toEqual([]);

    const contactsBackfill = t.app.get<SearchKeysBackfill>(
      `SearchKeysBackfill:${ContactModel.name}`,
    );
    const customersBackfill = t.app.get<SearchKeysBackfill>(`SearchKeysBackfill:${Customer.name}`);
    expect(await contactsBackfill.run()).toBe(2); // the name's keys and the phone's
    expect(await customersBackfill.run()).toBe(1);
    expect((await list({ search: 'smith' })).total).toBe(1);
    expect((await list({ search: '0011' })).total).toBe(1);
    expect((await customerSearch('widg')).map((c) => c.id)).toEqual([customer.id]);
    // Done once per version: a second run (another instance, a restart) reads the marker only.
    expect(await db.collection(MIGRATIONS_COLLECTION).countDocuments()).toBe(2);
    expect(await contactsBackfill.run()).toBe(0);
  });

  it('keeps listing a deleted session’s contacts by its name', async () => {
    await connectedSession(t, owner, 'old');
    await t
      .http()
      .post('/api/v1/whatsapp/sandbox/sessions/old/contacts')
      .set(owner.auth)
      .send({ phone: '+201001230777', pushName: 'Old friend' })
      .expect(202);
    const names = async () => (await list({ sessionName: 'old' })).items.map((c) => c.displayName);
    await waitFor(async () => (await names()).includes('Old friend'), 15_000, 'contact');
    await t.http().delete(`${API}/sessions/old`).set(owner.auth).expect(204);
    expect(await names()).toContain('Old friend');
    await t
      .http()
      .get(`${API}/contacts/tags`)
      .query({ sessionName: 'old' })
      .set(owner.auth)
      .expect(200);
  });

  it('rejects a malformed customerId (400) and an unknown or foreign customer (404)', async () => {
    await pushContact({ phone: '+201001230009', pushName: 'C' });
    const c = await waitForContact('201001230009');
    const bad = await put(c.id, { customerId: 'xyz' }).expect(400);
    expect(bad.body).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { customerId: expect.any(Array) },
    });
    const foreign = await createCustomer({ name: 'Theirs' }, other);
    expect((await put(c.id, { customerId: foreign.id }).expect(404)).body.code).toBe(
      'CUSTOMER_NOT_FOUND',
    );
    expect(
      (await put(c.id, { customerId: '665f1c2b1e6a3e4f7e9d0e0d' }).expect(404)).body.code,
    ).toBe('CUSTOMER_NOT_FOUND');
    expect(
      (await t.http().get(`${API}/contacts/${c.id}`).set(owner.auth).expect(200)).body.customerId,
    ).toBeNull();
  });

  it("refuses to link a customer while the 'crm' module is off (403 like the customer routes), unlinking stays allowed", async () => {
    await pushContact({ phone: '+201001230011', pushName: 'E' });
    const c = await waitForContact('201001230011');
    const customer = await createCustomer({ name: 'Linked Before' });
    await put(c.id, { customerId: customer.id }).expect(200);
    const setModules = (modules: string[]) =>
      t
        .http()
        .put('/api/v1/organizations/me/modules')
        .set(owner.auth)
        .send({ modules })
        .expect(200);
    const { modules } = (await t.http().get('/api/v1/organizations/me').set(owner.auth).expect(200))
      .body as { modules: string[] };
    expect(modules).toContain('crm');
    await setModules(['whatsapp']);
    try {
      const guarded = await t
        .http()
        .get(`/api/v1/customers/${customer.id}`)
        .set(owner.auth)
        .expect(403);
      const { requestId: _guardId, ...guardError } = guarded.body;
      expect(guardError).toEqual({
        statusCode: 403,
        error: 'Forbidden',
        code: 'MODULE_DISABLED',
        message: "The 'crm' module is not enabled for this organization",
      });

      const refused = await put(c.id, { customerId: customer.id, notes: 'not written' }).expect(
        403,
      );
      const { requestId, ...linkError } = refused.body;
      expect(linkError).toEqual(guardError);
      expect(requestId).toEqual(expect.any(String));
      // An unknown id answers the same: whether a customer exists does not leak.
      const unknown = await put(c.id, { customerId: '665f1c2b1e6a3e4f7e9d0e0d' }).expect(403);
      expect(unknown.body.code).toBe('MODULE_DISABLED');
      const kept = await t.http().get(`${API}/contacts/${c.id}`).set(owner.auth).expect(200);
      expect(kept.body).toMatchObject({ customerId: customer.id, notes: null });

      const unlinked = await put(c.id, { customerId: null, notes: 'unlinked' }).expect(200);
      expect(unlinked.body).toMatchObject({ customerId: null, notes: 'unlinked' });
      await put(c.id, { notes: 'other fields still editable' }).expect(200);
    } finally {
      await setModules(modules);
    }
    await put(c.id, { customerId: customer.id }).expect(200);
  });

  it("links no contact to a customer while 'crm' is off, and links them when it comes back on", async () => {
    const setModules = (modules: string[]) =>
      t
        .http()
        .put('/api/v1/organizations/me/modules')
        .set(owner.auth)
        .send({ modules })
        .expect(200);
    const older = await createCustomer({ name: 'Older', phone: '+201001230021' });
    await createCustomer({ name: 'Newer, same phone', phone: '+201001230021' });
    const other = await createCustomer({ name: 'Other', phone: '+201001230022' });
    await setModules(['whatsapp']);
    try {
      await pushContact({ phone: '+201001230021', pushName: 'G' });
      await inbound({ from: '+201001230022', text: 'hi' });
      await pushContact({ phone: '+201001230023', pushName: 'No customer' });
      const g = await waitForContact('201001230021');
      await waitForContact('201001230022', (c) => c.messageCount === 1);
      await waitForContact('201001230023');
      expect(g.customerId).toBeNull();
      expect((await byPhone('201001230022'))!.customerId).toBeNull();
    } finally {
      await setModules(['whatsapp', 'crm']);
    }
    // Linked by the time the switch answers; a shared phone goes to the oldest customer.
    expect(await byPhone('201001230021')).toMatchObject({
      customerId: older.id,
      customerLinkSource: 'auto',
    });
    expect((await byPhone('201001230022'))!.customerId).toBe(other.id);
    expect((await byPhone('201001230023'))!.customerId).toBeNull();
  });

  it("links the contacts written while 'crm' was off from the recovery when the switch's linking failed", async () => {
    const setModules = (modules: string[]) =>
      t
        .http()
        .put('/api/v1/organizations/me/modules')
        .set(owner.auth)
        .send({ modules })
        .expect(200);
    const customer = await createCustomer({ name: 'Switch', phone: '+201001230031' });
    await setModules(['whatsapp']);
    const link = vi
      .spyOn(t.app.get(ContactsRepository), 'autoLinkByPhone')
      .mockRejectedValue(new MongoNetworkError('connection reset'));
    try {
      await pushContact({ phone: '+201001230031', pushName: 'H' });
      await waitForContact('201001230031');
      await setModules(['whatsapp', 'crm']); // still answers: the switch is stored
    } finally {
      link.mockRestore();
    }
    expect((await byPhone('201001230031'))!.customerId).toBeNull();

    const notes = t.app.get<Connection>(getConnectionToken()).collection('customer_link_follows');
    await notes.updateMany({}, { $set: { createdAt: new Date(Date.now() - 10 * 60_000) } });
    await t.app.get(CustomerLinksRecovery).recover();
    expect(await byPhone('201001230031')).toMatchObject({
      customerId: customer.id,
      customerLinkSource: 'auto',
    });
    expect(await notes.countDocuments()).toBe(0);
  });

  it('refuses a body that is not declared JSON with 415 instead of reading it as empty', async () => {
    await pushContact({ phone: '+201001230012', pushName: 'F' });
    const c = await waitForContact('201001230012');
    const res = await t
      .http()
      .put(`${API}/contacts/${c.id}`)
      .set(owner.auth)
      .set('Content-Type', 'text/plain')
      .set('X-Request-Id', 'trace-text-plain')
      .send('{"notes":"x"}')
      .expect(415);
    expect(res.headers['x-request-id']).toBe('trace-text-plain');
    expect(res.body).toEqual({
      statusCode: 415,
      error: 'Unsupported Media Type',
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: 'Content-Type text/plain is not supported: send the body as application/json',
      details: { contentType: 'text/plain' },
      requestId: 'trace-text-plain',
    });
    const form = await t
      .http()
      .put(`${API}/contacts/${c.id}`)
      .set(owner.auth)
      .type('form')
      .send({ notes: 'x' })
      .expect(415);
    expect(form.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(
      (await t.http().get(`${API}/contacts/${c.id}`).set(owner.auth).expect(200)).body.notes,
    ).toBeNull();

    const typed = await t
      .http()
      .put(`${API}/contacts/${c.id}`)
      .set(owner.auth)
      .set('Content-Type', 'application/merge-patch+json; charset=utf-8')
      .send('{"notes":"as +json"}')
      .expect(200);
    expect(typed.body.notes).toBe('as +json');
  });

  it("answers 404 for another organization's contact and for malformed ids", async () => {
    await pushContact({ phone: '+201001230010', pushName: 'D' });
    const c = await waitForContact('201001230010');
    expect(
      (await t.http().get(`${API}/contacts/${c.id}`).set(other.auth).expect(404)).body.code,
    ).toBe('CONTACT_NOT_FOUND');
    await put(c.id, { notes: 'mine now' }, other).expect(404);
    await t.http().get(`${API}/contacts/not-an-id`).set(owner.auth).expect(404);
    await put('not-an-id', { notes: 'x' }).expect(404);
    expect((await list({}, other)).total).toBe(0);
    expect((await t.http().get(`${API}/contacts/tags`).set(other.auth).expect(200)).body).toEqual(
      [],
    );
  });

  it('validation errors → 400 with per-field details', async () => {
    await pushContact({ phone: '+201001230011', pushName: 'E' });
    const c = await waitForContact('201001230011');
    const res = await put(c.id, {
      tags: [...Array.from({ length: 21 }, (_, i) => `t${i}`)],
      notes: 'x'.repeat(2001),
      name: '',
      color: 'red',
    }).expect(400);
    expect(res.body).toMatchObject({
      statusCode: 400,
      error: 'Bad Request',
      code: 'VALIDATION_FAILED',
      requestId: expect.any(String),
    });
    expect(Object.keys(res.body.details).sort()).toEqual(['color', 'name']);
    // The limits depend on the stored contact (see the merge test), so they are checked next.
    const limits = await put(c.id, {
      tags: [...Array.from({ length: 21 }, (_, i) => `t${i}`)],
      notes: 'x'.repeat(2001),
    }).expect(400);
    expect(limits.body).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: 'Validation failed',
      details: {
        tags: ['tags must contain at most 20 distinct tags'],
        notes: ['notes must be shorter than or equal to 2000 characters'],
      },
    });
    expect(
      (await put(c.id, { tags: ['x'.repeat(33)] }).expect(400)).body.details.tags,
    ).toBeDefined();
    expect((await put(c.id, { tags: [''] }).expect(400)).body.details.tags).toBeDefined();
    const q = await t
      .http()
      .get(`${API}/contacts`)
      .query({ hasCustomer: 'maybe', limit: 500 })
      .set(owner.auth)
      .expect(400);
    expect(Object.keys(q.body.details).sort()).toEqual(['hasCustomer', 'limit']);
  });

  it('a LID revealed for a contact known by phone reaches it (lidMapping event), and its later LID messages land on it', async () => {
    await inbound({ from: '+201223334446', text: 'by phone first' });
    await waitForContact('201223334446', (c) => c.messageCount === 1);
    const mappings: { lid: string; pn: string }[] = [];
    t.app
      .get(EventEmitter2)
      .on(WA_EVENTS.lidMapping, (e: { lid: string; pn: string }) => void mappings.push(e));
    await t
      .http()
      .post(`${SANDBOX}/lid-mapping`)
      .set(owner.auth)
      .send({ phone: '+201223334446', lid: '987654321012346@lid' })
      .expect(202);
    await waitFor(
      async () => mappings.find((m) => m.lid === '987654321012346@lid'),
      10_000,
      'the LID mapping event',
    );
    expect(mappings.find((m) => m.lid === '987654321012346@lid')).toMatchObject({
      pn: '201223334446@s.whatsapp.net',
    });
    await waitForContact(
      '201223334446',
      (c) => c.lid === '987654321012346@lid',
      'the revealed LID',
    );
    // The contact now writes by its LID (sender_pn attached): same contact, one more message.
    await inbound({ from: '987654321012346@lid', text: 'now by lid' });
    const after = await waitForContact(
      '201223334446',
      (c) => c.messageCount === 2,
      'the message by LID',
    );
    expect(after.lid).toBe('987654321012346@lid');
    expect((await list()).total).toBe(1);
  });

  it('POST /contacts/sync re-reads the session contacts (202), 404 for an unknown session, 400 without sessionName', async () => {
    const sync = () => t.http().post(`${API}/contacts/sync`).set(owner.auth);
    await pushContact({ phone: '+201001230012', name: 'Resynced' });
    await waitForContact('201001230012');
    await t.app.get<Connection>(getConnectionToken()).collection('contacts').deleteMany({});
    expect((await sync().send({ sessionName: 'main' }).expect(202)).body).toEqual({
      status: 'started',
    });
    await waitForContact(
      '201001230012',
      (c) => c.addressBookName === 'Resynced',
      'resynced contact',
    );
    // The query form of older clients is still read (a session it names is looked up), alone or
    // agreeing with the body. An unknown session keeps these from starting more resyncs, which
    // would land during later tests.
    for (const request of [
      sync().query({ sessionName: 'nope' }),
      sync().query({ sessionName: 'nope' }).send({ sessionName: 'nope' }),
      sync().send({ sessionName: 'nope' }),
    ])
      expect((await request.expect(404)).body.code).toBe('SESSION_NOT_FOUND');
    await t
      .http()
      .post(`${API}/contacts/sync`)
      .send({ sessionName: 'main' })
      .set(other.auth)
      .expect(404);
    const missing = await sync().expect(400);
    expect(missing.body.details).toEqual({
      sessionName: ['sessionName is required in the body, e.g. {"sessionName": "sales-1"}'],
    });
    const contradicting = await sync()
      .query({ sessionName: 'main' })
      .send({ sessionName: 'other' })
      .expect(400);
    expect(contradicting.body.details.sessionName[0]).toContain('"other" in the body but "main"');
    await sync().send({ sessionName: 'bad name!' }).expect(400);
  });

  it('feeds the contact figures of GET /whatsapp/stats (people only)', async () => {
    const customer = await createCustomer({ name: 'Linked', phone: '+201001230020' });
    await emitContacts([
      { jid: '201001230020@s.whatsapp.net' },
      { jid: '201001230021@s.whatsapp.net' },
      { jid: '120363011111111111@g.us', name: 'G' },
    ]);
    const c = await waitForContact('201001230020', (x) => x.customerId === customer.id);
    expect(c.customerLinkSource).toBe('auto');
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const stats = await t
      .http()
      .get(`${API}/stats`)
      .query({ since, until })
      .set(owner.auth)
      .expect(200);
    expect(stats.body.contacts).toEqual({ total: 2, new: 2, linkedToCustomers: 1 });
  });

  it('needs a token and the whatsapp module', async () => {
    await t.http().get(`${API}/contacts`).expect(401);
    const solo = await registerUser(t, { organizationName: 'CRM only' });
    await t
      .http()
      .put('/api/v1/organizations/me/modules')
      .set(solo.auth)
      .send({ modules: ['crm'] })
      .expect(200);
    expect((await t.http().get(`${API}/contacts`).set(solo.auth).expect(403)).body.code).toBe(
      'MODULE_DISABLED',
    );
  });

  it('documents the routes with operation ids, typed responses and error shapes', async () => {
    const spec = (await t.http().get('/api/docs-json').expect(200)).body;
    const paths = spec.paths;
    expect(paths['/api/v1/whatsapp/contacts'].get.operationId).toBe('contacts_list');
    expect(paths['/api/v1/whatsapp/contacts/tags'].get.operationId).toBe('contacts_listTags');
    expect(paths['/api/v1/whatsapp/contacts/sync'].post.responses['202']).toBeDefined();
    expect(
      paths['/api/v1/whatsapp/contacts/{id}'].put.responses['404'].content['application/json']
        .schema.$ref,
    ).toContain('ErrorResponseDto');
    expect(
      spec.components.schemas.ContactResponseDto.properties.displayName.description,
    ).toBeDefined();
  });
});

describe('contacts across a graceful restart', () => {
  it('stores the contacts WhatsApp reported before a SIGTERM, none cut off by the closing database', async () => {
    let t = await createTestApp();
    try {
      const owner = await registerUser(t);
      await connectedSession(t, owner, 'main');
      // A first link's history sync reports the whole address book at once, as the engine
      // publishes it: the contact sync runs in the background, nobody waits for it.
      const emitter = t.app.get(EventEmitter2);
      const phones = Array.from({ length: 1_000 }, (_, i) => `2010${String(i).padStart(8, '0')}`);
      for (let i = 0; i < phones.length; i += 100)
        void emitter.emitAsync(WA_EVENTS.contactsUpserted, {
          sessionId: `${owner.user.organizationId}_main`,
          organizationId: owner.user.organizationId,
          sessionName: 'main',
          contacts: phones.slice(i, i + 100).map((p) => ({ jid: `${p}@s.whatsapp.net`, name: p })),
        });
      t = await t.restart();
      const page = await t
        .http()
        .get(`${API}/contacts`)
        .query({ limit: 1 })
        .set(owner.auth)
        .expect(200);
      expect(page.body.total).toBe(phones.length);
    } finally {
      await t.close();
    }
  });
});
