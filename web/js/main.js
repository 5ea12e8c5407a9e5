// main.js: the WinTalk page. The rooms and private conversations in a
// sidebar; the one on screen with its conversation on top, your text below,
// a status line at the bottom, and who is here with what they are typing.
//
// The connection (connection.js) delivers each event once; the views
// (views.js) keep, as plain state, which room is on screen and each one's
// unread count, mention mark, draft and scroll position; this module draws
// them and handles the composer, the sidebar and the nick dialog; the
// account dialog (logging in, registering, logging out) is account.js. A room's
// earlier lines come as the reader scrolls up (scrollback.js), and its
// messages can be searched (search.js). Text from others only ever reaches
// the page through render.js, as text. A site that embeds the page may log
// its user in with its own token (sitelogin.js); a logged-in reader's read
// positions go to the gateway, and come back from other devices as a "new
// messages" line (reads.js).

import { Connection, LOBBY, nickKey, roomKey, validRoomName } from './connection.js';
import {
  renderEvent, createLog, renderSideItem, renderPerson, renderDraft, renderLineActions, renderLineMenu,
  blankLine,
} from './render.js';
import { TypingSender } from './typing.js';
import { Pager, SCROLLBACK_LINES_MAX, keepInPlace, markDays, markDayOfLast, relabelDays, lastIdLine } from './scrollback.js';
import { Search } from './search.js';
import { Views, LOBBY_KEY, roomViewKey, privateViewKey, pageCommand } from './views.js';
import { loadNick, saveNick, loadKey, saveKey, loadSession, saveSession, loadDrafts, saveDrafts,
  ACCOUNT_KEY } from './store.js';
import { Account, accountCommand, holdsPassword } from './account.js';
import { SiteLogin } from './sitelogin.js';
import { ReadSender, placeReadMark, unreadAfter } from './reads.js';
import { presenceOnly } from './history.js';

// A conversation followed at its end keeps this many lines (day lines and
// marks included); older ones leave the page. One scrolled back in keeps up
// to SCROLLBACK_LINES_MAX.
const LOG_LINES_MAX = 1000;
// Remembered says, to put a refused line back in the box.
const PENDING_SAYS_MAX = 20;
// The identities this browser has been (a restarted gateway makes a new
// one): lines of any of them are the reader's own. At most this many.
const MY_IDENTS_MAX = 8;
// The most a message may be: bytes of UTF-8 after the gateway's cleaning,
// as its welcome says (text_max, from --max-line-bytes), else the most any
// gateway takes (docs/protocol.md; gw_limits.h GW_TEXT_MAX_BYTES). The
// count shows from three quarters of it on.
const TEXT_MAX_BYTES = 4096;
// Drafts are written to sessionStorage at most this often.
const DRAFT_SAVE_DELAY_MS = 250;
// Remembered refs of commands, to show their answers where they were asked.
const REF_VIEWS_MAX = 50;
// A remembered nick refused at hello is asked for again this many times
// (after 1, 2, 4 s) before the page asks the reader: after a reload or a
// dropped connection the gateway may not yet have seen our old one go.
const NICK_HELD_RETRIES = 3;
// "Near the bottom" for sticking to it, in pixels.
const BOTTOM_SLACK_PX = 24;
// What a nick may be (docs/protocol.md, /nick).
const NICK_RE = /^\p{L}[\p{L}\p{N}_.-]*$/u;
const NICK_MAX = 24;
// The session (rooms, ids, token) is written at most this often, and when
// the page is hidden or goes away.
const SAVE_DELAY_MS = 300;
// After a login the page sends no read until the gateway said where the
// account read to (`reads`), or this long: what it shows before is not
// what the reader logged in to catch up on.
const READS_WAIT_MS = 3000;
// Below this width the sidebar is a drawer (the same width as in app.css).
const PHONE_QUERY = '(max-width: 40rem)';

const RESTART_NOTE = 'The gateway has restarted: earlier history was reset, and what was said before it may be missing.';
// A resumed welcome that could not bring everything: the rest comes as the
// reader scrolls up to the notice, which then goes; or, if the gateway no
// longer keeps it, the notice says so.
const GAP_NOTE = 'Not everything said while you were away is shown here yet: it comes as you scroll up.';
const GAP_LOST_NOTE = 'Some messages from while you were away are no longer kept and are missing.';
// The gateway's words for a nick that an account holds (553).
const REGISTERED_RE = /\bis registered\b/i;
const ROOM_RULES = 'A room name is # and 1 to 32 letters, digits, - _ or . (for example #dev).';

const $ = (id) => document.getElementById(id);
const ui = {
  app: $('app'),
  logs: $('logs'),
  title: $('conversation-title'),
  jump: $('jump'),
  drafts: $('drafts'),
  people: $('people'),
  peopleBox: $('people-box'),
  peopleCount: $('people-count'),
  myNick: $('my-nick'),
  changeNick: $('change-nick'),
  sidebar: $('sidebar'),
  roomsToggle: $('rooms-toggle'),
  roomsBadge: $('rooms-badge'),
  backdrop: $('drawer-backdrop'),
  roomList: $('room-list'),
  privateList: $('private-list'),
  privateHint: $('private-hint'),
  joinForm: $('join-form'),
  joinInput: $('join-input'),
  joinError: $('join-error'),
  conversation: document.querySelector('.conversation'),
  searchToggle: $('search-toggle'),
  searchForm: $('search-form'),
  searchInput: $('search-input'),
  searchClose: $('search-close'),
  searchStatus: $('search-status'),
  searchPanel: $('search-panel'),
  searchResults: $('search-results'),
  contextBar: $('context-bar'),
  contextText: $('context-text'),
  contextResults: $('context-results'),
  contextLatest: $('context-latest'),
  form: $('compose'),
  input: $('input'),
  send: $('send'),
  count: $('compose-count'),
  offlineBanner: $('offline-banner'),
  offlineText: $('offline-text'),
  offlineRetry: $('offline-retry'),
  status: $('status'),
  statusText: $('status-text'),
  countdown: $('status-countdown'),
  retry: $('retry'),
  dialog: $('nick-dialog'),
  nickForm: $('nick-form'),
  nickTitle: $('nick-title'),
  nickIntro: $('nick-intro'),
  nickInput: $('nick-input'),
  nickError: $('nick-error'),
  keyField: $('key-field'),
  keyInput: $('key-input'),
  nickOk: $('nick-ok'),
  nickCancel: $('nick-cancel'),
  nickLogin: $('nick-login'),
};

const state = {
  me: null, // {pid, nick, via, ident} once welcomed
  myIdents: [], // the public names of this browser's identities, newest first
  textMax: TEXT_MAX_BYTES, // the most bytes a text may have, from the welcome
  wantedNick: loadNick(), // the nick to ask for in hello
  key: loadKey(),
  pendingSays: new Map(), // ref -> {text, key}: says and private messages not yet seen back
  refViews: new Map(), // ref -> view key where what the ref asked was typed
  nickRef: 0, // ref of a nick change asked from the dialog
  dialogMode: 'join', // 'join' (before joining) or 'change' (while connected)
  wasWelcomed: false, // welcomed at least once: a later hello is a reconnect
  nickHeld: 0, // times our remembered nick was refused since we last had it
  nickTyped: false, // the nick asked for was just typed in the dialog
  nickRetrying: false, // asking again for a remembered nick that was refused
  nickTimer: null,
  helloRefusal: null, // why the gateway refused the nick in our hello
  loginAfterWelcome: false, // the first dialog's "log in": the login form once connected
  countdown: null,
  saveTimer: null,
  readsHeldUntil: 0, // performance.now() until which no read goes (READS_WAIT_MS)
};

const views = new Views();
const logs = new Map(); // view key -> its <ol>
const pagers = new Map(); // room view key -> its Pager (earlier lines as the reader scrolls up)
const lastTops = new WeakMap(); // <ol> -> its scrollTop when last looked at

