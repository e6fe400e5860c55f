import { proto } from '@whiskeysockets/baileys';
import type { EmulatorContext } from './emulator-context';
import type { Envelopes } from './envelopes';
import { node } from './nodes';
import { RetryReceipts } from './retry-receipts';
import type { CompanionRecord, EmulatorState, UserRecord } from './state';

describe('RetryReceipts across a restart of the emulator', () => {
  const contact = { phone: '201550000001', lid: '99001', pushName: '', device: {} } as UserRecord;
  const companion = { deviceId: 3, removed: false } as CompanionRecord;

  function run(state: EmulatorState) {
    const ctx = {
      store: { state, save: vi.fn() },
      directory: { companion: () => companion },
      log: vi.fn(),
    } as unknown as EmulatorContext;
    const encsFor = vi.fn(async () => [node('enc', { v: '2', type: 'msg' })]);
    const send = vi.fn();
    const receipts = new RetryReceipts(ctx, { encsFor } as unknown as Envelopes, send);
    return { receipts, encsFor, send };
  }

  const retryReceipt = (id: string) =>
    node('receipt', { id, type: 'retry' }, [node('retry', { count: '1', id })]);

  it('re-encrypts a message sent before the restart when its device asks again', async () => {
    const state: EmulatorState = { version: 1, users: { [contact.phone]: contact }, accounts: {} };
    const before = run(state);
    before.receipts.remember({
      account: '201001234567',
      deviceId: 3,
      id: 'MSG1',
      t: '1700000000',
      outgoing: {
        sender: contact,
        attrs: { from: `${contact.phone}@s.whatsapp.net`, type: 'text' },
        message: { conversation: 'hello again' },
      },
      undecryptableLeft: 0,
      resends: 1,
    });
    before.receipts.persist();

    const after = run(JSON.parse(JSON.stringify(state)) as EmulatorState);
    await after.receipts.onRetryReceipt('201001234567', 3, retryReceipt('MSG1'));
    expect(after.send).toHaveBeenCalledTimes(1);
    const [outgoing] = after.encsFor.mock.calls[0] as unknown as [
      { sender: UserRecord; message: proto.IMessage },
    ];
    // The sender is the state's live record (its Signal session moves on), the message as sent.
    expect(outgoing.sender.phone).toBe(contact.phone);
    expect(proto.Message.create(outgoing.message).conversation).toBe('hello again');
    expect(after.receipts.records.at(-1)).toMatchObject({ id: 'MSG1', resent: true });
    // Its resends count on: the bound holds across restarts.
    await after.receipts.onRetryReceipt('201001234567', 3, retryReceipt('MSG1'));
    await after.receipts.onRetryReceipt('201001234567', 3, retryReceipt('MSG1'));
    expect(after.send).toHaveBeenCalledTimes(2);
  });
});
