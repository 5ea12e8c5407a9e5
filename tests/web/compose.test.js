// The text box as a new user meets it, in real Chromium against a real
// gateway: a line the gateway refuses stays in the box with a reason in
// words; the box counts the bytes the gateway counts and keeps a text that
// is too long; the focus goes to the box after a click elsewhere; drafts
// survive a reload; a lost connection shows over the conversation, with the
// people list marked as stale and Send disabled; names and text in
// right-to-left scripts are isolated; a say the store could not keep (451)
// goes back in the box.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, stopGateway, freePort } from './lib/gateway.js';
import { launchBrowser, openParticipant, waitConnected, sayFromPage } from './lib/browser.js';
import { WintalkClient } from './lib/wintalk.js';

let gw;
let browser;
let alice;
let bob;

const line = (p, text) => p.page.locator('#log > li', { hasText: text });
const side = (p, room) => p.page.locator(`#room-list > li[data-room="${room}"]`);
const focused = (p) => p.page.evaluate(() => document.activeElement && document.activeElement.id);
/* The says and msgs the page sent, parsed. */
/* Back to #lobby with an empty box, whatever a test before left. */
async function atLobby(p) {
  await p.page.locator('#room-list li[data-room="#lobby"] .side-open').click();
  await p.page.locator('#input').fill('');
}
const sent = (p) => p.traffic.filter(([dir]) => dir === 'out').map(([, t]) => JSON.parse(t))
  .filter((m) => m.type === 'say' || m.type === 'msg');

before(async () => {
  gw = await startGateway({ name: 'compose-gateway' });
  browser = await launchBrowser();
  alice = await openParticipant(browser, gw.url, 'alice');
  bob = await openParticipant(browser, gw.url, 'bob');
});

after(async () => {
  await browser?.close();
  await stopGateway(gw);
});

test('a refused say or /msg stays in the box, and the reason is said in words', async () => {
  const input = alice.page.locator('#input');
  // 550: nobody of that name. The line goes back in the box of its conversation.
  await sayFromPage(alice.page, '/msg nobody are you there?');
  const e550 = alice.page.locator('#log > li.error[data-code="550"]');
  await e550.waitFor();
  assert.equal(await input.inputValue(), 'are you there?');
  const words = await e550.textContent();
  assert.match(words, /no one is called nobody/);
  assert.match(words, /left or changed nick/);
  assert.match(words, /back in the box/);
  assert.doesNotMatch(words, /Refused|550/);
  assert.match(await e550.getAttribute('title'), /550/);
  await alice.page.locator('#private-list li[data-nick="nobody"] .side-close').click();

  // 501 in a room: an action may not start with "->".
  await input.fill('');
  await sayFromPage(alice.page, '/me -> sneaky');
  const e501 = alice.page.locator('#log > li.error[data-code="501"]');
  await e501.waitFor();
  assert.equal(await input.inputValue(), '/me -> sneaky');
  assert.doesNotMatch(await e501.textContent(), /Refused|501/);

  // 553: a name not allowed, typed as a command.
  await input.fill('');
  await sayFromPage(alice.page, '/nick guest-77');
  const e553 = alice.page.locator('#log > li.error[data-code="553"]');
  await e553.waitFor();
  assert.equal(await input.inputValue(), '/nick guest-77');
  assert.match(await e553.textContent(), /Pick another/);

  await input.fill('');
});

test('the box counts bytes as the gateway does, shows the count near the limit, and keeps a text too long', async () => {
  await atLobby(alice);
  const input = alice.page.locator('#input');
  const count = alice.page.locator('#compose-count');
  const before = sent(alice).length;
  // 3,000 é are 3,000 characters but 6,000 bytes: too long, not sent, kept.
  await input.fill('é'.repeat(3000));
  await count.waitFor();
  assert.match(await count.textContent(), /6,000 of 4,096 bytes/);
  assert.match(await count.textContent(), /1,904 too many/);
  assert.equal(await input.getAttribute('aria-invalid'), 'true');
  await input.press('Enter');
  await alice.page.waitForTimeout(300);
  assert.equal(sent(alice).length, before, 'a text over the limit was sent');
  assert.equal(await input.inputValue(), 'é'.repeat(3000));

  // Exactly at the limit: sent, and the gateway takes it.
  await input.fill('é'.repeat(2048));
  assert.match(await count.textContent(), /4,096 of 4,096 bytes used/);
  await input.press('Enter');
  await bob.page.locator('#log > li .text', { hasText: 'é'.repeat(2048) }).waitFor();
  assert.equal(await input.inputValue(), '');
  assert.equal(await count.isVisible(), false);
  // One byte over: kept.
  await input.fill('é'.repeat(2048) + 'a');
  await input.press('Enter');
  await alice.page.waitForTimeout(300);
  assert.equal(sent(alice).length, before + 1);
  // 4,096 ASCII characters are 4,096 bytes: the box takes and sends them (no 4,000 cap).
  await input.fill('a'.repeat(4096));
  assert.equal(await input.inputValue(), 'a'.repeat(4096));
  await input.press('Enter');
  await bob.page.locator('#log > li .text', { hasText: 'a'.repeat(4096) }).waitFor();
  // Line ends at the end are not sent, so not counted (the gateway drops them).
  await input.fill('é'.repeat(2048) + '\n\n\n');
  assert.match(await count.textContent(), /4,096 of 4,096 bytes used/);
  await input.fill('');
  assert.equal(await alice.page.locator('#logs li.error[data-code="552"]').count(), 0);
});

