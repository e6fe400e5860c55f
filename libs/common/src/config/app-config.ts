import { isIP } from 'node:net';
import { plainToInstance, Transform } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateBy,
  ValidateIf,
  type ValidationArguments,
  validateSync,
} from 'class-validator';
import { invalidAllowListEntries } from '../net/ssrf-guard';

export const WHATSAPP_ENGINES = ['baileys', 'sandbox', 'emulator'] as const;
export type WhatsAppEngineKind = (typeof WHATSAPP_ENGINES)[number];
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const NODE_ENVS = ['development', 'production', 'test'] as const;

/** Variables whose value never appears in an error message (logs, CI output). */
const SECRET_VARIABLES = new Set(['JWT_SECRET', 'SECRETS_KEY']);

/** A comma-separated list of host names, IPs or CIDR ranges (WEBHOOK_ALLOWED_HOSTS…). */
const IsAllowList = () =>
  ValidateBy({
    name: 'isAllowList',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'string' && invalidAllowListEntries(value).length === 0,
      defaultMessage: (args?: ValidationArguments) =>
        `${args!.property} must list host names, IPs or CIDR ranges separated by commas; not one: ${invalidAllowListEntries(
          String(args!.value),
        ).join(', ')}`,
    },
  });

/**
 * A variable that must not be below the variable `floor`: checked only when both are integers, so
 * a `floor` that is no number is told by its own rule alone.
 */
const AtLeastVariable = (floor: keyof EnvironmentVariables) =>
  ValidateBy({
    name: 'atLeastVariable',
    validator: {
      validate: (value: unknown, args?: ValidationArguments) => {
        const bound: unknown = (args!.object as EnvironmentVariables)[floor];
        return (
          !Number.isInteger(value) || !Number.isInteger(bound) || Number(value) >= Number(bound)
        );
      },
      defaultMessage: (args?: ValidationArguments) =>
        `${args!.property} must be at least ${floor}, which is ${String((args!.object as EnvironmentVariables)[floor])}`,
    },
  });

/** Express's 'trust proxy': all (true) or none (false), a hop count, or trusted proxy addresses. */
export type TrustProxy = boolean | number | string;
const TRUST_PROXY_SUBNETS = new Set(['loopback', 'linklocal', 'uniquelocal']);
const TRUST_PROXY_MESSAGE =
  'TRUST_PROXY must be true, false, a hop count, or IPs/CIDR ranges (or loopback, linklocal, uniquelocal) separated by commas';

const toTrustProxy = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const trimmed = value.trim();
  if (trimmed === 'true' || trimmed === 'false') return trimmed === 'true';
  return /^\d+$/.test(trimmed) ? Number(trimmed) : value;
};

/** One address entry of TRUST_PROXY as proxy-addr takes it: a named subnet, an IP or IP/prefix. */
function isTrustedProxyEntry(entry: string): boolean {
  if (TRUST_PROXY_SUBNETS.has(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  const version = isIP(address);
  if (!version || rest.length) return false;
  if (prefix === undefined) return true;
  return /^\d+$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128);
}

const IsTrustProxy = () =>
  ValidateBy({
    name: 'isTrustProxy',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'boolean' ||
        Number.isSafeInteger(value) ||
        (typeof value === 'string' &&
          value.split(',').every((entry) => isTrustedProxyEntry(entry.trim()))),
      defaultMessage: () => TRUST_PROXY_MESSAGE,
    },
  });

/** How a bad value is quoted back: secrets by length only, a URL's password masked. */
function shownValue(variable: string, value: unknown): string {
  if (SECRET_VARIABLES.has(variable))
    return typeof value === 'string' ? `${value.length} characters` : String(value);
  if (typeof value === 'string') {
    const url = URL.parse(value);
    if (url?.password) {
      url.password = '****';
      return JSON.stringify(url.href);
    }
  }
  return JSON.stringify(value);
}

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;

/**
 * An integer variable from `min` up to `max` (inclusive; no upper bound when omitted), read from
 * its string; every breach says the same: "<NAME> must be an integer between 1 and 60".
 */
function IntegerVariable(min: number, max?: number, hint = ''): PropertyDecorator {
  const range = max === undefined ? `>= ${min}` : `between ${min} and ${max}`;
  const message = ({ property }: ValidationArguments) =>
    `${property} must be an integer ${range}${hint}`;
  const decorators = [
    Transform(toInt),
    IsInt({ message }),
    Min(min, { message }),
    ...(max === undefined ? [] : [Max(max, { message })]),
  ];
  return (target, key) => decorators.forEach((decorate) => decorate(target, key));
}

