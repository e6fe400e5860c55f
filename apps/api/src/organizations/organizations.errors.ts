import { ConflictError, ForbiddenError, NotFoundError } from '@app/common';
import type { OrganizationModuleName } from './schemas/organization.schema';

export class EmailTakenError extends ConflictError {
  constructor() {
    super('EMAIL_TAKEN', 'A user with this email already exists');
  }
}

export class UserNotFoundError extends NotFoundError {
  constructor() {
    super('User', 'USER_NOT_FOUND');
  }
}

export class OrganizationNotFoundError extends NotFoundError {
  constructor() {
    super('Organization', 'ORGANIZATION_NOT_FOUND');
  }
}

export class LastOwnerError extends ConflictError {
  constructor() {
    super('LAST_OWNER', 'The last owner of an organization cannot be demoted or disabled');
  }
}

export class RoleNotAllowedError extends ForbiddenError {
  constructor(message: string) {
    super('ROLE_NOT_ALLOWED', message);
  }
}

/** 403 for a route or an action that needs a module the organization has turned off. */
export class ModuleDisabledError extends ForbiddenError {
  constructor(readonly module: OrganizationModuleName) {
    super('MODULE_DISABLED', `The '${module}' module is not enabled for this organization`);
  }
}
