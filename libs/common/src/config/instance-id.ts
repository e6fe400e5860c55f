import { randomUUID } from 'node:crypto';
import type { AppConfig } from './app-config';
import { keptInDataDir } from './data-dir-value';

/**
 * DI token of this process's instance id (a string): the name it holds session leases under, and
 * the owner recorded on the work it claims (outbox sends, webhook deliveries), so that a restart
 * under the same name knows which claims were its own and takes them back at once.
 */
export const INSTANCE_ID = Symbol('INSTANCE_ID');

const randomInstanceId = () => `wa-${randomUUID()}`;

/**
 * The id this process holds session leases (and its claims) under. A process that comes back under
 * the id it crashed with takes its sessions and its in-flight work back at once, instead of waiting
 * out its own leases and claims (30 s, 60 s) with the sessions reading connected but running nowhere:
 * - INSTANCE_ID when set (MongoDB with several instances: a stable name per instance, such as the
 *   pod name, and never one name for two live processes);
 * - on the embedded store, an id kept in DATA_DIR: only one process can open a data directory;
 * - otherwise random: a restart is a new instance, whose predecessor's claims run out their time.
 */
export function instanceIdOf(config: AppConfig): string {
  if (config.INSTANCE_ID) return config.INSTANCE_ID;
  if (config.MONGODB_URI) return randomInstanceId();
  return keptInDataDir(config.DATA_DIR, 'instance-id', randomInstanceId).value;
}
