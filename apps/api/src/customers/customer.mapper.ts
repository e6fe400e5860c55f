import type { CustomerResponseDto } from './dto/customer.dto';
import type { CustomerPayload } from './customers.events';
import type { CustomerRecord } from './customers.repository';

export function toCustomerDto(customer: CustomerRecord): CustomerResponseDto {
  return {
    id: String(customer._id),
    name: customer.name,
    phone: customer.phone ?? null,
    email: customer.email ?? null,
    createdAt: customer.createdAt,
    updatedAt: customer.updatedAt,
  };
}

export function toCustomerPayload(customer: CustomerRecord): CustomerPayload {
  return {
    id: String(customer._id),
    organizationId: customer.organizationId,
    name: customer.name,
    ...(customer.phone ? { phone: customer.phone } : {}),
    ...(customer.email ? { email: customer.email } : {}),
  };
}
