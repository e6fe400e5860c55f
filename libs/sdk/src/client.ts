import createClient, {
  type Client,
  type FetchResponse,
  type MaybeOptionalInit,
  type Middleware,
} from 'openapi-fetch';
import { ApiError } from './api-error';
import { EVENTS_PATH, type EventStreamOptions, type GatewayEvent, streamEvents } from './events';
import type { paths } from './generated/schema';

type HttpMethod = 'get' | 'put' | 'post' | 'delete' | 'patch';
type MediaType = `${string}/${string}`;
/** Spec paths that have an operation for `M` (not the event stream: `events()` reads it). */
export type PathsWith<M extends HttpMethod> = Exclude<
  {
    [P in keyof paths]: paths[P] extends { [K in M]: object } ? P : never;
  }[keyof paths],
  typeof EVENTS_PATH
>;
type RequiredKeysOf<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];
/** The init argument is optional exactly when the operation has no required parameter or body (as in openapi-fetch). */
type InitParam<I> =
  RequiredKeysOf<NonNullable<I>> extends never
    ? [(I & { [key: string]: unknown })?]
    : [I & { [key: string]: unknown }];
type DataOf<R> = R extends { data: infer D } ? D : never;
type Operation<P extends keyof paths, M extends HttpMethod> = paths[P][M & keyof paths[P]] &
  Record<string | number, any>;

/** Whether the operation answers bytes (message media) rather than JSON. */
type AnswersBytes<O> = O extends {
  responses: { 200: { content: { 'application/octet-stream': unknown } } };
}
  ? true
  : false;
/** The success body: a Blob for bytes, unless the call picks openapi-fetch's `parseAs` itself. */
type Answer<P extends keyof paths, M extends HttpMethod, I> = I extends { parseAs: string }
  ? DataOf<FetchResponse<Operation<P, M>, I, MediaType>>
  : AnswersBytes<paths[P][M & keyof paths[P]]> extends true
    ? Blob
    : DataOf<FetchResponse<Operation<P, M>, I, MediaType>>;

/**
 * Calls an operation and resolves to its success body (JSON parsed; the bytes of a media route as
 * a Blob of their Content-Type); any non-2xx answer rejects with an ApiError.
 */
export type GatewayCall<M extends HttpMethod> = <
  P extends PathsWith<M>,
  I extends MaybeOptionalInit<paths[P], M & keyof paths[P]>,
>(
  url: P,
  ...init: InitParam<I>
) => Promise<Answer<P, M, I>>;

type JsonOk<P extends keyof paths> = paths[P] extends {
  get: { responses: { 200: { content: { 'application/json': infer B } } } };
}
  ? B
  : never;
/** GET routes answering a JSON page `{ items, total, page, limit }` (not streams such as /events). */
export type PaginatedPath = {
  [P in PathsWith<'get'>]: [JsonOk<P>] extends [never]
    ? never
    : JsonOk<P> extends { items: unknown[]; total: number; page: number; limit: number }
      ? P
      : never;
}[PathsWith<'get'>];
type GetParameters<P extends keyof paths> = paths[P] extends { get: { parameters: infer X } }
  ? X
  : never;
export type PageQuery<P extends PaginatedPath> =
  GetParameters<P> extends { query?: infer Q } ? NonNullable<Q> : never;
/** The path parameters of a paginated route (`{ id }` of /webhooks/{id}/deliveries); never without any. */
export type PagePathParams<P extends PaginatedPath> =
  GetParameters<P> extends { path: infer A } ? A : never;
/** paginate()'s parameters in the shape the other methods take: `{ params: { path, query } }`. */
export type PageInit<P extends PaginatedPath> = {
  params: ([PagePathParams<P>] extends [never] ? { path?: never } : { path: PagePathParams<P> }) & {
    query?: PageQuery<P>;
  };
};
/** A route with path parameters needs a PageInit; one without also takes its query alone. */
export type PageArgs<P extends PaginatedPath> = [PagePathParams<P>] extends [never]
  ? [queryOrInit?: PageQuery<P> | PageInit<P>]
  : [init: PageInit<P>];
export type PageItem<P extends PaginatedPath> =
  JsonOk<P> extends { items: Array<infer T> } ? T : never;

export interface GatewayClientOptions {
  /** Origin of the gateway, e.g. `http://localhost:5000` (the spec's paths carry `/api/v1`). */
  baseUrl: string;
  /** Bearer token (accessToken from register/login); change it later with setToken. */
  token?: string;
  /** Custom fetch (tests, proxies); defaults to globalThis.fetch. */
  fetch?: typeof globalThis.fetch;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
}

