/**
 * Spec files of a worker share one module graph (isolate: false): a spy a file put on a shared
 * module (Logger.prototype, say) is taken off once its tests ran, so it never reaches the next.
 */
afterAll(() => {
  vi.restoreAllMocks();
});
