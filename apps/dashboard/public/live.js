// Live updates of a view: the gateway's event stream (GET /api/v1/events, Server-Sent Events) tells
// that something changed, and the view reloads what it shows through the REST API. Events are only
// a nudge, so one that comes twice, late or out of order changes nothing, and one lost is made up
// for by the load at each (re)connection and the slow reload every `timing.safetyReloadMs`.

/**
 * The waits of the live updates. The page never changes them; a browser test may shorten them
 * (test/support/browser.ts) rather than wait seconds for each reload.
 */
export const timing = {
  /** Reloads at most this often, however many events come. */
  minGapMs: 2000,
  /** Reloads this often anyway, for changes whose event never came (a proxy holding the stream back). */
  safetyReloadMs: 30_000,
  /** A stream that could not open, or a load that failed, is tried again after this, doubling… */
  retryMinMs: 1000,
  /** … up to this. */
  retryMaxMs: 30_000,
  /** How long the view waits for the event of a change the page made before it reloads without it. */
  eventWaitMs: 3000,
};

/**
 * Runs `task` when asked, one run at a time and at most one every `minGapMs()`: what is asked while
 * a run is under way or waiting is folded into one more run. A burst of events, or an API slower
 * than the events, costs one request at a time, never a pile of them. `now()` asks for a run
 * without the wait (still one at a time): a view just shown loads at once.
 */
export function coalesced(task, minGapMs) {
  let running = false;
  let again = false;
  let againNow = false;
  let timer = null;
  let lastStart = -Infinity;
  const run = async () => {
    timer = null;
    running = true;
    again = false;
    againNow = false;
    lastStart = Date.now();
    try {
      await task();
    } finally {
      running = false;
      if (againNow) now();
      else if (again) request();
    }
  };
  const schedule = (delay) => {
    if (running) return;
    if (timer !== null && delay > 0) return;
    clearTimeout(timer);
    timer = setTimeout(run, delay);
  };
  const request = () => {
    again = true;
    schedule(Math.max(0, lastStart + minGapMs() - Date.now()));
  };
  const now = () => {
    againNow = true;
    schedule(0);
  };
  const cancel = () => {
    clearTimeout(timer);
    timer = null;
    again = false;
    againNow = false;
  };
  return { request, now, cancel };
}

/** The event's envelope ({ type, sessionName, data, … }); {} if it is not JSON (it still nudges). */
function envelopeOf(message) {
  try {
    return JSON.parse(message.data) ?? {};
  } catch {
    return {};
  }
}

/** The stream's filter as query parameters: the ones `filter()` gives a value. */
const filterParams = (filter) =>
  Object.entries(filter()).filter(
    ([, value]) => value !== undefined && value !== null && value !== '',
  );

/** The stream's query parameters: its types, then its filter. */
const streamParams = (types, filter) => [['types', types().join(',')], ...filterParams(filter)];

/**
 * Follows the organization's events of `types()` (and of `filter()`: { sessionName }; both read at
 * each connection) while started: `onEvent(envelope)` for each, `onOpen` at each (re)connection,
 * `onFail` when a connection could not be opened (a cut one is not: it is opened again).
 * EventSource cannot send the bearer header, so each connection first asks for a stream token
 * (`streamToken()`, valid 60 s to connect); a stream that fails or is cut is opened again with a
 * fresh one after 1, 2, 4 … 30 s (EventSource's own retry reuses the URL, whose token has expired
 * by then).
 */
