import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ModuleDisabledError } from '../../organizations/organizations.errors';
import { OrganizationsService } from '../../organizations/organizations.service';
import type { OrganizationModuleName } from '../../organizations/schemas/organization.schema';
import type { AuthUser } from '../auth-user';
import { REQUIRED_MODULE_KEY } from '../decorators/require-module.decorator';

@Injectable()
export class ModuleAccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly organizations: OrganizationsService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const module = this.reflector.getAllAndOverride<OrganizationModuleName | undefined>(
      REQUIRED_MODULE_KEY,
      [context.getHandler(), context.getClass()],
    );
    if (!module) return true;
    const user = context.switchToHttp().getRequest<{ user?: AuthUser }>().user;
    if (user && (await this.organizations.hasModule(user.organizationId, module))) return true;
    throw new ModuleDisabledError(module);
  }
}
