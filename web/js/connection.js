// connection.js: the page's WebSocket to the gateway (subprotocol wintalk.v1).
//
// It says hello, resumes with the last event id it saw after a drop (and
// the epoch those ids belong to), waits longer after each failed try (with
// jitter), and hands every event to the page exactly once: the gateway may
// send a JSON array of events in one message, and a resumed history may
// overlap what was already shown, so events are unpacked and deduplicated by
// id here. Ids start again in a new epoch (a restarted gateway): then the ids
// seen are forgotten. It knows nothing of the DOM.

export const SUBPROTOCOL = 'wintalk.v1';

const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 30000;
// How many event ids are remembered to drop duplicates; older ones are
// dropped by comparison with the oldest remembered id.
const SEEN_IDS_MAX = 2000;

/* The gateway's WebSocket address: same host and port as the page. */
export function gatewayUrl(loc = window.location) {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}/`;
}

/*
 * new Connection(handlers): handlers are optional callbacks:
 *   onState({state, delayMs, attempt, code, reason}) state is one of
 *     'connecting', 'open' (welcomed), 'waiting' (to reconnect), 'stopped'
 *   onWelcome(welcome)     the welcome, its history already removed; its
 *                          `restarted` is true when the gateway restarted
 *                          (its ids started again: earlier history reset)
 *   onEvent(event)         each room event (message, join, leave, nick) once
 *   onTyping(typing)       a typing update (no id)
 *   onInfo(info), onError(error), onBye(bye)
 *   helloFields()          returns {nick, key} for the next hello
 */
export class Connection {
  constructor(handlers) {
    this.h = handlers;
    this.ws = null;
    this.lastId = 0;
    // The epoch lastId belongs to: from the last welcome, sent back in hello.
    this.epoch = null;
    this.seen = new Set();
    this.seenOrder = [];
    this.forgottenBelow = undefined;
    this.attempt = 0;
    this.timer = null;
    this.welcomed = false;
    this.early = [];
    this.stopped = true;
    this.nextRef = 1;
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
      const hello = { type: 'hello', last_id: this.lastId };
      if (this.epoch) hello.epoch = this.epoch;
      if (f.nick) hello.nick = f.nick;
      if (f.key) hello.key = f.key;
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (e) => this.receive(e.data);
    ws.onerror = () => {
      /* onclose follows and decides */
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.welcomed = false;
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

  forgetSeen() {
    this.seen.clear();
    this.seenOrder = [];
    this.forgottenBelow = undefined;
    this.lastId = 0;
  }

  /* True the first time an event id is seen; false for a duplicate. */
  firstSight(id) {
    if (typeof id !== 'number') return true;
    if (this.seen.has(id)) return false;
    if (this.seenOrder.length >= SEEN_IDS_MAX) {
      // Ids increase, so anything at or below the oldest forgotten one is old news.
      const old = this.seenOrder.shift();
      this.seen.delete(old);
      this.forgottenBelow = Math.max(this.forgottenBelow ?? 0, old);
    }
    if (this.forgottenBelow !== undefined && id <= this.forgottenBelow) return false;
    this.seen.add(id);
    this.seenOrder.push(id);
    if (id > this.lastId) this.lastId = id;
    return true;
  }

  roomEvent(ev) {
    // Anything that arrives before the welcome is shown after its history.
    if (!this.welcomed) {
      if (this.early.length < SEEN_IDS_MAX) this.early.push(ev);
      return;
    }
    if (this.firstSight(ev.id) && this.h.onEvent) this.h.onEvent(ev);
  }

  dispatch(ev) {
    switch (ev.type) {
      case 'welcome': {
        this.welcomed = true;
        this.attempt = 0;
        // Ids are unique only within one epoch: a gateway that restarted
        // says reset (our last_id was from another epoch), and its ids start
        // again. One that sends no epoch has restarted when it knows fewer
        // events than we saw.
        const restarted = ev.reset === true ||
          (typeof ev.last_id === 'number' && ev.last_id < this.lastId);
        if (restarted) this.forgetSeen();
        if (typeof ev.epoch === 'string') this.epoch = ev.epoch;
        const history = Array.isArray(ev.history) ? ev.history : [];
        const rest = { ...ev, history: [], restarted };
        if (this.h.onWelcome) this.h.onWelcome(rest);
        const early = this.early;
        this.early = [];
        for (const item of history) {
          if (item && typeof item === 'object') this.roomEvent(item);
        }
        for (const item of early) this.roomEvent(item);
        if (typeof ev.last_id === 'number' && ev.last_id > this.lastId) this.lastId = ev.last_id;
        this.emitState({ state: 'open' });
        break;
      }
      case 'message':
      case 'join':
      case 'leave':
      case 'nick':
        this.roomEvent(ev);
        break;
      case 'typing':
        if (this.h.onTyping) this.h.onTyping(ev);
        break;
      case 'info':
        if (this.h.onInfo) this.h.onInfo(ev);
        break;
      case 'error':
        if (this.h.onError) this.h.onError(ev, this.welcomed);
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
}
