/** How many sends are remembered: minutes of sending at any safe rate, a few hundred KB at most. */
const CAPACITY = 10_000;

/**
 * The WhatsApp ids of the messages this process handed to the engine lately, oldest forgotten
 * first. WhatsApp acknowledges each send it took (Baileys' SERVER_ACK, the sandbox's `sent`
 * receipt): for these the ack says what the send's own record says (`sent`, or nothing if the
 * record fails and the send goes again), so it is dropped instead of costing two round trips.
 */
export class RecentSends {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity = CAPACITY) {}

  remember(sessionId: string, waMessageId: string): void {
    const key = keyOf(sessionId, waMessageId);
    this.ids.delete(key); // a repeat moves to the newest end
    this.ids.add(key);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value!);
  }

  has(sessionId: string, waMessageId: string): boolean {
    return this.ids.has(keyOf(sessionId, waMessageId));
  }
}

const keyOf = (sessionId: string, waMessageId: string) => `${sessionId}\u0000${waMessageId}`;
