// A page whose connection is really cut while others talk shows every missed
// message after it reconnects: all of them, once each, in order.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, stopGateway } from './lib/gateway.js';
import { launchBrowser, openParticipant, sayFromPage, waitConnected } from './lib/browser.js';
import { WintalkClient } from './lib/wintalk.js';
import { Cutter } from './lib/cutter.js';

let gw;
let browser;
let victim;
let sender;
let tcp;
let cutter;

before(async () => {
  gw = await startGateway({ name: 'reconnect-gateway' });
  browser = await launchBrowser();
  // The victim's page and WebSocket go through a relay the test can cut.
  cutter = new Cutter(gw.httpPort);
  const relayPort = await cutter.listen();
  victim = await openParticipant(browser, `http://127.0.0.1:${relayPort}/`, 'victim');
  sender = await openParticipant(browser, gw.url, 'sender');
  tcp = await WintalkClient.connect(gw.tcpPort);
  await victim.page.locator('#status', { hasText: '3 here' }).waitFor();
});

after(async () => {
  tcp?.close();
  await browser?.close();
  await cutter?.close();
  await stopGateway(gw);
});

test('20 messages sent while a page is offline all arrive once, in order', { timeout: 90000 }, async () => {
  await sayFromPage(sender.page, 'before the cut');
  await victim.page.locator('#log > li', { hasText: 'before the cut' }).waitFor();

  // The network goes away: the TCP connection under the page's WebSocket is
  // cut at both ends, new connections are refused, and the browser is told
  // it is offline. The gateway sees the connection end.
  const joinedBefore = await sender.page.locator('#log > li', { hasText: 'victim joined' }).count();
  cutter.cut();
  await victim.context.setOffline(true);
  await victim.page.locator('#status', { hasText: /Reconnecting in|Disconnected/ }).waitFor({ timeout: 10000 });
  // The gateway sees the connection end; the victim is back within the
  // reload grace, so nobody is told it left (or, later, that it joined).
  const deadline = Date.now() + 10000;
  while (!/disconnect web [^\n]*nick=victim/.test(gw.log())) {
    assert.ok(Date.now() < deadline, 'the gateway never saw the victim go');
    await new Promise((r) => setTimeout(r, 50));
  }

  const expected = [];
  for (let i = 1; i <= 20; i++) {
    const text = `missed ${String(i).padStart(2, '0')}`;
    expected.push(text);
    if (i % 2) {
      await sayFromPage(sender.page, text);
    } else {
      await tcp.sayLine(text);
    }
    // Wait for each to land, so that "in order" has one meaning.
    await sender.page.locator('#log > li', { hasText: text }).waitFor();
  }
  assert.equal(await victim.page.locator('#log > li', { hasText: 'missed ' }).count(), 0);

  cutter.restore();
  await victim.context.setOffline(false);
  await waitConnected(victim.page, 20000);
  await victim.page.locator('#log > li', { hasText: 'missed 20' }).waitFor();

  const missed = (await victim.page.locator('#log > li', { hasText: 'missed ' }).allTextContents())
    .map((t) => t.match(/missed \d\d/)[0]);
  assert.deepEqual(missed, expected);
  // Nothing shown twice: every event id appears once.
  const ids = await victim.page.locator('#log > li[data-id]').evaluateAll(
    (lis) => lis.map((li) => Number(li.dataset.id)));
  assert.equal(new Set(ids).size, ids.length, `duplicate ids in ${ids}`);
  assert.deepEqual([...ids].sort((a, b) => a - b), ids, 'ids in increasing order');
  assert.equal(await victim.page.locator('#log > li', { hasText: 'before the cut' }).count(), 1);
  assert.equal(await sender.page.locator('#log > li', { hasText: 'victim left' }).count(), 0);
  assert.equal(await sender.page.locator('#log > li', { hasText: 'victim joined' }).count(), joinedBefore);
  assert.deepEqual(victim.problems.filter((p) => !/WebSocket|ERR_INTERNET_DISCONNECTED/.test(p)), []);
});

test('a restarted gateway: the page says so, reconnects, and shows new lines', { timeout: 90000 }, async () => {
  const { httpPort, tcpPort } = gw;
  tcp.close();
  await stopGateway(gw);
  // A stopping gateway says bye 421 to every browser before closing.
  await sender.page.locator('#log > li', { hasText: '421' }).waitFor();
  await sender.page.locator('#status', { hasText: /Reconnecting in|Reconnecting…/ }).waitFor();
  gw = await startGateway({ name: 'reconnect-gateway-2', ports: { http: httpPort, tcp: tcpPort } });
  for (const p of [victim, sender]) await waitConnected(p.page, 30000);
  await sender.page.locator('#log > li', { hasText: 'gateway has restarted' }).waitFor();
  // The new gateway's ids start again at 1: new lines must not be taken
  // for ones already shown.
  tcp = await WintalkClient.connect(gw.tcpPort);
  await tcp.sayLine('after the restart');
  for (const p of [victim, sender]) {
    await p.page.locator('#log > li', { hasText: 'after the restart' }).waitFor();
    assert.equal(await p.page.locator('#log > li', { hasText: 'after the restart' }).count(), 1);
  }
  await sayFromPage(victim.page, 'victim is back');
  await sender.page.locator('#log > li', { hasText: 'victim is back' }).waitFor();
});
