// The page's side of scrollback and search with its WebSocket scripted by
// the test (lib/scripted-socket.js), for what a real gateway does not do on
// demand: answers that overlap what is shown, a request still on its way
// while the reader keeps scrolling, a store that fails (451), too many
// requests (429), a gateway with no history (502), an answer for a room
// no longer on screen, a connection lost mid-request, a restarted gateway
// whose ids start again, and the search's failures. history.test.js shows
// the same features against the real gateway.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, stopGateway } from './lib/gateway.js';
import { launchBrowser } from './lib/browser.js';
import {
  scriptedSocketInit, scripted, EPOCH, TOKEN, T0, ALICE, ALICE_IDENT, BOB,
} from './lib/scripted-socket.js';

let gw;
let browser;

before(async () => {
  gw = await startGateway({ name: 'scrollback-gateway' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stopGateway(gw);
});

const said = (room, id, text = `line ${id}`) => ({
  type: 'message', room, id, time: T0 + id * 1000, pid: BOB.pid, nick: 'bob', via: 'web', text, me: false,
});
const range = (room, from, to) => Array.from({ length: to - from + 1 }, (_, i) => said(room, from + i));
const entry = (room, history = [], last = null) => ({
  room, participants: [ALICE, BOB], participants_count: 2, history,
  last_id: last ?? (history.length ? history.at(-1).id : 0), gap: false,
});
const welcome = (rooms, extra = {}) => ({
  type: 'welcome', code: 220, protocol: 'wintalk.v2', epoch: EPOCH, token: TOKEN,
  you: { pid: ALICE.pid, nick: 'alice', ident: ALICE_IDENT, via: 'web' }, rooms, private: [], private_id: 0, reset: false, ...extra,
});
const answer = (req, events, more) => ({
  type: 'history', room: req.room, ...(req.before !== undefined ? { before: req.before } : {}),
  ...(req.after !== undefined ? { after: req.after } : {}), events, more, ref: req.ref,
});

async function openPage({ viewport = { width: 1000, height: 600 } } = {}) {
  const context = await browser.newContext({ viewport, timezoneId: 'UTC', locale: 'en-US' });
  await context.addInitScript(scriptedSocketInit);
  await context.addInitScript(() => {
    if (!localStorage.getItem('wintalk.nick')) localStorage.setItem('wintalk.nick', 'alice');
  });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(gw.url);
  return { context, page, s: scripted(page), problems };
}

const sentOf = async (s, type) => (await s.sent()).filter((m) => m.type === type);

/* Waits until the page has sent n messages of a type; returns the last. */
async function waitSent(s, type, n = 1) {
  for (let i = 0; i < 200; i++) {
    const all = await sentOf(s, type);
    if (all.length >= n) return all[n - 1];
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the page sent ${(await sentOf(s, type)).length} ${type}, not ${n}: ${JSON.stringify(await s.sent())}`);
}

const ids = (page, sel = '#log') => page.locator(`${sel} > li[data-id]`).evaluateAll(
  (lis) => lis.map((li) => Number(li.dataset.id)));
const scrollTop = (page, y = 0) => page.locator('#log').evaluate((el, top) => { el.scrollTop = top; }, y);
const side = (page, room) => page.locator(`#room-list li[data-room="${room}"] .side-open`);

test('answers that overlap what is shown add only what is older, each id once', async () => {
  const { context, page, s, problems } = await openPage();
  await s.accept();
  // The room has nothing in the welcome: the page asks for the newest.
  await s.deliver(welcome([entry('#lobby', [], 30)]));
  const first = await waitSent(s, 'history');
  assert.deepEqual({ ...first, ref: 0 }, { type: 'history', room: '#lobby', limit: 100, ref: 0 });
  await page.locator('#log > li.edge-loading', { hasText: 'Loading earlier messages…' }).waitFor();
  // Meanwhile a line comes live; the answer holds it too.
  await s.deliver(said('#lobby', 31));
  await s.deliver(answer(first, range('#lobby', 20, 31), true));
  await page.waitForFunction(() => document.querySelectorAll('#log > li[data-id]').length === 12);
  assert.deepEqual(await ids(page), Array.from({ length: 12 }, (_, i) => 20 + i));
  // The log is short: the next page is asked for at once, before the oldest shown.
  const second = await waitSent(s, 'history', 2);
  assert.equal(second.before, 20);
  // An answer with some of what is shown (a gateway may give more than asked): each id once.
  await s.deliver(answer(second, range('#lobby', 15, 25), true));
  await page.waitForFunction(() => document.querySelector('#log > li[data-id]').dataset.id === '15');
  assert.deepEqual(await ids(page), Array.from({ length: 17 }, (_, i) => 15 + i));
  const third = await waitSent(s, 'history', 3);
  assert.equal(third.before, 15);
  await s.deliver(answer(third, range('#lobby', 1, 14), false));
  await page.locator('#log > li.edge-start', { hasText: 'This is the start of #lobby.' }).waitFor();
  assert.deepEqual(await ids(page), Array.from({ length: 31 }, (_, i) => 1 + i));
  // The start is shown: nothing more is asked, however much the reader scrolls.
  for (let i = 0; i < 5; i++) await scrollTop(page, 0);
  await page.waitForTimeout(200);
  assert.equal((await sentOf(s, 'history')).length, 3);
  assert.deepEqual(problems, []);
  await context.close();
});

test('one request at a time: scrolling on while one is on its way asks nothing more', async () => {
  const { context, page, s, problems } = await openPage();
  await s.accept();
  await s.deliver(welcome([entry('#lobby', range('#lobby', 401, 500))]));
  await page.locator('#log > li', { hasText: 'line 500' }).waitFor();
  assert.equal((await sentOf(s, 'history')).length, 0, 'at the end, nothing is asked');
  for (let i = 0; i < 20; i++) {
    await scrollTop(page, i % 2 ? 0 : 50);
    await page.waitForTimeout(10);
  }
  const req = await waitSent(s, 'history');
  assert.equal(req.before, 401);
  await page.waitForTimeout(300);
  assert.equal((await sentOf(s, 'history')).length, 1);
  assert.equal(await page.locator('#log > li.edge-loading').count(), 1);
  await s.deliver(answer(req, range('#lobby', 301, 400), true));
  await page.locator('#log > li[data-id="301"]').waitFor({ state: 'attached' });
  assert.equal(await page.locator('#log > li.edge-loading').count(), 0);
  assert.deepEqual(problems, []);
  await context.close();
});

test('a store that fails (451) says so with Try again, and asks again only then; 429 is tried again by itself', async () => {
  const { context, page, s, problems } = await openPage();
  await s.accept();
  await s.deliver(welcome([entry('#lobby', range('#lobby', 91, 95))]));
  const req = await waitSent(s, 'history');
  await s.deliver({ type: 'error', code: 451, message: 'history store failed', ref: req.ref });
  const failed = page.locator('#log > li.edge-failed');
  await failed.waitFor();
  assert.equal(await failed.textContent(),
    'Earlier messages could not be loaded: the server could not read its history just now. Try again');
  // Not in the conversation as a refusal, and not asked again by scrolling.
  assert.equal(await page.locator('#log > li.error').count(), 0);
  for (let i = 0; i < 3; i++) await scrollTop(page, 0);
  await page.waitForTimeout(200);
  assert.equal((await sentOf(s, 'history')).length, 1);
  await failed.locator('button', { hasText: 'Try again' }).click();
  const again = await waitSent(s, 'history', 2);
  assert.equal(again.before, 91);
  assert.equal(await failed.count(), 0);
  // Too many at once: the page waits a moment and asks the same again.
  await s.deliver({ type: 'error', code: 429, message: 'too many requests', ref: again.ref });
  const third = await waitSent(s, 'history', 3);
  assert.equal(third.before, 91);
  assert.equal(await page.locator('#log > li.edge-loading').count(), 1);
  await s.deliver(answer(third, range('#lobby', 1, 90), false));
  await page.locator('#log > li.edge-start').waitFor();
  assert.deepEqual(await ids(page), Array.from({ length: 95 }, (_, i) => 1 + i));
  assert.deepEqual(problems, []);
  await context.close();
});

test('a gateway that keeps no history (502) is asked once, and nothing is said', async () => {
  const { context, page, s, problems } = await openPage();
  await s.accept();
  await s.deliver(welcome([entry('#lobby', range('#lobby', 7, 9))]));
  const req = await waitSent(s, 'history');
  await s.deliver({ type: 'error', code: 502, message: 'unknown type: history', ref: req.ref });
  await page.waitForFunction(() => !document.querySelector('#log > li.edge-loading'));
  for (let i = 0; i < 3; i++) await scrollTop(page, 0);
  await page.waitForTimeout(200);
  assert.equal((await sentOf(s, 'history')).length, 1);
  assert.equal(await page.locator('#log > li.edge, #log > li.error').count(), 0);
  assert.deepEqual(await ids(page), [7, 8, 9]);
  assert.deepEqual(problems, []);
  await context.close();
});

test('an answer for a room no longer on screen goes in when it is shown again, the reader\'s place kept', async () => {
  const { context, page, s, problems } = await openPage();
  await s.accept();
  await s.deliver(welcome([entry('#lobby', range('#lobby', 1, 3)), entry('#dev', range('#dev', 301, 400))]));
  const lobbyReq = await waitSent(s, 'history');
  await s.deliver(answer(lobbyReq, [], false));
  await side(page, '#dev').click();
  await page.locator('#conversation-title', { hasText: '#dev' }).waitFor();
  await scrollTop(page, 0);
  const req = await waitSent(s, 'history', 2);
  assert.deepEqual([req.room, req.before], ['#dev', 301]);
  // Where the first line on screen is when the reader turns away.
  const first = await page.locator('#log').evaluate((el) => {
    const top = el.getBoundingClientRect().top;
    return [...el.querySelectorAll(':scope > li.line')].find((l) => l.getBoundingClientRect().bottom > top).dataset.id;
  });
  const place = () => page.locator('#log').evaluate((el, id) => Math.round(
    el.querySelector(`:scope > li[data-id="${id}"]`).getBoundingClientRect().top - el.getBoundingClientRect().top), first);
  const left = await place();
  await side(page, '#lobby').click();
  await page.locator('#conversation-title', { hasText: '#lobby' }).waitFor();
  await s.deliver(answer(req, range('#dev', 201, 300), true));
  await page.waitForTimeout(100);
  await side(page, '#dev').click();
  await page.locator('#conversation-title', { hasText: '#dev' }).waitFor();
  await page.locator('#log > li[data-id="201"]').waitFor({ state: 'attached' });
  assert.equal(await page.locator('#log').evaluate((el) => el.scrollTop > 1000), true, 'the new lines are above');
  assert.equal(await place(), left);
  assert.deepEqual(await ids(page), Array.from({ length: 200 }, (_, i) => 201 + i));
  assert.deepEqual(problems, []);
  await context.close();
});

test('a connection lost mid-request asks again after the welcome; a restarted gateway\'s earlier lines go below its notice', async () => {
  const { context, page, s, problems } = await openPage();
  await s.accept();
  await s.deliver(welcome([entry('#lobby', range('#lobby', 5, 7))]));
  await waitSent(s, 'history');
  await s.drop();
  await page.locator('#log > li.edge-loading').waitFor({ state: 'detached' });
  await s.accept();
  await s.deliver(welcome([entry('#lobby', [said('#lobby', 8)])]));
  const again = await waitSent(s, 'history');
  assert.equal(again.before, 5);
  await s.deliver(answer(again, range('#lobby', 1, 4), false));
  await page.locator('#log > li.edge-start').waitFor();

  // The gateway restarted with its history gone: ids start again.
  await s.drop();
  await s.accept();
  await s.deliver(welcome([{ ...entry('#lobby', range('#lobby', 6, 9)), gap: true }],
    { epoch: '00c0ffee0000b002', reset: true }));
  const fresh = await waitSent(s, 'history');
  assert.equal(fresh.before, 6);
  await s.deliver(answer(fresh, range('#lobby', 1, 5).map((e) => ({ ...e, text: `new ${e.id}` })), false));
  await page.locator('#log > li', { hasText: 'new 1' }).waitFor();
  const shape = await page.locator('#log > li').evaluateAll((lis) => lis.map((li) => {
    if (li.classList.contains('day')) return 'day';
    if (li.classList.contains('edge')) return li.textContent;
    if (li.classList.contains('note')) return 'notice';
    return `${li.dataset.id ?? `old ${li.dataset.oldId}`}: ${li.querySelector('.text').textContent}`;
  }));
  // (The notice is of today, the lines of 2025: each has its day line.)
  assert.deepEqual(shape, ['day',
    ...[1, 2, 3, 4, 5, 6, 7, 8].map((n) => `old ${n}: line ${n}`),
    'day', 'notice', 'This is the start of #lobby.', 'day',
    ...[1, 2, 3, 4, 5].map((n) => `${n}: new ${n}`),
    ...[6, 7, 8, 9].map((n) => `${n}: line ${n}`)]);
  assert.deepEqual(problems, []);
  await context.close();
});

test('another room shown while a search is open closes it; each room keeps its scroll position', async () => {
  const { context, page, s, problems } = await openPage();
  await s.accept();
  await s.deliver(welcome([entry('#lobby', range('#lobby', 1, 100)), entry('#dev', range('#dev', 1, 100))]));
  await page.locator('#log > li', { hasText: 'line 100' }).waitFor();
  // #lobby read in the middle (away from both ends), #dev at its end.
  await scrollTop(page, 900);
  await page.waitForTimeout(100);
  await side(page, '#dev').click();
  await page.locator('#conversation-title', { hasText: '#dev' }).waitFor();
  await page.locator('#search-toggle').click();
  await page.locator('#search-input').fill('line');
  await page.locator('#search-input').press('Enter');
  const req = await waitSent(s, 'search');
  await s.deliver({ type: 'search', room: '#dev', q: 'line', events: [said('#dev', 7)], more: false, ref: req.ref });
  await page.locator('#search-results > li').waitFor();
  await side(page, '#lobby').click();
  await page.locator('#conversation-title', { hasText: '#lobby' }).waitFor();
  assert.equal(await page.locator('#search-form').isVisible(), false);
  assert.equal(await page.locator('#search-panel').isVisible(), false);
  assert.equal(await page.locator('#log').evaluate((el) => el.scrollTop), 900);
  await side(page, '#dev').click();
  assert.equal(await page.locator('#log').evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight <= 24), true);
  assert.deepEqual(problems, []);
  await context.close();
});

test('search: each failure said in the box, nothing sent for nothing to search, a search typed meanwhile goes next', async () => {
  const { context, page, s, problems } = await openPage();
  await s.accept();
  await s.deliver(welcome([entry('#lobby', range('#lobby', 1, 40))]));
  await page.locator('#search-toggle').click();
  const status = page.locator('#search-status');
  const searchFor = async (q) => {
    await page.locator('#search-input').fill(q);
    await page.locator('#search-input').press('Enter');
  };
  const cases = [[451, 'The search failed on the server. Try again later.'],
    [429, 'Too many requests at once. Try again in a moment.'],
    [501, 'The server could not run this search: bad query.'],
    [504, 'Search is not available on this server.']];
  for (const [n, [code, said]] of cases.entries()) {
    await searchFor(`word${n}`);
    const req = await waitSent(s, 'search', n + 1);
    assert.deepEqual({ ...req, ref: 0 }, { type: 'search', room: '#lobby', q: `word${n}`, limit: 50, ref: 0 });
    await status.filter({ hasText: 'Searching #lobby for' }).waitFor();
    await s.deliver({ type: 'error', code, message: 'bad query', ref: req.ref });
    await status.filter({ hasText: said }).waitFor();
    assert.equal(await page.locator('#log').isVisible(), true);
  }
  // Two searches typed quickly: the second waits for the first, and its answer is shown.
  await searchFor('first');
  await searchFor('second');
  const firstReq = await waitSent(s, 'search', 5);
  await page.waitForTimeout(100);
  assert.equal((await sentOf(s, 'search')).length, 5);
  await s.deliver({ type: 'search', room: '#lobby', q: 'first', events: [said('#lobby', 3, 'first')], more: false, ref: firstReq.ref });
  const secondReq = await waitSent(s, 'search', 6);
  assert.equal(secondReq.q, 'second');
  await s.deliver({ type: 'search', room: '#lobby', q: 'second',
    events: [said('#lobby', 12, 'a second one'), said('#lobby', 9, 'second')], more: true, ref: secondReq.ref });
  await status.filter({ hasText: '“second”' }).waitFor();
  assert.equal(await status.textContent(),
    '2 messages in #lobby match “second”, newest first. These are the 2 newest: add words to find older ones.');
  assert.deepEqual(await page.locator('#search-results > li').evaluateAll((lis) => lis.map((li) => li.dataset.id)), ['12', '9']);
  // A private conversation has no search: opening one closes it.
  await page.locator('#people button.person-open', { hasText: 'bob' }).click();
  await page.locator('#conversation-title', { hasText: 'Private with bob' }).waitFor();
  assert.equal(await page.locator('#search-toggle').isVisible(), false);
  assert.equal(await page.locator('#search-form').isVisible(), false);
  assert.equal(await page.locator('#log').isVisible(), true);
  await side(page, '#lobby').click();
  assert.equal(await page.locator('#search-toggle').isVisible(), true);
  // The lost connection fails a search on its way, and says so.
  await page.locator('#search-toggle').click();
  await searchFor('lost');
  await waitSent(s, 'search', 7);
  await s.drop();
  await status.filter({ hasText: 'Not connected: search again when the connection is back.' }).waitFor();
  assert.deepEqual(problems, []);
  await context.close();
});
