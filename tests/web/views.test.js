// The page's view state on its own, in the real browser: mentions of the
// reader's nick (word boundaries, case aside), unread counts, per-room
// drafts and scroll positions, what is kept across a reload, the slash
// commands the page handles itself, typing per room, and the stored session
// read back from localStorage (garbage included).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, stopGateway } from './lib/gateway.js';
import { launchBrowser } from './lib/browser.js';

let gw;
let browser;
let page;

before(async () => {
  gw = await startGateway({ name: 'views-gateway' });
  browser = await launchBrowser();
  const context = await browser.newContext();
  page = await context.newPage();
  await page.goto(gw.url);
});

after(async () => {
  await browser?.close();
  await stopGateway(gw);
});

test('a mention is the nick as a word of its own, case aside', async () => {
  const cases = [
    ['alice', 'alice', true],
    ['hey Alice, look', 'alice', true],
    ['ALICE!', 'alice', true],
    ['@alice: here', 'alice', true],
    ["alice's idea", 'alice', true],
    ['thanks alice.', 'alice', true],
    ['(alice)', 'alice', true],
    ['--alice--', 'alice', true],
    ['alicex', 'alice', false],
    ['malice', 'alice', false],
    ['alice_2 said', 'alice', false],
    ['alice.smith', 'alice', false],
    ['alice-bob', 'alice', false],
    ['al ice', 'alice', false],
    ['', 'alice', false],
    ['bob-x: hi', 'bob-x', true],
    ['bob.: hi', 'bob.', true],
    ['José, mira', 'jose', false],
    ['JOSÉ, mira', 'José', true],
    ['dänk an Ölaf', 'ölaf', true],
    ['guest-12 there?', 'guest-12', true],
    ['guest-123 there?', 'guest-12', false],
    ['anything', '', false],
  ];
  const got = await page.evaluate(async (cs) => {
    const { mentions } = await import('/js/views.js');
    return cs.map(([text, nick]) => mentions(text, nick));
  }, cases);
  assert.deepEqual(cases.map(([t, n], i) => [t, n, got[i]]), cases);
});

test('unread counts and mention marks: only for views not on screen, not for the reader\'s own or seen lines', async () => {
  const r = await page.evaluate(async () => {
    const { Views, roomViewKey, privateViewKey, LOBBY_KEY } = await import('/js/views.js');
    const v = new Views();
    v.addRoom('#dev');
    v.addPrivate('Bob');
    const dev = roomViewKey('#DEV');
    const bob = privateViewKey('bob');
    const out = [];
    const count = (key, opts) => out.push(v.countMessage(key, { myNick: 'alice', ...opts }));
    count(dev, { text: 'hello' });
    count(dev, { text: 'no mention of malice' });
    count(dev, { text: 'alice: you there?', mine: true });
    count(dev, { text: 'alice, earlier', unseen: false });
    count(LOBBY_KEY, { text: 'alice on screen' });
    count(bob, { text: 'alice in private' });
    const before = { dev: { ...v.get(dev) }, bob: v.get(bob).unread, totals: v.totals() };
    count(dev, { text: 'ping ALICE' });
    const after = { unread: v.get(dev).unread, mention: v.get(dev).mention, totals: v.totals() };
    v.switchTo(dev);
    const shown = { unread: v.get(dev).unread, mention: v.get(dev).mention, totals: v.totals() };
    count(dev, { text: 'alice while shown' });
    return { out, before: { unread: before.dev.unread, mention: before.dev.mention, bob: before.bob,
      totals: before.totals }, after, shown, lobby: v.get(LOBBY_KEY).unread, devAfter: v.get(dev).unread };
  });
  assert.deepEqual(r.out, [true, true, false, false, false, true, true, false]);
  // In a private conversation every line is for the reader: counted, never a mention mark.
  assert.deepEqual(r.before, { unread: 2, mention: false, bob: 1, totals: { unread: 3, mention: true } });
  assert.deepEqual(r.after, { unread: 3, mention: true, totals: { unread: 4, mention: true } });
  assert.deepEqual(r.shown, { unread: 0, mention: false, totals: { unread: 1, mention: true } });
  assert.equal(r.lobby, 0);
  assert.equal(r.devAfter, 0);
});

