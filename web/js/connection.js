// connection.js: the page's WebSocket to the gateway (subprotocol wintalk.v2).
//
// It says hello with every room the page wants to be in and the last event
// id it saw in each (and the epoch those ids belong to, the resume token of
// its identity and the last private message id), waits longer after each
// failed try (with jitter), and hands every event to the page exactly once:
// the gateway may send a JSON array of events in one message, and a resumed
// history may overlap what was already shown, so events are unpacked and
// deduplicated here, by id within each room and by private id for private
// messages. Ids start again in a new epoch (a restarted gateway): then the
// ids seen are forgotten. Requests with one answer each (a room's earlier
// history, a search) are matched to their answer by ref, and fail when the
// connection goes. It knows nothing of the DOM; everything but the socket is
// plain state that receive() and helloMessage() work on.

export const SUBPROTOCOL = 'wintalk.v2';
export const LOBBY = '#lobby';

const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 30000;
// How many event ids are remembered per room (and for private messages) to
// drop duplicates; older ones are dropped by comparison with the oldest
// remembered id.
const SEEN_IDS_MAX = 2000;
// Events that arrive before the welcome wait for it; at most this many.
const EARLY_MAX = 2000;
// A page loaded afresh (a reload) has no lines on screen: it asks for this
// many events before the last one it saw in each room, so the reader sees
// what was said before as well as everything missed.
export const RELOAD_CONTEXT_EVENTS = 100;
// Requests waiting for their answer (history, search) at once (the gateway
// takes 4; more get 429), and how long one waits before it is given up.
export const REQUESTS_MAX = 4;
const REQUEST_TIMEOUT_MS = 20000;
// The answer types of requests, each the type of its request.
const ANSWER_TYPES = new Set(['history', 'search']);
// A room name: '#' and 1 to 32 ASCII letters, digits, '-', '_' or '.'.
const ROOM_RE = /^#[A-Za-z0-9_.-]{1,32}$/;

/* True for a room name the gateway accepts. */
export function validRoomName(name) {
  return typeof name === 'string' && ROOM_RE.test(name);
}

