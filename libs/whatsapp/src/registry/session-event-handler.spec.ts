import type { WaCloseInfo } from '../engine/close-reason';
import type { WaOpenInfo } from '../engine/wa-connection';
import { WA_EVENTS } from '../events';
import { makeRegistryKit, tick } from '../testing/registry-test-kit';
import { type ScriptedConnection, scriptedEngine } from '../testing/scripted-engine';

const OPEN: WaOpenInfo = { jid: '15551234567@s.whatsapp.net', phone: '15551234567' };
const LOST: WaCloseInfo = { code: 408, reason: 'connectionLost', message: 'Connection was lost' };

/** Lets the registry handle what was emitted (one at a time per session; a QR renders a PNG). */
const settle = async () => {
  await new Promise((resolve) => setTimeout(resolve, 200));
  await tick();
};

describe('SessionEventHandler: lifecycle events that come twice, late or out of order', () => {
  const started = async () => {
    const connections: ScriptedConnection[] = [];
    const kit = makeRegistryKit({ engine: () => scriptedEngine(connections) });
    const sessionId = await kit.createSession();
    await kit.registry.start(sessionId);
    return { kit, sessionId, connections, current: () => connections.at(-1)! };
  };

  it('a QR that comes after the connection opened leaves the session connected, and is not announced', async () => {
    const { kit, sessionId, current } = await started();
    current().emit('qr', 'ref-1,noise,identity,adv');
    current().emit('open', OPEN);
    await kit.waitStatus(sessionId, 'connected');
    const qrsBefore = kit.events.filter((e) => e.name === WA_EVENTS.sessionQr).length;

    current().emit('qr', 'ref-2,noise,identity,adv'); // late: a QR timer of the pairing fired
    await settle();
    expect(kit.registry.liveStatus(sessionId)).toBe('connected');
    expect(await kit.store.findBySessionId(sessionId)).toMatchObject({ status: 'connected' });
    expect((await kit.store.findBySessionId(sessionId))!.qr).toBeUndefined();
    expect(kit.events.filter((e) => e.name === WA_EVENTS.sessionQr)).toHaveLength(qrsBefore);
    expect(kit.statusTrail(sessionId)).toEqual(['connecting', 'qr_ready', 'connected']);
  });

  it('a `connecting` that comes after the QR or the open moves the session back to neither', async () => {
    const { kit, sessionId, current } = await started();
    current().emit('qr', 'ref-1,noise,identity,adv');
    await kit.waitStatus(sessionId, 'qr_ready');
    current().emit('connecting');
    await settle();
    expect(kit.registry.liveStatus(sessionId)).toBe('qr_ready');

    current().emit('open', OPEN);
    await kit.waitStatus(sessionId, 'connected');
    current().emit('connecting');
    await settle();
    expect(kit.registry.liveStatus(sessionId)).toBe('connected');
    expect(kit.registry.isConnected(sessionId)).toBe(true);
    expect(kit.statusTrail(sessionId)).toEqual(['connecting', 'qr_ready', 'connected']);
  });

  it('an `open` repeated on the same connection keeps when it connected (and the flap clock)', async () => {
    const { kit, sessionId, current } = await started();
    current().emit('open', OPEN);
    await kit.waitStatus(sessionId, 'connected');
    const connectedAt = (await kit.store.findBySessionId(sessionId))!.connectedAt;
    await new Promise((resolve) => setTimeout(resolve, 5));

    current().emit('open', { ...OPEN, pushName: 'Again' });
    await settle();
    expect((await kit.store.findBySessionId(sessionId))!.connectedAt).toEqual(connectedAt);
    expect(kit.statusTrail(sessionId)).toEqual(['connecting', 'connected']);
  });

  it('a close repeated on the same connection reconnects once', async () => {
    const { kit, sessionId, connections, current } = await started();
    current().emit('open', OPEN);
    await kit.waitStatus(sessionId, 'connected');
    const closing = current();
    closing.emit('close', LOST);
    closing.emit('close', LOST);
    await kit.waitStatus(sessionId, 'disconnected');
    await kit.waitStatus(sessionId, 'connecting', 5_000); // the backoff's reconnect (~1 s)
    await settle();
    expect(connections).toHaveLength(2);
    expect(kit.statusTrail(sessionId)).toEqual([
      'connecting',
      'connected',
      'disconnected',
      'connecting',
    ]);
    await kit.registry.stop(sessionId);
  });

  it('events of a connection a restart replaced change nothing: a late open, QR or close of the old one', async () => {
    const { kit, sessionId, connections } = await started();
    const old = connections[0];
    old.emit('open', OPEN);
    await kit.waitStatus(sessionId, 'connected');
    await kit.registry.restart(sessionId);
    expect(old.closed).toBe(true);
    const now = connections[1];
    now.emit('qr', 'ref-1,noise,identity,adv');
    await kit.waitStatus(sessionId, 'qr_ready');

    old.emit('open', OPEN);
    old.emit('qr', 'ref-old,noise,identity,adv');
    old.emit('close', LOST);
    await settle();
    expect(kit.registry.liveStatus(sessionId)).toBe('qr_ready');
    expect(connections).toHaveLength(2);
    await kit.registry.stop(sessionId);
  });
});