/**
 * Every environment variable the gateway reads. Only this file touches process.env
 * (via loadConfig); everything else receives the validated AppConfig.
 */
export class EnvironmentVariables {
  @IsOptional()
  @IsIn(NODE_ENVS, { message: 'NODE_ENV must be one of: development, production, test' })
  NODE_ENV: (typeof NODE_ENVS)[number] = 'development';

  @IntegerVariable(0, 65535)
  PORT: number = 5000;

  @IsOptional()
  @Matches(/^mongodb(\+srv)?:\/\/.+/, {
    message: 'MONGODB_URI must start with mongodb:// or mongodb+srv://',
  })
  MONGODB_URI?: string;

  @IsString()
  @MinLength(1, { message: 'DATA_DIR must not be empty' })
  DATA_DIR: string = './data';

  @IsIn(['always', 'batch', 'never'], {
    message: 'EMBEDDED_MONGO_FSYNC must be one of: always, batch, never',
  })
  EMBEDDED_MONGO_FSYNC: 'always' | 'batch' | 'never' = 'batch';

  /** Set once to open an embedded journal damaged before intact records by cutting it there. */
  @IsIn(['true', 'false'], {
    message: 'EMBEDDED_MONGO_TRUNCATE_CORRUPT_JOURNAL must be true or false',
  })
  EMBEDDED_MONGO_TRUNCATE_CORRUPT_JOURNAL: 'true' | 'false' = 'false';

  @ValidateIf(
    (env: EnvironmentVariables) => env.NODE_ENV === 'production' || env.JWT_SECRET !== undefined,
  )
  // class-validator checks the decorator nearest the property first.
  @MinLength(32, { message: 'JWT_SECRET must be at least 32 characters' })
  @IsString({ message: 'JWT_SECRET is required when NODE_ENV=production' })
  JWT_SECRET?: string;

  /** Encrypts webhook signing secrets at rest; defaults to a key derived from JWT_SECRET. */
  @IsOptional()
  @MinLength(32, { message: 'SECRETS_KEY must be at least 32 characters' })
  @IsString({ message: 'SECRETS_KEY must be a string' })
  SECRETS_KEY?: string;

  @Matches(/^[1-9]\d*[smhd]?$/, {
    message:
      'JWT_EXPIRES_IN must be a positive number of seconds, or a number with s, m, h or d (e.g. 3600, 15m, 12h, 7d)',
  })
  JWT_EXPIRES_IN: string = '12h';

  @IsIn(WHATSAPP_ENGINES, { message: 'WHATSAPP_ENGINE must be one of: baileys, sandbox, emulator' })
  WHATSAPP_ENGINE: WhatsAppEngineKind = 'baileys';

  @IsIn(LOG_LEVELS, { message: `LOG_LEVEL must be one of: ${LOG_LEVELS.join(', ')}` })
  LOG_LEVEL: (typeof LOG_LEVELS)[number] = 'info';

  @IntegerVariable(1, 1000)
  WHATSAPP_MAX_SESSIONS_PER_ORG: number = 10;

  @IsOptional()
  @IntegerVariable(0, undefined, ' (0 = unlimited)')
  SEND_RATE_PER_MINUTE?: number;

  @IsOptional()
  @Matches(/^wss?:\/\/.+/, { message: 'WA_WEBSOCKET_URL must start with ws:// or wss://' })
  WA_WEBSOCKET_URL?: string;

  @IsString()
  WA_BROWSER_NAME: string = 'WA Gateway';

  /**
   * The name this instance holds session leases under; a restart under the same name takes its
   * sessions back at once. Unset: kept in DATA_DIR on the embedded store, random on MongoDB.
   */
  @IsOptional()
  @Matches(/^[A-Za-z0-9._-]{1,64}$/, {
    message: 'INSTANCE_ID must be 1-64 letters, digits, dots, dashes or underscores',
  })
  INSTANCE_ID?: string;

  /**
   * How long a session lease lasts unrenewed (renewed every third of it): how soon another
   * instance takes over the sessions of one that died, and how often each looks for such.
   */
  @IntegerVariable(3, 300)
  SESSION_LEASE_TTL_SECONDS: number = 30;

  /**
   * How long a session's connection must stay open before its reconnect budget (20 closes in a
   * row) starts afresh: one closed again sooner counts as a failed attempt, so a flapping session
   * backs off and ends `failed` instead of reconnecting for ever.
   */
  @IntegerVariable(5, 3600)
  WA_RECONNECT_STABLE_SECONDS: number = 120;

