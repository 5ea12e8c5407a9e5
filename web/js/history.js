// history.js: plain helpers for a room's earlier events and its search, with
// no DOM and no socket: which events of a history answer are usable, the
// day an event belongs to and how that day is named ("Today", "Yesterday",
// a date), what a search asks for, and where its words are in a text (for
// highlighting; the gateway decides what matches, this only finds it again).

// Events asked for per scrollback request (the gateway allows 1..500).
export const HISTORY_PAGE = 100;
// Events asked for on each side of a search result opened in context.
export const CONTEXT_EACH_SIDE = 25;
// Results asked for per search (the gateway allows 1..100).
export const SEARCH_LIMIT = 50;
// A search's words, in UTF-8 bytes (the gateway's bound).
export const QUERY_BYTES_MAX = 256;

const ROOM_EVENT_TYPES = new Set(['message', 'join', 'leave', 'nick']);

const isId = (n) => Number.isSafeInteger(n) && n > 0;

/*
 * Whether a room event only says where a person is, and is no line of the
 * conversation: an account's last connection went (a leave whose reason is
 * "away": it stays a member) or one is back (a join with back), or a
 * connection of a person who is in the room through another gateway came
 * or went (tab).
 */
export function presenceOnly(ev) {
  if ((ev.type === 'join' || ev.type === 'leave') && ev.tab === true) return true;
  return (ev.type === 'leave' && ev.reason === 'away') || (ev.type === 'join' && ev.back === true);
}

/*
 * The room events of a history or search answer that the page can show:
 * objects of a room event type with an id, each id once, oldest first
 * (whatever order they came in). Anything else is left out.
 */
export function roomEvents(list) {
  if (!Array.isArray(list)) return [];
  const byId = new Map();
  for (const ev of list) {
    if (!ev || typeof ev !== 'object' || !ROOM_EVENT_TYPES.has(ev.type) || !isId(ev.id)) continue;
    if (ev.private === true || presenceOnly(ev)) continue;
    if (!byId.has(ev.id)) byId.set(ev.id, ev);
  }
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

function pad2(n) {
  return n < 10 ? '0' + n : String(n);
}

/* The local day of a time (ms since the Unix epoch) as "YYYY-MM-DD", or '' if it is not a time. */
export function dayKey(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '';
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
}

/*
 * How a day is named for the reader at `now`: "Today", "Yesterday", or the
 * date in the reader's language (with the weekday; the year only when it is
 * not this year's). Yesterday is the calendar day before, whatever the
 * length of the day in between (summer time).
 */
export function dayLabel(ms, now = Date.now()) {
  const key = dayKey(ms);
  if (key === '') return '';
  const today = new Date(now);
  if (key === dayKey(now)) return 'Today';
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1, 12);
  if (key === dayKey(yesterday.getTime())) return 'Yesterday';
  const d = new Date(ms);
  const opts = { weekday: 'long', day: 'numeric', month: 'long' };
  if (d.getFullYear() !== today.getFullYear()) opts.year = 'numeric';
  return d.toLocaleDateString(undefined, opts);
}

/* When an event was, for a search result: "Today 14:02", "Yesterday 09:15", or its date and time. */
export function whenLabel(ms, now = Date.now()) {
  const day = dayLabel(ms, now);
  if (day === '') return '';
  const d = new Date(ms);
  return `${day} ${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

// A word, as a full-text search cuts a text into words: letters and digits
// (with their combining marks).
const TOKEN_RE = /[\p{L}\p{N}][\p{L}\p{M}\p{N}]*/gu;

/* A word as compared: case and accents aside. */
function fold(word) {
  return word.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

function tokens(text) {
  return [...String(text).matchAll(TOKEN_RE)].map((m) => ({
    start: m.index, end: m.index + m[0].length, word: fold(m[0]),
  }));
}

// The gateway uses the first SEARCH_TERMS_MAX terms of a search; a prefix
// (stag*) needs PREFIX_MIN_CHARS characters before its *, and a search has
// at most PREFIX_TERMS_MAX: past either, the word is searched whole.
export const SEARCH_TERMS_MAX = 16;
export const PREFIX_MIN_CHARS = 3;
export const PREFIX_TERMS_MAX = 2;

/*
 * What a search asks for, as the gateway reads it: a list of terms, each
 * {words, prefix, whole}: the words one after the other (a bare word is a
 * term of one; "words in double quotes" and a word with punctuation inside,
 * like e-mail, are terms of several), the last of them a prefix if the term
 * ends in * (stag* is every word that starts with stag). `whole` is the
 * text of a word typed as a prefix and searched whole (too short, or one
 * prefix too many), else null. Words are split at spaces; an unclosed quote
 * runs to the end.
 */
export function searchTerms(q) {
  const terms = [];
  let prefixes = 0;
  const add = (chunk, starred) => {
    if (terms.length >= SEARCH_TERMS_MAX) return;
    const words = tokens(chunk).map((t) => t.word);
    if (words.length === 0) return;
    let prefix = false;
    let whole = null;
    if (starred) {
      const stem = chunk.replace(/\*+$/u, '');
      if ([...stem].length >= PREFIX_MIN_CHARS && prefixes < PREFIX_TERMS_MAX) {
        prefix = true;
        prefixes++;
      } else {
        whole = stem;
      }
    }
    terms.push({ words, prefix, whole });
  };
  const parts = String(q ?? '').split('"');
  parts.forEach((part, i) => {
    // Odd parts were between quotes.
    if (i % 2 === 1) {
      add(part, false);
      return;
    }
    for (const chunk of part.split(' ')) {
      if (chunk !== '') add(chunk, /\*$/u.test(chunk));
    }
  });
  return terms;
}

/*
 * Where the terms are in text: a list of [start, end) character ranges,
 * sorted and merged, to be marked. A term of several words is marked from
 * its first word to its last; a prefix marks the whole word it starts.
 */
export function matchRanges(text, terms) {
  const toks = tokens(text);
  const ranges = [];
  for (const term of terms ?? []) {
    const n = term.words.length;
    for (let i = 0; i + n <= toks.length; i++) {
      let ok = true;
      for (let k = 0; k < n && ok; k++) {
        const w = toks[i + k].word;
        ok = term.prefix && k === n - 1 ? w.startsWith(term.words[k]) : w === term.words[k];
      }
      if (ok) ranges.push([toks[i].start, toks[i + n - 1].end]);
    }
  }
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged = [];
  for (const r of ranges) {
    const top = merged.at(-1);
    if (top && r[0] <= top[1]) top[1] = Math.max(top[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

/* Why a search cannot be sent as typed ('' if it can). */
export function queryProblem(q) {
  const text = String(q ?? '').trim();
  if (text === '') return 'Type words to search for.';
  if (new TextEncoder().encode(text).length > QUERY_BYTES_MAX) {
    return `A search is at most ${QUERY_BYTES_MAX} bytes: use fewer words.`;
  }
  if (tokens(text).length === 0) return 'A search needs at least one letter or digit.';
  return '';
}
