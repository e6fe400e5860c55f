// Admin dashboard: plain ES module, no framework, no build step. Talks only to the public REST API.
import { api, ApiError, login, me, session, whenUnauthorized } from './api.js';
import { liveViews } from './live.js';
import { recipientProblem, recipientValue } from './recipient.js';

/** The events after which each view reloads what it shows (the event stream's types). */
const SESSION_EVENTS = ['session.status', 'session.qr', 'session.deleted'];
const MESSAGE_EVENTS = ['message.received', 'message.sent', 'message.status', 'chat.read'];
/** A contact created (synced, first message) is announced as updated too: there is no created. */
const CONTACT_EVENTS = ['contact.updated'];
/** What the figures count: messages and their statuses, sessions (connected), contacts. */
const STATS_EVENTS = [...MESSAGE_EVENTS, 'session.status', 'session.deleted', 'contact.updated'];
/** After which the session drop-downs of the other views reload (a new session's first status). */
const SESSION_LIST_EVENTS = ['session.status', 'session.deleted'];
const VIEWS = ['sessions', 'messages', 'contacts', 'stats'];
const STATUS_LABELS = {
  connecting: 'Connecting…',
  qr_ready: 'Waiting for scan',
  connected: 'Connected',
  disconnected: 'Disconnected',
  logged_out: 'Logged out',
  failed: 'Failed',
};

const $ = (selector, root = document) => root.querySelector(selector);
const state = {
  sessions: [],
  qrFor: null,
  qrData: null,
  /** The error text of the last live reload, while it keeps failing with it. */
  quietErrors: { live: null },
  messagesPage: 1,
  contactsPage: 1,
  // The filters last applied: paging (and a live reload) keeps them while the form is being edited.
  messageFilters: null,
  contactFilters: null,
  statsFilters: null,
  /** The number of the last route(): an older one still loading the sessions follows no view. */
  visits: 0,
  contacts: new Map(),
  editing: null,
  editingRevision: null,
  /** Numbers of the last loads asked for: an answer to an older one is not shown. */
  loads: { sessions: 0, messages: 0, chats: 0, contacts: 0 },
  /** The number of the sessions load shown: an answer to an older one is not. */
  sessionsShown: 0,
  /** Per form: the text being sent and its Idempotency-Key, until the gateway takes it. */
  sendDrafts: new Map(),
  /** The chat the history shows, { sessionName, to }, that the reply form answers; else null. */
  replyTo: null,
  /** Replies typed but not sent, per chat: switching chats neither loses one nor sends it elsewhere. */
  replyDrafts: new Map(),
};

/** Creates an element: h('td', { className: 'x' }, 'text', child). */
function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('aria-') || key === 'role') el.setAttribute(key, value);
    else el[key] = value;
  }
  for (const child of children.flat()) if (child !== undefined && child !== null) el.append(child);
  return el;
}

/** Copies column headers into data-label, so narrow screens can show each row as a labelled card. */
function labelCells(table) {
  const headers = [...table.tHead.rows[0].cells].map((cell) => cell.textContent);
  for (const row of table.tBodies[0].rows)
    [...row.cells].forEach((cell, i) => (cell.dataset.label = headers[i] ?? ''));
}

const formatTime = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
const statusBadge = (status) =>
  h(
    'span',
    { className: `badge status-${status}`, dataset: { status } },
    STATUS_LABELS[status] ?? status,
  );

function toast(text) {
  const el = $('#toast');
  el.textContent = text;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (el.textContent = ''), 5000);
}

function showError(error) {
  const el = $('#alert');
  el.textContent = error instanceof ApiError ? error.describe() : String(error?.message ?? error);
  el.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => (el.hidden = true), 8000);
}

/** Runs an async UI action; errors go to the alert region (an expired session has its own message). */
const guarded =
  (fn) =>
  async (...args) => {
    try {
      await fn(...args);
    } catch (error) {
      if (!(error instanceof ApiError && error.sessionExpired)) showError(error);
    }
  };

/**
 * A form's submit handler that ignores submits while the last one runs, its button disabled
 * meanwhile: a double click sent a text twice, or saved a contact twice (the second a 409).
 */
const submitOnce = (fn) => {
  const running = new Set();
  return async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    if (running.has(form)) return;
    running.add(form);
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      await fn(event);
    } finally {
      running.delete(form);
      button.disabled = false;
    }
  };
};

// ---- routing -------------------------------------------------------------------------

function currentView() {
  const name = window.location.hash.replace(/^#\/?/, '');
  return VIEWS.includes(name) ? name : 'sessions';
}

async function route() {
  const loggedIn = Boolean(session.token);
  const visit = ++state.visits;
  // The view left stops following at once; the one shown starts once the session lists are filled.
  live.leaveAllBut(loggedIn ? currentView() : null);
  $('#nav').hidden = !loggedIn;
  $('#account').hidden = !loggedIn;
  for (const section of document.querySelectorAll('.view')) section.hidden = true;
  // A modal dialog of the view being left would stay open, unseen, and make the new one inert.
  for (const dialog of document.querySelectorAll('dialog[open]')) dialog.close();
  if (!loggedIn) {
    forgetLogin();
    $('#view-login').hidden = false;
    document.title = 'Log in · WhatsApp Gateway';
    return;
  }
  const view = currentView();
  $(`#view-${view}`).hidden = false;
  document.title = `${view[0].toUpperCase()}${view.slice(1)} · WhatsApp Gateway`;
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.dataset.view === view) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  state.quietErrors.live = null; // a failing load of this visit is told, even if the last one was
  try {
    // The other views' session lists, and their filters on a deleted session dropped, before they load.
    if (view !== 'sessions') await refreshSessions();
  } finally {
    // The view loads when its event stream opens (or cannot): loaded before, a change made between
    // the load's answer and the stream's opening would show only at the next event.
    if (visit === state.visits) followShownView();
  }
}

