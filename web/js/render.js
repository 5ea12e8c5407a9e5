// render.js: turns the gateway's events into DOM nodes.
//
// Everything that came from another person is put into the page as text
// (textContent or text nodes), never parsed as HTML. The one thing made
// clickable is a plain http(s) URL, and only after the URL parser agrees.

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

function nickSpan(ev) {
  const s = span('nick', String(ev.nick ?? '?'));
  s.title = 'from ' + viaLabel(ev.via);
  if (ev.via === 'tcp') s.classList.add('via-tcp');
  return s;
}

/*
 * One conversation line for a room event (message, join, leave, nick) or a
 * local notice (info, error, note). myPid marks the reader's own lines.
 * Returns an <li>, or null for an event kind this page does not show.
 */
export function renderEvent(ev, myPid) {
  const li = document.createElement('li');
  li.className = 'line';
  if (typeof ev.id === 'number') li.dataset.id = String(ev.id);
  const mine = myPid != null && ev.pid === myPid;
  if (mine) li.classList.add('mine');

  switch (ev.type) {
    case 'message': {
      li.append(timeElement(ev.time), ' ');
      const text = String(ev.text ?? '');
      if (ev.me) {
        li.classList.add('action');
        li.append(span('star', '*'), ' ', nickSpan(ev), ' ');
        const body = span('text', '');
        appendText(body, text);
        li.append(body);
      } else {
        li.classList.add('message');
        li.append(nickSpan(ev), span('sep', ': '));
        const body = span('text', '');
        appendText(body, text);
        li.append(body);
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
      li.append(timeElement(ev.time), ' ', span('star', '←'), ' ', nickSpan(ev), ' left');
      if (ev.reason && ev.reason !== 'closed') {
        li.append(span('reason', ` (${LEAVE_REASONS[ev.reason] ?? String(ev.reason)})`));
      }
      return li;
    }
    case 'nick':
      li.classList.add('event');
      li.append(timeElement(ev.time), ' ', span('star', '*'), ' ',
        span('nick', String(ev.old ?? '?')), ' is now ', nickSpan(ev));
      return li;
    case 'info':
      li.classList.add('info');
      li.append(timeElement(Date.now()), ' ', span('text', String(ev.text ?? '')));
      return li;
    case 'error': {
      li.classList.add('error');
      const code = typeof ev.code === 'number' ? ` ${ev.code}` : '';
      li.append(timeElement(Date.now()), ' ', span('label', `Refused${code}:`), ' ',
        span('text', String(ev.message ?? 'unknown error')));
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
