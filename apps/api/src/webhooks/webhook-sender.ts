import {
  Agent as HttpAgent,
  type IncomingMessage,
  request as httpRequest,
  type RequestOptions,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import { pinnedLookup, type ResolvedAddress } from '@app/common';

export interface WebhookPost {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  /** Addresses already checked by the SSRF guard; the connection goes to one of these, never re-resolved. */
  addresses: ResolvedAddress[];
  signal?: AbortSignal;
}

export interface WebhookPostResult {
  ok: boolean;
  statusCode?: number;
  error?: string;
  durationMs: number;
}

const MAX_ERROR_BODY = 512;
// Keep-alive pools: a reused socket is connected to an address that was checked when it was opened.
const httpAgent = new HttpAgent({
  keepAlive: true,
  maxSockets: 64,
  maxFreeSockets: 16,
  timeout: 60_000,
});
const httpsAgent = new HttpsAgent({
  keepAlive: true,
  maxSockets: 64,
  maxFreeSockets: 16,
  timeout: 60_000,
});

/**
 * POSTs one webhook body. A 2xx status is success as soon as it arrives (the receiver has the
 * event); its body is read and dropped within the same timeout, then the connection is cut. Any
 * other status (with the start of its body, or where a redirect pointed), a timeout or a network
 * error is a failed attempt.
 */
export function postWebhook(post: WebhookPost): Promise<WebhookPostResult> {
  const started = performance.now();
  const url = new URL(post.url);
  const secure = url.protocol === 'https:';
  const options: RequestOptions = {
    method: 'POST',
    agent: secure ? httpsAgent : httpAgent,
    headers: { ...post.headers, 'Content-Length': String(Buffer.byteLength(post.body)) },
    signal: post.signal,
    ...(post.addresses.length ? { lookup: pinnedLookup(post.addresses) } : {}),
  };
  return new Promise<WebhookPostResult>((resolve) => {
    let settled = false;
    /** An error answer whose body is still being read: the timer reports its status too. */
    let failing: { statusCode: number; text: string } | undefined;
    const finish = (result: Omit<WebhookPostResult, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      resolve({ ...result, durationMs: Math.round(performance.now() - started) });
    };
    const req = (secure ? httpsRequest : httpRequest)(url, options, (res: IncomingMessage) => {
      const statusCode = res.statusCode ?? 0;
      if (statusCode >= 200 && statusCode < 300) {
        finish({ ok: true, statusCode });
        res.resume(); // drained for keep-alive; one that never ends is cut off by the timer
        return;
      }
      // Not followed: the SSRF guard checked this URL only, and a POST may not be repeated elsewhere.
      const location = statusCode >= 300 && statusCode < 400 ? res.headers.location : undefined;
      if (location) {
        finish({
          ok: false,
          statusCode,
          error: `HTTP ${statusCode}: redirects are not followed; the receiver pointed to ${location.slice(0, MAX_ERROR_BODY)}`,
        });
        res.resume();
        return;
      }
      const answer = (failing = { statusCode, text: '' });
      const failed = () => finish(errorAnswer(answer));
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        answer.text += chunk;
        if (answer.text.length < MAX_ERROR_BODY) return;
        failed(); // enough to show: the rest of a long (or endless) error page is not waited for
        req.destroy();
      });
      res.on('end', failed);
      res.on('error', (err) => finish({ ok: false, statusCode, error: err.message }));
    });
    const timer = setTimeout(() => {
      const timedOut = `Timed out after ${post.timeoutMs / 1000} s`;
      // An error status that arrived is the answer, whose body stalled.
      const answer = failing && errorAnswer(failing);
      finish(
        answer
          ? { ...answer, error: `${answer.error} (${timedOut})` }
          : { ok: false, error: timedOut },
      );
      req.destroy(new Error('timeout'));
    }, post.timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', (err: NodeJS.ErrnoException) =>
      finish({ ok: false, error: err.code ? `${err.code}: ${err.message}` : err.message }),
    );
    req.end(post.body);
  });
}

/** A failed attempt for an error status, with the start of its body. */
function errorAnswer({ statusCode, text }: { statusCode: number; text: string }) {
  const body = text ? `: ${text.slice(0, MAX_ERROR_BODY)}` : '';
  return { ok: false, statusCode, error: `HTTP ${statusCode}${body}` };
}
