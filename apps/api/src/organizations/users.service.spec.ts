import { Types } from 'mongoose';
import type { AuthUser } from '../auth/auth-user';
import { LastOwnerError } from './organizations.errors';
import type { UserRecord, UsersRepository } from './organizations.repository';
import { UsersService } from './users.service';

const ORG = new Types.ObjectId();

/** Users in memory; every call yields first, so concurrent updates interleave step by step. */
class FakeUsers {
  docs: UserRecord[] = [];
  private tick = () => new Promise((r) => setImmediate(r));
  async findInOrganization(_org: string, id: string) {
    await this.tick();
    const doc = this.docs.find((d) => String(d._id) === id);
    return doc ? { ...doc } : null;
  }
  async findById(id: string) {
    await this.tick();
    const doc = this.docs.find((d) => String(d._id) === id);
    return doc ? { ...doc } : null;
  }
  async countActiveOwners() {
    await this.tick();
    return this.docs.filter((d) => d.role === 'owner' && !d.disabled).length;
  }
  async update(id: Types.ObjectId, patch: Partial<UserRecord>, tokenVersionChange = 0) {
    await this.tick();
    const doc = this.docs.find((d) => d._id.equals(id));
    if (!doc) return null;
    Object.assign(doc, patch);
    doc.tokenVersion = (doc.tokenVersion ?? 0) + tokenVersionChange;
    return { ...doc };
  }
}

describe('UsersService.update', () => {
  const owner = (name: string) =>
    ({
      _id: new Types.ObjectId(),
      organizationId: ORG,
      name,
      email: `${name}@x.test`,
      role: 'owner',
      disabled: false,
    }) as unknown as UserRecord;
  const actor = (u: UserRecord): AuthUser => ({
    userId: String(u._id),
    organizationId: String(ORG),
    role: 'owner',
    email: u.email,
    tokenVersion: 0,
  });

  it.each([{ disabled: true }, { role: 'member' as const }])(
    'leaves an active owner when two owners apply %j to each other at once',
    async (patch) => {
      const users = new FakeUsers();
      const [a, b] = [owner('a'), owner('b')];
      users.docs.push(a, b);
      const service = new UsersService(users as unknown as UsersRepository);
      const results = await Promise.allSettled([
        service.update(actor(a), String(b._id), patch),
        service.update(actor(b), String(a._id), patch),
      ]);
      // Both passed the first check (two owners); neither may leave the organization without one.
      expect(await users.countActiveOwners()).toBeGreaterThanOrEqual(1);
      const refused = results.filter((r) => r.status === 'rejected');
      expect(refused.length).toBeGreaterThanOrEqual(1);
      for (const r of refused)
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(LastOwnerError);
      // A disable taken back takes its token revocation back too; one that stands keeps it.
      for (const doc of users.docs) expect(doc.tokenVersion ?? 0).toBe(doc.disabled ? 1 : 0);
    },
  );

  it('does not keep serving the state of a change it took back to the requests that read it meanwhile', async () => {
    const users = new FakeUsers();
    const [a, b] = [owner('a'), owner('b')];
    users.docs.push(a, b);
    const service = new UsersService(users as unknown as UsersRepository);
    // Both owners keep using the API while they disable each other: every request checks its user.
    let running = true;
    const requests = (async () => {
      while (running) {
        await Promise.all([service.findActive(String(a._id)), service.findActive(String(b._id))]);
        await new Promise((r) => setImmediate(r));
      }
    })();
    const results = await Promise.allSettled([
      service.update(actor(a), String(b._id), { disabled: true }),
      service.update(actor(b), String(a._id), { disabled: true }),
    ]);
    running = false;
    await requests;
    expect(results.some((r) => r.status === 'rejected')).toBe(true);
    // The users' tokens work exactly as their stored state says (a taken-back disable: at once).
    for (const doc of users.docs)
      expect((await service.findActive(String(doc._id)))?.disabled ?? true).toBe(doc.disabled);
  });
});
