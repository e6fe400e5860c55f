import { MongoNetworkError } from 'mongodb';
import mongoose from 'mongoose';
import { useEmbeddedConnection } from '@app/embedded-mongo/testing/embedded-connection';
import { loadConfig } from '@app/common';
import type { WaSessionState } from '@app/whatsapp';
import type { WhatsAppSessionsService } from '../whatsapp-session/whatsapp-session.service';
import { IDEMPOTENCY_TTL_MS, IdempotencyRepository } from './idempotency.repository';
import type { MediaStorage } from './media/media-storage';
import type { MessageCreationService } from './message-creation.service';
import type { MessageRecord } from './message.types';
import { MessagesRepository } from './messages.repository';
import type { OutboxDispatcher } from './outbox-dispatcher';
import { IdempotencyKey, IdempotencyKeySchema } from './schemas/idempotency-key.schema';
import { Message, MessageSchema } from './schemas/message.schema';
import { ABANDONED_CLAIM_MS, SendMessageUseCase } from './send-message.usecase';

const session = {
  organizationId: 'org',
  sessionId: 'org_main',
  sessionName: 'main',
  status: 'connected',
} as WaSessionState;

describe('SendMessageUseCase group commit (embedded store)', () => {
  let connection: mongoose.Connection;
  let messages: MessagesRepository;
  const notes: Array<{ ids: string[]; completedWith?: string[]; closed?: boolean }> = [];
  const kicks: string[] = [];

  const connectionOf = useEmbeddedConnection('send');
  beforeAll(() => {
    connection = connectionOf();
    messages = new MessagesRepository(connection.model(Message.name, MessageSchema));
  });

  function useCase(
    repository: MessagesRepository = messages,
    idempotency = {} as IdempotencyRepository,
  ): SendMessageUseCase {
    const creation = {
      begin: async (_sessionId: string, ids: string[]) => {
        notes.push({ ids });
        return { id: String(notes.length - 1), sessionId: session.sessionId, messageIds: ids };
      },
      complete: async (note: { id: string }, created: MessageRecord[]) => {
        notes[Number(note.id)].completedWith = created.map((m) => String(m._id));
        notes[Number(note.id)].closed = true;
      },
      completeLeavingOpen: async (note: { id: string }, created: MessageRecord[]) => {
        notes[Number(note.id)].completedWith = created.map((m) => String(m._id));
      },
      abandon: async (note: { id: string }) => {
        notes[Number(note.id)].closed = true;
      },
    } as unknown as MessageCreationService;
    return new SendMessageUseCase(
      { getOwned: async () => session } as unknown as WhatsAppSessionsService,
      repository,
      creation,
      idempotency,
      { kick: (sessionId: string) => kicks.push(sessionId) } as unknown as OutboxDispatcher,
      {} as MediaStorage,
      loadConfig({ NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(40) }),
    );
  }

  beforeEach(() => {
    notes.length = 0;
    kicks.length = 0;
  });

  it('stores concurrent sends of a session together, each answered with its own message', async () => {
    const send = useCase();
    const texts = Array.from({ length: 12 }, (_, i) => `hello ${i}`);
    const stored = await Promise.all(
      texts.map(async (text) => {
        const outcome = await send.execute('org', {
          sessionName: 'main',
          to: '+201001234567',
          text,
        });
        return outcome.message;
      }),
    );
    expect(stored.map((m) => m.text)).toEqual(texts);
    expect(new Set(stored.map((m) => String(m._id))).size).toBe(12);
    expect(stored.every((m) => m.status === 'pending' && m.direction === 'out')).toBe(true);
    // All arrived within one turn of the event loop: one note, one insert, one round of effects.
    expect(notes.map((n) => n.ids.length)).toEqual([12]);
    expect(notes.flatMap((n) => n.completedWith)).toEqual(stored.map((m) => String(m._id)));
    expect(await connection.collection('messages').countDocuments({ text: /^hello / })).toBe(12);
    expect(kicks.length).toBeGreaterThanOrEqual(1);
  });

  describe('Idempotency-Key held by a request that never stored its message', () => {
    const text = { sessionName: 'main', to: '+201001234567', text: 'invoice 7' };
    let keys: IdempotencyRepository;
    beforeAll(() => {
      keys = new IdempotencyRepository(connection.model(IdempotencyKey.name, IdempotencyKeySchema));
    });
    /** A claim as a request that died between claiming the key and storing its message leaves it. */
    const orphanClaim = (key: string, claimedMsAgo: number) =>
      connection.collection('idempotency_keys').insertOne({
        organizationId: 'org',
        key,
        messageId: '0123456789abcdef01234567',
        expiresAt: new Date(Date.now() - claimedMsAgo + IDEMPOTENCY_TTL_MS),
      });

    it('is taken over by a retry once the claim is older than any accept can take', async () => {
      await orphanClaim('died', ABANDONED_CLAIM_MS + 1_000);
      const send = useCase(messages, keys);
      const first = await send.execute('org', text, 'died');
      expect(first).toMatchObject({ replayed: false, message: { text: 'invoice 7' } });
      const again = await send.execute('org', text, 'died');
      expect(again.replayed).toBe(true);
      expect(String(again.message._id)).toBe(String(first.message._id));
    });

    it('answers 409 with Retry-After while the claim is young (its request may still be at work)', async () => {
      await orphanClaim('busy', 0);
      const refused = await useCase(messages, keys)
        .execute('org', text, 'busy')
        .catch((error: unknown) => error);
      expect(refused).toMatchObject({
        code: 'IDEMPOTENCY_KEY_IN_USE',
        status: 409,
        headers: { 'Retry-After': '1' },
      });
      expect(
        await connection.collection('messages').countDocuments({ idempotencyKey: 'busy' }),
      ).toBe(0);
    });

    it('is claimed by a retry whose claim was refused while the request holding it gave up', async () => {
      // The holder (a young claim: at work) fails, a media download refused, and releases the key
      // between the retry's refused insert and its read of who holds it.
      await orphanClaim('gave-up', 0);
      const holderOf = keys.holderOf.bind(keys);
      const spy = vi.spyOn(keys, 'holderOf').mockImplementationOnce(async (org, key) => {
        await keys.release(org, key, '0123456789abcdef01234567');
        return holderOf(org, key);
      });
      const outcome = await useCase(messages, keys).execute('org', text, 'gave-up');
      spy.mockRestore();
      expect(outcome).toMatchObject({ replayed: false, message: { text: 'invoice 7' } });
      expect((await keys.holderOf('org', 'gave-up'))?.messageId).toBe(String(outcome.message._id));
    });
  });

  it('fails only the request whose message the database refuses', async () => {
    // A repository whose batch insert refuses one message (as schema validation would).
    const refusing = Object.create(messages) as MessagesRepository;
    refusing.insertAll = async (batch) => {
      const outcomes = await messages.insertAll(batch.filter((m) => m.text !== 'bad'));
      return batch.map((m) => (m.text === 'bad' ? new Error('refused') : outcomes.shift()!));
    };
    const send = useCase(refusing);
    const results = await Promise.allSettled(
      ['one', 'bad', 'three'].map((text) =>
        send.execute('org', { sessionName: 'main', to: '+201001234567', text }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toEqual(new Error('refused'));
    // Effects ran for the stored messages only.
    const completed = notes.flatMap((n) => n.completedWith ?? []);
    expect(completed).toHaveLength(2);
  });

  describe('an insert whose answer the connection lost', () => {
    /** Stores the batch, then answers as if the connection broke before the acknowledgement. */
    function losingAnswers(reads: 'answer' | 'fail'): MessagesRepository {
      const repository = Object.create(messages) as MessagesRepository;
      repository.insertAll = async (batch) => {
        await messages.insertAll(batch);
        return batch.map(() => new MongoNetworkError('connection reset'));
      };
      if (reads === 'fail')
        repository.findByIds = async () => {
          throw new MongoNetworkError('connection reset');
        };
      return repository;
    }
    const sendTo = (send: SendMessageUseCase, text: string) =>
      send.execute('org', { sessionName: 'main', to: '+201001234567', text });

    it('answers with the messages it stored and runs their effects', async () => {
      const send = useCase(losingAnswers('answer'));
      const outcomes = await Promise.all(['lost 1', 'lost 2'].map((text) => sendTo(send, text)));
      expect(outcomes.map((o) => o.message.text)).toEqual(['lost 1', 'lost 2']);
      expect(notes).toEqual([
        {
          ids: outcomes.map((o) => String(o.message._id)),
          completedWith: outcomes.map((o) => String(o.message._id)),
          closed: true,
        },
      ]);
    });

    it('keeps the creation note open for recovery when what it stored cannot be read either', async () => {
      const refused = await sendTo(useCase(losingAnswers('fail')), 'lost 3').catch(
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(MongoNetworkError);
      expect(await connection.collection('messages').countDocuments({ text: 'lost 3' })).toBe(1);
      expect(notes).toHaveLength(1);
      expect(notes[0].closed).toBeUndefined(); // MessageEffectsRecovery replays it
    });
  });
});

describe('MessagesRepository.insertAll (embedded store)', () => {
  let connection: mongoose.Connection;
  let messages: MessagesRepository;

  const connectionOf = useEmbeddedConnection('insert_all');
  beforeAll(() => {
    connection = connectionOf();
    messages = new MessagesRepository(connection.model(Message.name, MessageSchema));
  });

  const message = (id: string, text: string) => ({
    _id: id,
    organizationId: 'org',
    sessionId: 'org_main',
    sessionName: 'main',
    direction: 'out' as const,
    chatJid: '201001234567@s.whatsapp.net',
    fromMe: true,
    type: 'text' as const,
    text,
    status: 'pending' as const,
    timestamp: new Date(),
  });

  it('stores a valid batch in one insert, in order', async () => {
    const stored = await messages.insertAll([message('a1', 'one'), message('a2', 'two')]);
    expect(stored.map((m) => (m as MessageRecord).text)).toEqual(['one', 'two']);
    expect(
      await connection
        .collection('messages')
        .countDocuments({ _id: { $in: ['a1', 'a2'] } as never }),
    ).toBe(2);
  });

  it('falls back to one by one: an invalid message fails alone, and one stored already is recognised', async () => {
    await messages.insertAll([message('b1', 'first')]); // as if a failed batch had stored it
    const invalid = { ...message('b2', 'broken'), status: 'nonsense' as never };
    const outcomes = await messages.insertAll([
      message('b1', 'first'),
      invalid,
      message('b3', 'third'),
    ]);
    expect((outcomes[0] as MessageRecord).text).toBe('first');
    expect(outcomes[1]).toBeInstanceOf(Error);
    expect((outcomes[1] as Error).message).toMatch(/status/);
    expect((outcomes[2] as MessageRecord).text).toBe('third');
    expect(
      await connection
        .collection('messages')
        .countDocuments({ _id: { $in: ['b1', 'b2', 'b3'] } as never }),
    ).toBe(2);
  });
});
