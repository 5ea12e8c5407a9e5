// gateway.js: starts a real wintalk-gateway on 127.0.0.1 for one test file
// and stops it (by its PID) afterwards.
//
// The program is named by WINTALK_GATEWAY (CTest passes the built target),
// or found in the usual build folders. The page comes from WINTALK_WEB_ROOT
// or the repository's web/. Each gateway keeps its history in a fresh
// directory of its own (removed when it stops), unless the test names one
// to keep across a restart.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..', '..');
const artifactsDir = path.resolve(here, '..', 'artifacts');

export function gatewayPath() {
  if (process.env.WINTALK_GATEWAY) return process.env.WINTALK_GATEWAY;
  for (const dir of ['build', 'build-plain', 'build-web', 'build-gw']) {
    const p = path.join(repoRoot, dir, 'gateway', 'wintalk-gateway');
    if (fs.existsSync(p)) return p;
  }
  throw new Error('no wintalk-gateway found: build it, or set WINTALK_GATEWAY to its path');
}

export function webRoot() {
  return process.env.WINTALK_WEB_ROOT || path.join(repoRoot, 'web');
}

/* A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function httpOk(url) {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await r.arrayBuffer();
    return r.ok;
  } catch {
    return false;
  }
}

/* A new, empty directory for a gateway's history; the caller removes it. */
export function freshDataDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'wintalk-web-data-'));
}

/*
 * Starts the gateway and resolves once its health endpoint answers.
 * ports {http, tcp} starts it on given ports (to restart a gateway in place).
 * dataDir is where it keeps its history (to keep it across a restart; the
 * test removes it): without it, a fresh directory, removed when it stops.
 * env adds to the environment it runs in (LD_PRELOAD, FAKETIME...).
 * Its output is written to artifacts/NAME.log when it stops.
 * Returns {httpPort, tcpPort, url, pid, dataDir, log(), stop()}.
 */
export async function startGateway({ name = 'gateway', extraArgs = [], timeoutMs = 15000, ports = null,
  dataDir = null, env: extraEnv = {} } = {}) {
  const bin = gatewayPath();
  let lastError;
  for (let tries = 0; tries < 3; tries++) {
    const httpPort = ports ? ports.http : await freePort();
    const tcpPort = ports ? ports.tcp : await freePort();
    // A gateway of the memory store keeps nothing on disk.
    const memory = extraArgs.some((a, i) => a === '--store=memory' || (a === '--store' && extraArgs[i + 1] === 'memory'));
    const ownData = dataDir === null && !memory ? freshDataDir() : null;
    const data = dataDir ?? ownData;
    const args = ['--http-port', String(httpPort), '--tcp-port', String(tcpPort),
      '--web-root', webRoot(), '--bind', '127.0.0.1', ...(data ? ['--data-dir', data] : []), ...extraArgs];
    // The gateway also reads WINTALK_* settings (a key, a rate) from its
    // environment: the tests run it with only what they pass.
    const env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WINTALK_'))),
      ...extraEnv,
    };
    const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let output = '';
    const keep = (chunk) => {
      output += chunk.toString();
      if (output.length > 200000) output = output.slice(-100000);
    };
    proc.stdout.on('data', keep);
    proc.stderr.on('data', keep);
    let exited = null;
    const exitPromise = new Promise((resolve) => proc.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    }));
    // If this test process ends abruptly, the gateway it started goes with it.
    const reap = () => {
      if (!exited) proc.kill('SIGKILL');
    };
    process.once('exit', reap);
    const url = `http://127.0.0.1:${httpPort}/`;
    const deadline = Date.now() + timeoutMs;
    let ready = false;
    while (Date.now() < deadline && !exited) {
      // Only HTTP is polled: a probe of the WINTALK port would join the room
      // as a guest and show up in every page's conversation.
      if (await httpOk(url + 'healthz')) {
        ready = true;
        break;
      }
      await sleep(100);
    }
    const saveLog = () => {
      fs.mkdirSync(artifactsDir, { recursive: true });
      fs.writeFileSync(path.join(artifactsDir, `${name}.log`), output);
      if (ownData) fs.rmSync(ownData, { recursive: true, force: true });
    };
    const gw = {
      httpPort,
      tcpPort,
      url,
      pid: proc.pid,
      dataDir: data,
      log: () => output,
      async stop() {
        if (exited) {
          process.removeListener('exit', reap);
          saveLog();
          return exited;
        }
        process.kill(proc.pid, 'SIGTERM');
        const t = setTimeout(() => {
          if (!exited) process.kill(proc.pid, 'SIGKILL');
        }, 5000);
        const r = await exitPromise;
        clearTimeout(t);
        process.removeListener('exit', reap);
        saveLog();
        return r;
      },
    };
    if (ready) return gw;
    await gw.stop();
    lastError = new Error(`gateway did not start (${JSON.stringify(exited)}); args ${args.join(' ')}\n${output}`);
    // A port taken between freePort() and the bind is worth another try.
    if (!/in use|EADDRINUSE|bind/i.test(output)) break;
  }
  throw lastError;
}

/*
 * Stops the gateway and throws unless it exited with status 0, as it should
 * on SIGTERM (a sanitizer build exits otherwise when it found something).
 */
export async function stopGateway(gw, name = 'gateway') {
  if (!gw) return;
  const r = await gw.stop();
  if (r.code !== 0) {
    throw new Error(`${name} exited with ${JSON.stringify(r)}:\n${gw.log().slice(-4000)}`);
  }
}
