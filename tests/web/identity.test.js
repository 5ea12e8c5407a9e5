// Who is who, in real Chromium against real gateways: a second tab of a
// browser is the same person (its nick, its rooms, its private
// conversations, no join line for anyone); the reader's own lines are known
// by the identity's public name, not by a pid that a restarted gateway gives
// to someone else; a private conversation follows the other person's nick.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, stopGateway, freshDataDir } from './lib/gateway.js';
import { launchBrowser, openParticipant, waitConnected, sayFromPage, logLines } from './lib/browser.js';
import { WintalkClient } from './lib/wintalk.js';
import fs from 'node:fs';

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

const line = (page, text) => page.locator('#log > li', { hasText: text });
const side = (page, room) => page.locator(`#room-list > li[data-room="${room}"]`);
const privateItem = (page, nick) => page.locator(`#private-list > li[data-nick="${nick}"]`);

/* The events of the page's WebSocket frames received, flattened. */
function received(p) {
  const out = [];
  for (const f of p.frames) {
    let v;
    try {
      v = JSON.parse(f);
    } catch {
      continue;
    }
    for (const e of Array.isArray(v) ? v : [v]) out.push(e);
  }
  return out;
}

/* Another tab of the same browser (context): its problems collected like openParticipant's. */
async function openTab(context, url) {
  const page = await context.newPage();
  const problems = [];
  const frames = [];
  page.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push(String(f.payload))));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  await page.goto(url);
  return { page, problems, frames };
}

