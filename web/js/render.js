// render.js: turns the gateway's events and the page's views into DOM nodes.
//
// Everything that came from another person (text, nicks) is put into the
// page as text (textContent or text nodes), never parsed as HTML. The one
// thing made clickable is a plain http(s) URL, and only after the URL
// parser agrees.

const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
// Punctuation that usually ends a sentence rather than a URL.
const TRAILING = '.,;:!?)]}\'"';

/* Drops sentence punctuation from a URL's end, but keeps a ')' that closes a '(' in it. */
function trimUrl(s) {
  while (s.length > 0 && TRAILING.includes(s[s.length - 1])) {
    if (s.endsWith(')') && s.split('(').length > s.split(')').length - 1) break;
    s = s.slice(0, -1);
  }
  return s;
}

/* Where a participant is from, as people say it. */
export function viaLabel(via) {
  return via === 'tcp' ? 'WINTALK' : 'browser';
}

/* Returns an <a> for a plain http(s) URL, or null if it is anything else. */
export function safeLink(candidate) {
  let url;
  try {
    url = new URL(candidate);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.username || url.password) return null;
  const a = document.createElement('a');
  a.href = url.href;
  a.textContent = candidate;
  a.rel = 'noopener noreferrer';
  a.target = '_blank';
  return a;
}

/* Appends text to parent as text nodes, with http(s) URLs as safe links. */
export function appendText(parent, text) {
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    const candidate = trimUrl(m[0]);
    const link = candidate.length > 8 ? safeLink(candidate) : null;
    if (!link) continue;
    if (m.index > last) parent.append(document.createTextNode(text.slice(last, m.index)));
    parent.append(link);
    last = m.index + candidate.length;
  }
  if (last < text.length) parent.append(document.createTextNode(text.slice(last)));
}

// Why someone left, as the gateway says it and as people read it.
const LEAVE_REASONS = {
  error: 'dropped after an error',
  behind: 'fell too far behind',
  shutdown: 'gateway shutting down',
  gone: 'their gateway stopped answering',
};

function pad2(n) {
  return n < 10 ? '0' + n : String(n);
}

/* A <time> element for an event's time (milliseconds since the epoch). */
export function timeElement(ms) {
  const t = document.createElement('time');
  t.className = 'when';
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return t;
  const d = new Date(ms);
  t.dateTime = d.toISOString();
  t.textContent = pad2(d.getHours()) + ':' + pad2(d.getMinutes());
  t.title = d.toLocaleString();
  return t;
}

function span(cls, text) {
  const s = document.createElement('span');
  s.className = cls;
  s.textContent = text;
  return s;
}

/*
 * Someone's nick or text, isolated from what is around it: a nick or a
 * line in Hebrew or Arabic takes its own direction (dir="auto") and does
 * not reorder the colon, numbers or words next to it. A nick is a <bdi>.
 */
function bdi(cls, text) {
  const b = document.createElement('bdi');
  b.className = cls;
  b.textContent = text;
  return b;
}

function textSpan(cls, text) {
  const s = span(cls, '');
  s.dir = 'auto';
  appendText(s, text);
  return s;
}

function nickSpan(ev) {
  const s = bdi('nick', String(ev.nick ?? '?'));
  s.title = 'from ' + viaLabel(ev.via);
  if (ev.via === 'tcp') s.classList.add('via-tcp');
  return s;
}

/*
 * One conversation line for a room event (message, join, leave, nick), a
 * private message, or a local notice (info, error, note). `mine` marks the
 * reader's own lines. Returns an <li>, or null for an event kind this page
 * does not show.
 */