export function followEvents({ types, filter = () => ({}), streamToken, onEvent, onOpen, onFail }) {
  let active = false;
  let source = null;
  let timer = null;
  let delay = timing.retryMinMs;
  let attempt = 0; // the current connect(); a stop or a newer connect leaves older ones moot
  let filteredBy = ''; // the filter of the current connect()

  async function connect() {
    timer = null;
    const mine = ++attempt;
    const params = streamParams(types, filter);
    filteredBy = JSON.stringify(params);
    let token;
    try {
      token = await streamToken();
    } catch {
      if (mine === attempt) failed();
      return;
    }
    if (mine !== attempt) return;
    const url = new URL('/api/v1/events', window.location.origin);
    for (const [key, value] of params) url.searchParams.set(key, value);
    url.searchParams.set('access_token', token);
    const stream = new EventSource(url);
    source = stream;
    let opened = false;
    stream.onopen = () => {
      opened = true;
      delay = timing.retryMinMs;
      onOpen();
    };
    stream.onmessage = (message) => onEvent(envelopeOf(message));
    stream.onerror = () => {
      if (source !== stream) return;
      stream.close();
      source = null;
      if (opened) retryLater();
      else failed();
    };
  }

  function failed() {
    onFail();
    retryLater();
  }

  function retryLater() {
    if (!active) return;
    timer = setTimeout(connect, delay);
    delay = Math.min(delay * 2, timing.retryMaxMs);
  }

  function close() {
    attempt += 1;
    clearTimeout(timer);
    timer = null;
    source?.close();
    source = null;
  }

  return {
    start() {
      if (active) return;
      active = true;
      delay = timing.retryMinMs;
      connect();
    },
    stop() {
      if (!active) return;
      active = false;
      close();
    },
    /** True while a stream is open: its events come (a cut one is being opened again). */
    isOpen: () => source?.readyState === EventSource.OPEN,
    /** Opens the stream again if `types()` or `filter()` changed since it was opened; true if it did. */
    refilter() {
      if (!active || JSON.stringify(streamParams(types, filter)) === filteredBy) return false;
      close();
      delay = timing.retryMinMs;
      connect();
      return true;
    },
  };
}

/**
 * `reload` through coalesced(): one at a time, at most one every `timing.minGapMs`. A reload that
 * resolves `false` (it failed, and said so) is tried again after 1, 2, 4 … 30 s while `active()`,
 * not only at the next event.
 */
function retriedReloads(reload, active) {
  let retry = null;
  let retryDelay = timing.retryMinMs;
  const reloads = coalesced(
    async () => {
      clearTimeout(retry);
      retry = null;
      const ok = (await reload()) !== false;
      if (ok) retryDelay = timing.retryMinMs;
      else if (active()) {
        retry = setTimeout(reloads.request, retryDelay);
        retryDelay = Math.min(retryDelay * 2, timing.retryMaxMs);
      }
    },
    () => timing.minGapMs,
  );
  return {
    request: reloads.request,
    now: reloads.now,
    /** Nothing more runs; the next failure is tried again after the shortest wait. */
    cancel() {
      reloads.cancel();
      clearTimeout(retry);
      retry = null;
      retryDelay = timing.retryMinMs;
    },
  };
}

/**
 * Keeps a view current while started: `reload()` when its event stream opens (a view just shown
 * loads then, once: loaded before, it would miss a change made before the stream took it), after
 * events of `types` that `relevant(envelope)` keeps (coalesced: one at a time, at most one every
 * `timing.minGapMs`), and every `timing.safetyReloadMs`. A stream that cannot open does not leave
 * the view empty: it loads anyway, once until the stream opens. A reload that resolves `false` (it
 * failed, and said so) is tried again after 1, 2, 4 … 30 s. `alongside` ({ types, reload }): a
 * part of the view that the organization's other events change (the session drop-downs): reloaded
 * when its events come (they do not reload the view, nor the view's it), when the stream bringing
 * them opens, and at the safety reload. While `filter()` names a session, the view's stream
 * carries that session's events only, so the part follows the organization's on a second stream
 * (they are few: a session's statuses and deletion); otherwise both share one stream. Stop it when
 * the view is left or the tab hidden: a hidden tab holds no stream (the browser's few connections
 * per host are shared by every tab of the gateway) and asks nothing.
 */