/**
 * Logged out (or the token expired): nothing of that login stays on the page for whoever logs in
 * next in this tab (another organization's sessions, QR code, messages, contacts, figures), since
 * a first load that fails for them would leave it showing.
 */
function forgetLogin() {
  closeQr();
  state.qrData = null;
  $('#qr-image').removeAttribute('src');
  state.sessions = [];
  state.contacts = new Map();
  state.messageFilters = null;
  state.contactFilters = null;
  state.statsFilters = null;
  state.quietErrors.live = null;
  state.messagesPage = 1;
  state.contactsPage = 1;
  // Loads still under way answer for that login: they are not shown.
  state.sessionsShown = ++state.loads.sessions;
  state.loads.messages += 1;
  state.loads.chats += 1;
  state.loads.contacts += 1;
  state.sendDrafts.clear();
  showReplyTo(null);
  state.replyDrafts.clear();
  showRecipientProblem('');
  $('#sessions-empty').hidden = true;
  for (const form of document.querySelectorAll('main form:not(#login-form)')) form.reset();
  for (const select of document.querySelectorAll('select[data-sessions]')) {
    select.replaceChildren();
    tellSessionGone(select, '');
  }
  for (const tbody of document.querySelectorAll('main tbody')) tbody.replaceChildren();
  for (const el of document.querySelectorAll(
    '#account-name, #stats-summary, #stats-chart, #send-result, #reply-result, #messages-page, #contacts-page',
  ))
    el.replaceChildren();
  fillSessionSelects();
}

/**
 * Runs a background load (`kind`: a live reload) whose error is shown once, not at every run while
 * it lasts (a module switched off, the database down): rewriting the alert would have it announced
 * again and never time out. Resolves false when it failed, for the caller to try again later.
 */
async function quietly(kind, load) {
  try {
    await load();
    state.quietErrors[kind] = null;
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.sessionExpired) return true; // logged out: no retry
    const text = error instanceof ApiError ? error.describe() : String(error?.message ?? error);
    const shown = !$('#alert').hidden && $('#alert').textContent === text;
    if (text !== state.quietErrors[kind] && !shown) showError(error);
    state.quietErrors[kind] = text;
    return false;
  }
}

/**
 * A live reload of the shown view: the account bar too while it is missing (the gateway could not
 * answer when the page loaded).
 */
const keepUp = (load) => () =>
  quietly('live', async () => {
    // Side by side: an account bar that cannot load does not keep the view from loading.
    await Promise.all([load(), $('#account-name').textContent ? null : showAccount()]);
  });

/** A view filtered on one session follows that session's events only (the stream filters them). */
const sessionOf = (filters) => () => ({ sessionName: filters()?.sessionName });

/**
 * The session drop-downs of a view other than Sessions follow the organization's sessions (created,
 * status, deleted) without reloading the view: on the view's stream, or, while the view shows one
 * session (its stream carries only that session's events), on a stream of their own.
 */
const sessionLists = {
  types: SESSION_LIST_EVENTS,
  reload: () => quietly('live', refreshSessionList),
};

/**
 * The views load what they show when their event stream opens, and again when the gateway's events
 * say it changed (a session's status or QR code; messages received, sent, receipts, read; contacts;
 * all of these for the figures), while shown in a visible tab: a hidden one asks nothing.
 */
const live = liveViews(
  {
    sessions: {
      types: SESSION_EVENTS,
      // A new QR code of a session that keeps waiting for its scan changes only the QR panel (a
      // status change comes as session.status): nothing to reload unless the panel shows it.
      relevant: (event) => event.type !== 'session.qr' || event.sessionName === state.qrFor,
      reload: keepUp(refreshSessions),
    },
    messages: {
      types: MESSAGE_EVENTS,
      filter: sessionOf(() => state.messageFilters),
      reload: keepUp(() => Promise.all([loadChats(), loadMessages()])),
      alongside: sessionLists,
    },
    contacts: {
      types: CONTACT_EVENTS,
      filter: sessionOf(() => state.contactFilters),
      reload: keepUp(loadContacts),
      alongside: sessionLists,
    },
    stats: {
      types: STATS_EVENTS,
      filter: sessionOf(() => state.statsFilters),
      reload: keepUp(loadStats),
      alongside: sessionLists,
    },
  },
  async () => (await api('POST', '/api/v1/events/token')).token,
);

function followShownView() {
  live.follow(session.token && !document.hidden ? currentView() : null);
}

/**
 * After the shown view's filters changed: its stream follows the new session, and the view loads
 * once that stream is open (true); `load` instead when the session is the same.
 */
async function applyFilters(load) {
  if (!live.refilter(currentView())) await load();
}

// ---- auth ----------------------------------------------------------------------------

function loginErrorText(e) {
  if (!(e instanceof ApiError)) return String(e);
  if (e.status === 401) return 'Wrong email or password.';
  if (e.status === 429 && e.retryAfterSeconds)
    return `Too many failed attempts. Try again in ${waitText(e.retryAfterSeconds)}.`;
  return e.describe();
}

/** "45 seconds", "1 minute", "15 minutes": a wait rounded up to whole minutes past 90 s. */
function waitText(seconds) {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  return `${Math.ceil(seconds / 60)} minutes`;
}

async function onLogin(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const error = $('#login-error');
  error.hidden = true;
  try {
    await login(form.email.value.trim(), form.password.value);
  } catch (e) {
    error.textContent = loginErrorText(e);
    error.hidden = false;
    return;
  }
  form.reset();
  // Logged in: what fails from here on is the page's to show (the login form is hidden, and an
  // error left under it would greet the next login); a live reload fills in a missing account bar.
  await guarded(showAccount)();
  if (!window.location.hash) window.location.hash = '#/sessions';
  await guarded(route)();
  $('#main').focus();
}

