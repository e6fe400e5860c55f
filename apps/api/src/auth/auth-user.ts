import type { UserRole } from '../organizations/schemas/user.schema';

/** What the JWT guard attaches to `request.user` after checking the user still exists and is enabled. */
export interface AuthUser {
  userId: string;
  organizationId: string;
  role: UserRole;
  email: string;
}

export interface JwtPayload {
  sub: string;
  org: string;
  role: UserRole;
}