export function liveView({
  types,
  filter = () => ({}),
  relevant = () => true,
  streamToken,
  reload,
  alongside,
}) {
  let started = false;
  let safety = null;
  const active = () => started;
  /** What a stream reloads: its reloads, and whether it loaded since this start (or filter). */
  const part = (partTypes, isRelevant, load) => ({
    types: partTypes,
    relevant: isRelevant,
    reloads: retriedReloads(load, active),
    shown: false,
    loadedWithoutStream: false,
  });
  const view = part(types, relevant, reload);
  const lists = alongside ? part(alongside.types, () => true, alongside.reload) : null;
  const parts = lists ? [view, lists] : [view];
  const listsApart = () => lists !== null && filterParams(filter).length > 0;

  /** Changes of this page whose event the view waits for (awaitChange). */
  const awaited = new Set();
  const forget = (change) => {
    clearTimeout(change.timer);
    awaited.delete(change);
  };

  const firstLoad = (served) => {
    for (const p of served) {
      if (p.shown) p.reloads.request();
      else p.reloads.now();
      p.shown = true;
    }
  };
  const fresh = (p) => {
    p.shown = false;
    p.loadedWithoutStream = false;
  };
  const nudge = (event, served) => {
    for (const p of served) {
      // An event that is not JSON has no type: it still nudges.
      const its = event.type === undefined || p.types.includes(event.type);
      if (its && p.relevant(event)) p.reloads.request();
    }
  };
  /**
   * A stream of the events of the parts `served()` names (read at each connection), filtered by
   * `streamFilter`; `onEvent(envelope, parts)` with the parts served since it opened.
   */
  const stream = (served, streamFilter, onEvent) => {
    let serving = [];
    return followEvents({
      types: () => [...new Set(served().flatMap((p) => p.types))],
      filter: streamFilter,
      streamToken,
      onEvent: (event) => onEvent(event, serving),
      onOpen: () => {
        serving = served();
        for (const p of serving) p.loadedWithoutStream = false;
        firstLoad(serving);
      },
      onFail: () => {
        const now = served().filter((p) => !p.loadedWithoutStream);
        for (const p of now) p.loadedWithoutStream = true;
        firstLoad(now);
      },
    });
  };
  const events = stream(
    () => (listsApart() ? [view] : parts),
    filter,
    (event, serving) => {
      let announced = false;
      for (const change of awaited) {
        if (change.seen || !change.matching(event)) continue;
        announced = change.seen = true;
        if (change.made) forget(change);
      }
      if (announced) view.reloads.request();
      nudge(event, serving);
    },
  );
  const listEvents = lists && stream(() => [lists], undefined, nudge);
  /** The lists' own stream runs while the view's carries one session's events only. */
  const placeLists = () => {
    if (started && listsApart()) listEvents?.start();
    else listEvents?.stop();
  };
  return {
    start() {
      if (started) return;
      started = true;
      parts.forEach(fresh);
      events.start();
      placeLists();
      safety = setInterval(() => parts.forEach((p) => p.reloads.request()), timing.safetyReloadMs);
    },
    stop() {
      if (!started) return;
      started = false;
      events.stop();
      listEvents?.stop();
      for (const p of parts) p.reloads.cancel();
      for (const change of awaited) forget(change); // shown again, the view loads anyway
      clearInterval(safety);
      safety = null;
    },
    refilter() {
      const reopened = events.refilter();
      if (reopened) {
        fresh(view);
        placeLists();
      }
      return reopened;
    },
    /**
     * A change this page is making (a POST) that its event (`matching` it) will announce: the view
     * reloads once for it, at that event, rather than after the answer and again at the event.
     * Asked before the request, since the event may come before the answer. `made()` once it is
     * made: its event came, or the view reloads when it comes, or after `timing.eventWaitMs`
     * without it (late or lost), or at once when no stream is open to bring it. `dropped()`: no
     * change was made, no event comes.
     */
    awaitChange(matching) {
      const change = { matching, seen: false, made: false, timer: null };
      if (started) awaited.add(change);
      return {
        made() {
          if (!awaited.has(change)) return; // stopped meanwhile: shown again, the view loads
          change.made = true;
          if (change.seen) forget(change);
          else if (!events.isOpen()) {
            forget(change);
            view.reloads.request();
          } else
            change.timer = setTimeout(() => {
              forget(change);
              view.reloads.request();
            }, timing.eventWaitMs);
        },
        dropped: () => forget(change),
      };
    },
  };
}

/**
 * Keeps the shown view current, one liveView per view of `views` ({ name: { types, filter?,
 * relevant?, reload, alongside? } }): `follow(name)` starts the one of the view now shown
 * and stops the others (`null`: none, for a hidden tab or a logged-out page), so the page holds the
 * streams of one view at most; `leaveAllBut(name)` only stops the others.
 */
export function liveViews(views, streamToken) {
  const live = new Map(
    Object.entries(views).map(([name, view]) => [name, liveView({ ...view, streamToken })]),
  );
  const leaveAllBut = (shown) => {
    for (const [name, view] of live) if (name !== shown) view.stop();
  };
  return {
    follow(shown) {
      leaveAllBut(shown);
      live.get(shown)?.start();
    },
    leaveAllBut,
    /** After a view's filter changed: true if its stream is opened again (its load comes then). */
    refilter(shown) {
      return live.get(shown)?.refilter() ?? false;
    },
    /** A change the page is making in the view `shown` (liveView's awaitChange). */
    awaitChange(shown, matching) {
      return live.get(shown).awaitChange(matching);
    },
  };
}
