// Scrollback, day lines and search through a real gateway keeping its
// history on disk (SQLite, in a data directory of the test's), with #lobby
// filled over three days: the gateway runs under libfaketime, its clock at
// noon two days ago, then (restarted on the same data) yesterday, then
// today (UTC), while a WINTALK client sends 220 lines a day. The page (UTC,
// its clock at today 13:00) scrolls
// up to the room's start and shows every event once, in order, with a day
// line where the day changes and the line on screen kept in place; it
// searches words, a prefix and a phrase, opens a result among the messages
// around it and goes back to the latest. A gateway with --store memory
// scrolls back from memory and says search is not available. Screenshots
// go to artifacts/history-*.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startGateway, stopGateway, freshDataDir } from './lib/gateway.js';
import { launchBrowser, openParticipant, ensureArtifactsDir, waitConnected } from './lib/browser.js';
import { WintalkClient } from './lib/wintalk.js';
import { Cutter } from './lib/cutter.js';

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const DAY_MS = 24 * 3600 * 1000;
const PER_DAY = 220;
// Noon (UTC) of today and of the two days before: the three days' lines are
// said just after 12:01 (well inside the minute whatever the start's delay).
const todayNoon = (() => {
  const d = new Date();
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 12);
})();
const NOONS = [todayNoon - 2 * DAY_MS, todayNoon - DAY_MS, todayNoon];
const DAY_NAMES = ['d1', 'd2', 'd3'];
// Lines planted for the searches, by day and number in the day.
const PLANTED = {
  'd1-050': 'Deploy the old release',
  'd1-100': 'stage two is ready',
  'd2-001': 'deploy to staging went fine',
  'd2-002': 'the green build is back',
  'd3-010': 'we deploy on Fridays, said the stag',
  'd3-020': 'green and build, apart',
  'd3-030': 'redeploy and deployment are other words',
  'd3-040': 'deploy the green build to staging',
};
const text = (day, i) => {
  const tag = `${day}-${String(i).padStart(3, '0')}`;
  return `${tag} ${PLANTED[tag] ?? 'filler words for the scrollback'}`;
};
const ALL_TEXTS = DAY_NAMES.flatMap((day) => Array.from({ length: PER_DAY }, (_, i) => text(day, i + 1)));

let gw;
let browser;
let dataDir;

/* The environment of a gateway whose wall clock says `at` (ms) as it starts, and runs on from there. */
function clockAt(at) {
  const s = Math.round((at - Date.now()) / 1000);
  return {
    LD_PRELOAD: LIBFAKETIME,
    FAKETIME: `${s >= 0 ? '+' : ''}${s}`,
    // Rates and deadlines run on the monotonic clock, which stays true.
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
    // The sanitizer build: libfaketime comes before ASan's runtime.
    ASAN_OPTIONS: `${process.env.ASAN_OPTIONS ?? ''}:verify_asan_link_order=0`,
  };
}

