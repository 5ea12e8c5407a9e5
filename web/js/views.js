// views.js: what the page shows, as plain state: the rooms it is in and its
// private conversations (one per other nick), which one is on screen, and
// for each its unread count, whether the reader's nick was mentioned there,
// its draft (the text box) and where it was scrolled to. Also the slash
// commands the page itself handles (/join, /part, /msg). No DOM, no socket.

import { LOBBY, roomKey, nickKey, validRoomName } from './connection.js';

export const LOBBY_KEY = 'room:' + roomKey(LOBBY);
// At most this many private conversations are listed (and remembered).
export const PRIVATE_VIEWS_MAX = 50;

export const roomViewKey = (name) => 'room:' + roomKey(name);
export const privateViewKey = (nick) => 'private:' + nickKey(nick);

// The characters of a nick, and of the words a nick is looked for among.
const WORD_RE = /[\p{L}\p{M}\p{N}_.-]+/gu;
// A word's leading and trailing '.' and '-' are punctuation ("bob." "--bob").
const EDGE_PUNCT_RE = /^[.-]+|[.-]+$/gu;

/*
 * True if text mentions nick as a word of its own, case aside: "Bob, look"
 * and "@bob" mention bob; "bobby", "bob_2" and "bob.smith" do not.
 */
export function mentions(text, nick) {
  if (typeof nick !== 'string' || nick === '') return false;
  const want = nickKey(nick);
  for (const m of String(text ?? '').matchAll(WORD_RE)) {
    const word = nickKey(m[0]);
    if (word === want || word.replace(EDGE_PUNCT_RE, '') === want) return true;
  }
  return false;
}

/*
 * The commands the page handles itself, or null for anything else (said in
 * the room as typed): {kind: 'join', room}, {kind: 'part', room} (room null:
 * the one on screen), {kind: 'msg', nick, text} (nick null: none given).
 * A room named without '#' gets one.
 */
export function pageCommand(text) {
  const m = /^\/(join|j|part|msg|query)(?:[ \t]+([\s\S]*))?$/i.exec(String(text));
  if (!m) return null;
  const verb = m[1].toLowerCase();
  const rest = (m[2] ?? '').replace(/^\s+/u, '');
  const word = /^\S*/u.exec(rest)[0];
  switch (verb) {
    case 'join':
    case 'j':
      return { kind: 'join', room: word === '' ? null : word.startsWith('#') ? word : '#' + word };
    case 'part':
      return { kind: 'part', room: word === '' ? null : word.startsWith('#') ? word : '#' + word };
    default:
      return { kind: 'msg', nick: word === '' ? null : word, text: rest.slice(word.length).replace(/^[ \t]/u, '') };
  }
}

function newView(kind, name) {
  return {
    key: kind === 'room' ? roomViewKey(name) : privateViewKey(name),
    kind, // 'room' or 'private'
    name, // the room's name or the other nick, as last spelled
    unread: 0,
    mention: false,
    draft: '',
    scrollTop: 0,
    stuck: true, // follows new lines (scrolled to the bottom)
    newBelow: false, // lines came while scrolled up
    people: new Map(), // rooms: pid -> {pid, nick, via, typing}
    count: 0, // rooms: participants_count from the gateway
    landAtMark: false, // rooms: opens at its "new messages" line (reads.js)
  };
}

export class Views {
  constructor() {
    this.map = new Map();
    this.activeKey = LOBBY_KEY;
    this.map.set(LOBBY_KEY, newView('room', LOBBY));
  }

  get(key) {
    return this.map.get(key);
  }

  get active() {
    return this.map.get(this.activeKey);
  }

  room(name) {
    return this.map.get(roomViewKey(name));
  }

  /* The view of a room, made if new. */
  addRoom(name) {
    const key = roomViewKey(name);
    let v = this.map.get(key);
    if (!v) {
      v = newView('room', name);
      this.map.set(key, v);
    }
    return v;
  }

  /* The conversation with nick, made if new (the oldest goes past the limit). */
  addPrivate(nick) {
    const key = privateViewKey(nick);
    let v = this.map.get(key);
    if (!v) {
      const privates = this.privates();
      if (privates.length >= PRIVATE_VIEWS_MAX) {
        const oldest = privates.find((p) => p.key !== this.activeKey);
        if (oldest) this.map.delete(oldest.key);
      }
      v = newView('private', nick);
      this.map.set(key, v);
    }
    v.name = nick;
    return v;
  }

