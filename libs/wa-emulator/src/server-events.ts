import type { EmulatorContext } from './emulator-context';
import { msgId } from './ids';
import { node, SERVER, unixT } from './nodes';

/** What the server or the phone does to live connections: unlink, replace, stream errors, drops, LID notifications. */
export class ServerEvents {
  constructor(private readonly ctx: EmulatorContext) {}

  /** The phone unlinks every companion (or `deviceId` only): live ones get stream:error 401 (device_removed); later logins get failure 401. */
  logout(account: string, deviceId?: number): void {
    const { directory, connections, store } = this.ctx;
    for (const c of directory.activeCompanions(account))
      if (deviceId === undefined || c.deviceId === deviceId) c.removed = true;
    store.save();
    for (const conn of connections.live(account, deviceId)) {
      conn.send(
        node('stream:error', { code: '401' }, [node('conflict', { type: 'device_removed' })]),
      );
      conn.close();
    }
  }

  /** Another client took over the session (stream:error conflict replaced → 440). */
  replace(account: string, deviceId?: number): void {
    for (const conn of this.ctx.connections.live(account, deviceId)) {
      conn.send(node('stream:error', {}, [node('conflict', { type: 'replaced' })]));
      conn.close();
    }
  }

  /** Sends a bare `<stream:error code=…/>` (e.g. 503, 515) and closes. */
  streamError(account: string, code: number, deviceId?: number): void {
    for (const conn of this.ctx.connections.live(account, deviceId)) {
      conn.send(node('stream:error', { code: String(code) }));
      conn.close();
    }
  }

  /** Drops the TCP connections without any close frame. */
  drop(account: string, deviceId?: number): void {
    for (const conn of this.ctx.connections.live(account, deviceId)) conn.terminate();
  }

  /**
   * The account's groups changed (joined, renamed): the server sets the `groups` dirty bit on its
   * live devices, which then fetch the groups they are in (Baileys: groupFetchAllParticipating →
   * groups.update). Returns how many were told.
   */
  groupsChanged(account: string): number {
    const conns = this.ctx.connections.live(account);
    for (const conn of conns)
      conn.send(
        node('ib', { from: SERVER }, [node('dirty', { type: 'groups', timestamp: unixT() })]),
      );
    return conns.length;
  }

  /**
   * The server tells live linked devices of `account` (or `deviceId` only) which phone number a LID
   * belongs to: a `mex` NotificationLinkedProfilesUpdates notification (Baileys: lid-mapping.update).
   * (History-sync `phoneNumberToLidMappings` would be the phone's way, but rc14 loses them in its event buffer.)
   */
  revealLid(account: string, mapping: { lid: string; pn: string }, deviceId?: number): number {
    const payload = JSON.stringify({
      operation: 'NotificationLinkedProfilesUpdates',
      updates: [{ jid: mapping.lid, added_profiles: [mapping.pn] }],
    });
    const conns = this.ctx.connections.live(account, deviceId);
    for (const conn of conns) {
      conn.send(
        node('notification', { from: SERVER, type: 'mex', id: msgId(), t: unixT() }, [
          node('mex', { op_name: 'NotificationLinkedProfilesUpdates' }, Buffer.from(payload)),
        ]),
      );
    }
    return conns.length;
  }
}
