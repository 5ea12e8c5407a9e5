// scripted-socket.js: page-level unit tests of the page's own state logic.
//
// The page is loaded from a real gateway (so it runs under the gateway's
// CSP), but its WebSocket is replaced, before any of the page's code runs,
// by one the test speaks for: it records what the page sends and delivers
// what the test writes. This tests the page's side of wintalk.v2 on its
// own (drafts, scroll positions, unread counts, reloads); what the real
// gateway answers is shown by the end-to-end tests (rooms.test.js).

/* Runs in the page (context.addInitScript): replaces window.WebSocket. */
export function scriptedSocketInit() {
  const sockets = [];
  class ScriptedSocket {
    constructor(url, protocols) {
      this.url = url;
      this.protocols = [].concat(protocols ?? []);
      this.readyState = ScriptedSocket.CONNECTING;
      this.protocol = '';
      this.sent = [];
      this.onopen = this.onmessage = this.onclose = this.onerror = null;
      sockets.push(this);
    }

    send(data) {
      if (this.readyState !== ScriptedSocket.OPEN) throw new Error('InvalidStateError: not open');
      this.sent.push(String(data));
    }

    close(code = 1000, reason = '') {
      if (this.readyState >= ScriptedSocket.CLOSING) return;
      this.readyState = ScriptedSocket.CLOSED;
      setTimeout(() => this.onclose?.({ code, reason, wasClean: true }), 0);
    }

    /* The test's side: the handshake succeeds with this subprotocol. */
    accept(protocol) {
      this.protocol = protocol;
      this.readyState = ScriptedSocket.OPEN;
      this.onopen?.({});
    }

    /* The test's side: one WebSocket message (an object or array is sent as JSON). */
    deliver(msg) {
      this.onmessage?.({ data: typeof msg === 'string' ? msg : JSON.stringify(msg) });
    }

    /* The test's side: the connection is lost. */
    drop(code = 1006) {
      this.readyState = ScriptedSocket.CLOSED;
      this.onclose?.({ code, reason: '', wasClean: false });
    }
  }
  ScriptedSocket.CONNECTING = 0;
  ScriptedSocket.OPEN = 1;
  ScriptedSocket.CLOSING = 2;
  ScriptedSocket.CLOSED = 3;
  window.WebSocket = ScriptedSocket;
  window.__sockets = sockets;
}

/*
 * The test's handle on a page with a scripted socket:
 *   await s.accept()   waits for the page to open a socket, accepts it,
 *                      and returns the page's hello (parsed)
 *   await s.deliver(m) sends the page one message (object, array or text)
 *   await s.sent()     everything the page sent on the latest socket, parsed
 *   await s.drop()     loses the connection
 */
export function scripted(page) {
  const latest = () => page.evaluate(() => window.__sockets.length);
  return {
    async accept(protocol = 'wintalk.v2') {
      await page.waitForFunction(() => {
        const s = window.__sockets.at(-1);
        return s !== undefined && s.readyState === 0;
      }, null, { timeout: 15000 });
      return page.evaluate((p) => {
        const s = window.__sockets.at(-1);
        s.accept(p);
        return s.sent.length > 0 ? JSON.parse(s.sent[0]) : null;
      }, protocol);
    },
    deliver(msg) {
      return page.evaluate((m) => window.__sockets.at(-1).deliver(m), msg);
    },
    sent() {
      return page.evaluate(() => window.__sockets.at(-1).sent.map((t) => JSON.parse(t)));
    },
    offered() {
      return page.evaluate(() => window.__sockets.at(-1).protocols);
    },
    drop(code = 1006) {
      return page.evaluate((c) => window.__sockets.at(-1).drop(c), code);
    },
    count: latest,
  };
}

// What a scripted gateway says of itself and its people, for the tests
// that script one: an epoch, a resume token, a clock, three participants.
export const EPOCH = '5eed00000000a001';
export const TOKEN = '7f3a9c0e5b2d4f6a8c1e3b5d7f9a0c2e';
export const T0 = Date.UTC(2025, 0, 1, 10, 0);
export const ALICE = { pid: 1, nick: 'alice', via: 'web', typing: '' };
// The public name of alice's identity: in her events and her welcome's `you`.
export const ALICE_IDENT = 'a11ce0000000a11c';
export const BOB = { pid: 2, nick: 'bob', via: 'web', typing: '' };
export const CAROL = { pid: 3, nick: 'carol', via: 'tcp', typing: '' };
