import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import {
  DocumentBuilder,
  getSchemaPath,
  OpenAPIObject,
  type OperationObject,
  type ParameterObject,
  type SchemaObject,
  SwaggerModule,
} from '@nestjs/swagger';
import type { CorsOptions } from '@nestjs/common/interfaces/external/cors-options.interface';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import {
  AppConfig,
  bodylessMethodBodyErrors,
  createValidationPipe,
  ErrorResponseDto,
  jsonBodyOnly,
  parsesJsonBody,
  requestIdMiddleware,
  UndeclaredInputInterceptor,
} from '@app/common';
import { AppModule } from './app.module';
import { documentValidationLimits } from './document-validation-limits';
import { GatewayExpressAdapter } from './gateway-express.adapter';
import { operationIdOf, queryDtosByOperationId } from './route-query-dtos';

export const API_PREFIX = 'api/v1';
/** Routes outside the /api/v1 prefix. */
const UNPREFIXED_ROUTES = ['health', 'dashboard', 'dashboard/{*path}'];
// Base64 media of a 100 MB document is ~134 MB of JSON.
const JSON_BODY_LIMIT = '140mb';

/**
 * Builds the Nest app with every global concern; shared by main.ts, e2e tests and the OpenAPI script.
 * `shutdownHooks: false` leaves the signals to the caller (main.ts: see serve.ts).
 */
export async function createApp(
  config: AppConfig,
  options: { shutdownHooks?: boolean } = {},
): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot(config),
    new GatewayExpressAdapter(),
    { bufferLogs: true, bodyParser: false },
  );
  app.useLogger(app.get(Logger));
  // First, so that errors of the body parser below carry the request id too.
  app.use(requestIdMiddleware());
  // Before the 415 check and the guards: a preflight has no body and no token.
  if (config.CORS_ORIGINS) app.enableCors(corsOptions(config.CORS_ORIGINS));
  app.use(securityHeaders());
  // No route takes another body type (no multipart or raw routes): anything else is a 415.
  app.use(jsonBodyOnly());
  app.useBodyParser('json', { limit: JSON_BODY_LIMIT, type: parsesJsonBody });
  app.use(bodylessMethodBodyErrors());
  applyGlobalPrefix(app);
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalInterceptors(new UndeclaredInputInterceptor());
  if (options.shutdownHooks !== false) app.enableShutdownHooks();
  app.set('trust proxy', config.TRUST_PROXY);
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json' });
  serveDashboard(app);
  return app;
}

/**
 * Helmet's defaults (nosniff, frame-ancestors, a same-origin CSP the dashboard and Swagger UI live
 * with, no X-Powered-By), except two that belong to whoever terminates TLS: HSTS, and upgrading
 * requests, which would break the dashboard on plain-HTTP localhost.
 */
function securityHeaders() {
  return helmet({
    hsts: false,
    contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
  });
}

/**
 * CORS for the origins of CORS_ORIGINS (or any with `*`). Tokens travel in the Authorization
 * header, never in cookies, so no credentials mode; the headers a client reads are exposed.
 */
export function corsOptions(origins: string): CorsOptions {
  const list = origins.split(',').map((origin) => origin.trim());
  return {
    origin: list.includes('*') ? '*' : list,
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: [
      'Authorization',
      'Content-Type',
      'Idempotency-Key',
      'Last-Event-ID',
      'X-Request-Id',
    ],
    exposedHeaders: ['X-Request-Id', 'Retry-After', 'Idempotent-Replayed', 'Content-Disposition'],
    maxAge: 600,
  };
}

/** The route prefix; also applied by the OpenAPI generator so both documents agree. */
export function applyGlobalPrefix(app: INestApplication): void {
  app.setGlobalPrefix(API_PREFIX, { exclude: UNPREFIXED_ROUTES });
}

/** The admin dashboard: static files from apps/dashboard/public (source tree, or next to dist/ in the image). */
function serveDashboard(app: NestExpressApplication): void {
  const candidates = [
    join(__dirname, '../../dashboard/public'),
    join(__dirname, '../../../../apps/dashboard/public'),
  ];
  const dir = candidates.find((candidate) => existsSync(join(candidate, 'index.html')));
  if (!dir) return;
  app.useStaticAssets(dir, {
    prefix: '/dashboard/',
    index: 'index.html',
    redirect: true,
    maxAge: 0,
  });
}

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const options = new DocumentBuilder()
    .setTitle('WhatsApp Business Gateway API')
    .setDescription(
      'Multi-tenant WhatsApp gateway: link numbers by QR, send and receive messages, contacts, statistics. ' +
        'Errors share one JSON shape (ErrorResponseDto). Sandbox routes exist only with WHATSAPP_ENGINE=sandbox or emulator.',
    )
    .setVersion('0.1.0')
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: 'accessToken from POST /api/v1/auth/register or /login',
      },
      'bearer',
    )
    .addSecurityRequirements('bearer')
    .addTag('auth', 'Register an organization, log in, the current user')
    .addTag('organizations', 'The caller’s organization, its users and enabled modules')
    .addTag(
      'sessions',
      'WhatsApp sessions (linked numbers): create, QR code / pairing code, status, restart, delete',
    )
    .addTag('messages', 'Send text and media (outbox), message history, chats, media download')
    .addTag('contacts', 'Synced WhatsApp contacts with tags, notes and the CRM customer link')
    .addTag('customers', 'Minimal CRM customers that contacts link to by phone (crm module)')
    .addTag('stats', 'Message, session and contact statistics with a time series')
    .addTag('webhooks', 'Signed HTTP callbacks for gateway events, with delivery history')
    .addTag('events', 'Live event stream (Server-Sent Events) of the organization')
    .addTag(
      'sandbox',
      'Simulated phone of the sandbox engine. These routes exist only when the gateway runs with WHATSAPP_ENGINE=sandbox (simulated engine) or emulator (real Baileys against the built-in WhatsApp Web emulator).',
    )
    .addTag('health', 'Liveness and readiness (public)')
    .build();
  const document = SwaggerModule.createDocument(app, options, {
    operationIdFactory: operationIdOf,
  });
  const limited = documentValidationLimits(
    commaQueryArrays(nullableNamedEnums(document)),
    queryDtosByOperationId(app),
  );
  return describeResponses(documentRequestErrors(limited));
}

