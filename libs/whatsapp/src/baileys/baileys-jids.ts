import { isLidUser, isPnUser, jidNormalizedUser } from '@whiskeysockets/baileys';

export interface ResolvedJid {
  /** Phone-number JID when known (preferred), else whatever WhatsApp gave. */
  jid: string;
  phone?: string;
  lid?: string;
}

/** Combines a JID and its alternate (LID ↔ PN, Baileys 7 `*Alt` / `*Pn` key fields) into one identity. */
export function resolveJid(
  raw: string | null | undefined,
  ...alternates: (string | null | undefined)[]
): ResolvedJid | undefined {
  const candidates = [raw, ...alternates]
    .filter((j): j is string => !!j)
    .map((j) => jidNormalizedUser(j) || j);
  if (candidates.length === 0) return undefined;
  const pn = candidates.find((j) => isPnUser(j));
  const lid = candidates.find((j) => isLidUser(j));
  return {
    jid: pn ?? candidates[0],
    ...(pn ? { phone: pn.split('@')[0] } : {}),
    ...(lid ? { lid } : {}),
  };
}
