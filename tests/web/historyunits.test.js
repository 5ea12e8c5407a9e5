// The page's history and search helpers on their own, in the real browser:
// what a search asks for and where its words are in a text, the names of
// days (in a time zone with summer time), the events of a history answer,
// the marked text of a search result, the day lines and ends of a
// conversation, and the connection's requests (answered and refused by
// ref, failed when the connection goes, bounded). The page is loaded from
// a real gateway so the modules run under its CSP.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, stopGateway } from './lib/gateway.js';
import { launchBrowser } from './lib/browser.js';

let gw;
let browser;
let page;

before(async () => {
  gw = await startGateway({ name: 'historyunits-gateway' });
  browser = await launchBrowser();
  // A time zone with summer time: "Yesterday" is a calendar day, not 24 hours.
  const context = await browser.newContext({ timezoneId: 'Europe/Madrid', locale: 'en-US' });
  page = await context.newPage();
  await page.goto(gw.url);
});

after(async () => {
  await browser?.close();
  await stopGateway(gw);
});

test('search terms: words, prefixes, phrases, as the gateway splits them', async () => {
  const r = await page.evaluate(async () => {
    const { searchTerms } = await import('/js/history.js');
    return [
      searchTerms('deploy "green build" stag*'),
      searchTerms('  Ñandú   e-mail  '),
      searchTerms('"unclosed phrase'),
      searchTerms('"re-deploy"* ** * "" -'),
      // Prefixes: 3 characters before the * at least, 2 in a search at most.
      searchTerms('t* ab** abc* ñan* e-m* four*'),
      searchTerms(Array.from({ length: 20 }, (_, i) => `w${i}`).join(' ')).length,
    ];
  });
  const term = (words, prefix = false, whole = null) => ({ words, prefix, whole });
  assert.deepEqual(r[0], [term(['deploy']), term(['green', 'build']), term(['stag'], true)]);
  assert.deepEqual(r[1], [term(['nandu']), term(['e', 'mail'])]);
  assert.deepEqual(r[2], [term(['unclosed', 'phrase'])]);
  // After a closing quote, the '*' stands alone: it is no term.
  assert.deepEqual(r[3], [term(['re', 'deploy'])]);
  assert.deepEqual(r[4], [term(['t'], false, 't'), term(['ab'], false, 'ab'), term(['abc'], true),
    term(['nan'], true), term(['e', 'm'], false, 'e-m'), term(['four'], false, 'four')]);
  // The gateway uses the first 16 terms.
  assert.equal(r[5], 16);
});

test('where a search\'s words are in a text: case and accents aside, whole words, phrases in order', async () => {
  const r = await page.evaluate(async () => {
    const { searchTerms, matchRanges } = await import('/js/history.js');
    const marked = (q, text) => matchRanges(text, searchTerms(q)).map(([a, b]) => text.slice(a, b));
    return [
      marked('deploy', 'Deploy now; redeploy later; DEPLOY.'),
      marked('stag*', 'staging, Stage and stag but not mustang'),
      marked('"green build"', 'a green build, a green  build, not a build green'),
      marked('cafe', 'Café and cafe and cafés'),
      marked('a b', 'a b a'),
      marked('😀 ok', 'ok 😀 ok'),
      marked('nothing', ''),
      // A prefix too short is a whole word, as the gateway searches it.
      marked('st*', 'st stage'),
    ];
  });
  assert.deepEqual(r[0], ['Deploy', 'DEPLOY']);
  assert.deepEqual(r[1], ['staging', 'Stage', 'stag']);
  assert.deepEqual(r[2], ['green build', 'green  build']);
  assert.deepEqual(r[3], ['Café', 'cafe']);
  // Neighbouring words stay apart; overlapping ranges merge.
  assert.deepEqual(r[4], ['a', 'b', 'a']);
  assert.deepEqual(r[5], ['ok', 'ok']);
  assert.deepEqual(r[6], []);
  assert.deepEqual(r[7], ['st']);
});

test('a search the page does not send: empty, no letter or digit, over 256 bytes', async () => {
  const r = await page.evaluate(async () => {
    const { queryProblem } = await import('/js/history.js');
    return ['', '   ', '** "" -', 'ñ'.repeat(128), 'ñ'.repeat(129), 'ok'].map((q) => queryProblem(q));
  });
  assert.match(r[0], /Type words/);
  assert.match(r[1], /Type words/);
  assert.match(r[2], /at least one letter or digit/);
  assert.equal(r[3], '', '256 bytes is allowed');
  assert.match(r[4], /at most 256 bytes/);
  assert.equal(r[5], '');
});

