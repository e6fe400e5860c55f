import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { AppConfig, createValidationPipe } from '@app/common';
import { AppModule } from './app.module';

export const API_PREFIX = 'api/v1';
// Base64 media of a 100 MB document is ~134 MB of JSON.
const JSON_BODY_LIMIT = '140mb';

/** Builds the Nest app with every global concern; shared by main.ts, e2e tests and the OpenAPI script. */
export async function createApp(config: AppConfig): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bufferLogs: true,
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  app.useBodyParser('json', { limit: JSON_BODY_LIMIT });
  app.setGlobalPrefix(API_PREFIX, { exclude: ['health', 'dashboard', 'dashboard/{*path}'] });
  app.useGlobalPipes(createValidationPipe());
  app.enableShutdownHooks();
  app.set('trust proxy', 'loopback');
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json' });
  return app;
}

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const options = new DocumentBuilder()
    .setTitle('WhatsApp Business Gateway API')
    .setDescription(
      'Multi-tenant WhatsApp gateway: link numbers by QR, send and receive messages, contacts, statistics. ' +
        'Errors share one JSON shape (ErrorResponseDto). Sandbox routes exist only with WHATSAPP_ENGINE=sandbox.',
    )
    .setVersion('0.1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'bearer')
    .addSecurityRequirements('bearer')
    .build();
  return SwaggerModule.createDocument(app, options, {
    operationIdFactory: (controllerKey, methodKey) => `${controllerKey.replace(/Controller$/, '')}_${methodKey}`,
  });
}
