import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WaEmulator } from './wa-emulator';

const ROUTE =
  /^\/control\/accounts\/\+?(\d+)\/(scan|text|logout|replace|drop|receipts|outbox|status)$/;

async function readJson(req: IncomingMessage): Promise<Record<string, any>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  return raw ? (JSON.parse(raw) as Record<string, any>) : {};
}

/**
 * A small JSON control API for the standalone emulator (loopback only), so a person or a
 * script can drive the simulated phone of an account:
 *   POST /control/accounts/:phone/scan      { qr, pushName? }        → { jid, lid, deviceId }
 *   POST /control/accounts/:phone/text      { from, text, via?, group?, fromMe? } → { id }
 *        (`from` may be a `…@lid` JID; `group`: a `…@g.us` chat; `fromMe`: typed on the phone, `from` = the chat)
 *   POST /control/accounts/:phone/receipts  { id, type, chat?, from? } (delivered | read | played;
 *        `chat`: the chat of a message sent before a restart; `from`: the group member, default the first other)
 *   POST /control/accounts/:phone/logout | replace | drop
 *   GET  /control/accounts/:phone/outbox | status
 * Returns false when the request is not a control route.
 */
export function handleControlRequest(
  emulator: WaEmulator,
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
  const match = ROUTE.exec(req.url?.split('?')[0] ?? '');
  if (!match) return false;
  const [, account, action] = match;
  const phone = emulator.phone(account);
  const reply = (status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const run = async (): Promise<unknown> => {
    if (req.method === 'GET' && action === 'outbox')
      return phone.outbox.map(({ message: _m, ...r }) => r);
    if (req.method === 'GET' && action === 'status')
      return { connected: phone.connected, devices: phone.devices, profile: phone.profile };
    if (req.method !== 'POST')
      throw Object.assign(new Error('method not allowed'), { status: 405 });
    const body = await readJson(req);
    switch (action) {
      case 'scan':
        return phone.scan(String(body.qr), { pushName: body.pushName });
      case 'text': {
        const message = { conversation: String(body.text) };
        const opts = {
          via: body.via === 'lid' ? ('lid' as const) : ('pn' as const),
          pushName: body.pushName,
        };
        if (body.group)
          return {
            id: await phone.sendGroupMessage(
              String(body.group),
              body.fromMe ? account : String(body.from),
              message,
              opts,
            ),
          };
        if (body.fromMe) return { id: await phone.sendFromMe(String(body.from), message) };
        return { id: await phone.sendMessage(String(body.from), message, opts) };
      }
      case 'receipts':
        phone.receipt(String(body.id), body.type, {
          ...(body.chat ? { chat: String(body.chat) } : {}),
          ...(body.from ? { from: String(body.from) } : {}),
        });
        return { ok: true };
      case 'logout':
        phone.logout();
        return { ok: true };
      case 'replace':
        phone.replace();
        return { ok: true };
      case 'drop':
        phone.drop();
        return { ok: true };
    }
    throw Object.assign(new Error('not found'), { status: 404 });
  };
  run().then(
    (body) => reply(200, body),
    (err: Error & { status?: number }) => reply(err.status ?? 400, { error: err.message }),
  );
  return true;
}
