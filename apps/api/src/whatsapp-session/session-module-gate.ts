import { Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { KeyedMutex } from '@app/common';
import { SessionQueryService, SessionRegistry } from '@app/whatsapp';
import {
  ORGANIZATION_EVENTS,
  type OrganizationModulesChangedEvent,
} from '../organizations/organizations.events';
import { OrganizationsService } from '../organizations/organizations.service';

export const MODULE_OFF_REASON = "Stopped: the organization's whatsapp module was switched off";

/**
 * An organization's WhatsApp sessions run only while its `whatsapp` module is on: switching the
 * module off stops them (the link is kept, wherever they run), switching it on restores the
 * linked ones. The boot restore and orphan adoption ask the same (WhatsAppOptions.mayRun).
 */
@Injectable()
export class SessionModuleGate {
  private readonly log = new Logger(SessionModuleGate.name);
  private readonly organizationLocks = new KeyedMutex();

  constructor(
    private readonly registry: SessionRegistry,
    private readonly sessions: SessionQueryService,
    private readonly organizations: OrganizationsService,
  ) {}

  @OnEvent(ORGANIZATION_EVENTS.modulesChanged, { async: true, promisify: true })
  async onModulesChanged(event: OrganizationModulesChangedEvent): Promise<void> {
    if (event.previous.includes('whatsapp') === event.modules.includes('whatsapp')) return;
    // Two switches in quick succession: their handlers may run in either order, so each applies
    // the module as it is now (read under the lock), not as its own event said.
    await this.organizationLocks.run(event.organizationId, () => this.apply(event.organizationId));
  }

  private async apply(organizationId: string): Promise<void> {
    const on = ((await this.organizations.get(organizationId)).modules ?? []).includes('whatsapp');
    const sessions = await this.sessions.listByOrganization(organizationId);
    if (on) {
      const { restored } = await this.registry.restore(sessions);
      this.log.log(
        { organizationId, restored: restored.length },
        'WhatsApp module on: sessions restored',
      );
      return;
    }
    for (const { sessionId } of sessions)
      await this.registry.stop(sessionId, MODULE_OFF_REASON).catch((err: unknown) => {
        this.log.error({ err, sessionId }, 'Could not stop a session of a switched-off module');
      });
    this.log.log(
      { organizationId, stopped: sessions.length },
      'WhatsApp module off: sessions stopped',
    );
  }
}
