import { ObsoleteIndexes, OrganizationSlotsBackfill } from '@app/common';
import {
  type DynamicModule,
  type InjectionToken,
  Module,
  type ModuleMetadata,
  type OptionalFactoryDependency,
  type Provider,
} from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { MongoAuthStoreProvider } from './auth-state/mongo-auth-store.provider';
import { WA_AUTH_STORE_PROVIDER } from './auth-state/wa-auth-store';
import { WaAuthKey, WaAuthKeySchema } from './auth-state/wa-auth-key.schema';
import { BaileysEngineFactory } from './baileys/baileys-engine.factory';
import { WA_ENGINE_FACTORY, type WaEngineFactory } from './engine/wa-connection';
import { EmulatorBackend } from './emulator/emulator-backend';
import { EmulatorEngineFactory } from './emulator/emulator-engine.factory';
import { SessionRegistry } from './registry/session-registry';
import { SandboxControl } from './sandbox/sandbox-control';
import { SandboxEngineFactory } from './sandbox/sandbox-engine.factory';
import { SandboxHub } from './sandbox/sandbox-hub';
import { MongoSessionStateStore } from './session-state/mongo-session-state.store';
import { SessionQueryService } from './session-state/session-query.service';
import { SESSION_STATE_STORE } from './session-state/session-state.store';
import {
  OBSOLETE_HOLDER_REQUEST_INDEXES,
  SessionHolderRequest,
  SessionHolderRequestSchema,
} from './session-state/holder-request.schema';
import {
  SessionDeletionNote,
  SessionDeletionNoteSchema,
} from './session-state/session-deletion-note.schema';
import { WhatsAppSession, WhatsAppSessionSchema } from './session-state/whatsapp-session.schema';
import {
  resolveWhatsAppOptions,
  WHATSAPP_OPTIONS,
  type WhatsAppOptions,
  type WhatsAppOptionsInput,
} from './whatsapp.options';

export interface WhatsAppCoreAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory: (...args: any[]) => WhatsAppOptionsInput | Promise<WhatsAppOptionsInput>;
  inject?: (InjectionToken | OptionalFactoryDependency)[];
}

/** Picks the engine once, from options: the rest of the app only sees WA_ENGINE_FACTORY. */
export function createEngineFactory(
  options: WhatsAppOptions,
  hub: SandboxHub,
  emulator?: EmulatorBackend,
): WaEngineFactory {
  if (options.engine === 'sandbox') return new SandboxEngineFactory(hub, options.qr);
  if (options.engine === 'emulator') {
    if (!emulator?.enabled) throw new Error("engine 'emulator' needs the running EmulatorBackend");
    return new EmulatorEngineFactory(emulator, {
      browserName: options.browserName,
      connectTimeoutMs: options.connectTimeoutMs,
    });
  }
  return new BaileysEngineFactory({
    browserName: options.browserName,
    waWebSocketUrl: options.waWebSocketUrl,
    connectTimeoutMs: options.connectTimeoutMs,
  });
}

/** engine = 'emulator' starts the in-process WhatsApp emulator here (before the engine factory needs its URL). */
export function createEmulatorBackend(
  options: WhatsAppOptions,
): Promise<EmulatorBackend> | EmulatorBackend {
  return options.engine === 'emulator'
    ? EmulatorBackend.start(options.emulatorDataDir)
    : EmulatorBackend.disabled();
}

const coreProviders: Provider[] = [
  {
    provide: SandboxHub,
    useFactory: (options: WhatsAppOptions) => new SandboxHub(options.sandboxMediaDir),
    inject: [WHATSAPP_OPTIONS],
  },
  { provide: EmulatorBackend, useFactory: createEmulatorBackend, inject: [WHATSAPP_OPTIONS] },
  SandboxControl,
  SessionRegistry,
  SessionQueryService,
  { provide: SESSION_STATE_STORE, useClass: MongoSessionStateStore },
  { provide: WA_AUTH_STORE_PROVIDER, useClass: MongoAuthStoreProvider },
  {
    provide: WA_ENGINE_FACTORY,
    useFactory: createEngineFactory,
    inject: [WHATSAPP_OPTIONS, SandboxHub, EmulatorBackend],
  },
];

/**
 * libs/whatsapp wiring. Needs MongooseModule.forRoot and EventEmitterModule.forRoot
 * in the app. Exports SessionRegistry, SessionQueryService and SandboxControl
 * (the latter only has live sessions when engine = 'sandbox' or 'emulator').
 */
@Module({})
export class WhatsAppCoreModule {
  static forRootAsync(options: WhatsAppCoreAsyncOptions): DynamicModule {
    return WhatsAppCoreModule.build(options.imports ?? [], {
      provide: WHATSAPP_OPTIONS,
      useFactory: async (...args: unknown[]) =>
        resolveWhatsAppOptions(await options.useFactory(...args)),
      inject: options.inject ?? [],
    });
  }

  static register(options: WhatsAppOptionsInput): DynamicModule {
    return WhatsAppCoreModule.build([], {
      provide: WHATSAPP_OPTIONS,
      useValue: resolveWhatsAppOptions(options),
    });
  }

  private static build(
    imports: NonNullable<ModuleMetadata['imports']>,
    optionsProvider: Provider,
  ): DynamicModule {
    return {
      module: WhatsAppCoreModule,
      imports: [
        ...imports,
        MongooseModule.forFeature([
          { name: WaAuthKey.name, schema: WaAuthKeySchema },
          { name: WhatsAppSession.name, schema: WhatsAppSessionSchema },
          { name: SessionHolderRequest.name, schema: SessionHolderRequestSchema },
          { name: SessionDeletionNote.name, schema: SessionDeletionNoteSchema },
        ]),
      ],
      providers: [
        optionsProvider,
        ...coreProviders,
        ObsoleteIndexes.provider(SessionHolderRequest.name, OBSOLETE_HOLDER_REQUEST_INDEXES),
        OrganizationSlotsBackfill.provider(WhatsAppSession.name),
      ],
      exports: [
        SessionRegistry,
        SessionQueryService,
        SandboxControl,
        WA_ENGINE_FACTORY,
        WHATSAPP_OPTIONS,
      ],
    };
  }
}
