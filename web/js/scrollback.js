// scrollback.js: a room's earlier lines, asked for as the reader scrolls up
// to the top of its conversation (and, in a conversation opened around a
// search result, its later lines too as the reader scrolls down), and the
// day lines between lines of different days.
//
// The lines of a conversation are <li class="line"> in an <ol>, the room
// events among them with their id (data-id); older events go in above the
// oldest shown, newer ones below the newest shown, each id once. A gap a
// resumed welcome left (its notice is marked .gap-mark) is filled first,
// from below, when the reader comes near it; and after a restarted gateway
// (its notice .epoch-mark) older events go in below the notice. The line
// the reader looks at stays where it is on screen while lines go in above
// it. One request per end of a conversation is on its way at a time, and a
// conversation that reached its start asks no more.

import { HISTORY_PAGE, CONTEXT_EACH_SIDE, dayKey, dayLabel, roomEvents } from './history.js';
import { renderDay, renderEdge } from './render.js';

// How near an end, in pixels, the reader must be for more lines to be asked for.
export const NEAR_END_PX = 300;
// Lines (and the day lines and marks between them) one conversation holds:
// scrolling back stops there, and search finds what is earlier.
export const SCROLLBACK_LINES_MAX = 5000;
// A request refused as one too many at once (429) is tried again this many
// times, after 0.5, 1 and 2 s.
const BUSY_RETRIES = 3;
const BUSY_RETRY_MS = 500;

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/* The time (ms since the epoch) a line shows, or NaN. */
function lineTime(li) {
  const t = li.querySelector(':scope > time.when');
  return t && t.dateTime ? Date.parse(t.dateTime) : NaN;
}

/* Noon of a day key ("YYYY-MM-DD"), local time. */
function dayNoon(key) {
  const [y, m, d] = key.split('-').map(Number);
  return new Date(y, m - 1, d, 12).getTime();
}

const isLine = (el) => el.classList.contains('line');

/* The first and last room event shown in a log (an <li> with an id), or null. */
export function firstIdLine(log) {
  return log.querySelector(':scope > li[data-id]');
}

/* The first room event below el, or null. */
function idLineAfter(el) {
  let n = el ? el.nextElementSibling : null;
  while (n && n.dataset.id === undefined) n = n.nextElementSibling;
  return n;
}

/* The last room event above el, or null. */
function idLineBefore(el) {
  let n = el.previousElementSibling;
  while (n && n.dataset.id === undefined) n = n.previousElementSibling;
  return n;
}

export function lastIdLine(log) {
  const all = log.querySelectorAll(':scope > li[data-id]');
  return all.length > 0 ? all[all.length - 1] : null;
}

/*
 * Puts a day line before every line whose day differs from the line above
 * it (and before the first line), after removing the ones there were.
 */
export function markDays(log, now = Date.now()) {
  for (const d of log.querySelectorAll(':scope > li.day')) d.remove();
  let last = '';
  for (const li of log.querySelectorAll(':scope > li.line')) {
    const key = dayKey(lineTime(li));
    if (key === '' || key === last) continue;
    li.before(renderDay(key, dayLabel(dayNoon(key), now)));
    last = key;
  }
}

/* A line just appended to a log gets a day line above it if it starts a day. */
export function markDayOfLast(log, li, now = Date.now()) {
  const key = dayKey(lineTime(li));
  if (key === '') return;
  let prev = li.previousElementSibling;
  while (prev && !(isLine(prev) && dayKey(lineTime(prev)) !== '')) prev = prev.previousElementSibling;
  if (prev && dayKey(lineTime(prev)) === key) return;
  li.before(renderDay(key, dayLabel(dayNoon(key), now)));
}

/* Names every day line of a log again ("Today" becomes "Yesterday" at midnight). */
export function relabelDays(log, now = Date.now()) {
  for (const d of log.querySelectorAll(':scope > li.day')) {
    const label = dayLabel(dayNoon(d.dataset.day), now);
    const h = d.firstElementChild;
    if (h && h.textContent !== label) h.textContent = label;
  }
}

/*
 * Runs mutate(), which changes the log above what the reader looks at, and
 * scrolls so that the first line on screen stays where it was.
 */
