// Two real gateways sharing their rooms through one real Redis (Debian's
// redis-server, started here on 127.0.0.1): a page on one gateway and a
// WINTALK peer typing key by key on the other chat both ways, see each
// other's live typing and each other in the participant list; when the
// page's gateway is killed, the page reconnects to the other (as a load
// balancer would send it) and resumes with nothing lost and nothing twice,
// its nick and private conversation too. Screenshots:
// artifacts/cluster-chat.png, artifacts/cluster-private-after-failover.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, stopGateway, freePort } from './lib/gateway.js';
import { launchBrowser, openParticipant, sayFromPage, ensureArtifactsDir } from './lib/browser.js';
import { WintalkClient } from './lib/wintalk.js';

let redis;
let redisDir;
let gwA;
let gwB;
let browser;

const privateItem = (page, nick) => page.locator(`#private-list li[data-nick="${nick}"]`);

/* A RESP PING on a new connection: whether Redis answers. */
function ping(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.setTimeout(500, () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(false));
    s.on('data', (d) => {
      s.destroy();
      resolve(String(d).startsWith('+PONG'));
    });
    s.write('*1\r\n$4\r\nPING\r\n');
  });
}

before(async () => {
  const port = await freePort();
  redisDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wintalk-web-redis-'));
  redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', redisDir,
    '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: 'ignore' });
  process.once('exit', () => redis.kill('SIGKILL'));
  for (let i = 0; i < 100 && !(await ping(port)); i++) await sleep(50);
  assert.ok(await ping(port), 'redis-server answers');
  const args = ['--store', 'redis', '--redis', `redis://127.0.0.1:${port}/0`];
  gwA = await startGateway({ name: 'cluster-a', extraArgs: args });
  gwB = await startGateway({ name: 'cluster-b', extraArgs: args });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (gwB) await stopGateway(gwB);
  if (gwA) await gwA.stop();
  redis?.kill('SIGTERM');
  fs.rmSync(redisDir, { recursive: true, force: true });
});

test('a page on one gateway and a WINTALK peer on the other chat, type and see each other', async () => {
  const dora = await WintalkClient.connect(gwA.tcpPort);
  await dora.sayLine('/nick dora');
  await dora.waitForText('is now dora');
  const alice = await openParticipant(browser, gwB.url, 'alice');
  const { page } = alice;
  // dora, on the other gateway, is in alice's list.
  await page.locator('#people li', { hasText: 'dora' }).waitFor();
  // Key by key on gateway a: the page on b shows the live typing, then the line.
  await dora.type('across the cluster');
  await page.locator('#drafts .draft', { hasText: 'across the cluster' }).waitFor();
  await dora.append('\r\n');
  await page.locator('#log li.line', { hasText: 'across the cluster' }).waitFor();
  // And back: the page's line reaches dora's pane on gateway a.
  await sayFromPage(page, 'hello dora, from the other gateway');
  await dora.waitForText('alice: hello dora, from the other gateway');
  const dir = ensureArtifactsDir();
  await page.screenshot({ path: path.join(dir, 'cluster-chat.png') });
  assert.deepEqual(alice.problems, []);
  await alice.context.close();
  dora.socket.destroy();
});

test('the page\'s gateway killed: it resumes on the other, nothing lost, nothing twice', async () => {
  // The page reaches its gateway through a forwarder of the test's own,
  // playing the load balancer: first to b, then, once b is gone, to a.
  let target = gwB.httpPort;
  const lb = net.createServer((c) => {
    const up = net.connect({ host: '127.0.0.1', port: target });
    c.pipe(up).pipe(c);
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
  });
  await new Promise((r) => lb.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${lb.address().port}/`;
  const ed = await WintalkClient.connect(gwA.tcpPort);
  await ed.sayLine('/nick ed');
  await ed.waitForText('is now ed');
  const bob = await openParticipant(browser, url, 'bob');
  const { page } = bob;
  for (let i = 0; i < 5; i++) await ed.sayLine(`before ${i}`);
  await page.locator('#log li.line', { hasText: 'before 4' }).waitFor();
  // A private word from ed, on the other gateway.
  await ed.sayLine('/msg bob psst before');
  await privateItem(page, 'ed').locator('.unread', { hasText: '1' }).waitFor();
  // b dies; meanwhile ed goes on talking on a.
  target = gwA.httpPort;
  process.kill(gwB.pid, 'SIGKILL');
  await gwB.stop();
  gwB = null;
  for (let i = 0; i < 5; i++) await ed.sayLine(`after ${i}`);
  await page.locator('#status', { hasText: /^Connected as / }).waitFor({ timeout: 20000 });
  await page.locator('#log li.line', { hasText: 'after 4' }).waitFor({ timeout: 10000 });
  const lines = (await page.locator('#log li.line').allTextContents()).filter((t) => /(before|after) \d/.test(t));
  const said = lines.map((t) => t.match(/(before|after) \d/)[0]);
  assert.deepEqual(said, [0, 1, 2, 3, 4].map((i) => `before ${i}`).concat([0, 1, 2, 3, 4].map((i) => `after ${i}`)));
  // Its identity came over from Redis: its nick, and, after a reload on
  // the gateway it is on now, its private conversation, once.
  await page.locator('#status', { hasText: 'Connected as bob ·' }).waitFor();
  await page.reload();
  await page.locator('#status', { hasText: 'Connected as bob ·' }).waitFor({ timeout: 20000 });
  await privateItem(page, 'ed').locator('.side-open').click();
  await page.locator('#conversation-title', { hasText: 'Private with ed' }).waitFor();
  await page.locator('#log > li', { hasText: 'ed: psst before' }).waitFor();
  assert.equal(await page.locator('#log > li', { hasText: 'ed: psst before' }).count(), 1);
  await ed.sayLine('/msg bob psst after');
  await page.locator('#log > li', { hasText: 'ed: psst after' }).waitFor();
  await page.screenshot({ path: path.join(ensureArtifactsDir(), 'cluster-private-after-failover.png') });
  await bob.context.close();
  ed.socket.destroy();
  lb.close();
});
