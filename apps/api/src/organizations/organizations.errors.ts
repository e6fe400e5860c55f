import { ConflictError, ForbiddenError, NotFoundError } from '@app/common';

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