export function keepInPlace(log, mutate) {
  if (log.hidden || log.clientHeight === 0) {
    mutate();
    return;
  }
  const top = log.getBoundingClientRect().top;
  let anchor = null;
  for (const li of log.querySelectorAll(':scope > li.line')) {
    if (li.getBoundingClientRect().bottom > top) {
      anchor = li;
      break;
    }
  }
  const before = anchor ? anchor.getBoundingClientRect().top : 0;
  mutate();
  if (anchor && anchor.isConnected) log.scrollTop += anchor.getBoundingClientRect().top - before;
}

/* The reader's words for why lines could not be loaded. */
function failure(e) {
  switch (e.code) {
    case 451:
      return 'the server could not read its history just now';
    case 429:
      return 'the server is busy';
    case 408:
      return 'the server did not answer';
    default:
      return `${e.message || 'refused'}${e.code ? ` (${e.code})` : ''}`;
  }
}

/*
 * new Pager({log, room, request, render, newer, canAsk, onChange, onGapLost})
 * loads a room's lines into log as the reader scrolls:
 *   request(msg)  the connection's request(): a promise of the answer
 *   render(ev)    an <li> for a room event, or null
 *   newer         also ask for later lines at the bottom (a conversation
 *                 opened in context; a live one gets its later lines live)
 *   canAsk()      whether requests may go now (connected, in the room)
 *   onChange(dir) lines went in (dir 'older' or 'newer')
 *   onGapLost(li) the gap of this notice cannot be filled: what is missing
 *                 there is no longer kept
 */
export class Pager {
  constructor({ log, room, request, render, newer = false, canAsk = () => true, onChange = () => {},
    onGapLost = () => {} }) {
    this.log = log;
    this.room = room;
    this.request = request;
    this.render = render;
    this.canAsk = canAsk;
    this.onChange = onChange;
    this.onGapLost = onGapLost;
    this.newer = newer;
    this.gen = 0;
    this.deferred = [];
    this.side = { older: this.fresh(), newer: this.fresh() };
    if (!newer) this.side.newer.ended = true;
    log.addEventListener('click', (e) => {
      const b = e.target.closest('button.edge-retry');
      if (!b) return;
      const dir = b.closest('li.edge').classList.contains('edge-top') ? 'older' : 'newer';
      this.retry(dir);
    });
  }

  fresh() {
    return { busy: false, ended: false, failed: false };
  }

  /*
   * The gap being filled: the notice of the last gap in the log and the id
   * of the last event above it (0 if none is shown), or null.
   */
  gap() {
    const marks = this.log.querySelectorAll(':scope > li.gap-mark');
    if (marks.length === 0) return null;
    const mark = marks[marks.length - 1];
    const above = idLineBefore(mark);
    return { mark, floor: above ? Number(above.dataset.id) : 0 };
  }

  /* Asks for more lines at an end (or a gap) the reader is near, if one may be asked for. */
  check() {
    const { log } = this;
    if (log.hidden || !this.canAsk()) return;
    const gap = this.gap();
    if (gap) {
      // Near the gap: on screen, or less than NEAR_END_PX off it.
      const box = log.getBoundingClientRect();
      const r = gap.mark.getBoundingClientRect();
      if (r.bottom >= box.top - NEAR_END_PX && r.top <= box.bottom + NEAR_END_PX) this.load('older');
    } else if (log.scrollTop <= NEAR_END_PX) {
      this.load('older');
    }
    if (this.newer && log.scrollHeight - log.scrollTop - log.clientHeight <= NEAR_END_PX) this.load('newer');
  }

  /* Tries an end again after a failure (its "Try again" button). */
  retry(dir) {
    this.side[dir].failed = false;
    this.load(dir);
  }

  /* A new connection: an end whose request went with the old one may ask again. */
  reconnected() {
    for (const dir of ['older', 'newer']) this.side[dir].failed = false;
  }

