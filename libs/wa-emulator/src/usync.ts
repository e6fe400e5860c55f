import type { Directory } from './directory';
import { digits } from './ids';
import { bytes, child, children, node, type BinaryNode } from './nodes';
import { phoneOf } from './state';

/**
 * Answers a usync query (`xmlns=usync`): for each user asked about, whether it is on WhatsApp
 * (`contact`), its devices (the phone plus linked companions with their key index) and its LID.
 */
export function usyncResult(directory: Directory, iq: BinaryNode): BinaryNode {
  const usync = child(iq, 'usync');
  const query = child(usync, 'query');
  const protocols = new Set(Array.isArray(query?.content) ? query.content.map((p) => p.tag) : []);
  const users = children(child(usync, 'list'), 'user').map((u) => {
    const phoneQuery = bytes(child(u, 'contact'));
    const jid =
      u.attrs.jid ?? (phoneQuery ? `${digits(phoneQuery.toString())}@s.whatsapp.net` : '');
    const user = directory.userByJid(jid);
    const content: BinaryNode[] = [];
    if (protocols.has('contact')) content.push(node('contact', { type: user ? 'in' : 'out' }));
    if (user && protocols.has('devices')) {
      const phone = phoneOf(user);
      const companions = (phone ? directory.activeCompanions(phone) : []).map((c) =>
        node('device', { id: String(c.deviceId), 'key-index': String(c.keyIndex) }),
      );
      content.push(
        node('devices', {}, [
          node('device-list', {}, [node('device', { id: '0' }), ...companions]),
        ]),
      );
    }
    if (user && protocols.has('lid') && !jid.endsWith('@lid'))
      content.push(node('lid', { val: `${user.lid}@lid` }));
    return node('user', { jid }, content);
  });
  return node('usync', { sid: usync?.attrs.sid ?? '', index: '0', last: 'true' }, [
    node('result', {}),
    node('list', {}, users),
  ]);
}
