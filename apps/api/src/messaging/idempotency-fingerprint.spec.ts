import { describe, expect, it } from 'vitest';
import type { SendMessageDto } from './dto/send-message.dto';
import { sendFingerprint } from './idempotency-fingerprint';

const text: SendMessageDto = { sessionName: 'main', to: '+201001234567', text: 'hello' };

describe('sendFingerprint', () => {
  it('is the same for the same request however the recipient and default type are spelled', () => {
    const same = [
      { ...text },
      { ...text, to: '201001234567' },
      { ...text, to: '201001234567@s.whatsapp.net' },
      { ...text, type: 'text' as const },
      { ...text, caption: undefined },
    ];
    expect(new Set(same.map(sendFingerprint)).size).toBe(1);
  });

  it('differs when anything the message carries differs', () => {
    const image: SendMessageDto = {
      sessionName: 'main',
      to: '+201001234567',
      type: 'image',
      media: { base64: 'AAAA', mimetype: 'image/png' },
      caption: 'invoice',
    };
    const variants: SendMessageDto[] = [
      text,
      { ...text, text: 'hello!' },
      { ...text, sessionName: 'other' },
      { ...text, to: '+201001234568' },
      { ...text, replyTo: '6b14960ff60a2421fbdb2c05' },
      { ...text, mentions: ['+201001234568'] },
      image,
      { ...image, media: { base64: 'AAAB', mimetype: 'image/png' } },
      { ...image, media: { base64: 'AAAA', mimetype: 'image/jpeg' } },
      { ...image, caption: 'receipt' },
      { ...image, fileName: 'a.png' },
      { ...image, type: 'document' },
      { ...image, media: { url: 'https://example.com/a.png' } },
    ];
    expect(new Set(variants.map(sendFingerprint)).size).toBe(variants.length);
  });
});
