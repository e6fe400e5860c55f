import type { Type } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';

export { RouteParamtypes };

/** One parameter decorator of a route handler: its kind, its position and its data (`@Query('x')`). */
export interface RouteArg {
  type: RouteParamtypes;
  index: number;
  data?: unknown;
}

/** The parameter decorators (`@Body()`, `@Query()`, …) of `controller`'s handler `methodKey`. */
export function routeArgsOf(controller: Type, methodKey: string): RouteArg[] {
  const args: Record<string, { index: number; data?: unknown }> =
    Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, methodKey) ?? {};
  // Keys are `<paramtype>:<index>` (custom decorators add their own suffix).
  return Object.entries(args).map(([key, { index, data }]) => ({
    type: Number(key.split(':')[0]) as RouteParamtypes,
    index,
    data,
  }));
}
