import type { INestApplication, Type } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { ModulesContainer } from '@nestjs/core';
import { DECORATORS } from '@nestjs/swagger';

/** The operationId of a route that names none (`@ApiOperation({ operationId })`): `Sessions_create`. */
export function operationIdOf(controllerKey: string, methodKey: string): string {
  return `${controllerKey.replace(/Controller$/, '')}_${methodKey}`;
}

/**
 * The class of each route's `@Query()` DTO, by operationId. The OpenAPI document spreads a query
 * DTO into separate parameters and keeps no trace of the class, whose validators hold the limits.
 */
export function queryDtosByOperationId(app: INestApplication): Map<string, Type> {
  const dtos = new Map<string, Type>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const { metatype } of module.controllers.values()) {
      if (typeof metatype !== 'function') continue;
      const controller = metatype as Type;
      for (const methodKey of Object.getOwnPropertyNames(controller.prototype)) {
        const args: Record<string, { index: number; data?: unknown }> =
          Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, methodKey) ?? {};
        for (const [key, { index, data }] of Object.entries(args)) {
          if (key.split(':')[0] !== String(RouteParamtypes.QUERY) || data !== undefined) continue;
          const types: unknown[] =
            Reflect.getMetadata('design:paramtypes', controller.prototype, methodKey) ?? [];
          const operation: { operationId?: string } | undefined = Reflect.getMetadata(
            DECORATORS.API_OPERATION,
            controller.prototype[methodKey],
          );
          const operationId = operation?.operationId ?? operationIdOf(controller.name, methodKey);
          if (typeof types[index] === 'function') dtos.set(operationId, types[index] as Type);
        }
      }
    }
  }
  return dtos;
}
