// The page's modules on their own, in the real browser: the connection's
// unpacking and deduplication of events (arrays, replays, events before the
// welcome, a restarted gateway, a reset epoch), per room and for private
// messages; the hello it builds from a stored session; joins, parts and
// refusals; and the link maker. The page is loaded from a real gateway so
// the modules run under its CSP.

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

/*
 * Feeds steps to a Connection and returns what it handed on. A step is a
 * WebSocket message (object, array or text), or one of:
 *   'drop'                 the connection is lost (a new hello follows)
 *   {hello: true}          records the hello the connection would send now
 *   {join: '#x'}, {part: '#x'}  the page asks to join or leave
 *   {restore: saved}       what a page stored before a reload
 * `open` makes the connection look connected once welcomed, so that join
 * and part are sent (recorded as 'sent ...').
 */
function feed(steps, { open = false } = {}) {
  return page.evaluate(async ({ steps, open }) => {
    const { Connection } = await import('/js/connection.js');
    const out = [];
    const c = new Connection({
      onWelcome: (w) => out.push(`welcome${w.restarted ? ' restarted' : ''}` +
        w.rooms.map((r) => ` ${r.room}${r.restarted ? '!' : ''}${r.gap ? '~' : ''}`).join('') +
        (w.dropped.length ? ` dropped ${w.dropped.join(',')}` : '')),
      onJoined: (r) => out.push(`joined ${r.room}${r.restarted ? '!' : ''}${r.gap ? '~' : ''}`),
      onParted: (p) => out.push(`parted ${p.room}`),
      onEvent: (e, info) => out.push(`${info.room} ${e.type} ${e.id}${info.unseen ? '' : ' seen'}`),
      onPrivate: (e, info) => out.push(`private ${e.with} ${e.id}${info.unseen ? '' : ' seen'}`),
      onTyping: (t, room) => out.push(`typing ${room} ${t.text}`),
      onRoomRefused: (room, e) => out.push(`refused ${room} ${e.code}`),
      onInfo: (i) => out.push(`info ${i.code}`),
      onError: (e, welcomed) => out.push(`error ${e.code} ${welcomed}`),
    });
    if (open) {
      c.ws = { readyState: WebSocket.OPEN, send: (t) => out.push(`sent ${t}`), close() {} };
    }
    for (const s of steps) {
      const step = s && typeof s === 'object' && !Array.isArray(s) && !s.type ? s : {};
      if (s === 'drop') c.welcomed = false;
      else if (step.hello) out.push(`hello ${JSON.stringify(c.helloMessage({ nick: 'me' }))}`);
      else if (step.join) out.push(`join ${c.join(step.join)}`);
      else if (step.part) out.push(`part ${c.part(step.part)}`);
      else if (step.restore) c.restore(step.restore);
      else c.receive(typeof s === 'string' ? s : JSON.stringify(s));
    }
    return { out, snapshot: c.snapshot(), rooms: c.roomNames() };
  }, { steps, open });
}

const msg = (id, room = '#lobby') => ({ type: 'message', room, id, time: 0, pid: 1, nick: 'a', via: 'web', text: `m${id}`, me: false });
const roomEntry = (room, history, lastId, extra = {}) => ({
  room, participants: [], participants_count: 1, history, last_id: lastId, gap: false, ...extra,
});
const welcome = (rooms, extra = {}) => ({
  type: 'welcome', code: 220, protocol: 'wintalk.v2', epoch: '5eed00000000a001', token: 'ab'.repeat(16),
  you: { pid: 9, nick: 'me', via: 'web' }, rooms, private: [], private_id: 0, reset: false, ...extra,
});
const lobby = (history, lastId) => welcome([roomEntry('#lobby', history, lastId)]);
const priv = (id, other, text = `p${id}`) => ({
  type: 'message', private: true, id, time: 0, pid: 3, nick: other, via: 'tcp', to: 'me', with: other, text,
});

test('events in a JSON array are handled in order, each once', async () => {
  const r = await feed([
    lobby([msg(1), msg(2)], 2),
    [msg(2), msg(3), { type: 'typing', room: '#lobby', pid: 1, text: 'x' }, msg(4)],
    msg(3),
    [msg(4), msg(5)],
  ]);
  assert.deepEqual(r.out, ['welcome #lobby', '#lobby message 1 seen', '#lobby message 2 seen',
    '#lobby message 3', 'typing #lobby x', '#lobby message 4', '#lobby message 5']);
  assert.equal(r.snapshot.rooms[0].lastId, 5);
});

