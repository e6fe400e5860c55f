import mongoose from 'mongoose';
import { useEmbeddedConnection } from '@app/embedded-mongo/testing/embedded-connection';
import { WriteAheadNotes } from './write-ahead-notes';

describe('WriteAheadNotes (embedded store)', () => {
  let connection: mongoose.Connection;
  let notes: WriteAheadNotes<{ sessionId: string; ids: string[] }>;

  const connectionOf = useEmbeddedConnection('notes');
  beforeAll(() => {
    connection = connectionOf();
    notes = new WriteAheadNotes(connection.collection('notes'));
  });

  it('hands a stale note to one claimant at a time, oldest first, and forgets closed ones', async () => {
    const first = await notes.open({ sessionId: 's1', ids: ['a'] });
    const second = await notes.open({ sessionId: 's2', ids: ['b', 'c'] });
    const closed = await notes.open({ sessionId: 's3', ids: [] });
    await notes.close(closed);
    const later = new Date(Date.now() + 1_000);

    expect(await notes.claimStale(new Date(0), 60_000)).toBeUndefined(); // none that old
    expect(await notes.claimStale(later, 60_000)).toEqual({
      id: first,
      sessionId: 's1',
      ids: ['a'],
    });
    // Leased: the next claimant gets the other note, then none.
    expect(await notes.claimStale(later, 60_000)).toMatchObject({ id: second, ids: ['b', 'c'] });
    expect(await notes.claimStale(later, 60_000)).toBeUndefined();
  });

  it('closes several notes in one write, and only those', async () => {
    const rows = () => connection.collection('closing').countDocuments();
    const closing = new WriteAheadNotes<{ ids: string[] }>(connection.collection('closing'));
    const [a, b, kept] = [
      await closing.open({ ids: ['a'] }),
      await closing.open({ ids: ['b'] }),
      await closing.open({ ids: ['c'] }),
    ];
    await closing.closeAll([a, b]);
    expect(await rows()).toBe(1);
    expect(await closing.claimStale(new Date(Date.now() + 1_000), 60_000)).toMatchObject({
      id: kept,
    });
  });

  it('lets a lease run out, so a note whose claimant died is claimed again', async () => {
    // The notes of the previous test are leased for a minute: only this one is claimable.
    const id = await notes.open({ sessionId: 's4', ids: ['d'] });
    const later = () => new Date(Date.now() + 1_000);
    expect((await notes.claimStale(later(), 1))?.id).toBe(id);
    await new Promise((r) => setTimeout(r, 5));
    expect((await notes.claimStale(later(), 60_000))?.id).toBe(id);
    expect(await notes.claimStale(later(), 60_000)).toBeUndefined();
  });

  it('keeps a held note from claimants until its hold runs out', async () => {
    // Every earlier note is leased for a minute (previous tests).
    const id = await notes.open({ sessionId: 's5', ids: ['e'] });
    const later = () => new Date(Date.now() + 1_000);
    await notes.hold([id], 60_000);
    expect(await notes.claimStale(later(), 60_000)).toBeUndefined();
    await notes.hold([id], 1);
    await new Promise((r) => setTimeout(r, 5));
    expect((await notes.claimStale(later(), 60_000))?.id).toBe(id);
  });
});