test('days: Today, Yesterday (a calendar day, across summer time), then dates', async () => {
  const r = await page.evaluate(async () => {
    const { dayKey, dayLabel, whenLabel } = await import('/js/history.js');
    // Madrid went to summer time on 2025-03-30 at 02:00 (that day had 23 hours).
    const now = new Date(2025, 2, 31, 0, 30).getTime();
    const at = (y, m, d, h, min = 0) => new Date(y, m - 1, d, h, min).getTime();
    return {
      today: dayLabel(at(2025, 3, 31, 0, 5), now),
      yesterdayLate: dayLabel(at(2025, 3, 30, 23, 59), now),
      yesterdayEarly: dayLabel(at(2025, 3, 30, 0, 1), now),
      // 24 hours before now is still the 29th (the 30th was short): not yesterday.
      dayBefore: dayLabel(now - 24 * 3600 * 1000, now),
      lastYear: dayLabel(at(2024, 12, 31, 12), now),
      key: dayKey(at(2025, 3, 30, 23, 59)),
      noTime: dayLabel(undefined, now),
      when: whenLabel(at(2025, 3, 30, 9, 5), now),
    };
  });
  assert.deepEqual(r, {
    today: 'Today',
    yesterdayLate: 'Yesterday',
    yesterdayEarly: 'Yesterday',
    dayBefore: 'Saturday, March 29',
    lastYear: 'Tuesday, December 31, 2024',
    key: '2025-03-30',
    noTime: '',
    when: 'Yesterday 09:05',
  });
});

test('a history answer\'s events: room events with ids only, each once, oldest first', async () => {
  const r = await page.evaluate(async () => {
    const { roomEvents } = await import('/js/history.js');
    const m = (id, type = 'message') => ({ type, room: '#lobby', id, time: 0, text: `m${id}` });
    return [
      roomEvents([m(5), m(3), m(4), m(3), m(2, 'join'), m(6, 'typing'), null, 'x', m(-1), m(1.5),
        { ...m(7), private: true }, m(8, 'nick'), m(9, 'leave')]).map((e) => e.id),
      roomEvents('not a list'),
      roomEvents(undefined),
    ];
  });
  assert.deepEqual(r, [[2, 3, 4, 5, 8, 9], [], []]);
});

test('a search result shows its text as text, the words found in <mark>', async () => {
  const r = await page.evaluate(async () => {
    const { renderResult } = await import('/js/render.js');
    const { searchTerms, matchRanges } = await import('/js/history.js');
    const text = '<img src=x onerror=alert(1)> deploy <b>green build</b>';
    const ev = { type: 'message', id: 12, time: 0, nick: '<i>bob</i>', via: 'tcp', text, me: false };
    const li = renderResult(ev, matchRanges(text, searchTerms('deploy "green build" img')), 'Today 10:00');
    return {
      text: li.querySelector('.result-text').textContent,
      marks: [...li.querySelectorAll('mark')].map((m) => m.textContent),
      elements: [...li.querySelectorAll('*')].map((e) => e.localName),
      nick: li.querySelector('.nick').textContent,
      id: li.dataset.id,
    };
  });
  assert.equal(r.text, '<img src=x onerror=alert(1)> deploy <b>green build</b>');
  assert.deepEqual(r.marks, ['img', 'deploy', 'green build']);
  assert.deepEqual(r.elements, ['button', 'span', 'bdi', 'time', 'span', 'mark', 'mark', 'mark']);
  assert.equal(r.nick, '<i>bob</i>');
  assert.equal(r.id, '12');
});

test('day lines: one above each day\'s first line, again after lines go in above', async () => {
  const r = await page.evaluate(async () => {
    const { markDays, markDayOfLast, relabelDays } = await import('/js/scrollback.js');
    const { renderEvent } = await import('/js/render.js');
    const now = Date.now();
    const day = 24 * 3600 * 1000;
    const noon = (daysAgo) => {
      const d = new Date(now);
      return new Date(d.getFullYear(), d.getMonth(), d.getDate() - daysAgo, 12).getTime();
    };
    const line = (id, ms) => renderEvent({ type: 'message', id, time: ms, nick: 'a', via: 'web', text: `m${id}` });
    const ol = document.createElement('ol');
    document.body.append(ol);
    const shape = () => [...ol.children].map((li) => (li.classList.contains('day')
      ? `[${li.textContent}]` : li.dataset.id));
    for (const [id, ms] of [[3, noon(1)], [4, noon(1) + 60000], [5, noon(0)]]) {
      const li = line(id, ms);
      ol.append(li);
      markDayOfLast(ol, li);
    }
    const appended = shape();
    ol.prepend(line(1, noon(1) - 3600000), line(2, noon(1) - 60000));
    markDays(ol);
    const prepended = shape();
    ol.prepend(line(0, noon(3)));
    markDays(ol);
    const older = shape().slice(0, 3);
    // The next day, the same lines are named again.
    relabelDays(ol, now + day);
    const tomorrow = shape().filter((s) => s.startsWith('['));
    ol.remove();
    const weekday = (ms) => new Date(ms).toLocaleDateString('en-US', { weekday: 'long' });
    return { appended, prepended, older, tomorrow, day3: weekday(noon(3)), day1: weekday(noon(1)) };
  });
  assert.deepEqual(r.appended, ['[Yesterday]', '3', '4', '[Today]', '5']);
  assert.deepEqual(r.prepended, ['[Yesterday]', '1', '2', '3', '4', '[Today]', '5']);
  assert.match(r.older[0], new RegExp(`^\\[${r.day3}, `));
  assert.deepEqual(r.older.slice(1), ['0', '[Yesterday]']);
  assert.equal(r.tomorrow.length, 3);
  assert.match(r.tomorrow[1], new RegExp(`^\\[${r.day1}, `));
  assert.equal(r.tomorrow[2], '[Yesterday]');
});

