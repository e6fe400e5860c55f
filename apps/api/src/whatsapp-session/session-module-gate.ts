import { Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { SessionQueryService, SessionRegistry } from '@app/whatsapp';
import {
  ORGANIZATION_EVENTS,
  type OrganizationModulesChangedEvent,
} from '../organizations/organizations.events';

export const MODULE_OFF_REASON = "Stopped: the organization's whatsapp module was switched off";

/**
 * An organization's WhatsApp sessions run only while its `whatsapp` module is on: switching the
 * module off stops them (the link is kept, wherever they run), switching it on restores the
 * linked ones. The boot restore and orphan adoption ask the same (WhatsAppOptions.mayRun).
 */
@Injectable()
export class SessionModuleGate {
  private readonly log = new Logger(SessionModuleGate.name);

  constructor(
    private readonly registry: SessionRegistry,
    private readonly sessions: SessionQueryService,
  ) {}

  @OnEvent(ORGANIZATION_EVENTS.modulesChanged, { async: true, promisify: true })
  async onModulesChanged(event: OrganizationModulesChangedEvent): Promise<void> {
    const had = event.previous.includes('whatsapp');
    const has = event.modules.includes('whatsapp');
    if (had === has) return;
    const ids = (await this.sessions.listByOrganization(event.organizationId)).map(
      (s) => s.sessionId,
    );
    if (has) {
      const { restored } = await this.registry.restore(ids);
      this.log.log(
        { organizationId: event.organizationId, restored: restored.length },
        'WhatsApp module on: sessions restored',
      );
      return;
    }
    for (const id of ids)
      await this.registry.stop(id, MODULE_OFF_REASON).catch((err: unknown) => {
        this.log.error({ err, sessionId: id }, 'Could not stop a session of a switched-off module');
      });
    this.log.log(
      { organizationId: event.organizationId, stopped: ids.length },
      'WhatsApp module off: sessions stopped',
    );
  }
}
