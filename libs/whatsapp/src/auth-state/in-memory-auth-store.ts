import type { AuthRowBackend, AuthRowWrite } from './auth-row-backend';
import { BatchedAuthStoreProvider } from './batched-auth-store';
import type { FenceTerm } from './wa-auth-store';

/** Map-backed rows, for tests and throwaway demos. Survives registry restarts within the process. */
export class InMemoryAuthRowBackend implements AuthRowBackend {
  readonly rows = new Map<string, Map<string, string>>();
  /** The epoch each session's fence names (MongoAuthRowBackend's fence row). */
  readonly fences = new Map<string, number>();

  async readMany(sessionId: string, type: string, ids: string[]): Promise<Map<string, string>> {
    const session = this.rows.get(sessionId);
    const out = new Map<string, string>();
    for (const id of ids) {
      const value = session?.get(`${type}/${id}`);
      if (value !== undefined) out.set(id, value);
    }
    return out;
  }

  /** The database's clock: this process's, unless a test moves it. */
  now = (): Date => new Date();

  async claimFence(sessionId: string, epoch: number): Promise<boolean> {
    const named = this.fences.get(sessionId) ?? epoch;
    if (named > epoch) return false;
    this.fences.set(sessionId, epoch);
    return true;
  }

  /** As MongoAuthRowBackend's: refused under another take than the fence's, or past `until`. */
  private refused(sessionId: string, term?: FenceTerm): boolean {
    if (!term) return false;
    const named = this.fences.get(sessionId);
    if (named !== undefined && named !== term.epoch) return true;
    this.fences.set(sessionId, term.epoch);
    return this.now() >= term.until;
  }

  async writeMany(sessionId: string, rows: AuthRowWrite[], term?: FenceTerm): Promise<boolean> {
    if (this.refused(sessionId, term)) return false;
    let session = this.rows.get(sessionId);
    if (!session) this.rows.set(sessionId, (session = new Map()));
    for (const row of rows) {
      if (row.value === null) session.delete(`${row.type}/${row.id}`);
      else session.set(`${row.type}/${row.id}`, row.value);
    }
    return true;
  }

  async deleteAll(sessionId: string, term?: FenceTerm): Promise<boolean> {
    if (this.refused(sessionId, term)) return false;
    if (!term) this.fences.delete(sessionId);
    this.rows.delete(sessionId);
    return true;
  }

  /** Test helper: store raw (possibly invalid) text. */
  putRaw(sessionId: string, type: string, id: string, raw: string): void {
    void this.writeMany(sessionId, [{ type, id, value: raw }]);
  }
}

export class InMemoryAuthStoreProvider extends BatchedAuthStoreProvider {
  declare readonly backend: InMemoryAuthRowBackend;

  constructor(backend: InMemoryAuthRowBackend = new InMemoryAuthRowBackend()) {
    super(backend);
  }
}
