'use strict';
// hub.js - the baseline for the benchmarks: a plain broadcast hub on the
// `ws` package, what a user would otherwise pick. It speaks the subset of
// wintalk.v1 the load generator uses (hello -> welcome, say -> message to
// everyone, with ids) and, for the bridge scenarios, a WINTALK TCP listener
// (handshake and priming, an R frame of the recent transcript, then each
// line as an A frame; a participant's completed lines become messages).
// Listens on 127.0.0.1 only. Usage: node hub.js --http-port N --tcp-port N
const net = require('net');
const { WebSocketServer } = require('ws');

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const httpPort = opt('--http-port', 8080);
const tcpPort = opt('--tcp-port', 5150);

let nextPid = 1;
let nextId = 1;
const webs = new Set();
const tcps = new Set();
const history = []; // recent message events, JSON text
const transcript = []; // recent transcript lines
const KEEP = 100;

function broadcast(p, text) {
  const ev = { type: 'message', id: nextId++, time: Date.now(), pid: p.pid, nick: p.nick,
    via: p.via, text, me: false };
  const json = JSON.stringify(ev);
  history.push(json);
  if (history.length > KEEP) history.shift();
  for (const ws of webs) ws.send(json);
  const line = `${p.nick}: ${text}\r\n`;
  transcript.push(line);
  if (transcript.length > KEEP) transcript.shift();
  const frame = `A${line.length}:${line}`; // JS length counts UTF-16 units
  for (const s of tcps) s.write(frame);
}

const wss = new WebSocketServer({
  host: '127.0.0.1', port: httpPort,
  handleProtocols: (protocols) => (protocols.has('wintalk.v1') ? 'wintalk.v1' : false),
});
wss.on('connection', (ws) => {
  const p = { pid: nextPid++, nick: null, via: 'web' };
  ws.on('message', (data) => {
    let m;
    try { m = JSON.parse(data); } catch (e) {
      ws.send(JSON.stringify({ type: 'error', code: 500, message: 'not JSON' }));
      return;
    }
    if (m.type === 'hello' && !p.nick) {
      p.nick = `guest-${p.pid}`;
      webs.add(ws);
      ws.send(`{"type":"welcome","code":220,"protocol":"wintalk.v1","you":${JSON.stringify(
        { pid: p.pid, nick: p.nick, via: 'web' })},"history":[${history.join(',')}],` +
        `"last_id":${nextId - 1},"gap":false}`);
    } else if (m.type === 'say' && p.nick && typeof m.text === 'string') {
      broadcast(p, m.text);
    } else {
      ws.send(JSON.stringify({ type: 'error', code: 502, message: 'unknown' }));
    }
  });
  ws.on('close', () => webs.delete(ws));
  ws.on('error', () => webs.delete(ws));
});

const tcp = net.createServer((s) => {
  const p = { pid: nextPid++, nick: null, via: 'tcp' };
  p.nick = `guest-${p.pid}`;
  s.setNoDelay(true);
  s.setEncoding('utf8');
  const t = transcript.join('');
  s.write(`WINTALK .NETR0:R0:R0:R0:R${t.length}:${t}`);
  tcps.add(s);
  let buf = '';
  let draft = '';
  s.on('data', (chunk) => {
    buf += chunk;
    for (;;) {
      const colon = buf.indexOf(':');
      if (colon < 0) {
        if (buf.length > 19) s.destroy();
        return;
      }
      const n = Number(buf.slice(1, colon));
      if (!(n >= 0) || colon > 19) { s.destroy(); return; }
      if (buf.length < colon + 1 + n) return;
      const text = buf.slice(colon + 1, colon + 1 + n);
      if (buf[0] === 'R') draft = text; else draft += text;
      buf = buf.slice(colon + 1 + n);
      let nl;
      while ((nl = draft.indexOf('\n')) >= 0) {
        broadcast(p, draft.slice(0, nl).replace(/\r$/, ''));
        draft = draft.slice(nl + 1);
      }
    }
  });
  s.on('close', () => tcps.delete(s));
  s.on('error', () => tcps.delete(s));
});
tcp.listen(tcpPort, '127.0.0.1');

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