async function showAccount() {
  const { user, organization } = await me();
  $('#account-name').textContent = `${user.name} · ${organization.name}`;
}

function logout() {
  session.token = null;
  route();
}

// ---- sessions ------------------------------------------------------------------------

async function refreshSessions() {
  await refreshSessionList();
  if (state.qrFor) await refreshQr();
}

/**
 * The sessions as the page shows them: the Sessions table and every view's drop-downs; a filter on
 * a session deleted since is dropped (the shown view follows and loads every session then).
 */
async function refreshSessionList() {
  const load = ++state.loads.sessions;
  const sessions = await api('GET', '/api/v1/whatsapp/sessions');
  // Two refreshes at once (an action's, an event's): an answer older than the one shown is dropped
  // (the list shown is newer). Not the one that comes first: its caller goes on with the list.
  if (load < state.sessionsShown) return;
  state.sessionsShown = load;
  const names = new Set(sessions.map((s) => s.sessionName));
  const deleted = new Set(state.sessions.map((s) => s.sessionName).filter((n) => !names.has(n)));
  state.sessions = sessions;
  const dropped = dropDeletedSessionFilters();
  renderSessions();
  fillSessionSelects(deleted);
  if (dropped) live.refilter(currentView());
}

/**
 * An applied filter on a session deleted since would be a 404 on every load: any session instead.
 * True if one was dropped.
 */
function dropDeletedSessionFilters() {
  const names = new Set(state.sessions.map((s) => s.sessionName));
  let dropped = false;
  for (const filters of [state.messageFilters, state.contactFilters, state.statsFilters]) {
    if (filters?.sessionName && !names.has(filters.sessionName)) {
      filters.sessionName = '';
      dropped = true;
    }
  }
  return dropped;
}

function renderSessions() {
  const tbody = $('#sessions-table tbody');
  $('#sessions-empty').hidden = state.sessions.length > 0;
  const rows = new Map([...tbody.rows].map((row) => [row.dataset.session, row]));
  for (const s of state.sessions) {
    let row = rows.get(s.sessionName);
    rows.delete(s.sessionName);
    if (!row) {
      row = h(
        'tr',
        { dataset: { session: s.sessionName } },
        h('th', { scope: 'row' }, s.sessionName),
        h('td', { className: 'status-cell' }),
        h('td', { className: 'phone-cell' }),
        h('td', { className: 'activity-cell' }),
        h(
          'td',
          { className: 'actions' },
          h(
            'button',
            {
              type: 'button',
              className: 'secondary',
              onclick: () => openQr(s.sessionName),
              'aria-label': `Show QR code of ${s.sessionName}`,
            },
            'Show QR',
          ),
          h(
            'button',
            {
              type: 'button',
              className: 'secondary',
              onclick: guarded(() => restartSession(s.sessionName)),
              'aria-label': `Restart ${s.sessionName}`,
            },
            'Restart',
          ),
          h(
            'button',
            {
              type: 'button',
              className: 'danger',
              onclick: (e) => deleteSession(s.sessionName, e.currentTarget),
              'aria-label': `Delete ${s.sessionName}`,
            },
            'Delete',
          ),
        ),
      );
      tbody.append(row);
    }
    const statusCell = row.querySelector('.status-cell');
    // Why a session is not connected (logged out on the phone, banned, given up): the API's lastError.
    const reason = s.status === 'connected' ? '' : (s.lastError ?? '');
    if (statusCell.dataset.status !== s.status || statusCell.dataset.reason !== reason) {
      statusCell.dataset.status = s.status;
      statusCell.dataset.reason = reason;
      statusCell.replaceChildren(
        statusBadge(s.status),
        ...(reason ? [h('small', { className: 'status-reason' }, reason)] : []),
      );
    }
    row.querySelector('.phone-cell').textContent = s.phone ? `+${s.phone}` : '—';
    row.querySelector('.activity-cell').textContent = formatTime(s.lastActivityAt);
    row.querySelector('.actions button').hidden = s.status === 'connected';
  }
  for (const stale of rows.values()) stale.remove();
  labelCells($('#sessions-table'));
}

/**
 * Fills the session drop-downs with the sessions and their statuses, updating options in place (a
 * choice, focus or an open list stay). A choice of a session in `deleted` is said to be gone: a
 * filter shows any session instead; the send form asks to choose again (it falls back to no session,
 * not to another one, which would send from another number).
 */
function fillSessionSelects(deleted = new Set()) {
  for (const select of document.querySelectorAll('select[data-sessions]')) {
    const gone = deleted.has(select.value) ? select.value : null;
    const any = select.dataset.any;
    // The send form's "choose" entry stays until a session is chosen.
    const choose = any === undefined && (gone !== null || isChoosing(select));
    const wanted = [
      ...(any !== undefined ? [['', any]] : choose ? [['', 'Choose a session']] : []),
      ...state.sessions.map((s) => [
        s.sessionName,
        `${s.sessionName} · ${STATUS_LABELS[s.status] ?? s.status}`,
      ]),
    ];
    placeOptions(select, wanted);
    if (gone === null) continue;
    select.value = '';
    tellSessionGone(
      select,
      `Session ${gone} was deleted. ${
        any !== undefined ? `Showing ${any.toLowerCase()}.` : 'Choose another session to send from.'
      }`,
    );
  }
}

const isChoosing = (select) => select.options[0]?.value === '' && select.value === '';

