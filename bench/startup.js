'use strict';
// startup.js: how long a hub takes to start, measured from outside.
//
//   node startup.js --port HTTP_PORT [--runs 3] [--label L] [--hub H]
//                   [--data-dir DIR] -- COMMAND [ARG]...
//
// Starts COMMAND (a gateway listening on 127.0.0.1:HTTP_PORT) RUNS times,
// one after the other. Each time it measures, from the spawn, when the
// gateway's log (stderr) says "listening" and when GET /readyz first
// answers 200, then stops it with SIGTERM (SIGKILL after 10 s) and waits
// for it to exit before the next start. Each start is bounded: no 200
// within 30 s is a failure. Prints one JSON line: the median and every
// run's figures, and, with --data-dir, the size of the SQLite files there
// after the last run. Exit status 0, or 1 when a start failed.
const { spawn } = require('child_process');
const fs = require('fs');
const http = require('http');
const path = require('path');

const START_TIMEOUT_MS = 30000; // a start without /readyz 200 by then fails
const STOP_TIMEOUT_MS = 10000; // SIGTERM, then SIGKILL
const POLL_MS = 2; // between two /readyz requests
const REQUEST_TIMEOUT_MS = 1000;

function usage() {
  process.stderr.write('usage: node startup.js --port HTTP_PORT [--runs N] [--label L] ' +
    '[--hub H] [--data-dir DIR] -- COMMAND [ARG]...\n');
  process.exit(2);
}

const opt = { runs: 3, label: 'startup', hub: 'gateway', port: 0, dataDir: null };
const argv = process.argv.slice(2);
let cmd = null;
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--') { cmd = argv.slice(i + 1); break; }
  const v = argv[++i];
  if (v === undefined) usage();
  if (a === '--port') opt.port = Number(v);
  else if (a === '--runs') opt.runs = Number(v);
  else if (a === '--label') opt.label = v;
  else if (a === '--hub') opt.hub = v;
  else if (a === '--data-dir') opt.dataDir = v;
  else usage();
}
if (!cmd || cmd.length === 0 || !(opt.port > 0) || !(opt.runs >= 1 && opt.runs <= 20)) usage();

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

// One GET /readyz: resolves to the status code, or 0 (no answer).
function readyz() {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port: opt.port, path: '/readyz',
      agent: false, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
      res.on('error', () => resolve(0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

const sleep = (t) => new Promise((r) => setTimeout(r, t));

// One start: { readyz_ms, listening_ms, exit } or { error }.
async function once() {
  const t0 = process.hrtime.bigint();
  const child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let listening = null;
  let tail = '';
  let exited = null;
  const gone = new Promise((resolve) => child.on('exit', (code, sig) => {
    exited = { code, sig };
    resolve();
  }));
  child.on('error', () => { exited = exited || { code: -1, sig: null }; });
  child.stderr.on('data', (b) => {
    const now = ms(t0);
    tail = (tail + b.toString()).slice(-4096);
    if (listening === null && / listening /.test(tail)) listening = now;
  });
  let ready = null;
  while (ready === null && exited === null && ms(t0) < START_TIMEOUT_MS) {
    const code = await readyz();
    if (code === 200) ready = ms(t0);
    else await sleep(POLL_MS);
  }
  if (exited === null) {
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await gone;
    clearTimeout(killer);
  }
  if (ready === null) {
    return { error: exited && exited.code !== 0 ? `exited early: ${tail.trim().split('\n').pop()}`
      : 'no /readyz 200 in time' };
  }
  return { readyz_ms: ready, listening_ms: listening, exit: exited.code };
}

function median(xs) {
  const s = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function dbBytes(dir) {
  if (!dir) return undefined;
  let sum = 0;
  for (const f of ['wintalk.db', 'wintalk.db-wal']) {
    try { sum += fs.statSync(path.join(dir, f)).size; } catch (e) { /* absent */ }
  }
  return sum;
}

(async () => {
  const runs = [];
  for (let i = 0; i < opt.runs; i++) runs.push(await once());
  const failed = runs.find((r) => r.error);
  const r2 = (x) => (typeof x === 'number' ? Math.round(x * 100) / 100 : null);
  const out = {
    label: opt.label,
    hub: opt.hub,
    starts: opt.runs,
    readyz_ms: r2(median(runs.map((r) => r.readyz_ms))),
    listening_ms: r2(median(runs.map((r) => r.listening_ms))),
    readyz_ms_max: r2(Math.max(...runs.map((r) => r.readyz_ms || 0))),
    readyz_ms_all: runs.map((r) => r2(r.readyz_ms)),
    listening_ms_all: runs.map((r) => r2(r.listening_ms)),
    exits: runs.map((r) => (r.error ? r.error : r.exit)),
  };
  const db = dbBytes(opt.dataDir);
  if (db !== undefined) out.db_bytes = db;
  if (failed) out.error = failed.error;
  console.log(JSON.stringify(out));
  process.exit(failed ? 1 : 0);
})();
