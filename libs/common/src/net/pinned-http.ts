import { type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Agent } from 'node:http';
import type { LookupFunction } from 'node:net';
import type { ResolvedAddress } from './ssrf-guard';

/**
 * A DNS lookup that answers with addresses the SSRF guard already checked, so the connection goes
 * to one of them and the name is never resolved again (closes the DNS-rebinding window between
 * the check and the connect). TLS still verifies the certificate against the URL's host name.
 */
export function pinnedLookup(addresses: ResolvedAddress[]): LookupFunction {
  return ((
    _hostname: string,
    options: { all?: boolean; family?: number },
    callback: (...args: unknown[]) => void,
  ) => {
    const usable = options?.family
      ? addresses.filter((a) => a.family === options.family)
      : addresses;
    const list = usable.length ? usable : addresses;
    if (options?.all)
      callback(
        null,
        list.map((a) => ({ address: a.address, family: a.family })),
      );
    else callback(null, list[0].address, list[0].family);
  }) as unknown as LookupFunction;
}

/**
 * GETs `url` and resolves with the response once its headers arrive (redirects are not followed).
 * `addresses`: where to connect (see pinnedLookup); empty = resolve the host as usual (a host the
 * operator allow-listed by name). `signal` aborts the request and the body stream. No keep-alive
 * pool unless `agent` is given.
 */
export function pinnedGet(
  url: string,
  addresses: ResolvedAddress[],
  options: { signal?: AbortSignal; headers?: Record<string, string>; agent?: Agent } = {},
): Promise<IncomingMessage> {
  const target = new URL(url);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(
      target,
      {
        method: 'GET',
        headers: options.headers,
        signal: options.signal,
        // A fresh connection unless the caller pools: a pooled socket skips the lookup entirely.
        agent: options.agent ?? false,
        ...(addresses.length ? { lookup: pinnedLookup(addresses) } : {}),
      },
      resolve,
    );
    req.on('error', reject);
    req.end();
  });
}