/** Makes `wanted` ([value, label] pairs) the options of `select`, in order, moving kept ones only. */
function placeOptions(select, wanted) {
  const kept = new Map([...select.options].map((o) => [o.value, o]));
  const values = new Set(wanted.map(([value]) => value));
  for (const option of [...select.options]) if (!values.has(option.value)) option.remove();
  wanted.forEach(([value, label], i) => {
    const option = kept.get(value) ?? h('option', { value });
    if (option.textContent !== label) option.textContent = label;
    if (select.options[i] !== option) select.insertBefore(option, select.options[i] ?? null);
  });
}

/** Says under a session drop-down that its chosen session is gone ('' clears it). */
function tellSessionGone(select, text) {
  const notice = $(`#${select.id}-notice`);
  notice.textContent = text;
  notice.hidden = !text;
}

async function createSession(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const sessionName = form.sessionName.value.trim();
  await api('POST', '/api/v1/whatsapp/sessions', { body: { sessionName } });
  form.reset();
  toast(`Session ${sessionName} created`);
  await openQr(sessionName);
}

async function openQr(name) {
  state.qrFor = name;
  state.qrData = null;
  $('#qr-panel').hidden = false;
  $('#qr-session').textContent = name;
  await refreshSessions();
}

function closeQr() {
  state.qrFor = null;
  $('#qr-panel').hidden = true;
}

async function refreshQr() {
  const name = state.qrFor;
  const s = state.sessions.find((x) => x.sessionName === name);
  const status = $('#qr-status');
  const figure = $('#qr-figure');
  if (!s) {
    closeQr();
    return;
  }
  if (s.status === 'connected') {
    figure.hidden = true;
    state.qrData = null;
    setText(status, `Connected${s.phone ? ` as +${s.phone}` : ''}.`);
    status.dataset.status = 'connected';
    return;
  }
  status.dataset.status = s.status;
  if (s.status !== 'qr_ready') {
    figure.hidden = true;
    setText(
      status,
      s.status === 'connecting'
        ? 'Preparing a QR code…'
        : `${STATUS_LABELS[s.status] ?? s.status}. Restart the session to link again.`,
    );
    return;
  }
  try {
    const qr = await api('GET', `/api/v1/whatsapp/sessions/${encodeURIComponent(name)}/qr`);
    if (state.qrFor !== name) return;
    if (qr.qr !== state.qrData) {
      state.qrData = qr.qr;
      const img = $('#qr-image');
      img.src = qr.qr;
      img.alt = `QR code to link session ${name}`;
    }
    figure.hidden = false;
    setText(status, 'Scan the QR code with WhatsApp on your phone.');
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) return; // just connected or rotating: its event reloads
    throw error;
  }
}

/** Assigns text only when it changes, so aria-live announces changes, not every reload. */
function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

async function restartSession(name) {
  await api('POST', `/api/v1/whatsapp/sessions/${encodeURIComponent(name)}/restart`);
  toast(`Session ${name} restarted`);
  await refreshSessions();
}

/** Two-step delete: the first click asks for confirmation on the button itself. */
function deleteSession(name, button) {
  if (button.dataset.confirm !== 'yes') {
    button.dataset.confirm = 'yes';
    button.textContent = 'Confirm delete';
    setTimeout(() => {
      button.dataset.confirm = '';
      button.textContent = 'Delete';
    }, 5000);
    return;
  }
  guarded(async () => {
    await api('DELETE', `/api/v1/whatsapp/sessions/${encodeURIComponent(name)}`);
    if (state.qrFor === name) closeQr();
    toast(`Session ${name} deleted`);
    await refreshSessions();
  })();
}

// ---- messages ------------------------------------------------------------------------

async function sendText(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const to = recipientValue(form.to.value);
  const problem = recipientProblem(to);
  showRecipientProblem(problem);
  if (problem) {
    form.to.focus();
    return;
  }
  const message = await sendOnce(form, {
    sessionName: form.sessionName.value,
    to,
    text: form.text.value,
  });
  form.text.value = '';
  $('#send-result').textContent = `Message queued (status ${message.status}).`;
  state.messagesPage = 1;
  await Promise.all([loadChats(), loadMessages()]);
}

/** Says under the To field why it cannot be sent to ('' clears it), and marks the field invalid. */
function showRecipientProblem(problem) {
  const error = $('#send-to-error');
  error.textContent = problem;
  error.hidden = !problem;
  if (problem) $('#send-to').setAttribute('aria-invalid', 'true');
  else $('#send-to').removeAttribute('aria-invalid');
}

/** A reply to the chat the history shows, from its session to its JID (a group's, a LID's too). */
async function sendReply(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const target = state.replyTo;
  if (!target) return;
  const message = await sendOnce(form, { ...target, text: form.text.value });
  state.replyDrafts.delete(replyKey(target));
  if (replyKey(state.replyTo) === replyKey(target)) form.text.value = '';
  $('#reply-result').textContent = `Reply queued (status ${message.status}).`;
  state.messagesPage = 1;
  await Promise.all([loadChats(), loadMessages()]);
}

/**
 * Sends a text with one Idempotency-Key per text and form: sent again after an error (the first
 * may have gone out, its answer lost), the gateway answers with the first message instead of
 * sending it twice.
 */
async function sendOnce(form, body) {
  const draft = JSON.stringify(body);
  let pending = state.sendDrafts.get(form.id);
  if (pending?.draft !== draft) {
    pending = { draft, key: randomKey() };
    state.sendDrafts.set(form.id, pending);
  }
  const message = await api('POST', '/api/v1/whatsapp/messages/send', {
    body,
    headers: { 'Idempotency-Key': pending.key },
  });
  state.sendDrafts.delete(form.id);
  return message;
}

const replyKey = (target) => (target ? `${target.sessionName}\n${target.to}` : '');