/* ---------- the conversations ---------- */

function atBottom(log) {
  return log.scrollHeight - log.scrollTop - log.clientHeight <= BOTTOM_SLACK_PX;
}

function toBottom(log) {
  log.scrollTop = log.scrollHeight;
  lastTops.set(log, log.scrollTop);
}

/*
 * Whether an event is the reader's own: its `ident` (the public name of the
 * sender's identity, docs/protocol.md) is one this browser has been. Never
 * by pid: a restarted gateway numbers its participants from 1 again, and
 * another tab of this identity has a pid of its own.
 */
function isMine(ev) {
  return typeof ev.ident === 'string' && ev.ident !== '' && state.myIdents.includes(ev.ident);
}

function rememberIdent(ident) {
  if (typeof ident !== 'string' || ident === '') return;
  state.myIdents = [ident, ...state.myIdents.filter((x) => x !== ident)].slice(0, MY_IDENTS_MAX);
}

/* A person of a room's list by nick: one entry per person, however many tabs. */
const personKey = (nick) => nickKey(String(nick));

/*
 * Whether the reader may remove a message: its own (this browser's
 * identity or account), or any as a gateway administrator. Only where the
 * gateway would allow it is the control shown; the gateway decides.
 */
function mayDelete(ev) {
  return ev.type === 'message' && ev.deleted !== true && typeof ev.id === 'number' &&
    (isMine(ev) || (state.me !== null && state.me.admin === true));
}

/* A room event's line with its actions, where the reader may act. */
function withActions(li, ev) {
  if (li && mayDelete(ev)) li.append(renderLineActions());
  return li;
}

/* A line for a room event, marked as the reader's own if it is. */
function renderRoomEvent(ev) {
  return withActions(renderEvent(ev, isMine(ev)), ev);
}

/* Whether a room's history may be asked for now: connected and in it. */
function canAskRoom(key) {
  const v = views.get(key);
  const r = v && conn.rooms.get(roomKey(v.name));
  return conn.isOpen && r !== undefined && r.joined;
}

/* The log of a view, made when first needed (a room's with its Pager). */
function logOf(view) {
  let log = logs.get(view.key);
  if (!log) {
    log = createLog(view.kind === 'room' ? `Conversation in ${view.name}` : `Private conversation with ${view.name}`);
    log.dataset.key = view.key;
    log.hidden = true;
    if (view.kind === 'room') {
      const key = view.key;
      pagers.set(key, new Pager({
        log, room: view.name, request: (m) => conn.request(m), render: renderRoomEvent,
        canAsk: () => canAskRoom(key) && !search.isOpen,
        onGapLost: (li) => {
          li.querySelector('.text').textContent = GAP_LOST_NOTE;
        },
      }));
    }
    watchScroll(log);
    ui.logs.append(log);
    logs.set(view.key, log);
  }
  return log;
}

/* Asks, once the events being handed on are in, for the earlier lines of the room on screen if its top is near. */
function checkScrollback() {
  setTimeout(() => {
    const p = pagers.get(views.activeKey);
    if (p) p.check();
  }, 0);
}

// Only the reader scrolling up unsticks a conversation: the pane also
// scrolls when it changes size (drafts come and go), and that must not.
function watchScroll(log) {
  log.addEventListener('scroll', () => {
    // The key is read each time: a private conversation follows a nick change.
    const key = log.dataset.key;
    const v = views.get(key);
    // Behind the search, the conversation is not what the reader scrolls.
    if (!v || views.activeKey !== key || log.hidden || ui.logs.hidden) return;
    const top = log.scrollTop;
    if (atBottom(log)) {
      v.stuck = true;
      v.newBelow = false;
      ui.jump.hidden = true;
      readSeen();
    } else if (top < (lastTops.get(log) ?? 0)) {
      v.stuck = false;
    }
    lastTops.set(log, top);
    const p = pagers.get(key);
    if (p) p.check();
  });
}

function addLine(view, li) {
  if (!li) return;
  const log = logOf(view);
  log.append(li);
  markDayOfLast(log, li);
  // A reader scrolled back may have loaded more than a followed conversation keeps.
  const max = view.stuck ? LOG_LINES_MAX : SCROLLBACK_LINES_MAX;
  if (log.childElementCount > max) {
    keepInPlace(log, () => {
      while (log.childElementCount > max) log.firstElementChild.remove();
    });
    const p = pagers.get(view.key);
    if (p) p.trimmed();
    else markDays(log);
  }
  if (view.stuck) {
    if (view.key === views.activeKey) toBottom(log);
  } else {
    view.newBelow = true;
    if (view.key === views.activeKey && !search.isOpen) ui.jump.hidden = false;
  }
}

function note(text, view = views.active) {
  const li = renderEvent({ type: 'note', text });
  addLine(view, li);
  return li;
}

/* The menu of a line's actions, made when opened and gone when closed
 * (its words are no part of the line's text meanwhile). */
function closeLineMenus() {
  for (const m of ui.logs.querySelectorAll('.line-menu-items')) {
    m.previousElementSibling.setAttribute('aria-expanded', 'false');
    m.remove();
  }
}

ui.logs.addEventListener('click', (e) => {
  const button = e.target.closest('.line-menu');
  if (button) {
    const open = button.nextElementSibling !== null;
    closeLineMenus();
    if (!open) {
      const menu = renderLineMenu();
      button.after(menu);
      button.setAttribute('aria-expanded', 'true');
      menu.querySelector('[role="menuitem"]').focus();
    }
    return;
  }
  const del = e.target.closest('.line-delete');
  if (!del) return;
  const li = del.closest('li');
  const log = del.closest('.log');
  const v = log && views.get(log.dataset.key);
  closeLineMenus();
  if (!li || !v || v.kind !== 'room') return;
  const ref = conn.send({ type: 'delete', room: v.name, id: Number(li.dataset.id) });
  if (ref) rememberRef(ref, v.key);
  else note('Not connected: the message was not deleted.', v);
  // The menu is gone: focus goes back to the line's pane.
  log.focus();
});

ui.logs.addEventListener('keydown', (e) => {
  if (e.key !== 'Escape') return;
  const menu = e.target.closest('.line-menu-items');
  if (!menu) return;
  e.stopPropagation();
  const button = menu.previousElementSibling;
  closeLineMenus();
  button.focus();
});

ui.jump.addEventListener('click', () => {
  const v = views.active;
  const log = logOf(v);
  v.stuck = true;
  v.newBelow = false;
  toBottom(log);
  ui.jump.hidden = true;
  log.focus();
});
// The pane changes size when drafts come and go or the window turns:
// a reader at the bottom stays there.
new ResizeObserver(() => {
  if (views.active.stuck) toBottom(logOf(views.active));
}).observe(ui.logs);

/*
 * Puts a view on screen: the one it replaces keeps its draft and scroll
 * position, and its room no longer sees what we were typing there.
 */
function showView(key) {
  const next = views.get(key);
  if (!next) return;
  // A search is of the room on screen: another view closes it first, while
  // the one it covered is still the one on screen.
  search.setRoom(next.kind === 'room' ? next.name : null);
  const cur = views.active;
  if (cur !== next) {
    const curLog = logOf(cur);
    views.switchTo(key, { draft: ui.input.value, scrollTop: curLog.scrollTop, stuck: cur.stuck });
    curLog.hidden = true;
    curLog.removeAttribute('id');
    if (cur.kind === 'room') typing.update(cur.name, '');
    ui.input.value = next.draft;
    updateCount();
    saveDraftsSoon();
  } else {
    views.switchTo(key);
  }
  const log = logOf(next);
  log.id = 'log';
  log.hidden = false;
  if (next.stuck) {
    toBottom(log);
  } else {
    log.scrollTop = next.scrollTop;
    lastTops.set(log, log.scrollTop);
  }
  ui.jump.hidden = next.stuck || !next.newBelow || search.isOpen;
  // A room with unread messages (from the account's reads) opens at them.
  if (next.landAtMark) {
    next.landAtMark = false;
    const mark = log.querySelector(':scope > li.read-mark');
    if (mark && !search.isOpen) landAtMark(next, log, mark);
  }
  const pager = pagers.get(key);
  if (pager) {
    pager.shown();
    checkScrollback();
  }
  readSeen();
  renderTitle();
  renderPeople();
  renderSidebar();
  connectedStatus();
  scheduleSave();
}

