// A page offline while the gateway restarts, and the new gateway already has
// more events than the page saw before: its ids started again at 1, so the
// page's last id names an event of the new run it never saw. The page must
// say that the gateway restarted and earlier history was reset, and show the
// new run's lines from the first, each once.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, stopGateway } from './lib/gateway.js';
import { launchBrowser, openParticipant, waitConnected } from './lib/browser.js';
import { WintalkClient } from './lib/wintalk.js';
import { Cutter } from './lib/cutter.js';

let gw;
let browser;
let reader;
let tcp;
let cutter;

const RESET_NOTE = /gateway has restarted/;

before(async () => {
  gw = await startGateway({ name: 'epoch-gateway' });
  browser = await launchBrowser();
  // The page and its WebSocket go through a relay the test can cut.
  cutter = new Cutter(gw.httpPort);
  const relayPort = await cutter.listen();
  reader = await openParticipant(browser, `http://127.0.0.1:${relayPort}/`, 'reader');
  tcp = await WintalkClient.connect(gw.tcpPort);
});

after(async () => {
  tcp?.close();
  await browser?.close();
  await cutter?.close();
  await stopGateway(gw);
});

/* The page goes offline: its connection is cut and new ones are refused. */
async function goOffline(p) {
  cutter.cut();
  await p.context.setOffline(true);
  await p.page.locator('#status', { hasText: /Reconnecting in|Disconnected/ }).waitFor({ timeout: 10000 });
}

async function goOnline(p) {
  cutter.restore();
  await p.context.setOffline(false);
  await waitConnected(p.page, 20000);
}

const lines = (page, text) => page.locator('#log > li', { hasText: text });

test('the page says the gateway restarted and shows the new run from its first line', { timeout: 120000 }, async () => {
  const { page } = reader;
  for (let i = 1; i <= 4; i++) await tcp.sayLine(`old line ${i}`);
  await lines(page, 'old line 4').waitFor();

  // A reconnect to the same gateway resumes: no reset notice.
  await goOffline(reader);
  await goOnline(reader);
  await tcp.sayLine('old line 5');
  await lines(page, 'old line 5').waitFor();
  assert.equal(await lines(page, RESET_NOTE).count(), 0);
  assert.equal(await lines(page, 'old line 1').count(), 1);
  const lastOldId = Math.max(...await page.locator('#log > li[data-id]').evaluateAll(
    (lis) => lis.map((li) => Number(li.dataset.id))));

  // Offline, the gateway restarts on the same ports and its new run gets
  // more events than the page saw in the old one.
  await goOffline(reader);
  const { httpPort, tcpPort } = gw;
  tcp.close();
  await stopGateway(gw);
  gw = await startGateway({ name: 'epoch-gateway-2', ports: { http: httpPort, tcp: tcpPort } });
  tcp = await WintalkClient.connect(gw.tcpPort);
  const count = lastOldId + 3;
  for (let i = 1; i <= count; i++) await tcp.sayLine(`new line ${i}`);
  await tcp.waitForText(`new line ${count}\r\n`);

  await goOnline(reader);
  const note = lines(page, RESET_NOTE);
  await note.waitFor({ timeout: 10000 });
  assert.equal(await note.count(), 1);
  assert.match(await note.textContent(), /earlier history was reset/);
  for (let i = 1; i <= count; i++) {
    await lines(page, `new line ${i}`).first().waitFor();
    assert.equal(await lines(page, new RegExp(`new line ${i}$`)).count(), 1, `new line ${i} once`);
  }
  // The old lines stay, before the notice; the new ones follow it.
  const texts = await page.locator('#log > li').allTextContents();
  const at = (re) => texts.findIndex((t) => re.test(t));
  assert.ok(at(/old line 5/) < at(RESET_NOTE));
  assert.ok(at(RESET_NOTE) < at(/new line 1$/));

  // Live lines after the reset are shown too.
  await tcp.sayLine('after the reset');
  await lines(page, 'after the reset').waitFor();
  assert.deepEqual(reader.problems.filter((p) => !/WebSocket|ERR_INTERNET_DISCONNECTED/.test(p)), []);
});