test('a gateway with a lower --max-line-bytes: the box counts to its limit, from its welcome', async () => {
  const small = await startGateway({ name: 'compose-small-gateway', extraArgs: ['--max-line-bytes', '100'] });
  try {
    const dora = await openParticipant(browser, small.url, 'dora');
    const input = dora.page.locator('#input');
    const count = dora.page.locator('#compose-count');
    await input.fill('ñ'.repeat(51));
    assert.match(await count.textContent(), /102 of 100 bytes, 2 too many/);
    await input.press('Enter');
    await dora.page.waitForTimeout(300);
    assert.equal(sent(dora).length, 0);
    assert.equal(await input.inputValue(), 'ñ'.repeat(51));
    await input.fill('ñ'.repeat(50));
    assert.match(await count.textContent(), /100 of 100 bytes used/);
    await input.press('Enter');
    await dora.page.locator('#log > li.mine', { hasText: 'ñ'.repeat(50) }).waitFor();
    assert.equal(await dora.page.locator('#logs li.error').count(), 0);
    await dora.context.close();
  } finally {
    await stopGateway(small);
  }
});

test('the focus goes to the box after choosing a room, a person or joining from the sidebar', async () => {
  await atLobby(alice);
  await sayFromPage(alice.page, '/join #focus');
  await side(alice, '#focus').waitFor();
  await side(alice, '#lobby').locator('.side-open').click();
  assert.equal(await focused(alice), 'input');
  await side(alice, '#focus').locator('.side-open').click();
  assert.equal(await focused(alice), 'input');
  await alice.page.keyboard.type('typed after the click');
  assert.equal(await alice.page.locator('#input').inputValue(), 'typed after the click');
  await alice.page.locator('#input').fill('');

  await side(alice, '#lobby').locator('.side-open').click();
  await alice.page.locator('#people button.person-open', { hasText: 'bob' }).click();
  await alice.page.locator('#conversation-title', { hasText: 'Private with bob' }).waitFor();
  assert.equal(await focused(alice), 'input');

  await alice.page.locator('#join-input').fill('#focus2');
  await alice.page.locator('#join-button').click();
  await side(alice, '#focus2').waitFor();
  assert.equal(await focused(alice), 'input');
  await alice.page.locator('#room-list li[data-room="#lobby"] .side-open').click();
});

test('each conversation\'s draft survives a reload, and is gone once sent', async () => {
  await atLobby(alice);
  const input = alice.page.locator('#input');
  await sayFromPage(alice.page, '/join #drafts');
  await side(alice, '#drafts').waitFor();
  await side(alice, '#lobby').locator('.side-open').click();
  await input.pressSequentially('half a lobby thought', { delay: 5 });
  await side(alice, '#drafts').locator('.side-open').click();
  await input.pressSequentially('a #drafts draft', { delay: 5 });
  await alice.page.reload();
  await waitConnected(alice.page);
  await alice.page.locator('#conversation-title', { hasText: '#drafts' }).waitFor();
  assert.equal(await input.inputValue(), 'a #drafts draft');
  await side(alice, '#lobby').locator('.side-open').click();
  assert.equal(await input.inputValue(), 'half a lobby thought');
  // Sent: not back after the next reload.
  await input.press('Enter');
  await line(bob, 'half a lobby thought').waitFor();
  await alice.page.reload();
  await waitConnected(alice.page);
  assert.equal(await input.inputValue(), '');
  await side(alice, '#drafts').locator('.side-open').click();
  assert.equal(await input.inputValue(), 'a #drafts draft');
  await input.fill('');
  await side(alice, '#lobby').locator('.side-open').click();
});