test('a second tab is the same person: its nick, rooms and private conversations, no join line', { timeout: 90000 }, async () => {
  const gw = await startGateway({ name: 'identity-tabs-gateway' });
  let dora;
  try {
    const alice = await openParticipant(browser, gw.url, 'alice');
    const bob = await openParticipant(browser, gw.url, 'bob');
    dora = await WintalkClient.connect(gw.tcpPort);
    await dora.sayLine('/nick dora');
    await line(alice.page, 'is now dora').waitFor();
    // alice is in #dev too, and talks privately with dora.
    await sayFromPage(alice.page, '/join #dev');
    await side(alice.page, '#dev').waitFor();
    await dora.sayLine('/msg alice before the tab');
    await privateItem(alice.page, 'dora').waitFor();
    await alice.page.locator('#room-list li[data-room="#lobby"] .side-open').click();
    await line(bob.page, 'alice joined').first().waitFor();
    const bobLinesBefore = (await logLines(bob.page)).length;
    const doraBefore = dora.view.length;

    // The second tab of alice's browser.
    const tab = await openTab(alice.context, gw.url);
    await waitConnected(tab.page);
    await tab.page.locator('#status', { hasText: /^Connected as alice · / }).waitFor();
    assert.equal(await tab.page.locator('#my-nick').textContent(), 'alice');
    assert.equal(await tab.page.locator('#nick-dialog').isVisible(), false, 'the nick dialog opened');
    // Same rooms, same private conversation (its earlier line included).
    await side(tab.page, '#dev').waitFor();
    await privateItem(tab.page, 'dora').waitFor();
    // Nothing refused, no guest anywhere.
    await tab.page.waitForTimeout(1500);
    assert.equal(await tab.page.locator('#log > li.error, #logs li.error').count(), 0);
    assert.deepEqual(received(tab).filter((e) => e.type === 'error' || (e.type === 'nick' && e.old === 'alice')), []);
    assert.equal(await tab.page.locator('#logs li.note', { hasText: /guest-/ }).count(), 0);
    const welcome = received(tab).find((e) => e.type === 'welcome');
    assert.equal(welcome.you.nick, 'alice');

    // Nobody else sees the tab arrive: no join line, alice listed once.
    await dora.sayLine('after the tab');
    await line(bob.page, 'after the tab').waitFor();
    const bobNew = (await logLines(bob.page)).slice(bobLinesBefore);
    assert.deepEqual(bobNew.filter((t) => /joined|guest-/.test(t)), [], bobNew.join(' | '));
    assert.doesNotMatch(dora.view.slice(doraBefore), /guest-|joined/);
    assert.equal(await bob.page.locator('#people li', { hasText: 'alice' }).count(), 1);
    await bob.page.locator('#status', { hasText: '· 3 here' }).waitFor();
    // The tab's own list has her once too (its welcome lists the person once).
    assert.equal(await tab.page.locator('#people li', { hasText: 'alice' }).count(), 1);
    await tab.page.locator('#room-list li[data-room="#lobby"] .side-open').click();
    await tab.page.locator('#status', { hasText: '· 3 here' }).waitFor();

    // Both tabs get a private message, and each shows the other's lines as its own.
    await dora.sayLine('/msg alice to both tabs');
    for (const page of [alice.page, tab.page]) {
      await privateItem(page, 'dora').locator('.side-open').click();
      await line(page, 'to both tabs').waitFor();
    }
    await alice.page.locator('#room-list li[data-room="#lobby"] .side-open').click();
    await tab.page.locator('#room-list li[data-room="#lobby"] .side-open').click();
    await sayFromPage(tab.page, 'said in the second tab');
    await line(alice.page, 'said in the second tab').waitFor();
    assert.equal(await alice.page.locator('#log > li.mine', { hasText: 'said in the second tab' }).count(), 1);
    assert.equal(await bob.page.locator('#log > li.mine', { hasText: 'said in the second tab' }).count(), 0);

    // A nick change in one tab is the other's too.
    await sayFromPage(alice.page, '/nick alicia');
    await line(bob.page, 'alice is now alicia').waitFor();
    await tab.page.locator('#my-nick', { hasText: 'alicia' }).waitFor();
    assert.equal((dora.view.match(/alice is now alicia/g) ?? []).length, 1, dora.view);

    // The tab goes: alicia stays, nobody sees her leave.
    await tab.page.close();
    await dora.sayLine('after the tab closed');
    await line(bob.page, 'after the tab closed').waitFor();
    await bob.page.waitForTimeout(500);
    assert.equal(await line(bob.page, /alicia left/).count(), 0);
    assert.equal(await bob.page.locator('#people li', { hasText: 'alicia' }).count(), 1);
    assert.deepEqual([...alice.problems, ...bob.problems, ...tab.problems], []);
    await alice.context.close();
    await bob.context.close();
  } finally {
    dora?.close();
    await stopGateway(gw);
  }
});

test('a second tab of a guest is the same guest, without a dialog or a join line', { timeout: 60000 }, async () => {
  const gw = await startGateway({ name: 'identity-guest-gateway' });
  try {
    const bob = await openParticipant(browser, gw.url, 'bob');
    const guest = await openParticipant(browser, gw.url, null);
    const nick = await guest.page.locator('#my-nick').textContent();
    assert.match(nick, /^guest-\d+$/);
    await line(bob.page, `${nick} joined`).waitFor();
    const tab = await openTab(guest.context, gw.url);
    await waitConnected(tab.page);
    assert.equal(await tab.page.locator('#my-nick').textContent(), nick);
    assert.equal(await tab.page.locator('#nick-dialog').isVisible(), false);
    await sayFromPage(tab.page, 'from the guest\'s second tab');
    await line(bob.page, 'from the guest\'s second tab').waitFor();
    assert.equal(await line(bob.page, /guest-\d+ joined/).count(), 1);
    assert.equal(await bob.page.locator('#people li', { hasText: 'guest-' }).count(), 1);
    await guest.context.close();
    await bob.context.close();
  } finally {
    await stopGateway(gw);
  }
});

