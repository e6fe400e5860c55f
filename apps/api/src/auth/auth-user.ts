import type { UserRole } from '../organizations/schemas/user.schema';

/** What the JWT guard attaches to `request.user` after checking the user still exists and is enabled. */
export interface AuthUser {
  userId: string;
  organizationId: string;
  role: UserRole;
  email: string;
  /** The token version the request's token was issued under (the user's current one). */
  tokenVersion: number;
}

export interface JwtPayload {
  sub: string;
  org: string;
  role: UserRole;
  /** The user's tokenVersion at issue; absent in tokens issued before versions existed (= 0). */
  ver?: number;
}
