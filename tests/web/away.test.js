// Present while away, in real Chromium against a real gateway: a browser
// registers, is in #lobby and #dev, and closes every tab. Nobody sees it
// leave: the people lists keep it, marked away, and neither a page nor a
// WINTALK pane gets a line. Meanwhile a guest sends it three private
// messages and talks in its rooms. It logs in from a new browser profile
// and finds the three messages and the room lines it missed, marked unread
// (the private conversation's count, the rooms' "New messages" line), and
// nobody sees it come back either: it is listed here again.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, stopGateway } from './lib/gateway.js';
import path from 'node:path';
import { launchBrowser, openParticipant, sayFromPage, ensureArtifactsDir } from './lib/browser.js';
import { WintalkClient } from './lib/wintalk.js';

let browser;
let gw;

// The reload grace kept short: a closed tab is away after it.
const GRACE_S = 2;

before(async () => {
  browser = await launchBrowser();
  gw = await startGateway({ name: 'away-gateway', extraArgs: ['--rate', '0', '--reload-grace', String(GRACE_S)] });
});

after(async () => {
  await browser?.close();
  await stopGateway(gw, 'away-gateway');
});

const PW = 'away test password 1';

const person = (page, nick) => page.locator('#people li.person', { hasText: nick });
const privateItem = (page, nick) => page.locator(`#private-list li[data-nick="${nick}"]`);
const roomItem = (page, name) => page.locator('#room-list li[data-key]', { hasText: name });

async function openRoom(page, name) {
  await roomItem(page, name).locator('button.side-open').click();
  await page.locator('#conversation-title', { hasText: name }).waitFor();
}

async function joinRoom(page, name) {
  await page.locator('#join-input').fill(name);
  await page.locator('#join-input').press('Enter');
  await page.locator('#conversation-title', { hasText: name }).waitFor();
}

/* The lines of the log on screen that speak of nick joining or leaving. */
async function comingsAndGoings(page, nick) {
  return (await page.locator('#log > li.event').allTextContents())
    .filter((t) => t.includes(nick) && /joined|left/.test(t));
}

