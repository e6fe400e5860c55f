import { createHash } from 'node:crypto';
import { toJid } from '@app/common';
import type { SendMessageDto } from './dto/send-message.dto';

/**
 * What a send request asks for, as a hash: a retry with the same Idempotency-Key must carry the
 * same request. Recipients are compared as JIDs (`+2010…` and `2010…@s.whatsapp.net` are one
 * recipient) and an omitted type is text, so a retry that only spells them differently still matches.
 */
export function sendFingerprint(dto: SendMessageDto): string {
  const request = {
    sessionName: dto.sessionName,
    to: toJid(dto.to),
    type: dto.type ?? 'text',
    text: dto.text,
    media: dto.media && {
      url: dto.media.url,
      base64: dto.media.base64,
      mimetype: dto.media.mimetype,
    },
    caption: dto.caption,
    fileName: dto.fileName,
    replyTo: dto.replyTo,
    mentions: dto.mentions?.map(toJid),
  };
  // Fixed key order above; JSON.stringify drops undefined fields, so absent and undefined agree.
  return createHash('sha256').update(JSON.stringify(request)).digest('base64url');
}
