// Rooms and private messages through a real gateway (wintalk.v2): pages and
// a WINTALK peer move between two rooms, whose lines, typing and people stay
// apart; unread counts and mention marks; private conversations between a
// page and the peer and between two pages; leaving and joining again; a
// reload and a silently dead network path that miss nothing in any room or
// conversation; the phone drawer; a restarted gateway noted in every room.
// Screenshots go to artifacts/rooms-*.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startGateway, stopGateway } from './lib/gateway.js';
import { launchBrowser, openParticipant, sayFromPage, waitConnected, ensureArtifactsDir } from './lib/browser.js';
import { WintalkClient } from './lib/wintalk.js';
import { Cutter } from './lib/cutter.js';

let gw;
let browser;
let alice;
let bob;
let carol; // the WINTALK peer

// Leaving a page (a reload, a cut) makes the browser log the socket's end.
const realProblems = (p) => p.problems.filter((x) => !/WebSocket|ERR_INTERNET_DISCONNECTED|ERR_CONNECTION/.test(x));

/* The lines of a room or conversation, on screen or not. A room that is not
   on screen keeps its log in the page, hidden: wait for its lines to be there
   (kept), not to be visible. */
const kept = { state: 'attached' };
const inView = (p, key) => p.page.locator(`#logs > ol[data-key="${key}"] > li`);
const inRoom = (p, room, text) => inView(p, `room:${room.toLowerCase()}`).filter({ hasText: text });
const onScreen = (p, text) => p.page.locator('#log > li', { hasText: text });
const side = (p, room) => p.page.locator(`#room-list li[data-room="${room}"]`);
const privateItem = (p, nick) => p.page.locator(`#private-list li[data-nick="${nick}"]`);
const title = (p) => p.page.locator('#conversation-title');

async function show(p, room) {
  await side(p, room).locator('.side-open').click();
  await title(p).filter({ hasText: new RegExp(`^${room}$`) }).waitFor();
}

async function showPrivate(p, nick) {
  await privateItem(p, nick).locator('.side-open').click();
  await title(p).filter({ hasText: `Private with ${nick}` }).waitFor();
}

/* Types a line in the page's box in the room or conversation on screen. */
const say = (p, text) => sayFromPage(p.page, text);

before(async () => {
  gw = await startGateway({ name: 'rooms-gateway' });
  browser = await launchBrowser();
  alice = await openParticipant(browser, gw.url, 'alice');
  bob = await openParticipant(browser, gw.url, 'bob');
  carol = await WintalkClient.connect(gw.tcpPort);
  await carol.sayLine('/nick carol');
  await alice.page.locator('#people li', { hasText: 'carol' }).waitFor();
});

after(async () => {
  carol?.close();
  await browser?.close();
  await stopGateway(gw);
});

