import type { ContactObservation } from './contact-identity';
import {
  buildSyncUpdate,
  displayNameOf,
  foldObservation,
  limitViolations,
  mergeContacts,
  normalizeTags,
  USER_OWNED_FIELDS,
  withLidEdits,
  type MergeableContact,
} from './contact-rules';

const target = { organizationId: 'org1', sessionId: 'org1_main', sessionName: 'main' };
const t = (iso: string) => new Date(iso);

describe('buildSyncUpdate', () => {
  const observation: ContactObservation = {
    jid: '201001234567@s.whatsapp.net',
    lid: '555@lid',
    phone: '201001234567',
    isGroup: false,
    addressBookName: 'Mona Ali',
    pushName: 'Mona',
    verifiedName: 'Mona Shop',
    isBusiness: true,
    profilePictureUrl: 'https://pps.whatsapp.net/x.jpg',
    observedAt: t('2026-01-01T00:00:00Z'),
  };

  it('never sets a user-owned field on an existing contact (only defaults on insert)', () => {
    const update = buildSyncUpdate(observation, target);
    for (const field of USER_OWNED_FIELDS) {
      expect(update.$set).not.toHaveProperty(field);
      expect(update).not.toHaveProperty(['$inc', field]);
    }
    expect(update.$setOnInsert).toMatchObject({
      customName: null,
      tags: [],
      notes: null,
      customerId: null,
      customerLinkSource: null,
    });
  });

  it('sets only the sync fields the observation carries; pushName only on insert (else applied separately)', () => {
    const update = buildSyncUpdate(
      { jid: '555@lid', lid: '555@lid', isGroup: false, observedAt: observation.observedAt },
      target,
    );
    expect(update.$set).toEqual({ sessionName: 'main', isGroup: false, lid: '555@lid' });
    const full = buildSyncUpdate(observation, target);
    expect(full.$set).toMatchObject({
      phone: '201001234567',
      addressBookName: 'Mona Ali',
      searchAddressBookName: ['mona ali', 'ali'],
      verifiedName: 'Mona Shop',
      isBusiness: true,
      profilePictureUrl: 'https://pps.whatsapp.net/x.jpg',
    });
    expect(full.$set).not.toHaveProperty('pushName');
    expect(full.$setOnInsert).toMatchObject({
      pushName: 'Mona',
      searchPushName: ['mona'],
      pushNameAt: observation.observedAt,
    });
  });

  it('contact events never count messages; message observations $inc and $max (order-independent)', () => {
    const contactEvent = buildSyncUpdate(observation, target);
    expect(contactEvent.$inc).toBeUndefined();
    expect(contactEvent.$max).toBeUndefined();
    expect(contactEvent.$setOnInsert.messageCount).toBe(0);
    expect(contactEvent.$min).toEqual({ firstSeenAt: observation.observedAt });

    const at = t('2026-01-03T00:00:00Z');
    const fromMessage = buildSyncUpdate(
      { ...observation, observedAt: at, message: { at } },
      target,
    );
    expect(fromMessage.$inc).toEqual({ messageCount: 1 });
    expect(fromMessage.$max).toEqual({ lastMessageAt: at });
    expect(fromMessage.$min).toEqual({ firstSeenAt: at });
    expect(fromMessage.$setOnInsert).not.toHaveProperty('messageCount');
  });
});

