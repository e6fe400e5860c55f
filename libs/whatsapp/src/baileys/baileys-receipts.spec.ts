import { proto, type BinaryNode, type WAMessage } from '@whiskeysockets/baileys';
import {
  readElsewhereFromMessageUpdate,
  readElsewhereFromReceipt,
  readElsewhereFromUpsert,
  statusesFromReceiptNode,
  statusFromReceipt,
  statusFromOwnUpsert,
} from './baileys-receipts';

const Status = proto.WebMessageInfo.Status;
const own = (status: number | undefined, fromMe = true): WAMessage =>
  ({ key: { id: 'ABC', remoteJid: '15551234567@s.whatsapp.net', fromMe }, status }) as WAMessage;

describe('statusFromOwnUpsert (receipts folded into the buffered upsert of our own send)', () => {
  it('reports delivered / read / played carried by our own upsert', () => {
    expect(statusFromOwnUpsert(own(Status.DELIVERY_ACK))).toMatchObject({
      waMessageId: 'ABC',
      chatJid: '15551234567@s.whatsapp.net',
      status: 'delivered',
    });
    expect(statusFromOwnUpsert(own(Status.READ))?.status).toBe('read');
    expect(statusFromOwnUpsert(own(Status.PLAYED))?.status).toBe('played');
  });

  it('ignores pending/server-ack upserts and messages from others', () => {
    expect(statusFromOwnUpsert(own(Status.PENDING))).toBeUndefined();
    expect(statusFromOwnUpsert(own(Status.SERVER_ACK))).toBeUndefined();
    expect(statusFromOwnUpsert(own(undefined))).toBeUndefined();
    expect(statusFromOwnUpsert(own(Status.READ, false))).toBeUndefined();
  });
});

describe('receipts of our other devices (read-self): received messages read on the phone', () => {
  const me = { jid: '15550009999@s.whatsapp.net', lid: '777@lid' };
  const PEER = '15551234567@s.whatsapp.net';

  it('a one-to-one read-self (messages.update of a received message) is read elsewhere', () => {
    // Baileys' shape for <receipt from=me recipient=peer type="read-self">.
    const update = {
      key: { id: 'IN1', remoteJid: PEER, fromMe: false },
      update: { status: Status.READ, messageTimestamp: 1_700_000_000 },
    };
    expect(readElsewhereFromMessageUpdate(update)).toEqual({
      waMessageId: 'IN1',
      chatJid: PEER,
      at: new Date(1_700_000_000_000),
    });
    const played = { ...update, update: { status: Status.PLAYED } };
    expect(readElsewhereFromMessageUpdate(played)?.waMessageId).toBe('IN1');
    // Delivered to another device is not read; our own messages' updates are statuses.
    expect(
      readElsewhereFromMessageUpdate({ ...update, update: { status: Status.DELIVERY_ACK } }),
    ).toBeUndefined();
    expect(
      readElsewhereFromMessageUpdate({ ...update, key: { ...update.key, fromMe: true } }),
    ).toBeUndefined();
  });

  it('a group receipt from our own user (phone number or LID) is read elsewhere, not a status', () => {
    const fromUser = (userJid: string) => ({
      key: { id: 'G1', remoteJid: '1203@g.us', fromMe: true, participant: userJid },
      receipt: { userJid, readTimestamp: 1_700_000_000 },
    });
    for (const own of ['15550009999@s.whatsapp.net', '15550009999:3@s.whatsapp.net', '777@lid']) {
      expect(readElsewhereFromReceipt(fromUser(own), me)).toEqual({
        waMessageId: 'G1',
        chatJid: '1203@g.us',
        at: new Date(1_700_000_000_000),
      });
      expect(statusFromReceipt(fromUser(own), me)).toBeUndefined();
    }
    // Another member's receipt is a status of our message, as before.
    expect(readElsewhereFromReceipt(fromUser(PEER), me)).toBeUndefined();
    expect(statusFromReceipt(fromUser(PEER), me)?.status).toBe('read');
    // A delivery to our own device is no read.
    const delivered = { ...fromUser(me.jid), receipt: { userJid: me.jid, receiptTimestamp: 1 } };
    expect(readElsewhereFromReceipt(delivered, me)).toBeUndefined();
  });

  it('a received message whose buffered upsert took in a read (offline queue) is read elsewhere', () => {
    // What Baileys' event buffer makes of an upsert and a read-self update in one flush.
    const upsert = (status: number | undefined, fromMe = false) =>
      ({ key: { id: 'OFF1', remoteJid: PEER, fromMe }, status }) as WAMessage;
    expect(readElsewhereFromUpsert(upsert(Status.READ))).toMatchObject({
      waMessageId: 'OFF1',
      chatJid: PEER,
    });
    expect(readElsewhereFromUpsert(upsert(Status.PLAYED))?.waMessageId).toBe('OFF1');
    // A fresh received message carries no status; our own messages' statuses are statuses.
    expect(readElsewhereFromUpsert(upsert(undefined))).toBeUndefined();
    expect(readElsewhereFromUpsert(upsert(Status.DELIVERY_ACK))).toBeUndefined();
    expect(readElsewhereFromUpsert(upsert(Status.READ, true))).toBeUndefined();
  });
});

