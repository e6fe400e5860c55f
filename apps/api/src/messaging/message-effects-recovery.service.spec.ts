import { Logger } from '@nestjs/common';
import type { MessageCreationService } from './message-creation.service';
import type { MessageCreationsRepository, OpenCreation } from './message-creations.repository';
import { MessageEffectsRecovery } from './message-effects-recovery.service';
import type { MessageStatusService } from './message-status.service';
import type { MessageRecord } from './message.types';
import type { MessagesRepository } from './messages.repository';

describe('MessageEffectsRecovery', () => {
  beforeEach(() => {
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => vi.restoreAllMocks());

  it('goes on past a note or a status change whose replay fails, leaving it leased for a later pass', async () => {
    const note = (id: string): OpenCreation => ({ id, sessionId: 's1', messageIds: [id] });
    const notes = [note('n1'), note('n2')];
    const changed = [{ _id: 'm1' }, { _id: 'm2' }] as MessageRecord[];
    const creations = {
      claimStale: async () => notes.shift(),
    } as unknown as MessageCreationsRepository;
    const messages = {
      claimStaleStatusEffects: async () => changed.shift() ?? null,
    } as unknown as MessagesRepository;
    const replayed: string[] = [];
    const creation = {
      replay: async (n: OpenCreation) => {
        if (n.id === 'n1') throw new Error('listener refused');
        replayed.push(n.id);
        return 1;
      },
    } as unknown as MessageCreationService;
    const status = {
      replayEffects: async (m: MessageRecord) => {
        if (m._id === 'm1') throw new Error('listener refused');
        replayed.push(m._id);
      },
    } as unknown as MessageStatusService;
    const recovery = new MessageEffectsRecovery(creations, creation, messages, status);

    await recovery.recover();

    expect(replayed).toEqual(['n2', 'm2']);
  });
});
