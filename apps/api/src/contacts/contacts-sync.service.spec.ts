import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Types } from 'mongoose';
import { CustomersService } from '../customers/customers.service';
import { MessageHistoryService } from '../messaging/message-history.service';
import type { MessageRecord } from '../messaging/message.types';
import { ContactLocks } from './contact-locks';
import type { SyncTarget, SyncUpdate } from './contact-rules';
import { ContactRecord, ContactsRepository, type PushNameFields } from './contacts.repository';
import { ContactsSyncService } from './contacts-sync.service';
import { CustomerLinksService } from './customer-links.service';
import { ContactEventsPublisher } from './contacts.events';
import { LidMappingsRepository } from './lid-mappings.repository';
import { LidMergeService } from './lid-merge.service';
import { OrganizationsService } from '../organizations/organizations.service';

const ORG = 'org1';
const REF = { organizationId: ORG, sessionId: `${ORG}_main`, sessionName: 'main' };
const PHONE = '201001234567';
const PHONE_JID = `${PHONE}@s.whatsapp.net`;
const LID = '555@lid';

/** Just enough of the repository, in memory, with MongoDB's update semantics for the operators used. */
class FakeContactsRepository {
  docs: ContactRecord[] = [];

  private key = (t: SyncTarget, jid: string) => (d: ContactRecord) =>
    d.organizationId === t.organizationId && d.sessionId === t.sessionId && d.jid === jid;

  async upsert(t: SyncTarget, jid: string, u: SyncUpdate) {
    let doc = this.docs.find(this.key(t, jid));
    const inserted = !doc;
    if (!doc) {
      doc = {
        _id: new Types.ObjectId(),
        organizationId: t.organizationId,
        sessionId: t.sessionId,
        jid,
        searchPushName: [],
      } as unknown as ContactRecord;
      Object.assign(doc, u.$setOnInsert);
      this.docs.push(doc);
    }
    const d = doc as unknown as Record<string, any>;
    Object.assign(d, u.$set);
    if (!d.firstSeenAt || u.$min.firstSeenAt < d.firstSeenAt) d.firstSeenAt = u.$min.firstSeenAt;
    if (u.$max && (!d.lastMessageAt || u.$max.lastMessageAt > d.lastMessageAt))
      d.lastMessageAt = u.$max.lastMessageAt;
    if (u.$inc) d.messageCount = (d.messageCount ?? 0) + u.$inc.messageCount;
    return { contact: { ...doc }, inserted };
  }
  async bulkUpsert(
    t: SyncTarget,
    items: Array<{ jid: string; update: SyncUpdate; pushName?: PushNameFields }>,
  ) {
    const outcomes = [];
    const rejected: number[] = [];
    for (const [index, { jid, update, pushName }] of items.entries()) {
      try {
        const { contact, inserted } = await this.upsert(t, jid, update);
        if (pushName && contact.pushName !== pushName.pushName)
          await this.setPushNameIfNewer(contact._id, pushName);
        outcomes.push({ index, jid, insertedId: inserted ? contact._id : undefined });
      } catch {
        rejected.push(index); // unordered bulk write: the others still land
      }
    }
    return { outcomes, retry: [], rejected };
  }
  async namesByJids(t: SyncTarget, jids: string[]) {
    return this.findByJids(t, jids);
  }
  async findByJids(t: SyncTarget, jids: string[]) {
    return jids.flatMap((jid) => this.docs.filter(this.key(t, jid)).map((d) => ({ ...d })));
  }
  async findByJid(t: SyncTarget, jid: string) {
    const doc = this.docs.find(this.key(t, jid));
    return doc ? { ...doc } : null;
  }
  async findByLid(t: SyncTarget, lid: string) {
    const doc = this.docs.find((d) => d.sessionId === t.sessionId && d.lid === lid);
    return doc ? { ...doc } : null;
  }
  async setPushNameIfNewer(
    id: Types.ObjectId,
    f: { pushName: string; searchPushName: string[]; pushNameAt: Date },
  ) {
    const doc = this.byId(id);
    if (doc && (!doc.pushNameAt || doc.pushNameAt <= f.pushNameAt)) Object.assign(doc, f);
  }
  async setIdentity(id: Types.ObjectId, identity: object) {
    return this.patch(id, identity);
  }
  async applyMerge(id: Types.ObjectId, merged: object, revision: number | undefined) {
    const doc = this.byId(id);
    if (!doc || (doc.revision ?? 0) !== (revision ?? 0)) return null;
    return this.patch(id, { ...merged, revision: (doc.revision ?? 0) + 1 });
  }
  async deleteAtRevision(id: Types.ObjectId, revision: number | undefined) {
    const doc = this.byId(id);
    if (!doc || (doc.revision ?? 0) !== (revision ?? 0)) return false;
    await this.deleteById(id);
    return true;
  }
  async setMessageCount(id: Types.ObjectId, messageCount: number) {
    this.patch(id, { messageCount });
  }
  async deleteById(id: Types.ObjectId) {
    this.docs = this.docs.filter((d) => !d._id.equals(id));
  }
  async autoLinkCustomer(id: Types.ObjectId, customerId: string) {
    const doc = this.byId(id);
    if (!doc || doc.customerId || doc.customerLinkSource === 'manual') return false;
    Object.assign(doc, { customerId, customerLinkSource: 'auto' });
    return true;
  }
  async autoLinkByPhone(org: string, phone: string, customerId: string) {
    const linked: ContactRecord[] = [];
    for (const d of this.docs) {
      if (
        d.organizationId === org &&
        d.phone === phone &&
        !d.customerId &&
        d.customerLinkSource !== 'manual'
      ) {
        Object.assign(d, { customerId, customerLinkSource: 'auto' });
        linked.push({ ...d });
      }
    }
    return linked;
  }
  byId(id: Types.ObjectId) {
    return this.docs.find((d) => d._id.equals(id));
  }
  private patch(id: Types.ObjectId, fields: object) {
    const doc = this.byId(id);
    if (!doc) return null;
    Object.assign(doc, fields);
    return { ...doc };
  }
}

