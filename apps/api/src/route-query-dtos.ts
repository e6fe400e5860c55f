import type { INestApplication, Type } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { routeArgsOf, RouteParamtypes } from '@app/common';
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
        for (const { type, index, data } of routeArgsOf(controller, methodKey)) {
          if (type !== RouteParamtypes.QUERY || data !== undefined) continue;
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
