/**
 * Per key, the settlement of the promise tracked last: awaiting it waits for everything tracked
 * before it under that key, when those settle in order (a queue). A key is forgotten once its last
 * promise settled, so the map holds only keys with work under way.
 */
export class SettledTails {
  private readonly tails = new Map<string, Promise<void>>();

  /** Tracks `promise` as the key's last; returns its settlement, which never rejects. */
  track(key: string, promise: Promise<unknown>): Promise<void> {
    const tail = promise.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return tail;
  }

  /** The settlement of the key's last tracked promise, if it has not settled yet. */
  last(key: string): Promise<void> | undefined {
    return this.tails.get(key);
  }

  /** Keys with a promise not settled yet. */
  get size(): number {
    return this.tails.size;
  }
}
