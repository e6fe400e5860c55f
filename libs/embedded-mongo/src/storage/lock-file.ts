import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

const LOCK_FILE = 'embedded-mongo.lock';

/**
 * Takes the data directory's lock file (holding our pid, on Linux when this process started, and
 * the host name). A lock left by a process that no longer exists is taken over; a live owner —
 * including this very process — makes opening fail. A pid is reused (a container's process is pid
 * 1 at every start), so where the start time is known a live process that started at another time
 * is not the owner. A lock written on another host (another container sharing the volume, whose
 * pids are not ours to check) is never taken over: it is removed by hand once that one is gone.
 */
export function acquireDataDirLock(dataDir: string): () => void {
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n${processStart(process.pid) ?? ''}\n${hostname()}\n`);
      closeSync(fd);
      return () => unlinkSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const [pid, started, host] = readFileSync(path, 'utf8').split('\n');
      const owner = Number.parseInt(pid, 10);
      const elsewhere = !!host && host !== hostname();
      if (Number.isInteger(owner) && (elsewhere || isAlive(owner, started))) {
        throw new Error(
          `embedded-mongo: data directory ${dataDir} is already in use by process ${owner}${elsewhere ? ` on ${host}` : ''} (lock file ${path})`,
        );
      }
      unlinkSync(path); // stale lock of a dead process
    }
  }
  throw new Error(`embedded-mongo: could not take the lock file ${path}`);
}

function isAlive(pid: number, started: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  const current = processStart(pid);
  // Unknown on either side (another OS, a lock written without it): the pid alone decides.
  return !started || current === undefined || current === started;
}

/** When a process started, as `<boot id>:<start time in clock ticks>`; undefined off Linux. */
function processStart(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name (which may hold spaces) start at field 3; starttime is 22.
  const starttime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  return starttime ? `${bootId()}:${starttime}` : undefined;
}

/** Tells boots apart (start times count from the boot); empty where it cannot be read. */
function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}