/* The pane's title and the box's placeholder name the view on screen. */
function renderTitle() {
  const v = views.active;
  ui.title.textContent = v.kind === 'room' ? v.name : `Private with ${v.name}`;
  ui.input.placeholder = v.kind === 'room'
    ? `Type here. Others in ${v.name} see it as you type.`
    : `A private message to ${v.name}. Only they see it.`;
}

/* Forgets a view and its lines (showing #lobby if it was on screen). */
function removeView(key) {
  const v = views.get(key);
  if (key === LOBBY_KEY || !v) return;
  // A room left forgets what we were typing there: nothing to clear.
  if (v.kind === 'room') typing.forget(v.name);
  if (views.activeKey === key) showView(LOBBY_KEY);
  views.remove(key);
  dropOrphanLogs();
  renderSidebar();
  scheduleSave();
}

/* Logs whose view is gone (left, closed, or the oldest conversation past the limit). */
function dropOrphanLogs() {
  for (const [key, log] of logs) {
    if (!views.get(key)) {
      log.remove();
      logs.delete(key);
      pagers.delete(key);
    }
  }
}

// A room joined or left is written at once, not after SAVE_DELAY_MS: a tab
// opened next is in the same rooms.
function joinRoom(name) {
  const key = roomViewKey(name);
  if (!views.get(key)) {
    conn.join(name);
    logOf(views.addRoom(name));
  }
  showView(key);
  saveNow();
}

function leaveRoom(name) {
  if (roomKey(name) === roomKey(LOBBY)) return;
  conn.part(name);
  removeView(roomViewKey(name));
  saveNow();
}

function openPrivate(nick) {
  const v = views.addPrivate(nick);
  dropOrphanLogs();
  logOf(v);
  showView(v.key);
  return v;
}

/* ---------- the sidebar ---------- */

/* Replaces a list's items, keeping the keyboard focus on the same button. */
function replaceKeepingFocus(list, items, attr) {
  const f = document.activeElement;
  let keep = null;
  if (f && f !== list && list.contains(f)) {
    const li = f.closest('li');
    keep = li ? { id: li.dataset[attr], cls: f.className } : null;
  }
  list.replaceChildren(...items);
  if (!keep) return;
  const li = items.find((x) => x.dataset[attr] === keep.id);
  const el = li && [...li.querySelectorAll('button')].find((b) => b.className === keep.cls);
  if (el) el.focus();
}

function renderSidebar() {
  const item = (v) => renderSideItem(v, { active: v.key === views.activeKey, closable: v.key !== LOBBY_KEY });
  replaceKeepingFocus(ui.roomList, views.rooms().map(item), 'key');
  const privates = views.privates();
  replaceKeepingFocus(ui.privateList, privates.map(item), 'key');
  ui.privateHint.hidden = privates.length > 0;
  const t = views.totals();
  ui.roomsBadge.textContent = t.unread > 0 ? (t.unread > 999 ? '999+' : String(t.unread)) : '@';
  ui.roomsBadge.hidden = t.unread === 0 && !t.mention;
  ui.roomsBadge.classList.toggle('mention', t.mention);
  ui.roomsToggle.setAttribute('aria-label', t.unread > 0 ? `Rooms, ${t.unread} unread` : 'Rooms');
  document.title = t.unread > 0 ? `(${t.unread}) WinTalk` : 'WinTalk';
}

function onSideClick(e) {
  const btn = e.target.closest('button');
  const li = btn && btn.closest('li.side-item');
  if (!li) return;
  const v = views.get(li.dataset.key);
  if (!v) return;
  if (btn.classList.contains('side-close')) {
    if (v.kind === 'room') leaveRoom(v.name);
    else removeView(v.key);
    return;
  }
  showView(v.key);
  closeDrawer();
  // The reader chose where to talk: the next keystroke goes to the box.
  ui.input.focus();
}
ui.roomList.addEventListener('click', onSideClick);
ui.privateList.addEventListener('click', onSideClick);

ui.joinForm.addEventListener('submit', (e) => {
  e.preventDefault();
  let name = ui.joinInput.value.trim();
  if (name === '') return;
  if (!name.startsWith('#')) name = '#' + name;
  if (!validRoomName(name)) {
    ui.joinError.textContent = ROOM_RULES;
    return;
  }
  ui.joinError.textContent = '';
  ui.joinInput.value = '';
  joinRoom(name);
  closeDrawer();
  ui.input.focus();
});
ui.joinInput.addEventListener('input', () => {
  ui.joinError.textContent = '';
});

/* On a phone the sidebar is a drawer. */
const phone = window.matchMedia(PHONE_QUERY);

function openDrawer() {
  ui.app.classList.add('drawer-open');
  ui.roomsToggle.setAttribute('aria-expanded', 'true');
  ui.backdrop.hidden = false;
  const current = ui.sidebar.querySelector('.side-item.active .side-open') ?? ui.sidebar.querySelector('button');
  if (current) current.focus();
}

/* Closes the drawer; returns true if it was open. */
function closeDrawer() {
  if (!ui.app.classList.contains('drawer-open')) return false;
  ui.app.classList.remove('drawer-open');
  ui.roomsToggle.setAttribute('aria-expanded', 'false');
  ui.backdrop.hidden = true;
  return true;
}

ui.roomsToggle.addEventListener('click', () => {
  if (!closeDrawer()) openDrawer();
});
ui.backdrop.addEventListener('click', () => closeDrawer());
ui.sidebar.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && closeDrawer()) ui.roomsToggle.focus();
});
phone.addEventListener('change', () => closeDrawer());

/* ---------- who is here, and what they are typing ---------- */

function hereCount(v) {
  // In a crowd the gateway lists only some participants, and counts them all.
  const listed = [...v.people.values()].filter((p) => !p.away).length;
  return Math.max(listed, Number.isSafeInteger(v.count) ? v.count : 0);
}

/* A member listed away: an account with no connection, its nick kept. */
function awayPerson(nick) {
  const n = String(nick);
  return { pid: `away:${personKey(n)}`, nick: n, via: null, typing: '', away: true };
}

function renderPeople() {
  const v = views.active;
  if (v.kind !== 'room') {
    ui.people.replaceChildren();
    ui.peopleCount.textContent = `Private with ${v.name}`;
    renderDrafts();
    return;
  }
  const myKey = state.me ? personKey(state.me.nick) : null;
  // Those here first, then those away; each by nick.
  const items = [...v.people.values()].sort((a, b) => (a.away === true) - (b.away === true) ||
    a.nick.localeCompare(b.nick, undefined, { sensitivity: 'base' }));
  replaceKeepingFocus(ui.people, items.map((p) => renderPerson(p, { mine: personKey(p.nick) === myKey })), 'pid');
  const n = hereCount(v);
  const away = items.length - items.filter((p) => !p.away).length;
  const here = (n === 1 ? '1 here' : `${n} here`) + (away ? `, ${away} away` : '');
  // Offline, the list is what it was when the connection went.
  ui.peopleCount.textContent = conn.isOpen ? here : `${here} when last connected`;
  ui.peopleBox.classList.toggle('stale', !conn.isOpen);
  renderDrafts();
}