/** The recorded LID→phone mappings, in memory. */
class FakeLidMappingsRepository {
  rows: Array<{ sessionId: string; lid: string; phone: string }> = [];

  async record(t: SyncTarget, lid: string, phone: string) {
    const row = this.rows.find((r) => r.sessionId === t.sessionId && r.lid === lid);
    if (row) row.phone = phone;
    else this.rows.push({ sessionId: t.sessionId, lid, phone });
  }
  async phoneOf(t: SyncTarget, lid: string) {
    return this.rows.find((r) => r.sessionId === t.sessionId && r.lid === lid)?.phone;
  }
  async lidsOf(t: SyncTarget, phones: string[]) {
    const rows = this.rows.filter((r) => r.sessionId === t.sessionId && phones.includes(r.phone));
    return new Map(rows.map((r) => [r.phone, r.lid]));
  }
}

function message(overrides: Partial<MessageRecord> = {}): MessageRecord {
  const at = overrides.timestamp ?? new Date('2026-01-02T10:00:00Z');
  return {
    _id: new Types.ObjectId().toHexString(),
    ...REF,
    direction: 'in',
    chatJid: PHONE_JID,
    senderJid: PHONE_JID,
    fromMe: false,
    type: 'text',
    status: 'delivered',
    attempts: 0,
    timestamp: at,
    createdAt: at,
    updatedAt: at,
    ...overrides,
  } as MessageRecord;
}

