import type { RegisteredUser, TestApp } from './test-app';

/** The chat `chatJid` as GET /whatsapp/chats lists it (first page of `query`), if listed. */
export async function findChat(
  t: TestApp,
  user: RegisteredUser,
  chatJid: string,
  query: Record<string, string | number> = { limit: 100 },
) {
  const res = await t.http().get('/api/v1/whatsapp/chats').query(query).set(user.auth).expect(200);
  return res.body.items.find((c: { chatJid: string }) => c.chatJid === chatJid);
}
