import { EventEmitter } from 'node:events';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { serve } from './serve';

/** An app whose boot (init) waits until `finishBoot()`, recording the lifecycle calls in order. */
function fakeApp() {
  const calls: string[] = [];
  let finishBoot!: () => void;
  const booted = new Promise<void>((resolve) => (finishBoot = resolve));
  const app = {
    init: vi.fn(async () => {
      calls.push('init');
      await booted;
      calls.push('booted');
    }),
    listen: vi.fn(async () => void calls.push('listen')),
    close: vi.fn(async () => void calls.push('close')),
    enableShutdownHooks: vi.fn(() => void calls.push('shutdownHooks')),
  };
  return { app: app as unknown as NestExpressApplication, calls, finishBoot };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('serve', () => {
  it('a shutdown signal during the boot waits for the boot, then closes without listening', async () => {
    const proc = new EventEmitter();
    const { app, calls, finishBoot } = fakeApp();
    const served = serve(app, 5000, proc as unknown as NodeJS.Process);
    await settle();
    proc.emit('SIGTERM', 'SIGTERM');
    await settle();
    expect(calls).toEqual(['init']); // nothing closed under the boot step still running
    finishBoot();
    expect(await served).toBeUndefined();
    expect(calls).toEqual(['init', 'booted', 'close']);
    expect(proc.listenerCount('SIGTERM')).toBe(0);
  });

  it('a second signal during the boot ends the process at once (a boot step that never ends cannot hold it)', async () => {
    const proc = Object.assign(new EventEmitter(), { exit: vi.fn() });
    const { app, calls, finishBoot } = fakeApp();
    const served = serve(app, 5000, proc as unknown as NodeJS.Process);
    await settle();
    proc.emit('SIGTERM', 'SIGTERM');
    await settle();
    expect(proc.exit).not.toHaveBeenCalled(); // the first one waits for the boot
    proc.emit('SIGINT', 'SIGINT');
    // As the signal would by default: 128 + its number.
    expect(proc.exit).toHaveBeenCalledWith(130);
    expect(calls).toEqual(['init']);
    finishBoot(); // (a real process is gone by now)
    expect(await served).toBeUndefined();
  });

  it('without a signal it listens, then hands the signals to Nest', async () => {
    const proc = new EventEmitter();
    const { app, calls, finishBoot } = fakeApp();
    finishBoot();
    expect(await serve(app, 5000, proc as unknown as NodeJS.Process)).toBe(app);
    expect(calls).toEqual(['init', 'booted', 'listen', 'shutdownHooks']);
    expect(app.listen).toHaveBeenCalledWith(5000);
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'])
      expect(proc.listenerCount(signal)).toBe(0);
  });

  it('a signal while it starts listening closes it once it listens', async () => {
    const proc = new EventEmitter();
    const { app, calls, finishBoot } = fakeApp();
    (app.listen as unknown as ReturnType<typeof vi.fn>).mockImplementation(async () => {
      proc.emit('SIGINT', 'SIGINT');
      calls.push('listen');
    });
    finishBoot();
    expect(await serve(app, 5000, proc as unknown as NodeJS.Process)).toBeUndefined();
    expect(calls).toEqual(['init', 'booted', 'listen', 'close']);
  });
});
