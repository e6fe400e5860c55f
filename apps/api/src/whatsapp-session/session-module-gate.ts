import {
  type BeforeApplicationShutdown,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { KeyedMutex } from '@app/common';
import {
  NOT_ALLOWED_TO_RUN,
  SessionQueryService,
  SessionRegistry,
  type WaSessionState,
} from '@app/whatsapp';
import {
  ORGANIZATION_EVENTS,
  type OrganizationModulesChangedEvent,
} from '../organizations/organizations.events';
import { OrganizationsService } from '../organizations/organizations.service';

export const MODULE_OFF_REASON = "Stopped: the organization's whatsapp module was switched off";
/** How often each instance checks that sessions follow their organization's module. */
export const MODULE_RECONCILE_MS = 60_000;

/**
 * An organization's WhatsApp sessions run only while its `whatsapp` module is on: switching the
 * module off stops them (the link is kept, wherever they run), switching it on restores the
 * linked ones. The boot restore and orphan adoption ask the same (WhatsAppOptions.mayRun).
 *
 * Switches may race across instances (off on A, on on B while C holds the sessions), so nothing
 * here acts on what an event said, or on one reading: the holder stops a session only while the
 * module still reads off (SessionRegistry.stopWhileBarred, which also restores it if the module is
 * on again once it has stopped), and this handler reads the module again after acting and applies
 * it again until that reading is the one it acted on. The lock below only keeps one instance's
 * handlers of an organization from running side by side.
 *
 * A switch is saved before it is applied: an instance that dies in between leaves it unapplied.
 * So every instance also checks, each minute, the sessions it runs (module off: stop them) and the
 * sessions a switch-off stopped (module on: restore them), and applies the module where they
 * disagree.
 */
@Injectable()
export class SessionModuleGate implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger(SessionModuleGate.name);
  private readonly organizationLocks = new KeyedMutex();
  private reconcileTimer?: NodeJS.Timeout;
  private reconciling?: Promise<void>;

  constructor(
    private readonly registry: SessionRegistry,
    private readonly sessions: SessionQueryService,
    private readonly organizations: OrganizationsService,
  ) {}

  onApplicationBootstrap(): void {
    this.reconcileTimer = setInterval(() => {
      this.reconciling ??= this.reconcile()
        .catch((err: unknown) =>
          this.log.error({ err }, 'Checking sessions against the module failed'),
        )
        .finally(() => (this.reconciling = undefined));
    }, MODULE_RECONCILE_MS);
    this.reconcileTimer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.reconcileTimer);
    await this.reconciling;
  }

  /**
   * Applies the module to every organization whose sessions disagree with it: running here while
   * it is off, or stopped by a switch-off while it is on (a switch whose instance died first).
   */
  async reconcile(): Promise<void> {
    const running = new Set(this.registry.liveSessions().map((s) => s.organizationId));
    // Stopped because the module was off: by a switch-off, or found barred by a restore.
    const stopped = await this.sessions.listStoppedWith([MODULE_OFF_REASON, NOT_ALLOWED_TO_RUN]);
    const stoppedOrgs = new Set(stopped.map((s) => s.organizationId));
    for (const organizationId of new Set([...running, ...stoppedOrgs])) {
      const on = await this.whatsappOn(organizationId);
      if (on ? !stoppedOrgs.has(organizationId) : !running.has(organizationId)) continue;
      this.log.warn(
        { organizationId, on },
        'Sessions disagree with the whatsapp module (a switch was not applied): applying it',
      );
      await this.organizationLocks.run(organizationId, () =>
        on
          ? this.restoreStopped(stopped.filter((s) => s.organizationId === organizationId))
          : this.apply(organizationId),
      );
    }
  }

  /**
   * The module is on: the sessions it stopped come back; only those (one stopped for another
   * reason, e.g. its connection replaced, stays as it is). One that is not linked has nothing to
   * restore: the reason it was stopped is forgotten, so it is not found again.
   */
  private async restoreStopped(sessions: WaSessionState[]): Promise<void> {
    const { restored } = await this.registry.restore(sessions);
    for (const { sessionId, lastError } of sessions)
      if (!restored.includes(sessionId) && lastError)
        await this.sessions.forgetStopReason(sessionId, lastError);
  }

  /**
   * After a request started the session (create, restart): a switch-off applied since the request
   * passed its module check may have found the session not running yet, and not stopped it.
   * Either that switch's stop sees it running, or this reading sees the module off.
   */
  async stopIfSwitchedOff(organizationId: string, sessionId: string): Promise<void> {
    if (await this.whatsappOn(organizationId)) return;
    await this.registry.stopWhileBarred(sessionId, MODULE_OFF_REASON);
  }

  @OnEvent(ORGANIZATION_EVENTS.modulesChanged, { async: true, promisify: true })
  async onModulesChanged(event: OrganizationModulesChangedEvent): Promise<void> {
    if (event.previous.includes('whatsapp') === event.modules.includes('whatsapp')) return;
    // Two switches in quick succession: their handlers may run in either order, here or on other
    // instances, so each applies the module as it is now, not as its own event said.
    await this.organizationLocks.run(event.organizationId, () => this.apply(event.organizationId));
  }

  private async apply(organizationId: string): Promise<void> {
    let on = await this.whatsappOn(organizationId);
    for (;;) {
      const sessions = await this.sessions.listByOrganization(organizationId);
      if (on) {
        const { restored } = await this.registry.restore(sessions);
        this.log.log(
          { organizationId, restored: restored.length },
          'WhatsApp module on: sessions restored',
        );
      } else {
        for (const { sessionId } of sessions)
          await this.registry
            .stopWhileBarred(sessionId, MODULE_OFF_REASON)
            .catch((err: unknown) => {
              this.log.error(
                { err, sessionId },
                'Could not stop a session of a switched-off module',
              );
            });
        this.log.log(
          { organizationId, stopped: sessions.length },
          'WhatsApp module off: sessions stopped',
        );
      }
      // Switched again while we acted (on another instance too): what we did may be undone by a
      // handler that ran before us, e.g. a restore that skipped sessions still held running.
      const now = await this.whatsappOn(organizationId);
      if (now === on) return;
      this.log.log(
        { organizationId, on: now },
        'WhatsApp module switched meanwhile: applying again',
      );
      on = now;
    }
  }

  private whatsappOn(organizationId: string): Promise<boolean> {
    return this.organizations.hasModuleNow(organizationId, 'whatsapp');
  }
}
