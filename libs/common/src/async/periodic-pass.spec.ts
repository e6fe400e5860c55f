import { PeriodicPass } from './periodic-pass';

describe('PeriodicPass', () => {
  /** A pass that runs until `finish` is called. */
  const blockingPass = () => {
    let finish!: () => void;
    const pass = vi.fn(() => new Promise<void>((resolve) => (finish = resolve)));
    return { pass, finish: () => finish() };
  };

  it('runs one pass at a time: a pass asked for meanwhile gets the one under way', async () => {
    const { pass, finish } = blockingPass();
    const passes = new PeriodicPass(pass, 60_000);
    const first = passes.run();
    expect(passes.run()).toBe(first);
    finish();
    await first;
    void passes.run();
    expect(pass).toHaveBeenCalledTimes(2);
  });

  it('stop waits for the pass under way, which sees it stopped, and starts no other', async () => {
    const { pass, finish } = blockingPass();
    const passes = new PeriodicPass(pass, 10);
    passes.start();
    let stoppedDone = false;
    const stopping = passes.stop().then(() => (stoppedDone = true));
    expect(passes.stopped).toBe(true);
    await Promise.resolve();
    expect(stoppedDone).toBe(false);
    finish();
    await stopping;
    await new Promise((r) => setTimeout(r, 30));
    expect(pass).toHaveBeenCalledTimes(1);
  });
});
