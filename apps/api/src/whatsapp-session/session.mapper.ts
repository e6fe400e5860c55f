import type { WaSessionState } from '@app/whatsapp';
import type { SessionResponseDto } from './dto/session.dto';

const PUBLIC_FIELDS = [
  'sessionId',
  'sessionName',
  'status',
  'phone',
  'jid',
  'pushName',
  'lastError',
  'lastActivityAt',
  'connectedAt',
  'statusChangedAt',
  'qrExpiresAt',
  'createdAt',
  'updatedAt',
] as const;

export function toSessionDto(session: WaSessionState): SessionResponseDto {
  const dto: Record<string, unknown> = {};
  for (const field of PUBLIC_FIELDS) {
    if (session[field] !== undefined && session[field] !== null) dto[field] = session[field];
  }
  return dto as unknown as SessionResponseDto;
}