test('switching views keeps each one\'s draft and scroll position', async () => {
  const r = await page.evaluate(async () => {
    const { Views, roomViewKey, privateViewKey, LOBBY_KEY } = await import('/js/views.js');
    const v = new Views();
    v.addRoom('#dev');
    v.addPrivate('bob');
    const steps = [];
    let shown = v.switchTo(roomViewKey('#dev'), { draft: 'lobby draft', scrollTop: 120, stuck: false });
    steps.push([shown.name, shown.draft, shown.scrollTop, shown.stuck]);
    shown = v.switchTo(privateViewKey('bob'), { draft: 'dev draft', scrollTop: 0, stuck: true });
    steps.push([shown.name, shown.draft, shown.scrollTop, shown.stuck]);
    shown = v.switchTo(LOBBY_KEY, { draft: 'to bob', scrollTop: 5, stuck: false });
    steps.push([shown.name, shown.draft, shown.scrollTop, shown.stuck]);
    shown = v.switchTo(roomViewKey('#dev'), { draft: 'lobby again', scrollTop: 130, stuck: false });
    steps.push([shown.name, shown.draft, shown.scrollTop, shown.stuck]);
    shown = v.switchTo(privateViewKey('BOB'), {});
    steps.push([shown.name, shown.draft, shown.scrollTop, shown.stuck]);
    steps.push(v.switchTo('room:#nowhere'));
    steps.push(v.activeKey);
    return steps;
  });
  assert.deepEqual(r, [
    ['#dev', '', 0, true],
    ['bob', '', 0, true],
    ['#lobby', 'lobby draft', 120, false],
    ['#dev', 'dev draft', 0, true],
    ['bob', 'to bob', 5, false],
    null,
    'private:bob',
  ]);
});

test('views: #lobby cannot be removed; a removed view on screen gives way to #lobby; private views are capped', async () => {
  const r = await page.evaluate(async () => {
    const { Views, roomViewKey, LOBBY_KEY, PRIVATE_VIEWS_MAX } = await import('/js/views.js');
    const v = new Views();
    v.addRoom('#dev');
    v.switchTo(roomViewKey('#dev'));
    const lobbyRemoved = v.remove(LOBBY_KEY);
    const devRemoved = v.remove(roomViewKey('#dev'));
    for (let i = 0; i <= PRIVATE_VIEWS_MAX; i++) v.addPrivate(`n${i}`);
    return { lobbyRemoved, devRemoved, active: v.activeKey, privates: v.privates().map((p) => p.name),
      max: PRIVATE_VIEWS_MAX, rooms: v.rooms().map((x) => x.name) };
  });
  assert.equal(r.lobbyRemoved, false);
  assert.equal(r.devRemoved, true);
  assert.equal(r.active, 'room:#lobby');
  assert.deepEqual(r.rooms, ['#lobby']);
  assert.equal(r.privates.length, r.max);
  assert.equal(r.privates[0], 'n1', 'the oldest conversation went');
  assert.equal(r.privates.at(-1), `n${r.max}`);
});

test('what is kept across a reload: rooms, conversations, counts, the view on screen; not drafts', async () => {
  const r = await page.evaluate(async () => {
    const { Views, roomViewKey, privateViewKey } = await import('/js/views.js');
    const a = new Views();
    a.addRoom('#Dev');
    a.addRoom('#ops');
    a.addPrivate('Bob');
    a.countMessage(roomViewKey('#dev'), { text: 'hi alice', myNick: 'alice' });
    a.countMessage(privateViewKey('bob'), { text: 'psst' });
    a.switchTo(roomViewKey('#ops'), { draft: 'unsent' });
    const saved = JSON.parse(JSON.stringify(a.serialize()));
    const b = new Views();
    b.restore(saved);
    const c = new Views();
    c.restore({ roomViews: [{ room: 'no hash', unread: 1 }, { room: '#x', unread: -3, mention: 'yes' }],
      privateViews: [{ nick: '' }, { nick: 5 }], active: { kind: 'room', name: '#gone' } });
    return {
      saved,
      restored: b.rooms().map((v) => [v.name, v.unread, v.mention]).concat(b.privates().map((v) => [v.name, v.unread])),
      active: b.activeKey,
      lobbyDraft: b.get('room:#lobby').draft,
      garbage: c.rooms().map((v) => [v.name, v.unread, v.mention]).concat(c.privates().map((v) => v.name)),
      garbageActive: c.activeKey,
    };
  });
  assert.deepEqual(r.saved, {
    active: { kind: 'room', name: '#ops' },
    roomViews: [{ room: '#lobby', unread: 0, mention: false }, { room: '#Dev', unread: 1, mention: true },
      { room: '#ops', unread: 0, mention: false }],
    privateViews: [{ nick: 'Bob', unread: 1 }],
  });
  assert.deepEqual(r.restored, [['#lobby', 0, false], ['#Dev', 1, true], ['#ops', 0, false], ['Bob', 1]]);
  assert.equal(r.active, 'room:#ops');
  assert.equal(r.lobbyDraft, '');
  assert.deepEqual(r.garbage, [['#lobby', 0, false], ['#x', 0, false]]);
  assert.equal(r.garbageActive, 'room:#lobby');
});