function renderDrafts() {
  const v = views.active;
  const divs = [];
  if (v.kind === 'room') {
    const myKey = state.me ? personKey(state.me.nick) : null;
    for (const p of v.people.values()) {
      if (!p.typing || personKey(p.nick) === myKey) continue;
      divs.push(renderDraft(p));
    }
  }
  ui.drafts.replaceChildren(...divs);
  ui.drafts.hidden = divs.length === 0;
}

ui.people.addEventListener('click', (e) => {
  const btn = e.target.closest('button.person-open');
  const li = btn && btn.closest('li');
  const v = views.active;
  const p = li && [...v.people.values()].find((x) => String(x.pid) === li.dataset.pid);
  if (!p) return;
  openPrivate(p.nick);
  ui.input.focus();
});

/* ---------- status line ---------- */

/* The status line; `countdown` is shown but not read out every second. */
function setStatus(text, offline, countdown = '') {
  if (ui.statusText.textContent !== text) ui.statusText.textContent = text;
  ui.countdown.textContent = countdown;
  ui.status.classList.toggle('offline', Boolean(offline));
}

function connectedStatus() {
  if (!state.me || !conn.isOpen) return;
  const v = views.active;
  const where = v.kind === 'room' ? `${v.name} · ${hereCount(v)} here` : `private with ${v.name}`;
  setStatus(`Connected as ${state.me.nick} · ${where}`, false);
}

function stopCountdown() {
  if (state.countdown !== null) clearInterval(state.countdown);
  state.countdown = null;
}

// Said over the conversation while there is no connection.
const OFFLINE_KEEP = 'What you type stays in the box until the connection is back.';

/*
 * The state of the connection where the reader looks: a banner over the
 * conversation while there is none (null: connected, no banner), and Send
 * disabled, since nothing can be sent until it is back.
 */
function showOffline(text, canRetry = false) {
  const offline = text !== null;
  ui.offlineBanner.hidden = !offline;
  if (offline && ui.offlineText.textContent !== text) ui.offlineText.textContent = text;
  ui.offlineRetry.hidden = !offline || !canRetry;
  ui.send.disabled = offline;
  ui.send.title = offline ? 'Not connected: nothing can be sent now' : '';
}

function onState(s) {
  stopCountdown();
  ui.retry.hidden = true;
  switch (s.state) {
    case 'connecting':
      state.helloRefusal = null;
      account.connectionLost();
      setStatus(state.wasWelcomed ? 'Reconnecting…' : 'Connecting…', true);
      showOffline(state.wasWelcomed ? `Not connected: reconnecting… ${OFFLINE_KEEP}` : 'Connecting…');
      break;
    case 'open':
      // Written at once, the welcome and its histories taken: a tab opened
      // next is this identity (its token) in these rooms.
      saveNow();
      showOffline(null);
      connectedStatus();
      renderPeople();
      checkScrollback();
      readSeen();
      break;
    case 'waiting': {
      lostConnection();
      const until = performance.now() + s.delayMs;
      const tick = () => {
        const left = Math.max(0, Math.ceil((until - performance.now()) / 1000));
        setStatus('Disconnected. Reconnecting', true, ` in ${left} s…`);
        showOffline(`Not connected: trying again in ${left} s. ${OFFLINE_KEEP}`, true);
      };
      tick();
      state.countdown = setInterval(tick, 1000);
      ui.retry.hidden = false;
      break;
    }
    case 'stopped':
      lostConnection();
      setStatus(`Disconnected${s.reason ? ': ' + s.reason : ''}.`, true);
      showOffline(`Not connected${s.reason ? ': ' + s.reason : ''}.`, s.reason !== 'closed');
      if (s.reason !== 'closed') ui.retry.hidden = false;
      break;
    default:
      break;
  }
}

function lostConnection() {
  typing.reset();
  account.connectionLost();
  clearTimeout(state.nickTimer);
  state.nickRetrying = false;
  // Others' drafts are stale until the next welcome tells them again.
  for (const v of views.rooms()) {
    for (const p of v.people.values()) p.typing = '';
  }
  ui.app.classList.add('offline');
  renderPeople();
}

function retryNow() {
  if (conn.stopped) conn.start();
  else conn.retryNow();
}
ui.retry.addEventListener('click', retryNow);
ui.offlineRetry.addEventListener('click', retryNow);
window.addEventListener('online', () => conn.retryNow());

/* ---------- the gateway's events ---------- */

/* A room as the welcome or a joined reply tells it: who is there, and what happened. */
function takeRoom(r) {
  const v = views.addRoom(r.room);
  v.name = r.room;
  logOf(v);
  const pager = pagers.get(v.key);
  pager.room = r.room;
  pager.reconnected();
  v.people = new Map();
  // Each tab of a person is a participant of its own, all with its nick:
  // the list has the person once.
  let twins = 0;
  for (const p of r.participants) {
    if (!p || typeof p !== 'object') continue;
    const key = personKey(p.nick);
    const had = v.people.get(key);
    if (p.away === true) {
      // A member with no connection: listed away, not counted here.
      if (!had) v.people.set(key, awayPerson(p.nick));
      continue;
    }
    if (had && !had.away) twins++;
    if (!had || had.away || (!had.typing && p.typing)) {
      v.people.set(key, { pid: p.pid, nick: String(p.nick), via: p.via, typing: String(p.typing ?? '') });
    }
  }
  const me = state.me;
  if (me && !v.people.has(personKey(me.nick))) {
    v.people.set(personKey(me.nick), { pid: me.pid, nick: me.nick, via: me.via, typing: '' });
  }
  v.count = Number.isSafeInteger(r.participants_count) ? r.participants_count - twins : 0;
  if (r.restarted) {
    // The room's ids start again: the lines shown are of the epoch before.
    const li = renderEvent({ type: 'note', text: RESTART_NOTE });
    pager.reset(li);
    addLine(v, li);
  } else if (r.gap) {
    note(GAP_NOTE, v).classList.add('gap-mark');
  }
}

function onWelcome(w) {
  const firstTime = !state.wasWelcomed;
  state.wasWelcomed = true;
  state.me = {
    pid: w.you.pid, nick: String(w.you.nick), via: w.you.via, ident: w.you.ident,
    admin: w.you.admin === true,
  };
  const max = w.text_max;
  state.textMax = Number.isSafeInteger(max) && max > 0 && max <= TEXT_MAX_BYTES ? max : TEXT_MAX_BYTES;
  updateCount();
  rememberIdent(w.you.ident);
  typing.reset();
  // Logged in by the session of the hello, or told that it is over.
  account.welcomed(w);
  if (account.live) {
    holdReads();
    state.nickTyped = false;
    if (account.byToken) {
      // The site's token says who: its nick is not kept for a later visit
      // (without the token it is an account with no password here).
      state.wantedNick = null;
    } else {
      state.wantedNick = state.me.nick;
      saveNick(state.me.nick);
    }
  }
  const here = new Set();
  for (const r of w.rooms) {
    takeRoom(r);
    here.add(roomViewKey(r.room));
  }
  // Rooms asked for and left out: an error about each follows.
  for (const v of views.rooms()) {
    if (!here.has(v.key)) removeView(v.key);
  }
  ui.myNick.textContent = state.me.nick;
  ui.app.classList.remove('offline');
  const refusal = state.helloRefusal;
  state.helloRefusal = null;
  if (state.wantedNick && state.me.nick !== state.wantedNick) {
    nickRefusedAtHello(refusal || `"${state.wantedNick}" was not given to you`);
  } else if (state.wantedNick) {
    saveNick(state.me.nick);
    state.nickTyped = false;
    state.nickHeld = 0;
  }
  showView(views.activeKey);
  if (state.loginAfterWelcome) {
    state.loginAfterWelcome = false;
    account.open();
  } else if (firstTime) {
    ui.input.focus();
  }
}

