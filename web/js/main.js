// main.js: the WinTalk page. The conversation on top, your text below, a
// status line at the bottom, and who is here with what they are typing.
//
// The connection (connection.js) delivers each room event once; this module
// keeps the participants, draws the panes and handles the composer and the
// nick dialog. Text from others only ever reaches the page through
// render.js, as text.

import { Connection } from './connection.js';
import { renderEvent, viaLabel } from './render.js';
import { TypingSender } from './typing.js';
import { loadNick, saveNick, loadKey, saveKey } from './store.js';

// The conversation keeps this many lines; older ones leave the page.
const LOG_LINES_MAX = 1000;
// Remembered says, to put a refused line back in the box.
const PENDING_SAYS_MAX = 20;
// A remembered nick refused at hello is asked for again this many times
// (after 1, 2, 4 s) before the page asks the reader: after a reload or a
// dropped connection the gateway may not yet have seen our old one go.
const NICK_HELD_RETRIES = 3;
// "Near the bottom" for sticking to it, in pixels.
const BOTTOM_SLACK_PX = 24;
// What a nick may be (docs/protocol.md, /nick).
const NICK_RE = /^\p{L}[\p{L}\p{N}_.-]*$/u;
const NICK_MAX = 24;

const $ = (id) => document.getElementById(id);
const ui = {
  app: $('app'),
  log: $('log'),
  jump: $('jump'),
  drafts: $('drafts'),
  people: $('people'),
  peopleBox: $('people-box'),
  peopleCount: $('people-count'),
  myNick: $('my-nick'),
  changeNick: $('change-nick'),
  form: $('compose'),
  input: $('input'),
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
};

const state = {
  me: null, // {pid, nick, via} once welcomed
  wantedNick: loadNick(), // the nick to ask for in hello
  key: loadKey(),
  people: new Map(), // pid -> {pid, nick, via, typing}
  pendingSays: new Map(), // ref -> text
  nickRef: 0, // ref of a nick change asked from the dialog
  dialogMode: 'join', // 'join' (before joining) or 'change' (while connected)
  wasWelcomed: false, // welcomed at least once: a later hello is a reconnect
  nickHeld: 0, // times our remembered nick was refused since we last had it
  nickTyped: false, // the nick asked for was just typed in the dialog
  nickRetrying: false, // asking again for a remembered nick that was refused
  nickTimer: null,
  helloRefusal: null, // why the gateway refused the nick in our hello
  stuck: true, // the conversation follows new lines
  countdown: null,
};

/* ---------- the conversation ---------- */

function atBottom() {
  const el = ui.log;
  return el.scrollHeight - el.scrollTop - el.clientHeight <= BOTTOM_SLACK_PX;
}

function toBottom() {
  ui.log.scrollTop = ui.log.scrollHeight;
  ui.jump.hidden = true;
}

function addLine(li) {
  if (!li) return;
  ui.log.append(li);
  while (ui.log.childElementCount > LOG_LINES_MAX) ui.log.firstElementChild.remove();
  if (state.stuck) toBottom();
  else ui.jump.hidden = false;
}

function note(text) {
  addLine(renderEvent({ type: 'note', text }, null));
}

// Only the reader scrolling up unsticks the conversation: the pane also
// scrolls when it changes size (drafts come and go), and that must not.
let lastScrollTop = 0;
ui.log.addEventListener('scroll', () => {
  const top = ui.log.scrollTop;
  if (atBottom()) {
    state.stuck = true;
    ui.jump.hidden = true;
  } else if (top < lastScrollTop) {
    state.stuck = false;
  }
  lastScrollTop = top;
});
ui.jump.addEventListener('click', () => {
  state.stuck = true;
  toBottom();
  ui.log.focus();
});
// The pane changes size when drafts come and go or the window turns:
// a reader at the bottom stays there.
new ResizeObserver(() => {
  if (state.stuck) toBottom();
}).observe(ui.log);

/* ---------- who is here, and what they are typing ---------- */

function renderPeople() {
  const items = [...state.people.values()].sort((a, b) =>
    a.nick.localeCompare(b.nick, undefined, { sensitivity: 'base' }));
  const lis = items.map((p) => {
    const li = document.createElement('li');
    li.className = 'person';
    if (state.me && p.pid === state.me.pid) li.classList.add('mine');
    const nick = document.createElement('span');
    nick.className = 'nick';
    nick.textContent = p.nick;
    const via = document.createElement('span');
    via.className = 'via via-' + (p.via === 'tcp' ? 'tcp' : 'web');
    via.textContent = viaLabel(p.via);
    li.append(nick, ' ', via);
    if (state.me && p.pid === state.me.pid) {
      const you = document.createElement('span');
      you.className = 'you';
      you.textContent = '(you)';
      li.append(' ', you);
    }
    if (p.typing) {
      const t = document.createElement('span');
      t.className = 'is-typing';
      t.textContent = 'typing…';
      li.append(' ', t);
    }
    return li;
  });
  ui.people.replaceChildren(...lis);
  const n = state.people.size;
  ui.peopleCount.textContent = n === 1 ? '1 here' : `${n} here`;
  renderDrafts();
}

