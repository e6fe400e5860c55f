import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WaEmulator } from './wa-emulator';

describe('WaEmulator restarted on its data directory', () => {
  it('listens on the port of its previous run, so the media URLs it handed out still answer', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'wa-emulator-'));
    try {
      const first = await WaEmulator.start({ dataDir });
      const port = new URL(first.httpUrl).port;
      await first.close();
      const second = await WaEmulator.start({ dataDir });
      expect(new URL(second.httpUrl).port).toBe(port);
      // Taken meanwhile: any free port rather than no emulator.
      const third = await WaEmulator.start({ dataDir });
      expect(new URL(third.httpUrl).port).not.toBe(port);
      await third.close();
      await second.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
