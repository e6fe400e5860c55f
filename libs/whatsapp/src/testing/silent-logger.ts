import pino from 'pino';
import type { WaLogger } from '../engine/wa-logger';

/** Test logger: pino at 'silent'. */
export const silentLogger = (): WaLogger => pino({ level: 'silent' }) as unknown as WaLogger;