function renderDrafts() {
  const divs = [];
  for (const p of state.people.values()) {
    if (!p.typing || (state.me && p.pid === state.me.pid)) continue;
    const div = document.createElement('div');
    div.className = 'draft';
    div.dataset.pid = String(p.pid);
    const nick = document.createElement('span');
    nick.className = 'nick';
    if (p.via === 'tcp') nick.classList.add('via-tcp');
    nick.textContent = p.nick;
    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = p.typing;
    const caret = document.createElement('span');
    caret.className = 'caret';
    caret.setAttribute('aria-hidden', 'true');
    div.append(nick, ': ', text, caret);
    divs.push(div);
  }
  ui.drafts.replaceChildren(...divs);
  ui.drafts.hidden = divs.length === 0;
}

function setTyping(pid, text) {
  const p = state.people.get(pid);
  if (!p || p.typing === text) return;
  p.typing = text;
  renderPeople();
}

/* ---------- status line ---------- */

/* The status line; `countdown` is shown but not read out every second. */
function setStatus(text, offline, countdown = '') {
  if (ui.statusText.textContent !== text) ui.statusText.textContent = text;
  ui.countdown.textContent = countdown;
  ui.status.classList.toggle('offline', Boolean(offline));
}

function connectedStatus() {
  if (!state.me) return;
  const n = state.people.size;
  setStatus(`Connected as ${state.me.nick} · ${n} here`, false);
}

function stopCountdown() {
  if (state.countdown !== null) clearInterval(state.countdown);
  state.countdown = null;
}

function onState(s) {
  stopCountdown();
  ui.retry.hidden = true;
  switch (s.state) {
    case 'connecting':
      state.helloRefusal = null;
      setStatus(state.wasWelcomed ? 'Reconnecting…' : 'Connecting…', true);
      break;
    case 'open':
      connectedStatus();
      break;
    case 'waiting': {
      lostConnection();
      const until = performance.now() + s.delayMs;
      const tick = () => {
        const left = Math.max(0, Math.ceil((until - performance.now()) / 1000));
        setStatus('Disconnected. Reconnecting', true, ` in ${left} s…`);
      };
      tick();
      state.countdown = setInterval(tick, 1000);
      ui.retry.hidden = false;
      break;
    }
    case 'stopped':
      lostConnection();
      setStatus(`Disconnected${s.reason ? ': ' + s.reason : ''}.`, true);
      if (s.reason !== 'closed') ui.retry.hidden = false;
      break;
    default:
      break;
  }
}

function lostConnection() {
  typing.reset();
  clearTimeout(state.nickTimer);
  state.nickRetrying = false;
  // Others' drafts are stale until the next welcome tells them again.
  for (const p of state.people.values()) p.typing = '';
  ui.app.classList.add('offline');
  renderPeople();
}

ui.retry.addEventListener('click', () => {
  if (conn.stopped) conn.start();
  else conn.retryNow();
});
window.addEventListener('online', () => conn.retryNow());

/* ---------- the gateway's events ---------- */

function onWelcome(w) {
  const firstTime = !state.wasWelcomed;
  state.wasWelcomed = true;
  state.me = w.you;
  state.people.clear();
  for (const p of w.participants || []) {
    state.people.set(p.pid, { pid: p.pid, nick: String(p.nick), via: p.via, typing: p.typing || '' });
  }
  if (!state.people.has(w.you.pid)) state.people.set(w.you.pid, { ...w.you, typing: '' });
  ui.myNick.textContent = w.you.nick;
  ui.app.classList.remove('offline');
  renderPeople();
  const refusal = state.helloRefusal;
  state.helloRefusal = null;
  if (state.wantedNick && w.you.nick !== state.wantedNick) {
    nickRefusedAtHello(refusal || `"${state.wantedNick}" was not given to you`);
  } else if (state.wantedNick) {
    saveNick(w.you.nick);
    state.nickTyped = false;
    state.nickHeld = 0;
  }
  if (w.restarted) {
    note('The gateway has restarted: earlier history was reset, and what was said before it may be missing.');
  } else if (w.gap) {
    note('Some messages from while you were away are no longer kept and are missing.');
  }
  if (firstTime) ui.input.focus();
}

