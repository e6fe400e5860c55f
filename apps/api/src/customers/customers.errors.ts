import { NotFoundError } from '@app/common';

export class CustomerNotFoundError extends NotFoundError {
  constructor() {
    super('Customer', 'CUSTOMER_NOT_FOUND');
  }
}