test('the commands the page handles itself: /join, /part, /msg', async () => {
  const cases = [
    ['/join #dev', { kind: 'join', room: '#dev' }],
    ['/JOIN dev', { kind: 'join', room: '#dev' }],
    ['/j #a.b-c_d', { kind: 'join', room: '#a.b-c_d' }],
    ['/join', { kind: 'join', room: null }],
    ['/join   #dev  extra', { kind: 'join', room: '#dev' }],
    ['/part', { kind: 'part', room: null }],
    ['/part #dev', { kind: 'part', room: '#dev' }],
    ['/msg bob hello there', { kind: 'msg', nick: 'bob', text: 'hello there' }],
    ['/msg bob  two spaces\nand a line', { kind: 'msg', nick: 'bob', text: ' two spaces\nand a line' }],
    ['/query bob', { kind: 'msg', nick: 'bob', text: '' }],
    ['/msg', { kind: 'msg', nick: null, text: '' }],
    ['/joinme', null],
    ['/me joins', null],
    ['/who', null],
    ['//join #dev', null],
    ['join #dev', null],
  ];
  const got = await page.evaluate(async (cs) => {
    const { pageCommand } = await import('/js/views.js');
    return cs.map(([t]) => pageCommand(t));
  }, cases);
  assert.deepEqual(cases.map(([t], i) => [t, got[i]]), cases);
});

test('room names: # and 1 to 32 of letters, digits, - _ .; one room whatever the case', async () => {
  const r = await page.evaluate(async () => {
    const { validRoomName, roomKey } = await import('/js/connection.js');
    const names = ['#dev', '#a', '#' + 'x'.repeat(32), '#' + 'x'.repeat(33), '#', 'dev', '#dé', '#a b',
      '#a/b', '##', '#.-_'];
    return { valid: names.map((n) => [n, validRoomName(n)]), key: roomKey('#DeV.X') };
  });
  assert.deepEqual(r.valid.filter(([, ok]) => ok).map(([n]) => n),
    ['#dev', '#a', '#' + 'x'.repeat(32), '#.-_']);
  assert.equal(r.key, '#dev.x');
});

test('typing goes to the room it is typed in; leaving a room clears it there, once', async () => {
  const sent = await page.evaluate(async () => {
    const { TypingSender } = await import('/js/typing.js');
    const out = [];
    const t = new TypingSender((room, text) => {
      out.push(`${room}:${text}`);
      return true;
    }, 0);
    t.update('#lobby', 'hel');
    t.update('#lobby', 'hello');
    t.update('#dev', ''); // the reader turned to #dev: nothing shown there, cleared in #lobby
    t.update('#dev', ''); // nothing shown anywhere now
    t.update('#dev', 'x');
    t.update('#lobby', 'hello'); // typing in another room moves the text there
    t.update('#lobby', '');
    t.reset();
    t.update('#dev', '');
    return out;
  });
  assert.deepEqual(sent, ['#lobby:hel', '#lobby:hello', '#lobby:', '#dev:x', '#lobby:hello', '#lobby:']);
});

test('a room left is owed no "stopped": the gateway forgot our text there', async () => {
  const sent = await page.evaluate(async () => {
    const { TypingSender } = await import('/js/typing.js');
    const out = [];
    const t = new TypingSender((room, text) => {
      out.push(`${room}:${text}`);
      return true;
    }, 0);
    t.update('#DEV', 'half a line');
    t.forget('#dev'); // left (the gateway spells it #dev)
    t.update('#dev', ''); // the page turns away from the room it left
    t.update('#lobby', 'x');
    t.forget('#dev'); // another room: no change
    t.update('#lobby', '');
    return out;
  });
  assert.deepEqual(sent, ['#DEV:half a line', '#lobby:x', '#lobby:']);
});

test('the stored session is read back checked: garbage is left out, never thrown', async () => {
  const r = await page.evaluate(async () => {
    const { loadSession, saveSession } = await import('/js/store.js');
    const out = [];
    const put = (text) => {
      localStorage.setItem('wintalk.session', text);
      out.push(loadSession());
    };
    put('not json');
    put('[1,2]');
    put('null');
    put(JSON.stringify({ epoch: '<script>', token: 'x'.repeat(40), privateId: -1, rooms: 'no',
      roomViews: [null, 3, { room: '#a' }] }));
    put('x'.repeat(70000));
    saveSession({ epoch: 'feed00000000beef', token: '0123456789abcdef0123456789abcdef', privateId: 4,
      rooms: [{ room: '#lobby', lastId: 9 }], roomViews: [], privateViews: [{ nick: 'bob', unread: 2 }],
      active: { kind: 'private', name: 'bob' } });
    out.push(loadSession());
    localStorage.removeItem('wintalk.session');
    out.push(loadSession());
    return out;
  });
  assert.deepEqual(r.slice(0, 3), [null, null, null]);
  assert.deepEqual(r[3], { epoch: null, token: null, privateId: 0, rooms: [], roomViews: [{ room: '#a' }],
    privateViews: [], active: null, idents: [] });
  assert.equal(r[4], null);
  assert.deepEqual(r[5], { epoch: 'feed00000000beef', token: '0123456789abcdef0123456789abcdef', privateId: 4,
    rooms: [{ room: '#lobby', lastId: 9 }], roomViews: [], privateViews: [{ nick: 'bob', unread: 2 }],
    active: { kind: 'private', name: 'bob' }, idents: [] });
  assert.equal(r[6], null);
});
