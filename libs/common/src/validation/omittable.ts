import { ValidateIf } from 'class-validator';

/**
 * Like IsOptional, but only an absent field is skipped: null is validated like any other value,
 * so `{"role": null}` is refused instead of reaching an update as null (an organization without
 * an owner). Fields where null means something (clearing a contact's name) keep IsOptional.
 */
export function IsOmittable(): PropertyDecorator {
  return ValidateIf((_object: object, value: unknown) => value !== undefined);
}