/**
 * The reply form follows the history's applied filters: shown while they name a session and a
 * chat a text can go to. The reply typed for a chat is kept for it while another is shown.
 */
function followReplyTarget() {
  const { sessionName, chat } = state.messageFilters ?? {};
  const to = recipientValue(chat);
  showReplyTo(sessionName && chat && !recipientProblem(to) ? { sessionName, to } : null);
}

function showReplyTo(target) {
  const form = $('#reply-form');
  if (replyKey(target) === replyKey(state.replyTo)) return;
  if (form.text.value) state.replyDrafts.set(replyKey(state.replyTo), form.text.value);
  else state.replyDrafts.delete(replyKey(state.replyTo));
  state.replyTo = target;
  form.text.value = state.replyDrafts.get(replyKey(target)) ?? '';
  $('#reply-chat').textContent = target ? `${shortJid(target.to)} from ${target.sessionName}` : '';
  $('#reply-result').textContent = '';
  form.hidden = !target;
}

/** 128 random bits as hex (crypto.randomUUID needs HTTPS; the gateway may be served over HTTP). */
const randomKey = () =>
  [...window.crypto.getRandomValues(new Uint8Array(16))]
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('');

function formValues(form) {
  return Object.fromEntries(
    [...form.elements].filter((el) => el.name).map((el) => [el.name, String(el.value).trim()]),
  );
}

async function loadMessages() {
  state.messageFilters ??= formValues($('#message-filters'));
  followReplyTarget();
  const load = ++state.loads.messages;
  const page = await api('GET', '/api/v1/whatsapp/messages', {
    query: { ...state.messageFilters, page: state.messagesPage },
  });
  // A later load (other filters, another page) answers for the page, whichever answer comes last.
  if (load !== state.loads.messages) return;
  if (stepBackPastEnd(page, 'messagesPage')) return loadMessages();
  const tbody = $('#messages-table tbody');
  const shown = new Map([...tbody.rows].map((row) => [row.dataset.id, row]));
  placeRows(
    tbody,
    page.items.length
      ? page.items.map((m) => messageRow(m, shown.get(m.id)))
      : [h('tr', {}, h('td', { colSpan: 7 }, 'No messages match these filters.'))],
  );
  labelCells($('#messages-table'));
  pager('messages', page);
}

/** A message's row: `row` (the one showing it already) kept, its cells rewritten only when they change. */
function messageRow(m, row = h('tr', { dataset: { id: m.id } })) {
  const look = JSON.stringify([
    m.timestamp,
    m.sessionName,
    m.direction,
    m.chatJid,
    m.type,
    messageText(m),
    m.status,
  ]);
  if (row.dataset.look === look) return row;
  row.dataset.look = look;
  row.replaceChildren(
    h('td', {}, formatTime(m.timestamp)),
    h('td', {}, m.sessionName),
    h(
      'td',
      {},
      h(
        'span',
        { 'aria-label': m.direction === 'in' ? 'incoming' : 'outgoing' },
        m.direction === 'in' ? '← in' : '→ out',
      ),
    ),
    h('td', { className: 'mono' }, shortJid(m.chatJid)),
    h('td', {}, m.type),
    h('td', { className: 'text-cell' }, messageText(m)),
    h('td', {}, h('span', { className: `badge msg-${m.status}` }, m.status)),
  );
  return row;
}

/**
 * Makes `rows` the rows of `tbody`, in this order, moving only rows that moved: a row kept is the
 * same element, so focus on its buttons stays (moveBefore keeps it where the browser has it). The
 * rows the reader sees stay where they are on the screen, whatever came in above them.
 */
function placeRows(tbody, rows) {
  const place = rowsOnScreen();
  const wanted = new Set(rows);
  for (const row of [...tbody.rows]) if (!wanted.has(row)) row.remove();
  rows.forEach((row, i) => {
    const here = tbody.rows[i] ?? null;
    if (here === row) return;
    if (row.parentNode === tbody && typeof tbody.moveBefore === 'function')
      tbody.moveBefore(row, here);
    else tbody.insertBefore(row, here);
  });
  keepPlace(place);
}

/**
 * The table rows on the screen, top first, with where they are: the reader's place. None at the
 * top of the page, where rows coming in push the page down (the newest show first).
 */
function rowsOnScreen() {
  if (window.scrollY === 0) return [];
  return [...document.querySelectorAll('main tbody tr')]
    .map((row) => ({ row, box: row.getBoundingClientRect() }))
    .filter(({ box }) => box.height > 0 && box.top >= 0 && box.top < window.innerHeight)
    .map(({ row, box }) => ({ row, top: box.top }));
}

/**
 * Scrolls back what moved the first row of `place` still there. Chromium's and Firefox's scroll
 * anchoring has done so by the time this measures (nothing moved); this is for a browser without.
 */
function keepPlace(place) {
  const kept = place.find(({ row }) => row.isConnected);
  const moved = kept ? kept.row.getBoundingClientRect().top - kept.top : 0;
  if (moved) window.scrollBy(0, moved);
}

/** The text as WhatsApp shows it now, like the chat preview: the newest edit, or "(deleted)". */
const messageText = (m) => (m.revoked ? '(deleted)' : (m.editedText ?? m.text ?? m.caption ?? ''));

const shortJid = (jid) => jid.replace(/@s\.whatsapp\.net$/, '');

/** The 20 most recent chats (of the history's session filter), with their unread counts. */
async function loadChats() {
  state.messageFilters ??= formValues($('#message-filters'));
  const { sessionName } = state.messageFilters;
  const load = ++state.loads.chats;
  const page = await api('GET', '/api/v1/whatsapp/chats', { query: { sessionName, limit: 20 } });
  if (load !== state.loads.chats) return;
  const tbody = $('#chats-table tbody');
  const shown = new Map([...tbody.rows].map((row) => [row.dataset.key, row]));
  placeRows(
    tbody,
    page.items.length
      ? page.items.map((c) => chatRow(c, shown.get(chatKey(c))))
      : [h('tr', {}, h('td', { colSpan: 6 }, 'No chats yet.'))],
  );
  labelCells($('#chats-table'));
}

