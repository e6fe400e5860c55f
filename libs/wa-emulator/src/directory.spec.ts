import { Directory } from './directory';
import { StateStore } from './state';

describe('Directory: users by phone, contacts known only by LID, revealed LIDs', () => {
  let directory: Directory;
  let store: StateStore;
  beforeEach(() => {
    store = new StateStore();
    directory = new Directory(store);
  });

  it('an unknown LID becomes a LID-only contact; a LID of a phone user resolves to that user', () => {
    const lidOnly = directory.lidOnlyUser('987654321000001@lid', { pushName: 'Lina' });
    expect(lidOnly).toMatchObject({ lid: '987654321000001', pushName: 'Lina' });
    expect('phone' in lidOnly).toBe(false);
    expect(directory.userByJid('987654321000001:3@lid')).toBe(lidOnly);
    expect(directory.userByLid('987654321000001')).toBeUndefined();

    const pat = directory.user('+1 555 000 0001', { lid: '987654321000002' });
    expect(directory.lidOnlyUser('987654321000002@lid')).toBe(pat);
  });

  it('revealing a LID-only contact’s phone merges it into that phone’s user, keeping its Signal device', () => {
    const lidOnly = directory.lidOnlyUser('987654321000003@lid', { pushName: 'Lina' });
    const byPhone = directory.user('15550000003');
    const merged = directory.linkLid('15550000003', '987654321000003@lid');
    expect(merged).toBe(byPhone);
    expect(merged).toMatchObject({
      phone: '15550000003',
      lid: '987654321000003',
      pushName: 'Lina',
    });
    expect(merged.device).toBe(lidOnly.device);
    expect(store.state.lidUsers).toEqual({});
    expect(directory.anyUserByLid('987654321000003@lid')).toBe(merged);
  });

  it('a phone user whose LID changes drops its Signal sessions (next message starts a fresh one)', () => {
    const user = directory.user('15550000004');
    user.device.sessions = { '15550009999.1': {} };
    directory.linkLid('15550000004', '987654321000004');
    expect(user.lid).toBe('987654321000004');
    expect(user.device.sessions).toEqual({});
    // Revealing the same LID again changes nothing.
    user.device.sessions = { '15550009999.1': {} };
    directory.linkLid('15550000004', '987654321000004@lid');
    expect(user.device.sessions).toEqual({ '15550009999.1': {} });
  });

  it('refuses to give a LID that belongs to one phone to another', () => {
    directory.user('15550000005', { lid: '987654321000005' });
    expect(() => directory.linkLid('15550000006', '987654321000005@lid')).toThrow(
      /already belongs to 15550000005/,
    );
  });
});