describe('mergeContacts', () => {
  const phoneDoc: MergeableContact = {
    jid: '201001234567@s.whatsapp.net',
    phone: '201001234567',
    addressBookName: 'Mona Ali',
    pushName: 'Mona (old)',
    pushNameAt: t('2026-01-01T00:00:00Z'),
    firstSeenAt: t('2026-01-05T00:00:00Z'),
    lastMessageAt: t('2026-01-06T00:00:00Z'),
    messageCount: 3,
    tags: ['vip', 'b2b'],
    customName: null,
    notes: null,
    customerId: null,
    customerLinkSource: null,
  };
  const lidDoc: MergeableContact = {
    jid: '555@lid',
    lid: '555@lid',
    pushName: 'Mona',
    pushNameAt: t('2026-01-07T00:00:00Z'),
    verifiedName: 'Mona Shop',
    firstSeenAt: t('2026-01-02T00:00:00Z'),
    lastMessageAt: t('2026-01-08T00:00:00Z'),
    messageCount: 2,
    tags: ['b2b', 'lead'],
    customName: 'Mona the supplier',
    notes: 'Call after 5pm',
    customerId: 'cust1',
    customerLinkSource: 'manual',
  };

  it('keys by the phone JID, keeps the LID, sums counts, min firstSeenAt, max lastMessageAt, unites tags', () => {
    const merged = mergeContacts(phoneDoc, lidDoc, '555@lid', '201001234567');
    expect(merged).toMatchObject({
      jid: '201001234567@s.whatsapp.net',
      lid: '555@lid',
      phone: '201001234567',
      searchPhone: expect.arrayContaining(['201001234567', '4567']),
      messageCount: 5,
      firstSeenAt: t('2026-01-02T00:00:00Z'),
      lastMessageAt: t('2026-01-08T00:00:00Z'),
      tags: ['vip', 'b2b', 'lead'],
    });
  });

  it('keeps the user fields of the document that has them', () => {
    const merged = mergeContacts(phoneDoc, lidDoc, '555@lid', '201001234567');
    expect(merged).toMatchObject({
      customName: 'Mona the supplier',
      searchCustomName: ['mona the supplier', 'the supplier', 'supplier'],
      notes: 'Call after 5pm',
      customerId: 'cust1',
      customerLinkSource: 'manual',
    });
  });

  it("prefers the phone document's user fields when both have them; differing notes are both kept", () => {
    const merged = mergeContacts(
      {
        ...phoneDoc,
        customName: 'Mona',
        notes: 'A',
        customerId: 'cust2',
        customerLinkSource: 'manual',
      },
      lidDoc,
      '555@lid',
      '201001234567',
    );
    expect(merged).toMatchObject({
      customName: 'Mona',
      notes: 'A\n\nCall after 5pm',
      customerId: 'cust2',
      customerLinkSource: 'manual',
    });
    expect(
      mergeContacts(
        { ...phoneDoc, notes: 'same' },
        { ...lidDoc, notes: 'same' },
        '555@lid',
        '201001234567',
      ).notes,
    ).toBe('same');
  });

  it('sync fields prefer the phone document, except the newer pushName', () => {
    const merged = mergeContacts(phoneDoc, lidDoc, '555@lid', '201001234567');
    expect(merged).toMatchObject({
      addressBookName: 'Mona Ali',
      verifiedName: 'Mona Shop',
      pushName: 'Mona',
      pushNameAt: lidDoc.pushNameAt,
    });
    const older = mergeContacts(
      phoneDoc,
      { ...lidDoc, pushNameAt: t('2025-12-01T00:00:00Z') },
      '555@lid',
      '201001234567',
    );
    expect(older.pushName).toBe('Mona (old)');
  });

  it("a user's link or unlink on either document beats an automatic link by phone", () => {
    const autoPhone = { ...phoneDoc, customerId: 'cust2', customerLinkSource: 'auto' as const };
    expect(mergeContacts(autoPhone, lidDoc, '555@lid', '201001234567')).toMatchObject({
      customerId: 'cust1',
      customerLinkSource: 'manual',
    });
    const unlinkedByHand = { ...lidDoc, customerId: null, customerLinkSource: 'manual' as const };
    expect(mergeContacts(autoPhone, unlinkedByHand, '555@lid', '201001234567')).toMatchObject({
      customerId: null,
      customerLinkSource: 'manual',
    });
    const autoLid = { ...lidDoc, customerLinkSource: 'auto' as const };
    expect(mergeContacts(autoPhone, autoLid, '555@lid', '201001234567')).toMatchObject({
      customerId: 'cust2',
      customerLinkSource: 'auto',
    });
    const legacy = { ...lidDoc, customerLinkSource: null };
    expect(mergeContacts(phoneDoc, legacy, '555@lid', '201001234567')).toMatchObject({
      customerId: 'cust1',
      customerLinkSource: 'auto',
    });
  });

  it('handles documents without messages and an unlinked manual choice', () => {
    const merged = mergeContacts(
      {
        ...phoneDoc,
        lastMessageAt: undefined,
        messageCount: undefined,
        customerLinkSource: 'manual',
      },
      {
        ...lidDoc,
        lastMessageAt: undefined,
        messageCount: 0,
        customerId: null,
        customerLinkSource: null,
      },
      '555@lid',
      '201001234567',
    );
    expect(merged.lastMessageAt).toBeUndefined();
    expect(merged.messageCount).toBe(0);
    expect(merged.customerId).toBeNull();
    expect(merged.customerLinkSource).toBe('manual');
  });
});

