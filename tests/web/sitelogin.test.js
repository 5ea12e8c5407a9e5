// A site's own login from the page, in real Chromium against a real gateway
// started with --jwt-key (an HS256 secret made here; tokens signed here as a
// site's backend signs them): a token in the address's fragment logs the
// page in (the welcome's account), is gone from the address bar, and goes in
// the hello of a reload of the tab; the account has no Change password, and
// Log out forgets the token. A forged token (another key) and an expired one
// are said in words and the page is a guest. A page framed by a site the
// page trusts (index.html's data-trusted-parent) takes a token the site
// posts to it; framed by any other origin, it ignores one.
//
// The gateway forbids being framed (frame-ancestors 'none', X-Frame-Options
// DENY), which no option changes: for the framed tests the browser drops
// those two headers of the page's document (a front proxy of the site would
// do so), and nothing else is changed. A document the browser was handed
// that way counts as coming from the public internet, whose WebSockets to
// 127.0.0.1 Chromium's local network checks block: they are off in this
// file's browser.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, stopGateway, webRoot } from './lib/gateway.js';
import { launchBrowser } from './lib/browser.js';
import { makeSecret, signToken } from './lib/jwt.js';

let browser;
let gw;
let key;
let webCopy;
const parents = []; // {server, origin}

/* A tiny site on its own origin whose page frames the chat (gw.url, once the gateway runs). */
async function startParent() {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>site</title>
<script>window.ready = []; addEventListener('message', (e) => window.ready.push([e.origin, e.data && e.data.type]));</script>
<iframe id="chat" src="${gw.url}" style="width:1000px;height:700px"></iframe>`);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const p = { server, origin: `http://127.0.0.1:${server.address().port}` };
  parents.push(p);
  return p;
}

let trusted;
let stranger;

before(async () => {
  browser = await launchBrowser(['--disable-features=LocalNetworkAccessChecks']);
  key = makeSecret();
  // The parents first: the chat's copy of the page names the trusted one.
  trusted = await startParent();
  stranger = await startParent();
  webCopy = fs.mkdtempSync(path.join(os.tmpdir(), 'wintalk-web-root-'));
  fs.cpSync(webRoot(), webCopy, { recursive: true });
  const index = path.join(webCopy, 'index.html');
  const html = fs.readFileSync(index, 'utf8');
  assert.ok(html.includes('data-trusted-parent=""'), 'index.html has the attribute, empty');
  fs.writeFileSync(index, html.replace('data-trusted-parent=""', `data-trusted-parent="${trusted.origin}"`));
  gw = await startGateway({ name: 'sitelogin-gateway', extraArgs: ['--jwt-key', key.file, '--web-root', webCopy] });
});

after(async () => {
  await browser?.close();
  for (const p of parents) await new Promise((resolve) => p.server.close(resolve));
  await stopGateway(gw, 'sitelogin-gateway');
  if (key) fs.rmSync(key.dir, { recursive: true, force: true });
  if (webCopy) fs.rmSync(webCopy, { recursive: true, force: true });
});

const sentOut = (p) => p.traffic.filter(([d]) => d === 'out').map(([, t]) => JSON.parse(t));