export function renderEvent(ev, mine = false) {
  const li = document.createElement('li');
  li.className = 'line';
  if (typeof ev.id === 'number') li.dataset.id = String(ev.id);
  if (mine) li.classList.add('mine');
  if (ev.private === true) li.classList.add('private');

  switch (ev.type) {
    case 'message': {
      li.append(timeElement(ev.time), ' ');
      const text = String(ev.text ?? '');
      if (ev.deleted === true) {
        // Removed: who and when stay, in place; the words are gone.
        li.classList.add('message', 'deleted');
        li.append(nickSpan(ev), span('sep', ': '), span('text deleted-note', DELETED_NOTE));
      } else if (ev.me) {
        li.classList.add('action');
        li.append(span('star', '*'), ' ', nickSpan(ev), ' ', textSpan('text', text));
      } else {
        li.classList.add('message');
        li.append(nickSpan(ev), span('sep', ': '), textSpan('text', text));
      }
      return li;
    }
    case 'join':
      li.classList.add('event');
      li.append(timeElement(ev.time), ' ', span('star', '→'), ' ', nickSpan(ev),
        ` joined from ${viaLabel(ev.via)}`);
      return li;
    case 'leave': {
      li.classList.add('event');
      // Leaving a room (part) is not leaving the chat (closed): said apart.
      const left = ev.reason === 'part' ? ' left this room' : ' left';
      li.append(timeElement(ev.time), ' ', span('star', '←'), ' ', nickSpan(ev), left);
      if (ev.reason && ev.reason !== 'closed' && ev.reason !== 'part') {
        li.append(span('reason', ` (${LEAVE_REASONS[ev.reason] ?? String(ev.reason)})`));
      }
      return li;
    }
    case 'nick':
      li.classList.add('event');
      li.append(timeElement(ev.time), ' ', span('star', '*'), ' ',
        bdi('nick', String(ev.old ?? '?')), ' is now ', nickSpan(ev));
      return li;
    case 'info':
      li.classList.add('info');
      li.append(timeElement(Date.now()), ' ', span('text', String(ev.text ?? '')));
      return li;
    case 'error': {
      // Said in words (ev.explained, made by the page); the gateway's code
      // and reason stay in the tooltip.
      li.classList.add('error');
      const words = typeof ev.explained === 'string' ? ev.explained : String(ev.message ?? 'unknown error');
      li.append(timeElement(Date.now()), ' ', textSpan('text', words));
      if (typeof ev.code === 'number') {
        li.dataset.code = String(ev.code);
        li.title = `The gateway's answer: ${ev.code} ${String(ev.message ?? '')}`;
      }
      return li;
    }
    case 'note':
      li.classList.add('note');
      li.append(timeElement(Date.now()), ' ', span('text', String(ev.text ?? '')));
      return li;
    default:
      return null;
  }
}

/* What a removed message's line says in place of its words. */
export const DELETED_NOTE = 'message deleted';

/* A line whose message was removed (a deleted event): its words give way
 * to DELETED_NOTE, its time, nick and place in the day stay; its actions
 * go. */
export function blankLine(li) {
  li.classList.add('deleted');
  const t = li.querySelector('.text');
  if (t) {
    t.replaceChildren(DELETED_NOTE);
    t.className = 'text deleted-note';
    t.removeAttribute('dir');
  }
  const actions = li.querySelector('.line-actions');
  if (actions) actions.remove();
}

/*
 * The actions on a line of the conversation, for the lines the reader may
 * act on: a button (its glyph drawn by the style sheet, its name in
 * aria-label, so that the line's text stays the message's) that opens a
 * small menu, made when opened (renderLineMenu). Keyboard reachable (Tab
 * to the button, Enter or Space opens it, Escape closes); the page wires
 * them up by delegation (main.js).
 */
export function renderLineActions() {
  const wrap = document.createElement('span');
  wrap.className = 'line-actions';
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'line-menu';
  b.setAttribute('aria-label', 'Message actions');
  b.setAttribute('aria-haspopup', 'menu');
  b.setAttribute('aria-expanded', 'false');
  wrap.append(b);
  return wrap;
}

/* The menu a line's actions button opens: Delete message. */
export function renderLineMenu() {
  const menu = document.createElement('span');
  menu.className = 'line-menu-items';
  menu.setAttribute('role', 'menu');
  menu.setAttribute('aria-label', 'Message actions');
  const del = document.createElement('button');
  del.type = 'button';
  del.className = 'line-delete';
  del.setAttribute('role', 'menuitem');
  del.textContent = 'Delete message';
  menu.append(del);
  return menu;
}

/* An empty conversation pane (one per room or private conversation). */
export function createLog(label) {
  const ol = document.createElement('ol');
  ol.className = 'log';
  ol.setAttribute('role', 'log');
  ol.setAttribute('aria-live', 'polite');
  ol.setAttribute('aria-relevant', 'additions');
  ol.setAttribute('aria-label', label);
  ol.tabIndex = 0;
  return ol;
}

/*
 * One entry of the sidebar: a room or a private conversation, with its
 * unread count and mention mark, a button to show it and (except for
 * #lobby) one to leave or close it. view is a views.js view.
 */
export function renderSideItem(view, { active = false, closable = true } = {}) {
  const li = document.createElement('li');
  li.className = 'side-item';
  if (view.kind === 'room') li.dataset.room = view.name;
  else li.dataset.nick = view.name;
  li.dataset.key = view.key;
  li.classList.toggle('active', active);
  li.classList.toggle('has-unread', view.unread > 0);
  li.classList.toggle('has-mention', view.mention);
  const open = document.createElement('button');
  open.type = 'button';
  open.className = 'side-open';
  if (active) open.setAttribute('aria-current', 'true');
  // A long name is cut short on screen: the whole of it on hover.
  const name = bdi('side-name', view.name);
  name.title = view.name;
  open.append(name);
  if (view.mention) {
    const mark = span('mention-mark', '@');
    mark.title = 'You were mentioned';
    mark.setAttribute('aria-hidden', 'true');
    open.append(mark, span('visually-hidden', ', mentions you'));
  }
  if (view.unread > 0) {
    const n = view.unread > 999 ? '999+' : String(view.unread);
    const badge = span('unread', n);
    badge.setAttribute('aria-hidden', 'true');
    open.append(badge, span('visually-hidden', `, ${n} unread`));
  }
  li.append(open);
  if (closable) {
    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'side-close';
    close.textContent = '×';
    const what = view.kind === 'room' ? `Leave ${view.name}` : `Close the conversation with ${view.name}`;
    close.setAttribute('aria-label', what);
    close.title = what;
    li.append(close);
  }
  return li;
}

