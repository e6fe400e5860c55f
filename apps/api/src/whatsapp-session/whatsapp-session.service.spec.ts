import { loadConfig } from '@app/common';
import {
  QrNotAvailableError,
  type QrView,
  type SessionQueryService,
  type SessionRegistry,
} from '@app/whatsapp';
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
