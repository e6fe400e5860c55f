import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiGoneResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { ErrorResponseDto, RETRY_AFTER_HEADER } from '@app/common';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser } from '../auth/decorators/current-user.decorator';
import { RequireModule } from '../auth/decorators/require-module.decorator';
import { Roles } from '../auth/decorators/roles.decorator';
import {
  CreatedWebhookResponseDto,
  CreateWebhookDto,
  DeliveryPageDto,
  DeliveryResponseDto,
  ListDeliveriesQueryDto,
  UpdatedWebhookResponseDto,
  UpdateWebhookDto,
  WebhookResponseDto,
} from './dto/webhook.dto';
import { WebhooksService } from './webhooks.service';

const DELIVERY_CONTRACT = [
  'Each event is POSTed as JSON (the EventEnvelope: id, type, organizationId, sessionName, occurredAt, data) with headers',
  '`X-Webhook-Id` (event id: dedupe on it, delivery is at-least-once), `X-Webhook-Timestamp` (unix seconds) and',
  '`X-Webhook-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" keyed with the secret>`,',
  'plus `X-Webhook-Event` (event type), `X-Webhook-Delivery` (delivery id) and `X-Webhook-Attempt` (1, 2, …).',
  'Any 2xx within 10 s is success; anything else is retried with exponential backoff and jitter for up to 24 h, then `failed`.',
  'Events of one session arrive in order. A webhook whose attempts all fail for 24 h is disabled (`disabledReason`).',
  '',
  'Verify (Node.js):',
  '```js',
  "const crypto = require('node:crypto');",
  'function verify(secret, rawBody, headers) {',
  "  const ts = headers['x-webhook-timestamp'];",
  "  const expected = Buffer.from('sha256=' + crypto.createHmac('sha256', secret).update(`${ts}.${rawBody}`).digest('hex'));",
  "  const given = Buffer.from(String(headers['x-webhook-signature'] ?? '')); // bytes, not characters",
  '  return given.length === expected.length && crypto.timingSafeEqual(given, expected)',
  '    && Math.abs(Date.now() / 1000 - Number(ts)) < 300;',
  '}',
  '```',
].join('\n');

@ApiTags('webhooks')
@ApiBearerAuth('bearer')
@Roles('owner', 'admin')
@RequireModule('whatsapp')
@ApiUnauthorizedResponse({
  type: ErrorResponseDto,
  description: 'Missing, invalid or expired token',
})
@ApiForbiddenResponse({
  type: ErrorResponseDto,
  description: "Not an owner or admin, or the 'whatsapp' module is disabled",
})
@Controller('webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @ApiOperation({
    operationId: 'webhooks_create',
    summary: 'Register a webhook; the signing secret is returned only here',
    description: DELIVERY_CONTRACT,
  })
  @ApiCreatedResponse({ type: CreatedWebhookResponseDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description:
      'Invalid body, or a URL that is not http(s) or resolves to a loopback/private/link-local address (WEBHOOK_URL_NOT_ALLOWED)',
  })
  @ApiUnprocessableEntityResponse({
    type: ErrorResponseDto,
    description: 'The organization has 25 webhooks (WEBHOOK_LIMIT_REACHED, details.limit)',
  })
  create(
    @CurrentUser() user: AuthUser,
    @Body() dto: CreateWebhookDto,
  ): Promise<CreatedWebhookResponseDto> {
    return this.webhooks.create(user.organizationId, dto);
  }

  @Get()
  @ApiOperation({
    operationId: 'webhooks_list',
    summary: "The organization's webhooks (without secrets)",
  })
  @ApiOkResponse({ type: WebhookResponseDto, isArray: true })
  list(@CurrentUser() user: AuthUser): Promise<WebhookResponseDto[]> {
    return this.webhooks.list(user.organizationId);
  }

  @Get(':id')
  @ApiParam({ name: 'id', example: '6650a1b2c3d4e5f601234567' })
  @ApiOperation({ operationId: 'webhooks_get', summary: 'One webhook (without its secret)' })
  @ApiOkResponse({ type: WebhookResponseDto })
  @ApiNotFoundResponse({
    type: ErrorResponseDto,
    description: 'No such webhook in this organization',
  })
  get(@CurrentUser() user: AuthUser, @Param('id') id: string): Promise<WebhookResponseDto> {
    return this.webhooks.get(user.organizationId, id);
  }

  @Patch(':id')
  @ApiParam({ name: 'id', example: '6650a1b2c3d4e5f601234567' })
  @ApiOperation({
    operationId: 'webhooks_update',
    summary:
      'Change url, events, session filter, enabled; rotateSecret: true returns a new secret once',
  })
  @ApiOkResponse({ type: UpdatedWebhookResponseDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  update(
    @CurrentUser() user: AuthUser,
    @Param('id') id: string,
    @Body() dto: UpdateWebhookDto,
  ): Promise<UpdatedWebhookResponseDto> {
    return this.webhooks.update(user.organizationId, id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiParam({ name: 'id', example: '6650a1b2c3d4e5f601234567' })
  @ApiOperation({
    operationId: 'webhooks_delete',
    summary: 'Delete a webhook and its delivery log',
  })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  remove(@CurrentUser() user: AuthUser, @Param('id') id: string): Promise<void> {
    return this.webhooks.remove(user.organizationId, id);
  }

  @Get(':id/deliveries')
  @ApiParam({ name: 'id', example: '6650a1b2c3d4e5f601234567' })
  @ApiOperation({
    operationId: 'webhooks_listDeliveries',
    summary:
      "A webhook's deliveries, newest event first: status, attempts, last response code, next attempt",
  })
  @ApiOkResponse({ type: DeliveryPageDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  listDeliveries(
    @CurrentUser() user: AuthUser,
    @Param('id') id: string,
    @Query() query: ListDeliveriesQueryDto,
  ): Promise<DeliveryPageDto> {
    return this.webhooks.listDeliveries(user.organizationId, id, query);
  }

  @Post(':id/deliveries/:deliveryId/retry')
  @HttpCode(202)
  @ApiParam({ name: 'id', example: '6650a1b2c3d4e5f601234567' })
  @ApiParam({ name: 'deliveryId', example: '6650a1b2c3d4e5f601234568' })
  @ApiOperation({
    operationId: 'webhooks_retryDelivery',
    summary: 'Deliver again now (failed, delivered or waiting), with a fresh 24 h retry window',
  })
  @ApiAcceptedResponse({
    type: DeliveryResponseDto,
    description: 'Queued: the delivery is pending and due now',
  })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiGoneResponse({
    type: ErrorResponseDto,
    description:
      'The event of the delivery is no longer stored (DELIVERY_EVENT_EXPIRED: events are kept 7 days); nothing was queued',
  })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description:
      'Being attempted right now (DELIVERY_IN_FLIGHT, with Retry-After: when that attempt is over), or the webhook is disabled (WEBHOOK_DISABLED)',
    headers: { 'Retry-After': RETRY_AFTER_HEADER },
  })
  retryDelivery(
    @CurrentUser() user: AuthUser,
    @Param('id') id: string,
    @Param('deliveryId') deliveryId: string,
  ): Promise<DeliveryResponseDto> {
    return this.webhooks.retryDelivery(user.organizationId, id, deliveryId);
  }
}