test('an account that closes every tab stays, away; it finds what it missed, unread, from a new profile', { timeout: 120000 }, async () => {
  const tcp = await WintalkClient.connect(gw.tcpPort);
  const bob = await openParticipant(browser, gw.url, 'bob');
  let wanda = null;
  let again = null;
  try {
    await tcp.sayLine('/nick tom');
    await tcp.waitForText('is now tom');
    await tcp.sayLine('/join #dev');
    await tcp.waitForText('#dev');
    // Wanda registers, joins #dev, opens a second tab.
    wanda = await openParticipant(browser, gw.url, 'wanda');
    await wanda.page.locator('#account-button').click();
    await wanda.page.locator('#login-password').fill(PW);
    await wanda.page.locator('#register-go').click();
    await wanda.page.locator('#account-button', { hasText: 'Account: wanda' }).waitFor();
    await joinRoom(wanda.page, '#dev');
    const tab2 = await wanda.context.newPage();
    await tab2.goto(gw.url);
    await tab2.locator('#status', { hasText: /^Connected as wanda · / }).waitFor();
    await joinRoom(bob.page, '#dev');
    await person(bob.page, 'wanda').waitFor();
    const joinsBefore = (await comingsAndGoings(bob.page, 'wanda')).length;
    await tcp.waitForText('wanda joined');
    const paneJoins = tcp.view.split('wanda joined').length;

    // Every tab closed: past the grace, listed away in both rooms.
    await wanda.context.close();
    wanda = null;
    await person(bob.page, 'wanda').and(bob.page.locator('.away')).waitFor({ timeout: GRACE_S * 1000 + 10000 });
    assert.equal(await person(bob.page, 'wanda').locator('.via-away').textContent(), 'away');
    await bob.page.locator('#people-count', { hasText: /, 1 away$/ }).waitFor();
    await openRoom(bob.page, '#lobby');
    await person(bob.page, 'wanda').and(bob.page.locator('.away')).waitFor();
    await bob.page.screenshot({ path: path.join(ensureArtifactsDir(), 'away-people.png') });
    await tcp.sayLine('/who');
    await tcp.waitForText('away: wanda');

    // Three private messages to her, and lines in both rooms.
    await person(bob.page, 'wanda').locator('button.person-open').click();
    await bob.page.locator('#conversation-title', { hasText: 'Private with wanda' }).waitFor();
    for (let i = 1; i <= 3; i++) await sayFromPage(bob.page, `psst ${i}`);
    await bob.page.locator('#log > li', { hasText: 'is away: the message is kept for them' }).first().waitFor();
    await openRoom(bob.page, '#lobby');
    for (let i = 0; i < 2; i++) await sayFromPage(bob.page, `lobby missed ${i}`);
    await openRoom(bob.page, '#dev');
    for (let i = 0; i < 5; i++) await sayFromPage(bob.page, `dev missed ${i}`);
    await bob.page.locator('#log > li', { hasText: 'dev missed 4' }).waitFor();
    for (let i = 0; i < 3; i++) await tcp.sayLine(`tom missed ${i}`);
    await bob.page.locator('#log > li', { hasText: 'tom missed 2' }).waitFor();

    // A new profile logs in: the three messages, unread; the rooms' lines after a
    // "New messages" line.
    again = await openParticipant(browser, gw.url, null);
    await again.page.locator('#account-button').click();
    await again.page.locator('#login-nick').fill('wanda');
    await again.page.locator('#login-password').fill(PW);
    await again.page.locator('#login-password').press('Enter');
    await again.page.locator('#account-button', { hasText: 'Account: wanda' }).waitFor();
    await privateItem(again.page, 'bob').locator('.unread', { hasText: '3' }).waitFor();
    await roomItem(again.page, '#dev').locator('.unread', { hasText: '8' }).waitFor();
    const afterMark = () => again.page.evaluate(() => {
      const out = [];
      for (let li = document.querySelector('#log > li.read-mark'); li; li = li.nextElementSibling) {
        if (li.matches('li.message')) out.push(li.querySelector('.text').textContent);
      }
      return out;
    });
    await again.page.locator('#log > li.read-mark').waitFor();
    assert.deepEqual(await afterMark(), ['lobby missed 0', 'lobby missed 1']);
    await openRoom(again.page, '#dev');
    await again.page.locator('#log > li.read-mark').waitFor();
    assert.deepEqual(await afterMark(),
      [0, 1, 2, 3, 4].map((i) => `dev missed ${i}`).concat([0, 1, 2].map((i) => `tom missed ${i}`)));
    await privateItem(again.page, 'bob').locator('button.side-open').click();
    await again.page.locator('#conversation-title', { hasText: 'Private with bob' }).waitFor();
    for (let i = 1; i <= 3; i++) {
      assert.equal(await again.page.locator('#log > li', { hasText: `psst ${i}` }).count(), 1, `psst ${i} once`);
    }

    // Back: listed here again, and nobody saw her leave or come back.
    await bob.page.locator('#people li.person:not(.away)', { hasText: 'wanda' }).waitFor();
    await openRoom(bob.page, '#lobby');
    await bob.page.locator('#people li.person:not(.away)', { hasText: 'wanda' }).waitFor();
    await openRoom(bob.page, '#dev');
    assert.equal((await comingsAndGoings(bob.page, 'wanda')).length, joinsBefore, 'no line of wanda leaving or joining #dev');
    await openRoom(bob.page, '#lobby');
    assert.deepEqual((await comingsAndGoings(bob.page, 'wanda')).filter((t) => /left/.test(t)), []);
    await sleep(300);
    assert.ok(!tcp.view.includes('wanda left'), `the pane saw wanda leave: ${JSON.stringify(tcp.view)}`);
    assert.equal(tcp.view.split('wanda joined').length, paneJoins, 'the pane saw wanda join again');
    assert.deepEqual([...bob.problems, ...again.problems], []);
  } finally {
    tcp.close();
    await bob.context.close();
    await wanda?.context.close().catch(() => {});
    await again?.context.close();
  }
});
