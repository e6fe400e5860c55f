import type { AuthRowBackend, AuthRowWrite } from './auth-row-backend';
import { BatchedAuthStoreProvider } from './batched-auth-store';

/** Map-backed rows, for tests and throwaway demos. Survives registry restarts within the process. */
export class InMemoryAuthRowBackend implements AuthRowBackend {
  readonly rows = new Map<string, Map<string, string>>();

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

  async writeMany(sessionId: string, rows: AuthRowWrite[], until?: Date): Promise<boolean> {
    if (until && this.now() >= until) return false;
    let session = this.rows.get(sessionId);
    if (!session) this.rows.set(sessionId, (session = new Map()));
    for (const row of rows) {
      if (row.value === null) session.delete(`${row.type}/${row.id}`);
      else session.set(`${row.type}/${row.id}`, row.value);
    }
    return true;
  }

  async deleteAll(sessionId: string, until?: Date): Promise<boolean> {
    if (until && this.now() >= until) return false;
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
