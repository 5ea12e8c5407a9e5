// typing.js: sends the unfinished text as `typing`, at most 4 times a second.
//
// The last state always gets out: a change inside the quiet period is sent
// when the period ends, so others never keep seeing a stale draft. The empty
// text ("stopped", sent after a line goes out or the box is cleared) follows
// the same rule, so there are never more than 4 updates a second.

export const TYPING_INTERVAL_MS = 250;

export class TypingSender {
  /* send(text) delivers one update and returns false if it could not. */
  constructor(send, intervalMs = TYPING_INTERVAL_MS) {
    this.sendFn = send;
    this.interval = intervalMs;
    this.lastSentAt = -Infinity;
    this.lastSent = '';
    this.pending = null;
    this.timer = null;
  }

  /* The draft is now `text`. */
  update(text) {
    this.pending = text;
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
    const text = this.pending;
    this.pending = null;
    if (text === null || text === this.lastSent) return;
    if (this.sendFn(text)) {
      this.lastSent = text;
      this.lastSentAt = performance.now();
    }
  }

  /* After a reconnect the gateway knows no draft of ours. */
  reset() {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
    this.lastSent = '';
    this.lastSentAt = -Infinity;
  }
}