function onEvent(ev) {
  const p = state.people.get(ev.pid);
  switch (ev.type) {
    case 'join':
      state.people.set(ev.pid, { pid: ev.pid, nick: String(ev.nick), via: ev.via, typing: '' });
      break;
    case 'leave':
      state.people.delete(ev.pid);
      break;
    case 'nick':
      if (p) p.nick = String(ev.nick);
      if (state.me && ev.pid === state.me.pid) {
        state.me.nick = String(ev.nick);
        state.wantedNick = state.me.nick;
        saveNick(state.me.nick);
        ui.myNick.textContent = state.me.nick;
        if (state.dialogMode === 'change' && ui.dialog.open) ui.dialog.close();
        state.nickRef = 0;
        state.nickRetrying = false;
        state.nickHeld = 0;
        state.nickTyped = false;
      }
      break;
    case 'message':
      // The line arrived: what was being typed is now in the conversation.
      if (p) p.typing = '';
      if (state.me && ev.pid === state.me.pid) forgetOldestSay();
      break;
    default:
      break;
  }
  addLine(renderEvent(ev, state.me ? state.me.pid : null));
  if (ev.type !== 'message' || p) renderPeople();
  if (state.me && conn.isOpen) connectedStatus();
}

function forgetOldestSay() {
  const first = state.pendingSays.keys().next();
  if (!first.done) state.pendingSays.delete(first.value);
}

function onTyping(t) {
  if (state.me && t.pid === state.me.pid) return;
  setTyping(t.pid, typeof t.text === 'string' ? t.text : '');
}

function onInfo(info) {
  addLine(renderEvent(info, null));
}

function onError(err, welcomed) {
  const msg = String(err.message ?? 'refused');
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
  addLine(renderEvent(err, null));
  if (err.ref !== undefined && err.ref === state.nickRef) {
    state.nickRef = 0;
    if (state.nickRetrying) nickRefusedAgain(msg);
    else if (ui.dialog.open) showDialogError(msg);
  }
  if (err.ref !== undefined && state.pendingSays.has(err.ref)) {
    const text = state.pendingSays.get(err.ref);
    state.pendingSays.delete(err.ref);
    // A line refused for the moment (too fast, too long) goes back in the box.
    if (ui.input.value === '' && (err.code === 429 || err.code === 552)) {
      ui.input.value = text;
    }
  }
}

/*
 * Our nick was refused in hello and we joined as a guest. A remembered nick
 * (not one just typed) is most likely held by our own previous connection
 * after a reload or a drop, which the gateway has not seen go yet: ask for
 * it again a few times before asking the reader.
 */
function nickRefusedAtHello(msg) {
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

function onBye(bye) {
  const code = typeof bye.code === 'number' ? ` (${bye.code})` : '';
  note(`The gateway closed the connection${code}: ${String(bye.message ?? '')}`);
}

const conn = new Connection({
  onState,
  onWelcome,
  onEvent,
  onTyping,
  onInfo,
  onError,
  onBye,
  helloFields: () => ({
    nick: state.me && !state.me.nick.startsWith('guest-') ? state.me.nick : state.wantedNick,
    key: state.key,
  }),
});

const typing = new TypingSender((text) => conn.sendQuiet({ type: 'typing', text }));

/* ---------- your text ---------- */

function draftForOthers(value) {
  // A command being typed is not shown to anyone.
  return value.startsWith('/') ? '' : value;
}

ui.input.addEventListener('input', () => typing.update(draftForOthers(ui.input.value)));

ui.input.addEventListener('keydown', (e) => {
  if (e.key !== 'Enter' || e.shiftKey || e.isComposing || e.altKey || e.ctrlKey || e.metaKey) return;
  e.preventDefault();
  ui.form.requestSubmit();
});

ui.form.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = ui.input.value.replace(/\s+$/u, '');
  if (text.trim() === '') return;
  if (!conn.isOpen) {
    note('Not connected: your text stays in the box until the connection is back.');
    return;
  }
  const ref = conn.send({ type: 'say', text });
  if (!ref) return;
  state.pendingSays.set(ref, text);
  while (state.pendingSays.size > PENDING_SAYS_MAX) forgetOldestSay();
  ui.input.value = '';
  typing.update('');
  state.stuck = true;
  toBottom();
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

/* ---------- start ---------- */

if (window.matchMedia('(max-width: 40rem)').matches) ui.peopleBox.open = false;

if (state.wantedNick) {
  ui.myNick.textContent = state.wantedNick;
  conn.start();
} else {
  setStatus('Not connected yet: choose a nick.', true);
  openDialog('join');
}