  /*
   * The room's ids started again (the gateway restarted with a new epoch):
   * the lines shown keep their text but lose their ids, and the older
   * lines of the new epoch go in below `mark` (the notice that says so).
   */
  reset(mark) {
    this.gen++;
    this.deferred = [];
    this.side = { older: this.fresh(), newer: this.fresh() };
    if (!this.newer) this.side.newer.ended = true;
    for (const e of this.log.querySelectorAll(':scope > li.edge')) e.remove();
    for (const li of this.log.querySelectorAll(':scope > li[data-id]')) {
      li.dataset.oldId = li.dataset.id;
      delete li.dataset.id;
    }
    // A gap of the epoch before can no longer be filled.
    for (const g of this.log.querySelectorAll(':scope > li.gap-mark')) this.lostGap(g);
    if (mark) mark.classList.add('epoch-mark');
  }

  /* The log is on screen again: answers that came while it was not go in now. */
  shown() {
    const waiting = this.deferred;
    this.deferred = [];
    for (const { dir, answer } of waiting) this.apply(dir, answer);
  }

  /* Lines left the top of the log (it holds a bounded number): the start is no longer shown. */
  trimmed() {
    this.side.older.ended = false;
    this.side.older.failed = false;
    for (const e of this.log.querySelectorAll(':scope > li.edge-top')) e.remove();
    markDays(this.log);
  }

  /*
   * Where older lines go: below the gap being filled, or below the last
   * notice of a new epoch, or at the top.
   */
  topPoint() {
    const gap = this.gap();
    if (gap) return gap.mark.nextElementSibling;
    const marks = this.log.querySelectorAll(':scope > li.epoch-mark');
    return marks.length > 0 ? marks[marks.length - 1].nextElementSibling : this.log.firstElementChild;
  }

  /* A gap that cannot be filled: its notice stays, as a notice only. */
  lostGap(mark) {
    mark.classList.remove('gap-mark');
    this.onGapLost(mark);
  }

  /*
   * Shows the mark of an end ('loading', 'start', 'failed', 'full'),
   * replacing the one there was; the start, once shown at the top, stays
   * while a gap below it is filled.
   */
  showEdge(dir, kind, text) {
    this.clearEdge(dir);
    const where = dir === 'older' ? 'top' : 'bottom';
    if (kind === 'start') {
      for (const e of this.log.querySelectorAll(`:scope > li.edge-start`)) e.remove();
    }
    const li = renderEdge(kind, where, text);
    if (dir === 'older') this.log.insertBefore(li, this.topPoint());
    else this.log.append(li);
  }

  /* Removes the mark of an end, but not the start's. */
  clearEdge(dir) {
    const where = dir === 'older' ? 'top' : 'bottom';
    for (const e of this.log.querySelectorAll(`:scope > li.edge-${where}:not(.edge-start)`)) e.remove();
  }

  /* A request, tried again a few times while the gateway says too many at once. */
  async ask(msg) {
    for (let i = 0; ; i++) {
      try {
        return await this.request(msg);
      } catch (e) {
        if (e.code !== 429 || i >= BUSY_RETRIES) throw e;
        await sleep(BUSY_RETRY_MS * 2 ** i);
      }
    }
  }

  /* Asks for the lines beyond one end (dir 'older' or 'newer'), unless it is done or busy. */
  async load(dir) {
    const s = this.side[dir];
    const gap = dir === 'older' ? this.gap() : null;
    // A gap is filled even when the start is shown already.
    if (s.busy || s.failed || (s.ended && !gap)) return;
    const { log } = this;
    if (dir === 'older' && !gap && log.childElementCount >= SCROLLBACK_LINES_MAX) {
      s.ended = true;
      keepInPlace(log, () => this.showEdge(dir, 'full',
        `This page keeps at most ${SCROLLBACK_LINES_MAX} lines of a conversation: search finds earlier ones.`));
      return;
    }
    const msg = { type: 'history', room: this.room, limit: HISTORY_PAGE };
    const edge = dir === 'older' ? (gap ? idLineAfter(gap.mark) : firstIdLine(log)) : lastIdLine(log);
    if (dir === 'older') {
      // Nothing shown yet: the newest events, which are the earliest there are to show.
      if (edge) msg.before = Number(edge.dataset.id);
    } else if (edge) {
      msg.after = Number(edge.dataset.id);
    } else {
      s.ended = true;
      return;
    }
    s.busy = true;
    const gen = this.gen;
    keepInPlace(log, () => this.showEdge(dir, 'loading',
      dir === 'older' ? 'Loading earlier messages…' : 'Loading later messages…'));
    let answer;
    try {
      answer = await this.ask(msg);
    } catch (e) {
      if (gen !== this.gen) return;
      s.busy = false;
      keepInPlace(log, () => this.clearEdge(dir));
      if (e.code === 0) return; // the connection went: the next one asks again
      if (e.code === 502) {
        // A gateway that keeps no history to ask for: a gap stays one.
        if (gap) this.lostGap(gap.mark);
        s.ended = true;
        return;
      }
      s.failed = true;
      keepInPlace(log, () => this.showEdge(dir, 'failed',
        `${dir === 'older' ? 'Earlier' : 'Later'} messages could not be loaded: ${failure(e)}.`));
      return;
    }
    if (gen !== this.gen) return;
    if (log.hidden) {
      this.deferred.push({ dir, answer });
      return;
    }
    this.apply(dir, answer);
  }

