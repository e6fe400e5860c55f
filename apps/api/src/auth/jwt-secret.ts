import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { type AppConfig, keptInDataDir } from '@app/common';

/**
 * JWT_SECRET when configured (required in production). In development a random secret is
 * generated once and kept under DATA_DIR so tokens survive restarts.
 */
export function resolveJwtSecret(config: AppConfig): string {
  if (config.JWT_SECRET) return config.JWT_SECRET;
  const kept = keptInDataDir(config.DATA_DIR, 'jwt-secret', () =>
    randomBytes(48).toString('base64url'),
  );
  if (kept.created)
    new Logger('Auth').warn(
      `JWT_SECRET is not set: generated a development secret in ${kept.file}. Set JWT_SECRET in production.`,
    );
  return kept.value;
}

/** '12h' / '15m' / '7d' / '3600' → seconds. The format is validated by the config schema. */
export function durationToSeconds(value: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(value);
  if (!match) throw new Error(`Invalid duration: ${value}`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}
