import { loadConfig } from '@app/common';
import {
  InstanceShuttingDownError,
  QrNotAvailableError,
  SessionQueryService,
  type QrView,
  type SessionRegistry,
} from '@app/whatsapp';
import { onOneDatabase } from '@app/whatsapp/testing/registry-test-kit';
import type { SessionModuleGate } from './session-module-gate';
import { WhatsAppSessionsService } from './whatsapp-session.service';

describe('WhatsAppSessionsService.getQr', () => {
  const SESSION_ID = 'org1_sales';
  const setUp = (getQr: () => Promise<QrView>) => {
    const registry = { getQr: vi.fn(getQr) };
    const sessions = { findOneOrThrow: vi.fn(async () => ({ sessionId: SESSION_ID })) };
    const moduleGate = { stopIfSwitchedOff: vi.fn(async () => undefined) };
    const service = new WhatsAppSessionsService(
      registry as unknown as SessionRegistry,
      sessions as unknown as SessionQueryService,
      moduleGate as unknown as SessionModuleGate,
      loadConfig({ WHATSAPP_ENGINE: 'sandbox' }),
    );
    return { service, moduleGate };
  };
  const view = { qr: 'data:image/png;base64,AAAA', status: 'qr_ready' as const };

  it('reads no module for a poll of a session that runs already', async () => {
    const { service, moduleGate } = setUp(async () => view);
    await expect(service.getQr('org1', 'sales')).resolves.toEqual(view);
    expect(moduleGate.stopIfSwitchedOff).not.toHaveBeenCalled();
  });

  it('checks the module after a request that started the session, answered or not', async () => {
    const started = setUp(async () => ({ ...view, started: true }));
    await started.service.getQr('org1', 'sales');
    expect(started.moduleGate.stopIfSwitchedOff).toHaveBeenCalledWith('org1', SESSION_ID);
    // A refusal does not say whether the request started it: checked as well.
    const refused = setUp(async () => {
      throw new QrNotAvailableError(SESSION_ID, 'connecting');
    });
    await expect(refused.service.getQr('org1', 'sales')).rejects.toBeInstanceOf(
      QrNotAvailableError,
    );
    expect(refused.moduleGate.stopIfSwitchedOff).toHaveBeenCalledWith('org1', SESSION_ID);
  });
});

/**
 * A create rolled back (past the organization's limit, or refused by an instance shutting down)
 * deletes the session it created, unless an instance started it meanwhile (a QR asked of it as
 * soon as the name existed): the document of a session another instance runs is not deleted
 * under it, and the create stands (the session exists, and runs there).
 */
describe('WhatsAppSessionsService.create, rolled back', () => {
  const setUp = () => {
    const { store, instance } = onOneDatabase();
    const a = instance('A');
    const b = instance('B');
    const sessions = new SessionQueryService(store);
    const service = new WhatsAppSessionsService(
      a.registry,
      sessions,
      { stopIfSwitchedOff: async () => undefined } as unknown as SessionModuleGate,
      loadConfig({ WHATSAPP_ENGINE: 'sandbox', WHATSAPP_MAX_SESSIONS_PER_ORG: '1' }),
    );
    const shutDown = () =>
      Promise.all([a.registry.beforeApplicationShutdown(), b.registry.beforeApplicationShutdown()]);
    return { store, a, b, sessions, service, shutDown };
  };
  afterEach(() => vi.restoreAllMocks());

  it('refused by an instance shutting down: deleted, but not once another instance started it', async () => {
    const { store, a, b, service, shutDown } = setUp();
    vi.spyOn(a.registry, 'start').mockImplementationOnce(async (sessionId) => {
      await b.registry.start(sessionId); // a QR asked of B meanwhile
      throw new InstanceShuttingDownError(sessionId);
    });
    await expect(service.create('org1', 'started-on-b')).resolves.toMatchObject({
      sessionId: 'org1_started-on-b',
    });
    expect(store.docs.get('org1_started-on-b')?.lease?.owner).toBe('B');
    expect(b.registry.liveStatus('org1_started-on-b')).toBeDefined();
    await b.registry.destroy('org1_started-on-b'); // the limit is 1

    vi.spyOn(a.registry, 'start').mockRejectedValueOnce(
      new InstanceShuttingDownError('org1_nobody'),
    );
    await expect(service.create('org1', 'nobody')).rejects.toBeInstanceOf(
      InstanceShuttingDownError,
    );
    expect(store.docs.has('org1_nobody')).toBe(false);
    await shutDown();
  });
});
