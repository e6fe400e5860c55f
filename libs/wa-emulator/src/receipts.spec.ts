import type { ClientConnection } from './client-connection';
import type { EmulatorContext } from './emulator-context';
import { Groups } from './groups';
import type { BinaryNode } from './nodes';
import type { OutboundMessages } from './outbound';
import { Receipts } from './receipts';
import { StateStore } from './state';
import type { OutboundRecord } from './types';

const ACCOUNT = '15550001111';
const GROUP = '120363000000000077@g.us';

describe('Receipts.send: what the recipient of an outbound message reports', () => {
  let sent: BinaryNode[];
  let records: OutboundRecord[];
  let groups: Groups;
  let receipts: Receipts;

  beforeEach(() => {
    sent = [];
    records = [];
    const conn = { send: (n: BinaryNode) => sent.push(n) } as unknown as ClientConnection;
    const ctx = {
      store: new StateStore(),
      options: {},
      connections: { live: () => [conn] },
      log: () => undefined,
    } as unknown as EmulatorContext;
    groups = new Groups(ctx);
    const outbound = {
      find: (account: string, id: string) =>
        records.find((r) => r.account === account && r.id === id),
    } as unknown as OutboundMessages;
    receipts = new Receipts(ctx, outbound, groups);
  });

  const record = (id: string, to: string) =>
    records.push({ id, to, account: ACCOUNT } as OutboundRecord);

  it('one-to-one: from the contact; no type for delivered', () => {
    record('OUT1', '15559990001@s.whatsapp.net');
    receipts.send(ACCOUNT, 'OUT1', 'delivered');
    receipts.send(ACCOUNT, 'OUT1', 'read');
    expect(sent.map((n) => n.attrs)).toEqual([
      { from: '15559990001@s.whatsapp.net', id: 'OUT1', t: expect.any(String) },
      { from: '15559990001@s.whatsapp.net', id: 'OUT1', t: expect.any(String), type: 'read' },
    ]);
  });

  it('group: from the group, with the member who received it as participant (WhatsApp always names one)', () => {
    groups.ensure(GROUP, ACCOUNT, ['15559990002@s.whatsapp.net', '15559990003@s.whatsapp.net']);
    record('OUT2', GROUP);
    receipts.send(ACCOUNT, 'OUT2', 'delivered');
    receipts.send(ACCOUNT, 'OUT2', 'played', { from: '+1 555 999 0003' });
    expect(sent.map((n) => n.attrs)).toEqual([
      { from: GROUP, participant: '15559990002@s.whatsapp.net', id: 'OUT2', t: expect.any(String) },
      {
        from: GROUP,
        participant: '15559990003@s.whatsapp.net',
        id: 'OUT2',
        t: expect.any(String),
        type: 'played',
      },
    ]);
    expect(() => receipts.send(ACCOUNT, 'OUT2', 'read', { from: ACCOUNT })).toThrow(
      /not another member/,
    );
    expect(() => receipts.send(ACCOUNT, 'OUT2', 'read', { from: '15559990009' })).toThrow(
      /not another member/,
    );
    groups.ensure('120363000000000078@g.us', ACCOUNT);
    record('OUT3', '120363000000000078@g.us');
    expect(() => receipts.send(ACCOUNT, 'OUT3', 'read')).toThrow(/no member besides/);
  });

  it('a message it did not record (sent before a restart) is reported in the chat given', () => {
    groups.ensure(GROUP, ACCOUNT, ['15559990002@s.whatsapp.net']);
    expect(() => receipts.send(ACCOUNT, 'GONE', 'read')).toThrow(/no chat given/);
    receipts.send(ACCOUNT, 'GONE', 'read', { chat: '15559990001@s.whatsapp.net' });
    receipts.send(ACCOUNT, 'GONE', 'delivered', { chat: GROUP });
    expect(sent.map((n) => n.attrs)).toEqual([
      { from: '15559990001@s.whatsapp.net', id: 'GONE', t: expect.any(String), type: 'read' },
      { from: GROUP, participant: '15559990002@s.whatsapp.net', id: 'GONE', t: expect.any(String) },
    ]);
    // A recorded message keeps the chat it went to.
    record('OUT4', '15559990004@s.whatsapp.net');
    receipts.send(ACCOUNT, 'OUT4', 'read', { chat: '15559990001@s.whatsapp.net' });
    expect(sent.at(-1)?.attrs.from).toBe('15559990004@s.whatsapp.net');
  });
});
