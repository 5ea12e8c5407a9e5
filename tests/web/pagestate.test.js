// The whole page with rooms and private conversations, its WebSocket
// scripted by the test (lib/scripted-socket.js): what the page sends for
// wintalk.v2 and what it shows for what it gets. Sidebar, unread counts and
// mention marks, per-room drafts, scroll positions and typing, joins and
// parts, private conversations, reloads, resumes and resets, phone width.
// rooms.test.js shows the same against the real gateway.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startGateway, stopGateway } from './lib/gateway.js';
import { launchBrowser, ensureArtifactsDir } from './lib/browser.js';
import {
  scriptedSocketInit, scripted, EPOCH, TOKEN, T0, ALICE, ALICE_IDENT, BOB, CAROL,
} from './lib/scripted-socket.js';

let gw;
let browser;

before(async () => {
  gw = await startGateway({ name: 'pagestate-gateway' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stopGateway(gw);
});

const entry = (room, { people = [ALICE, BOB], history = [], last = null, gap = false } = {}) => ({
  room, participants: people, participants_count: people.length, history,
  last_id: last ?? (history.length ? history.at(-1).id : 0), gap,
});
const welcome = (rooms, extra = {}) => ({
  type: 'welcome', code: 220, protocol: 'wintalk.v2', epoch: EPOCH, token: TOKEN,
  you: { pid: ALICE.pid, nick: 'alice', ident: ALICE_IDENT, via: 'web' }, rooms, private: [], private_id: 0, reset: false, ...extra,
});
const said = (room, id, who, text) => ({
  type: 'message', room, id, time: T0 + id * 1000, pid: who.pid, nick: who.nick,
  ...(who === ALICE ? { ident: ALICE_IDENT } : {}), via: who.via, text, me: false,
});
const privately = (id, from, other, text) => ({
  type: 'message', private: true, id, time: T0 + id * 1000, pid: from.pid, nick: from.nick, via: from.via,
  to: from === ALICE ? other : 'alice', with: other, text,
});

/* A page with a scripted socket and the nick alice remembered; returns {context, page, s, problems}. */
async function openPage({ viewport = { width: 1280, height: 800 }, context = null } = {}) {
  const ctx = context ?? await browser.newContext({ viewport });
  if (!context) {
    await ctx.addInitScript(scriptedSocketInit);
    await ctx.addInitScript(() => {
      if (!localStorage.getItem('wintalk.nick')) localStorage.setItem('wintalk.nick', 'alice');
    });
  }
  const page = await ctx.newPage();
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(gw.url);
  return { context: ctx, page, s: scripted(page), problems };
}

const side = (page, room) => page.locator(`#room-list li[data-room="${room}"]`);
const privateItem = (page, nick) => page.locator(`#private-list li[data-nick="${nick}"]`);
/* The lines of the conversation on screen (not its day lines or the marks at its ends). */
const logLines = (page) => page.locator('#log > li.line').allTextContents();
/* The lines of a view whether or not it is on screen. */
const viewLines = (page, key) => page.locator(`#logs > ol[data-key="${key}"] > li.line`).allTextContents();
const lastSent = async (s, type) => (await s.sent()).filter((m) => m.type === type).at(-1);

async function waitSent(s, pred, what) {
  for (let i = 0; i < 100; i++) {
    const found = (await s.sent()).find(pred);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the page never sent ${what}: ${JSON.stringify(await s.sent())}`);
}

test('the page offers wintalk.v2 only and says hello from nothing stored', async () => {
  const { context, page, s, problems } = await openPage();
  const hello = await s.accept();
  assert.deepEqual(await s.offered(), ['wintalk.v2']);
  assert.deepEqual(hello, { type: 'hello', rooms: { '#lobby': 0 }, private_id: 0, nick: 'alice' });
  await s.deliver(welcome([entry('#lobby', { history: [said('#lobby', 1, BOB, 'hi')] })]));
  await page.locator('#status', { hasText: 'Connected as alice · #lobby · 2 here' }).waitFor();
  assert.deepEqual(await page.locator('#room-list > li').evaluateAll((lis) => lis.map((li) => li.dataset.room)),
    ['#lobby']);
  assert.equal(await side(page, '#lobby').locator('.side-close').count(), 0, '#lobby cannot be left');
  assert.equal(await page.locator('#conversation-title').textContent(), '#lobby');
  assert.deepEqual((await logLines(page)).map((t) => t.replace(/^\d\d:\d\d /, '')), ['bob: hi']);
  assert.deepEqual(problems, []);
  await context.close();
});

test('unread counts and mention marks for rooms not on screen; cleared when shown', async () => {
  const { context, page, s, problems } = await openPage();
  await s.accept();
  await s.deliver(welcome([entry('#lobby')]));
  await page.locator('#status', { hasText: 'Connected as alice' }).waitFor();
  // Joined from the sidebar's field: the page shows the room at once.
  await page.locator('#join-input').fill('dev');
  await page.locator('#join-input').press('Enter');
  const join = await waitSent(s, (m) => m.type === 'join', 'a join');
  assert.deepEqual({ ...join, ref: 0 }, { type: 'join', room: '#dev', last_id: 0, ref: 0 });
  assert.equal(await page.locator('#conversation-title').textContent(), '#dev');
  await s.deliver({ type: 'joined', code: 250, room: '#dev', participants: [ALICE, BOB], participants_count: 2,
    history: [], last_id: 4, gap: false, ref: join.ref });
  await page.locator('#status', { hasText: '#dev · 2 here' }).waitFor();

  await side(page, '#lobby').locator('.side-open').click();
  await s.deliver([said('#dev', 5, BOB, 'one'), said('#dev', 6, BOB, 'alicex is someone else'),
    said('#dev', 7, ALICE, 'alice here, from another tab')]);
  await side(page, '#dev').locator('.unread', { hasText: '2' }).waitFor();
  assert.equal(await side(page, '#dev').locator('.mention-mark').count(), 0, 'alicex is not a mention');
  await s.deliver(said('#dev', 8, BOB, 'hey ALICE, look'));
  await side(page, '#dev').locator('.unread', { hasText: '3' }).waitFor();
  await side(page, '#dev').locator('.mention-mark').waitFor();
  assert.equal(await page.title(), '(3) WinTalk');
  // Lines of #dev are not in #lobby.
  assert.equal((await logLines(page)).filter((t) => /one|ALICE/.test(t)).length, 0);
  // The room on screen counts nothing.
  await s.deliver(said('#lobby', 3, BOB, 'alice, in the lobby'));
  await page.locator('#log > li', { hasText: 'alice, in the lobby' }).waitFor();
  assert.equal(await side(page, '#lobby').locator('.unread, .mention-mark').count(), 0);

  await side(page, '#dev').locator('.side-open').click();
  assert.equal(await side(page, '#dev').locator('.unread, .mention-mark').count(), 0);
  assert.equal(await page.title(), 'WinTalk');
  assert.equal(await side(page, '#dev').getAttribute('class'), 'side-item active');
  const lines = (await logLines(page)).map((t) => t.replace(/^\d\d:\d\d /, ''));
  assert.deepEqual(lines, ['bob: one', 'bob: alicex is someone else', 'alice: alice here, from another tab',
    'bob: hey ALICE, look']);
  assert.equal(await page.locator('#log > li.mine').count(), 1);
  assert.deepEqual(problems, []);
  await context.close();
});

test('each room keeps its draft and scroll position; one that followed its end still does', async () => {
  const { context, page, s, problems } = await openPage({ viewport: { width: 1000, height: 600 } });
  await s.accept();
  const long = (room, from, n) => Array.from({ length: n }, (_, i) =>
    said(room, from + i, BOB, `${room} line ${from + i}: words enough to take some room on the screen`));
  await s.deliver(welcome([entry('#lobby', { history: long('#lobby', 1, 60) }), entry('#dev', { history: long('#dev', 1, 5) })]));
  await page.locator('#status', { hasText: 'Connected as alice' }).waitFor();
  const log = page.locator('#log');
  assert.ok(await log.evaluate((el) => el.scrollHeight > el.clientHeight + 400), 'the lobby scrolls');
  // The reader scrolls up in #lobby (not so near the top that earlier lines
  // are asked for) and starts a line there.
  await log.evaluate((el) => { el.scrollTop = 500; });
  await page.waitForTimeout(100);
  await page.locator('#input').fill('half a thought for the lobby');

  await side(page, '#dev').locator('.side-open').click();
  assert.equal(await page.locator('#input').inputValue(), '');
  await page.locator('#input').pressSequentially('dev draft', { delay: 5 });
  // Lines come to both while #dev is on screen.
  await s.deliver([...long('#lobby', 61, 5), ...long('#dev', 6, 40)]);
  await page.locator('#log > li', { hasText: '#dev line 45:' }).waitFor();
  const devAtBottom = () => log.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight <= 24);
  assert.equal(await devAtBottom(), true);

  await side(page, '#lobby').locator('.side-open').click();
  assert.equal(await page.locator('#input').inputValue(), 'half a thought for the lobby');
  assert.equal(await log.evaluate((el) => el.scrollTop), 500);
  assert.equal(await page.locator('#jump').isVisible(), true, 'new lines below while scrolled up');
  assert.equal(await page.locator('#log > li', { hasText: '#lobby line 65:' }).count(), 1);

  // #dev followed its end: it shows its end again, with what came meanwhile.
  await s.deliver(long('#dev', 46, 10));
  await side(page, '#dev').locator('.side-open').click();
  assert.equal(await page.locator('#input').inputValue(), 'dev draft');
  assert.equal(await devAtBottom(), true);
  assert.equal(await page.locator('#jump').isVisible(), false);
  assert.deepEqual(problems, []);
  await context.close();
});

test('typing shows in its own room, and ours is sent to the room on screen', async () => {
  const { context, page, s, problems } = await openPage();
  await s.accept();
  await s.deliver(welcome([entry('#lobby', { people: [ALICE, BOB, CAROL] }), entry('#dev', { people: [ALICE, BOB] })]));
  await page.locator('#status', { hasText: 'Connected as alice' }).waitFor();
  await s.deliver([{ type: 'typing', room: '#dev', pid: BOB.pid, nick: 'bob', via: 'web', text: 'typed in dev' },
    { type: 'typing', room: '#lobby', pid: CAROL.pid, nick: 'carol', via: 'tcp', text: 'typed in lobby' }]);
  await page.locator('#drafts .draft', { hasText: 'typed in lobby' }).waitFor();
  assert.equal(await page.locator('#drafts .draft', { hasText: 'typed in dev' }).count(), 0);
  await side(page, '#dev').locator('.side-open').click();
  await page.locator('#drafts .draft', { hasText: 'typed in dev' }).waitFor();
  assert.equal(await page.locator('#drafts .draft').count(), 1);

  await page.locator('#input').pressSequentially('abc', { delay: 30 });
  await waitSent(s, (m) => m.type === 'typing' && m.room === '#dev' && m.text === 'abc', 'typing abc in #dev');
  // Turning to another room clears what #dev sees of it.
  await side(page, '#lobby').locator('.side-open').click();
  await waitSent(s, (m) => m.type === 'typing' && m.room === '#dev' && m.text === '', 'typing "" in #dev');
  await page.locator('#input').pressSequentially('x', { delay: 30 });
  await waitSent(s, (m) => m.type === 'typing' && m.room === '#lobby' && m.text === 'x', 'typing x in #lobby');
  // A line said goes to the room on screen.
  await page.locator('#input').press('Enter');
  const say = await waitSent(s, (m) => m.type === 'say', 'a say');
  assert.deepEqual({ ...say, ref: 0 }, { type: 'say', room: '#lobby', text: 'x', ref: 0 });
  assert.deepEqual(problems, []);
  await context.close();
});

test('someone whose gateway stopped answering leaves the list, the reason said', async () => {
  const { context, page, s, problems } = await openPage();
  await s.accept();
  await s.deliver(welcome([entry('#lobby', { people: [ALICE, BOB, CAROL] })]));
  await page.locator('#status', { hasText: 'Connected as alice' }).waitFor();
  await page.locator('#people li', { hasText: 'carol' }).waitFor();
  await s.deliver({ type: 'leave', room: '#lobby', id: 9, time: T0 + 9000, pid: CAROL.pid, nick: 'carol',
    via: CAROL.via, reason: 'gone' });
  await page.locator('#log li.line', { hasText: 'carol left (their gateway stopped answering)' }).waitFor();
  await page.locator('#people li', { hasText: 'carol' }).waitFor({ state: 'detached' });
  assert.deepEqual(problems, []);
  await context.close();
});

test('joining and leaving: /join, /part, the × of a room, refusals; #lobby stays', async () => {
  const { context, page, s, problems } = await openPage();
  await s.accept();
  await s.deliver(welcome([entry('#lobby'), entry('#dev')]));
  await page.locator('#status', { hasText: 'Connected as alice' }).waitFor();
  const input = page.locator('#input');

  await input.fill('/join #ops');
  await input.press('Enter');
  await waitSent(s, (m) => m.type === 'join' && m.room === '#ops', 'join #ops');
  assert.equal(await page.locator('#conversation-title').textContent(), '#ops');
  assert.equal(await input.inputValue(), '');
  await input.fill('/part');
  await input.press('Enter');
  await side(page, '#ops').waitFor({ state: 'detached' });
  // Parted before the gateway answered the join: no part is owed for a room never joined.
  assert.equal(await page.locator('#conversation-title').textContent(), '#lobby');

  // Leaving a room with something typed in it owes it no "stopped" (the gateway forgets it).
  await side(page, '#dev').locator('.side-open').click();
  await input.pressSequentially('half', { delay: 30 });
  await waitSent(s, (m) => m.type === 'typing' && m.room === '#dev' && m.text === 'half', 'typing half in #dev');
  await side(page, '#dev').locator('.side-close').click();
  await side(page, '#dev').waitFor({ state: 'detached' });
  const part = await lastSent(s, 'part');
  assert.deepEqual({ ...part, ref: 0 }, { type: 'part', room: '#dev', ref: 0 });
  await page.waitForTimeout(400);
  const afterPart = (await s.sent()).slice((await s.sent()).findIndex((m) => m.type === 'part'));
  assert.deepEqual(afterPart.filter((m) => m.room === '#dev').map((m) => m.type), ['part']);
  assert.equal(await input.inputValue(), '');

  await input.fill('/part');
  await input.press('Enter');
  await page.locator('#log > li.note', { hasText: 'Everyone stays in #lobby' }).waitFor();
  await input.fill('/join #no/way');
  await input.press('Enter');
  await page.locator('#log > li.note', { hasText: 'A room name is #' }).waitFor();
  assert.equal(await input.inputValue(), '/join #no/way', 'a refused command stays in the box');
  await page.locator('#join-input').fill('#no way');
  await page.locator('#join-input').press('Enter');
  await page.locator('#join-error', { hasText: 'A room name is #' }).waitFor();

  // The gateway refuses a join: the room goes, and the reader is told why.
  await input.fill('/join #full');
  await input.press('Enter');
  const join = await waitSent(s, (m) => m.type === 'join' && m.room === '#full', 'join #full');
  await s.deliver({ type: 'error', code: 452, message: 'too many rooms (at most 20)', ref: join.ref });
  await side(page, '#full').waitFor({ state: 'detached' });
  await page.locator('#log > li.error', { hasText: 'too many rooms' }).waitFor();
  assert.equal(await page.locator('#conversation-title').textContent(), '#lobby');
  // The gateway shows a room as first spelled; the page follows.
  await input.fill('/join #OPS');
  await input.press('Enter');
  const j2 = await waitSent(s, (m) => m.type === 'join' && m.room === '#OPS', 'join #OPS');
  assert.equal(await page.locator('#conversation-title').textContent(), '#OPS');
  await s.deliver({ type: 'joined', code: 250, room: '#ops', participants: [ALICE], participants_count: 1,
    history: [], last_id: 0, gap: false, ref: j2.ref });
  await page.locator('#conversation-title', { hasText: /^#ops$/ }).waitFor();
  assert.deepEqual(await page.locator('#room-list > li').evaluateAll((lis) => lis.map((li) => li.dataset.room)),
    ['#lobby', '#ops']);
  // The gateway says the page left a room (parted): it goes too.
  await s.deliver({ type: 'parted', code: 250, room: '#ops' });
  await side(page, '#ops').waitFor({ state: 'detached' });
  assert.deepEqual(await page.locator('#room-list > li').evaluateAll((lis) => lis.map((li) => li.dataset.room)),
    ['#lobby']);
  assert.deepEqual(problems, []);
  await context.close();
});

test('private conversations: /msg, a click on a nick, a message arriving; never in a room', async () => {
  const { context, page, s, problems } = await openPage();
  await s.accept();
  await s.deliver(welcome([entry('#lobby', { people: [ALICE, BOB, CAROL] })]));
  await page.locator('#status', { hasText: 'Connected as alice' }).waitFor();
  const input = page.locator('#input');

  await input.fill('/msg carol hello there');
  await input.press('Enter');
  const m1 = await waitSent(s, (m) => m.type === 'msg', 'a msg');
  assert.deepEqual({ ...m1, ref: 0 }, { type: 'msg', to: 'carol', text: 'hello there', ref: 0 });
  assert.equal(await page.locator('#conversation-title').textContent(), 'Private with carol');
  await privateItem(page, 'carol').waitFor();
  await page.locator('#status', { hasText: 'Connected as alice · private with carol' }).waitFor();
  await s.deliver(privately(1, ALICE, 'carol', 'hello there'));
  await page.locator('#log > li.mine.private', { hasText: 'alice: hello there' }).waitFor();
  await input.pressSequentially('and more', { delay: 5 });
  await input.press('Enter');
  await waitSent(s, (m) => m.type === 'msg' && m.text === 'and more' && m.to === 'carol', 'a second msg');
  assert.equal((await s.sent()).filter((m) => m.type === 'typing').length, 0, 'no typing in private');

  // A private message arriving opens a conversation without taking the screen.
  await side(page, '#lobby').locator('.side-open').click();
  await s.deliver(privately(2, CAROL, 'carol', 'answer from carol'));
  await s.deliver({ ...privately(3, BOB, 'bob', 'psst, alice'), nick: 'bob', pid: BOB.pid });
  await privateItem(page, 'bob').locator('.unread', { hasText: '1' }).waitFor();
  await privateItem(page, 'carol').locator('.unread', { hasText: '1' }).waitFor();
  assert.equal(await page.locator('#conversation-title').textContent(), '#lobby');
  assert.equal((await logLines(page)).filter((t) => /carol|psst|hello there/.test(t)).length, 0);

  // A click on a nick among those here opens (or shows) the conversation.
  await page.locator('#people button.person-open', { hasText: 'bob' }).click();
  assert.equal(await page.locator('#conversation-title').textContent(), 'Private with bob');
  assert.equal(await privateItem(page, 'bob').locator('.unread').count(), 0);
  assert.deepEqual((await logLines(page)).map((t) => t.replace(/^\d\d:\d\d /, '')), ['bob: psst, alice']);
  assert.equal(await page.locator('#people button').count(), 0, 'no participants list in private');

  // Unknown nick: the refusal shows in that conversation.
  await input.fill('/msg nobody hi?');
  await input.press('Enter');
  const m3 = await waitSent(s, (m) => m.type === 'msg' && m.to === 'nobody', 'msg to nobody');
  await s.deliver({ type: 'error', code: 550, message: 'no one is called nobody', ref: m3.ref });
  await page.locator('#log > li.error', { hasText: 'no one is called nobody' }).waitFor();
  // Closing a conversation.
  await privateItem(page, 'nobody').locator('.side-close').click();
  await privateItem(page, 'nobody').waitFor({ state: 'detached' });
  assert.equal(await page.locator('#conversation-title').textContent(), '#lobby');
  assert.deepEqual(await page.locator('#private-list > li').evaluateAll((lis) => lis.map((li) => li.dataset.nick)),
    ['carol', 'bob']);
  assert.deepEqual(problems, []);
  await context.close();
});

test('a reload brings back rooms, conversations, counts, ids, epoch and token; the token is never shown', async () => {
  const first = await openPage();
  const { context } = first;
  await first.s.accept();
  const lobbyHistory = Array.from({ length: 20 }, (_, i) => said('#lobby', 231 + i, BOB, `lobby ${231 + i}`));
  await first.s.deliver(welcome([entry('#lobby', { history: lobbyHistory }), entry('#dev', { last: 42 })],
    { private: [privately(4, CAROL, 'carol', 'old secret'), privately(5, ALICE, 'carol', 'my answer')], private_id: 5 }));
  await first.page.locator('#status', { hasText: 'Connected as alice' }).waitFor();
  await privateItem(first.page, 'carol').locator('.unread', { hasText: '1' }).waitFor();
  await privateItem(first.page, 'carol').locator('.side-open').click();
  await side(first.page, '#dev').locator('.side-open').click();
  await first.s.deliver(said('#lobby', 251, BOB, 'unread before the reload'));
  await side(first.page, '#lobby').locator('.unread', { hasText: '1' }).waitFor();
  await first.page.locator('#input').fill('a draft of #dev, kept');
  // At once: what the page saw last is written as it goes away.
  await first.page.reload();
  const { page, s } = first;
  // Before any answer, the page shows what it was in.
  await side(page, '#dev').waitFor();
  assert.equal(await page.locator('#conversation-title').textContent(), '#dev');
  await side(page, '#lobby').locator('.unread', { hasText: '1' }).waitFor();
  const hello = await s.accept();
  assert.deepEqual(hello, { type: 'hello', rooms: { '#lobby': 151, '#dev': 1 }, private_id: 0,
    epoch: EPOCH, token: TOKEN, nick: 'alice' });
  await s.deliver(welcome([
    entry('#lobby', { history: [...Array.from({ length: 100 }, (_, i) => said('#lobby', 152 + i, BOB, `lobby ${152 + i}`)),
      said('#lobby', 252, BOB, 'new after the reload'), said('#lobby', 253, BOB, 'and alice, you')], gap: true }),
    entry('#dev', { last: 42 })],
  { private: [privately(4, CAROL, 'carol', 'old secret'), privately(5, ALICE, 'carol', 'my answer'),
    privately(6, CAROL, 'carol', 'while you reloaded')], private_id: 6 }));
  await page.locator('#status', { hasText: 'Connected as alice · #dev' }).waitFor();
  // Only what was not seen before counts: 1 stored, 2 new; a mention among them.
  await side(page, '#lobby').locator('.unread', { hasText: '3' }).waitFor();
  await side(page, '#lobby').locator('.mention-mark').waitFor();
  await privateItem(page, 'carol').locator('.unread', { hasText: '1' }).waitFor();
  // The draft of the conversation on screen is back in the box (sessionStorage).
  assert.equal(await page.locator('#input').inputValue(), 'a draft of #dev, kept');
  // Nothing is said missing: the gap was only in the earlier lines asked for.
  assert.equal(await page.locator('#logs li.note').count(), 0);
  await privateItem(page, 'carol').locator('.side-open').click();
  assert.deepEqual((await logLines(page)).map((t) => t.replace(/^\d\d:\d\d /, '')),
    ['carol: old secret', 'alice: my answer', 'carol: while you reloaded']);
  const lobbyLines = await viewLines(page, 'room:#lobby');
  assert.equal(lobbyLines.length, 102);
  assert.equal(lobbyLines.filter((t) => t.endsWith('lobby 251')).length, 1);

  // The session is written shortly after a change (and when the page goes away).
  await page.waitForFunction(() => JSON.parse(localStorage.getItem('wintalk.session')).privateId === 6);
  const stored = JSON.parse(await page.evaluate(() => localStorage.getItem('wintalk.session')));
  assert.equal(stored.token, TOKEN);
  assert.equal(stored.epoch, EPOCH);
  assert.equal(stored.privateId, 6);
  assert.deepEqual(stored.rooms, [{ room: '#lobby', lastId: 253 }, { room: '#dev', lastId: 42 }]);
  const shown = await page.evaluate(() => document.documentElement.outerHTML + document.title);
  assert.ok(!shown.includes(TOKEN), 'the token is not in the page');
  assert.deepEqual(first.problems, []);
  await context.close();
});

test('a dropped connection resumes every room and the private messages; a reset says so in each room', async () => {
  const { context, page, s, problems } = await openPage();
  await s.accept();
  await s.deliver(welcome([entry('#lobby', { history: [said('#lobby', 3, BOB, 'lobby 3')] }),
    entry('#dev', { history: [said('#dev', 7, BOB, 'dev 7')] })],
  { private: [privately(2, BOB, 'bob', 'private 2')], private_id: 2 }));
  await page.locator('#status', { hasText: 'Connected as alice' }).waitFor();
  await s.drop();
  await page.locator('#status', { hasText: /Reconnecting/ }).waitFor();
  const hello = await s.accept();
  assert.deepEqual(hello, { type: 'hello', rooms: { '#lobby': 3, '#dev': 7 }, private_id: 2,
    epoch: EPOCH, token: TOKEN, nick: 'alice' });
  await s.deliver(welcome([entry('#lobby', { history: [said('#lobby', 4, BOB, 'lobby 4')] }),
    entry('#dev', { history: [said('#dev', 8, BOB, 'dev 8')] })],
  { private: [privately(3, BOB, 'bob', 'private 3')], private_id: 3 }));
  await page.locator('#status', { hasText: 'Connected as alice' }).waitFor();
  assert.deepEqual((await viewLines(page, 'room:#dev')).map((t) => t.replace(/^\d\d:\d\d /, '')),
    ['bob: dev 7', 'bob: dev 8']);
  assert.deepEqual((await viewLines(page, 'private:bob')).map((t) => t.replace(/^\d\d:\d\d /, '')),
    ['bob: private 2', 'bob: private 3']);

  // The gateway restarted meanwhile: every room says so once, then shows the new run.
  await s.drop();
  const hello2 = await s.accept();
  assert.deepEqual(hello2.rooms, { '#lobby': 4, '#dev': 8 });
  await s.deliver(welcome([entry('#lobby', { history: [said('#lobby', 1, BOB, 'new run 1')], gap: true }),
    entry('#dev', { history: [said('#dev', 1, BOB, 'new dev 1')], gap: true })],
  { epoch: '00c0ffee0000b002', token: 'ab'.repeat(16), reset: true }));
  await page.locator('#log > li', { hasText: 'new run 1' }).waitFor();
  for (const key of ['room:#lobby', 'room:#dev']) {
    const lines = await viewLines(page, key);
    const notes = lines.filter((t) => /gateway has restarted: earlier history was reset/.test(t));
    assert.equal(notes.length, 1, `${key}: ${lines.join(' | ')}`);
    assert.ok(lines.findIndex((t) => /restarted/.test(t)) < lines.findIndex((t) => /new (run|dev) 1/.test(t)));
  }
  await page.waitForFunction(() => JSON.parse(localStorage.getItem('wintalk.session')).epoch === '00c0ffee0000b002');
  const stored = JSON.parse(await page.evaluate(() => localStorage.getItem('wintalk.session')));
  assert.deepEqual(stored.rooms, [{ room: '#lobby', lastId: 1 }, { room: '#dev', lastId: 1 }]);
  assert.equal(stored.token, 'ab'.repeat(16));
  assert.deepEqual(problems, []);
  await context.close();
});

test('a room the welcome leaves out goes from the sidebar, with the reason', async () => {
  const context = await browser.newContext();
  await context.addInitScript(scriptedSocketInit);
  await context.addInitScript(() => {
    localStorage.setItem('wintalk.nick', 'alice');
    localStorage.setItem('wintalk.session', JSON.stringify({
      rooms: [{ room: '#lobby', lastId: 0 }, { room: '#gone', lastId: 5 }],
      roomViews: [{ room: '#lobby' }, { room: '#gone', unread: 2 }], active: { kind: 'room', name: '#gone' },
    }));
  });
  const { page, s, problems } = await openPage({ context });
  await side(page, '#gone').waitFor();
  const hello = await s.accept();
  assert.deepEqual(hello.rooms, { '#lobby': 0, '#gone': 1 });
  await s.deliver(welcome([entry('#lobby')]));
  await s.deliver({ type: 'error', code: 452, room: '#gone', message: 'too many rooms (at most 1000)' });
  await side(page, '#gone').waitFor({ state: 'detached' });
  await page.locator('#log > li.error', { hasText: 'too many rooms' }).waitFor();
  assert.equal(await page.locator('#conversation-title').textContent(), '#lobby');
  assert.deepEqual(problems, []);
  await context.close();
});

test('text from others stays text: nicks, private messages, room lines', async () => {
  const { context, page, s, problems } = await openPage();
  await s.accept();
  const evil = { pid: 9, nick: '<img src=x onerror=alert(1)>', via: 'web', typing: '<b>typing</b>' };
  await s.deliver(welcome([entry('#lobby', { people: [ALICE, evil] })]));
  await page.locator('#status', { hasText: 'Connected as alice' }).waitFor();
  await s.deliver([
    { ...said('#lobby', 1, evil, '<script>alert(2)</script> <b>x</b>') },
    { ...privately(1, evil, evil.nick, '<iframe src=javascript:alert(3)>') },
  ]);
  await privateItem(page, evil.nick).waitFor();
  await privateItem(page, evil.nick).locator('.side-open').click();
  await page.locator('#log > li', { hasText: '<iframe' }).waitFor();
  await page.waitForTimeout(300);
  const elements = await page.evaluate(() =>
    document.querySelectorAll('#logs img, #logs script, #logs iframe, #logs b, #sidebar img, #people img, #drafts b').length);
  assert.equal(elements, 0);
  assert.equal(await page.locator('#conversation-title').textContent(), `Private with ${evil.nick}`);
  assert.deepEqual(problems, []);
  await context.close();
});

test('phone width: the sidebar is a drawer behind a Rooms button with the unread total', async () => {
  const dir = ensureArtifactsDir();
  const { context, page, s, problems } = await openPage({ viewport: { width: 360, height: 740 } });
  await s.accept();
  await s.deliver(welcome([entry('#lobby', { people: [ALICE, BOB, CAROL], history: [said('#lobby', 1, CAROL, 'Hola desde WinTalk')] }),
    entry('#dev', { people: [ALICE, BOB] })]));
  await page.locator('#status', { hasText: 'Connected as alice' }).waitFor();
  assert.equal(await page.locator('#sidebar').isVisible(), false);
  assert.equal(await page.locator('#rooms-toggle').isVisible(), true);
  await s.deliver([said('#dev', 1, BOB, 'first in dev'), said('#dev', 2, BOB, 'alice: second in dev')]);
  await page.locator('#rooms-badge', { hasText: '2' }).waitFor();
  assert.match(await page.locator('#rooms-badge').getAttribute('class'), /mention/);
  await page.screenshot({ path: path.join(dir, 'state-phone-closed.png') });

  await page.locator('#rooms-toggle').click();
  await page.locator('#sidebar').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#rooms-toggle').getAttribute('aria-expanded'), 'true');
  await page.screenshot({ path: path.join(dir, 'state-phone-drawer.png') });
  const box = await page.locator('#sidebar').boundingBox();
  assert.ok(box.width <= 360 && box.x >= 0, JSON.stringify(box));
  await page.keyboard.press('Escape');
  await page.locator('#sidebar').waitFor({ state: 'hidden' });
  assert.equal(await page.evaluate(() => document.activeElement.id), 'rooms-toggle');

  await page.locator('#rooms-toggle').click();
  await side(page, '#dev').locator('.side-open').click();
  await page.locator('#sidebar').waitFor({ state: 'hidden' });
  assert.equal(await page.locator('#conversation-title').textContent(), '#dev');
  assert.equal(await page.locator('#rooms-badge').isVisible(), false);
  const widths = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, view: window.innerWidth }));
  assert.ok(widths.doc <= widths.view, `page is ${widths.doc}px wide in a ${widths.view}px window`);
  assert.deepEqual(problems, []);
  await context.close();
});

test('says answered 451 just before a 1012 close are back in the box, in order, after the page reconnects', async () => {
  const { context, page, s, problems } = await openPage();
  await s.accept();
  await s.deliver(welcome([entry('#lobby')]));
  await page.locator('#status', { hasText: 'Connected as alice' }).waitFor();
  const input = page.locator('#input');
  for (const text of ['first pending', 'second pending']) {
    await input.fill(text);
    await input.press('Enter');
  }
  const says = (await s.sent()).filter((m) => m.type === 'say');
  assert.deepEqual(says.map((m) => m.text), ['first pending', 'second pending']);
  assert.equal(await input.inputValue(), '');
  await input.fill('typed since');
  // The store lost them: a 451 for each, then the close of a reset.
  for (const m of says) {
    await s.deliver({ type: 'error', code: 451, message: 'not kept: the history store was reset', ref: m.ref });
  }
  await s.drop(1012);
  await page.locator('#offline-banner').waitFor();
  await s.accept();
  await s.deliver(welcome([entry('#lobby')], { reset: true, epoch: '00c0ffee0000b002' }));
  await page.locator('#status', { hasText: 'Connected as alice' }).waitFor();
  assert.equal(await input.inputValue(), 'first pending\nsecond pending\ntyped since');
  assert.equal(await page.locator('#log > li.error[data-code="451"]').count(), 2);
  assert.deepEqual(problems, []);
  await context.close();
});

test('news that the account was logged out keeps a session another tab has just renewed', async () => {
  const OLD = '0123456789abcdef0123456789abcdef';
  const NEW = 'fedcba9876543210fedcba9876543210';
  for (const renewed of [true, false]) {
    const ctx = await browser.newContext();
    await ctx.addInitScript(scriptedSocketInit);
    await ctx.addInitScript((old) => {
      if (!sessionStorage.getItem('seeded')) {
        localStorage.setItem('wintalk.nick', 'alice');
        localStorage.setItem('wintalk.account', JSON.stringify({ nick: 'alice', session: old }));
        sessionStorage.setItem('seeded', '1');
      }
    }, OLD);
    const page = await ctx.newPage();
    await page.goto(gw.url);
    const s = scripted(page);
    const hello = await s.accept();
    assert.equal(hello.session, OLD);
    await s.deliver(welcome([entry('#lobby')], { account: 'alice' }));
    await page.locator('#account-button', { hasText: 'Account: alice' }).waitFor();
    // Another tab of this browser changed the password through another
    // gateway: its new session is stored; this tab's is over.
    if (renewed) {
      await page.evaluate((s2) => localStorage.setItem('wintalk.account', JSON.stringify({ nick: 'alice', session: s2 })), NEW);
    }
    await s.deliver({ type: 'account', nick: null });
    await page.locator('#account-button', { hasText: /^Log in$/ }).waitFor();
    const kept = await page.evaluate(() => localStorage.getItem('wintalk.account'));
    if (renewed) assert.deepEqual(JSON.parse(kept), { nick: 'alice', session: NEW }, 'the renewed session stays');
    else assert.equal(kept, null, 'a session that is over is forgotten');
    await ctx.close();
  }
});