function onJoined(r) {
  takeRoom(r);
  checkScrollback();
  // Once its history is in (it is handed on after this).
  setTimeout(readSeen, 0);
  renderSidebar();
  if (roomViewKey(r.room) === views.activeKey) {
    // The gateway shows a room as first spelled, whatever the case we asked in.
    renderTitle();
    renderPeople();
  }
  connectedStatus();
  scheduleSave();
}

function onParted(p) {
  removeView(roomViewKey(p.room));
}

function onRoomRefused(room, err) {
  removeView(roomViewKey(room));
  addLine(views.active, renderEvent({ ...err, explained: refusalText(err) }));
}

/*
 * Someone changed nick: a private conversation with them goes on under the
 * new name, with a line saying so (their next line is sent to the new name).
 */
function privateRenamed(oldNick, newNick) {
  const before = oldNick && views.get(privateViewKey(oldNick));
  if (!before || before.kind !== 'private' || before.name === newNick) return;
  const wasActive = views.activeKey === before.key;
  const r = views.renamePrivate(oldNick, newNick);
  if (!r) return;
  const v = r.view;
  if (r.from !== v.key) {
    const log = logs.get(r.from);
    logs.delete(r.from);
    if (log && logs.has(v.key)) {
      log.remove();
    } else if (log) {
      log.dataset.key = v.key;
      log.setAttribute('aria-label', `Private conversation with ${newNick}`);
      logs.set(v.key, log);
    }
    for (const said of state.pendingSays.values()) if (said.key === r.from) said.key = v.key;
    for (const [ref, key] of state.refViews) if (key === r.from) state.refViews.set(ref, v.key);
  }
  note(`${oldNick} is now ${newNick}: this conversation goes on with the new name.`, v);
  if (wasActive) showView(v.key);
  else renderSidebar();
  saveDraftsSoon();
  scheduleSave();
}

function myNickChanged(nick) {
  if (!state.me || state.me.nick === nick) return;
  state.me.nick = nick;
  // A guest's name is given, never asked for (the gateway refuses it in a
  // hello): it is not remembered.
  const guest = nick.toLowerCase().startsWith('guest-');
  state.wantedNick = guest ? null : nick;
  saveNick(guest ? null : nick);
  ui.myNick.textContent = nick;
  if (state.dialogMode === 'change' && ui.dialog.open) ui.dialog.close();
  state.nickRef = 0;
  state.nickRetrying = false;
  state.nickHeld = 0;
  state.nickTyped = false;
}

function onEvent(ev, info) {
  const v = views.room(info.room) ?? views.addRoom(info.room);
  const key = personKey(ev.type === 'nick' ? ev.old : ev.nick);
  const p = v.people.get(key);
  const mine = isMine(ev);
  switch (ev.type) {
    case 'join':
      if ((!p || p.away) && !info.history) v.count++;
      v.people.set(key, { pid: ev.pid, nick: String(ev.nick), via: ev.via, typing: '' });
      break;
    case 'leave':
      // One connection of a person who stays (through another gateway).
      if (ev.tab === true) break;
      if (p && !p.away && !info.history) v.count = Math.max(0, v.count - 1);
      // An account away stays a member, listed away; anyone else is gone.
      if (ev.reason === 'away') v.people.set(key, awayPerson(ev.nick));
      else v.people.delete(key);
      break;
    case 'nick':
      if (p) {
        v.people.delete(key);
        p.nick = String(ev.nick);
        v.people.set(personKey(p.nick), p);
      }
      // Only a live one: history holds this identity's changes of long ago too.
      // This connection's own (its pid) is ours whatever identity it names:
      // logging in makes the connection the account's.
      if (!info.history && !mine && state.me && ev.pid === state.me.pid) {
        rememberIdent(ev.ident);
        myNickChanged(String(ev.nick));
      } else if (mine && !info.history) myNickChanged(String(ev.nick));
      else if (!mine && !info.history) privateRenamed(String(ev.old ?? ''), String(ev.nick));
      break;
    case 'message':
      // The line arrived: what was being typed is now in the conversation.
      if (p) p.typing = '';
      // The echo of a say of this connection (not of another tab's).
      if (mine && !info.history && ev.pid === state.me.pid) forgetSay(ev.text);
      break;
    case 'deleted': {
      // The message's line, if it is on screen, says it was removed.
      const gone = logOf(v).querySelector(`li[data-id="${Number(ev.deleted)}"]`);
      if (gone) blankLine(gone);
      break;
    }
    default:
      break;
  }
  if (!presenceOnly(ev)) addLine(v, withActions(renderEvent(ev, mine), ev));
  if (ev.type === 'message') {
    const counted = views.countMessage(v.key, {
      mine, unseen: info.unseen, text: ev.text, myNick: state.me ? state.me.nick : null,
    });
    if (counted) renderSidebar();
  }
  if (v.key === views.activeKey && (ev.type !== 'message' || p)) renderPeople();
  // History is taken whole first (the welcome's, a joined reply's): its
  // first lines are not where the reader is.
  if (v.key === views.activeKey && !info.history) readSeen();
  connectedStatus();
  scheduleSave();
}

function onPrivate(ev, info) {
  const other = typeof ev.with === 'string' && ev.with !== '' ? ev.with : null;
  if (!other) return;
  const key = privateViewKey(other);
  // Old lines of a conversation the reader closed stay closed.
  if (!views.get(key) && info.history && !info.unseen) return;
  const v = views.addPrivate(other);
  dropOrphanLogs();
  const mine = nickKey(String(ev.nick ?? '')) !== nickKey(other);
  if (mine && !info.history && state.me && ev.pid === state.me.pid) forgetSay(ev.text);
  addLine(v, renderEvent({ ...ev, type: 'message' }, mine));
  views.countMessage(key, { mine, unseen: info.unseen });
  renderSidebar();
  scheduleSave();
}

function rememberSay(ref, text, key) {
  state.pendingSays.set(ref, { text, key });
  while (state.pendingSays.size > PENDING_SAYS_MAX) {
    state.pendingSays.delete(state.pendingSays.keys().next().value);
  }
  rememberRef(ref, key);
}

function rememberRef(ref, key) {
  state.refViews.set(ref, key);
  while (state.refViews.size > REF_VIEWS_MAX) state.refViews.delete(state.refViews.keys().next().value);
}

/* Our own line came back: the oldest say with its text (or else the oldest) is done. */
function forgetSay(text) {
  for (const [ref, said] of state.pendingSays) {
    if (said.text === text) {
      state.pendingSays.delete(ref);
      return;
    }
  }
  const first = state.pendingSays.keys().next();
  if (!first.done) state.pendingSays.delete(first.value);
}

/* The view where the command with this ref was typed, or the one on screen. */
function viewOfRef(ref) {
  const key = ref !== undefined ? state.refViews.get(ref) : undefined;
  return (key !== undefined && views.get(key)) || views.active;
}

function onTyping(t, room) {
  // What this identity types in another tab is not someone else typing.
  if (isMine(t) || (state.me && t.pid === state.me.pid)) return;
  const v = views.room(room);
  const p = v && v.people.get(personKey(t.nick));
  const text = typeof t.text === 'string' ? t.text : '';
  if (!p || p.typing === text) return;
  p.typing = text;
  if (v.key === views.activeKey) renderPeople();
}

function onInfo(info) {
  addLine(viewOfRef(info.ref), renderEvent(info));
}

