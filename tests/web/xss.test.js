// Text from others is shown as text: HTML from a WINTALK client never becomes
// elements and never runs, in the conversation, in search results or around
// a result opened in context; only plain http(s) URLs become links.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, stopGateway } from './lib/gateway.js';
import { launchBrowser, openParticipant } from './lib/browser.js';
import { WintalkClient } from './lib/wintalk.js';

let gw;
let browser;
let reader;
let tcp;

before(async () => {
  gw = await startGateway({ name: 'xss-gateway' });
  browser = await launchBrowser();
  reader = await openParticipant(browser, gw.url, 'reader');
  tcp = await WintalkClient.connect(gw.tcpPort);
  await reader.page.locator('#status', { hasText: '2 here' }).waitFor();
});

after(async () => {
  tcp?.close();
  await browser?.close();
  await stopGateway(gw);
});

const countElements = (page) => page.evaluate(() => ({
  img: document.querySelectorAll('img').length,
  script: document.querySelectorAll('script').length,
  iframe: document.querySelectorAll('iframe').length,
  inLog: document.querySelectorAll('#log img, #log script, #log iframe, #log b, #log svg').length,
  inDrafts: document.querySelectorAll('#drafts img, #drafts script, #drafts b').length,
}));

test('HTML in a WINTALK line appears literally and runs nothing', async () => {
  const before = await countElements(reader.page);
  const evil = '<img src=x onerror=alert(1)> and <script>alert(2)</script> <b>bold</b>';
  // While it is being typed (a draft) ...
  await tcp.type('<img src=y onerror=alert(3)>', 0);
  await reader.page.locator('#drafts .draft', { hasText: '<img src=y onerror=alert(3)>' }).waitFor();
  await tcp.replace('');
  // ... and as a message.
  await tcp.sayLine(evil);
  const l = reader.page.locator('#log > li', { hasText: 'onerror=alert(1)' });
  await l.waitFor();
  assert.equal(await l.locator('.text').textContent(), evil);
  // Give an injected handler time to fire, if one had been created.
  await sleep(500);
  const after = await countElements(reader.page);
  assert.deepEqual(after, before);
  assert.equal(after.inLog, 0);
  assert.deepEqual(reader.problems, []);
});

test('only plain http(s) URLs become links, opened safely', async () => {
  const text = 'see https://example.com/wiki/Foo_(bar), then http://example.org/x?y=1. ' +
    'not javascript:alert(4) nor data:text/html,hi nor ftp://example.net/f';
  await tcp.sayLine(text);
  const l = reader.page.locator('#log > li', { hasText: 'javascript:alert(4)' });
  await l.waitFor();
  assert.equal(await l.locator('.text').textContent(), text);
  const links = await l.locator('a').evaluateAll((as) => as.map((a) => ({
    href: a.getAttribute('href'), text: a.textContent, rel: a.rel, target: a.target,
  })));
  assert.deepEqual(links, [
    { href: 'https://example.com/wiki/Foo_(bar)', text: 'https://example.com/wiki/Foo_(bar)',
      rel: 'noopener noreferrer', target: '_blank' },
    { href: 'http://example.org/x?y=1', text: 'http://example.org/x?y=1',
      rel: 'noopener noreferrer', target: '_blank' },
  ]);
  assert.deepEqual(reader.problems, []);
});

test('HTML in a line found by search appears literally in the results and in context, and runs nothing', async () => {
  const { page } = reader;
  const evil = '<img src=x onerror=alert(5)> findme <script>alert(6)</script> <b>bold</b> <mark>fake</mark>';
  await tcp.sayLine(evil);
  await page.locator('#log > li', { hasText: 'onerror=alert(5)' }).waitFor();
  const before = await countElements(page);
  await page.locator('#search-toggle').click();
  await page.locator('#search-input').fill('findme');
  await page.locator('#search-input').press('Enter');
  const result = page.locator('#search-results > li').first();
  await result.waitFor();
  assert.equal(await page.locator('#search-results > li').count(), 1);
  assert.equal(await result.locator('.result-text').textContent(), evil);
  // The one element made inside the text marks the word found.
  assert.deepEqual(await result.locator('.result-text *').evaluateAll((els) => els.map((e) => `${e.localName}:${e.textContent}`)),
    ['mark:findme']);
  await result.locator('button').click();
  const hit = page.locator('#context-log > li.hit');
  await hit.waitFor();
  assert.equal(await hit.locator('.text').textContent(), evil);
  assert.equal(await page.locator('#context-log img, #context-log script, #context-log b, #context-log mark').count(), 0);
  await sleep(500);
  assert.deepEqual(await countElements(page), before);
  await page.keyboard.press('Escape');
  await page.keyboard.press('Escape');
  await page.locator('#search-form').waitFor({ state: 'hidden' });
  assert.deepEqual(reader.problems, []);
});

test('the page sets no inline style attributes', async () => {
  assert.equal(await reader.page.locator('[style]').count(), 0);
});
