// Two browser pages and one WINTALK TCP client chat three ways through a real
// gateway; live typing shows both ways; slash commands and nick changes work.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, stopGateway } from './lib/gateway.js';
import { launchBrowser, openParticipant, sayFromPage, logLines } from './lib/browser.js';
import { WintalkClient } from './lib/wintalk.js';

let gw;
let browser;
let alice;
let bob;
let tcp;

const line = (p, text) => p.page.locator('#log > li', { hasText: text });
const lineCount = (p, text) => line(p, text).count();

before(async () => {
  gw = await startGateway({ name: 'chat-gateway' });
  browser = await launchBrowser();
  alice = await openParticipant(browser, gw.url, 'alice');
  bob = await openParticipant(browser, gw.url, 'bob');
  tcp = await WintalkClient.connect(gw.tcpPort);
  await tcp.sayLine('/nick carol');
  for (const p of [alice, bob]) {
    await p.page.locator('#people li', { hasText: 'carol' }).waitFor();
  }
});

after(async () => {
  tcp?.close();
  await browser?.close();
  await stopGateway(gw);
});

test('everyone sees who is here and where each is from', async () => {
  for (const p of [alice, bob]) {
    await p.page.locator('#status', { hasText: /· 3 here/ }).waitFor();
    const people = await p.page.locator('#people li').allTextContents();
    assert.equal(people.length, 3);
    assert.ok(people.some((t) => t.includes('alice') && t.includes('browser')), people.join('|'));
    assert.ok(people.some((t) => t.includes('bob') && t.includes('browser')), people.join('|'));
    assert.ok(people.some((t) => t.includes('carol') && t.includes('WINTALK')), people.join('|'));
  }
  const status = await alice.page.locator('#status').textContent();
  assert.match(status, /^Connected as alice · #lobby · 3 here$/);
});

test('three-way chat: each sees the others\' lines', async () => {
  await sayFromPage(alice.page, 'hello from alice ñandú 😀');
  await line(bob, 'hello from alice ñandú 😀').waitFor();
  await tcp.waitForText('alice: hello from alice ñandú 😀\r\n');

  await sayFromPage(bob.page, 'and bob answers');
  await line(alice, 'and bob answers').waitFor();
  await tcp.waitForText('bob: and bob answers\r\n');

  await tcp.sayLine('carol here, from WINTALK');
  for (const p of [alice, bob]) {
    const l = line(p, 'carol here, from WINTALK');
    await l.waitFor();
    assert.equal(await l.locator('.nick').textContent(), 'carol');
  }
  // The sender's own line is in its conversation once, marked as its own.
  assert.equal(await lineCount(alice, 'hello from alice'), 1);
  assert.equal(await alice.page.locator('#log > li.mine', { hasText: 'hello from alice' }).count(), 1);
});

test('several lines in one WINTALK frame arrive in order (the gateway batches them)', async () => {
  await tcp.append('batch one\r\nbatch two\r\nbatch three\r\n');
  for (const p of [alice, bob]) {
    await line(p, 'batch three').waitFor();
    const lines = (await logLines(p.page)).filter((t) => t.includes('batch '));
    assert.deepEqual(lines.map((t) => t.replace(/^.*batch /, '')), ['one', 'two', 'three']);
  }
  // The gateway sent some events as one JSON array, and the page took each.
  assert.ok(alice.frames.some((f) => f.startsWith('[')), 'no JSON array was received');
});

test('the TCP client\'s half-typed line shows live in both pages before Enter', async () => {
  await tcp.type('typing live');
  for (const p of [alice, bob]) {
    const draft = p.page.locator('#drafts .draft', { hasText: 'typing live' });
    await draft.waitFor();
    assert.equal(await draft.locator('.nick').textContent(), 'carol');
    assert.equal(await lineCount(p, 'typing live'), 0, 'not a message before Enter');
    await p.page.locator('#people li', { hasText: 'carol' }).locator('.is-typing').waitFor();
  }
  await tcp.append('\r\n');
  for (const p of [alice, bob]) {
    await line(p, 'typing live').waitFor();
    await p.page.locator('#drafts .draft').waitFor({ state: 'detached' });
  }
  // A retyped draft (an R frame) replaces what the pages show.
  await tcp.type('abc');
  await alice.page.locator('#drafts .draft', { hasText: 'abc' }).waitFor();
  await tcp.replace('');
  await alice.page.locator('#drafts .draft').waitFor({ state: 'detached' });
});

test('a page\'s typing shows live in the other page; Shift+Enter makes a new line', async () => {
  const input = alice.page.locator('#input');
  await input.pressSequentially('first half', { delay: 10 });
  await bob.page.locator('#drafts .draft', { hasText: 'first half' }).waitFor();
  await input.press('Shift+Enter');
  await input.pressSequentially('second half', { delay: 10 });
  assert.equal(await input.inputValue(), 'first half\nsecond half');
  await bob.page.locator('#drafts .draft', { hasText: 'second half' }).waitFor();
  await input.press('Enter');
  assert.equal(await input.inputValue(), '');
  const l = line(bob, 'second half');
  await l.waitFor();
  assert.match(await l.locator('.text').textContent(), /^first half\nsecond half$/);
  await bob.page.locator('#drafts .draft').waitFor({ state: 'detached' });
  await tcp.waitForText('second half');
});

test('a page sends typing at most 4 times a second, and "" once the line is sent', async (t) => {
  const context = await browser.newContext();
  t.after(() => context.close());
  // Record each typing update in the page, with the page's own clock, at the
  // moment it is handed to the socket: events observed from outside the
  // browser arrive in bursts when the machine is busy.
  await context.addInitScript(() => {
    window.__typingSent = [];
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (data) {
      try {
        const msg = JSON.parse(String(data));
        if (msg.type === 'typing') window.__typingSent.push({ at: performance.now(), text: msg.text });
      } catch { /* not JSON: not ours to record */ }
      return send.call(this, data);
    };
  });
  const page = await context.newPage();
  const sentNow = () => page.evaluate(() => window.__typingSent);
  await page.goto(gw.url);
  await page.locator('#nick-input').fill('fasttypist');
  await page.locator('#nick-input').press('Enter');
  await page.locator('#status', { hasText: 'Connected as fasttypist' }).waitFor();
  const start = await page.evaluate(() => performance.now());
  await page.locator('#input').pressSequentially('a quick brown fox jumps over the lazy dog', { delay: 15 });
  await page.waitForTimeout(400);
  let sent = await sentNow();
  const typed = (await page.evaluate(() => performance.now())) - start;
  // The last state always gets out.
  assert.equal(sent.at(-1).text, 'a quick brown fox jumps over the lazy dog');
  assert.ok(sent.length <= Math.ceil(typed / 250) + 1, `${sent.length} updates in ${typed} ms`);
  for (let i = 1; i < sent.length; i++) {
    assert.ok(sent[i].at - sent[i - 1].at >= 200, `updates ${sent[i].at - sent[i - 1].at} ms apart`);
  }
  await alice.page.locator('#drafts .draft', { hasText: 'lazy dog' }).waitFor();
  await page.locator('#input').press('Enter');
  await alice.page.locator('#log > li', { hasText: 'lazy dog' }).waitFor();
  await page.waitForTimeout(400);
  sent = await sentNow();
  assert.equal(sent.at(-1).text, '');
});

test('slash commands from the page: /me, /who, /help', async () => {
  await sayFromPage(alice.page, '/me waves');
  const action = bob.page.locator('#log > li.action', { hasText: 'waves' });
  await action.waitFor();
  assert.match(await action.textContent(), /\* alice waves/);
  await tcp.waitForText('* alice waves\r\n');

  await sayFromPage(alice.page, '/who');
  const who = alice.page.locator('#log > li.info').last();
  await who.waitFor();
  const whoText = await who.textContent();
  for (const n of ['alice', 'bob', 'carol']) assert.ok(whoText.includes(n), whoText);
  assert.equal(await bob.page.locator('#log > li.info').count(), 0, '/who answers the asker only');

  await sayFromPage(alice.page, '/help');
  await alice.page.locator('#log > li.info', { hasText: '/nick' }).waitFor();
});

test('nick changes: refused plainly when taken, kept in localStorage when done', async () => {
  // Through the dialog: a taken nick is refused and the dialog says why.
  await bob.page.locator('#change-nick').click();
  await bob.page.locator('#nick-input').fill('Alice');
  await bob.page.locator('#nick-input').press('Enter');
  await bob.page.locator('#nick-error', { hasText: /taken|not allowed/i }).waitFor();
  // Said in words, the code in the tooltip only.
  const refusal = bob.page.locator('#log > li.error[data-code="553"]', { hasText: /Not allowed: nick "Alice" is taken\. Pick another/ });
  await refusal.waitFor();
  assert.doesNotMatch(await refusal.textContent(), /Refused|553/);
  assert.match(await refusal.getAttribute('title'), /553/);
  await bob.page.locator('#nick-input').fill('robert');
  await bob.page.locator('#nick-input').press('Enter');
  await bob.page.locator('#nick-dialog').waitFor({ state: 'hidden' });
  await line(alice, 'bob is now robert').waitFor();
  assert.equal(await bob.page.evaluate(() => localStorage.getItem('wintalk.nick')), 'robert');
  await bob.page.locator('#status', { hasText: 'Connected as robert' }).waitFor();

  // Typed as a command: the gateway's nick event updates localStorage.
  await sayFromPage(alice.page, '/nick alicia');
  await line(bob, 'alice is now alicia').waitFor();
  await alice.page.locator('#my-nick', { hasText: 'alicia' }).waitFor();
  assert.equal(await alice.page.evaluate(() => localStorage.getItem('wintalk.nick')), 'alicia');
  await tcp.waitForText('alice is now alicia');

  // A reloaded page comes back with the remembered nick and no dialog.
  await alice.page.reload();
  await alice.page.locator('#status', { hasText: 'Connected as alicia' }).waitFor();
  assert.equal(await alice.page.locator('#nick-dialog').isVisible(), false);
});

test('a first visit with a taken nick joins as a guest and asks for another', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(gw.url);
  await page.locator('#nick-input').fill('ROBERT');
  await page.locator('#nick-input').press('Enter');
  // Refused plainly, in the dialog, while already in the room as a guest.
  await page.locator('#nick-error', { hasText: /taken/i }).waitFor();
  await page.locator('#status', { hasText: /^Connected as guest-\d+ · #lobby · 4 here$/ }).waitFor();
  await page.locator('#nick-input').fill('dave');
  await page.locator('#nick-input').press('Enter');
  await page.locator('#status', { hasText: 'Connected as dave' }).waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('wintalk.nick')), 'dave');
  await line(alice, /guest-\d+ is now dave/).waitFor();
  await context.close();
});

test('no console errors and no dialogs in either page', async () => {
  assert.deepEqual(alice.problems, []);
  assert.deepEqual(bob.problems, []);
  const all = await logLines(alice.page);
  assert.ok(all.length > 5);
});