function onError(err, welcomed) {
  const msg = String(err.message ?? 'refused');
  // An account request refused: said in its dialog. A session that is over:
  // the welcome follows, as a guest.
  if (account.onError(err)) return;
  if (!welcomed && account.helloError(err)) return;
  if (!welcomed && err.code === 530) {
    conn.stop('an access key is needed');
    openDialog('join', `The gateway wants an access key: ${msg}`, true);
    return;
  }
  if (!welcomed && (err.code === 553 || err.code === 552 || err.code === 501)) {
    // The nick in hello was refused; the gateway welcomes us as a guest
    // next, and onWelcome deals with it.
    state.helloRefusal = msg;
    return;
  }
  const where = (typeof err.room === 'string' && views.room(err.room)) || viewOfRef(err.ref);
  let said = null;
  if (err.ref !== undefined && state.pendingSays.has(err.ref)) {
    said = state.pendingSays.get(err.ref);
    state.pendingSays.delete(err.ref);
  }
  addLine(where, renderEvent({ ...err, explained: refusalText(err, said !== null) }));
  if (err.ref !== undefined && err.ref === state.nickRef) {
    state.nickRef = 0;
    if (state.nickRetrying) nickRefusedAgain(msg);
    else if (ui.dialog.open) showDialogError(msg);
  }
  // Whatever the refusal, the line is not lost: it goes back in its box.
  if (said) putBack(said);
}

const sentence = (s) => {
  const t = String(s ?? '').trim().replace(/[.\s]+$/u, '');
  return t === '' ? '' : t[0].toUpperCase() + t.slice(1);
};

/*
 * A refusal as the reader reads it: what happened and what to do, in words
 * (the code stays in the line's tooltip). `back`: the refused text was put
 * back in the box.
 */
function refusalText(err, back = false) {
  const why = String(err.message ?? '').trim().replace(/[.\s]+$/u, '');
  const kept = back ? ' Your text is back in the box.' : '';
  switch (err.code) {
    case 429:
      return `Too fast: wait a moment, then send it again.${kept}`;
    case 451:
      return `Not sent: the gateway could not keep it just now${why ? ` (${why})` : ''}. Try again in a moment.${kept}`;
    case 452:
      return `${sentence(why) || 'Too many rooms'}. Leave a room (its ×) before joining another.`;
    case 502:
      return `${sentence(why) || 'Unknown command'}. Type /help to see the commands.${kept}`;
    case 550:
      return `Not sent: ${why || 'no one is called that'}. They may have left or changed nick: ` +
        `check the name among the people here.${kept}`;
    case 552:
      return `Too long: ${why || 'the gateway takes less'}. Shorten it or split it in two.${kept}`;
    case 553:
      return `Not allowed: ${why || 'that name'}. Pick another.${kept}`;
    default:
      return back ? `Not sent: ${why || 'the gateway refused it'}.${kept}` : `${sentence(why) || 'Refused'}.`;
  }
}

// The view key -> the refused lines put back at the start of its box (so
// that several, as the 451s of says pending when a connection went, keep
// their order).
const putBackHeads = new Map();

/*
 * A refused line back in the box it was typed in: before what was typed
 * since, after the lines put back before it.
 */
function putBack(said) {
  const v = views.get(said.key) ?? views.active;
  const join = (now) => {
    const head = putBackHeads.get(v.key);
    let out;
    let newHead;
    if (now === '' || now === said.text) {
      out = said.text;
      newHead = said.text;
    } else if (head && now.startsWith(head)) {
      newHead = `${head}\n${said.text}`;
      out = newHead + now.slice(head.length);
    } else {
      out = `${said.text}\n${now}`;
      newHead = said.text;
    }
    putBackHeads.set(v.key, newHead);
    return out;
  };
  if (v.key === views.activeKey) {
    ui.input.value = join(ui.input.value);
    if (v.kind === 'room') typing.update(v.name, draftForOthers(ui.input.value));
    updateCount();
  } else {
    v.draft = join(v.draft);
  }
  saveDraftsSoon();
}

/*
 * Our nick was refused in hello and we joined as a guest. A remembered nick
 * (not one just typed) is most likely held by our own previous connection
 * after a reload or a drop, which the gateway has not seen go yet: ask for
 * it again a few times before asking the reader.
 */
function nickRefusedAtHello(msg) {
  // A registered nick is its owner's: asking again would not help, logging in does.
  if (REGISTERED_RE.test(msg)) {
    const nick = state.wantedNick;
    state.nickRetrying = false;
    state.wantedNick = null;
    saveNick(null);
    note(`You joined as ${state.me.nick}: ${msg}.`);
    account.open(nick, `${nick} is registered: if it is yours, log in with its password; ` +
      'otherwise close this and pick another nick (Change nick).');
    return;
  }
  if (!state.nickTyped && state.nickHeld < NICK_HELD_RETRIES) {
    state.nickRetrying = true;
    retryNickLater(msg);
    return;
  }
  state.nickRetrying = false;
  note(`You joined as ${state.me.nick}: ${msg}.`);
  openDialog('change', msg);
}

function retryNickLater(msg) {
  state.nickHeld++;
  const delay = 1000 * 2 ** (state.nickHeld - 1);
  note(`You joined as ${state.me.nick} for now: ${msg}. Asking for ` +
    `"${state.wantedNick}" again in ${Math.round(delay / 1000)} s.`);
  clearTimeout(state.nickTimer);
  state.nickTimer = setTimeout(() => {
    if (conn.isOpen && state.wantedNick && state.me.nick !== state.wantedNick) {
      state.nickRef = conn.send({ type: 'nick', nick: state.wantedNick });
    } else {
      state.nickRetrying = false;
    }
  }, delay);
}

function nickRefusedAgain(msg) {
  if (state.nickHeld < NICK_HELD_RETRIES) {
    retryNickLater(msg);
  } else {
    state.nickRetrying = false;
    openDialog('change', msg);
  }
}

/*
 * The nick to ask for in hello: one just typed in the dialog; else the one
 * this browser last had (localStorage: another tab may have changed it
 * since this one was connected, and a nick named in hello wins); else ours.
 */
function helloNick() {
  if (state.nickTyped && state.wantedNick) return state.wantedNick;
  const stored = loadNick();
  // (Joining as a guest, by choice, forgets the wanted nick: none then.)
  if (stored && state.wantedNick !== null) return stored;
  return state.me && !state.me.nick.startsWith('guest-') ? state.me.nick : state.wantedNick;
}

function onBye(bye) {
  const code = typeof bye.code === 'number' ? ` (${bye.code})` : '';
  note(`The gateway closed the connection${code}: ${String(bye.message ?? '')}`);
}

const conn = new Connection({
  onState,
  onWelcome,
  onJoined,
  onParted,
  onEvent,
  onPrivate,
  onTyping,
  onRoomRefused,
  onInfo,
  onError,
  onBye,
  onAccount: (ev) => account.onAccount(ev),
  onReads,
  helloFields: () => {
    // With a session or a site's token the nick is the account's: none is
    // asked for, unless one was just typed (never with a site's token).
    const login = account.helloLogin();
    const nick = login.jwt || (login.session && !state.nickTyped) ? null : helloNick();
    reads.cancel();
    return { nick, key: state.key, ...login };
  },
});

// A site's token handed by the framing site: this tab says hello again with it.
const site = new SiteLogin(() => {
  if (ui.dialog.open && state.dialogMode === 'join' && !conn.isOpen) ui.dialog.close();
  conn.reconnect();
});

const account = new Account({
  conn,
  site,
  note: (text) => note(text),
  checkNick,
  myNick: () => (state.me ? state.me.nick : null),
  onLoggedIn: (nick) => {
    myNickChanged(nick);
    state.wantedNick = nick;
    saveNick(nick);
    // Another account (or the same anew): its reads come next.
    reads.clear();
    holdReads();
    connectedStatus();
  },
  onLoggedOut: () => {
    reads.clear();
    // The account's nick is no longer ours to ask for.
    state.wantedNick = null;
    saveNick(null);
    state.nickTyped = false;
    state.nickRetrying = false;
    clearTimeout(state.nickTimer);
  },
});

// Another tab of this browser logged in or out: this one says hello again
// with the session as it is now.
window.addEventListener('storage', (e) => {
  if (e.key !== ACCOUNT_KEY && e.key !== null) return;
  if (account.storageChanged() && !conn.stopped) conn.reconnect();
});

