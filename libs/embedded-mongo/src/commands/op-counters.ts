import type { Document } from 'bson';

/**
 * `serverStatus.opcounters` as mongod keeps them since the server started: documents inserted,
 * statements of update and delete commands, find and getMore commands, and every other command
 * (findAndModify, aggregate, count...) once. Counted when a command arrives, also if it then fails.
 */
export class OpCounters {
  private readonly counts = { insert: 0, query: 0, update: 0, delete: 0, getmore: 0, command: 0 };
  /** `serverStatus.network.numRequests`: every request received, one per command (a round trip). */
  private requests = 0;

  request(): void {
    this.requests++;
  }

  count(name: string, command: Document): void {
    const statements = (field: string) =>
      Array.isArray(command[field]) ? command[field].length : 0;
    if (name === 'insert') this.counts.insert += statements('documents');
    else if (name === 'update') this.counts.update += statements('updates');
    else if (name === 'delete') this.counts.delete += statements('deletes');
    else if (name === 'find') this.counts.query++;
    else if (name === 'getMore') this.counts.getmore++;
    else this.counts.command++;
  }

  snapshot(): Document {
    return { ...this.counts };
  }

  get numRequests(): number {
    return this.requests;
  }
}
