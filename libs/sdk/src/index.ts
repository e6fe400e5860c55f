export { ApiError, isErrorResponse, type ErrorResponse } from './api-error';
export {
  createGatewayClient,
  type GatewayCall,
  type GatewayClient,
  type GatewayClientOptions,
  type PageItem,
  type PageQuery,
  type PaginatedPath,
  type PathsWith,
} from './client';
export {
  type EventStreamOptions,
  type GatewayEvent,
  type SessionDeletedEventData,
  type SessionStatusEventData,
  sseFrames,
} from './events';
export { verifyWebhookSignature } from './webhook-signature';
export type { components, operations, paths } from './generated/schema';

import type { components } from './generated/schema';
/** Every named schema of the API (DTOs and enums), e.g. `Schemas['MessageResponseDto']`. */
export type Schemas = components['schemas'];
