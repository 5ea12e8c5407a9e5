// reads.js: read positions of an account (docs/protocol.md, `read` and
// `reads`). The page tells the gateway how far the reader has read in a
// room (the id of its newest event, once seen: the room on screen, the tab
// visible, scrolled to the bottom), and after a login it learns how far the
// account read on any device, and draws a "new messages" line before the
// first message after that.

import { roomKey } from './connection.js';

// A room's read position goes to the gateway at most this often.
export const READ_SEND_INTERVAL_MS = 2000;

/*
 * new ReadSender(send): send(room, id) sends a `read`. seen(room, id) says
 * the reader has seen the room up to id: sent at once, or after the rest of
 * READ_SEND_INTERVAL_MS since the room's last one (then the latest id seen
 * meanwhile), and only forward: never an id at or below one sent, or below
 * the account's own (floor(), from `reads`).
 */
export class ReadSender {
  constructor(send, now = () => performance.now()) {
    this.send = send;
    this.now = now;
    // roomKey -> {name, sent, at, want, timer}
    this.rooms = new Map();
  }

  entry(room) {
    const key = roomKey(room);
    let r = this.rooms.get(key);
    if (!r) {
      r = { name: room, sent: 0, at: -Infinity, want: 0, timer: null };
      this.rooms.set(key, r);
    }
    return r;
  }

  /* The account read this far already (the gateway's `reads`): nothing at or below it goes. */
  floor(room, id) {
    const r = this.entry(room);
    if (id > r.sent) r.sent = id;
  }

  seen(room, id) {
    const r = this.entry(room);
    r.name = room;
    if (!(id > r.sent) || id <= r.want) return;
    r.want = id;
    if (r.timer !== null) return;
    const wait = r.at + READ_SEND_INTERVAL_MS - this.now();
    if (wait <= 0) this.flush(r);
    else r.timer = setTimeout(() => this.flush(r), wait);
  }

  flush(r) {
    r.timer = null;
    if (!(r.want > r.sent)) return;
    if (!this.send(r.name, r.want)) {
      r.want = r.sent; // not sent (not connected): the next seen() tries again
      return;
    }
    r.sent = r.want;
    r.at = this.now();
  }

  /* Nothing waits to be sent (logged out, or a new connection to say hello on). */
  cancel() {
    for (const r of this.rooms.values()) {
      clearTimeout(r.timer);
      r.timer = null;
      r.want = 0;
    }
  }

  /* Forgets every room (logged out: another account reads elsewhere). */
  clear() {
    this.cancel();
    this.rooms.clear();
  }
}

/* The "new messages" line: a separator that says what it marks. */
export function renderReadMark() {
  const li = document.createElement('li');
  li.className = 'read-mark';
  li.setAttribute('role', 'separator');
  li.setAttribute('aria-label', 'New messages since you last read this room');
  const s = document.createElement('span');
  s.className = 'read-mark-text';
  s.textContent = 'New messages';
  li.append(s);
  return li;
}

/*
 * Draws the line in a room's log before the first message (not the reader's
 * own) after readId, where there is one; the one there was goes. Returns it,
 * or null when nothing newer is shown.
 */
/* How many messages of others in a conversation's log come after readId. */
export function unreadAfter(log, readId) {
  let n = 0;
  for (const li of log.querySelectorAll(':scope > li.message[data-id], :scope > li.action[data-id]')) {
    if (Number(li.dataset.id) > readId && !li.classList.contains('mine')) n++;
  }
  return n;
}

export function placeReadMark(log, readId) {
  for (const old of log.querySelectorAll(':scope > li.read-mark')) old.remove();
  let first = null;
  for (const li of log.querySelectorAll(':scope > li.message[data-id], :scope > li.action[data-id]')) {
    if (Number(li.dataset.id) > readId && !li.classList.contains('mine')) {
      first = li;
      break;
    }
  }
  if (!first) return null;
  const mark = renderReadMark();
  // Above the message's day line, when it starts a day.
  const prev = first.previousElementSibling;
  (prev && prev.classList.contains('day') ? prev : first).before(mark);
  return mark;
}
