// Live updates of a view: the gateway's event stream (GET /api/v1/events, Server-Sent Events) tells
// that something changed, and the view reloads what it shows through the REST API. Events are only
// a nudge, so one that comes twice, late or out of order changes nothing, and one lost is made up
// for by the reload at each (re)connection and the slow reload every SAFETY_RELOAD_MS.

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;
/** Reloads at most this often, however many events come. */
const MIN_GAP_MS = 2000;
/** Reloads this often anyway, for changes whose event never came (a proxy holding the stream back). */
const SAFETY_RELOAD_MS = 30_000;

/**
 * Runs `task` when asked, one run at a time and at most one every `minGapMs`: what is asked while a
 * run is under way or waiting is folded into one more run. A burst of events, or an API slower than
 * the events, costs one request at a time, never a pile of them.
 */
export function coalesced(task, minGapMs) {
  let running = false;
  let again = false;
  let timer = null;
  let lastStart = -Infinity;
  const run = async () => {
    timer = null;
    running = true;
    again = false;
    lastStart = Date.now();
    try {
      await task();
    } finally {
      running = false;
      if (again) request();
    }
  };
  const request = () => {
    if (running) again = true;
    else timer ??= setTimeout(run, Math.max(0, lastStart + minGapMs - Date.now()));
  };
  const cancel = () => {
    clearTimeout(timer);
    timer = null;
    again = false;
  };
  return { request, cancel };
}

/**
 * Follows the organization's events of `types` while started: `onEvent` for each, `onOpen` at each
 * (re)connection. EventSource cannot send the bearer header, so each connection first asks for a
 * stream token (`streamToken()`, valid 60 s to connect); a stream that fails or is cut is opened
 * again with a fresh one after 1, 2, 4 … 30 s (EventSource's own retry reuses the URL, whose token
 * has expired by then).
 */
export function followEvents({ types, streamToken, onEvent, onOpen }) {
  let active = false;
  let source = null;
  let timer = null;
  let delay = RETRY_MIN_MS;
  let attempt = 0; // the current connect(); a stop or a newer connect leaves older ones moot

  async function connect() {
    timer = null;
    const mine = ++attempt;
    let token;
    try {
      token = await streamToken();
    } catch {
      if (mine === attempt) retryLater();
      return;
    }
    if (mine !== attempt) return;
    const url = new URL('/api/v1/events', window.location.origin);
    url.searchParams.set('types', types.join(','));
    url.searchParams.set('access_token', token);
    const stream = new EventSource(url);
    source = stream;
    stream.onopen = () => {
      delay = RETRY_MIN_MS;
      onOpen();
    };
    stream.onmessage = (message) => onEvent(message);
    stream.onerror = () => {
      if (source !== stream) return;
      stream.close();
      source = null;
      retryLater();
    };
  }

  function retryLater() {
    if (!active) return;
    timer = setTimeout(connect, delay);
    delay = Math.min(delay * 2, RETRY_MAX_MS);
  }

  return {
    start() {
      if (active) return;
      active = true;
      delay = RETRY_MIN_MS;
      connect();
    },
    stop() {
      if (!active) return;
      active = false;
      attempt += 1;
      clearTimeout(timer);
      timer = null;
      source?.close();
      source = null;
    },
  };
}

/**
 * Keeps a view current while started: `reload()` once at each (re)connection of the event stream,
 * after events of `types` (coalesced: one at a time, at most one every MIN_GAP_MS), and every
 * SAFETY_RELOAD_MS. Stop it when the view is left or the tab hidden: a hidden tab holds no stream
 * (the browser's few connections per host are shared by every tab of the gateway) and asks nothing.
 */
export function liveView({ types, streamToken, reload }) {
  const reloads = coalesced(reload, MIN_GAP_MS);
  const events = followEvents({
    types,
    streamToken,
    onEvent: reloads.request,
    onOpen: reloads.request,
  });
  let safety = null;
  return {
    start() {
      events.start();
      safety ??= setInterval(reloads.request, SAFETY_RELOAD_MS);
    },
    stop() {
      events.stop();
      reloads.cancel();
      clearInterval(safety);
      safety = null;
    },
  };
}

/**
 * Keeps the shown view current, one liveView per view of `views` ({ name: { types, reload } }):
 * `follow(name)` starts the one of the view now shown and stops the others (`null`: none, for a
 * hidden tab or a logged-out page), so the page holds at most one stream.
 */
export function liveViews(views, streamToken) {
  const live = new Map(
    Object.entries(views).map(([name, { types, reload }]) => [
      name,
      liveView({ types, streamToken, reload }),
    ]),
  );
  return {
    follow(shown) {
      for (const [name, view] of live) if (name !== shown) view.stop();
      live.get(shown)?.start();
    },
  };
}