const chatKey = (c) => `${c.sessionName}\n${c.chatJid}`;

/** A chat's row: `row` (the one showing it already) kept with its buttons, its figures updated. */
function chatRow(c, row) {
  if (!row) {
    row = h(
      'tr',
      { dataset: { chat: c.chatJid, key: chatKey(c) } },
      h('td'),
      h('td', {}, c.sessionName),
      h('td', { className: 'mono' }, shortJid(c.chatJid)),
      h('td', { className: 'text-cell' }),
      h('td'),
      h(
        'td',
        { className: 'actions' },
        h('button', {
          type: 'button',
          className: 'secondary',
          textContent: 'Show messages',
          onclick: guarded(() => showChat(row.chat)),
        }),
        h('button', {
          type: 'button',
          textContent: 'Mark read',
          onclick: guarded((event) => markChatRead(row.chat, event.currentTarget)),
        }),
      ),
    );
  }
  row.chat = c;
  const cells = row.cells;
  setText(cells[0], formatTime(c.lastMessageAt));
  setText(cells[3], chatPreview(c.lastMessage));
  setText(cells[4], String(c.unreadCount));
  cells[5].lastChild.disabled = c.unreadCount === 0;
  return row;
}

/** "Ali: hello" in a group; "(deleted)" once the sender deleted it. */
function chatPreview(last) {
  if (!last) return '';
  const text = last.revoked ? '(deleted)' : (last.preview ?? '');
  const sender = last.pushName ?? (last.senderJid ? shortJid(last.senderJid) : undefined);
  return sender ? `${sender}: ${text}` : text;
}

/** The chat's messages: of its session only (the same person may write to several of ours). */
async function showChat(chat) {
  $('#filter-session').value = chat.sessionName;
  $('#filter-chat').value = chat.chatJid;
  state.messageFilters = formValues($('#message-filters'));
  state.messagesPage = 1;
  await applyFilters(loadMessages);
}

/**
 * Marks the chat read. The view reloads once for it, at the chat.read event the mark announces
 * (whether it comes before the answer or after; without it, once the page waited for it): reloaded
 * after the answer too, it loaded twice. Nothing marked announces nothing and changes nothing.
 */
async function markChatRead(chat, button) {
  const change = live.awaitChange(
    currentView(),
    (event) =>
      event.type === 'chat.read' &&
      event.sessionName === chat.sessionName &&
      event.data?.chat?.chatJid === chat.chatJid,
  );
  let result;
  try {
    result = await api('POST', '/api/v1/whatsapp/chats/read', {
      body: { sessionName: chat.sessionName, chat: chat.chatJid },
    });
  } catch (error) {
    change.dropped();
    throw error;
  }
  if (result.marked) change.made();
  else change.dropped();
  // Until the reload shows the chat: no second mark meanwhile (it would mark nothing).
  button.disabled = true;
  toast(`${result.marked} message${result.marked === 1 ? '' : 's'} marked read`);
}

/** A page past the end (rows deleted or filtered away since): go to the last page instead. */
function stepBackPastEnd(page, pageKey) {
  const last = Math.max(1, Math.ceil(page.total / page.limit));
  if (page.items.length > 0 || page.page <= last) return false;
  state[pageKey] = last;
  return true;
}

function pager(prefix, page) {
  const pages = Math.max(1, Math.ceil(page.total / page.limit));
  setText($(`#${prefix}-page`), `Page ${page.page} of ${pages} · ${page.total} total`);
  $(`#${prefix}-prev`).disabled = page.page <= 1;
  $(`#${prefix}-next`).disabled = page.page >= pages;
}

// ---- contacts ------------------------------------------------------------------------

async function loadContacts() {
  state.contactFilters ??= formValues($('#contact-filters'));
  const load = ++state.loads.contacts;
  const page = await api('GET', '/api/v1/whatsapp/contacts', {
    query: { ...state.contactFilters, page: state.contactsPage, limit: 20 },
  });
  // A later load (other filters, another page) answers for the page, whichever answer comes last.
  if (load !== state.loads.contacts) return;
  if (stepBackPastEnd(page, 'contactsPage')) return loadContacts();
  state.contacts = new Map(page.items.map((c) => [c.id, c]));
  const tbody = $('#contacts-table tbody');
  const shown = new Map([...tbody.rows].map((row) => [row.dataset.id, row]));
  placeRows(
    tbody,
    page.items.length
      ? page.items.map((c) => contactRow(c, shown.get(c.id)))
      : [h('tr', {}, h('td', { colSpan: 6 }, 'No contacts match.'))],
  );
  labelCells($('#contacts-table'));
  pager('contacts', page);
}

/** A contact's row: `row` (the one showing it already) kept with its Edit button, its cells updated. */
function contactRow(c, row) {
  if (!row) {
    row = h(
      'tr',
      { dataset: { id: c.id } },
      h('th', { scope: 'row' }),
      h('td', { className: 'mono' }),
      h('td'),
      h('td', { className: 'tags' }),
      h('td', { className: 'text-cell' }),
      h(
        'td',
        {},
        h('button', {
          type: 'button',
          className: 'secondary',
          textContent: 'Edit',
          onclick: () => editContact(c.id),
        }),
      ),
    );
  }
  const cells = row.cells;
  setText(cells[0], c.displayName);
  setText(cells[1], c.phone ? `+${c.phone}` : '—');
  setText(cells[2], c.sessionName);
  const tags = cells[3];
  if (tags.dataset.tags !== JSON.stringify(c.tags)) {
    tags.dataset.tags = JSON.stringify(c.tags);
    tags.replaceChildren(...c.tags.map((t) => h('span', { className: 'tag' }, t)));
  }
  setText(cells[4], c.notes ?? '');
  cells[5].firstChild.setAttribute('aria-label', `Edit ${c.displayName}`);
  return row;
}

