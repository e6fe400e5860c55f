import { BadRequestException, Body, type ExecutionContext, Query } from '@nestjs/common';
import { lastValueFrom, of } from 'rxjs';
import { UndeclaredInputInterceptor } from './undeclared-input.interceptor';

class RoutesController {
  none(): void {}
  list(@Query() _query: object): void {}
  named(@Query('sessionName') _sessionName: string): void {}
  create(@Body() _body: object): void {}
}

/** Runs the interceptor on a request to `handler`; the error's details, or undefined if it passed. */
async function refusal(
  handler: keyof RoutesController,
  req: { query?: Record<string, unknown>; body?: unknown; headers?: Record<string, string> },
): Promise<unknown> {
  const context = {
    getType: () => 'http',
    getClass: () => RoutesController,
    getHandler: () => RoutesController.prototype[handler],
    switchToHttp: () => ({ getRequest: () => ({ headers: {}, ...req }) }),
  } as unknown as ExecutionContext;
  try {
    await lastValueFrom(
      new UndeclaredInputInterceptor().intercept(context, { handle: () => of('ok') }),
    );
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestException);
    const response = (error as BadRequestException).getResponse() as Record<string, unknown>;
    expect(response.code).toBe('VALIDATION_FAILED');
    return response.details;
  }
}

describe('UndeclaredInputInterceptor', () => {
  it('refuses a query parameter on a route without a @Query() DTO, naming it', async () => {
    expect(await refusal('none', { query: { limt: '5' } })).toEqual({
      limt: ['property limt should not exist'],
    });
    expect(await refusal('create', { query: { _: '1', dryRun: '' }, body: { a: 1 } })).toEqual({
      _: ['property _ should not exist'],
      dryRun: ['property dryRun should not exist'],
    });
    expect(await refusal('none', { query: {} })).toBeUndefined();
    expect(await refusal('none', {})).toBeUndefined();
  });

  it('leaves the query of a @Query() DTO to its validation, and allows the names a route reads', async () => {
    expect(await refusal('list', { query: { limt: '5' } })).toBeUndefined();
    expect(await refusal('named', { query: { sessionName: 'main' } })).toBeUndefined();
    expect(await refusal('named', { query: { sessionName: 'main', page: '2' } })).toEqual({
      page: ['property page should not exist'],
    });
  });

  it('refuses a body on a route without a body parameter, alongside an undeclared query', async () => {
    expect(await refusal('none', { body: {} })).toBeUndefined();
    expect(await refusal('none', { body: { force: true }, query: { x: '1' } })).toEqual({
      body: ['this route takes no request body'],
      x: ['property x should not exist'],
    });
    // A body the parser left unread is a body all the same.
    expect(await refusal('none', { headers: { 'content-length': '5' } })).toEqual({
      body: ['this route takes no request body'],
    });
  });
});
