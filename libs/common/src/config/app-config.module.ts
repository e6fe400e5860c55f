import { DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_CONFIG, AppConfig } from './app-config';
import { INSTANCE_ID, instanceIdOf } from './instance-id';

/**
 * Exposes the already validated configuration as APP_CONFIG (and through ConfigService), and this
 * process's instance id as INSTANCE_ID (resolved once: every holder of leases and claims shares it).
 */
@Global()
@Module({})
export class AppConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppConfigModule,
      imports: [
        ConfigModule.forRoot({
          isGlobal: true,
          ignoreEnvFile: true,
          ignoreEnvVars: true,
          load: [() => ({ ...config })],
        }),
      ],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: INSTANCE_ID, useFactory: () => instanceIdOf(config) },
      ],
      exports: [APP_CONFIG, INSTANCE_ID],
    };
  }
}
