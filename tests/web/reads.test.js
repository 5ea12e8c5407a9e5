// Read positions from the page, in real Chromium against a real gateway:
// a logged-in reader's page sends `read` for the room on screen once its
// newest line has been seen (at the bottom, the tab visible), at most once
// every 2 s per room and only forward, and none for a room not on screen;
// another device that logs in to the account gets `reads` and draws a "new
// messages" separator before the first message the account has not read,
// lands at it in the room on screen, and in another room when it is opened.
// The sender's rules on their own (forward only, 2 s, the account's floor)
// are checked in the browser with its clock driven by the test.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, stopGateway } from './lib/gateway.js';
import { launchBrowser, openParticipant, sayFromPage } from './lib/browser.js';
import { WintalkClient } from './lib/wintalk.js';

let browser;
let gw;

before(async () => {
  browser = await launchBrowser();
  // No rate: the test's peers say many lines quickly.
  gw = await startGateway({ name: 'reads-gateway', extraArgs: ['--rate', '0'] });
});

after(async () => {
  await browser?.close();
  await stopGateway(gw, 'reads-gateway');
});

const PW = 'reads test password 1';

/* The `read` messages a page sent: [{room, id, at}] (at: ms, when the test saw it go). */
function readsSent(p) {
  return p.readLog;
}

async function open(nick) {
  const p = await openParticipant(browser, gw.url, nick);
  p.readLog = [];
  const take = (dir, t) => {
    const m = dir === 'out' ? JSON.parse(t) : null;
    if (m && m.type === 'read') p.readLog.push({ room: m.room, id: m.id, at: Date.now() });
  };
  for (const [dir, t] of p.traffic) take(dir, t);
  // Each frame as it goes, with the time it went.
  const push = p.traffic.push.bind(p.traffic);
  p.traffic.push = (item) => {
    take(...item);
    return push(item);
  };
  return p;
}

/* The id of the newest line of the room on screen. */
async function lastId(page) {
  return Number(await page.locator('#log > li[data-id]').last().getAttribute('data-id'));
}

async function waitRead(p, room, id, timeout = 10000) {
  const until = Date.now() + timeout;
  while (Date.now() < until) {
    if (readsSent(p).some((r) => r.room === room && r.id === id)) return;
    await sleep(50);
  }
  assert.fail(`no read of ${room} ${id}: ${JSON.stringify(readsSent(p))}`);
}

/* Each room's read ids only go forward, at most one every 2 s (timers fire late, never early). */
function assertForwardAndSpaced(list, floors = {}) {
  const byRoom = new Map();
  for (const r of list) {
    const prev = byRoom.get(r.room);
    const floor = floors[r.room] ?? 0;
    assert.ok(r.id > floor, `read ${r.room} ${r.id} is not past what the account read (${floor})`);
    if (prev) {
      assert.ok(r.id > prev.id, `read ids went back or repeated in ${r.room}: ${prev.id} then ${r.id}`);
      assert.ok(r.at - prev.at >= 1800, `two reads of ${r.room} ${r.at - prev.at} ms apart`);
    }
    byRoom.set(r.room, r);
  }
}

async function markInfo(page) {
  return page.evaluate(() => {
    const log = document.getElementById('log');
    const mark = log.querySelector(':scope > li.read-mark');
    if (!mark) return null;
    let next = mark.nextElementSibling;
    while (next && !next.matches('li.message')) next = next.nextElementSibling;
    let prev = mark.previousElementSibling;
    while (prev && !prev.matches('li.message')) prev = prev.previousElementSibling;
    return {
      role: mark.getAttribute('role'),
      label: mark.getAttribute('aria-label'),
      text: mark.textContent,
      next: next ? next.querySelector('.text').textContent : null,
      prev: prev ? prev.querySelector('.text').textContent : null,
      fromTop: mark.getBoundingClientRect().top - log.getBoundingClientRect().top,
      belowBottom: log.scrollHeight - log.scrollTop - log.clientHeight,
      marks: log.querySelectorAll(':scope > li.read-mark').length,
    };
  });
}