describe('statusesFromReceiptNode (receipt stanzas, before Baileys merges them)', () => {
  const me = { jid: '15550009999@s.whatsapp.net', lid: '777@lid' };
  const PEER = '15551234567@s.whatsapp.net';
  const GROUP = '120363000000000001@g.us';
  const T = '1700000000';
  const receipt = (attrs: Record<string, string>, content?: BinaryNode[]): BinaryNode => ({
    tag: 'receipt',
    attrs: { id: 'OUT1', t: T, ...attrs },
    ...(content ? { content } : {}),
  });
  const statuses = (node: BinaryNode) =>
    statusesFromReceiptNode(node, me).map((s) => `${s.waMessageId}:${s.status}`);

  it('one-to-one: no type is delivered, then read and played, from any device of the recipient', () => {
    expect(statusesFromReceiptNode(receipt({ from: PEER }), me)).toEqual([
      { waMessageId: 'OUT1', chatJid: PEER, status: 'delivered', at: new Date(1_700_000_000_000) },
    ]);
    expect(statuses(receipt({ from: PEER, type: 'read' }))).toEqual(['OUT1:read']);
    expect(statuses(receipt({ from: PEER, type: 'played' }))).toEqual(['OUT1:played']);
    // A second device of the recipient, a contact known by LID: the chat is the user.
    expect(
      statusesFromReceiptNode(receipt({ from: '15551234567:2@s.whatsapp.net' }), me)[0],
    ).toMatchObject({ chatJid: PEER, status: 'delivered' });
    expect(
      statusesFromReceiptNode(receipt({ from: '4242:1@lid', type: 'read' }), me)[0],
    ).toMatchObject({ chatJid: '4242@lid', status: 'read' });
  });

  it('every stanza counts: read then delivered in one batch gives both (Baileys merges them into delivered)', () => {
    const seen = [receipt({ from: PEER, type: 'read' }), receipt({ from: PEER })].flatMap(statuses);
    expect(seen).toEqual(['OUT1:read', 'OUT1:delivered']);
  });

  it('covers every message a receipt lists', () => {
    const list = {
      tag: 'list',
      attrs: {},
      content: ['OUT2', 'OUT3'].map((id) => ({ tag: 'item', attrs: { id } })),
    };
    expect(statuses(receipt({ from: PEER, type: 'read' }, [list]))).toEqual([
      'OUT1:read',
      'OUT2:read',
      'OUT3:read',
    ]);
  });

  it('group: the member who received, read or played it; played stays played', () => {
    const member = '15557654321@s.whatsapp.net';
    expect(statusesFromReceiptNode(receipt({ from: GROUP, participant: member }), me)).toEqual([
      { waMessageId: 'OUT1', chatJid: GROUP, status: 'delivered', at: new Date(1_700_000_000_000) },
    ]);
    expect(statuses(receipt({ from: GROUP, participant: member, type: 'read' }))).toEqual([
      'OUT1:read',
    ]);
    expect(statuses(receipt({ from: GROUP, participant: '99@lid', type: 'played' }))).toEqual([
      'OUT1:played',
    ]);
    // WhatsApp always names the member; Baileys drops a group receipt without one.
    expect(statuses(receipt({ from: GROUP, type: 'read' }))).toEqual([]);
  });

  it('ignores our own devices, other receipt types and receipts about received messages', () => {
    // read-self / played-self / sender: another device of the account (read elsewhere, not a status).
    expect(statuses(receipt({ from: me.jid, recipient: PEER, type: 'read-self' }))).toEqual([]);
    expect(statuses(receipt({ from: GROUP, participant: '777:4@lid', type: 'read' }))).toEqual([]);
    expect(statuses(receipt({ from: GROUP, participant: me.jid }))).toEqual([]);
    expect(statuses(receipt({ from: '15550009999:2@s.whatsapp.net', recipient: PEER }))).toEqual(
      [],
    );
    for (const type of ['retry', 'inactive', 'sender', 'server-error', 'played-self', 'peer_msg'])
      expect(statuses(receipt({ from: PEER, type }))).toEqual([]);
    // A receipt with a recipient is about a message someone else sent (Baileys: not fromMe).
    expect(statuses(receipt({ from: PEER, recipient: '15550001111@s.whatsapp.net' }))).toEqual([]);
    expect(statuses({ tag: 'ack', attrs: { id: 'X', from: PEER, class: 'receipt' } })).toEqual([]);
  });
});