describe('ContactsSyncService', () => {
  let service: ContactsSyncService;
  let links: CustomerLinksService;
  let repo: FakeContactsRepository;
  let mappings: FakeLidMappingsRepository;
  let customers: { idsByPhones: ReturnType<typeof vi.fn> };
  let announced: ReturnType<typeof vi.fn>;
  let countChatMessages: ReturnType<typeof vi.fn>;
  let crmOn: boolean;

  beforeEach(async () => {
    crmOn = true;
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    repo = new FakeContactsRepository();
    mappings = new FakeLidMappingsRepository();
    customers = { idsByPhones: vi.fn().mockResolvedValue(new Map()) };
    announced = vi.fn().mockResolvedValue(undefined);
    countChatMessages = vi.fn();
    const moduleRef = await Test.createTestingModule({
      providers: [
        ContactsSyncService,
        CustomerLinksService,
        ContactLocks,
        LidMergeService,
        { provide: ContactsRepository, useValue: repo },
        { provide: LidMappingsRepository, useValue: mappings },
        { provide: CustomersService, useValue: customers },
        { provide: ContactEventsPublisher, useValue: { updated: announced } },
        { provide: MessageHistoryService, useValue: { countChatMessages } },
        { provide: OrganizationsService, useValue: { hasModule: async () => crmOn } },
      ],
    }).compile();
    service = moduleRef.get(ContactsSyncService);
    links = moduleRef.get(CustomerLinksService);
  });

  const only = () => {
    expect(repo.docs).toHaveLength(1);
    return repo.docs[0];
  };

  it('announces contacts that appear, but not every message count bump', async () => {
    await service.recordMessages([message({ pushName: 'Mona' })]);
    await service.recordMessages([message({ _id: 'm-second' } as Partial<MessageRecord>)]);
    expect(announced).toHaveBeenCalledTimes(1);
    expect(announced.mock.calls[0][0]).toEqual([expect.objectContaining({ jid: only().jid })]);
  });

  it('creates a contact from an inbound message and counts messages; a redelivered event is not counted twice', async () => {
    const first = message({ pushName: 'Mona' });
    await service.recordMessages([first]);
    await service.recordMessages([first]);
    await service.recordMessages([message({ timestamp: new Date('2026-01-01T00:00:00Z') })]);
    expect(only()).toMatchObject({
      jid: PHONE_JID,
      phone: PHONE,
      pushName: 'Mona',
      messageCount: 2,
      firstSeenAt: new Date('2026-01-01T00:00:00Z'),
      lastMessageAt: new Date('2026-01-02T10:00:00Z'),
    });
  });

  it('recounts the contacts of a crash replay from their chats under every address, instead of adding again', async () => {
    await service.recordMessages([message({ senderLid: LID })]);
    expect(only()).toMatchObject({ jid: PHONE_JID, lid: LID, messageCount: 1 });
    // The replay brings that message again (its count had moved before the crash) and a LID chat's.
    countChatMessages.mockResolvedValue(2);
    await service.recordMessages(
      [
        message({ senderLid: LID }),
        message({ chatJid: LID, senderJid: LID, senderLid: LID, senderPhone: PHONE }),
      ],
      true,
    );
    expect(only()).toMatchObject({ jid: PHONE_JID, messageCount: 2 });
    expect(countChatMessages).toHaveBeenCalledTimes(1);
    expect(countChatMessages).toHaveBeenCalledWith(
      { organizationId: ORG, sessionId: REF.sessionId, sessionName: 'main' },
      expect.arrayContaining([PHONE_JID, LID]),
    );
  });

  it("folds a batch of one peer's messages into one upsert with the same result as one by one", async () => {
    await service.recordMessages([
      message({ _id: 'b1', pushName: 'Old', timestamp: new Date('2026-01-01T00:00:00Z') }),
      message({ _id: 'b2', pushName: 'New', timestamp: new Date('2026-01-03T00:00:00Z') }),
      message({ _id: 'b3', timestamp: new Date('2026-01-02T00:00:00Z') }),
      message({ _id: 'b2', pushName: 'New', timestamp: new Date('2026-01-03T00:00:00Z') }),
    ] as MessageRecord[]);
    expect(only()).toMatchObject({
      pushName: 'New',
      pushNameAt: new Date('2026-01-03T00:00:00Z'),
      messageCount: 3,
      firstSeenAt: new Date('2026-01-01T00:00:00Z'),
      lastMessageAt: new Date('2026-01-03T00:00:00Z'),
    });
    expect(announced).toHaveBeenCalledTimes(1);
  });

  it('never lets an older observation overwrite a newer pushName', async () => {
    await service.recordMessages([
      message({ pushName: 'New', timestamp: new Date('2026-01-05T00:00:00Z') }),
    ]);
    await service.recordMessages([
      message({ pushName: 'Old', timestamp: new Date('2026-01-01T00:00:00Z') }),
    ]);
    expect(only().pushName).toBe('New');
  });

  it('keeps user fields across a sync', async () => {
    await service.syncContacts({
      ...REF,
      contacts: [{ jid: PHONE_JID, name: 'Mona Ali', notify: 'Mona' }],
    });
    Object.assign(only(), {
      customName: 'VIP Mona',
      tags: ['vip'],
      notes: 'n',
      customerId: 'c1',
      customerLinkSource: 'manual',
    });
    await service.syncContacts({
      ...REF,
      contacts: [{ jid: PHONE_JID, name: 'Mona A.', notify: 'M' }],
    });
    await service.recordMessages([message()]);
    expect(only()).toMatchObject({
      addressBookName: 'Mona A.',
      pushName: 'M',
      customName: 'VIP Mona',
      tags: ['vip'],
      notes: 'n',
      customerId: 'c1',
      messageCount: 1,
    });
  });

  it('routes a LID-only observation to the phone contact that already owns the LID', async () => {
    await service.syncContacts({ ...REF, contacts: [{ jid: PHONE_JID, lid: LID }] });
    await service.recordMessages([
      message({ chatJid: LID, senderJid: LID, senderLid: LID, pushName: 'Mona' }),
    ]);
    expect(only()).toMatchObject({ jid: PHONE_JID, lid: LID, messageCount: 1, pushName: 'Mona' });
  });

  it('re-keys a LID contact by its phone when the mapping is revealed, and auto-links it', async () => {
    customers.idsByPhones.mockResolvedValue(new Map([[PHONE, 'cust1']]));
    await service.recordMessages([message({ chatJid: LID, senderJid: LID, senderLid: LID })]);
    expect(only()).toMatchObject({ jid: LID, customerId: null });
    await service.applyLidMapping({ ...REF, lid: LID, pn: PHONE_JID });
    expect(only()).toMatchObject({
      jid: PHONE_JID,
      lid: LID,
      phone: PHONE,
      messageCount: 1,
      customerId: 'cust1',
      customerLinkSource: 'auto',
    });
  });

  it('merges the LID and phone contacts into one when the mapping is revealed (in either order of arrival)', async () => {
    await service.recordMessages([
      message({
        chatJid: LID,
        senderJid: LID,
        senderLid: LID,
        timestamp: new Date('2026-01-03T00:00:00Z'),
      }),
    ]);
    await service.recordMessages([message({ timestamp: new Date('2026-01-01T00:00:00Z') })]);
    expect(repo.docs).toHaveLength(2);
    Object.assign(repo.docs[0], { tags: ['lead'], notes: 'from lid' });
    await service.applyLidMapping({ ...REF, lid: LID, pn: PHONE });
    await service.applyLidMapping({ ...REF, lid: LID, pn: PHONE }); // duplicate: harmless
    expect(only()).toMatchObject({
      jid: PHONE_JID,
      lid: LID,
      messageCount: 2,
      tags: ['lead'],
      notes: 'from lid',
      firstSeenAt: new Date('2026-01-01T00:00:00Z'),
      lastMessageAt: new Date('2026-01-03T00:00:00Z'),
    });
  });

  it('folds in an edit made to a contact while it is merged (another instance), counting messages once', async () => {
    await service.recordMessages([message({ chatJid: LID, senderJid: LID, senderLid: LID })]);
    await service.recordMessages([message()]);
    const [lidDoc, phoneDoc] = repo.docs;
    Object.assign(lidDoc, { tags: ['lead'], notes: 'from lid' });
    // A user saves the LID contact just after the phone contact got the merge, then the phone one.
    const applyMerge = repo.applyMerge.bind(repo);
    vi.spyOn(repo, 'applyMerge').mockImplementationOnce(async (id, merged, revision) => {
      const written = await applyMerge(id, merged, revision);
      Object.assign(lidDoc, { tags: ['lead', 'vip'], revision: 1 });
      Object.assign(phoneDoc, { notes: 'from lid\n\nsee invoice', revision: 2 });
      return written;
    });
    await service.applyLidMapping({ ...REF, lid: LID, pn: PHONE });
    expect(only()).toMatchObject({
      jid: PHONE_JID,
      messageCount: 2,
      tags: ['lead', 'vip'],
      notes: 'from lid\n\nsee invoice',
    });
  });

  it('keeps a rename, a removed tag, an edited note and a relink made to the LID contact while it is merged', async () => {
    await service.recordMessages([message({ chatJid: LID, senderJid: LID, senderLid: LID })]);
    await service.recordMessages([message()]);
    const [lidDoc] = repo.docs;
    Object.assign(lidDoc, {
      customName: 'Mona',
      tags: ['lead', 'old'],
      notes: 'call back',
      customerId: 'cust1',
      customerLinkSource: 'manual',
    });
    // The phone contact gets the LID contact as read; then a user saves the LID contact.
    const applyMerge = repo.applyMerge.bind(repo);
    vi.spyOn(repo, 'applyMerge').mockImplementationOnce(async (id, merged, revision) => {
      const written = await applyMerge(id, merged, revision);
      Object.assign(lidDoc, {
        customName: 'Mona Ali',
        tags: ['lead'],
        notes: 'called',
        customerId: 'cust2',
        customerLinkSource: 'manual',
        revision: 1,
      });
      return written;
    });
    await service.applyLidMapping({ ...REF, lid: LID, pn: PHONE });
    expect(only()).toMatchObject({
      jid: PHONE_JID,
      messageCount: 2,
      customName: 'Mona Ali',
      tags: ['lead'],
      notes: 'called',
      customerId: 'cust2',
      customerLinkSource: 'manual',
    });
  });

  it('gives a merge up, both contacts kept, when the phone contact is edited at every try', async () => {
    await service.recordMessages([message({ chatJid: LID, senderJid: LID, senderLid: LID })]);
    await service.recordMessages([message()]);
    const phoneDoc = repo.docs[1];
    const applyMerge = vi.spyOn(repo, 'applyMerge').mockImplementation(async () => {
      phoneDoc.revision = (phoneDoc.revision ?? 0) + 1; // someone saved it again
      return null;
    });
    await service.applyLidMapping({ ...REF, lid: LID, pn: PHONE });
    expect(applyMerge).toHaveBeenCalledTimes(10);
    expect(repo.docs.map((d) => d.jid).sort()).toEqual([LID, PHONE_JID].sort());
  });

  describe('a mapping that arrives before the contact it concerns is written', () => {
    const lidMessage = (overrides: Partial<MessageRecord> = {}) =>
      message({ chatJid: LID, senderJid: LID, senderLid: LID, pushName: 'Mona', ...overrides });

    it("reaches the contact of the LID's message still being ingested: keyed by the phone, auto-linked", async () => {
      customers.idsByPhones.mockResolvedValue(new Map([[PHONE, 'cust1']]));
      // The message's contact is written after the mapping (the ingest is batched).
      await service.applyLidMapping({ ...REF, lid: LID, pn: PHONE_JID });
      expect(repo.docs).toHaveLength(0);
      const first = lidMessage();
      await service.recordMessages([first]);
      expect(only()).toMatchObject({
        jid: PHONE_JID,
        lid: LID,
        phone: PHONE,
        pushName: 'Mona',
        messageCount: 1,
        customerId: 'cust1',
        customerLinkSource: 'auto',
      });
      expect(announced).toHaveBeenLastCalledWith([expect.objectContaining({ jid: PHONE_JID })]);

      // Everything again, and late: the mapping, the message; then the phone writes.
      await service.applyLidMapping({ ...REF, lid: LID, pn: PHONE_JID });
      await service.recordMessages([first]);
      await service.recordMessages([message({ pushName: 'Mona' })]);
      expect(only()).toMatchObject({ jid: PHONE_JID, lid: LID, messageCount: 2 });
    });

    it('gives a contact first seen by phone its LID, from messages and from contact syncs', async () => {
      const OTHER = '201009999999';
      await service.applyLidMapping({ ...REF, lid: LID, pn: PHONE });
      await service.applyLidMapping({ ...REF, lid: '777@lid', pn: OTHER });
      await service.recordMessages([message()]);
      await service.syncContacts({ ...REF, contacts: [{ jid: `${OTHER}@s.whatsapp.net` }] });
      expect(repo.docs.map((d) => [d.jid, d.lid])).toEqual([
        [PHONE_JID, LID],
        [`${OTHER}@s.whatsapp.net`, '777@lid'],
      ]);
      // The LID writes next: the same contact.
      await service.recordMessages([lidMessage()]);
      expect(repo.docs).toHaveLength(2);
      expect(repo.docs[0]).toMatchObject({ jid: PHONE_JID, messageCount: 2 });
    });

    it('joins the contacts a crash left apart (mapping recorded, merge cut off) at their next sighting', async () => {
      await service.recordMessages([lidMessage()]);
      vi.spyOn(repo, 'setIdentity').mockRejectedValueOnce(new Error('crash'));
      await expect(service.applyLidMapping({ ...REF, lid: LID, pn: PHONE })).rejects.toThrow(
        'crash',
      );
      expect(only()).not.toHaveProperty('phone');
      expect(only().jid).toBe(LID);
      // The phone's first contact folds the LID contact in.
      await service.recordMessages([message()]);
      expect(only()).toMatchObject({ jid: PHONE_JID, lid: LID, phone: PHONE, messageCount: 2 });

      // Or the LID's next message re-keys it.
      repo.docs = [];
      await service.recordMessages([
        lidMessage({ chatJid: '888@lid', senderJid: '888@lid', senderLid: '888@lid' }),
      ]);
      vi.spyOn(repo, 'setIdentity').mockRejectedValueOnce(new Error('crash'));
      await expect(service.applyLidMapping({ ...REF, lid: '888@lid', pn: PHONE })).rejects.toThrow(
        'crash',
      );
      await service.recordMessages([
        lidMessage({ chatJid: '888@lid', senderJid: '888@lid', senderLid: '888@lid' }),
      ]);
      expect(only()).toMatchObject({ jid: PHONE_JID, lid: '888@lid', messageCount: 2 });
    });

    it('ignores a malformed mapping, and records nothing for it', async () => {
      vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      await service.applyLidMapping({ ...REF, lid: 'not-a-lid', pn: PHONE });
      await service.applyLidMapping({ ...REF, lid: LID, pn: '120363021234@g.us' });
      expect(mappings.rows).toEqual([]);
      await service.recordMessages([lidMessage()]);
      expect(only()).not.toHaveProperty('phone');
      expect(only().jid).toBe(LID);
    });
  });

  it('merges when a message carries both the LID and the phone', async () => {
    await service.recordMessages([message({ chatJid: LID, senderJid: LID, senderLid: LID })]);
    await service.syncContacts({ ...REF, contacts: [{ jid: PHONE_JID }] });
    expect(repo.docs).toHaveLength(2);
    await service.recordMessages([message({ senderLid: LID, senderPhone: PHONE })]);
    expect(only()).toMatchObject({ jid: PHONE_JID, lid: LID, messageCount: 2 });
  });

  it('auto-links new contacts by phone in one lookup per batch (and one check of the phones it linked), but never a manually unlinked one', async () => {
    customers.idsByPhones.mockResolvedValue(new Map([[PHONE, 'cust1']]));
    await service.syncContacts({
      ...REF,
      contacts: [
        { jid: PHONE_JID },
        { jid: '201009999999@s.whatsapp.net' },
        { jid: '120363021234@g.us', name: 'Team' },
      ],
    });
    expect(customers.idsByPhones).toHaveBeenCalledTimes(2);
    expect(customers.idsByPhones).toHaveBeenNthCalledWith(1, ORG, [PHONE, '201009999999']);
    // Looked up again once linked: a customer change in between is followed again (none here).
    expect(customers.idsByPhones).toHaveBeenNthCalledWith(2, ORG, [PHONE]);
    expect(repo.docs.find((d) => d.jid === PHONE_JID)).toMatchObject({
      customerId: 'cust1',
      customerLinkSource: 'auto',
    });
    expect(repo.docs.find((d) => d.isGroup)).toMatchObject({
      addressBookName: 'Team',
      customerId: null,
    });

    Object.assign(repo.docs[0], { customerId: null, customerLinkSource: 'manual' });
    expect(await repo.autoLinkByPhone(ORG, PHONE, 'cust2')).toEqual([]);
  });

  it("does not look customers up while the organization's crm module is off", async () => {
    crmOn = false;
    customers.idsByPhones.mockResolvedValue(new Map([[PHONE, 'cust1']]));
    await service.syncContacts({ ...REF, contacts: [{ jid: PHONE_JID }] });
    expect(customers.idsByPhones).not.toHaveBeenCalled();
    expect(repo.docs.find((d) => d.jid === PHONE_JID)).toMatchObject({ customerId: null });
  });

  it('links existing contacts when a customer is created, and announces them', async () => {
    await service.recordMessages([message()]);
    announced.mockClear();
    await links.linkNewCustomer({ id: 'cust9', organizationId: ORG, name: 'Mona', phone: PHONE });
    expect(announced).toHaveBeenCalledWith([
      expect.objectContaining({ jid: PHONE_JID, customerId: 'cust9', customerLinkSource: 'auto' }),
    ]);
    await links.linkNewCustomer({
      id: 'cust10',
      organizationId: 'other-org',
      name: 'X',
      phone: PHONE,
    });
    expect(only()).toMatchObject({ customerId: 'cust9' });
  });

  it('one failing contact does not stop the batch', async () => {
    const upsert = repo.upsert.bind(repo);
    vi.spyOn(repo, 'upsert').mockImplementation(async (t, jid, u) => {
      if (jid === PHONE_JID) throw new Error('boom');
      return upsert(t, jid, u);
    });
    await service.syncContacts({
      ...REF,
      contacts: [
        { jid: PHONE_JID },
        { jid: '201009999999@s.whatsapp.net' },
        { jid: 'status@broadcast' },
      ],
    });
    expect(only().jid).toBe('201009999999@s.whatsapp.net');
  });
});
