// search.js: the search box of the room on screen. Enter searches the
// room's messages (the gateway's full-text search: words that must all be
// there, prefixes like stag*, "phrases"); the results, newest first, take
// the conversation's place, with the words found marked. A result opens in
// context: the messages around it, the result marked, more as the reader
// scrolls either way, and "Back to latest" for the live room. Escape steps
// back: from a result to the results, from the results to the room.
//
// Text from others reaches the page only through render.js, as text.

import {
  SEARCH_LIMIT, PREFIX_MIN_CHARS, PREFIX_TERMS_MAX, searchTerms, matchRanges, queryProblem, whenLabel, roomEvents,
} from './history.js';
import { renderResult, createLog } from './render.js';
import { Pager } from './scrollback.js';

// The reader's words for a search the gateway refused or could not answer.
function searchFailure(e) {
  switch (e.code) {
    case 504:
    case 502:
      return 'Search is not available on this server.';
    case 451:
      return 'The search failed on the server. Try again later.';
    case 429:
      return 'Too many requests at once. Try again in a moment.';
    case 408:
      return 'The server did not answer the search. Try again.';
    case 0:
      return 'Not connected: search again when the connection is back.';
    case 501:
      return `The server could not run this search: ${e.message}.`;
    default:
      return `The search failed: ${e.message}${e.code ? ` (${e.code})` : ''}.`;
  }
}

function quoted(q) {
  return `“${q}”`;
}

/*
 * new Search({ui, request, render, canAsk, onLeaveLive, onLive}):
 *   ui        the page's elements (see main.js): searchToggle, searchForm,
 *             searchInput, searchClose, searchStatus, searchPanel,
 *             searchResults, logs, jump, contextBar, contextText,
 *             contextResults, contextLatest, conversation
 *   request   the connection's request()
 *   render    an <li> for a room event (as in the live conversation)
 *   canAsk    whether requests may go now
 *   onLeaveLive() the live room is about to leave the screen
 *   onLive(latest) the live room is on screen again (latest: at its end,
 *             with the focus in the text box: "Back to latest")
 */
export class Search {
  constructor({ ui, request, render, canAsk, onLeaveLive, onLive }) {
    this.ui = ui;
    this.request = request;
    this.render = render;
    this.canAsk = canAsk;
    this.onLeaveLive = onLeaveLive;
    this.onLive = onLive;
    this.room = null;
    this.mode = 'closed'; // 'closed', 'open' (the box only), 'results', 'context'
    this.seq = 0; // the latest search sent; answers to older ones are dropped
    this.busy = false;
    this.unavailable = false; // the gateway said it offers no search
    this.queued = null; // a search typed while one was on its way
    this.terms = [];
    this.opened = null; // the result button shown in context
    this.found = new Map(); // id -> the message of each result shown
    this.context = null; // {log, pager}
    this.wire();
  }