const typing = new TypingSender((room, text) => conn.sendQuiet({ type: 'typing', room, text }));

/* ---------- read positions ---------- */

// How far the reader has read goes to the gateway for its account only (a
// guest's would be ignored), once the newest line of a room was seen.
const reads = new ReadSender((room, id) => account.live !== null && conn.sendQuiet({ type: 'read', room, id }));

/*
 * The reader has seen the room on screen to its newest line: on screen, the
 * tab visible, scrolled to the bottom (not behind a search).
 */
function readSeen() {
  if (performance.now() < state.readsHeldUntil) return;
  if (account.live === null || !conn.isOpen || document.hidden || search.isOpen) return;
  const v = views.active;
  if (v.kind !== 'room') return;
  const log = logs.get(v.key);
  if (!log || log.hidden || !atBottom(log)) return;
  const r = conn.rooms.get(roomKey(v.name));
  const last = lastIdLine(log);
  if (!r || !r.joined || !last) return;
  reads.seen(v.name, Number(last.dataset.id));
}

/* Logged in: no read goes until the account's reads came (or READS_WAIT_MS). */
function holdReads() {
  state.readsHeldUntil = performance.now() + READS_WAIT_MS;
  setTimeout(readSeen, READS_WAIT_MS + 10);
}

/* Scrolls a room's log so that its "new messages" line is at the top. */
function landAtMark(v, log, mark) {
  log.scrollTop += mark.getBoundingClientRect().top - log.getBoundingClientRect().top;
  lastTops.set(log, log.scrollTop);
  v.stuck = atBottom(log);
  v.newBelow = !v.stuck;
  ui.jump.hidden = v.stuck || search.isOpen;
}

/* The account's read positions (after a login): a "new messages" line where it stopped. */
function onReads(rooms) {
  state.readsHeldUntil = 0;
  for (const [name, id] of Object.entries(rooms)) {
    reads.floor(name, id);
    const v = views.room(name);
    if (!v) continue;
    const log = logOf(v);
    const mark = placeReadMark(log, id);
    v.landAtMark = false;
    // What came while the account was away is unread where it is not on screen.
    if (v.key !== views.activeKey) v.unread = Math.max(v.unread, unreadAfter(log, id));
    if (!mark) continue;
    if (v.key === views.activeKey && !search.isOpen) landAtMark(v, log, mark);
    else v.landAtMark = true;
  }
  renderSidebar();
  readSeen();
}

/* ---------- search, and the conversation around a result ---------- */

// Where the room on screen was scrolled when the search took its place.
let liveTop = 0;

/* The live room is on screen again after a search; `latest` (Back to latest) shows its end. */
function backToLive(latest) {
  const v = views.active;
  const log = logOf(v);
  if (latest) {
    v.stuck = true;
    v.newBelow = false;
  }
  if (v.stuck) {
    toBottom(log);
  } else {
    log.scrollTop = liveTop;
    lastTops.set(log, log.scrollTop);
  }
  ui.jump.hidden = v.stuck || !v.newBelow;
  const p = pagers.get(v.key);
  if (p) {
    p.shown();
    checkScrollback();
  }
  if (latest) ui.input.focus();
  readSeen();
}

const search = new Search({
  ui,
  request: (m) => conn.request(m),
  render: renderRoomEvent,
  canAsk: () => conn.isOpen,
  onLeaveLive: () => {
    liveTop = logOf(views.active).scrollTop;
  },
  onLive: backToLive,
});

/* Day lines say "Today" and "Yesterday": just after midnight they are named again. */
function relabelAtMidnight() {
  const now = new Date();
  const next = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, 0, 0, 5);
  setTimeout(() => {
    for (const log of logs.values()) relabelDays(log);
    if (search.contextLog) relabelDays(search.contextLog);
    relabelAtMidnight();
  }, next.getTime() - now.getTime());
}
relabelAtMidnight();

/* ---------- remembering the session across reloads ---------- */

function saveNow() {
  clearTimeout(state.saveTimer);
  state.saveTimer = null;
  saveSession({ ...conn.snapshot(), ...views.serialize(), idents: state.myIdents });
}

function scheduleSave() {
  if (state.saveTimer === null) state.saveTimer = setTimeout(saveNow, SAVE_DELAY_MS);
}

window.addEventListener('pagehide', () => {
  saveNow();
  saveDraftsNow();
});
document.addEventListener('visibilitychange', () => {
  if (document.hidden) {
    saveNow();
    saveDraftsNow();
  } else {
    readSeen();
  }
});

/* ---------- your text ---------- */

function draftForOthers(value) {
  // A command being typed is not shown to anyone.
  return value.startsWith('/') ? '' : value;
}

ui.input.addEventListener('input', () => {
  const v = views.active;
  if (v.kind === 'room') typing.update(v.name, draftForOthers(ui.input.value));
  updateCount();
  saveDraftsSoon();
});

const utf8 = new TextEncoder();

/*
 * The bytes the gateway will count of a text it is sent: UTF-8 after its
 * cleaning (gw_text_clean: a line end is one "\n", other control
 * characters but tab are dropped, line ends at the end are not sent).
 */
function measuredBytes(text) {
  const clean = String(text)
    .replace(/\r\n?/gu, '\n')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/gu, '')
    .replace(/\s+$/u, '');
  return utf8.encode(clean).length;
}

/* What of the box the gateway will count: a /msg's text, or all of it. */
function boxBytes(value) {
  const cmd = pageCommand(value.replace(/\s+$/u, ''));
  return measuredBytes(cmd && cmd.kind === 'msg' ? cmd.text : value);
}

/* The count of bytes under the box near the limit; true when the text is over it. */
function updateCount() {
  const n = boxBytes(ui.input.value);
  const max = state.textMax;
  const over = n > max;
  const fmt = (x) => x.toLocaleString('en');
  ui.count.hidden = n < Math.floor((max * 3) / 4);
  ui.count.textContent = over
    ? `Too long to send: ${fmt(n)} of ${fmt(max)} bytes, ${fmt(n - max)} too many. Shorten it or split it in two.`
    : `${fmt(n)} of ${fmt(max)} bytes used (letters such as é take 2, emoji 4).`;
  ui.count.classList.toggle('over', over);
  if (over) ui.input.setAttribute('aria-invalid', 'true');
  else ui.input.removeAttribute('aria-invalid');
  return over;
}

/* ---------- drafts kept across a reload ---------- */

let draftTimer = null;

function saveDraftsNow() {
  clearTimeout(draftTimer);
  draftTimer = null;
  const out = {};
  for (const v of [...views.rooms(), ...views.privates()]) {
    const d = v.key === views.activeKey ? ui.input.value : v.draft;
    // A password being typed (/register, /identify, /password) is never kept.
    if (d && !holdsPassword(d)) out[v.key] = d;
  }
  saveDrafts(out);
}

function saveDraftsSoon() {
  if (draftTimer === null) draftTimer = setTimeout(saveDraftsNow, DRAFT_SAVE_DELAY_MS);
}

ui.input.addEventListener('keydown', (e) => {
  if (e.key !== 'Enter' || e.shiftKey || e.isComposing || e.altKey || e.ctrlKey || e.metaKey) return;
  e.preventDefault();
  ui.form.requestSubmit();
});

/* Empties the box of the view on screen (before another view comes on screen). */
function clearBox(v) {
  ui.input.value = '';
  v.draft = '';
  putBackHeads.delete(v.key);
  if (v.kind === 'room') typing.update(v.name, '');
  updateCount();
  saveDraftsNow();
}

// Commands that make sense in a private conversation, sent as said in #lobby:
// their answers come to the asker only.
const PRIVATE_VIEW_COMMANDS = new Set(['nick', 'who', 'help', 'rooms']);

