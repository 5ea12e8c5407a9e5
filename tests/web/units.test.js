// The page's modules on their own, in the real browser: the connection's
// unpacking and deduplication of events (arrays, replays, events before the
// welcome, a restarted gateway, a reset epoch) and the link maker. The page is loaded from
// a real gateway so the modules run under its CSP.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, stopGateway } from './lib/gateway.js';
import { launchBrowser } from './lib/browser.js';

let gw;
let browser;
let page;

before(async () => {
  gw = await startGateway({ name: 'units-gateway' });
  browser = await launchBrowser();
  const context = await browser.newContext();
  page = await context.newPage();
  await page.goto(gw.url);
});

after(async () => {
  await browser?.close();
  await stopGateway(gw);
});

/* Feeds WebSocket message texts to a Connection and returns what it handed on. */
function feed(messages) {
  return page.evaluate(async (msgs) => {
    const { Connection } = await import('/js/connection.js');
    const out = [];
    const c = new Connection({
      onWelcome: (w) => out.push(`welcome${w.restarted ? ' restarted' : ''}`),
      onEvent: (e) => out.push(`${e.type} ${e.id}`),
      onTyping: (t) => out.push(`typing ${t.text}`),
      onInfo: (i) => out.push(`info ${i.code}`),
      onError: (e, welcomed) => out.push(`error ${e.code} ${welcomed}`),
    });
    for (const m of msgs) {
      if (m === 'drop') c.welcomed = false;
      else c.receive(m);
    }
    return { out, lastId: c.lastId, epoch: c.epoch };
  }, messages.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))));
}

const msg = (id) => ({ type: 'message', id, time: 0, pid: 1, nick: 'a', via: 'web', text: `m${id}`, me: false });
const welcome = (history, lastId) => ({
  type: 'welcome', code: 220, you: { pid: 9, nick: 'me', via: 'web' }, participants: [],
  history, last_id: lastId, gap: false,
});

test('events in a JSON array are handled in order, each once', async () => {
  const r = await feed([
    welcome([msg(1), msg(2)], 2),
    [msg(2), msg(3), { type: 'typing', pid: 1, text: 'x' }, msg(4)],
    msg(3),
    [msg(4), msg(5)],
  ]);
  assert.deepEqual(r.out, ['welcome', 'message 1', 'message 2', 'message 3', 'typing x',
    'message 4', 'message 5']);
  assert.equal(r.lastId, 5);
});

test('a resumed welcome that repeats shown events shows only the new ones', async () => {
  const r = await feed([
    welcome([msg(1), msg(2), msg(3)], 3),
    'drop',
    welcome([msg(3), msg(4)], 4),
  ]);
  assert.deepEqual(r.out, ['welcome', 'message 1', 'message 2', 'message 3', 'welcome', 'message 4']);
});

test('events that arrive before the welcome follow its history', async () => {
  const r = await feed([
    { type: 'error', code: 553, message: 'taken' },
    msg(3),
    welcome([msg(1), msg(2)], 2),
  ]);
  assert.deepEqual(r.out, ['error 553 false', 'welcome', 'message 1', 'message 2', 'message 3']);
});

test('a restarted gateway (ids start again) is noticed and its events shown', async () => {
  const r = await feed([
    welcome([msg(40), msg(41)], 41),
    'drop',
    welcome([msg(1), msg(2)], 2),
    msg(3),
  ]);
  assert.deepEqual(r.out, ['welcome', 'message 40', 'message 41', 'welcome restarted',
    'message 1', 'message 2', 'message 3']);
});

test('a reset welcome (another epoch) is a restart even when the new run has more events', async () => {
  const withEpoch = (w, epoch, reset) => ({ ...w, epoch, reset });
  const r = await feed([
    withEpoch(welcome([msg(1), msg(2), msg(3)], 3), '5eed00000000a001', false),
    'drop',
    withEpoch(welcome([1, 2, 3, 4, 5, 6, 7, 8, 9].map(msg), 9), '00c0ffee0000b002', true),
    msg(10),
  ]);
  assert.deepEqual(r.out, ['welcome', 'message 1', 'message 2', 'message 3', 'welcome restarted',
    'message 1', 'message 2', 'message 3', 'message 4', 'message 5', 'message 6', 'message 7',
    'message 8', 'message 9', 'message 10']);
  assert.equal(r.lastId, 10);
  assert.equal(r.epoch, '00c0ffee0000b002');
});

test('unreadable messages are ignored', async () => {
  const r = await feed(['not json', '42', '[1,null,"x"]', welcome([], 0), '{"type":"info","code":214,"text":"help"}']);
  assert.deepEqual(r.out, ['welcome', 'info 214']);
});

test('links: only plain http(s) URLs, trailing punctuation left out', async () => {
  const cases = await page.evaluate(async () => {
    const { appendText } = await import('/js/render.js');
    const run = (text) => {
      const div = document.createElement('div');
      appendText(div, text);
      return { text: div.textContent, links: [...div.querySelectorAll('a')].map((a) => a.getAttribute('href')) };
    };
    return [
      run('(see https://example.com/a.)'),
      run('https://en.wikipedia.org/wiki/Talk_(software), ok?'),
      run('javascript:alert(1) data:text/html,<b>x</b> vbscript:x file:///etc/passwd'),
      run('https://user:pw@example.com/ and http:// and https://'),
      run('HTTPS://EXAMPLE.COM/X'),
      run('<a href="https://example.com">x</a>'),
    ];
  });
  assert.deepEqual(cases[0], { text: '(see https://example.com/a.)', links: ['https://example.com/a'] });
  assert.deepEqual(cases[1].links, ['https://en.wikipedia.org/wiki/Talk_(software)']);
  assert.deepEqual(cases[2].links, []);
  assert.deepEqual(cases[3].links, []);
  assert.deepEqual(cases[4].links, ['https://example.com/X']);
  assert.equal(cases[5].text, '<a href="https://example.com">x</a>');
  assert.deepEqual(cases[5].links, ['https://example.com/']);
});