  /*
   * The other person of a private conversation changed nick: the
   * conversation with oldNick is now the one with newNick (kept under its new
   * key, on screen if it was). When there is already one with newNick, that
   * one stays and the old one goes. Returns {view, from} (from: the old key)
   * or null when there is no conversation with oldNick.
   */
  renamePrivate(oldNick, newNick) {
    const from = privateViewKey(oldNick);
    const to = privateViewKey(newNick);
    const v = this.map.get(from);
    if (!v || v.kind !== 'private') return null;
    if (from === to) {
      v.name = newNick;
      return { view: v, from };
    }
    const there = this.map.get(to);
    if (there) {
      this.map.delete(from);
      if (this.activeKey === from) this.activeKey = to;
      if (!there.draft) there.draft = v.draft;
      there.unread += v.unread;
      return { view: there, from };
    }
    // Rebuilt in the same place of the list (its order is the map's).
    const entries = [...this.map.entries()].map(([k, x]) => (k === from ? [to, x] : [k, x]));
    this.map = new Map(entries);
    v.key = to;
    v.name = newNick;
    if (this.activeKey === from) this.activeKey = to;
    return { view: v, from };
  }

  /* Forgets a view (never #lobby); the lobby is shown if it was on screen. */
  remove(key) {
    if (key === LOBBY_KEY || !this.map.has(key)) return false;
    this.map.delete(key);
    if (this.activeKey === key) this.activeKey = LOBBY_KEY;
    return true;
  }

  rooms() {
    return [...this.map.values()].filter((v) => v.kind === 'room');
  }

  privates() {
    return [...this.map.values()].filter((v) => v.kind === 'private');
  }

  /*
   * Puts another view on screen. `leaving` is what the screen shows of the
   * current one ({draft, scrollTop, stuck}), kept for when it comes back.
   * Returns the view now on screen (its unread count and mention cleared),
   * or null if there is no such view.
   */
  switchTo(key, leaving = {}) {
    const next = this.map.get(key);
    if (!next) return null;
    const cur = this.active;
    if (cur && cur !== next) {
      if (typeof leaving.draft === 'string') cur.draft = leaving.draft;
      if (typeof leaving.scrollTop === 'number') cur.scrollTop = leaving.scrollTop;
      if (typeof leaving.stuck === 'boolean') cur.stuck = leaving.stuck;
    }
    this.activeKey = key;
    next.unread = 0;
    next.mention = false;
    return next;
  }

  /*
   * Counts a message that reached a view: unread (and a mention of myNick,
   * in a room) unless it is on screen, is the reader's own, or was seen
   * before. Returns true if the view's counts changed.
   */
  countMessage(key, { mine = false, unseen = true, text = '', myNick = null } = {}) {
    const v = this.map.get(key);
    if (!v || mine || !unseen || key === this.activeKey) return false;
    v.unread++;
    if (v.kind === 'room' && mentions(text, myNick)) v.mention = true;
    return true;
  }

  /* Unread messages and mentions outside the view on screen. */
  totals() {
    let unread = 0;
    let mention = false;
    for (const v of this.map.values()) {
      unread += v.unread;
      mention = mention || v.mention || (v.kind === 'private' && v.unread > 0);
    }
    return { unread, mention };
  }

  /* What is kept across a reload (drafts and scroll positions are not). */
  serialize() {
    const active = this.active;
    return {
      active: active ? { kind: active.kind, name: active.name } : null,
      roomViews: this.rooms().map((v) => ({ room: v.name, unread: v.unread, mention: v.mention })),
      privateViews: this.privates().map((v) => ({ nick: v.name, unread: v.unread })),
    };
  }

  /* Takes back what serialize() gave (as stored: checked again). */
  restore(saved) {
    if (!saved) return;
    const count = (n) => (Number.isSafeInteger(n) && n > 0 ? n : 0);
    for (const s of saved.roomViews ?? []) {
      if (!validRoomName(s.room)) continue;
      const v = this.addRoom(s.room);
      v.name = s.room;
      v.unread = count(s.unread);
      v.mention = s.mention === true;
    }
    for (const s of saved.privateViews ?? []) {
      if (typeof s.nick !== 'string' || s.nick === '') continue;
      this.addPrivate(s.nick).unread = count(s.unread);
    }
    const a = saved.active;
    if (a && typeof a.name === 'string') {
      const key = a.kind === 'private' ? privateViewKey(a.name) : roomViewKey(a.name);
      if (this.map.has(key)) this.switchTo(key);
    }
  }
}
