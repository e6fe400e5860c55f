import { MongoNetworkError } from 'mongodb';
import { ExecutionContext, ForbiddenException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ModuleDisabledError } from '../../organizations/organizations.errors';
import type { OrganizationsService } from '../../organizations/organizations.service';
import type { AuthUser } from '../auth-user';
import { IS_PUBLIC_KEY } from '../decorators/public.decorator';
import { REQUIRED_MODULE_KEY } from '../decorators/require-module.decorator';
import { ROLES_KEY } from '../decorators/roles.decorator';
import { JwtAuthGuard } from './jwt-auth.guard';
import { ModuleAccessGuard } from './module-access.guard';
import { RolesGuard } from './roles.guard';

const member: AuthUser = {
  userId: 'u1',
  organizationId: 'o1',
  role: 'member',
  email: 'm@x.test',
  tokenVersion: 0,
};

function contextWith(metadata: Record<string, unknown>, user?: AuthUser): ExecutionContext {
  const handler = () => undefined;
  for (const [key, value] of Object.entries(metadata)) Reflect.defineMetadata(key, value, handler);
  return {
    getHandler: () => handler,
    getClass: () => class {},
    switchToHttp: () => ({ getRequest: () => ({ user }) }),
  } as unknown as ExecutionContext;
}

describe('RolesGuard', () => {
  const guard = new RolesGuard(new Reflector());

  it('allows routes without @Roles', () => {
    expect(guard.canActivate(contextWith({}, member))).toBe(true);
  });

  it('allows a listed role and refuses others with a clear 403', () => {
    expect(guard.canActivate(contextWith({ [ROLES_KEY]: ['member'] }, member))).toBe(true);
    expect(() =>
      guard.canActivate(contextWith({ [ROLES_KEY]: ['owner', 'admin'] }, member)),
    ).toThrow(ForbiddenException);
    expect(() =>
      guard.canActivate(contextWith({ [ROLES_KEY]: ['owner', 'admin'] }, member)),
    ).toThrow('This action requires one of the roles: owner, admin');
  });
});

describe('ModuleAccessGuard', () => {
  const hasModule = vi.fn<(org: string, module: string) => Promise<boolean>>();
  const guard = new ModuleAccessGuard(new Reflector(), {
    hasModule,
  } as unknown as OrganizationsService);

  beforeEach(() => hasModule.mockReset());

  it('does not query the organization for routes without @RequireModule', async () => {
    await expect(guard.canActivate(contextWith({}, member))).resolves.toBe(true);
    expect(hasModule).not.toHaveBeenCalled();
  });

  it('allows an enabled module', async () => {
    hasModule.mockResolvedValue(true);
    await expect(
      guard.canActivate(contextWith({ [REQUIRED_MODULE_KEY]: 'whatsapp' }, member)),
    ).resolves.toBe(true);
    expect(hasModule).toHaveBeenCalledWith('o1', 'whatsapp');
  });

  it('refuses a disabled module with 403 naming it', async () => {
    hasModule.mockResolvedValue(false);
    await expect(
      guard.canActivate(contextWith({ [REQUIRED_MODULE_KEY]: 'crm' }, member)),
    ).rejects.toThrow("The 'crm' module is not enabled for this organization");
    const error = await guard
      .canActivate(contextWith({ [REQUIRED_MODULE_KEY]: 'crm' }, member))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModuleDisabledError);
    expect(error).toMatchObject({ code: 'MODULE_DISABLED', status: 403, module: 'crm' });
  });
});

describe('JwtAuthGuard', () => {
  it('lets @Public() routes through without a token', () => {
    const guard = new JwtAuthGuard(new Reflector());
    expect(guard.canActivate(contextWith({ [IS_PUBLIC_KEY]: true }))).toBe(true);
  });

  it('turns a missing user into 401', () => {
    const guard = new JwtAuthGuard(new Reflector());
    expect(() => guard.handleRequest(null, false)).toThrow(
      'Missing, invalid or expired access token',
    );
    expect(guard.handleRequest(null, member)).toBe(member);
  });

  it('lets a database outage through (503 DATABASE_UNAVAILABLE) instead of a 401 that logs clients out', () => {
    const guard = new JwtAuthGuard(new Reflector());
    const outage = new MongoNetworkError('connection 9 to 127.0.0.1:27017 closed');
    expect(() => guard.handleRequest(outage, false)).toThrow(outage);
  });
});