describe('withLidEdits', () => {
  const at = new Date('2026-01-01T00:00:00Z');
  const lid = (fields: Partial<MergeableContact>): MergeableContact => ({
    jid: '555@lid',
    firstSeenAt: at,
    ...fields,
  });
  const survivor: MergeableContact = {
    jid: '201001234567@s.whatsapp.net',
    firstSeenAt: at,
    customName: 'Mona',
    tags: ['vip', 'lead', 'old'],
    notes: 'pays late\n\ncall back',
    customerId: 'c1',
    customerLinkSource: 'manual',
  };

  it('applies what a user changed on the LID contact since the survivor took it', () => {
    const before = lid({
      customName: 'Mona',
      tags: ['lead', 'old'],
      notes: 'call back',
      customerId: 'c1',
      customerLinkSource: 'manual',
    });
    const now = lid({
      customName: 'Mona Ali',
      tags: ['lead', 'new'],
      notes: null,
      customerId: 'c2',
      customerLinkSource: 'manual',
    });
    expect(withLidEdits(survivor, before, now)).toMatchObject({
      customName: 'Mona Ali',
      tags: ['vip', 'lead'], // 'new' comes with the merge itself
      notes: 'pays late',
      customerId: 'c2',
      customerLinkSource: 'manual',
    });
  });

  it("keeps the survivor's own name and link, which the merge preferred to the LID's", () => {
    const before = lid({ customName: 'M', customerId: 'c9', customerLinkSource: 'auto' });
    const now = lid({ customName: 'M.', customerId: null, customerLinkSource: null });
    expect(withLidEdits(survivor, before, now)).toEqual(survivor);
  });
});

describe('normalizeTags', () => {
  it('trims, lower-cases, drops empties and de-duplicates in order', () => {
    expect(normalizeTags([' VIP ', 'vip', 'B2B', '', '  ', 'Late  Payer', 'b2b'])).toEqual([
      'vip',
      'b2b',
      'late payer',
    ]);
    expect(normalizeTags([])).toEqual([]);
    expect(normalizeTags(['a', ' ', '', 'A'], { keepBlank: true })).toEqual(['a', '']);
    expect(normalizeTags(['ok', 3, null])).toEqual(['ok']);
  });

  it('drops invisible marks a paste or an Arabic keyboard adds, so a tag never splits in two', () => {
    // Right-to-left mark, zero-width space, byte order mark, left-to-right isolate … pop.
    expect(
      normalizeTags(['عميل', 'عميل\u200f', '\u200bvip', 'vip\ufeff', '\u2066b2b\u2069', 'b2b']),
    ).toEqual(['عميل', 'vip', 'b2b']);
    expect(normalizeTags(['\u200b', '\u200e '], { keepBlank: true })).toEqual(['']);
    // Joiners shape emoji and Persian words: kept.
    expect(normalizeTags(['👩\u200d💻', 'می\u200cخواهم'])).toEqual(['👩\u200d💻', 'می\u200cخواهم']);
  });
});