test('a resumed welcome that repeats shown events shows only the new ones', async () => {
  const r = await feed([
    lobby([msg(1), msg(2), msg(3)], 3),
    'drop',
    { hello: true },
    lobby([msg(3), msg(4)], 4),
  ]);
  assert.deepEqual(r.out, ['welcome #lobby', '#lobby message 1 seen', '#lobby message 2 seen',
    '#lobby message 3 seen',
    'hello {"type":"hello","rooms":{"#lobby":3},"private_id":0,"epoch":"5eed00000000a001",' +
      `"token":"${'ab'.repeat(16)}","nick":"me"}`,
    'welcome #lobby', '#lobby message 4']);
});

test('events that arrive before the welcome follow its history', async () => {
  const r = await feed([
    { type: 'error', code: 553, message: 'taken' },
    msg(3),
    priv(1, 'bob'),
    lobby([msg(1), msg(2)], 2),
  ]);
  assert.deepEqual(r.out, ['error 553 false', 'welcome #lobby', '#lobby message 1 seen',
    '#lobby message 2 seen', '#lobby message 3', 'private bob 1']);
});

test('a restarted gateway (ids start again) is noticed and its events shown', async () => {
  const r = await feed([
    lobby([msg(40), msg(41)], 41),
    'drop',
    lobby([msg(1), msg(2)], 2),
    msg(3),
  ]);
  assert.deepEqual(r.out, ['welcome #lobby', '#lobby message 40 seen', '#lobby message 41 seen',
    'welcome #lobby!', '#lobby message 1 seen', '#lobby message 2 seen', '#lobby message 3']);
});

test('a reset welcome (another epoch) is a restart in every room even when the new run has more events', async () => {
  const r = await feed([
    welcome([roomEntry('#lobby', [msg(1), msg(2), msg(3)], 3), roomEntry('#dev', [msg(1, '#dev')], 1)]),
    'drop',
    welcome([roomEntry('#lobby', [1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => msg(i)), 9, { gap: true }),
      roomEntry('#dev', [msg(1, '#dev'), msg(2, '#dev')], 2, { gap: true })],
    { epoch: '00c0ffee0000b002', reset: true }),
    msg(10),
  ]);
  assert.deepEqual(r.out, ['welcome #lobby #dev', '#lobby message 1 seen', '#lobby message 2 seen',
    '#lobby message 3 seen', '#dev message 1 seen',
    'welcome restarted #lobby! #dev!',
    ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => `#lobby message ${i} seen`),
    '#dev message 1 seen', '#dev message 2 seen', '#lobby message 10']);
  assert.equal(r.snapshot.rooms[0].lastId, 10);
  assert.equal(r.snapshot.epoch, '00c0ffee0000b002');
});

test('unreadable messages are ignored', async () => {
  const r = await feed(['not json', '42', '[1,null,"x"]', lobby([], 0), '{"type":"info","code":214,"text":"help"}']);
  assert.deepEqual(r.out, ['welcome #lobby', 'info 214']);
});

test('ids are per room: the same id in two rooms is two events; a room left hears nothing more', async () => {
  const r = await feed([
    welcome([roomEntry('#lobby', [msg(1)], 1), roomEntry('#dev', [msg(1, '#dev')], 1)]),
    [msg(2, '#dev'), msg(2), msg(2, '#DEV'), msg(2, '#elsewhere')],
    { type: 'typing', room: '#dev', pid: 1, text: 'd' },
    { type: 'typing', room: '#elsewhere', pid: 1, text: 'e' },
    { type: 'parted', code: 250, room: '#dev' },
    msg(3, '#dev'),
    { type: 'typing', room: '#dev', pid: 1, text: 'gone' },
  ]);
  assert.deepEqual(r.out, ['welcome #lobby #dev', '#lobby message 1 seen', '#dev message 1 seen',
    '#dev message 2', '#lobby message 2', 'typing #dev d', 'parted #dev']);
  assert.deepEqual(r.rooms, ['#lobby']);
});

test('the first hello: #lobby from 0, no epoch, no token', async () => {
  const r = await feed([{ hello: true }]);
  assert.deepEqual(r.out, ['hello {"type":"hello","rooms":{"#lobby":0},"private_id":0,"nick":"me"}']);
});