  /*
   * Fills an empty log (one with newer set) with the events around id:
   * up to CONTEXT_EACH_SIDE at and before it, as many after it. Resolves
   * to the line of id (null if it is not among them, or if the log was
   * reset meanwhile); fails with the RequestError of either request.
   */
  async around(id) {
    const gen = this.gen;
    const older = this.side.older;
    const newer = this.side.newer;
    older.busy = true;
    newer.busy = true;
    this.showEdge('older', 'loading', 'Loading the messages around it…');
    let answers;
    try {
      answers = await Promise.all([
        this.ask({ type: 'history', room: this.room, before: id + 1, limit: CONTEXT_EACH_SIDE }),
        this.ask({ type: 'history', room: this.room, after: id, limit: CONTEXT_EACH_SIDE }),
      ]);
    } catch (e) {
      if (gen === this.gen) {
        older.busy = false;
        newer.busy = false;
        this.clearEdge('older');
      }
      throw e;
    }
    if (gen !== this.gen) return null;
    this.apply('older', answers[0]);
    this.apply('newer', answers[1]);
    return this.log.querySelector(`:scope > li[data-id="${id}"]`);
  }

  /* Puts an answer's events in the log, at its end dir. */
  apply(dir, answer) {
    const s = this.side[dir];
    s.busy = false;
    const events = roomEvents(answer.events);
    const { log } = this;
    let added = 0;
    keepInPlace(log, () => {
      this.clearEdge(dir);
      let gap = null;
      if (dir === 'older') {
        gap = this.gap();
        const first = gap ? idLineAfter(gap.mark) : firstIdLine(log);
        const firstId = first ? Number(first.dataset.id) : Infinity;
        const floor = gap ? gap.floor : 0;
        const at = this.topPoint();
        for (const ev of events) {
          if (ev.id >= firstId || ev.id <= floor) continue;
          const li = this.render(ev);
          if (!li) continue;
          log.insertBefore(li, at);
          added++;
        }
      } else {
        const last = lastIdLine(log);
        const lastId = last ? Number(last.dataset.id) : 0;
        for (const ev of events) {
          if (ev.id <= lastId) continue;
          const li = this.render(ev);
          if (!li) continue;
          log.append(li);
          added++;
        }
      }
      // An answer that brought nothing new ends the scrolling there, even
      // if it says there is more: asking again would get the same.
      const done = answer.more !== true || added === 0;
      if (gap) {
        const below = idLineAfter(gap.mark);
        const reached = below !== null && Number(below.dataset.id) === gap.floor + 1;
        if (reached || (done && gap.floor === 0)) {
          // Nothing is missing there after all: the notice goes.
          gap.mark.remove();
          if (done && gap.floor === 0 && !this.gap()) {
            s.ended = true;
            this.showEdge(dir, 'start', `This is the start of ${this.room}.`);
          }
        } else if (done) {
          // What is missing is no longer kept: the notice stays, where it is missing.
          this.lostGap(gap.mark);
        }
      } else if (done) {
        s.ended = true;
        if (dir === 'older') this.showEdge(dir, 'start', `This is the start of ${this.room}.`);
      }
      markDays(log);
    });
    if (added > 0) this.onChange(dir);
    // A short answer may leave the reader near the end still: the next lines follow.
    setTimeout(() => this.check(), 0);
  }
}
