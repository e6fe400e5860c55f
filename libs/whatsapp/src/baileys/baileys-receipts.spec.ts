import { proto, type WAMessage } from '@whiskeysockets/baileys';
import { statusFromOwnUpsert } from './baileys-receipts';

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
