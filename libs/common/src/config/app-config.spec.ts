import { loadConfig } from './app-config';

describe('loadConfig', () => {
  it('applies defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 5000,
      DATA_DIR: './data',
      WHATSAPP_ENGINE: 'baileys',
      LOG_LEVEL: 'info',
      JWT_EXPIRES_IN: '12h',
      WHATSAPP_MAX_SESSIONS_PER_ORG: 10,
      MEDIA_FETCH_TIMEOUT_SECONDS: 30,
      MEDIA_SWEEP_INTERVAL_SECONDS: 3600,
      MEDIA_ORPHAN_GRACE_SECONDS: 3600,
      WEBHOOK_CONCURRENCY_PER_ORG: 8,
      SESSION_LEASE_TTL_SECONDS: 30,
      WA_RECONNECT_STABLE_SECONDS: 120,
      WA_RECONNECT_BASE_MS: 1000,
      WA_RECONNECT_MAX_DELAY_MS: 60000,
    });
    expect(config.MONGODB_URI).toBeUndefined();
  });

  it('coerces numbers', () => {
    expect(
      loadConfig({
        PORT: '8080',
        WHATSAPP_MAX_SESSIONS_PER_ORG: '3',
        WA_RECONNECT_BASE_MS: '50',
        WA_RECONNECT_MAX_DELAY_MS: '200',
      }),
    ).toMatchObject({
      PORT: 8080,
      WHATSAPP_MAX_SESSIONS_PER_ORG: 3,
      WA_RECONNECT_BASE_MS: 50,
      WA_RECONNECT_MAX_DELAY_MS: 200,
    });
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT must be an integer between 0 and 65535 (got "abc")'],
    [{ PORT: '70000' }, 'PORT must be an integer between 0 and 65535'],
    [{ WHATSAPP_ENGINE: 'selenium' }, 'WHATSAPP_ENGINE must be one of: baileys, sandbox'],
    [{ MONGODB_URI: 'postgres://x' }, 'MONGODB_URI must start with mongodb://'],
    [{ NODE_ENV: 'production' }, 'JWT_SECRET is required when NODE_ENV=production'],
    [{ JWT_SECRET: 'short' }, 'JWT_SECRET must be at least 32 characters'],
    [
      { JWT_EXPIRES_IN: 'forever' },
      'JWT_EXPIRES_IN must be a positive number of seconds, or a number',
    ],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of'],
    [
      { MEDIA_FETCH_TIMEOUT_SECONDS: '61' },
      'MEDIA_FETCH_TIMEOUT_SECONDS must be an integer between 1',
    ],
    [
      { MEDIA_SWEEP_INTERVAL_SECONDS: '30' },
      'MEDIA_SWEEP_INTERVAL_SECONDS must be an integer between 60 and 86400',
    ],
    [{ MEDIA_ORPHAN_GRACE_SECONDS: '60' }, 'MEDIA_ORPHAN_GRACE_SECONDS must be an integer >= 300'],
    [{ CORS_ORIGINS: 'https://app.example.com/path' }, 'CORS_ORIGINS must be * or'],
    [{ JWT_EXPIRES_IN: '0' }, 'JWT_EXPIRES_IN must be a positive number'],
    [{ JWT_EXPIRES_IN: '0m' }, 'JWT_EXPIRES_IN must be a positive number'],
    [
      { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1, not_a host!!, 999.1.1.1/40' },
      'WEBHOOK_ALLOWED_HOSTS must list host names, IPs or CIDR ranges separated by commas; not one: not_a host!!, 999.1.1.1/40',
    ],
    [
      { MEDIA_ALLOWED_HOSTS: '10.0.0.0/99' },
      'MEDIA_ALLOWED_HOSTS must list host names, IPs or CIDR ranges separated by commas; not one: 10.0.0.0/99',
    ],
    [{ CORS_ORIGINS: 'app.example.com' }, 'CORS_ORIGINS must be * or'],
    [{ CORS_ORIGINS: 'https://a.example.com,,https://b.example.com' }, 'CORS_ORIGINS must be * or'],
    [
      { SESSION_LEASE_TTL_SECONDS: '2' },
      'SESSION_LEASE_TTL_SECONDS must be an integer between 3 and 300',
    ],
    [
      { WA_RECONNECT_STABLE_SECONDS: '4' },
      'WA_RECONNECT_STABLE_SECONDS must be an integer between 5 and 3600',
    ],
    [{ WA_RECONNECT_BASE_MS: '9' }, 'WA_RECONNECT_BASE_MS must be an integer between 10 and 60000'],
    [
      { WA_RECONNECT_BASE_MS: '1.5s' },
      'WA_RECONNECT_BASE_MS must be an integer between 10 and 60000 (got "1.5s")',
    ],
    [
      { WA_RECONNECT_MAX_DELAY_MS: '3600001' },
      'WA_RECONNECT_MAX_DELAY_MS must be an integer between 10 and 3600000',
    ],
    [
      { WEBHOOK_CONCURRENCY_PER_ORG: '0' },
      'WEBHOOK_CONCURRENCY_PER_ORG must be an integer between 1 and 32',
    ],
    [
      { WEBHOOK_CONCURRENCY_PER_ORG: '33' },
      'WEBHOOK_CONCURRENCY_PER_ORG must be an integer between 1 and 32',
    ],
  ])('rejects %j naming the variable and the rule', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it.each([
    [undefined, 'loopback'],
    ['true', true],
    ['false', false],
    ['0', 0],
    ['2', 2],
    ['loopback', 'loopback'],
    ['loopback, 10.0.0.0/8, fd00::/8, 203.0.113.7', 'loopback, 10.0.0.0/8, fd00::/8, 203.0.113.7'],
    ['linklocal,uniquelocal,::1', 'linklocal,uniquelocal,::1'],
  ])('reads TRUST_PROXY %j as Express takes it (%j)', (value, expected) => {
    expect(loadConfig({ TRUST_PROXY: value }).TRUST_PROXY).toBe(expected);
  });

  it.each(['yes', '-1', '1.5', 'proxy.internal', '10.0.0.0/33', '::1/129', 'loopback,,10.0.0.1'])(
    'rejects TRUST_PROXY %j',
    (value) => {
      expect(() => loadConfig({ TRUST_PROXY: value })).toThrow(
        'TRUST_PROXY must be true, false, a hop count, or IPs/CIDR ranges',
      );
    },
  );

  it('accepts allow lists of host names, IPs and CIDR ranges', () => {
    const config = loadConfig({
      WEBHOOK_ALLOWED_HOSTS:
        'hooks.internal, 127.0.0.1, 10.0.0.0/8, [::1], fd00::/8, crm_svc.local.',
    });
    expect(config.WEBHOOK_ALLOWED_HOSTS).toContain('hooks.internal');
  });

  it('never quotes a secret back, and masks the password of a URL', () => {
    const message = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error('expected a configuration error');
    };
    expect(message({ JWT_SECRET: 'my-real-but-short-secret' })).toContain('(got 24 characters)');
    expect(message({ SECRETS_KEY: 'short' })).not.toContain('short"');
    expect(message({ NODE_ENV: 'production' })).toContain(
      'JWT_SECRET is required when NODE_ENV=production (got undefined)',
    );
    const uri = message({ MONGODB_URI: 'postgres://user:hunter2@db/x' });
    expect(uri).toContain('postgres://user:****@db/x');
    expect(uri).not.toContain('hunter2');
  });

  it('refuses a reconnect maximum below the base, naming both variables', () => {
    expect(() =>
      loadConfig({ WA_RECONNECT_BASE_MS: '5000', WA_RECONNECT_MAX_DELAY_MS: '1000' }),
    ).toThrow(
      'WA_RECONNECT_MAX_DELAY_MS must be at least WA_RECONNECT_BASE_MS, which is 5000 (got 1000)',
    );
    // Against the base's default too; and one equal to the base is a fixed delay.
    expect(() => loadConfig({ WA_RECONNECT_MAX_DELAY_MS: '500' })).toThrow(
      'WA_RECONNECT_MAX_DELAY_MS must be at least WA_RECONNECT_BASE_MS, which is 1000 (got 500)',
    );
    expect(
      loadConfig({ WA_RECONNECT_BASE_MS: '300', WA_RECONNECT_MAX_DELAY_MS: '300' }),
    ).toMatchObject({ WA_RECONNECT_BASE_MS: 300, WA_RECONNECT_MAX_DELAY_MS: 300 });
  });

  it('tells a bad reconnect base by its own rule only, not as a maximum below it', () => {
    const message = () => {
      try {
        loadConfig({ WA_RECONNECT_BASE_MS: '1.5s', WA_RECONNECT_MAX_DELAY_MS: '20' });
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error('expected a configuration error');
    };
    expect(message()).toBe(
      'Invalid configuration: WA_RECONNECT_BASE_MS must be an integer between 10 and 60000 (got "1.5s")',
    );
  });

  it('lists every bad variable in one line', () => {
    expect(() => loadConfig({ PORT: 'x', LOG_LEVEL: 'y' })).toThrow(
      /^Invalid configuration: .*PORT.*; .*LOG_LEVEL/,
    );
  });
});