/* Sends text typed in a private conversation; returns its ref, or 0. */
function sendInPrivate(v, text) {
  if (text.startsWith('/') && !text.startsWith('//')) {
    const verb = /^\/(\S*)/u.exec(text)[1].toLowerCase();
    if (PRIVATE_VIEW_COMMANDS.has(verb)) return conn.send({ type: 'say', room: LOBBY, text });
    if (verb !== 'me') {
      note(`/${verb} works in a room. Here: /me, /nick, /who, /help, /join, /part (closes this conversation) and /msg.`, v);
      return 0;
    }
  }
  return conn.send({ type: 'msg', to: v.name, text });
}

function runPageCommand(cmd, v) {
  switch (cmd.kind) {
    case 'join':
      if (!cmd.room || !validRoomName(cmd.room)) {
        note(cmd.room ? ROOM_RULES : 'Type /join #room.', v);
        return;
      }
      clearBox(v);
      joinRoom(cmd.room);
      return;
    case 'part': {
      const target = cmd.room ? views.room(cmd.room) : v;
      if (!target) {
        note(`You are not in ${cmd.room}.`, v);
      } else if (target.key === LOBBY_KEY) {
        note('Everyone stays in #lobby; /part leaves the other rooms.', v);
      } else {
        clearBox(v);
        if (target.kind === 'room') leaveRoom(target.name);
        else removeView(target.key);
      }
      return;
    }
    case 'msg': {
      if (!cmd.nick) {
        note('Type /msg NICK text.', v);
        return;
      }
      if (state.me && nickKey(cmd.nick) === nickKey(state.me.nick)) {
        note('That is you: /msg is for talking privately with someone else.', v);
        return;
      }
      const text = cmd.text.replace(/\s+$/u, '');
      if (text !== '' && !conn.isOpen) {
        note('Not connected: your text stays in the box until the connection is back.', v);
        return;
      }
      if (updateCount()) return;
      clearBox(v);
      const pv = openPrivate(cmd.nick);
      if (text !== '') {
        const ref = conn.send({ type: 'msg', to: cmd.nick, text });
        if (ref) rememberSay(ref, text, pv.key);
      }
      return;
    }
    default:
      break;
  }
}

ui.form.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = ui.input.value.replace(/\s+$/u, '');
  if (text.trim() === '') return;
  const v = views.active;
  // An account command (with a password): the page's own request, the box
  // emptied at once.
  const acct = accountCommand(text);
  if (acct) {
    clearBox(v);
    account.command(acct);
    ui.input.focus();
    return;
  }
  const cmd = pageCommand(text);
  if (cmd) {
    runPageCommand(cmd, v);
    ui.input.focus();
    return;
  }
  if (!conn.isOpen) {
    note('Not connected: your text stays in the box until the connection is back.');
    return;
  }
  // Too long for the gateway: kept in the box, the count says by how much.
  if (updateCount()) {
    ui.input.focus();
    return;
  }
  const ref = v.kind === 'room' ? conn.send({ type: 'say', room: v.name, text }) : sendInPrivate(v, text);
  if (!ref) return;
  rememberSay(ref, text, v.key);
  clearBox(v);
  v.stuck = true;
  v.newBelow = false;
  toBottom(logOf(v));
  ui.jump.hidden = true;
  ui.input.focus();
});

/* ---------- the nick dialog ---------- */

function showDialogError(text) {
  ui.nickError.textContent = text;
}

function openDialog(mode, error = '', needKey = false) {
  state.dialogMode = mode;
  const first = mode === 'join' && !state.wasWelcomed && !state.wantedNick;
  ui.nickTitle.textContent = mode === 'change' ? 'Change your nick' : 'Choose a nick';
  ui.nickOk.textContent = mode === 'change' ? 'Change' : 'Join';
  ui.nickCancel.textContent = mode === 'join' ? 'Join as guest' : 'Cancel';
  ui.nickIntro.textContent = first
    ? 'Welcome. Pick the name others see next to your lines; this browser remembers it.'
    : 'This is the name others see next to your lines.';
  ui.nickInput.value = (state.me && mode === 'change' ? state.me.nick : state.wantedNick) || '';
  if (needKey) ui.keyField.hidden = false;
  showDialogError(error);
  if (!ui.dialog.open) ui.dialog.showModal();
  ui.nickInput.focus();
  ui.nickInput.select();
}

function checkNick(nick) {
  if (nick === '') return 'Type a nick.';
  if ([...nick].length > NICK_MAX) return `At most ${NICK_MAX} characters.`;
  if (!NICK_RE.test(nick)) return 'Use letters, digits, _ - or . and start with a letter.';
  if (nick.toLowerCase().startsWith('guest-')) return 'Names starting with "guest-" are kept for guests.';
  return '';
}

ui.nickForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const nick = ui.nickInput.value.trim();
  const problem = checkNick(nick);
  if (problem) {
    showDialogError(problem);
    ui.nickInput.focus();
    return;
  }
  if (!ui.keyField.hidden) {
    state.key = ui.keyInput.value;
    saveKey(state.key);
  }
  if (state.dialogMode === 'change' && conn.isOpen) {
    if (state.me && nick === state.me.nick) {
      ui.dialog.close();
      return;
    }
    showDialogError('');
    state.nickRetrying = false;
    clearTimeout(state.nickTimer);
    state.nickRef = conn.send({ type: 'nick', nick });
    // The dialog closes when the gateway says the nick is ours.
    return;
  }
  state.wantedNick = nick;
  state.nickTyped = true;
  ui.dialog.close();
  conn.reconnect();
});

ui.nickCancel.addEventListener('click', () => {
  ui.dialog.close();
  if (state.dialogMode === 'join' && !conn.isOpen) {
    state.wantedNick = null;
    if (!ui.keyField.hidden) {
      state.key = ui.keyInput.value;
      saveKey(state.key);
    }
    conn.reconnect();
  }
});

// Escape closes a modal dialog; before joining that means "join as guest".
ui.dialog.addEventListener('cancel', (e) => {
  if (state.dialogMode === 'join' && !conn.isOpen) {
    e.preventDefault();
    ui.nickCancel.click();
  }
});
ui.dialog.addEventListener('close', () => {
  if (conn.isOpen) ui.input.focus();
});

ui.changeNick.addEventListener('click', () => openDialog(conn.isOpen ? 'change' : 'join'));

// The first visit's "log in": join as a guest, then the login form.
ui.nickLogin.addEventListener('click', () => {
  ui.dialog.close();
  if (conn.isOpen) {
    account.open();
    return;
  }
  state.loginAfterWelcome = true;
  state.wantedNick = null;
  conn.reconnect();
});

/* ---------- start ---------- */

// The rooms, conversations, ids and token of before a reload come back.
const saved = loadSession();
conn.restore(saved);
views.restore(saved);
if (saved) state.myIdents = saved.idents.slice(0, MY_IDENTS_MAX);
for (const name of conn.roomNames()) views.addRoom(name);
for (const v of views.rooms()) {
  if (!conn.rooms.has(roomKey(v.name))) views.remove(v.key);
}
// What was being typed in each conversation before a reload.
const drafts = loadDrafts();
for (const v of [...views.rooms(), ...views.privates()]) {
  if (typeof drafts[v.key] === 'string') v.draft = drafts[v.key];
}
ui.input.value = views.active.draft;
showView(views.activeKey);
updateCount();

if (phone.matches) ui.peopleBox.open = false;

if (site.jwt) {
  // The site that embeds the page says who: no nick to choose.
  conn.start();
} else if (account.token) {
  // Logged in: the session says who (the account's nick).
  ui.myNick.textContent = account.nick;
  conn.start();
} else if (state.wantedNick) {
  ui.myNick.textContent = state.wantedNick;
  conn.start();
} else if (saved && saved.token) {
  // A guest in another tab of this browser, or before a reload: the same
  // guest again (the token says who), not a new one asked for a nick.
  conn.start();
} else {
  setStatus('Not connected yet: choose a nick.', true);
  openDialog('join');
}
