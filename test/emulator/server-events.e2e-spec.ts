import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PhoneControl, WaEmulator } from '@app/wa-emulator';
import {
  InMemoryAuthRowBackend,
  InMemoryAuthStoreProvider,
  type WaAuthStore,
  type WaKeyStore,
} from '@app/whatsapp';
import { EngineHarness } from './engine-harness';

async function linked(
  emulator: WaEmulator,
  account: string,
  engine = new EngineHarness(emulator.url, `org_${account}`),
) {
  await engine.link((qr) => emulator.phone(account).scan(qr));
  return engine;
}

/** An auth store whose signal-key reads can be held (as a database outage holds them). */
function holdableAuth(sessionId: string) {
  const inner = new InMemoryAuthStoreProvider().forSession(sessionId);
  let held: Promise<void> | undefined;
  let settle: (error?: Error) => void = () => undefined;
  let waiting = 0;
  const heldGet = async (read: WaKeyStore['get'], type: string, ids: string[]) => {
    if (held) {
      waiting += 1;
      await held;
    }
    return read(type, ids);
  };
  const auth: WaAuthStore = {
    sessionId,
    readCreds: () => inner.readCreds(),
    writeCreds: (creds) => inner.writeCreds(creds),
    hasCreds: () => inner.hasCreds(),
    clear: () => inner.clear(),
    flush: () => inner.flush(),
    keys: {
      get: (type, ids) => heldGet(inner.keys.get, type, ids),
      set: (data) => inner.keys.set(data),
    },
    revocableKeys: () => {
      const keys = inner.revocableKeys();
      return { ...keys, get: (type, ids) => heldGet(keys.get, type, ids) };
    },
  };
  return {
    auth,
    waiting: () => waiting,
    hold: () => {
      held = new Promise<void>((resolve, reject) => {
        settle = (error) => (error ? reject(error) : resolve());
      });
      held.catch(() => undefined);
    },
    /** The held reads answer (or fail with `error`), and later ones are no longer held. */
    release: (error?: Error) => {
      held = undefined;
      settle(error);
    },
  };
}

/** Rows whose database writes can be held (as an outage holds them), under the project's auth store. */
class HoldableWrites extends InMemoryAuthRowBackend {
  private held?: Promise<void>;
  private release = () => undefined as void;
  /** The rows of the writes held so far. */
  readonly waiting: Parameters<InMemoryAuthRowBackend['writeMany']>[1] = [];

  hold(): void {
    this.held = new Promise<void>((resolve) => (this.release = resolve));
  }

  /** The held writes land, and later ones are no longer held. */
  land(): void {
    this.held = undefined;
    this.release();
  }

  override async writeMany(...[sessionId, rows]: Parameters<InMemoryAuthRowBackend['writeMany']>) {
    if (this.held) {
      this.waiting.push(...rows);
      await this.held;
    }
    return super.writeMany(sessionId, rows);
  }
}

/** Links a fresh device on `auth`, once a first message shows its initial sync is over. */
async function linkedAfterSync(emulator: WaEmulator, account: string, auth: WaAuthStore) {
  const engine = await linked(
    emulator,
    account,
    new EngineHarness(emulator.url, auth.sessionId, auth),
  );
  // The initial sync (messages from the own phone) follows the login: wait until Baileys took it.
  await engine.until(
    () => emulator.clientReceipts.some((r) => r.account === account && r.type === 'hist_sync'),
    10_000,
    'the initial sync',
  );
  return engine;
}

/** Links a fresh device whose key reads can be held, once its initial sync is over. */
/** A first message from `contact`, received: the Signal session with it exists (and is cached). */
async function warmUp(engine: EngineHarness, phone: PhoneControl, contact: string) {
  const first = await phone.sendText(contact, 'before the outage');
  await engine.until(() => engine.messages.find((m) => m.waMessageId === first), 5_000, 'first');
}

/** Connects again and waits for message `id` (which WhatsApp sends again, or Baileys handed over). */
async function receivedOnReconnect(engine: EngineHarness, id: string, timeoutMs = 10_000) {
  expect(await engine.connect()).toHaveProperty('open');
  return engine.until(
    () => engine.messages.find((m) => m.waMessageId === id),
    timeoutMs,
    'the message again',
  );
}