before(async () => {
  assert.ok(fs.existsSync(LIBFAKETIME), 'libfaketime is missing: scripts/deps.sh test installs faketime');
  dataDir = freshDataDir();
  let ports = null;
  for (const [d, day] of DAY_NAMES.entries()) {
    // One gateway a day, each on the history the one before kept.
    if (gw) await stopGateway(gw, `history-gateway-${d}`);
    gw = await startGateway({ name: `history-gateway-${d + 1}`, dataDir, ports, extraArgs: ['--rate', '0'],
      env: clockAt(NOONS[d] + 90 * 1000) });
    ports = { http: gw.httpPort, tcp: gw.tcpPort };
    const dora = await WintalkClient.connect(gw.tcpPort);
    await dora.sayLine('/nick dora');
    for (let i = 1; i <= PER_DAY; i++) await dora.append(`${text(day, i)}\r\n`);
    await dora.waitForText(`${text(day, PER_DAY)}\r\n`, 20000);
    dora.close();
  }
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stopGateway(gw, 'history-gateway-3');
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

/* A reader in UTC whose clock says today 13:00. */
const openReader = (nick, viewport) => openParticipant(browser, gw.url, nick, {
  viewport, contextOptions: { timezoneId: 'UTC', locale: 'en-US' }, fixedTime: todayNoon + 3600 * 1000,
});

/* The ids of the room events in a conversation, top to bottom. */
const idsIn = (page, sel) => page.locator(`${sel} > li[data-id]`).evaluateAll(
  (lis) => lis.map((li) => Number(li.dataset.id)));

/* The history requests the page sent and the answers it got, in order: ['out'|'in', msg]. */
const historyTraffic = (p) => p.traffic.map(([dir, t]) => [dir, JSON.parse(t)])
  .flatMap(([dir, m]) => (Array.isArray(m) ? m.map((x) => [dir, x]) : [[dir, m]]))
  .filter(([, m]) => m.type === 'history' || (m.type === 'error' && m.ref !== undefined));

/* The first line on screen in a conversation: its id and how far below the pane's top it is. */
const firstOnScreen = (page, sel = '#log') => page.locator(sel).evaluate((el) => {
  const top = el.getBoundingClientRect().top;
  const li = [...el.querySelectorAll(':scope > li.line')].find((l) => l.getBoundingClientRect().bottom > top);
  return { id: li.dataset.id, y: li.getBoundingClientRect().top - top };
});

/* Scrolls a conversation up to its start, pulling at the top several times while a request is on its way. */
async function scrollToStart(page, sel = '#log', limit = 30) {
  const log = page.locator(sel);
  for (let i = 0; i < limit; i++) {
    if (await page.locator(`${sel} > li.edge-start`).count() > 0) return i;
    for (let k = 0; k < 5; k++) {
      await log.evaluate((el) => { el.scrollTop = 0; });
      await page.waitForTimeout(30);
    }
    await page.waitForFunction((s) => !document.querySelector(`${s} > li.edge-loading`), sel);
  }
  throw new Error(`${sel} never reached the start of the room`);
}

test('scrolling up shows every earlier event once, in order, to the start; the line on screen stays put', { timeout: 120000 }, async () => {
  const reader = await openReader('reader');
  const { page } = reader;
  const log = page.locator('#log');
  await page.locator('#log > li', { hasText: text('d3', PER_DAY) }).waitFor();
  const welcomed = await idsIn(page, '#log');
  assert.ok(welcomed.length <= 101 && welcomed[0] > 500, `the welcome brings the latest events only: ${welcomed[0]}..`);
  assert.equal(await page.locator('#log > li.edge-start').count(), 0);

  // Scrolled to the top: earlier lines go in above, and the line that was
  // at the top of the pane stays where it was.
  const anchor = await log.evaluate((el) => {
    el.scrollTop = 0;
    const li = el.querySelector(':scope > li.line');
    return { id: li.dataset.id, y: li.getBoundingClientRect().top - el.getBoundingClientRect().top };
  });
  await page.waitForFunction((id) => document.querySelector('#log > li[data-id]').dataset.id !== id, anchor.id);
  await page.waitForFunction(() => !document.querySelector('#log > li.edge-loading'));
  const moved = await log.evaluate((el, id) => {
    const li = el.querySelector(`:scope > li[data-id="${id}"]`);
    return { y: li.getBoundingClientRect().top - el.getBoundingClientRect().top, scrollTop: el.scrollTop };
  }, anchor.id);
  assert.ok(Math.abs(moved.y - anchor.y) < 1, `the line on screen moved from ${anchor.y} to ${moved.y}`);
  assert.ok(moved.scrollTop > 1000, 'the earlier lines are above it');

  // On to the start, pulling at the top all the while.
  await scrollToStart(page);
  assert.equal(await page.locator('#log > li.edge-start').textContent(), 'This is the start of #lobby.');
  assert.equal(await page.locator('#log > li.edge-start').evaluate((el) => el === el.parentElement.firstElementChild), true);

  // Every event once, in order: the room's ids from 1, none missing.
  const ids = await idsIn(page, '#log');
  assert.equal(ids[0], 1);
  assert.deepEqual(ids, Array.from({ length: ids.length }, (_, i) => i + 1));
  assert.ok(ids.length >= ALL_TEXTS.length + 2);
  const texts = (await page.locator('#log > li.message .text').allTextContents());
  assert.deepEqual(texts, ALL_TEXTS);

  // One history request at a time, each before the oldest line then shown,
  // none after the answer that said there is no more.
  const flow = historyTraffic(reader);
  let waiting = 0;
  const asked = [];
  for (const [dir, m] of flow) {
    if (dir === 'out') {
      waiting++;
      asked.push(m);
      assert.equal(waiting, 1, `two history requests at once: ${JSON.stringify(flow)}`);
    } else {
      waiting--;
    }
  }
  assert.equal(waiting, 0);
  assert.ok(asked.length >= 6 && asked.length <= 8, `${asked.length} requests for ${ids.length} events`);
  for (const m of asked) {
    assert.equal(m.room, '#lobby');
    assert.equal(m.limit, 100);
    assert.equal(m.after, undefined);
  }
  const befores = asked.map((m) => m.before);
  assert.deepEqual(befores, [...befores].sort((a, b) => b - a));
  assert.equal(new Set(befores).size, befores.length, 'the same request twice');
  const answers = flow.filter(([dir]) => dir === 'in').map(([, m]) => m);
  assert.deepEqual(answers.map((m) => m.more), [...answers.slice(0, -1).map(() => true), false]);

  // A day line above the first line of each day, and nowhere else: the
  // lines (every one has its time) between two day lines are of one day.
  const groups = await log.evaluate((el) => {
    const out = [];
    for (const li of el.children) {
      if (li.classList.contains('day')) out.push({ label: li.textContent, days: [], texts: [] });
      else if (li.classList.contains('line')) {
        out.at(-1).days.push(li.querySelector('time').dateTime.slice(0, 10));
        out.at(-1).texts.push(li.textContent);
      }
    }
    return out;
  });
  const utcDay = (ms) => new Date(ms).toISOString().slice(0, 10);
  const thisYear = new Date(todayNoon).getUTCFullYear() === new Date(NOONS[0]).getUTCFullYear();
  const firstDay = new Date(NOONS[0]).toLocaleDateString('en-US',
    { timeZone: 'UTC', weekday: 'long', month: 'long', day: 'numeric', ...(thisYear ? {} : { year: 'numeric' }) });
  assert.deepEqual(groups.map((g) => g.label), [firstDay, 'Yesterday', 'Today']);
  for (const [d, g] of groups.entries()) {
    assert.deepEqual([...new Set(g.days)], [utcDay(NOONS[d])], `the lines under ${g.label}`);
    const said = g.texts.filter((t) => / d\d-\d{3} /.test(t)).map((t) => t.match(/d\d-\d{3}/)[0]);
    assert.equal(said.length, PER_DAY);
    assert.equal(said[0], `${DAY_NAMES[d]}-001`);
    assert.equal(said.at(-1), `${DAY_NAMES[d]}-${PER_DAY}`);
  }
  assert.equal(await page.locator('#log > li.edge-start + li.day').count(), 1, 'the first day line is under the start');

  const dir = ensureArtifactsDir();
  await log.evaluate((el) => {
    const yesterday = [...el.querySelectorAll(':scope > li.day')][1];
    el.scrollTop = yesterday.offsetTop - el.offsetTop - 200;
  });
  await page.screenshot({ path: path.join(dir, 'history-days.png') });
  await log.evaluate((el) => { el.scrollTop = 0; });
  await page.screenshot({ path: path.join(dir, 'history-start.png') });
  assert.deepEqual(reader.problems, []);
  await reader.context.close();
});

/* Opens the search box, searches, and waits for the answer; returns the results as {id, text, marks}. */
async function search(page, q) {
  if (!(await page.locator('#search-input').isVisible())) await page.locator('#search-toggle').click();
  await page.locator('#search-input').fill(q);
  await page.locator('#search-input').press('Enter');
  await page.locator('#search-status', { hasText: /match/ }).waitFor();
  return page.locator('#search-results > li').evaluateAll((lis) => lis.map((li) => ({
    id: Number(li.dataset.id),
    text: li.querySelector('.result-text').textContent,
    marks: [...li.querySelectorAll('mark')].map((m) => m.textContent),
  })));
}

test('search finds words, a prefix and a phrase, newest first, the words marked', { timeout: 60000 }, async () => {
  const reader = await openReader('searcher');
  const { page } = reader;
  // Keyboard: the search button opens the box with the focus in it.
  await page.locator('#search-toggle').focus();
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'search-input');
  assert.equal(await page.locator('#search-input').getAttribute('placeholder'), 'Search #lobby');
  await page.keyboard.type('deploy');
  await page.keyboard.press('Enter');
  await page.locator('#search-status', { hasText: /match/ }).waitFor();
  const deploy = await page.locator('#search-results > li').evaluateAll((lis) => lis.map((li) => ({
    id: Number(li.dataset.id),
    text: li.querySelector('.result-text').textContent,
    marks: [...li.querySelectorAll('mark')].map((m) => m.textContent),
    head: li.querySelector('.result-head').textContent,
  })));
  assert.deepEqual(deploy.map((r) => r.text), [text('d3', 40), text('d3', 10), text('d2', 1), text('d1', 50)]);
  assert.deepEqual(deploy.map((r) => r.marks), [['deploy'], ['deploy'], ['deploy'], ['Deploy']]);
  assert.deepEqual(deploy.map((r) => r.id), [...deploy.map((r) => r.id)].sort((a, b) => b - a), 'newest first');
  assert.equal(deploy[0].head, 'dora Today 12:01');
  assert.equal(deploy[2].head, 'dora Yesterday 12:01');
  assert.equal(await page.locator('#search-status').textContent(), '4 messages in #lobby match “deploy”, newest first.');
  // The results take the conversation's place.
  assert.equal(await page.locator('#logs').isVisible(), false);

  const stag = await search(page, 'stag*');
  assert.deepEqual(stag.map((r) => r.text), [text('d3', 40), text('d3', 10), text('d2', 1), text('d1', 100)]);
  assert.deepEqual(stag.map((r) => r.marks), [['staging'], ['stag'], ['staging'], ['stage']]);

  const phrase = await search(page, '"green build"');
  assert.deepEqual(phrase.map((r) => r.text), [text('d3', 40), text('d2', 2)]);
  assert.deepEqual(phrase.map((r) => r.marks), [['green build'], ['green build']]);

  const all = await search(page, 'deploy "green build" stag*');
  assert.deepEqual(all.map((r) => r.text), [text('d3', 40)]);
  assert.deepEqual(all[0].marks, ['deploy', 'green build', 'staging']);
  assert.equal(await page.locator('#search-status').textContent(), '1 message in #lobby matches “deploy "green build" stag*”.');

  await page.screenshot({ path: path.join(ensureArtifactsDir(), 'history-search.png') });

  // A prefix of two letters is searched as a whole word, as the gateway does, and said so.
  assert.deepEqual(await search(page, 'de*'), []);
  assert.equal(await page.locator('#search-status').textContent(), 'No messages in #lobby match “de*”. “de” was ' +
    'searched as a whole word: a prefix needs 3 characters before its *, and a search takes 2 at most.');

  const none = await search(page, 'nowhere');
  assert.deepEqual(none, []);
  assert.equal(await page.locator('#search-status').textContent(), 'No messages in #lobby match “nowhere”.');

  // Checked before it goes: nothing to search for is said so, and not sent.
  const sent = reader.traffic.length;
  await page.locator('#search-input').fill('** -');
  await page.locator('#search-input').press('Enter');
  await page.locator('#search-status.problem', { hasText: 'at least one letter or digit' }).waitFor();
  assert.equal(reader.traffic.slice(sent).filter(([d, t]) => d === 'out' && JSON.parse(t).type === 'search').length, 0);

  // Escape closes the search: the room is back, the focus on the search button.
  await page.locator('#search-input').press('Escape');
  assert.equal(await page.locator('#search-form').isVisible(), false);
  assert.equal(await page.locator('#logs').isVisible(), true);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'search-toggle');
  assert.deepEqual(reader.problems, []);
  await reader.context.close();
});