test('a reader reads rooms on one device; another device logs in and lands at the new messages', async () => {
  const tcp = await WintalkClient.connect(gw.tcpPort);
  const chatter = await open('chatter');
  const a = await open('reader');
  let b = null;
  try {
    for (let i = 0; i < 20; i++) await tcp.sayLine(`lobby-before-${i}`);
    await a.page.locator('#log > li', { hasText: 'lobby-before-19' }).waitFor();
    // Register: the page is the account's, and says how far it read in #lobby.
    await a.page.locator('#account-button').click();
    await a.page.locator('#login-password').fill(PW);
    await a.page.locator('#register-go').click();
    await a.page.locator('#account-button', { hasText: 'Account: reader' }).waitFor();
    // The gateway keeps the rooms an account joins while logged in, and
    // #lobby was joined before: a reload joins it logged in (its session).
    const beforeReload = readsSent(a).length;
    await a.page.reload();
    await a.page.locator('#status', { hasText: /^Connected as reader · / }).waitFor();
    await a.page.locator('#log > li', { hasText: 'lobby-before-19' }).waitFor();
    const lobbyRead = await lastId(a.page);
    await waitRead(a, '#lobby', lobbyRead);
    assert.equal(readsSent(chatter).length, 0, 'a guest sends no read');

    // #dev: joined and on screen; lines come quickly, read at most every 2 s.
    await a.page.locator('#join-input').fill('#dev');
    await a.page.locator('#join-input').press('Enter');
    await a.page.locator('#conversation-title', { hasText: '#dev' }).waitFor();
    await chatter.page.locator('#join-input').fill('#dev');
    await chatter.page.locator('#join-input').press('Enter');
    await chatter.page.locator('#conversation-title', { hasText: '#dev' }).waitFor();
    for (let i = 0; i < 4; i++) {
      await sayFromPage(chatter.page, `dev-before-${i}`);
      await sleep(300);
    }
    await a.page.locator('#log > li', { hasText: 'dev-before-3' }).waitFor();
    const devRead = await lastId(a.page);
    await waitRead(a, '#dev', devRead);
    // #lobby is not on screen: lines said there now are not read.
    for (let i = 0; i < 3; i++) await tcp.sayLine(`lobby-unseen-${i}`);
    await sleep(2500);
    assert.ok(!readsSent(a).some((r) => r.room === '#lobby' && r.id > lobbyRead), 'no read of a room not on screen');
    // Each page forward only; the reloaded one from where the one before was.
    const [one, two] = [readsSent(a).slice(0, beforeReload), readsSent(a).slice(beforeReload)];
    assertForwardAndSpaced(one);
    assertForwardAndSpaced(two);
    for (const r of two) {
      const last = one.filter((x) => x.room === r.room).at(-1);
      assert.ok(!last || r.id >= last.id, `after the reload ${r.room} ${r.id}, before it ${last && last.id}`);
    }
    assert.ok(readsSent(a).filter((r) => r.room === '#dev').length >= 2, JSON.stringify(readsSent(a)));
    await a.context.close();

    for (let i = 0; i < 30; i++) await tcp.sayLine(`lobby-after-${i}`);
    for (let i = 0; i < 40; i++) await sayFromPage(chatter.page, `dev-after-${i}`);

    // Another device logs in: `reads`, and the line where the account stopped.
    b = await open(null);
    await b.page.locator('#log > li', { hasText: 'lobby-after-29' }).waitFor();
    const fromIn = b.frames.length;
    await b.page.locator('#account-button').click();
    await b.page.locator('#login-nick').fill('reader');
    await b.page.locator('#login-password').fill(PW);
    await b.page.locator('#login-password').press('Enter');
    await b.page.locator('#account-button', { hasText: 'Account: reader' }).waitFor();
    await b.page.locator('#log > li.read-mark').waitFor();
    const got = b.frames.slice(fromIn).map((f) => JSON.parse(f)).flat().find((e) => e.type === 'reads');
    assert.deepEqual(got.rooms, { '#lobby': lobbyRead, '#dev': devRead });
    const lobby = await markInfo(b.page);
    assert.equal(lobby.role, 'separator');
    assert.match(lobby.label, /new messages/i);
    assert.equal(lobby.text, 'New messages');
    assert.equal(lobby.next, 'lobby-unseen-0', 'the line is before the first unread message');
    assert.equal(lobby.prev, 'lobby-before-19');
    assert.equal(lobby.marks, 1);
    assert.ok(Math.abs(lobby.fromTop) < 40, `landed at the line (it is ${lobby.fromTop} px from the top)`);
    assert.ok(lobby.belowBottom > 200, 'unread lines below, not scrolled to the end');
    assert.equal(await b.page.locator('#jump').isVisible(), true, 'a way to the latest');
    // Not at the end: #lobby is not read further (though the guest's page was at its end).
    await sleep(2500);
    assert.deepEqual(readsSent(b).filter((r) => r.room === '#lobby'), [], 'no read of #lobby before its end is seen');

    // #dev opened: at its line too.
    await b.page.locator('#room-list li[data-key] button.side-open', { hasText: '#dev' }).click();
    await b.page.locator('#conversation-title', { hasText: '#dev' }).waitFor();
    const dev = await markInfo(b.page);
    assert.equal(dev.next, 'dev-after-0');
    assert.equal(dev.prev, 'dev-before-3');
    assert.ok(Math.abs(dev.fromTop) < 40, `landed at #dev's line (${dev.fromTop} px from the top)`);
    // Read to the end: the page says so, forward of the account's position.
    await b.page.locator('#jump').click();
    const devEnd = await lastId(b.page);
    await waitRead(b, '#dev', devEnd);
    assertForwardAndSpaced(readsSent(b), { '#lobby': lobbyRead, '#dev': devRead });
    assert.deepEqual([...a.problems, ...b.problems, ...chatter.problems], []);
  } finally {
    tcp.close();
    await chatter.context.close();
    await a.context.close().catch(() => {});
    await b?.context.close();
  }
});

test('the read sender: forward only, once every 2 s per room, never below the account\'s floor', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await page.clock.install();
    await page.goto(gw.url);
    const out = await page.evaluate(async () => {
      const { ReadSender } = await import('/js/reads.js');
      const sent = [];
      let online = true;
      const r = new ReadSender((room, id) => online && sent.push(`${room} ${id}`) > 0);
      const step = (ms) => new Promise((res) => setTimeout(res, ms));
      r.seen('#a', 5); // at once
      r.seen('#a', 3); // backwards: nothing
      r.seen('#a', 5); // the same: nothing
      r.seen('#b', 2); // another room: at once
      r.seen('#a', 7); // within 2 s: waits
      r.seen('#a', 9); // the latest goes when it is time
      const early = sent.slice();
      await step(2100);
      const later = sent.slice();
      r.floor('#a', 20); // another device read further
      r.seen('#a', 15);
      await step(2100);
      const floored = sent.slice();
      online = false;
      r.seen('#a', 21);
      online = true;
      r.seen('#a', 21); // not sent before: tried again
      await step(2100);
      return { early, later, floored, last: sent.slice() };
    });
    assert.deepEqual(out.early, ['#a 5', '#b 2']);
    assert.deepEqual(out.later, ['#a 5', '#b 2', '#a 9']);
    assert.deepEqual(out.floored, out.later, 'nothing below the floor');
    assert.deepEqual(out.last, [...out.later, '#a 21']);
  } finally {
    await context.close();
  }
});
