import { proto, type WAMessage } from '@whiskeysockets/baileys';
import {
  readElsewhereFromMessageUpdate,
  readElsewhereFromReceipt,
  readElsewhereFromUpsert,
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