test('right-to-left nicks and text are isolated: a Hebrew nick stays left of its line', async () => {
  await atLobby(alice);
  const dani = await WintalkClient.connect(gw.tcpPort);
  try {
    await dani.sayLine('/nick דני');
    await dani.sayLine('5 דקות, ok?');
    const li = line(alice, '5 דקות');
    await li.waitFor();
    // On screen: the nick, then ": ", then the text, left to right.
    const box = await li.evaluate((el) => {
      const r = (x) => x.getBoundingClientRect();
      return { nick: r(el.querySelector('.nick')), sep: r(el.querySelector('.sep')), text: r(el.querySelector('.text')) };
    });
    assert.ok(box.nick.right <= box.sep.left + 1, JSON.stringify(box));
    assert.ok(box.sep.right <= box.text.left + 1, JSON.stringify(box));
    // A mixed line in the text keeps its own order: Hebrew first, then the number, right to left.
    const inner = await li.locator('.text').evaluate((el) => getComputedStyle(el).direction);
    assert.equal(inner, 'rtl');
    // Isolated in the DOM: nicks in <bdi>, text with dir="auto".
    assert.equal(await li.locator('.nick').evaluate((e) => e.tagName), 'BDI');
    assert.equal(await li.locator('.text').getAttribute('dir'), 'auto');
    assert.equal(await alice.page.locator('#people li bdi.nick, #people li button.nick[dir="auto"]').count() >= 2, true);
  } finally {
    dani.close();
    await line(alice, /left/).last().waitFor();
  }
});

test('while disconnected: a banner over the conversation, the people list stale, Send disabled', { timeout: 60000 }, async () => {
  await atLobby(alice);
  const banner = alice.page.locator('#offline-banner');
  const send = alice.page.locator('#send');
  await alice.page.locator('#status', { hasText: /^Connected as alice/ }).waitFor();
  assert.equal(await banner.isVisible(), false);
  assert.equal(await send.isDisabled(), false);
  const ports = { http: gw.httpPort, tcp: gw.tcpPort };
  await stopGateway(gw);
  gw = null;
  await banner.waitFor();
  assert.match(await banner.textContent(), /Not connected/);
  assert.match(await banner.textContent(), /stays in the box/);
  assert.equal(await send.isDisabled(), true);
  assert.match(await alice.page.locator('#people-count').textContent(), /when last connected/);
  assert.match(await alice.page.locator('#people-box').getAttribute('class'), /\bstale\b/);
  // What is typed stays, Enter sends nothing.
  await alice.page.locator('#input').fill('typed offline');
  await alice.page.locator('#input').press('Enter');
  assert.equal(await alice.page.locator('#input').inputValue(), 'typed offline');

  gw = await startGateway({ name: 'compose-gateway-2', ports });
  await alice.page.locator('#offline-retry').click().catch(() => {});
  await waitConnected(alice.page, 20000);
  await banner.waitFor({ state: 'hidden' });
  assert.equal(await send.isDisabled(), false);
  assert.doesNotMatch(await alice.page.locator('#people-count').textContent(), /when last connected/);
  await alice.page.locator('#input').press('Enter');
  await alice.page.locator('#log > li.mine', { hasText: 'typed offline' }).waitFor();
});

/* A redis-server of the test's own on a free port of 127.0.0.1, stopped by its PID. */
async function startRedis() {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wintalk-web-redis-'));
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) break;
    await sleep(100);
  }
  return {
    port,
    kill() {
      try {
        process.kill(proc.pid, 'SIGKILL');
      } catch {
        /* gone already */
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('a say the store could not keep (451) goes back in the box', { timeout: 60000 }, async () => {
  const redis = await startRedis();
  const rgw = await startGateway({ name: 'compose-redis-gateway',
    extraArgs: ['--store', 'redis', '--redis', `redis://127.0.0.1:${redis.port}/0`] });
  try {
    const carol = await openParticipant(browser, rgw.url, 'carol');
    await sayFromPage(carol.page, 'kept while redis is up');
    await carol.page.locator('#log > li.mine', { hasText: 'kept while redis is up' }).waitFor();
    redis.kill();
    // The gateway knows Redis is gone once it refuses to be ready.
    for (let i = 0; i < 100; i++) {
      const r = await fetch(`${rgw.url}readyz`).catch(() => null);
      if (r && r.status === 503) break;
      await sleep(100);
    }
    await sayFromPage(carol.page, 'not kept: the store is gone');
    const e451 = carol.page.locator('#log > li.error[data-code="451"]');
    await e451.waitFor({ timeout: 20000 });
    assert.equal(await carol.page.locator('#input').inputValue(), 'not kept: the store is gone');
    assert.match(await e451.textContent(), /could not keep it/);
    assert.doesNotMatch(await e451.textContent(), /Refused|451/);
    assert.deepEqual(carol.problems, []);
    await carol.context.close();
  } finally {
    redis.kill();
    await stopGateway(rgw);
  }
});

test('no console errors and no dialogs in either page', () => {
  assert.deepEqual(alice.problems, []);
  assert.deepEqual(bob.problems, []);
});
