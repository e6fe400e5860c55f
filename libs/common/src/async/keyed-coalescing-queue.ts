import { KeyedDrainLoop } from './keyed-drain-loop';

export interface KeyedCoalescingQueueOptions<I, H> {
  /** What an item key holds once `item` is folded into what it held (undefined: nothing yet). */
  fold: (held: H | undefined, item: I) => H;
  /**
   * Processes one round of a key: what each item key held when the round began, in the order the
   * item keys first came. Must not throw (a throw is swallowed: the key's next round still runs).
   */
  process: (key: string, round: Map<string, H>) => Promise<void>;
  /** Most item keys one key holds for its next round; an item of a further one is refused. */
  maxHeld: number;
  /** Told once per round of a key that it refused an item (the first refusal). */
  onFull: (key: string) => void;
}

/**
 * Per key (a session), work that can be merged while it waits: what is pushed while a key's round
 * runs is folded, per item key (a message, a contact), into its next round. What waits is bounded by
 * the distinct item keys, not by how many times they came, and by `maxHeld`. One round per key at a
 * time, so a key's rounds run in push order.
 */
export class KeyedCoalescingQueue<I, H> {
  private readonly next = new Map<string, Map<string, H>>();
  private readonly full = new Set<string>();
  private readonly rounds = new KeyedDrainLoop<Map<string, H>>(
    (key) => this.takeRound(key),
    (key, round) => this.options.process(key, round),
  );

  constructor(private readonly options: KeyedCoalescingQueueOptions<I, H>) {}

  /** Folds `item` into the key's next round; false if it was refused (`maxHeld` item keys held). */
  push(key: string, itemKey: string, item: I): boolean {
    const round = this.next.get(key) ?? new Map<string, H>();
    const held = round.get(itemKey);
    if (held === undefined && round.size >= this.options.maxHeld) {
      if (!this.full.has(key)) {
        this.full.add(key);
        this.options.onFull(key);
      }
      return false;
    }
    round.set(itemKey, this.options.fold(held, item));
    this.next.set(key, round);
    this.rounds.start(key);
    return true;
  }

  /** Item keys held for the key's next round (the round under way not counted). */
  heldCount(key: string): number {
    return this.next.get(key)?.size ?? 0;
  }

  /** Resolves once the key's rounds are done: the items pushed so far, and any pushed meanwhile. */
  async settled(key: string): Promise<void> {
    await this.rounds.settled(key);
  }

  /** Resolves once every key's rounds are done. */
  async idle(): Promise<void> {
    await this.rounds.idle();
  }

  /** The key's next round, which takes its refusals with it: the next one says so again. */
  private takeRound(key: string): Map<string, H> | undefined {
    const round = this.next.get(key);
    if (!round) return undefined;
    this.next.delete(key);
    this.full.delete(key);
    return round;
  }
}