test('a page and a WINTALK peer move to a second room; each room keeps its lines and people', { timeout: 60000 }, async () => {
  // A WINTALK peer is told where it is, in its pane, after its room's transcript.
  await carol.waitForText('* you are in #lobby (');
  await say(bob, 'a lobby line before anyone moves');
  await carol.waitForText('bob: a lobby line before anyone moves\r\n');

  await say(alice, '/join #dev');
  await title(alice).filter({ hasText: /^#dev$/ }).waitFor();
  await alice.page.locator('#status', { hasText: 'Connected as alice · #dev · 1 here' }).waitFor();
  await side(alice, '#dev').waitFor();

  await carol.sayLine('/join #dev');
  await carol.waitForText('* you are in #dev (2 here)');
  // One R frame: the pane is #dev's transcript now, not the lobby's.
  assert.ok(!carol.view.includes('a lobby line before anyone moves'), carol.view);
  await onScreen(alice, /carol joined from WINTALK/).waitFor();
  await alice.page.locator('#people li', { hasText: 'carol' }).waitFor();
  await alice.page.locator('#status', { hasText: '#dev · 2 here' }).waitFor();
  // In the lobby carol left this room (not the chat).
  await inRoom(alice, '#lobby', /carol left this room/).waitFor(kept);
  await bob.page.locator('#log > li', { hasText: /carol left this room/ }).waitFor();
  assert.equal(await bob.page.locator('#people li', { hasText: 'carol' }).count(), 0);

  await carol.sayLine('hola from WinTalk in dev');
  await onScreen(alice, 'hola from WinTalk in dev').waitFor();
  await say(alice, 'alice answers in dev');
  await carol.waitForText('alice: alice answers in dev\r\n');
  await say(bob, 'bob stays in the lobby');
  await inRoom(alice, '#lobby', 'bob stays in the lobby').waitFor(kept);

  assert.equal(await inRoom(alice, '#lobby', /hola from WinTalk|alice answers/).count(), 0);
  assert.equal(await onScreen(alice, 'bob stays in the lobby').count(), 0);
  assert.equal(await bob.page.locator('#log > li', { hasText: /hola from WinTalk|alice answers/ }).count(), 0);
  assert.ok(!carol.view.includes('bob stays in the lobby'), 'the lobby is not in a #dev pane');
  // The lobby's line counts as unread for alice, who is looking at #dev.
  await side(alice, '#lobby').locator('.unread', { hasText: /^[1-9]/ }).waitFor();
});

test('live typing shows in its own room only', { timeout: 60000 }, async () => {
  await carol.type('carol is typing in dev');
  await alice.page.locator('#drafts .draft', { hasText: 'carol is typing in dev' }).waitFor();
  assert.equal(await bob.page.locator('#drafts .draft').count(), 0, 'bob is not in #dev');
  await carol.replace('');
  await alice.page.locator('#drafts .draft').waitFor({ state: 'detached' });

  await bob.page.locator('#join-input').fill('#dev');
  await bob.page.locator('#join-input').press('Enter');
  await title(bob).filter({ hasText: /^#dev$/ }).waitFor();
  await bob.page.locator('#status', { hasText: '#dev · 3 here' }).waitFor();
  // bob's join shows the room's history.
  await onScreen(bob, 'hola from WinTalk in dev').waitFor();

  await alice.page.locator('#input').pressSequentially('alice drafts in dev', { delay: 10 });
  await bob.page.locator('#drafts .draft', { hasText: 'alice drafts in dev' }).waitFor();
  // alice turns to the lobby: #dev no longer sees her draft, which waits in her box.
  await show(alice, '#lobby');
  await bob.page.locator('#drafts .draft', { hasText: 'alice drafts in dev' }).waitFor({ state: 'detached' });
  assert.equal(await alice.page.locator('#input').inputValue(), '');
  await show(alice, '#dev');
  assert.equal(await alice.page.locator('#input').inputValue(), 'alice drafts in dev');
  await alice.page.locator('#input').fill('');
  await bob.page.locator('#drafts .draft').waitFor({ state: 'detached' });
  await show(alice, '#lobby');
});

test('unread counts and mention marks follow what the reader has not looked at', { timeout: 60000 }, async () => {
  await side(alice, '#lobby').locator('.unread').waitFor({ state: 'detached' });
  await say(bob, 'one for the count');
  await say(bob, 'malice is not a mention');
  // bob's lines and carol's come on two sockets: carol speaks after bob's are in.
  await onScreen(bob, 'malice is not a mention').waitFor();
  await carol.sayLine('from carol in dev');
  await side(alice, '#dev').locator('.unread', { hasText: '3' }).waitFor();
  assert.equal(await side(alice, '#dev').locator('.mention-mark').count(), 0);
  await say(bob, 'Alice: look at this');
  await side(alice, '#dev').locator('.unread', { hasText: '4' }).waitFor();
  await side(alice, '#dev').locator('.mention-mark').waitFor();
  assert.equal(await alice.page.title(), '(4) WinTalk');
  // bob, who is looking at #dev, counts nothing there.
  assert.equal(await side(bob, '#dev').locator('.unread').count(), 0);

  await show(alice, '#dev');
  assert.equal(await side(alice, '#dev').locator('.unread, .mention-mark').count(), 0);
  assert.equal(await alice.page.title(), 'WinTalk');
  const texts = await alice.page.locator('#log > li').allTextContents();
  const at = (s) => texts.findIndex((t) => t.includes(s));
  assert.ok(at('one for the count') < at('malice is not') && at('malice is not') < at('from carol in dev') &&
    at('from carol in dev') < at('Alice: look at this'), texts.join(' | '));
});

test('private conversations: a page with the WINTALK peer, and two pages', { timeout: 60000 }, async () => {
  await say(alice, '/msg carol just between us');
  await carol.waitForText('* alice -> you: just between us');
  await title(alice).filter({ hasText: 'Private with carol' }).waitFor();
  await alice.page.locator('#log > li.mine', { hasText: 'alice: just between us' }).waitFor();

  await carol.sayLine('/msg alice understood');
  await carol.waitForText('* you -> alice: understood');
  await onScreen(alice, 'carol: understood').waitFor();

  await show(alice, '#lobby');
  await carol.sayLine('/msg alice one more thing');
  await privateItem(alice, 'carol').locator('.unread', { hasText: '1' }).waitFor();

  // bob clicks alice's nick among those in #dev, and writes.
  await bob.page.locator('#people button.person-open', { hasText: 'alice' }).click();
  await title(bob).filter({ hasText: 'Private with alice' }).waitFor();
  await say(bob, 'from bob, privately');
  await onScreen(bob, 'bob: from bob, privately').waitFor();
  await privateItem(alice, 'bob').locator('.unread', { hasText: '1' }).waitFor();
  await showPrivate(alice, 'bob');
  await say(alice, 'thanks bob');
  await onScreen(bob, 'alice: thanks bob').waitFor();

  // Private lines are in no room, for anyone.
  for (const p of [alice, bob]) {
    for (const room of ['#lobby', '#dev']) {
      assert.equal(await inRoom(p, room, /just between us|understood|one more thing|privately|thanks bob/).count(), 0);
    }
  }
  assert.equal((carol.view.match(/\* alice -> you: just between us/g) ?? []).length, 1);

  // Nobody of that name: refused in that conversation, which can be closed.
  await say(alice, '/msg nobody are you there?');
  await title(alice).filter({ hasText: 'Private with nobody' }).waitFor();
  await alice.page.locator('#log > li.error[data-code="550"]', { hasText: 'no one is called nobody' }).waitFor();
  await privateItem(alice, 'nobody').locator('.side-close').click();
  await privateItem(alice, 'nobody').waitFor({ state: 'detached' });
  await title(alice).filter({ hasText: /^#lobby$/ }).waitFor();
});

test('leaving a room with its × or /part, joining again; #lobby stays', { timeout: 60000 }, async () => {
  await show(bob, '#dev');
  await side(bob, '#dev').locator('.side-close').click();
  await side(bob, '#dev').waitFor({ state: 'detached' });
  await title(bob).filter({ hasText: /^#lobby$/ }).waitFor();
  await inRoom(alice, '#dev', /bob left this room/).waitFor(kept);
  assert.equal(await side(bob, '#lobby').locator('.side-close').count(), 0);

  await say(bob, '/part');
  await onScreen(bob, 'Everyone stays in #lobby').waitFor();
  // A refused command stays in the box, to be mended or cleared.
  assert.equal(await bob.page.locator('#input').inputValue(), '/part');
  await bob.page.locator('#input').fill('');
  await bob.page.locator('#join-input').fill('no way');
  await bob.page.locator('#join-input').press('Enter');
  await bob.page.locator('#join-error', { hasText: 'A room name is #' }).waitFor();
  await bob.page.locator('#join-input').fill('');

  await say(bob, '/join #DEV');
  await title(bob).filter({ hasText: /^#(dev|DEV)$/ }).waitFor();
  // One room whatever the case: its history comes back, and it is listed once.
  await onScreen(bob, 'Alice: look at this').waitFor();
  assert.equal(await bob.page.locator('#room-list > li').count(), 2);
  await say(bob, '/part');
  await title(bob).filter({ hasText: /^#lobby$/ }).waitFor();
  assert.equal(await bob.page.locator('#room-list > li').count(), 1);
});

test('a reload brings back every room and private conversation, and the token stays secret', { timeout: 90000 }, async () => {
  await show(alice, '#dev');
  await alice.page.reload();
  await waitConnected(alice.page, 20000);
  await alice.page.locator('#status', { hasText: 'Connected as alice ·' }).waitFor({ timeout: 20000 });
  assert.deepEqual(await alice.page.locator('#room-list > li').evaluateAll((lis) => lis.map((li) => li.dataset.room)),
    ['#lobby', '#dev']);
  assert.deepEqual(await alice.page.locator('#private-list > li').evaluateAll((lis) => lis.map((li) => li.dataset.nick)),
    ['carol', 'bob']);
  await title(alice).filter({ hasText: /^#dev$/ }).waitFor();
  // The room's earlier lines are there again, once each.
  await onScreen(alice, 'hola from WinTalk in dev').waitFor();
  assert.equal(await onScreen(alice, 'Alice: look at this').count(), 1);
  // The private messages come back through the resumed identity.
  await showPrivate(alice, 'carol');
  for (const text of ['alice: just between us', 'carol: understood', 'carol: one more thing']) {
    await onScreen(alice, text).waitFor();
    assert.equal(await onScreen(alice, text).count(), 1, text);
  }
  await showPrivate(alice, 'bob');
  await onScreen(alice, 'bob: from bob, privately').waitFor();
  // The page still talks in both rooms and privately.
  await carol.sayLine('/msg alice after your reload');
  await privateItem(alice, 'carol').locator('.unread', { hasText: '1' }).waitFor();
  await carol.sayLine('dev after the reload');
  await inRoom(alice, '#dev', 'dev after the reload').waitFor(kept);

  const session = JSON.parse(await alice.page.evaluate(() => localStorage.getItem('wintalk.session')));
  assert.match(session.token, /^[0-9a-f]{32}$/);
  const page = await alice.page.evaluate(() => document.documentElement.outerHTML + document.title);
  assert.ok(!page.includes(session.token), 'the token is not shown');
  assert.deepEqual(realProblems(alice), []);
});

test('a page whose network path dies silently misses nothing in any room or conversation', { timeout: 120000 }, async () => {
  const cutter = new Cutter(gw.httpPort);
  const relay = await cutter.listen();
  const victim = await openParticipant(browser, `http://127.0.0.1:${relay}/`, 'victim');
  try {
    await say(victim, '/join #dev');
    await victim.page.locator('#status', { hasText: 'Connected as victim · #dev' }).waitFor();
    await carol.sayLine('dev before the hang');
    await onScreen(victim, 'dev before the hang').waitFor();

    // The gateway goes on taking the page for connected, and sends into the void.
    cutter.hang();
    await victim.page.locator('#status', { hasText: /Reconnecting/ }).waitFor({ timeout: 10000 });
    const lobbyLines = [];
    const devLines = [];
    for (let i = 1; i <= 3; i++) {
      lobbyLines.push(`lobby while away ${i}`);
      await say(bob, lobbyLines.at(-1));
      await onScreen(bob, lobbyLines.at(-1)).waitFor();
      devLines.push(`dev while away ${i}`);
      await carol.sayLine(devLines.at(-1));
      await inRoom(alice, '#dev', devLines.at(-1)).waitFor(kept);
    }
    await carol.sayLine('/msg victim private while away');
    await carol.waitForText('* you -> victim: private while away');
    await say(bob, '/msg victim from bob while away');
    await onScreen(bob, 'bob: from bob while away').waitFor();
    await show(bob, '#lobby');

    cutter.restore();
    await waitConnected(victim.page, 30000);
    await inRoom(victim, '#lobby', lobbyLines.at(-1)).waitFor(kept);
    await inRoom(victim, '#dev', devLines.at(-1)).waitFor(kept);
    for (const [room, lines] of [['#lobby', lobbyLines], ['#dev', devLines]]) {
      const got = (await inView(victim, `room:${room}`).allTextContents()).filter((t) => / while away \d/.test(t))
        .map((t) => t.match(/\w+ while away \d/)[0]);
      assert.deepEqual(got, lines, room);
    }
    await privateItem(victim, 'carol').locator('.unread', { hasText: '1' }).waitFor();
    await privateItem(victim, 'bob').locator('.unread', { hasText: '1' }).waitFor();
    await side(victim, '#lobby').locator('.unread', { hasText: /^[3-9]/ }).waitFor();
    assert.equal(await inView(victim, 'private:carol').filter({ hasText: 'carol: private while away' }).count(), 1);
    assert.equal(await inView(victim, 'private:bob').filter({ hasText: 'bob: from bob while away' }).count(), 1);
    // Nothing twice: every room's ids once each, increasing.
    for (const key of ['room:#lobby', 'room:#dev']) {
      const ids = await inView(victim, key).evaluateAll((lis) => lis.filter((li) => li.dataset.id).map((li) => Number(li.dataset.id)));
      assert.equal(new Set(ids).size, ids.length, `${key}: ${ids}`);
      assert.deepEqual([...ids].sort((a, b) => a - b), ids, `${key} in order`);
    }
    cutter.release();
    assert.deepEqual(realProblems(victim), []);
  } finally {
    await victim.context.close();
    await cutter.close();
  }
});

test('screenshots; phone width: the sidebar is a drawer with the unread total', { timeout: 90000 }, async () => {
  const dir = ensureArtifactsDir();
  const phone = await openParticipant(browser, gw.url, 'phil', { viewport: { width: 360, height: 740 } });
  try {
    assert.equal(await phone.page.locator('#sidebar').isVisible(), false);
    assert.equal(await phone.page.locator('#rooms-toggle').isVisible(), true);
    await say(phone, '/join #dev');
    await title(phone).filter({ hasText: /^#dev$/ }).waitFor();
    await phone.page.locator('#rooms-toggle').click();
    await side(phone, '#lobby').locator('.side-open').click();
    await phone.page.locator('#sidebar').waitFor({ state: 'hidden' });
    await carol.sayLine('phil, are you on your phone?');
    await carol.sayLine('Mira https://example.com/talk');
    await phone.page.locator('#rooms-badge', { hasText: '2' }).waitFor();
    assert.match(await phone.page.locator('#rooms-badge').getAttribute('class'), /mention/);

    // A desktop with two rooms and two private conversations, some unread.
    await show(alice, '#lobby');
    await say(bob, 'Hola, ¿qué tal? 😀');
    await carol.sayLine('/msg alice see you in #dev');
    await privateItem(alice, 'carol').locator('.unread', { hasText: '2' }).waitFor();
    await carol.sayLine('alice: the build is green');
    await side(alice, '#dev').locator('.mention-mark').waitFor();
    await carol.type('and I am typing this right n');
    await alice.page.locator('#input').fill('a draft of my own');
    await alice.page.screenshot({ path: path.join(dir, 'rooms-desktop.png') });
    await show(alice, '#dev');
    await alice.page.locator('#drafts .draft', { hasText: 'right n' }).waitFor();
    await alice.page.screenshot({ path: path.join(dir, 'rooms-desktop-dev.png') });
    await alice.page.emulateMedia({ colorScheme: 'dark' });
    await alice.page.screenshot({ path: path.join(dir, 'rooms-desktop-dark.png') });
    await alice.page.emulateMedia({ colorScheme: 'light' });
    await showPrivate(alice, 'carol');
    await onScreen(alice, 'carol: see you in #dev').waitFor();
    await alice.page.screenshot({ path: path.join(dir, 'rooms-desktop-private.png') });

    await phone.page.screenshot({ path: path.join(dir, 'rooms-phone.png') });
    await phone.page.locator('#rooms-toggle').click();
    await phone.page.locator('#sidebar').waitFor({ state: 'visible' });
    await phone.page.screenshot({ path: path.join(dir, 'rooms-phone-drawer.png') });
    await side(phone, '#dev').locator('.side-open').click();
    await phone.page.locator('#sidebar').waitFor({ state: 'hidden' });
    await onScreen(phone, 'phil, are you on your phone?').waitFor();
    assert.equal(await phone.page.locator('#rooms-badge').isVisible(), false);
    await phone.page.screenshot({ path: path.join(dir, 'rooms-phone-dev.png') });
    const widths = await phone.page.evaluate(() => ({ doc: document.documentElement.scrollWidth, view: window.innerWidth }));
    assert.ok(widths.doc <= widths.view, `page is ${widths.doc}px wide in a ${widths.view}px window`);
    await carol.replace('');
    assert.deepEqual(phone.problems, []);
  } finally {
    await phone.context.close();
  }
});

test('a restarted gateway: every room says so, and the page carries on in each', { timeout: 120000 }, async () => {
  const { httpPort, tcpPort } = gw;
  carol.close();
  await stopGateway(gw);
  gw = await startGateway({ name: 'rooms-gateway-2', ports: { http: httpPort, tcp: tcpPort } });
  await waitConnected(alice.page, 40000);
  await inRoom(alice, '#lobby', 'gateway has restarted').waitFor(kept);
  await inRoom(alice, '#dev', 'gateway has restarted').waitFor(kept);
  for (const room of ['#lobby', '#dev']) {
    assert.equal(await inRoom(alice, room, 'gateway has restarted').count(), 1, room);
  }
  carol = await WintalkClient.connect(gw.tcpPort);
  await carol.sayLine('/nick carol');
  await carol.sayLine('/join #dev');
  await carol.waitForText('* you are in #dev (');
  await carol.sayLine('dev after the restart');
  await inRoom(alice, '#dev', 'dev after the restart').waitFor(kept);
  assert.equal(await inRoom(alice, '#dev', 'dev after the restart').count(), 1);
  await show(alice, '#dev');
  await say(alice, 'alice is back in dev');
  await carol.waitForText('alice: alice is back in dev\r\n');
  assert.deepEqual(realProblems(alice), []);
  assert.deepEqual(realProblems(bob), []);
});