test('a result opens among the messages around it; Escape goes back to the results; Back to latest to the room', { timeout: 60000 }, async () => {
  const reader = await openReader('contexter');
  const { page } = reader;
  await page.locator('#log > li', { hasText: text('d3', PER_DAY) }).waitFor();
  await sayLater(reader);
  const results = await search(page, 'deploy');
  const hit = results.find((r) => r.text === text('d2', 1));
  await page.locator(`#search-results > li[data-id="${hit.id}"] button`).click();
  const ctx = page.locator('#context-log');
  await ctx.locator('li.hit').waitFor();
  await page.waitForFunction(() => !document.querySelector('#context-log > li.edge-loading'));
  assert.equal(await page.locator('#logs').isVisible(), false);
  assert.equal(await page.locator('#search-panel').isVisible(), false);
  assert.equal(await page.locator('#context-text').textContent(), 'Around dora\'s message of Yesterday 12:01');
  // The result, marked, among the 25 before it and the 25 after it at least.
  const ids = await idsIn(page, '#context-log');
  assert.deepEqual(ids, Array.from({ length: ids.length }, (_, i) => ids[0] + i), 'no id missing or twice');
  assert.ok(ids[0] <= hit.id - 24 && ids.at(-1) >= hit.id + 25, `${ids[0]}..${ids.at(-1)} around ${hit.id}`);
  assert.deepEqual(await ctx.locator('li.hit').evaluateAll((lis) => lis.map((li) => Number(li.dataset.id))), [hit.id]);
  assert.equal(await ctx.locator('li.hit .text').textContent(), text('d2', 1));
  // It is on screen, under the day line of its day (after dora came back
  // that day), and the day before ends above that.
  const place = await ctx.evaluate((el) => {
    const li = el.querySelector(':scope > li.hit');
    const r = li.getBoundingClientRect();
    const box = el.getBoundingClientRect();
    const between = [];
    let up = li.previousElementSibling;
    while (!up.classList.contains('day')) {
      between.push(up.textContent.replace(/^\d\d:\d\d /, ''));
      up = up.previousElementSibling;
    }
    return { inside: r.top >= box.top && r.bottom <= box.bottom, day: up.textContent,
      between: between.reverse(), before: up.previousElementSibling.textContent.replace(/^\d\d:\d\d /, '') };
  });
  // (dora's leaving the day before is seen either as a close or as the gateway's stop).
  assert.match(place.before, /^← dora left/);
  assert.deepEqual({ ...place, before: '' }, { inside: true, day: 'Yesterday', between: ['→ guest-1 joined from WINTALK',
    '* guest-1 is now dora'], before: '' });
  await page.screenshot({ path: path.join(ensureArtifactsDir(), 'history-context.png') });

  // Scrolling down reads on: the later lines come.
  const last = ids.at(-1);
  await ctx.evaluate((el) => { el.scrollTop = el.scrollHeight; });
  await page.waitForFunction((n) => {
    const all = document.querySelectorAll('#context-log > li[data-id]');
    return Number(all[all.length - 1].dataset.id) > n + 50;
  }, last);
  const more = await idsIn(page, '#context-log');
  assert.deepEqual(more, Array.from({ length: more.length }, (_, i) => more[0] + i));

  // Escape: back to the results, the focus on the one that was opened; Enter opens it again.
  await page.keyboard.press('Escape');
  await page.locator('#search-panel').waitFor();
  assert.equal(await page.locator('#context-log').count(), 0);
  assert.equal(await page.evaluate(() => document.activeElement.closest('li.result')?.dataset.id), String(hit.id));
  await page.keyboard.press('Enter');
  await page.locator('#context-log li.hit').waitFor();

  // Back to latest: the live room at its end, with what was said meanwhile; the box has the focus.
  await page.locator('#context-latest').click();
  assert.equal(await page.locator('#context-log').count(), 0);
  assert.equal(await page.locator('#search-form').isVisible(), false);
  assert.equal(await page.locator('#log').isVisible(), true);
  await page.locator('#log > li', { hasText: 'said while reading the past' }).waitFor();
  assert.equal(await page.locator('#log').evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight <= 24), true);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'input');
  assert.deepEqual(reader.problems, []);
  await reader.context.close();
});