function editContact(id) {
  const contact = state.contacts.get(id);
  state.editing = id;
  // The revision the dialog is filled from: a colleague's edit saved meanwhile is a 409, not lost,
  // however often this dialog is saved (the list refreshed after a 409 has their revision).
  state.editingRevision = contact.revision;
  const form = $('#contact-form');
  $('#contact-dialog-title').textContent = `Edit ${contact.displayName}`;
  form.name.value = contact.customName ?? '';
  form.tags.value = contact.tags.join('\n'); // a stored tag never holds a line break
  form.notes.value = contact.notes ?? '';
  $('#contact-error').hidden = true;
  $('#contact-dialog').showModal();
}

async function saveContact(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const tags = form.tags.value
    .split('\n')
    .map((t) => t.trim())
    .filter(Boolean);
  const name = form.name.value.trim();
  const notes = form.notes.value.trim();
  try {
    await api('PUT', `/api/v1/whatsapp/contacts/${encodeURIComponent(state.editing)}`, {
      body: {
        name: name || null,
        tags,
        notes: notes || null,
        expectedRevision: state.editingRevision,
      },
    });
  } catch (error) {
    const el = $('#contact-error');
    el.textContent = error instanceof ApiError ? error.describe() : String(error);
    el.hidden = false;
    // Someone saved it meanwhile: the list is refreshed, so opening it again shows their edit.
    if (error instanceof ApiError && error.code === 'CONTACT_CHANGED') await loadContacts();
    return;
  }
  $('#contact-dialog').close();
  toast('Contact saved');
  await loadContacts();
}

// ---- stats ---------------------------------------------------------------------------

async function loadStats() {
  state.statsFilters ??= formValues($('#stats-filters'));
  const { sessionName, range } = state.statsFilters;
  // Whole UTC buckets up to now: N days (today included) or the last 24 hours (this hour included).
  const days = Number(range);
  const hourly = days <= 1;
  const now = Date.now();
  const since = hourly
    ? new Date(Math.floor(now / 3_600_000) * 3_600_000 - 23 * 3_600_000)
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z')
    : new Date(Math.floor(now / 86_400_000) * 86_400_000 - (days - 1) * 86_400_000)
        .toISOString()
        .slice(0, 10);
  const stats = await api('GET', '/api/v1/whatsapp/stats', {
    query: { sessionName, since, granularity: hourly ? 'hour' : 'day' },
  });
  const pct = (x) => `${Math.round(x * 1000) / 10} %`;
  const figures = [
    ['Messages sent', stats.messages.sent],
    ['Messages received', stats.messages.received],
    ['Delivery rate', pct(stats.messages.deliveryRate)],
    ['Read rate', pct(stats.messages.readRate)],
    ['Sessions connected', `${stats.sessions.connected} / ${stats.sessions.total}`],
    ['Contacts', stats.contacts.total],
  ];
  $('#stats-summary').replaceChildren(
    ...figures.map(([label, value]) =>
      h('div', {}, h('dt', {}, label), h('dd', {}, String(value))),
    ),
  );
  const hourlyBuckets = stats.range.granularity === 'hour';
  // Hours are shown in the browser's time zone like every other time on the page; daily buckets
  // are UTC days on the server, so they keep their UTC date and the title says so.
  $('#chart-title').textContent = hourlyBuckets
    ? 'Messages per hour (local time)'
    : 'Messages per day (UTC days)';
  $('#stats-bucket-col').textContent = hourlyBuckets ? 'Hour (local time)' : 'Day (UTC)';
  renderChart(stats.series, stats.range.granularity);
  $('#stats-table tbody').replaceChildren(
    ...stats.series.map((p) =>
      h(
        'tr',
        {},
        h('th', { scope: 'row' }, bucketLabel(p.bucket, stats.range.granularity)),
        h('td', {}, String(p.sent)),
        h('td', {}, String(p.received)),
      ),
    ),
  );
}

const pad2 = (n) => String(n).padStart(2, '0');

/**
 * An hourly bucket by its start in the browser's local time (HH:MM, so a half-hour zone reads :30);
 * a daily bucket by its UTC date (MM-DD): the server counts days in UTC.
 */
function bucketLabel(iso, granularity) {
  if (granularity !== 'hour') return iso.slice(5, 10);
  const start = new Date(iso);
  return `${pad2(start.getHours())}:${pad2(start.getMinutes())}`;
}

const BUCKET_UNITS = { hour: 'hour (local time)', day: 'day (UTC days)' };

