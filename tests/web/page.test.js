// The page as a person meets it: served with the gateway's CSP, no console
// errors, usable by keyboard, and screenshots at desktop and phone width
// (written to tests/web/artifacts/ for a person to look at).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startGateway, stopGateway } from './lib/gateway.js';
import { launchBrowser, openParticipant, sayFromPage, ensureArtifactsDir } from './lib/browser.js';
import { WintalkClient } from './lib/wintalk.js';

let gw;
let browser;

before(async () => {
  gw = await startGateway({ name: 'page-gateway' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stopGateway(gw);
});

test('the page loads under the gateway\'s CSP and logs no errors', async () => {
  const p = await openParticipant(browser, gw.url, 'csp');
  const csp = p.response.headers()['content-security-policy'];
  assert.ok(csp, 'a Content-Security-Policy header');
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /style-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  // The modules ran (the page connected), the style sheet applied.
  assert.match(await p.page.locator('#status').textContent(), /^Connected as csp · #lobby · 1 here$/);
  const bg = await p.page.evaluate(() => getComputedStyle(document.querySelector('.conversation')).borderTopStyle);
  assert.equal(bg, 'solid');
  // Every resource the page loads comes with the same policy and no inline code.
  const inline = await p.page.evaluate(() => ({
    scripts: [...document.scripts].filter((s) => !s.src).length,
    styles: document.querySelectorAll('style, [style]').length,
  }));
  assert.deepEqual(inline, { scripts: 0, styles: 0 });
  await sayFromPage(p.page, 'a line under CSP');
  await p.page.locator('#log > li', { hasText: 'a line under CSP' }).waitFor();
  assert.deepEqual(p.problems, []);
  await p.context.close();
});

test('first visit asks for a nick; a bad one is explained; keyboard only', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(gw.url);
  const dialog = page.locator('#nick-dialog');
  await dialog.waitFor();
  // The dialog has focus on the nick field: type, Enter.
  await page.keyboard.type('9lives');
  await page.keyboard.press('Enter');
  await page.locator('#nick-error', { hasText: 'start with a letter' }).waitFor();
  await page.keyboard.press('Control+A');
  await page.keyboard.type('keyboarder');
  await page.keyboard.press('Enter');
  await page.locator('#status', { hasText: 'Connected as keyboarder' }).waitFor();
  // Focus lands in the text box: type and send without the mouse.
  await page.keyboard.type('sent by keyboard');
  await page.keyboard.press('Enter');
  await page.locator('#log > li', { hasText: 'sent by keyboard' }).waitFor();
  // Labels and live region.
  assert.equal(await page.locator('#log').getAttribute('aria-live'), 'polite');
  assert.equal(await page.getByLabel('Your text').count(), 1);
  await context.close();
});

test('screenshots at desktop and phone width', { timeout: 60000 }, async () => {
  const dir = ensureArtifactsDir();
  const desk = await openParticipant(browser, gw.url, 'alice', { viewport: { width: 1280, height: 800 } });
  const phone = await openParticipant(browser, gw.url, 'bob', { viewport: { width: 390, height: 844 } });
  const tcp = await WintalkClient.connect(gw.tcpPort);
  await tcp.sayLine('/nick carol');
  await sayFromPage(desk.page, 'Hola, ¿qué tal? 😀');
  await sayFromPage(phone.page, 'Bien, desde el teléfono. Mira https://example.com/talk');
  await tcp.sayLine('Hello from the WinTalk program on my old PC.');
  await sayFromPage(desk.page, '/me waves at everyone');
  await sayFromPage(phone.page, 'A longer line to see how wrapping looks on a narrow screen, with a verylongwordthatmightoverflowtheconversationpaneifnothingbreaksit.');
  await sayFromPage(desk.page, '/who');
  await desk.page.locator('#log > li.info').waitFor();
  await tcp.type('I am typing this right n');
  for (const p of [desk, phone]) {
    await p.page.locator('#drafts .draft', { hasText: 'right n' }).waitFor();
  }
  await desk.page.locator('#input').fill('a draft of my own');
  await desk.page.screenshot({ path: path.join(dir, 'desktop.png') });
  await phone.page.screenshot({ path: path.join(dir, 'phone.png') });
  await desk.page.emulateMedia({ colorScheme: 'dark' });
  await desk.page.screenshot({ path: path.join(dir, 'desktop-dark.png') });
  await phone.page.emulateMedia({ colorScheme: 'dark' });
  await phone.page.screenshot({ path: path.join(dir, 'phone-dark.png') });

  // Nothing sticks out sideways at phone width, down to 360 px.
  for (const width of [390, 360]) {
    await phone.page.setViewportSize({ width, height: 740 });
    const widths = await phone.page.evaluate(() => ({
      doc: document.documentElement.scrollWidth, view: window.innerWidth,
    }));
    assert.ok(widths.doc <= widths.view, `page is ${widths.doc}px wide in a ${widths.view}px window`);
  }
  // The dark scheme follows the system setting.
  const dark = await phone.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.notEqual(dark, 'rgb(238, 240, 243)');
  assert.deepEqual(desk.problems, []);
  assert.deepEqual(phone.problems, []);
  tcp.close();
  await desk.context.close();
  await phone.context.close();
});

test('the conversation sticks to the bottom unless the reader scrolled up', { timeout: 60000 }, async () => {
  const reader = await openParticipant(browser, gw.url, 'reader', { viewport: { width: 390, height: 600 } });
  const tcp = await WintalkClient.connect(gw.tcpPort);
  const atBottom = () => reader.page.locator('#log').evaluate(
    (el) => el.scrollHeight - el.scrollTop - el.clientHeight <= 24);
  // Fewer lines than the gateway's per-participant burst, long enough to wrap.
  for (let i = 0; i < 15; i++) {
    await tcp.sayLine(`filler line ${i}: enough words here to wrap onto a second line on a phone`);
  }
  await reader.page.locator('#log > li', { hasText: 'filler line 14' }).waitFor();
  assert.equal(await atBottom(), true);
  await reader.page.locator('#log').evaluate((el) => { el.scrollTop = 0; });
  // At the top the page asks for earlier lines: here there are none, and
  // the room's start is said above the first line.
  await reader.page.locator('#log > li.edge-start').waitFor();
  // Where the reader is: the first line on screen, and how far down it is.
  const onScreen = () => reader.page.locator('#log').evaluate((el) => {
    const top = el.getBoundingClientRect().top;
    const li = [...el.querySelectorAll(':scope > li.line')].find((l) => l.getBoundingClientRect().bottom > top);
    return { text: li.textContent, top: Math.round(li.getBoundingClientRect().top - top) };
  });
  const before = await onScreen();
  await tcp.sayLine('while scrolled up');
  await reader.page.locator('#log > li', { hasText: 'while scrolled up' }).waitFor();
  assert.equal(await atBottom(), false, 'a reader who scrolled up stays where they are');
  assert.deepEqual(await onScreen(), before);
  await reader.page.locator('#jump').click();
  assert.equal(await atBottom(), true);
  tcp.close();
  await reader.context.close();
});

test('a gateway with an access key: the page asks for it, then joins', async () => {
  const keyed = await startGateway({ name: 'page-gateway-key', extraArgs: ['--key', 's3cret'] });
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(keyed.url);
    await page.locator('#nick-input').fill('keyholder');
    await page.locator('#nick-input').press('Enter');
    await page.locator('#key-input').waitFor();
    await page.locator('#nick-error', { hasText: /key/i }).waitFor();
    await page.locator('#key-input').fill('wrong');
    await page.locator('#key-input').press('Enter');
    await page.locator('#nick-error', { hasText: /wrong/i }).waitFor();
    await page.locator('#key-input').fill('s3cret');
    await page.locator('#key-input').press('Enter');
    await page.locator('#status', { hasText: 'Connected as keyholder' }).waitFor();
    // The key lasts for the tab (sessionStorage), the nick for the browser.
    assert.equal(await page.evaluate(() => sessionStorage.getItem('wintalk.key')), 's3cret');
    await context.close();
  } finally {
    await stopGateway(keyed);
  }
});