/* A WINTALK participant says a line a moment later (while the reader looks at search results). */
async function sayLater(reader) {
  const peer = await WintalkClient.connect(gw.tcpPort);
  reader.page.once('close', () => peer.close());
  setTimeout(() => {
    peer.sayLine('said while reading the past').catch(() => {});
  }, 1500);
}

test('phone width: scrollback, search and a result in context fit in 390 px', { timeout: 90000 }, async () => {
  const reader = await openReader('phone', { width: 390, height: 844 });
  const { page } = reader;
  const dir = ensureArtifactsDir();
  await page.locator('#log > li', { hasText: text('d3', PER_DAY) }).waitFor();
  await page.locator('#log').evaluate((el) => { el.scrollTop = 0; });
  // Earlier lines come.
  await page.waitForFunction(() => document.querySelectorAll('#log > li[data-id]').length > 150);
  const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  assert.equal(await fits(), true);

  const results = await search(page, 'deploy');
  assert.equal(results.length, 4);
  assert.equal(await fits(), true);
  // The button that opens a result is big enough to tap.
  const box = await page.locator('#search-results > li button').first().boundingBox();
  assert.ok(box.height >= 40 && box.width >= 300, JSON.stringify(box));
  await page.screenshot({ path: path.join(dir, 'history-phone-results.png') });
  await page.locator('#search-results > li button').nth(2).click();
  await page.locator('#context-log li.hit').waitFor();
  await page.waitForFunction(() => !document.querySelector('#context-log > li.edge-loading'));
  assert.equal(await fits(), true);
  assert.equal(await page.locator('#context-latest').isVisible(), true);
  await page.screenshot({ path: path.join(dir, 'history-phone-context.png') });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: path.join(dir, 'history-phone-context-dark.png') });
  await page.locator('#context-results').click();
  await page.locator('#search-panel').waitFor();
  await page.screenshot({ path: path.join(dir, 'history-phone-results-dark.png') });
  assert.deepEqual(reader.problems, []);
  await reader.context.close();
});