/**
 * OpenAPI 3.0 ignores `nullable` beside a `$ref`, so a property whose named enum may be null must
 * find null allowed in the enum schema itself: an enum listing null is marked nullable.
 */
function nullableNamedEnums(document: OpenAPIObject): OpenAPIObject {
  for (const schema of Object.values(document.components?.schemas ?? {}) as SchemaObject[]) {
    if (schema.enum?.includes(null)) schema.nullable = true;
  }
  return document;
}

/**
 * A list in a query is one parameter, its items joined with commas (`types=a,b`, as the dashboard
 * and the SDK send it); OpenAPI's default for an array parameter is the parameter repeated.
 */
function commaQueryArrays(document: OpenAPIObject): OpenAPIObject {
  for (const item of Object.values(document.paths))
    for (const operation of Object.values(item) as OperationObject[])
      for (const parameter of (operation?.parameters ?? []) as ParameterObject[])
        if (parameter.in === 'query' && (parameter.schema as SchemaObject)?.type === 'array')
          Object.assign(parameter, { style: 'form', explode: false });
  return document;
}

const BODY_METHODS = new Set(['post', 'put', 'patch']);

/**
 * Answers of the layers before any handler, documented on the operations they reach. Every route
 * answers 400: VALIDATION_FAILED to a body sent to a route that takes none, or to a query
 * parameter it does not declare (UndeclaredInputInterceptor), BAD_REQUEST to a malformed path
 * (`%FF` in a parameter). Every POST, PUT and PATCH, bodyless ones included, answers 415
 * UNSUPPORTED_MEDIA_TYPE (jsonBodyOnly()) to a body of another Content-Type and 413
 * PAYLOAD_TOO_LARGE (the body parser) past its limit; a GET or DELETE answers neither
 * (parsesJsonBody(), bodylessMethodBodyErrors()): any body there is the 400.
 */
function documentRequestErrors(document: OpenAPIObject): OpenAPIObject {
  const errorShape = {
    'application/json': { schema: { $ref: getSchemaPath(ErrorResponseDto) } },
  };
  const badRequest = {
    description:
      'VALIDATION_FAILED: a body sent to a route that takes none, a query parameter the operation does not list, or input that fails validation (per-field messages in details); BAD_REQUEST: a malformed request, e.g. a path parameter that is not valid percent-encoding',
    content: errorShape,
  };
  const unsupported = {
    description:
      'UNSUPPORTED_MEDIA_TYPE: the body was sent with a Content-Type other than application/json (or application/*+json), or none',
    content: errorShape,
  };
  const tooLarge = {
    description: `PAYLOAD_TOO_LARGE: the body is over ${JSON_BODY_LIMIT}`,
    content: errorShape,
  };
  for (const item of Object.values(document.paths)) {
    for (const [method, operation] of Object.entries(item) as Array<[string, OperationObject]>) {
      if (!operation?.responses) continue;
      operation.responses['400'] ??= structuredClone(badRequest);
      if (!BODY_METHODS.has(method)) continue;
      operation.responses['415'] ??= structuredClone(unsupported);
      // The body parser's limit holds for every route (the send route names its media limits too).
      operation.responses['413'] ??= structuredClone(tooLarge);
    }
  }
  return document;
}

/** Standard texts for responses whose decorator gave no description (OpenAPI requires one). */
const RESPONSE_DESCRIPTIONS: Record<string, string> = {
  '200': 'OK',
  '201': 'Created',
  '202': 'Accepted',
  '204': 'No content',
  '400': 'Validation failed (per-field messages in details) or a malformed request',
  '401': 'Missing, invalid or expired token',
  '403': 'The role or an organization module does not allow this',
  '404': 'Not found in the caller’s organization',
  '409': 'Conflicts with the current state',
  '413': 'Payload too large',
  '429': 'Too many requests (Retry-After header)',
  '503': 'Temporarily unavailable',
};

function describeResponses(document: OpenAPIObject): OpenAPIObject {
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item)) {
      const responses = (operation as { responses?: Record<string, { description?: string }> })
        .responses;
      for (const [status, response] of Object.entries(responses ?? {})) {
        if (!response.description) response.description = RESPONSE_DESCRIPTIONS[status] ?? 'Error';
      }
    }
  }
  return document;
}