async function linkedWithHoldableKeys(emulator: WaEmulator, account: string) {
  const keys = holdableAuth(`org_${account}`);
  const engine = await linkedAfterSync(emulator, account, keys.auth);
  return { keys, engine, phone: emulator.phone(account) };
}

describe('wa-emulator: server-side events with the real Baileys engine', () => {
  let emulator: WaEmulator;
  const dir = mkdtempSync(join(tmpdir(), 'wa-emu-'));
  beforeAll(async () => {
    emulator = await WaEmulator.start({ dataDir: dir });
  });
  afterAll(async () => {
    await emulator?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('logout from the phone → 401 loggedOut; stored creds are refused with 401 afterwards', async () => {
    const engine = await linked(emulator, '15550003001');
    const closed = engine.nextClose();
    emulator.phone('15550003001').logout();
    expect(await closed).toMatchObject({ code: 401, reason: 'loggedOut' });
    expect(await engine.connect()).toEqual({
      close: expect.objectContaining({ code: 401, reason: 'loggedOut' }),
    });
    expect(emulator.phone('15550003001').devices).toEqual([]);
  });

  it('connection replaced → 440', async () => {
    const engine = await linked(emulator, '15550003002');
    const closed = engine.nextClose();
    emulator.phone('15550003002').replace();
    expect(await closed).toMatchObject({ code: 440, reason: 'connectionReplaced' });
  });

  it('a second login of the same device replaces the first (440), the second stays open', async () => {
    const engine = await linked(emulator, '15550003003');
    const closed = engine.nextClose();
    const other = new EngineHarness(emulator.url, 'org_15550003003', engine.auth);
    expect(await other.connect()).toHaveProperty('open');
    expect(await closed).toMatchObject({ code: 440 });
    await other.close();
  });

  it("the account's groups are announced with their subjects: on connect, and when one is renamed (a dirty bit)", async () => {
    const phone = emulator.phone('15550003006');
    phone.createGroup('120363000000000061@g.us', ['15559993061'], 'Suppliers');
    const engine = await linked(emulator, '15550003006');
    const named = (subject: string) =>
      engine.until(
        () =>
          engine.contacts.find((c) => c.jid === '120363000000000061@g.us' && c.name === subject),
        5_000,
        `group named ${subject}`,
      );
    expect(await named('Suppliers')).toEqual({ jid: '120363000000000061@g.us', name: 'Suppliers' });
    expect(phone.nameGroup('120363000000000061@g.us', 'Suppliers (EU)')).toBe(1);
    await named('Suppliers (EU)');
    await engine.close();
  });

  it('dropped socket → connectionLost-class close; reconnect opens again', async () => {
    const engine = await linked(emulator, '15550003004');
    const closed = engine.nextClose();
    emulator.phone('15550003004').drop();
    const info = await closed;
    expect(info.code).toBe(428);
    expect(await engine.connect()).toHaveProperty('open');
    await engine.close();
  });

  it('a message the device never acknowledged (its connection dropped while it was handled) comes again at its next login', async () => {
    const { keys, engine, phone } = await linkedWithHoldableKeys(emulator, '15550003006');
    keys.hold();
    const id = await phone.sendText('15559993006', 'sent as the connection dropped');
    await engine.until(() => keys.waiting() > 0, 5_000, 'Baileys to read the keys to decrypt it');
    const closed = engine.nextClose();
    phone.drop();
    await closed;
    // The keys never come for that connection: it neither decrypts the message nor receipts it.
    keys.release(new Error('database unreachable'));

    const message = await receivedOnReconnect(engine, id);
    expect(message).toMatchObject({ text: 'sent as the connection dropped' });
    await engine.close();
  });

  it('a message whose keys come only after its connection dropped (a database outage) is decrypted by the next connection, not the closed one', async () => {
    const { keys, engine, phone } = await linkedWithHoldableKeys(emulator, '15550003007');
    // A Signal session with the contact first: the next message is a plain `msg` on it.
    await warmUp(engine, phone, '15559993007');
    keys.hold();
    const id = await phone.sendText('15559993007', 'sent during the outage');
    await engine.until(() => keys.waiting() > 0, 5_000, 'Baileys to read the keys to decrypt it');
    const closed = engine.nextClose();
    phone.drop();
    await closed;
    // The database answers the closed connection's reads: it must not decrypt with them (its
    // receipt cannot go out, and the copy WhatsApp sends again would be dropped as a duplicate).
    keys.release();

    const message = await receivedOnReconnect(engine, id);
    expect(message).toMatchObject({ text: 'sent during the outage' });
    await engine.close();
  });

  it('a message whose key write lands only after its connection dropped (a warm chat in a database outage: its keys came from the cache) is decrypted by the next connection', async () => {
    const rows = new HoldableWrites();
    const auth = new InMemoryAuthStoreProvider(rows).forSession('org_15550003008');
    const engine = await linkedAfterSync(emulator, '15550003008', auth);
    const phone = emulator.phone('15550003008');
    await warmUp(engine, phone, '15559993008');
    rows.hold();
    const id = await phone.sendText('15559993008', 'sent during the outage');
    await engine.until(
      () => rows.waiting.some((row) => row.type === 'session'),
      5_000,
      'Baileys to write the Signal session it decrypted the message with',
    );
    const closed = engine.nextClose();
    phone.drop();
    await closed;
    // The database is back: the closed connection's write lands, after its receipt could go out.
    rows.land();

    const message = await receivedOnReconnect(engine, id);
    expect(message).toMatchObject({ text: 'sent during the outage' });
    await engine.close();
  });

  it('a message of the offline queue whose receipt went out just before the connection dropped is handed over (Baileys still held it in its event buffer)', async () => {
    const rows = new HoldableWrites();
    const auth = new InMemoryAuthStoreProvider(rows).forSession('org_15550003009');
    const engine = await linkedAfterSync(emulator, '15550003009', auth);
    const phone = emulator.phone('15550003009');
    const first = await phone.sendText('15559993009', 'before going offline');
    await engine.until(() => engine.messages.find((m) => m.waMessageId === first), 5_000, 'first');
    await engine.close();
    const id = await phone.sendText('15559993009', 'queued while offline');
    // The device's key write waits (a slow database) until the offline queue has ended: Baileys then
    // buffers the message's upsert for a moment after its receipt. WhatsApp drops the connection as
    // soon as it has the receipt.
    rows.hold();
    const receipts = emulator.clientReceipts;
    const record = receipts.push.bind(receipts);
    receipts.push = (...items) => {
      if (items.some((r) => r.id === id)) phone.drop();
      return record(...items);
    };
    try {
      expect(await engine.connect()).toHaveProperty('open');
      await engine.until(
        () => rows.waiting.some((row) => row.type === 'session'),
        5_000,
        'Baileys to write the Signal session it decrypted the message with',
      );
      const closed = engine.nextClose();
      rows.land();
      await closed;
    } finally {
      receipts.push = record;
    }

    expect(emulator.clientReceipts.some((r) => r.id === id)).toBe(true);
    const message = await receivedOnReconnect(engine, id, 5_000);
    expect(message).toMatchObject({ text: 'queued while offline' });
    await engine.close();
  });

  it('state survives an emulator restart on the same data directory and port', async () => {
    const engine = await linked(emulator, '15550003005');
    const phone = emulator.phone('15550003005');
    const id1 = await phone.sendText('15559993001', 'before restart');
    await engine.until(
      () => engine.messages.find((m) => m.waMessageId === id1),
      5_000,
      'first message',
    );
    const port = Number(new URL(emulator.url).port);
    const closed = engine.nextClose();
    await emulator.close();
    await closed;
    emulator = await WaEmulator.start({ dataDir: dir, port });
    expect(await engine.connect()).toHaveProperty('open');
    const id2 = await emulator.phone('15550003005').sendText('15559993001', 'after restart');
    const m = await engine.until(
      () => engine.messages.find((x) => x.waMessageId === id2),
      5_000,
      'message after restart',
    );
    expect(m.text).toBe('after restart');
    await engine.close();
  });
});