test('a hello after a reload is built from the stored session, with earlier events asked for', async () => {
  const token = '0123456789abcdef0123456789abcdef';
  const r = await feed([
    { restore: { epoch: 'feed00000000beef', token, privateId: 7,
      rooms: [{ room: '#lobby', lastId: 250 }, { room: '#Dev', lastId: 42 }, { room: '#new', lastId: 0 },
        { room: 'bad name', lastId: 3 }, { room: '#neg', lastId: -4 }] } },
    { hello: true },
  ]);
  // 100 events before the last seen, for context (at least 1: 0 would mean
  // "the latest only" and could skip what was missed); every private message kept.
  assert.deepEqual(r.out, [`hello {"type":"hello","rooms":{"#lobby":150,"#Dev":1,"#new":0,"#neg":0},` +
    `"private_id":0,"epoch":"feed00000000beef","token":"${token}","nick":"me"}`]);
});

test('after a reload, what was seen before is not unseen, and only a real loss is a gap', async () => {
  const r = await feed([
    { restore: { epoch: '5eed00000000a001', token: 'ab'.repeat(16), privateId: 2,
      rooms: [{ room: '#lobby', lastId: 4 }, { room: '#dev', lastId: 10 }, { room: '#ops', lastId: 5 }] } },
    welcome([
      roomEntry('#lobby', [2, 3, 4, 5].map((i) => msg(i)), 5, { gap: true }),
      // More was missed than the gateway keeps: event 6 (the first after 5) is gone.
      roomEntry('#ops', [msg(8, '#ops'), msg(9, '#ops')], 9, { gap: true }),
      roomEntry('#dev', [msg(9, '#dev'), msg(10, '#dev'), msg(11, '#dev')], 11),
    ], { private: [priv(1, 'bob'), priv(2, 'bob'), priv(3, 'bob')], private_id: 3 }),
    { hello: true },
  ]);
  assert.deepEqual(r.out, ['welcome #lobby #ops~ #dev',
    '#lobby message 2 seen', '#lobby message 3 seen', '#lobby message 4 seen', '#lobby message 5',
    '#ops message 8', '#ops message 9',
    '#dev message 9 seen', '#dev message 10 seen', '#dev message 11',
    'private bob 1 seen', 'private bob 2 seen', 'private bob 3',
    `hello {"type":"hello","rooms":{"#lobby":5,"#dev":11,"#ops":9},"private_id":3,` +
      `"epoch":"5eed00000000a001","token":"${'ab'.repeat(16)}","nick":"me"}`]);
});

test('private messages: each once by id; another identity (a new token) starts anew', async () => {
  const r = await feed([
    lobby([], 0),
    priv(1, 'bob'),
    [priv(2, 'carol'), priv(1, 'bob')],
    'drop',
    { ...lobby([], 0), private: [priv(2, 'carol'), priv(3, 'bob')], private_id: 3 },
    'drop',
    // The gateway did not know our token: a new identity, whose ids start at 1.
    { ...lobby([], 0), token: 'cd'.repeat(16), private: [], private_id: 0 },
    priv(1, 'dave'),
  ]);
  assert.deepEqual(r.out, ['welcome #lobby', 'private bob 1', 'private carol 2', 'welcome #lobby',
    'private bob 3', 'welcome #lobby', 'private dave 1']);
  assert.equal(r.snapshot.token, 'cd'.repeat(16));
  assert.equal(r.snapshot.privateId, 1);
});

test('join and part: sent when connected, asked in the next hello when not; #lobby stays', async () => {
  const offline = await feed([{ join: '#dev' }, { join: '#DEV' }, { join: 'dev' }, { part: '#lobby' }, { hello: true }]);
  assert.deepEqual(offline.out, ['join true', 'join true', 'join false', 'part false',
    'hello {"type":"hello","rooms":{"#lobby":0,"#dev":0},"private_id":0,"nick":"me"}']);

  const online = await feed([
    lobby([], 0),
    { join: '#dev' },
    { type: 'joined', code: 250, room: '#dev', participants: [], participants_count: 2,
      history: [msg(1, '#dev'), msg(2, '#dev')], last_id: 2, gap: false, ref: 1 },
    msg(3, '#dev'),
    { part: '#dev' },
    { type: 'parted', code: 250, room: '#dev', ref: 2 },
    msg(4, '#dev'),
  ], { open: true });
  assert.deepEqual(online.out, ['welcome #lobby', 'sent {"type":"join","room":"#dev","last_id":0,"ref":1}',
    'join true', 'joined #dev', '#dev message 1 seen', '#dev message 2 seen', '#dev message 3',
    'sent {"type":"part","room":"#dev","ref":2}', 'part true', 'parted #dev']);
  assert.deepEqual(online.rooms, ['#lobby']);
});