  wire() {
    const { ui } = this;
    ui.searchToggle.addEventListener('click', () => {
      if (this.mode === 'closed') this.open();
      else this.close();
    });
    ui.searchClose.addEventListener('click', () => this.close());
    ui.searchForm.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    ui.searchInput.addEventListener('input', () => {
      if (this.ui.searchStatus.classList.contains('problem')) this.status('');
    });
    ui.searchResults.addEventListener('click', (e) => {
      const b = e.target.closest('button.result-open');
      const li = b && b.closest('li.result');
      if (li) this.openResult(Number(li.dataset.id), b);
    });
    ui.contextResults.addEventListener('click', () => this.backToResults());
    ui.contextLatest.addEventListener('click', () => this.close({ latest: true }));
    // Escape steps back one level, from anywhere in the search's parts.
    ui.conversation.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape' || this.mode === 'closed' || e.isComposing) return;
      const inSearch = ui.searchForm.contains(e.target) || ui.searchPanel.contains(e.target) ||
        ui.contextBar.contains(e.target) || (this.context && this.context.log.contains(e.target));
      if (!inSearch) return;
      e.preventDefault();
      if (this.mode === 'context') this.backToResults();
      else this.close();
    });
  }

  /* The room on screen (null: a private conversation, which has no search). */
  setRoom(name) {
    const key = (n) => (n === null ? null : n.toLowerCase());
    if (key(name) !== key(this.room)) this.close({ focus: false });
    this.room = name;
    const label = name ? `Search ${name}` : 'Search';
    this.ui.searchInput.placeholder = label;
    this.ui.searchInput.setAttribute('aria-label', label);
    this.ui.searchToggle.hidden = name === null;
  }

  get isOpen() {
    return this.mode !== 'closed';
  }

  /* The search box opens (or gets the focus again). */
  open() {
    if (!this.room) return;
    if (this.mode === 'closed') {
      this.mode = 'open';
      this.ui.searchForm.hidden = false;
      this.ui.searchToggle.setAttribute('aria-expanded', 'true');
      if (this.unavailable) this.status(searchFailure({ code: 504 }), true);
      else this.status('');
    }
    this.ui.searchInput.focus();
    this.ui.searchInput.select();
  }

  /*
   * Closes the search and shows the live room: as it was, with the focus on
   * the search button, or at its end with the focus in the text box
   * (latest: "Back to latest").
   */
  close({ focus = true, latest = false } = {}) {
    if (this.mode === 'closed') return;
    this.seq++;
    this.queued = null;
    this.dropContext();
    this.mode = 'closed';
    this.ui.searchForm.hidden = true;
    this.ui.searchPanel.hidden = true;
    this.ui.searchResults.replaceChildren();
    this.found = new Map();
    this.ui.searchToggle.setAttribute('aria-expanded', 'false');
    this.status('');
    this.ui.logs.hidden = false;
    this.onLive(latest);
    if (focus && !latest) this.ui.searchToggle.focus();
  }

  status(text, problem = false) {
    this.ui.searchStatus.textContent = text;
    this.ui.searchStatus.classList.toggle('problem', problem);
  }

  /* The box stays open, the live room back on screen. */
  showLive() {
    this.dropContext();
    this.mode = 'open';
    this.ui.searchPanel.hidden = true;
    this.ui.searchResults.replaceChildren();
    if (this.ui.logs.hidden) {
      this.ui.logs.hidden = false;
      this.onLive(false);
    }
  }

  /* Shows the results in the conversation's place. */
  showResults() {
    this.dropContext();
    this.mode = 'results';
    if (!this.ui.logs.hidden) this.onLeaveLive();
    this.ui.logs.hidden = true;
    this.ui.jump.hidden = true;
    this.ui.searchPanel.hidden = false;
  }

  submit() {
    const q = this.ui.searchInput.value.trim();
    const problem = queryProblem(q);
    if (problem) {
      this.status(problem, true);
      return;
    }
    if (this.busy) {
      // One search on its way at a time: the latest typed goes next.
      this.queued = q;
      this.status(`Searching ${this.room} for ${quoted(q)}…`);
      return;
    }
    this.send(q);
  }

  async send(q) {
    const seq = ++this.seq;
    const room = this.room;
    this.busy = true;
    this.showResults();
    this.ui.searchResults.replaceChildren();
    this.status(`Searching ${room} for ${quoted(q)}…`);
    let answer = null;
    let failed = null;
    try {
      if (!this.canAsk()) throw Object.assign(new Error('not connected'), { code: 0 });
      answer = await this.request({ type: 'search', room, q, limit: SEARCH_LIMIT });
    } catch (e) {
      failed = e;
    }
    this.busy = false;
    if (this.queued !== null && this.mode !== 'closed') {
      const next = this.queued;
      this.queued = null;
      this.send(next);
      return;
    }
    if (seq !== this.seq || this.mode === 'closed') return;
    if (failed) {
      // Nothing to show in the room's place: the room stays on screen, the reason in the box.
      this.unavailable = failed.code === 504 || failed.code === 502;
      this.showLive();
      this.status(searchFailure(failed), true);
      return;
    }
    this.unavailable = false;
    this.showAnswer(q, answer);
  }

  showAnswer(q, answer) {
    this.terms = searchTerms(q);
    // The gateway gives the newest first; so are they shown.
    const events = roomEvents(answer.events).filter((ev) => ev.type === 'message').reverse();
    const now = Date.now();
    this.found = new Map(events.map((ev) => [ev.id, ev]));
    const items = events.map((ev) => renderResult(ev, matchRanges(String(ev.text ?? ''), this.terms), whenLabel(ev.time, now)));
    this.ui.searchResults.replaceChildren(...items);
    this.ui.searchPanel.scrollTop = 0;
    const n = events.length;
    let text;
    if (n === 0) text = `No messages in ${this.room} match ${quoted(q)}.`;
    else if (n === 1) text = `1 message in ${this.room} matches ${quoted(q)}.`;
    else text = `${n} messages in ${this.room} match ${quoted(q)}, newest first.`;
    if (answer.more === true) text += ` These are the ${n} newest: add words to find older ones.`;
    // Words typed as prefixes that the gateway searched whole, said so.
    const whole = this.terms.filter((t) => t.whole !== null).map((t) => quoted(t.whole));
    if (whole.length > 0) {
      text += ` ${whole.join(' and ')} ${whole.length === 1 ? 'was' : 'were'} searched as ` +
        `${whole.length === 1 ? 'a whole word' : 'whole words'}: a prefix needs ${PREFIX_MIN_CHARS} characters ` +
        `before its *, and a search takes ${PREFIX_TERMS_MAX} at most.`;
    }
    this.status(text);
  }

  /* Opens the result with this id in context. */
  async openResult(id, button) {
    if (!Number.isSafeInteger(id) || id <= 0) return;
    this.dropContext();
    this.mode = 'context';
    this.opened = button;
    const ui = this.ui;
    ui.searchPanel.hidden = true;
    ui.logs.hidden = true;
    ui.jump.hidden = true;
    const log = createLog(`Messages around a search result in ${this.room}`);
    log.id = 'context-log';
    log.classList.add('context-log');
    // Lines read back, not said now: nothing to announce as it fills.
    log.setAttribute('aria-live', 'off');
    ui.logs.after(log);
    const pager = new Pager({
      log, room: this.room, request: this.request, render: this.render, newer: true, canAsk: this.canAsk,
    });
    log.addEventListener('scroll', () => pager.check());
    this.context = { log, pager };
    const ev = this.found.get(id);
    ui.contextText.textContent = ev
      ? `Around ${String(ev.nick ?? '?')}'s message of ${whenLabel(ev.time)}`
      : 'Around a search result';
    ui.contextBar.hidden = false;
    let hit;
    try {
      hit = await pager.around(id);
    } catch (e) {
      if (this.context && this.context.pager === pager) {
        ui.contextText.textContent = `The messages around it could not be loaded: ${searchFailure(e)}`;
      }
      return;
    }
    if (!this.context || this.context.pager !== pager) return;
    if (!hit) {
      ui.contextText.textContent = 'This message is no longer kept.';
      return;
    }
    hit.classList.add('hit');
    hit.tabIndex = -1;
    hit.focus({ preventScroll: true });
    // The result in the middle of the pane, the lines around it above and below.
    log.scrollTop += hit.getBoundingClientRect().top - log.getBoundingClientRect().top -
      (log.clientHeight - hit.offsetHeight) / 2;
    pager.check();
  }

  /* Back from a result in context to the list of results. */
  backToResults() {
    if (this.mode !== 'context') return;
    const opened = this.opened;
    this.showResults();
    if (opened && opened.isConnected) opened.focus();
    else this.ui.searchInput.focus();
  }

  dropContext() {
    if (!this.context) return;
    this.context.pager.gen++;
    this.context.log.remove();
    this.context = null;
    this.ui.contextBar.hidden = true;
  }

  /* The conversation opened in context, if one is on screen (to name its days again at midnight). */
  get contextLog() {
    return this.context ? this.context.log : null;
  }
}
