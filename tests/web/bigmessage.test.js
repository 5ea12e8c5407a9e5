// A message larger than one write reaches the page whole. The gateway writes
// at most 32 KiB at a time (GW_WRITE_MAX_BYTES), so a larger one (here a
// welcome with a quarter megabyte of history) leaves as WebSocket fragments
// of one message, which Chromium puts together: the page shows the history
// and then goes on with live messages, without an error.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, stopGateway } from './lib/gateway.js';
import { launchBrowser, openParticipant, logLines, sayFromPage } from './lib/browser.js';
import { WintalkClient, frame } from './lib/wintalk.js';

let gw;
let browser;

before(async () => {
  gw = await startGateway({ name: 'bigmessage-gateway', extraArgs: ['--store', 'memory', '--rate', '0'] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stopGateway(gw, 'bigmessage-gateway');
});

test('a welcome of 256 KiB arrives in pieces and is shown whole', async () => {
  const t = await WintalkClient.connect(gw.tcpPort);
  const pad = 'f'.repeat(3000);
  let lines = '';
  for (let i = 0; i < 200; i++) lines += frame('A', `fill ${i} ${pad}\n`);
  lines += frame('A', 'fill done\n');
  t.socket.write(lines);
  await t.waitFor(() => t.view.includes('fill done'), 10000, 'the filler lines');
  const p = await openParticipant(browser, `http://127.0.0.1:${gw.httpPort}/`, 'alice');
  const welcome = p.frames.find((f) => f.includes('"type":"welcome"'));
  assert.ok(welcome && welcome.length > 128 * 1024, `a welcome of ${welcome?.length} bytes`);
  const json = JSON.parse(welcome);
  const lobby = json.rooms.find((r) => r.room === '#lobby');
  assert.ok(lobby.history.length > 40, `${lobby.history.length} events`);
  const shown = await logLines(p.page);
  assert.ok(shown.some((l) => l.includes('fill done')), 'the last line of the history is shown');
  // Live messages go on after it, both ways.
  t.socket.write(frame('A', 'after the big one\n'));
  await p.page.locator('#log > li', { hasText: 'after the big one' }).waitFor({ timeout: 10000 });
  await sayFromPage(p.page, 'hello from the page');
  await t.waitFor(() => t.view.includes('alice: hello from the page'), 10000, 'the page\'s message');
  assert.deepEqual(p.problems, []);
  await p.context.close();
  t.socket.destroy();
});