test('the memory store: scrollback from the events in memory; search says it is not available', { timeout: 60000 }, async () => {
  const mem = await startGateway({ name: 'history-memory-gateway', extraArgs: ['--store', 'memory', '--rate', '0'] });
  try {
    const peer = await WintalkClient.connect(mem.tcpPort);
    for (let i = 1; i <= 250; i++) await peer.append(`memory line ${i}\r\n`);
    await peer.waitForText('memory line 250\r\n');
    const reader = await openParticipant(browser, mem.url, 'forgetful');
    const { page } = reader;
    await page.locator('#log > li', { hasText: 'memory line 250' }).waitFor();
    await scrollToStart(page);
    const ids = await idsIn(page, '#log');
    assert.deepEqual(ids, Array.from({ length: ids.length }, (_, i) => i + 1));
    assert.deepEqual((await page.locator('#log > li.message .text').allTextContents()),
      Array.from({ length: 250 }, (_, i) => `memory line ${i + 1}`));

    await page.locator('#search-toggle').click();
    await page.locator('#search-input').fill('memory');
    await page.locator('#search-input').press('Enter');
    await page.locator('#search-status', { hasText: 'Search is not available on this server.' }).waitFor();
    assert.equal(await page.locator('#search-results > li').count(), 0);
    // The room stays on screen, and the box says so again when opened again.
    assert.equal(await page.locator('#log').isVisible(), true);
    await page.locator('#search-input').press('Escape');
    await page.locator('#search-toggle').click();
    assert.equal(await page.locator('#search-status').textContent(), 'Search is not available on this server.');
    await page.screenshot({ path: path.join(ensureArtifactsDir(), 'history-memory-search.png') });
    assert.deepEqual(reader.problems, []);
    peer.close();
    await reader.context.close();
  } finally {
    await stopGateway(mem, 'history-memory-gateway');
  }
});

