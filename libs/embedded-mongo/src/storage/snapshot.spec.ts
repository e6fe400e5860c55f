import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserialize, serialize } from 'bson';
import { readSnapshot, writeSnapshot } from './snapshot';
import { StorageEngine } from './storage-engine';

describe('snapshot file', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'embedded-mongo-snapshot-'));
    path = join(dir, 'snapshot.bson');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function storeWith(values: string[]): StorageEngine {
    const storage = new StorageEngine();
    const collection = storage.getOrCreateCollection('db', 'c');
    values.forEach((v, i) => collection.insert({ _id: i, v }));
    return storage;
  }
  const valuesIn = (storage: StorageEngine) =>
    [...storage.getCollection('db', 'c')!.all()].map((document) => document.v as string);

  it('refuses to load a snapshot whose bytes changed, naming the file', () => {
    writeSnapshot(path, storeWith(['a'.repeat(100), 'b'.repeat(100)]));
    expect(valuesIn(loaded())).toEqual(['a'.repeat(100), 'b'.repeat(100)]);
    const data = readFileSync(path);
    data[data.indexOf('bbbb')] ^= 0x04; // one flipped bit inside a string: still valid BSON
    writeFileSync(path, data);
    expect(() => loaded()).toThrow(`snapshot ${path} fails its checksum`);
  });

  it('loads a snapshot written before checksums, and checksums it when rewritten', () => {
    const legacy = Buffer.concat([
      serialize({ format: 'embedded-mongo-snapshot', version: 1, createdAt: new Date() }),
      serialize({ collection: { db: 'db', coll: 'c', options: {}, indexes: [], count: 1 } }),
      serialize({ _id: 1, v: 'old' }),
      serialize({ end: true }),
    ]);
    writeFileSync(path, legacy);
    const storage = loaded();
    expect(valuesIn(storage)).toEqual(['old']);
    writeSnapshot(path, storage);
    const rewritten = readFileSync(path);
    expect(deserialize(rewritten.subarray(0, rewritten.readInt32LE(0))).version).toBe(2);
    rewritten[rewritten.indexOf('old')] ^= 0x01;
    writeFileSync(path, rewritten);
    expect(() => loaded()).toThrow(/fails its checksum/);
  });

  function loaded(): StorageEngine {
    const storage = new StorageEngine();
    readSnapshot(path, storage);
    return storage;
  }
});
