// Removing a message through the page, against a real gateway (SQLite):
// alice's own line has a labelled actions button (bob's lines have none for
// her), reached with the keyboard; its menu's "Delete message" removes it:
// alice's and bob's lines say "message deleted" in place, a WINTALK peer's
// pane loses the line, and a reload (history from the store) shows it
// deleted, never its words. Screenshot: artifacts/delete-desktop.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startGateway, stopGateway } from './lib/gateway.js';
import { launchBrowser, openParticipant, sayFromPage, ensureArtifactsDir } from './lib/browser.js';
import { WintalkClient } from './lib/wintalk.js';

let gw;
let browser;
let alice;
let bob;
let carol; // a WINTALK peer

const SECRET = 'my password is hunter2';
const line = (p, text) => p.page.locator('#logs > ol:not([hidden]) > li', { hasText: text });

before(async () => {
  gw = await startGateway({ name: 'delete-gateway' });
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
  await stopGateway(gw, 'delete-gateway');
});

test('the sender deletes its line from the page; every client loses the words', { timeout: 60000 }, async () => {
  await sayFromPage(bob.page, 'a line of bob');
  await sayFromPage(alice.page, SECRET);
  await line(bob, SECRET).waitFor();
  await carol.waitForText(`alice: ${SECRET}\r\n`);

  // Only where the reader may act: alice's own line, not bob's.
  const mine = line(alice, SECRET);
  const actions = mine.getByRole('button', { name: 'Message actions' });
  await actions.waitFor();
  assert.equal(await line(alice, 'a line of bob').getByRole('button').count(), 0);
  // The control adds nothing to the line's text.
  assert.match(await mine.textContent(), /alice: my password is hunter2$/);
  assert.equal(await line(bob, SECRET).getByRole('button').count(), 0);

  // By keyboard: focus the button, Enter opens the menu, its item takes focus.
  await actions.focus();
  await alice.page.keyboard.press('Enter');
  const item = mine.getByRole('menuitem', { name: 'Delete message' });
  await item.waitFor();
  assert.equal(await actions.getAttribute('aria-expanded'), 'true');
  assert.ok(await item.evaluate((el) => el === document.activeElement));
  // Escape closes it and gives the focus back; Enter again, then Enter on the item.
  await alice.page.keyboard.press('Escape');
  await item.waitFor({ state: 'hidden' });
  assert.ok(await actions.evaluate((el) => el === document.activeElement));
  await alice.page.keyboard.press('Enter');
  await item.waitFor();
  await alice.page.keyboard.press('Enter');

  // Both pages: the line stays in place, saying so; its words are gone.
  for (const p of [alice, bob]) {
    const gone = p.page.locator('#logs > ol:not([hidden]) > li.deleted', { hasText: 'message deleted' });
    await gone.waitFor();
    assert.equal(await gone.locator('.nick').textContent(), 'alice');
    assert.equal(await line(p, SECRET).count(), 0);
    assert.ok(!(await p.page.content()).includes('hunter2'));
  }
  assert.equal(await line(alice, 'message deleted').getByRole('button').count(), 0);
  await line(alice, 'of #lobby deleted').waitFor();
  // The WINTALK pane, shown again without it.
  await carol.waitForText('* a message of alice was deleted by alice');
  assert.ok(!carol.view.includes('hunter2'), carol.view);

  ensureArtifactsDir();
  await alice.page.screenshot({ path: path.join('artifacts', 'delete-desktop.png') });

  // A reload: the history from the store has it deleted, never its words.
  await bob.page.reload();
  await line(bob, 'a line of bob').waitFor();
  await bob.page.locator('#logs > ol:not([hidden]) > li.deleted', { hasText: 'message deleted' }).waitFor();
  assert.ok(!(await bob.page.content()).includes('hunter2'));
  for (const p of [alice, bob]) {
    assert.deepEqual(p.problems.filter((x) => !/WebSocket|ERR_/.test(x)), []);
  }
});

test('a message kept deleted (scrollback, search context) renders as deleted in place', { timeout: 30000 }, async () => {
  const got = await alice.page.evaluate(async () => {
    const { renderEvent } = await import('/js/render.js');
    const li = renderEvent({ type: 'message', room: '#lobby', id: 7, time: 0, nick: 'alice', via: 'web', text: '', me: false, deleted: true });
    const action = renderEvent({ type: 'message', room: '#lobby', id: 8, time: 0, nick: 'alice', via: 'web', text: '', me: true, deleted: true });
    return [li.className, li.querySelector('.nick').textContent, li.querySelector('.text').textContent, action.className, action.textContent.includes('message deleted')];
  });
  assert.deepEqual(got, ['line message deleted', 'alice', 'message deleted', 'line message deleted', true]);
});