test('a joined reply for a room already joined is a resync: only new events', async () => {
  const r = await feed([
    welcome([roomEntry('#lobby', [], 0), roomEntry('#dev', [msg(1, '#dev'), msg(2, '#dev')], 2)]),
    { type: 'joined', code: 250, room: '#dev', participants: [], participants_count: 1,
      history: [msg(2, '#dev'), msg(3, '#dev')], last_id: 3, gap: false },
  ]);
  assert.deepEqual(r.out, ['welcome #lobby #dev', '#dev message 1 seen', '#dev message 2 seen',
    'joined #dev', '#dev message 3']);
});

test('refused rooms: a join refused by ref, a room left out of the welcome', async () => {
  const r = await feed([
    { join: '#ops' },
    { join: '#full' },
    { hello: true },
    welcome([roomEntry('#lobby', [], 0), roomEntry('#ops', [], 0)]),
    { type: 'error', code: 452, room: '#full', message: 'too many rooms (at most 20)' },
    { join: '#bad' },
    { type: 'error', code: 553, message: 'room name not allowed: #bad', ref: 1 },
    { type: 'error', code: 501, message: 'not in #x', room: '#x', ref: 2 },
    { hello: true },
  ], { open: true });
  assert.deepEqual(r.out, ['join true', 'join true',
    'hello {"type":"hello","rooms":{"#lobby":0,"#ops":0,"#full":0},"private_id":0,"nick":"me"}',
    'welcome #lobby #ops dropped #full', 'error 452 true',
    'sent {"type":"join","room":"#bad","last_id":0,"ref":1}', 'join true', 'refused #bad 553',
    'error 501 true',
    `hello {"type":"hello","rooms":{"#lobby":0,"#ops":0},"private_id":0,"epoch":"5eed00000000a001",` +
      `"token":"${'ab'.repeat(16)}","nick":"me"}`]);
});

test('a room joined or left while the hello is on its way is joined or left after the welcome', async () => {
  const r = await feed([
    { join: '#dev' },
    { hello: true },
    // The reader acts before the welcome comes back.
    { join: '#ops' },
    { part: '#dev' },
    welcome([roomEntry('#lobby', [], 0), roomEntry('#dev', [msg(1, '#dev')], 1)]),
    msg(2, '#dev'),
    { hello: true },
  ], { open: true });
  assert.deepEqual(r.out, ['join true',
    'hello {"type":"hello","rooms":{"#lobby":0,"#dev":0},"private_id":0,"nick":"me"}',
    'join true', 'part true', 'welcome #lobby',
    'sent {"type":"part","room":"#dev","ref":1}',
    'sent {"type":"join","room":"#ops","last_id":0,"ref":2}',
    `hello {"type":"hello","rooms":{"#lobby":0,"#ops":0},"private_id":0,"epoch":"5eed00000000a001",` +
      `"token":"${'ab'.repeat(16)}","nick":"me"}`]);
  assert.deepEqual(r.rooms, ['#lobby', '#ops']);
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

test('sidebar entries and participants show names as text', async () => {
  const r = await page.evaluate(async () => {
    const { renderSideItem, renderPerson } = await import('/js/render.js');
    const item = renderSideItem({ key: 'private:x', kind: 'private', name: '<img src=x onerror=alert(1)>',
      unread: 3, mention: false });
    const person = renderPerson({ pid: 4, nick: '<b>bold</b>', via: 'tcp', typing: '<i>x</i>' });
    return {
      itemText: item.querySelector('.side-name').textContent,
      itemElements: item.querySelectorAll('img, b, i, script').length,
      unread: item.querySelector('.unread').textContent,
      personText: person.querySelector('.nick').textContent,
      personElements: person.querySelectorAll('img, b, i, script').length,
    };
  });
  assert.deepEqual(r, { itemText: '<img src=x onerror=alert(1)>', itemElements: 0, unread: '3',
    personText: '<b>bold</b>', personElements: 0 });
});