for (const store of ['sqlite', 'memory']) {
  test(`back after more than a welcome holds (${store} store): what was missed ${store === 'sqlite' ? 'comes in where it belongs' : 'and is no longer kept is said missing'}`, { timeout: 90000 }, async () => {
    const g = await startGateway({ name: `history-gap-${store}-gateway`, extraArgs: ['--store', store, '--rate', '0'] });
    const cutter = new Cutter(g.httpPort);
    try {
      const port = await cutter.listen();
      const peer = await WintalkClient.connect(g.tcpPort);
      for (let i = 1; i <= 3; i++) await peer.append(`before the cut ${i}\r\n`);
      const reader = await openParticipant(browser, `http://127.0.0.1:${port}/`, 'away');
      const { page } = reader;
      await page.locator('#log > li', { hasText: 'before the cut 3' }).waitFor();
      const seen = await idsIn(page, '#log');
      cutter.cut();
      await reader.context.setOffline(true);
      await page.locator('#status', { hasText: /Reconnecting in|Disconnected/ }).waitFor({ timeout: 10000 });
      // Long lines: more than a welcome carries (256 KiB) and, in memory,
      // more than the gateway keeps (1 MiB).
      const pad = ' and more words'.repeat(190);
      for (let i = 1; i <= 400; i++) await peer.append(`while away ${i}${pad}\r\n`);
      await peer.waitForText(`while away 400${pad}\r\n`, 20000);
      cutter.restore();
      await reader.context.setOffline(false);
      await waitConnected(page, 20000);
      await page.locator('#log > li', { hasText: 'while away 400 ' }).waitFor();
      const note = page.locator('#log > li.note');
      assert.equal(await note.count(), 1, 'the welcome could not bring everything');
      const welcomed = await page.locator('#log > li.message', { hasText: 'while away' }).count();
      assert.ok(welcomed < 200, `${welcomed} lines came in the welcome`);

      // The reader scrolls up to the notice (the start of the room was shown
      // before the cut), until what is missing is in or said lost.
      assert.match(await note.textContent(), /Not everything said while you were away is shown here yet/);
      const waiting = async () => (await note.count()) > 0 && /shown here yet/.test(await note.textContent());
      for (let i = 0; i < 30 && await waiting(); i++) {
        await page.locator('#log').evaluate((el) => { el.scrollTop = 0; });
        await page.waitForTimeout(50);
        await page.waitForFunction(() => !document.querySelector('#log > li.edge-loading'));
      }
      assert.equal(await page.locator('#log > li.edge-start').count(), 1);
      const ids = await idsIn(page, '#log');
      const away = (await page.locator('#log > li.message .text').allTextContents())
        .filter((t) => t.startsWith('while away')).map((t) => Number(t.split(' ')[2]));
      if (store === 'sqlite') {
        assert.equal(await note.count(), 0, 'nothing is missing');
        assert.deepEqual(ids, Array.from({ length: ids.length }, (_, i) => i + 1));
        assert.deepEqual(away, Array.from({ length: 400 }, (_, i) => i + 1));
      } else {
        assert.equal(await note.textContent().then((t) => t.replace(/^\d\d:\d\d /, '')),
          'Some messages from while you were away are no longer kept and are missing.');
        // Above the notice what was seen; below it, from the oldest kept, each once, in order.
        const split = await page.locator('#log').evaluate((el) => {
          const kids = [...el.children];
          const at = kids.findIndex((li) => li.classList.contains('note'));
          const idsOf = (lis) => lis.filter((li) => li.dataset.id).map((li) => Number(li.dataset.id));
          return { above: idsOf(kids.slice(0, at)), below: idsOf(kids.slice(at + 1)) };
        });
        assert.deepEqual(split.above, seen);
        assert.ok(split.below[0] > seen.at(-1) + 1, 'the first ones are gone');
        assert.deepEqual(split.below, Array.from({ length: split.below.length }, (_, i) => split.below[0] + i));
        assert.ok(away.length > welcomed && away.length < 400, `${away.length} of 400 kept`);
        assert.deepEqual(away, Array.from({ length: away.length }, (_, i) => 401 - away.length + i));
      }
      assert.deepEqual(reader.problems.filter((p) => !/WebSocket|ERR_INTERNET_DISCONNECTED|ERR_CONNECTION/.test(p)), []);
      peer.close();
      await reader.context.close();
    } finally {
      await cutter.close();
      await stopGateway(g, `history-gap-${store}-gateway`);
    }
  });
}