/* Opens the chat at url in a fresh context, without going through the nick dialog. */
async function openAt(url) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const problems = [];
  const traffic = [];
  page.on('websocket', (ws) => {
    ws.on('framereceived', (f) => traffic.push(['in', String(f.payload)]));
    ws.on('framesent', (f) => traffic.push(['out', String(f.payload)]));
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  await page.goto(url);
  return { context, page, problems, traffic };
}

test('a token in the fragment logs in, leaves the address bar, has no password, and Log out forgets it', async () => {
  const jwt = signToken(key.secret, { sub: 'site-user-1', nick: 'alice' });
  const p = await openAt(`${gw.url}#jwt=${jwt}`);
  try {
    await p.page.locator('#status', { hasText: /^Connected as alice · / }).waitFor();
    await p.page.locator('#account-button', { hasText: 'Account: alice' }).waitFor();
    assert.equal(p.page.url(), gw.url, 'the fragment is gone from the address');
    assert.equal(await p.page.evaluate(() => window.location.hash), '');
    const hello = sentOut(p).find((m) => m.type === 'hello');
    assert.equal(hello.jwt, jwt, 'the hello carries the token');
    assert.equal(hello.session, undefined, 'and no session');
    assert.equal(hello.nick, undefined, 'and no nick: the token says who');
    const welcome = p.traffic.filter(([d]) => d === 'in').map(([, t]) => JSON.parse(t))
      .flat().find((e) => e.type === 'welcome');
    assert.equal(welcome.account, 'alice');
    // The token is this tab's: sessionStorage, never localStorage.
    const kept = await p.page.evaluate(() => ({ local: JSON.stringify({ ...localStorage }), session: JSON.stringify({ ...sessionStorage }) }));
    assert.ok(!kept.local.includes(jwt), `no token in localStorage: ${kept.local}`);
    assert.ok(kept.session.includes(jwt), 'the tab keeps it for a reload');

    // A reload of the tab is logged in again by the token it kept.
    const from = p.traffic.length;
    await p.page.reload();
    await p.page.locator('#status', { hasText: /^Connected as alice · / }).waitFor();
    const again = p.traffic.slice(from).filter(([d]) => d === 'out').map(([, t]) => JSON.parse(t)).find((m) => m.type === 'hello');
    assert.equal(again.jwt, jwt);

    // The account's dialog: no Change password (the account has none).
    await p.page.locator('#account-button').click();
    await p.page.locator('#account-dialog').getByRole('heading', { name: 'Your account' }).waitFor();
    assert.equal(await p.page.locator('#password-open').isVisible(), false, 'no Change password');
    assert.match(await p.page.locator('#account-intro').textContent(), /by the site/);
    assert.equal(await p.page.evaluate(() => document.activeElement.id), 'logout-go');
    // Typed, /password says so without asking the gateway.
    await p.page.keyboard.press('Escape');
    await p.page.locator('#input').fill('/password a b');
    await p.page.locator('#input').press('Enter');
    await p.page.locator('#log > li', { hasText: 'no password to change' }).waitFor();

    // Log out: a guest, and the token is forgotten (a reload is a guest).
    await p.page.locator('#account-button').click();
    await p.page.locator('#logout-go').click();
    await p.page.locator('#account-button', { hasText: /^Log in$/ }).waitFor();
    assert.equal(await p.page.evaluate(() => sessionStorage.getItem('wintalk.jwt')), null);
    const from2 = p.traffic.length;
    await p.page.reload();
    await p.page.locator('#status', { hasText: /^Connected as guest-/ }).waitFor();
    const third = p.traffic.slice(from2).filter(([d]) => d === 'out').map(([, t]) => JSON.parse(t)).find((m) => m.type === 'hello');
    assert.equal(third.jwt, undefined, 'no token after Log out');
    assert.deepEqual(p.problems, []);
  } finally {
    await p.context.close();
  }
});

test('a forged token is refused in words, and the page is a guest', async () => {
  const forged = signToken('not the gateway key, not the gateway key', { sub: 'site-user-2', nick: 'mallory' });
  const p = await openAt(`${gw.url}#jwt=${forged}`);
  try {
    await p.page.locator('#status', { hasText: /^Connected as guest-/ }).waitFor();
    const line = p.page.locator('#log > li', { hasText: "Your site's login was refused" });
    await line.waitFor();
    assert.match(await line.textContent(), /signature does not verify/i);
    assert.equal(await p.page.locator('#account-button').textContent(), 'Log in');
    assert.equal(await p.page.evaluate(() => sessionStorage.getItem('wintalk.jwt')), null, 'forgotten');
    assert.equal(p.page.url(), gw.url);
    assert.deepEqual(p.problems, []);
  } finally {
    await p.context.close();
  }
});

test('an expired token: the page says to reload the site, and is a guest', async () => {
  const old = signToken(key.secret, { sub: 'site-user-3', nick: 'carol', exp: Math.floor(Date.now() / 1000) - 3600 });
  const p = await openAt(`${gw.url}#jwt=${old}`);
  try {
    await p.page.locator('#status', { hasText: /^Connected as guest-/ }).waitFor();
    await p.page.locator('#log > li', { hasText: 'Your site login expired: reload the site' }).waitFor();
    assert.equal(await p.page.locator('#account-button').textContent(), 'Log in');
    assert.equal(await p.page.evaluate(() => sessionStorage.getItem('wintalk.jwt')), null, 'forgotten');
    assert.deepEqual(p.problems, []);
  } finally {
    await p.context.close();
  }
});

/* A context whose page's document may be framed by the two parents (see the top). */
async function framable() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.route((u) => u.href === gw.url, async (route) => {
    const response = await route.fetch();
    const headers = { ...response.headers() };
    delete headers['x-frame-options'];
    headers['content-security-policy'] = headers['content-security-policy']
      .replace("frame-ancestors 'none'", `frame-ancestors ${trusted.origin} ${stranger.origin}`);
    await route.fulfill({ response, headers });
  });
  const page = await context.newPage();
  const traffic = [];
  page.on('websocket', (ws) => {
    ws.on('framesent', (f) => traffic.push(String(f.payload)));
  });
  return { context, page, traffic };
}

