import type { OrganizationResponseDto } from './dto/organization.dto';
import type { UserResponseDto } from './dto/user.dto';
import type { OrganizationRecord, UserRecord } from './organizations.repository';

export function toOrganizationDto(org: OrganizationRecord): OrganizationResponseDto {
  return { id: String(org._id), name: org.name, modules: org.modules, createdAt: org.createdAt };
}

export function toUserDto(user: UserRecord): UserResponseDto {
  const dto: UserResponseDto = {
    id: String(user._id),
    organizationId: String(user.organizationId),
    name: user.name,
    email: user.email,
    role: user.role,
    disabled: user.disabled,
    createdAt: user.createdAt,
  };
  if (user.phone) dto.phone = user.phone;
  return dto;
}