  /**
   * First delay before a session reconnects after a close (doubling, ±20 % jitter, up to
   * WA_RECONNECT_MAX_DELAY_MS); at least 10 ms, so even a test setting never spins.
   */
  @IntegerVariable(10, 60_000)
  WA_RECONNECT_BASE_MS: number = 1_000;

  /**
   * Longest delay between two reconnects of a session; equal to the base, every delay is the base.
   * One below the base fails boot: it would silently cut the base down to it.
   */
  @AtLeastVariable('WA_RECONNECT_BASE_MS')
  @IntegerVariable(10, 3_600_000)
  WA_RECONNECT_MAX_DELAY_MS: number = 60_000;

  /**
   * Which peers' X-Forwarded-For is believed, which decides the client address (the per-address
   * login limit): the default trusts a proxy on loopback only.
   */
  @Transform(toTrustProxy)
  @IsTrustProxy()
  TRUST_PROXY: TrustProxy = 'loopback';

  @IntegerVariable(1)
  LOGIN_MAX_FAILURES: number = 10;

  @IntegerVariable(1)
  LOGIN_FAILURE_WINDOW_SECONDS: number = 900;

  @IntegerVariable(1)
  MESSAGE_PENDING_DEADLINE_SECONDS: number = 86_400;

  @IntegerVariable(1)
  MESSAGE_RETRY_BASE_MS: number = 2000;

  @IsOptional()
  @IsAllowList()
  WEBHOOK_ALLOWED_HOSTS?: string;

  /**
   * Browser origins allowed to call the API from another origin (CORS), comma-separated, or `*`.
   * Unset: no CORS headers, so only same-origin pages (the dashboard, Swagger UI) can call it.
   */
  @IsOptional()
  @Matches(/^\s*(\*|https?:\/\/[^/\s,]+(\s*,\s*https?:\/\/[^/\s,]+)*)\s*$/, {
    message:
      'CORS_ORIGINS must be * or comma-separated origins like https://app.example.com (scheme, host, optional port; no path)',
  })
  CORS_ORIGINS?: string;

  /** Hosts/IPs/CIDRs that media.url of a send may point at although they are private or loopback. */
  @IsOptional()
  @IsAllowList()
  MEDIA_ALLOWED_HOSTS?: string;

  /**
   * How long fetching media.url of a send may take, body included; at most 60 s, since a retry
   * with the request's Idempotency-Key takes over a claim its download left behind only after
   * 120 s (ABANDONED_CLAIM_MS).
   */
  @IntegerVariable(1, 60)
  MEDIA_FETCH_TIMEOUT_SECONDS: number = 30;

  /** How often stored media that no message holds is looked for and deleted (MediaOrphanSweep). */
  @IntegerVariable(60, 86400)
  MEDIA_SWEEP_INTERVAL_SECONDS: number = 3_600;

  /**
   * How old stored media without a message must be before the sweep deletes it: a send stores its
   * media before its message, and a download its bytes before noting them on the message.
   */
  @IntegerVariable(300)
  MEDIA_ORPHAN_GRACE_SECONDS: number = 3_600;

  @IntegerVariable(1)
  WEBHOOK_RETRY_BASE_MS: number = 5000;

  /**
   * Webhook lanes (webhook × session) of one organization delivering at once per instance, of the
   * instance's 32; the others wait their turn (round-robin by organization), so one tenant's slow
   * receivers cannot take every slot.
   */
  @IntegerVariable(1, 32)
  WEBHOOK_CONCURRENCY_PER_ORG: number = 8;
}

export type AppConfig = Readonly<EnvironmentVariables>;

export class ConfigValidationError extends Error {}

/** Validates raw variables; throws one line per bad variable, naming it and the rule. */
export function loadConfig(raw: Record<string, string | undefined>): AppConfig {
  const defined = Object.fromEntries(
    Object.entries(raw).filter(([, v]) => v !== undefined && v !== ''),
  );
  const config = plainToInstance(EnvironmentVariables, defined, { exposeDefaultValues: true });
  // One rule per variable: the first one it breaks.
  const errors = validateSync(config, { whitelist: false, stopAtFirstError: true });
  if (errors.length > 0) {
    const lines = errors.flatMap((e) =>
      Object.values(e.constraints ?? {}).map(
        (msg) => `${msg} (got ${shownValue(e.property, e.value)})`,
      ),
    );
    throw new ConfigValidationError(`Invalid configuration: ${lines.join('; ')}`);
  }
  return Object.freeze(config);
}

/** The one place that reads process.env. */
export function loadConfigFromEnv(): AppConfig {
  return loadConfig(process.env);
}

export const APP_CONFIG = Symbol('APP_CONFIG');
