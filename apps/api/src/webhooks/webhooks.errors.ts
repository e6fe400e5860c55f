import { BadRequestError, ConflictError, DomainError, NotFoundError } from '@app/common';

export class WebhookNotFoundError extends NotFoundError {
  constructor() {
    super('Webhook', 'WEBHOOK_NOT_FOUND');
  }
}

export class DeliveryNotFoundError extends NotFoundError {
  constructor() {
    super('Delivery', 'DELIVERY_NOT_FOUND');
  }
}

export class WebhookUrlNotAllowedError extends BadRequestError {
  constructor(message: string, reason: string) {
    super('WEBHOOK_URL_NOT_ALLOWED', message, { url: [message], reason });
  }
}

export class WebhookLimitReachedError extends DomainError {
  constructor(limit: number) {
    super('WEBHOOK_LIMIT_REACHED', `An organization can have at most ${limit} webhooks`, 422, {
      limit,
    });
  }
}

export class DeliveryInFlightError extends ConflictError {
  /** `retryAfterSeconds`: until the attempt's timeout, when it is over whatever the receiver does. */
  constructor(retryAfterSeconds: number) {
    super(
      'DELIVERY_IN_FLIGHT',
      `This delivery is being attempted right now; try again in ${retryAfterSeconds} s`,
    );
    this.headers = { 'Retry-After': String(retryAfterSeconds) };
  }
}

/** Events are kept 7 days from their creation, deliveries 7 days from theirs (a late fan-out's are younger). */
export class DeliveryEventExpiredError extends DomainError {
  constructor(eventId: string) {
    super(
      'DELIVERY_EVENT_EXPIRED',
      'The event of this delivery is no longer stored (events are kept 7 days); it cannot be sent again',
      410,
      { eventId },
    );
  }
}

export class WebhookDisabledError extends ConflictError {
  constructor() {
    super(
      'WEBHOOK_DISABLED',
      'The webhook is disabled; enable it (PATCH enabled: true) before retrying deliveries',
    );
  }
}