/*
 * One participant of a room: p is {pid, nick, via, typing, away}. Others'
 * nicks are buttons that open a private conversation (with one away too:
 * the gateway keeps what is sent to an account until it comes back).
 */
export function renderPerson(p, { mine = false } = {}) {
  const li = document.createElement('li');
  li.className = 'person';
  li.dataset.pid = String(p.pid);
  let nick;
  if (mine) {
    li.classList.add('mine');
    nick = bdi('nick', p.nick);
  } else {
    nick = document.createElement('button');
    nick.type = 'button';
    nick.className = 'nick person-open';
    nick.dir = 'auto';
    nick.textContent = p.nick;
    nick.title = `Talk privately with ${p.nick}`;
  }
  if (p.away) {
    li.classList.add('away');
    li.append(nick, ' ', span('via via-away', 'away'));
    return li;
  }
  const via = span('via via-' + (p.via === 'tcp' ? 'tcp' : 'web'), viaLabel(p.via));
  li.append(nick, ' ', via);
  if (mine) li.append(' ', span('you', '(you)'));
  if (p.typing) li.append(' ', span('is-typing', 'typing…'));
  return li;
}

/* What someone is typing, live, under the conversation. */
export function renderDraft(p) {
  const div = document.createElement('div');
  div.className = 'draft';
  div.dataset.pid = String(p.pid);
  const nick = bdi('nick', p.nick);
  if (p.via === 'tcp') nick.classList.add('via-tcp');
  const text = span('text', p.typing);
  text.dir = 'auto';
  const caret = span('caret', '');
  caret.setAttribute('aria-hidden', 'true');
  div.append(nick, ': ', text, caret);
  return div;
}

/*
 * The line that starts a day in a conversation: a heading (the reader can
 * jump from day to day), named by history.js's dayLabel. `key` is the day
 * it starts ("YYYY-MM-DD"), kept to name it again when the date turns.
 */
export function renderDay(key, label) {
  const li = document.createElement('li');
  li.className = 'day';
  li.dataset.day = key;
  const h = document.createElement('h3');
  h.className = 'day-label';
  h.textContent = label;
  li.append(h);
  return li;
}

/*
 * A mark at an end of a conversation's history: kind is 'loading' (earlier
 * or later lines on their way), 'start' (nothing earlier), or 'failed' (with
 * a "Try again" button, whose click the caller handles). `where` is 'top'
 * or 'bottom'.
 */
export function renderEdge(kind, where, text) {
  const li = document.createElement('li');
  li.className = `edge edge-${kind} edge-${where}`;
  li.append(span('edge-text', text));
  if (kind === 'failed') {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'link-button edge-retry';
    b.textContent = 'Try again';
    li.append(' ', b);
  }
  return li;
}

/*
 * Appends text to parent as text nodes, with the [start, end) ranges (sorted,
 * not overlapping, from history.js's matchRanges) in <mark> elements.
 */
export function appendMarked(parent, text, ranges) {
  let at = 0;
  for (const [start, end] of ranges) {
    if (start < at || end > text.length || start >= end) continue;
    if (start > at) parent.append(document.createTextNode(text.slice(at, start)));
    const m = document.createElement('mark');
    m.textContent = text.slice(start, end);
    parent.append(m);
    at = end;
  }
  if (at < text.length) parent.append(document.createTextNode(text.slice(at)));
}

/*
 * One search result: a button (it opens the message in context) with the
 * nick, when it was said (`when`, from history.js's whenLabel) and the text
 * with the matched words marked. ev is a message event.
 */
export function renderResult(ev, ranges, when) {
  const li = document.createElement('li');
  li.className = 'result';
  li.dataset.id = String(ev.id);
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'result-open';
  const head = span('result-head', '');
  const nick = nickSpan(ev);
  const t = timeElement(ev.time);
  t.textContent = when;
  head.append(nick, ' ', t);
  const body = span('result-text', '');
  body.dir = 'auto';
  if (ev.me) {
    li.classList.add('action');
    body.append(span('star', '* '));
  }
  appendMarked(body, String(ev.text ?? ''), ranges);
  b.append(head, body);
  li.append(b);
  return li;
}
