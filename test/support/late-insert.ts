import type { Model } from 'mongoose';
import type { Response } from 'supertest';

/**
 * Sends `first` and holds the insert it makes through `model.create` (its document, id included,
 * made already) until every request of `rivals` was answered, then lets it land: a create whose
 * insert comes last with the oldest id, which a limit counted before the insert and ranked by id
 * after it let through. Answers the rivals' responses, then the first's.
 */
export async function withLateFirstInsert<T>(
  model: Model<T>,
  first: () => Promise<Response>,
  rivals: () => Promise<Response>[],
): Promise<Response[]> {
  let entered!: () => void;
  const insertHeld = new Promise<void>((resolve) => (entered = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  vi.spyOn(model, 'create').mockImplementationOnce((async (input: Partial<T>) => {
    const doc = new model(input);
    entered();
    await released;
    return doc.save();
  }) as never);
  const late = Promise.resolve(first()); // a supertest request starts once it is awaited
  await insertHeld;
  const answered = await Promise.all(rivals());
  release();
  return [...answered, await late];
}
