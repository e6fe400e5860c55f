import { SetMetadata } from '@nestjs/common';
import type { OrganizationModuleName } from '../../organizations/schemas/organization.schema';

export const REQUIRED_MODULE_KEY = 'requiredModule';
/** The route needs this module enabled for the caller's organization (403 otherwise). */
export const RequireModule = (module: OrganizationModuleName) =>
  SetMetadata(REQUIRED_MODULE_KEY, module);
