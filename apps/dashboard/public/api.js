// Thin client of the gateway's public REST API (the routes of openapi.json; test/openapi.e2e-spec.ts
// checks that every api(method, path) call below and in app.js is a documented route).
// The token lives in sessionStorage: it survives reloads of this tab and is gone when the tab closes.

const TOKEN_KEY = 'wagw.dashboard.token';

/**
 * A non-2xx answer, with the gateway's error shape { statusCode, error, code?, message, details?, requestId };
 * status 0 when no answer came (offline, connection refused or cut).
 */
export class ApiError extends Error {
  constructor(status, body, retryAfter = null) {
    const shaped =
      body && typeof body === 'object' && typeof body.message === 'string' ? body : undefined;
    super(shaped ? shaped.message : unshapedMessage(status));
    this.name = 'ApiError';
    this.status = status;
    this.code = shaped?.code;
    this.details = shaped?.details;
    this.requestId = shaped?.requestId;
    this.body = body;
    /** Seconds to wait before trying again, from a Retry-After header (429, 503); else undefined. */
    this.retryAfterSeconds = parseRetryAfter(retryAfter);
    /** A 401 of a logged-in call: already reported through whenUnauthorized. */
    this.sessionExpired = false;
  }

  /**
   * "message: field problem; …" for display. Only a validation error's problems are shown
   * ({ field: ["…"] } or ["…"]); other details (a session's name and internal id, …) are for programs.
   */
  describe() {
    const lists = Array.isArray(this.details)
      ? [this.details]
      : Object.values(this.details ?? {}).filter(Array.isArray);
    const details = lists.flat().filter((v) => typeof v === 'string');
    return details.length ? `${this.message}: ${details.join('; ')}` : this.message;
  }
}

/** Words for no answer, or one without the gateway's error shape (a proxy's error page, …). */
function unshapedMessage(status) {
  if (status === 0) return 'The gateway cannot be reached. Check the connection and try again.';
  if (status >= 500)
    return `The gateway is not answering properly (HTTP ${status}). Try again shortly.`;
  return `The request was refused (HTTP ${status}).`;
}

/** Retry-After is delay-seconds or an HTTP date (RFC 9110 §10.2.3); anything else is ignored. */
function parseRetryAfter(value) {
  if (!value) return undefined;
  const seconds = /^\d+$/.test(value.trim())
    ? Number(value)
    : (Date.parse(value) - Date.now()) / 1000;
  return Number.isFinite(seconds) ? Math.max(1, Math.ceil(seconds)) : undefined;
}

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set token(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
};

let onUnauthorized = () => {};
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

/** Calls the API; resolves to the parsed JSON body (undefined for 204), rejects with ApiError. */
export async function api(method, path, { query, body, headers: extra } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '')
      url.searchParams.set(key, String(value));
  }
  const headers = { Accept: 'application/json', ...extra };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0); // fetch's own TypeError reads "Failed to fetch"
  }
  if (response.status === 204) return undefined;
  const text = await response.text();
  let data = text;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON (e.g. a proxy error page): keep the text
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data, response.headers.get('Retry-After'));
    if (response.status === 401 && session.token) {
      error.sessionExpired = true;
      onUnauthorized(error);
    }
    throw error;
  }
  return data;
}

export async function login(email, password) {
  const result = await api('POST', '/api/v1/auth/login', { body: { email, password } });
  session.token = result.accessToken;
  return result;
}

export const me = () => api('GET', '/api/v1/auth/me');
