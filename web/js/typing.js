// typing.js: sends the unfinished text as `typing`, at most 4 times a second.
//
// The last state always gets out: a change inside the quiet period is sent
// when the period ends, so others never keep seeing a stale draft. The empty
// text ("stopped", sent after a line goes out, the box is cleared or the
// reader turns to another room) follows the same rule, so there are never
// more than 4 updates a second. A browser has one typing text at a time,
// in one room: typing in another room clears it in the previous one.

import { roomKey } from './connection.js';

export const TYPING_INTERVAL_MS = 250;

const sameRoom = (a, b) => a !== null && b !== null && roomKey(a) === roomKey(b);

export class TypingSender {
  /* send(room, text) delivers one update and returns false if it could not. */
  constructor(send, intervalMs = TYPING_INTERVAL_MS) {
    this.sendFn = send;
    this.interval = intervalMs;
    this.lastSentAt = -Infinity;
    this.lastSent = { room: null, text: '' };
    this.pending = null;
    this.timer = null;
  }

  /* The draft in `room` is now `text`. */
  update(room, text) {
    this.pending = { room, text };
    if (this.timer !== null) return;
    const wait = this.lastSentAt + this.interval - performance.now();
    if (wait <= 0) {
      this.flush();
    } else {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.flush();
      }, wait);
    }
  }

  /* Sends the pending state now, if it differs from what others last saw. */
  flush() {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const p = this.pending;
    this.pending = null;
    if (p === null) return;
    const last = this.lastSent;
    // Nothing shown anywhere, or the same thing in the same room: nothing to say.
    if (p.text === '' && last.text === '') return;
    if (p.text === last.text && sameRoom(p.room, last.room)) return;
    // Stopping is said in the room where the text was shown.
    const room = p.text === '' ? last.room : p.room;
    if (this.sendFn(room, p.text)) {
      this.lastSent = { room, text: p.text };
      this.lastSentAt = performance.now();
    }
  }

  /* The page left `room`: the gateway forgot our text there, so nothing is owed to it. */
  forget(room) {
    if (this.pending !== null && sameRoom(this.pending.room, room)) this.pending = { room: null, text: '' };
    if (sameRoom(this.lastSent.room, room)) this.lastSent = { room: null, text: '' };
  }

  /* After a reconnect the gateway knows no draft of ours. */
  reset() {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
    this.lastSent = { room: null, text: '' };
    this.lastSentAt = -Infinity;
  }
}
