import { randomUUID } from 'node:crypto';
import { type AppConfig, keptInDataDir } from '@app/common';

/**
 * The id this process holds session leases under. A process that comes back under the id it
 * crashed with takes its sessions back at once, instead of waiting out its own leases (30 s) with
 * the sessions reading connected but running nowhere:
 * - INSTANCE_ID when set (MongoDB with several instances: a stable name per instance, such as the
 *   pod name, and never one name for two live processes);
 * - on the embedded store, an id kept in DATA_DIR: only one process can open a data directory;
 * - otherwise random (the registry's default).
 */
export function instanceIdOf(config: AppConfig): string | undefined {
  if (config.INSTANCE_ID) return config.INSTANCE_ID;
  if (config.MONGODB_URI) return undefined;
  return keptInDataDir(config.DATA_DIR, 'instance-id', () => `wa-${randomUUID()}`).value;
}
