import { NotFoundError } from '@app/common';

export class ContactNotFoundError extends NotFoundError {
  constructor() {
    super('Contact', 'CONTACT_NOT_FOUND');
  }
}