/* Rooms are one room whatever the case of their ASCII letters. */
export function roomKey(name) {
  return String(name).replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/* Nicks are the same name after NFC and case folding (near enough in JS). */
export function nickKey(nick) {
  return String(nick).normalize('NFC').toLowerCase();
}

/* The gateway's WebSocket address: same host and port as the page. */
export function gatewayUrl(loc = window.location) {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}/`;
}

/* The ids of one stream of events (a room, or private messages) seen so far. */
export class SeenIds {
  constructor() {
    this.clear();
  }

  clear() {
    this.set = new Set();
    this.order = [];
    this.forgottenBelow = undefined;
    this.last = 0;
  }

  /* True the first time an id is seen; false for a duplicate. */
  first(id) {
    if (typeof id !== 'number') return true;
    if (this.set.has(id)) return false;
    if (this.order.length >= SEEN_IDS_MAX) {
      // Ids increase, so anything at or below the oldest forgotten one is old news.
      const old = this.order.shift();
      this.set.delete(old);
      this.forgottenBelow = Math.max(this.forgottenBelow ?? 0, old);
    }
    if (this.forgottenBelow !== undefined && id <= this.forgottenBelow) return false;
    this.set.add(id);
    this.order.push(id);
    if (id > this.last) this.last = id;
    return true;
  }
}

const isId = (n) => Number.isSafeInteger(n) && n >= 0;

/*
 * Why a request failed: `code` is the gateway's error code (429, 451, 501,
 * 504...); 0 when no answer can come (not connected, or the connection
 * went: a new connection may ask again); 408 when none came in time.
 */
export class RequestError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/*
 * new Connection(handlers): handlers are optional callbacks:
 *   onState({state, delayMs, attempt, code, reason}) state is one of
 *     'connecting', 'open' (welcomed), 'waiting' (to reconnect), 'stopped'
 *   onWelcome(welcome)     the welcome without histories: `rooms` lists, for
 *                          each room joined, {room, participants,
 *                          participants_count, restarted, gap}; `restarted`
 *                          is true when the gateway restarted (reset);
 *                          `dropped` names the rooms asked for and left out
 *   onJoined(room)         a joined reply, the same shape as a welcome room
 *   onParted({room})       the gateway says the page left a room
 *   onEvent(event, info)   each room event (message, join, leave, nick, deleted)
 *                          once; info is {room, history, unseen}: unseen is
 *                          false for history the page had seen before a
 *                          reload and for the first history of a room
 *   onPrivate(event, info) each private message once; info {history, unseen}
 *   onTyping(typing, room) a typing update (no id) in a room the page is in
 *   onRoomRefused(room, error) a room the page asked for was refused (it is
 *                          no longer among the rooms)
 *   onAccount(account)     the account this connection is logged in to
 *                          changed: {nick, session, ref}; nick null when
 *                          logged out (a ref: the answer to a request)
 *   onInfo(info), onError(error, welcomed), onBye(bye)
 *   onReads(rooms)         where the account read to: {roomName: id} (ids
 *                          checked), after a login
 *   helloFields()          returns {nick, key, session, jwt} for the next
 *                          hello (session: an account's session token; jwt:
 *                          a site's token, which goes instead of a session)
 */
export class Connection {
  constructor(handlers = {}) {
    this.h = handlers;
    this.ws = null;
    // The epoch the ids belong to: from the last welcome, sent back in hello.
    this.epoch = null;
    // The secret that resumes this browser's identity (and its private
    // messages). It goes to the gateway in hello and nowhere else.
    this.token = null;
    this.privateId = 0;
    this.privateAskFrom = null;
    this.privateSeen = new SeenIds();
    // roomKey -> {name, lastId, askFrom, seen, joined}
    this.rooms = new Map();
    // The rooms named in the hello on its way (keys), to tell apart after
    // the welcome a room refused from one joined or left meanwhile.
    this.helloRooms = new Set();
    this.joinRefs = new Map();
    this.addRoom(LOBBY);
    this.attempt = 0;
    this.timer = null;
    this.welcomed = false;
    this.early = [];
    this.stopped = true;
    this.nextRef = 1;
    // ref -> {type, resolve, reject, timer}: requests waiting for their answer.
    this.requests = new Map();
  }

  addRoom(name, lastId = 0) {
    const r = { name, lastId, askFrom: null, seen: new SeenIds(), joined: false };
    this.rooms.set(roomKey(name), r);
    return r;
  }

  /* The room names the page is in (or asks to be in), #lobby first. */
  roomNames() {
    return [...this.rooms.values()].map((r) => r.name);
  }

  /*
   * Takes back what a page stored before a reload: {epoch, token, privateId,
   * rooms: [{room, lastId}]}. The next hello asks for some events before the
   * last id seen in each room (RELOAD_CONTEXT_EVENTS) and for every private
   * message kept, since the new page shows none of them yet; those already
   * seen are not counted as unseen.
   */
  restore(saved) {
    if (!saved) return;
    if (typeof saved.epoch === 'string') this.epoch = saved.epoch;
    if (typeof saved.token === 'string') this.token = saved.token;
    if (isId(saved.privateId)) {
      this.privateId = saved.privateId;
      this.privateAskFrom = 0;
    }
    for (const s of saved.rooms ?? []) {
      if (!validRoomName(s.room)) continue;
      const lastId = isId(s.lastId) ? s.lastId : 0;
      const r = this.rooms.get(roomKey(s.room)) ?? this.addRoom(s.room);
      r.name = s.room;
      r.lastId = lastId;
      // 0 asks for the latest history as on a first visit, which could skip
      // what was missed: the earliest id worth asking after is 1.
      r.askFrom = lastId > 0 ? Math.max(1, lastId - RELOAD_CONTEXT_EVENTS) : 0;
    }
  }

  /* What a page stores to come back after a reload (see restore). */
  snapshot() {
    return {
      epoch: this.epoch,
      token: this.token,
      privateId: this.privateId,
      rooms: [...this.rooms.values()].map((r) => ({ room: r.name, lastId: r.lastId })),
    };
  }

  /* The hello for the next connection. */
  helloMessage(fields = {}) {
    const rooms = {};
    for (const r of this.rooms.values()) rooms[r.name] = r.askFrom ?? r.lastId;
    this.helloRooms = new Set(this.rooms.keys());
    const hello = { type: 'hello', rooms, private_id: this.privateAskFrom ?? this.privateId };
    if (this.epoch) hello.epoch = this.epoch;
    if (this.token) hello.token = this.token;
    if (fields.nick) hello.nick = fields.nick;
    if (fields.key) hello.key = fields.key;
    if (fields.jwt) hello.jwt = fields.jwt;
    else if (fields.session) hello.session = fields.session;
    return hello;
  }

  /*
   * Asks to join a room. Returns false if the name is not a room name, true
   * otherwise (also when the page is in it already). Offline, the room is
   * asked for in the next hello.
   */
  join(name) {
    if (!validRoomName(name)) return false;
    const key = roomKey(name);
    if (this.rooms.has(key)) return true;
    this.addRoom(name);
    const ref = this.send({ type: 'join', room: name, last_id: 0 });
    if (ref) this.joinRefs.set(ref, key);
    return true;
  }

  /* Leaves a room (not #lobby): it is forgotten now, and the gateway told if connected. */
  part(name) {
    const key = roomKey(name);
    if (key === roomKey(LOBBY) || !this.rooms.has(key)) return false;
    const r = this.rooms.get(key);
    this.rooms.delete(key);
    if (r.joined) this.send({ type: 'part', room: r.name });
    return true;
  }

  /* Starts connecting now (or again, after stop). */
  start() {
    this.stopped = false;
    this.clearTimer();
    this.open();
  }

  /* Closes the socket and does not reconnect until start() is called. */
  stop(reason = 'stopped') {
    this.stopped = true;
    this.clearTimer();
    this.dropSocket();
    this.emitState({ state: 'stopped', reason });
  }

  /* Skips the remaining wait and tries to connect now. */
  retryNow() {
    if (this.stopped || this.ws) return;
    this.clearTimer();
    this.open();
  }

  /* Closes the current socket so that the next try reconnects at once (used after a nick change). */
  reconnect() {
    this.dropSocket();
    this.attempt = 0;
    this.start();
  }

  get isOpen() {
    return this.welcomed && this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /* Sends a client message; returns its ref, or 0 if not connected. */
  send(msg) {
    if (!this.isOpen) return 0;
    const ref = this.nextRef++;
    this.ws.send(JSON.stringify({ ...msg, ref }));
    return ref;
  }

  /*
   * Sends a request that gets one answer (history, search) and returns a
   * promise of that answer (the gateway's message, of the request's type).
   * It fails with a RequestError: the gateway's error for it; code 0 when
   * not connected or when the connection goes before the answer; 408 when
   * no answer comes in time; 429 at once when REQUESTS_MAX requests are
   * already waiting.
   */
  request(msg) {
    return new Promise((resolve, reject) => {
      if (this.requests.size >= REQUESTS_MAX) {
        reject(new RequestError(429, 'too many requests at once'));
        return;
      }
      const ref = this.send(msg);
      if (!ref) {
        reject(new RequestError(0, 'not connected'));
        return;
      }
      const timer = setTimeout(() => {
        this.requests.delete(ref);
        reject(new RequestError(408, 'no answer from the gateway in time'));
      }, REQUEST_TIMEOUT_MS);
      this.requests.set(ref, { type: msg.type, resolve, reject, timer });
    });
  }

  /* Every request still waiting fails: its answer can no longer come. */
  failRequests(why) {
    const waiting = [...this.requests.values()];
    this.requests.clear();
    for (const r of waiting) {
      clearTimeout(r.timer);
      r.reject(new RequestError(0, why));
    }
  }

  /* Sends without a ref (typing updates, which get no answer). */
  sendQuiet(msg) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  clearTimer() {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  dropSocket() {
    const ws = this.ws;
    this.ws = null;
    this.welcomed = false;
    this.early = [];
    this.joinRefs.clear();
    this.failRequests('the connection closed');
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(1000);
      } catch {
        /* already closing */
      }
    }
  }

  emitState(s) {
    if (this.h.onState) this.h.onState(s);
  }

  open() {
    this.dropSocket();
    this.emitState({ state: 'connecting', attempt: this.attempt });
    let ws;
    try {
      ws = new WebSocket(gatewayUrl(), SUBPROTOCOL);
    } catch (e) {
      this.scheduleRetry(0, String(e));
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      const f = this.h.helloFields ? this.h.helloFields() : {};
      ws.send(JSON.stringify(this.helloMessage(f)));
    };
    ws.onmessage = (e) => this.receive(e.data);
    ws.onerror = () => {
      /* onclose follows and decides */
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.welcomed = false;
      this.failRequests('the connection closed');
      this.onClosed(e.code, e.reason);
    };
  }

  onClosed(code, reason) {
    if (this.stopped) return;
    // 1008: wrong key. Trying again with the same key would only fail again.
    if (code === 1008) {
      this.stopped = true;
      this.emitState({ state: 'stopped', code, reason: reason || 'access key refused' });
      return;
    }
    this.scheduleRetry(code, reason);
  }

  scheduleRetry(code, reason) {
    // 4421: this page fell behind; resuming at once is the cure.
    let delay;
    if (code === 4421 && this.attempt === 0) {
      delay = 0;
    } else {
      const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt);
      delay = Math.round(base * (0.75 + Math.random() * 0.5));
    }
    this.attempt++;
    this.emitState({ state: 'waiting', delayMs: delay, attempt: this.attempt, code, reason });
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.stopped) this.open();
    }, delay);
  }

  /* Takes one WebSocket message (a JSON object or an array of them). */
  receive(data) {
    if (typeof data !== 'string') return;
    let parsed;
    try {
      parsed = JSON.parse(data);
    } catch {
      return;
    }
    const list = Array.isArray(parsed) ? parsed : [parsed];
    for (const ev of list) {
      if (ev && typeof ev === 'object' && typeof ev.type === 'string') this.dispatch(ev);
    }
  }

  /* The room an event belongs to, or undefined if the page is not in it. */
  roomOf(ev) {
    const name = typeof ev.room === 'string' ? ev.room : LOBBY;
    return this.rooms.get(roomKey(name));
  }

  roomEvent(ev, history = false, unseen = true) {
    // Anything that arrives before the welcome is shown after its history.
    if (!this.welcomed) {
      if (this.early.length < EARLY_MAX) this.early.push(ev);
      return;
    }
    const r = this.roomOf(ev);
    if (!r || !r.seen.first(ev.id)) return;
    if (typeof ev.id === 'number' && ev.id > r.lastId) r.lastId = ev.id;
    if (this.h.onEvent) this.h.onEvent(ev, { room: r.name, history, unseen });
  }

  privateEvent(ev, history = false, unseen = true) {
    if (!this.welcomed) {
      if (this.early.length < EARLY_MAX) this.early.push(ev);
      return;
    }
    if (!this.privateSeen.first(ev.id)) return;
    if (typeof ev.id === 'number' && ev.id > this.privateId) this.privateId = ev.id;
    if (this.h.onPrivate) this.h.onPrivate(ev, { history, unseen });
  }

  /*
   * A room's state from a welcome entry or a joined reply: returns the room
   * as the page is told of it, and hands its history on. A room whose ids
   * went back (a restarted gateway, or a room that was forgotten and made
   * again) forgets the ids it saw.
   */
  takeRoom(entry, reset) {
    const name = entry.room;
    const r = this.rooms.get(roomKey(name)) ?? this.addRoom(name);
    r.name = name;
    r.joined = true;
    const latest = isId(entry.last_id) ? entry.last_id : 0;
    const restarted = reset || latest < r.lastId;
    if (restarted) {
      r.seen.clear();
      r.lastId = 0;
    }
    const before = r.lastId;
    const history = (Array.isArray(entry.history) ? entry.history : [])
      .filter((e) => e && typeof e === 'object');
    // The gateway says gap when events after the id asked for are gone; the
    // page may have asked for earlier ones than it saw (after a reload), so
    // only a first event later than the one after the last seen is a loss.
    const firstId = history.length > 0 && typeof history[0].id === 'number' ? history[0].id : latest + 1;
    const gap = entry.gap === true && !restarted && before > 0 && firstId > before + 1;
    const room = {
      room: name,
      participants: Array.isArray(entry.participants) ? entry.participants : [],
      participants_count: entry.participants_count,
      restarted,
      gap,
    };
    return {
      room,
      deliver: () => {
        for (const item of history) {
          const unseen = before > 0 && !restarted && typeof item.id === 'number' && item.id > before;
          this.roomEvent({ ...item, room: name }, true, unseen);
        }
        if (latest > r.lastId) r.lastId = latest;
        r.askFrom = null;
      },
    };
  }

  welcome(ev) {
    this.welcomed = true;
    this.attempt = 0;
    // Ids are unique only within one epoch: a gateway that restarted says
    // reset (our ids were from another epoch), and its ids start again.
    const reset = ev.reset === true;
    if (typeof ev.epoch === 'string') this.epoch = ev.epoch;
    // Another token is another identity, whose private ids start anew.
    const newIdentity = typeof ev.token === 'string' && ev.token !== this.token;
    if (typeof ev.token === 'string') this.token = ev.token;
    const privateBefore = reset || newIdentity ? 0 : this.privateId;
    if (reset || newIdentity) {
      this.privateSeen.clear();
      this.privateId = 0;
    }
    const entries = (Array.isArray(ev.rooms) ? ev.rooms : [])
      .filter((e) => e && typeof e === 'object' && validRoomName(e.room));
    // A room in the hello that the page left while the hello was on its
    // way is left now, not shown again.
    const partNow = [];
    const kept = entries.filter((e) => {
      const key = roomKey(e.room);
      if (this.rooms.has(key) || !this.helloRooms.has(key)) return true;
      partNow.push(e.room);
      return false;
    });
    const taken = kept.map((e) => this.takeRoom(e, reset));
    // A room asked for and left out is not joined (an error says why); one
    // joined after the hello went is asked for now.
    const named = new Set(entries.map((e) => roomKey(e.room)));
    const dropped = [];
    const joinNow = [];
    for (const [key, r] of this.rooms) {
      if (named.has(key) || key === roomKey(LOBBY)) continue;
      if (this.helloRooms.has(key)) {
        this.rooms.delete(key);
        dropped.push(r.name);
      } else {
        joinNow.push(r);
      }
    }
    this.helloRooms = new Set();
    const rest = { ...ev, rooms: taken.map((t) => t.room), private: [], restarted: reset, dropped };
    if (this.h.onWelcome) this.h.onWelcome(rest);
    for (const t of taken) t.deliver();
    for (const p of Array.isArray(ev.private) ? ev.private : []) {
      if (p && typeof p === 'object') {
        this.privateEvent(p, true, typeof p.id === 'number' && p.id > privateBefore);
      }
    }
    if (isId(ev.private_id) && ev.private_id > this.privateId) this.privateId = ev.private_id;
    this.privateAskFrom = null;
    const early = this.early;
    this.early = [];
    for (const item of early) this.dispatch(item);
    this.emitState({ state: 'open' });
    for (const name of partNow) this.send({ type: 'part', room: name });
    for (const r of joinNow) {
      const ref = this.send({ type: 'join', room: r.name, last_id: r.lastId });
      if (ref) this.joinRefs.set(ref, roomKey(r.name));
    }
  }

  dispatch(ev) {
    switch (ev.type) {
      case 'welcome':
        this.welcome(ev);
        break;
      case 'joined': {
        if (!validRoomName(ev.room)) break;
        const t = this.takeRoom(ev, false);
        if (this.h.onJoined) this.h.onJoined(t.room);
        t.deliver();
        break;
      }
      case 'parted': {
        if (typeof ev.room !== 'string') break;
        const key = roomKey(ev.room);
        if (key === roomKey(LOBBY)) break;
        this.rooms.delete(key);
        if (this.h.onParted) this.h.onParted({ room: ev.room });
        break;
      }
      case 'message':
        if (ev.private === true) this.privateEvent(ev);
        else this.roomEvent(ev);
        break;
      case 'join':
      case 'leave':
      case 'nick':
      case 'deleted':
        this.roomEvent(ev);
        break;
      case 'typing': {
        const r = this.roomOf(ev);
        if (r && this.h.onTyping) this.h.onTyping(ev, r.name);
        break;
      }
      case 'info':
        if (this.h.onInfo) this.h.onInfo(ev);
        break;
      case 'account':
        if (this.h.onAccount) this.h.onAccount(ev);
        break;
      case 'reads': {
        if (!ev.rooms || typeof ev.rooms !== 'object' || Array.isArray(ev.rooms)) break;
        const rooms = {};
        for (const [name, id] of Object.entries(ev.rooms)) {
          if (validRoomName(name) && isId(id)) rooms[name] = id;
        }
        if (this.h.onReads) this.h.onReads(rooms);
        break;
      }
      case 'history':
      case 'search':
        this.answer(ev);
        break;
      case 'error':
        this.error(ev);
        break;
      case 'bye':
        if (this.h.onBye) this.h.onBye(ev);
        // 221: closing because we asked. Anything else: try again later.
        if (ev.code === 221) this.stop('closed');
        break;
      default:
        break;
    }
  }

  /* The answer to a request, handed to whoever waits for it (by ref). */
  answer(ev) {
    const r = this.requests.get(ev.ref);
    if (!r || !ANSWER_TYPES.has(ev.type) || r.type !== ev.type) return;
    this.requests.delete(ev.ref);
    clearTimeout(r.timer);
    r.resolve(ev);
  }

  error(ev) {
    // A request refused: whoever waits for it is told, and nobody else.
    const req = ev.ref !== undefined ? this.requests.get(ev.ref) : undefined;
    if (req) {
      this.requests.delete(ev.ref);
      clearTimeout(req.timer);
      req.reject(new RequestError(typeof ev.code === 'number' ? ev.code : 0, String(ev.message ?? 'refused')));
      return;
    }
    // A join refused (by its ref, or an error naming a room not joined, as
    // after a welcome that left it out): the room is not among ours.
    let key = this.joinRefs.get(ev.ref);
    if (key !== undefined) this.joinRefs.delete(ev.ref);
    else if (typeof ev.room === 'string') key = roomKey(ev.room);
    const r = key !== undefined ? this.rooms.get(key) : undefined;
    if (r && !r.joined && key !== roomKey(LOBBY)) {
      this.rooms.delete(key);
      if (this.h.onRoomRefused) this.h.onRoomRefused(r.name, ev);
      return;
    }
    if (this.h.onError) this.h.onError(ev, this.welcomed);
  }
}