export interface GatewayClient {
  get: GatewayCall<'get'>;
  post: GatewayCall<'post'>;
  put: GatewayCall<'put'>;
  patch: GatewayCall<'patch'>;
  delete: GatewayCall<'delete'>;
  /**
   * Iterates every item of a paginated list route, fetching page after page (default 100 per page).
   * Takes the query alone, or `{ params: { path, query } }` as `get` does (required for a route with
   * path parameters). With a `before` cursor it follows the cursor (the last item's id) instead of
   * page numbers.
   */
  paginate<P extends PaginatedPath>(
    path: P,
    ...args: PageArgs<P>
  ): AsyncGenerator<PageItem<P>, void, undefined>;
  /**
   * The organization's live events (`GET /api/v1/events`, Server-Sent Events), one by one, as
   * they happen; reconnects and resumes after the last event by default. End it with
   * `options.signal` or by leaving the `for await` loop.
   */
  events(options?: EventStreamOptions): AsyncGenerator<GatewayEvent, void, undefined>;
  /** Sets (or clears) the bearer token used by later calls. */
  setToken(token: string | undefined): void;
  readonly token: string | undefined;
  /** The underlying openapi-fetch client (answers `{ data, error, response }` instead of throwing). */
  readonly raw: Client<paths>;
}

const MAX_PAGE_SIZE = 100;

/** Whether paginate() got `{ params: { … } }` rather than a bare query (no list route has a `params` filter). */
function isPageInit(arg: unknown): arg is { params: { path?: object; query?: object } } {
  return typeof arg === 'object' && arg !== null && 'params' in arg;
}

/**
 * A success body read as a stream: JSON parsed (undefined when empty), anything else a Blob of the
 * answer's Content-Type. Media (served with a Content-Disposition) is a Blob whatever its type: a
 * document sent as application/json is the sender's bytes, maybe a range of them.
 */
async function successBody(response: Response, stream: unknown): Promise<unknown> {
  if (!(stream instanceof ReadableStream)) return stream; // no body (204)
  const contentType = response.headers.get('content-type') ?? '';
  const body = new Response(stream);
  const isFile = response.headers.has('content-disposition');
  if (!isFile && /^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType)) {
    const text = await body.text();
    return text ? JSON.parse(text) : undefined;
  }
  return new Blob([await body.arrayBuffer()], { type: contentType });
}

/** A typed client of the WhatsApp gateway REST API, generated from openapi.json. */
export function createGatewayClient(options: GatewayClientOptions): GatewayClient {
  let token = options.token;
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const raw = createClient<paths>({
    baseUrl,
    fetch: options.fetch,
    headers: options.headers,
  });
  const auth: Middleware = {
    onRequest({ request }) {
      if (token && !request.headers.has('authorization'))
        request.headers.set('Authorization', `Bearer ${token}`);
      return request;
    },
  };
  raw.use(auth);

  const call = async (
    method: HttpMethod,
    url: string,
    init?: { parseAs?: string; params?: object },
  ): Promise<any> => {
    // Unless the caller picks parseAs, the body is read by its Content-Type (see successBody).
    const parseAs = init?.parseAs ?? 'stream';
    const result = await (
      raw.request as (
        m: string,
        u: string,
        i?: object,
      ) => Promise<{ data?: unknown; error?: unknown; response: Response }>
    )(method, url, { ...init, parseAs });
    if (!result.response.ok) {
      throw new ApiError(
        result.response.status,
        result.error ?? null,
        result.response.headers.get('x-request-id') ?? undefined,
        result.response.headers.get('retry-after'),
      );
    }
    return init?.parseAs ? result.data : successBody(result.response, result.data);
  };
  const method = <M extends HttpMethod>(m: M) =>
    ((url: string, init?: { parseAs?: string }) => call(m, url, init)) as unknown as GatewayCall<M>;

  async function* paginate<P extends PaginatedPath>(
    path: P,
    ...[arg]: PageArgs<P>
  ): AsyncGenerator<PageItem<P>, void, undefined> {
    const { path: pathParams, query } = isPageInit(arg)
      ? arg.params
      : { path: undefined, query: arg };
    const base: Record<string, unknown> = { ...query };
    const limit = typeof base.limit === 'number' ? base.limit : MAX_PAGE_SIZE;
    const fetchPage = async (pageQuery: Record<string, unknown>) =>
      (await call('get', path, {
        params: { path: pathParams, query: { ...pageQuery, limit } },
      })) as { items: PageItem<P>[]; total: number };
    if (typeof base.before === 'string') {
      // A cursor page is page 1 of what is older than `before`, and `total` counts all of that:
      // the next cursor is the last item's id (page numbers with a cursor are a 400).
      let before: string | undefined = base.before;
      while (before !== undefined) {
        const body = await fetchPage({ ...base, before });
        yield* body.items;
        const last = body.items.at(-1) as { id?: unknown } | undefined;
        before =
          body.items.length < body.total && typeof last?.id === 'string' ? last.id : undefined;
      }
      return;
    }
    for (let page = typeof base.page === 'number' ? base.page : 1; ; page += 1) {
      const body = await fetchPage({ ...base, page });
      yield* body.items;
      if (body.items.length === 0 || page * limit >= body.total) return;
    }
  }

  return {
    get: method('get'),
    post: method('post'),
    put: method('put'),
    patch: method('patch'),
    delete: method('delete'),
    paginate,
    events: (eventOptions) =>
      streamEvents(
        {
          baseUrl,
          fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
          headers: () => ({
            ...options.headers,
            ...(token ? { Authorization: `Bearer ${token}` } : {}),
          }),
        },
        eventOptions,
      ),
    setToken(next) {
      token = next;
    },
    get token() {
      return token;
    },
    raw,
  };
}
