/**
 * `promise`'s outcome, or `late()`'s (a fallback value, or a throw) when `ms` pass first. The
 * timer is cleared either way, so a bounded wait never keeps the process alive.
 */
export async function within<T, L>(
  promise: Promise<T>,
  ms: number,
  late: () => L,
): Promise<T | Awaited<L>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Awaited<L>>((resolve) => {
    timer = setTimeout(() => resolve(Promise.resolve().then(late) as Promise<Awaited<L>>), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