describe('displayNameOf', () => {
  it('prefers the user name, then address book, verified, pushName, then the number', () => {
    const base = { jid: '201001234567@s.whatsapp.net', phone: '201001234567' };
    expect(displayNameOf({ ...base, customName: 'A', addressBookName: 'B', pushName: 'C' })).toBe(
      'A',
    );
    expect(displayNameOf({ ...base, customName: null, addressBookName: 'B', pushName: 'C' })).toBe(
      'B',
    );
    expect(displayNameOf({ ...base, verifiedName: 'V', pushName: 'C' })).toBe('V');
    expect(displayNameOf({ ...base, pushName: 'C' })).toBe('C');
    expect(displayNameOf(base)).toBe('+201001234567');
    expect(displayNameOf({ jid: '555@lid' })).toBe('555');
  });
});

describe('limitViolations', () => {
  const many = (n: number, prefix = 't') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

  it('refuses tags and notes past the limits of a contact within them', () => {
    expect(limitViolations({ tags: many(21), notes: 'x'.repeat(2001) }, { tags: [] })).toEqual({
      tags: ['tags must contain at most 20 distinct tags'],
      notes: ['notes must be shorter than or equal to 2000 characters'],
    });
    expect(limitViolations({ tags: many(20), notes: 'x'.repeat(2000) }, {})).toEqual({});
    expect(limitViolations({ tags: null, notes: null }, {})).toEqual({});
  });

  it('counts characters as the other limits do: an emoji is one, not two UTF-16 units', () => {
    expect(limitViolations({ notes: '😀'.repeat(2000) }, {})).toEqual({});
    expect(limitViolations({ notes: '😀'.repeat(2001) }, {})).toEqual({
      notes: ['notes must be shorter than or equal to 2000 characters'],
    });
  });

  it('takes back what a merge left past the limits, as long as it does not grow', () => {
    const stored = { tags: many(40), notes: 'x'.repeat(4002) };
    expect(limitViolations({ tags: many(40), notes: stored.notes }, stored)).toEqual({});
    expect(limitViolations({ tags: many(30), notes: 'y'.repeat(3000) }, stored)).toEqual({});
    expect(
      limitViolations({ tags: [...many(30), 'new'], notes: 'y'.repeat(4003) }, stored),
    ).toEqual({
      tags: ['tags must contain at most 20 distinct tags'],
      notes: ['notes must be shorter than or equal to 2000 characters'],
    });
  });
});

describe('foldObservation', () => {
  const seen = (at: string, extra: Partial<ContactObservation>): ContactObservation => ({
    jid: '201001234567@s.whatsapp.net',
    phone: '201001234567',
    isGroup: false,
    observedAt: t(at),
    ...extra,
  });

  it('folds a later event of a contact as syncing it after the earlier one would store it', () => {
    const folded = foldObservation(
      seen('2026-01-01T00:00:00Z', {
        addressBookName: 'Mona Ali',
        pushName: 'Mona',
        profilePictureUrl: 'https://pps.whatsapp.net/x.jpg',
      }),
      seen('2026-01-01T00:00:05Z', { pushName: 'Mona A.', isBusiness: false }),
    );
    expect(folded).toEqual(
      seen('2026-01-01T00:00:00Z', {
        addressBookName: 'Mona Ali',
        pushName: 'Mona A.',
        pushNameAt: t('2026-01-01T00:00:05Z'),
        profilePictureUrl: 'https://pps.whatsapp.net/x.jpg',
        isBusiness: false,
      }),
    );
  });

  it('keeps the later pushName of two seen at the same time (the later write wins a tie)', () => {
    const at = '2026-01-01T00:00:00Z';
    expect(
      foldObservation(seen(at, { pushName: 'First' }), seen(at, { pushName: 'Second' })).pushName,
    ).toBe('Second');
  });
});