test('after a restart, the line of someone who now has the reader\'s old pid is not the reader\'s', { timeout: 90000 }, async () => {
  const dataDir = freshDataDir();
  let gw = await startGateway({ name: 'identity-restart-gateway', dataDir });
  const ports = { http: gw.httpPort, tcp: gw.tcpPort };
  const tcps = [];
  try {
    // First run: alice, then bob (a WINTALK peer), each says a line.
    const alice = await openParticipant(browser, gw.url, 'alice');
    const bob = await WintalkClient.connect(gw.tcpPort);
    tcps.push(bob);
    await bob.sayLine('/nick bob');
    await bob.sayLine('bob in the first run');
    await sayFromPage(alice.page, 'alice in the first run');
    await line(alice.page, 'bob in the first run').waitFor();
    await bob.waitForText('alice: alice in the first run');
    const firstPids = Object.fromEntries(received(alice)
      .filter((e) => e.type === 'message' && e.room === '#lobby').map((e) => [e.nick, e.pid]));
    await alice.page.close();
    bob.close();
    await stopGateway(gw);

    // Second run: the peers come first, so that alice gets bob's old pid.
    gw = await startGateway({ name: 'identity-restart-gateway-2', dataDir, ports });
    const ctx = alice.context;
    // Participants are numbered from 1 again: as many peers as came before
    // bob in the first run, then alice, who gets bob's old pid.
    for (let i = 1; i < firstPids.bob; i++) {
      const peer = await WintalkClient.connect(gw.tcpPort);
      tcps.push(peer);
      await peer.waitForText('you are in #lobby');
    }
    const { page, ...tab } = await openTab(ctx, gw.url);
    await waitConnected(page);
    const you = received(tab).find((e) => e.type === 'welcome').you;
    assert.equal(you.pid, firstPids.bob, `alice's pid now is bob's of before (${JSON.stringify(firstPids)})`);
    await line(page, 'bob in the first run').waitFor();
    await line(page, 'alice in the first run').waitFor();
    // bob's line has alice's pid of now: it is not hers; hers of before is.
    assert.equal(await page.locator('#log > li.mine', { hasText: 'bob in the first run' }).count(), 0);
    assert.equal(await page.locator('#log > li.mine', { hasText: 'alice in the first run' }).count(), 1);
    await sayFromPage(page, 'alice in the second run');
    await page.locator('#log > li.mine', { hasText: 'alice in the second run' }).waitFor();
    await ctx.close();
  } finally {
    for (const t of tcps) t.close();
    await stopGateway(gw);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a private conversation follows the other person\'s new nick', { timeout: 60000 }, async () => {
  const gw = await startGateway({ name: 'identity-rename-gateway' });
  try {
    const alice = await openParticipant(browser, gw.url, 'alice');
    const bob = await openParticipant(browser, gw.url, 'bob');
    await alice.page.locator('#people button.person-open', { hasText: 'bob' }).click();
    await sayFromPage(alice.page, 'hi bob');
    await privateItem(bob.page, 'alice').waitFor();

    await sayFromPage(bob.page, '/nick robert');
    // The conversation is now with robert, and says so.
    await alice.page.locator('#conversation-title', { hasText: 'Private with robert' }).waitFor();
    await line(alice.page, /bob is now robert/).waitFor();
    await privateItem(alice.page, 'robert').waitFor();
    assert.equal(await privateItem(alice.page, 'bob').count(), 0);
    assert.equal(await alice.page.locator('#log > li.mine', { hasText: 'alice: hi bob' }).count(), 1);

    // The next line reaches him: nothing refused, nothing lost.
    await sayFromPage(alice.page, 'still there?');
    await privateItem(bob.page, 'alice').locator('.side-open').click();
    await line(bob.page, 'still there?').waitFor();
    await line(alice.page, 'still there?').waitFor();
    assert.equal(await alice.page.locator('#logs li.error').count(), 0);
    assert.equal(await alice.page.locator('#input').inputValue(), '');
    assert.deepEqual([...alice.problems, ...bob.problems], []);
    await alice.context.close();
    await bob.context.close();
  } finally {
    await stopGateway(gw);
  }
});