test('framed by the trusted site: it is told the page is ready, and the token it posts logs in', async () => {
  const f = await framable();
  try {
    await f.page.goto(`${trusted.origin}/`);
    const chat = f.page.frameLocator('#chat');
    // A first visit: the nick dialog, until the site's token comes.
    await chat.locator('#nick-dialog').waitFor();
    await f.page.waitForFunction(() => window.ready.length > 0);
    assert.deepEqual(await f.page.evaluate(() => window.ready), [[new URL(gw.url).origin, 'wintalk-ready']]);
    const jwt = signToken(key.secret, { sub: 'site-user-4', nick: 'dave' });
    await f.page.evaluate(({ jwt, to }) => {
      document.getElementById('chat').contentWindow.postMessage({ type: 'wintalk-jwt', jwt }, to);
    }, { jwt, to: new URL(gw.url).origin });
    await chat.locator('#status', { hasText: /^Connected as dave · / }).waitFor();
    await chat.locator('#account-button', { hasText: 'Account: dave' }).waitFor();
    assert.equal(await chat.locator('#nick-dialog').isVisible(), false);
    const hellos = f.traffic.map((t) => JSON.parse(t)).filter((m) => m.type === 'hello');
    assert.equal(hellos.at(-1).jwt, jwt);
  } finally {
    await f.context.close();
  }
});

test('framed by another origin: nothing is said to it, and a token it posts is ignored', async () => {
  const f = await framable();
  try {
    await f.page.goto(`${stranger.origin}/`);
    const chat = f.page.frameLocator('#chat');
    await chat.locator('#nick-cancel').click(); // joins as a guest
    await chat.locator('#status', { hasText: /^Connected as guest-/ }).waitFor();
    // A good token, signed with the gateway's key: only where it comes from is wrong.
    const jwt = signToken(key.secret, { sub: 'site-user-5', nick: 'erin' });
    await f.page.evaluate(({ jwt }) => {
      document.getElementById('chat').contentWindow.postMessage({ type: 'wintalk-jwt', jwt }, '*');
    }, { jwt });
    await sleep(1500);
    assert.deepEqual(await f.page.evaluate(() => window.ready), [], 'the page said nothing to this origin');
    assert.match(await chat.locator('#status').textContent(), /^Connected as guest-/);
    const hellos = f.traffic.map((t) => JSON.parse(t)).filter((m) => m.type === 'hello');
    assert.equal(hellos.length, 1, 'no new hello');
    assert.ok(!f.traffic.some((t) => t.includes(jwt)), 'the token never went to the gateway');
  } finally {
    await f.context.close();
  }
});
