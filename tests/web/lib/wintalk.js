// wintalk.js: a WINTALK client over a raw TCP socket, for the browser tests.
//
// It checks the 12-byte handshake, then decodes the gateway's A/R frames into
// the "view" a WinTalk receive pane would show. Lengths count UTF-16 code
// units, which is what a JavaScript string's .length counts.

import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const HANDSHAKE = 'WINTALK .NET';

/* One frame as it goes on the wire. */
export function frame(letter, text) {
  return `${letter}${text.length}:${text}`;
}

export class WintalkClient {
  constructor(socket) {
    this.socket = socket;
    this.decoder = new TextDecoder('utf-8', { fatal: true });
    this.buf = '';
    this.handshaken = false;
    this.view = '';
    this.closed = false;
    this.error = null;
    this.waiters = new Set();
    socket.on('data', (bytes) => this.feed(bytes));
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', (e) => {
      this.error = e;
    });
  }

  /* Connects to 127.0.0.1:port and waits for the handshake. */
  static async connect(port, timeoutMs = 5000) {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setNoDelay(true);
    await new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new WintalkClient(socket);
    await c.waitFor(() => c.handshaken, timeoutMs, 'the WINTALK handshake');
    return c;
  }

  feed(bytes) {
    this.buf += this.decoder.decode(bytes, { stream: true });
    if (!this.handshaken) {
      if (this.buf.length < HANDSHAKE.length) return;
      if (!this.buf.startsWith(HANDSHAKE)) {
        this.error = new Error(`bad handshake: ${JSON.stringify(this.buf.slice(0, 12))}`);
        this.socket.destroy();
        return;
      }
      this.buf = this.buf.slice(HANDSHAKE.length);
      this.handshaken = true;
    }
    for (;;) {
      const colon = this.buf.indexOf(':');
      if (colon < 0) break;
      const header = this.buf.slice(0, colon);
      if (!/^[A-Za-z]\d+$/.test(header)) {
        this.error = new Error(`bad frame header ${JSON.stringify(header)}`);
        this.socket.destroy();
        return;
      }
      const n = Number(header.slice(1));
      if (this.buf.length < colon + 1 + n) break;
      const text = this.buf.slice(colon + 1, colon + 1 + n);
      this.buf = this.buf.slice(colon + 1 + n);
      if (header[0] === 'R') this.view = text;
      else this.view += text;
    }
    this.wake();
  }

  wake() {
    for (const w of this.waiters) w();
  }

  /* Waits until pred() is true; rejects after timeoutMs naming what it waited for. */
  async waitFor(pred, timeoutMs = 10000, what = 'a condition') {
    if (pred()) return;
    await new Promise((resolve, reject) => {
      const check = () => {
        if (pred()) {
          done();
          resolve();
        } else if (this.closed || this.error) {
          done();
          reject(new Error(`WINTALK connection ended while waiting for ${what}: ${this.error ?? 'closed'}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${what}; view is ${JSON.stringify(this.view.slice(-500))}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  /* Waits until the receive pane shows `text` somewhere. */
  waitForText(text, timeoutMs) {
    return this.waitFor(() => this.view.includes(text), timeoutMs, JSON.stringify(text));
  }

  write(data) {
    return new Promise((resolve, reject) => {
      this.socket.write(data, 'utf8', (e) => (e ? reject(e) : resolve()));
    });
  }

  /* Appends text to this participant's text box (one A frame). */
  append(text) {
    return this.write(frame('A', text));
  }

  /* Replaces this participant's text box (one R frame). */
  replace(text) {
    return this.write(frame('R', text));
  }

  /* Types text one character per frame, like a person at a WinTalk window. */
  async type(text, pauseMs = 20) {
    for (const ch of text) {
      await this.append(ch);
      if (pauseMs) await sleep(pauseMs);
    }
  }

  /* Sends a whole line (text and Enter) in two frames. */
  async sayLine(text) {
    if (text) await this.append(text);
    await this.append('\r\n');
  }

  close() {
    this.socket.destroy();
  }
}