/** Grouped bar chart of sent/received per bucket, as inline SVG. */
function renderChart(series, granularity) {
  const ns = 'http://www.w3.org/2000/svg';
  const s = (tag, attrs = {}, text) => {
    const el = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    return el;
  };
  const width = 720;
  const height = 240;
  const pad = { top: 16, right: 12, bottom: 36, left: 40 };
  const max = Math.max(1, ...series.flatMap((p) => [p.sent, p.received]));
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const slot = innerW / Math.max(1, series.length);
  const bar = Math.max(1, Math.min(28, (slot - 4) / 2));
  const y = (v) => pad.top + innerH - (v / max) * innerH;
  const totalSent = series.reduce((n, p) => n + p.sent, 0);
  const totalReceived = series.reduce((n, p) => n + p.received, 0);

  const svg = s('svg', {
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-labelledby': 'chart-svg-title chart-svg-desc',
    preserveAspectRatio: 'xMidYMid meet',
  });
  svg.append(
    s(
      'title',
      { id: 'chart-svg-title' },
      'Messages sent and received per ' + (BUCKET_UNITS[granularity] ?? granularity),
    ),
  );
  svg.append(
    s(
      'desc',
      { id: 'chart-svg-desc' },
      `${series.length} ${granularity} buckets; ${totalSent} sent and ${totalReceived} received in total.`,
    ),
  );
  for (const tick of [0, 0.5, 1]) {
    const value = Math.round(max * tick);
    svg.append(
      s('line', { x1: pad.left, x2: width - pad.right, y1: y(value), y2: y(value), class: 'grid' }),
    );
    svg.append(
      s(
        'text',
        { x: pad.left - 6, y: y(value) + 4, 'text-anchor': 'end', class: 'axis' },
        String(value),
      ),
    );
  }
  const labelEvery = Math.ceil(series.length / 8);
  series.forEach((p, i) => {
    const x = pad.left + i * slot + (slot - 2 * bar) / 2;
    const label = bucketLabel(p.bucket, granularity);
    const sent = s('rect', {
      x,
      y: y(p.sent),
      width: bar,
      height: Math.max(0, pad.top + innerH - y(p.sent)),
      class: 'bar-sent',
    });
    sent.append(s('title', {}, `${label}: ${p.sent} sent`));
    const received = s('rect', {
      x: x + bar,
      y: y(p.received),
      width: bar,
      height: Math.max(0, pad.top + innerH - y(p.received)),
      class: 'bar-received',
    });
    received.append(s('title', {}, `${label}: ${p.received} received`));
    svg.append(sent, received);
    if (i % labelEvery === 0)
      svg.append(
        s(
          'text',
          { x: x + bar, y: height - pad.bottom + 16, 'text-anchor': 'middle', class: 'axis' },
          label,
        ),
      );
  });
  const legend = h(
    'p',
    { className: 'legend' },
    h('span', { className: 'key key-sent' }),
    ` Sent (${totalSent})  `,
    h('span', { className: 'key key-received' }),
    ` Received (${totalReceived})`,
  );
  $('#stats-chart').replaceChildren(svg, legend);
}

// ---- wiring --------------------------------------------------------------------------

function wire() {
  for (const select of document.querySelectorAll('select[data-sessions]')) {
    // Where a drop-down says its chosen session was deleted, until another is chosen.
    const notice = h('p', { id: `${select.id}-notice`, className: 'error', role: 'status' });
    notice.hidden = true;
    select.after(notice);
    select.setAttribute('aria-describedby', notice.id);
    select.addEventListener('change', () => tellSessionGone(select, ''));
  }
  $('#login-form').addEventListener('submit', onLogin);
  $('#logout').addEventListener('click', logout);
  $('#create-session-form').addEventListener('submit', submitOnce(guarded(createSession)));
  $('#qr-close').addEventListener('click', closeQr);
  $('#send-form').addEventListener('submit', submitOnce(guarded(sendText)));
  $('#send-to').addEventListener('input', () => {
    // Once told, the field says when it is right again (not before: half-typed is no error).
    if (!$('#send-to-error').hidden)
      showRecipientProblem(recipientProblem(recipientValue($('#send-to').value)));
  });
  $('#reply-form').addEventListener('submit', submitOnce(guarded(sendReply)));
  $('#message-filters').addEventListener(
    'submit',
    guarded(async (e) => {
      e.preventDefault();
      state.messageFilters = formValues($('#message-filters'));
      state.messagesPage = 1;
      await applyFilters(() => Promise.all([loadChats(), loadMessages()]));
    }),
  );
  $('#messages-prev').addEventListener(
    'click',
    guarded(async () => {
      state.messagesPage = Math.max(1, state.messagesPage - 1);
      await loadMessages();
    }),
  );
  $('#messages-next').addEventListener(
    'click',
    guarded(async () => {
      state.messagesPage += 1;
      await loadMessages();
    }),
  );
  $('#contact-filters').addEventListener(
    'submit',
    guarded(async (e) => {
      e.preventDefault();
      state.contactFilters = formValues($('#contact-filters'));
      state.contactsPage = 1;
      await applyFilters(loadContacts);
    }),
  );
  $('#contacts-prev').addEventListener(
    'click',
    guarded(async () => {
      state.contactsPage = Math.max(1, state.contactsPage - 1);
      await loadContacts();
    }),
  );
  $('#contacts-next').addEventListener(
    'click',
    guarded(async () => {
      state.contactsPage += 1;
      await loadContacts();
    }),
  );
  $('#contact-form').addEventListener('submit', submitOnce(guarded(saveContact)));
  $('#contact-cancel').addEventListener('click', () => $('#contact-dialog').close());
  $('#stats-filters').addEventListener(
    'submit',
    guarded(async (e) => {
      e.preventDefault();
      state.statsFilters = formValues($('#stats-filters'));
      await applyFilters(loadStats);
    }),
  );
  window.addEventListener('hashchange', guarded(route));
  document.addEventListener('visibilitychange', followShownView);
  whenUnauthorized(() => {
    session.token = null;
    showError('Your session expired. Please log in again.');
    route();
  });
}

async function start() {
  wire();
  if (session.token) {
    try {
      await showAccount();
    } catch (error) {
      // A refused token has logged out already (whenUnauthorized). A gateway that cannot answer
      // now (restarting, 503 DATABASE_UNAVAILABLE) is no reason to: a live reload fills it in.
      if (!(error instanceof ApiError && error.sessionExpired)) showError(error);
    }
  }
  await route();
  document.body.dataset.ready = 'true';
}

guarded(start)();