/*
 * Runs steps against a Connection that looks connected: {request: msg}
 * sends a request (its outcome is recorded when it settles), a message is
 * received, 'drop' loses the connection, 'tick' lets promises settle.
 */
function requests(steps) {
  return page.evaluate(async (steps) => {
    const { Connection, REQUESTS_MAX } = await import('/js/connection.js');
    const out = [];
    const c = new Connection({
      onError: (e) => out.push(`onError ${e.code}`),
      onEvent: (e) => out.push(`event ${e.id}`),
    });
    c.ws = { readyState: WebSocket.OPEN, send: (t) => out.push(`sent ${t}`), close() {} };
    c.welcomed = true;
    c.stopped = false;
    for (const s of steps) {
      if (s === 'drop') {
        c.dropSocket();
        c.ws = { readyState: WebSocket.OPEN, send: (t) => out.push(`sent ${t}`), close() {} };
        c.welcomed = true;
      } else if (s === 'tick') {
        await new Promise((r) => setTimeout(r, 0));
      } else if (s.request) {
        c.request(s.request).then(
          (a) => out.push(`answer ${a.ref} ${JSON.stringify(a.events ?? null)}`),
          (e) => out.push(`failed ${e.code} ${e.message}`));
      } else if (s.many) {
        for (let i = 0; i < REQUESTS_MAX + 1; i++) {
          c.request({ type: 'history', room: '#lobby' }).catch((e) => out.push(`failed ${e.code} ${e.message}`));
        }
      } else {
        c.receive(JSON.stringify(s));
      }
    }
    await new Promise((r) => setTimeout(r, 0));
    return { out, waiting: c.requests.size };
  }, steps);
}

test('requests: each answer to its request by ref, errors to the request only, none after the connection went', async () => {
  const r = await requests([
    { request: { type: 'history', room: '#lobby', before: 10, limit: 2 } },
    { request: { type: 'search', room: '#lobby', q: 'x', limit: 5 } },
    { request: { type: 'history', room: '#lobby', after: 3, limit: 2 } },
    // An answer to nobody's ref, and one of the wrong type, change nothing.
    { type: 'history', room: '#lobby', events: [], more: false, ref: 99 },
    { type: 'search', room: '#lobby', events: [], more: false, ref: 1 },
    { type: 'error', code: 504, message: 'search is not offered', ref: 2 },
    { type: 'history', room: '#lobby', before: 10, events: [{ id: 8 }, { id: 9 }], more: true, ref: 1 },
    'tick',
    'drop',
    'tick',
    // The answer to a request of the connection that went is nobody's.
    { type: 'history', room: '#lobby', after: 3, events: [], more: false, ref: 3 },
    { type: 'error', code: 451, message: 'late', ref: 3 },
  ]);
  assert.deepEqual(r.out, [
    'sent {"type":"history","room":"#lobby","before":10,"limit":2,"ref":1}',
    'sent {"type":"search","room":"#lobby","q":"x","limit":5,"ref":2}',
    'sent {"type":"history","room":"#lobby","after":3,"limit":2,"ref":3}',
    'failed 504 search is not offered',
    'answer 1 [{"id":8},{"id":9}]',
    'failed 0 the connection closed',
    // An error whose request is gone is the page's to show, as before.
    'onError 451',
  ]);
  assert.equal(r.waiting, 0);
});

test('requests: at most REQUESTS_MAX wait at once; not connected fails at once', async () => {
  const r = await requests([{ many: true }]);
  assert.equal(r.out.filter((o) => o.startsWith('sent ')).length, 4);
  assert.deepEqual(r.out.filter((o) => o.startsWith('failed')), ['failed 429 too many requests at once']);
  assert.equal(r.waiting, 4);
  const offline = await page.evaluate(async () => {
    const { Connection } = await import('/js/connection.js');
    const c = new Connection({});
    return c.request({ type: 'history', room: '#lobby' }).then(() => 'answered', (e) => `${e.code} ${e.message}`);
  });
  assert.equal(offline, '0 not connected');
});
