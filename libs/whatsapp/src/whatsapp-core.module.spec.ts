import { EventEmitterModule } from '@nestjs/event-emitter';
import { MongooseModule } from '@nestjs/mongoose';
import { Test, type TestingModule } from '@nestjs/testing';
import { SessionAlreadyExistsError } from './errors';
import { SessionRegistry } from './registry/session-registry';
import { SandboxControl } from './sandbox/sandbox-control';
import { SessionQueryService } from './session-state/session-query.service';
import { silentLogger } from './testing/silent-logger';
import { WhatsAppCoreModule } from './whatsapp-core.module';

/**
 * The Nest wiring against MongoDB (TEST_MONGODB_URI, else libs/embedded-mongo):
 * create → QR → scan → connected → app restart → restored without a scan → logout.
 */
describe('WhatsAppCoreModule (sandbox engine, MongoDB stores)', () => {
  let uri: string | undefined;
  let closeServer: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    uri = process.env.TEST_MONGODB_URI;
    if (uri) return;
    try {
      const specifier = '@app/embedded-mongo';
      const mod = await import(specifier);
      const server = await mod.EmbeddedMongoServer.start({});
      uri = server.uri(`wa_core_${Date.now()}`) as string;
      closeServer = () => server.close();
    } catch {
      uri = undefined;
    }
  });
  afterAll(() => closeServer?.());

  const boot = async (instanceId: string): Promise<TestingModule> => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        MongooseModule.forRoot(uri!),
        EventEmitterModule.forRoot(),
        WhatsAppCoreModule.forRootAsync({
          useFactory: () => ({
            engine: 'sandbox',
            instanceId,
            logger: silentLogger(),
            qrWaitMs: 5_000,
          }),
        }),
      ],
    }).compile();
    moduleRef.enableShutdownHooks();
    await moduleRef.init(); // starts the boot restore (in the background)
    return moduleRef;
  };

  it('links a session, survives an app restart without a new scan, then logs out', async (ctx) => {
    if (!uri) return ctx.skip();
    const first = await boot('instance-1');
    const sessions = first.get(SessionQueryService);
    const registry = first.get(SessionRegistry);
    const created = await sessions.create({ organizationId: 'orgA', sessionName: 'sales' });
    expect(created).toMatchObject({ sessionId: 'orgA_sales', status: 'disconnected' });
    await expect(
      sessions.create({ organizationId: 'orgA', sessionName: 'sales' }),
    ).rejects.toBeInstanceOf(SessionAlreadyExistsError);

    const qr = await registry.getQr('orgA_sales');
    expect(qr.qr).toMatch(/^data:image\/png;base64,/);
    await first.get(SandboxControl).scan('orgA_sales', '15551230000');
    expect(await registry.waitForStatus('orgA_sales', (s) => s === 'connected', 5_000)).toBe(
      'connected',
    );
    expect((await sessions.findOne('orgA_sales'))!.lease!.owner).toBe('instance-1');
    await first.close(); // onApplicationShutdown: close without logout, release the lease

    const second = await boot('instance-2');
    const registry2 = second.get(SessionRegistry);
    expect(await registry2.waitForStatus('orgA_sales', (s) => s === 'connected', 5_000)).toBe(
      'connected',
    );
    const doc = (await second.get(SessionQueryService).findOne('orgA_sales'))!;
    expect(doc).toMatchObject({
      status: 'connected',
      phone: '15551230000',
      organizationId: 'orgA',
      sessionName: 'sales',
    });
    expect(doc.lease!.owner).toBe('instance-2');
    expect(await second.get(SessionQueryService).listByOrganization('orgA')).toHaveLength(1);

    await registry2.logout('orgA_sales');
    expect((await second.get(SessionQueryService).findOne('orgA_sales'))!.status).toBe(
      'logged_out',
    );
    await second.close();
  });
});
