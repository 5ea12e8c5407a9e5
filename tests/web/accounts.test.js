// Accounts from the page, in real Chromium against a real gateway: a browser
// registers the nick it has and a reload needs no password (its session
// token, kept in localStorage, logs it in); another browser profile (another
// device) logs in with the password; a wrong password is said in the dialog,
// which stays; log out forgets the session (a reload is a guest); log out
// everywhere logs the other device out; a new password ends the other
// device's session, which that page forgets when it comes back. The dialog
// works by keyboard, and no password is ever kept by the page: not in
// localStorage, sessionStorage or a cookie, nor left in a field.
//
// Each test starts a gateway of its own (registration open, its default;
// passwords over plain ws are taken from 127.0.0.1), so that each
// registers its own accounts within the gateway's bounds.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startGateway, stopGateway } from './lib/gateway.js';
import { launchBrowser, openParticipant, waitConnected, ensureArtifactsDir } from './lib/browser.js';

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

// Passwords of the tests: none of them may ever be found in the page's storage.
const PW = 'correct horse battery staple 1';
const PW2 = 'a new password, ñandú 2';
const WRONG = 'not the password 3';
// Typed in the box, /password OLD NEW takes the first word as the old one.
const ONE_WORD = 'one-word-password-4';
const ONE_WORD_WRONG = 'wrong-one-word-5';
const ALL_PW = [PW, PW2, WRONG, ONE_WORD, ONE_WORD_WRONG];

/* Every event the page received since `from` (an index into p.frames), flattened. */
function received(p, from = 0) {
  const out = [];
  for (const f of p.frames.slice(from)) {
    let v;
    try {
      v = JSON.parse(f);
    } catch {
      continue;
    }
    for (const e of Array.isArray(v) ? v : [v]) out.push(e);
  }
  return out;
}

/* Every message the page sent since `from` (an index into p.traffic), parsed. */
function sent(p, from = 0) {
  return p.traffic.slice(from).filter(([dir]) => dir === 'out').map(([, t]) => JSON.parse(t));
}

/* Everything the page keeps: localStorage, sessionStorage, cookies, and what its fields hold. */
function kept(page) {
  return page.evaluate(() => ({
    local: JSON.stringify({ ...localStorage }),
    session: JSON.stringify({ ...sessionStorage }),
    cookie: document.cookie,
    fields: [...document.querySelectorAll('input')].map((i) => i.value).join('\n'),
  }));
}

async function assertNoPassword(p) {
  const k = await kept(p.page);
  for (const pw of ALL_PW) {
    for (const [where, text] of Object.entries(k)) {
      assert.ok(!text.includes(pw), `the password "${pw}" is in ${where}: ${text}`);
    }
  }
}

const storedAccount = (p) => p.page.evaluate(() => JSON.parse(localStorage.getItem('wintalk.account') ?? 'null'));
const accountButton = (p) => p.page.locator('#account-button');
const dialog = (p) => p.page.locator('#account-dialog');

async function waitLoggedIn(p, nick) {
  await p.page.locator('#account-button', { hasText: `Account: ${nick}` }).waitFor();
  await p.page.locator('#status', { hasText: new RegExp(`^Connected as ${nick} · `) }).waitFor();
}

async function waitLoggedOut(p) {
  await p.page.locator('#account-button', { hasText: /^Log in$/ }).waitFor();
  await p.page.locator('#status', { hasText: /^Connected as guest-/ }).waitFor();
}

/* Registers the page's nick from the dialog. */
async function register(p, nick, password) {
  await accountButton(p).click();
  await dialog(p).getByRole('heading', { name: 'Log in or register' }).waitFor();
  assert.equal(await p.page.locator('#login-nick').inputValue(), nick, 'the nick field holds the nick we have');
  await p.page.locator('#login-password').fill(password);
  await p.page.locator('#register-go').click();
  await waitLoggedIn(p, nick);
  await dialog(p).waitFor({ state: 'hidden' });
}

/* Logs in from the dialog (Enter in the password field submits). */
async function logIn(p, nick, password) {
  await accountButton(p).click();
  await p.page.locator('#login-nick').fill(nick);
  await p.page.locator('#login-password').fill(password);
  await p.page.locator('#login-password').press('Enter');
}

/* Collects what a page's WebSockets carry and its errors, as openParticipant does. */
function watch(page) {
  const p = { page, problems: [], frames: [], traffic: [] };
  page.on('websocket', (ws) => {
    ws.on('framereceived', (f) => {
      p.frames.push(String(f.payload));
      p.traffic.push(['in', String(f.payload)]);
    });
    ws.on('framesent', (f) => p.traffic.push(['out', String(f.payload)]));
  });
  page.on('pageerror', (e) => p.problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') p.problems.push(`console error: ${m.text()}`);
  });
  return p;
}

/* Reloads the page and returns what it sent and received on its new connection. */
async function reload(p) {
  const fromIn = p.frames.length;
  const fromOut = p.traffic.length;
  await p.page.reload();
  await waitConnected(p.page);
  const welcome = received(p, fromIn).find((e) => e.type === 'welcome');
  const hello = sent(p, fromOut).find((m) => m.type === 'hello');
  return { welcome, hello, fromIn, fromOut };
}

test('register from the page; a reload needs no password: the welcome names the account', { timeout: 90000 }, async () => {
  const gw = await startGateway({ name: 'accounts-register-gateway' });
  try {
    const alice = await openParticipant(browser, gw.url, 'alice');
    assert.equal(await accountButton(alice).textContent(), 'Log in');
    const before = alice.traffic.length;
    await register(alice, 'alice', PW);
    // The page sent the password once, in its register, and kept the session it got.
    const reg = sent(alice, before).filter((m) => m.type === 'register');
    assert.equal(reg.length, 1);
    assert.equal(reg[0].password, PW);
    const answer = received(alice).find((e) => e.type === 'account' && e.ref === reg[0].ref);
    assert.equal(answer.nick, 'alice');
    assert.equal(typeof answer.session, 'string');
    assert.deepEqual(await storedAccount(alice), { nick: 'alice', session: answer.session });
    await alice.page.locator('#log > li', { hasText: 'alice is registered' }).waitFor();
    await assertNoPassword(alice);

    // A reload: the hello carries the session, no password goes, and the
    // welcome says the connection is the account's.
    const r = await reload(alice);
    assert.equal(r.hello.session, answer.session);
    assert.equal(r.welcome.account, 'alice');
    assert.equal(r.welcome.you.nick, 'alice');
    assert.deepEqual(sent(alice, r.fromOut).filter((m) => ['login', 'register', 'password'].includes(m.type)), []);
    assert.ok(!sent(alice, r.fromOut).some((m) => JSON.stringify(m).includes(PW)));
    await waitLoggedIn(alice, 'alice');
    assert.equal(await alice.page.locator('#nick-dialog').isVisible(), false);
    assert.equal(await dialog(alice).isVisible(), false);
    // The session ended by nothing: no error came.
    assert.deepEqual(received(alice, r.fromIn).filter((e) => e.type === 'error'), []);
    await assertNoPassword(alice);
    assert.deepEqual(alice.problems, []);
    await alice.context.close();
  } finally {
    await stopGateway(gw, 'accounts-register-gateway');
  }
});

test('another device logs in with the password; a wrong one is said in the dialog, which stays', { timeout: 90000 }, async () => {
  const gw = await startGateway({ name: 'accounts-login-gateway' });
  try {
    const alice = await openParticipant(browser, gw.url, 'alice');
    await register(alice, 'alice', PW);
    // Another browser profile, on its first visit: "Log in to an account"
    // in the nick dialog joins as a guest and opens the login form.
    const context = await browser.newContext();
    const other = { context, ...watch(await context.newPage()) };
    await other.page.goto(gw.url);
    await other.page.getByRole('button', { name: 'Log in to an account' }).click();
    await dialog(other).getByRole('heading', { name: 'Log in or register' }).waitFor();
    await waitLoggedOut(other);
    assert.equal(await other.page.evaluate(() => document.activeElement.id), 'login-nick');
    await other.page.keyboard.press('Escape');
    const before = other.traffic.length;
    // What the gateway would refuse at once is said before anything is sent:
    // no password, one over 256 bytes of UTF-8 (129 two-byte letters).
    await logIn(other, 'alice', '');
    await other.page.locator('#account-error', { hasText: 'Type a password.' }).waitFor();
    await other.page.locator('#login-password').fill('ñ'.repeat(129));
    await other.page.locator('#login-password').press('Enter');
    await other.page.locator('#account-error', { hasText: 'A password is at most 256 bytes.' }).waitFor();
    assert.deepEqual(sent(other, before).filter((m) => m.type === 'login'), []);
    await other.page.locator('#login-password').fill(WRONG);
    await other.page.locator('#login-password').press('Enter');
    await other.page.locator('#account-error', { hasText: 'Wrong nick or password.' }).waitFor();
    assert.equal(await other.page.locator('#account-error').getAttribute('role'), 'alert');
    assert.equal(await dialog(other).isVisible(), true, 'the dialog stays open');
    assert.equal(await other.page.locator('#login-nick').inputValue(), 'alice', 'the nick stays');
    assert.equal(await other.page.locator('#login-password').inputValue(), '', 'the password field was emptied');
    assert.equal(await other.page.evaluate(() => document.activeElement.id), 'login-password');
    const refused = received(other).find((e) => e.type === 'error' && e.code === 530);
    assert.ok(refused, 'the gateway refused it with 530');
    assert.equal(await storedAccount(other), null);
    // The refusal is said in the dialog, not in the conversation.
    assert.equal(await other.page.locator('#log > li', { hasText: /wrong nick or password/i }).count(), 0);
    await assertNoPassword(other);

    // The right password, typed again in the dialog that stayed.
    await other.page.locator('#login-password').fill(PW);
    await other.page.locator('#login-password').press('Enter');
    await waitLoggedIn(other, 'alice');
    await dialog(other).waitFor({ state: 'hidden' });
    const logins = sent(other, before).filter((m) => m.type === 'login');
    assert.deepEqual(logins.map((m) => [m.nick, m.password]), [['alice', WRONG], ['alice', PW]]);
    const answer = received(other).find((e) => e.type === 'account' && e.ref === logins[1].ref);
    assert.equal(answer.nick, 'alice');
    assert.deepEqual(await storedAccount(other), { nick: 'alice', session: answer.session });
    await other.page.locator('#log > li', { hasText: 'You are logged in as alice.' }).waitFor();
    await assertNoPassword(other);
    // Its reload needs no password either.
    const r = await reload(other);
    assert.equal(r.welcome.account, 'alice');
    await waitLoggedIn(other, 'alice');
    // The first device is logged in all along.
    await waitLoggedIn(alice, 'alice');
    assert.deepEqual(other.problems, []);
    assert.deepEqual(alice.problems, []);
    await other.context.close();
    await alice.context.close();
  } finally {
    await stopGateway(gw, 'accounts-login-gateway');
  }
});

test('log out forgets the session: a reload is a guest', { timeout: 90000 }, async () => {
  const gw = await startGateway({ name: 'accounts-logout-gateway' });
  try {
    const bob = await openParticipant(browser, gw.url, 'bob');
    await register(bob, 'bob', PW);
    const before = bob.traffic.length;
    await accountButton(bob).click();
    await dialog(bob).getByRole('heading', { name: 'Your account' }).waitFor();
    await bob.page.getByRole('button', { name: 'Log out', exact: true }).click();
    await waitLoggedOut(bob);
    await dialog(bob).waitFor({ state: 'hidden' });
    const out = sent(bob, before).filter((m) => m.type === 'logout');
    assert.equal(out.length, 1);
    assert.notEqual(out[0].all, true);
    const answer = received(bob).find((e) => e.type === 'account' && e.ref === out[0].ref);
    assert.equal(answer.nick, null);
    assert.equal(await storedAccount(bob), null, 'the session token is forgotten');
    await bob.page.locator('#log > li', { hasText: 'You are logged out. You go on as a guest.' }).waitFor();
    // A reload: no session in the hello, a guest's welcome.
    const r = await reload(bob);
    assert.equal(r.hello.session, undefined);
    assert.equal(r.welcome.account ?? null, null);
    assert.match(r.welcome.you.nick, /^guest-/);
    await waitLoggedOut(bob);
    await assertNoPassword(bob);
    assert.deepEqual(bob.problems, []);
    await bob.context.close();
  } finally {
    await stopGateway(gw, 'accounts-logout-gateway');
  }
});

test('log out everywhere logs the other device out', { timeout: 90000 }, async () => {
  const gw = await startGateway({ name: 'accounts-everywhere-gateway' });
  try {
    const here = await openParticipant(browser, gw.url, 'carol');
    await register(here, 'carol', PW);
    const there = await openParticipant(browser, gw.url, null);
    await logIn(there, 'carol', PW);
    await waitLoggedIn(there, 'carol');
    const thereBefore = there.frames.length;

    const before = here.traffic.length;
    await accountButton(here).click();
    await here.page.getByRole('button', { name: 'Log out everywhere' }).click();
    await waitLoggedOut(here);
    const out = sent(here, before).filter((m) => m.type === 'logout');
    assert.equal(out.length, 1);
    assert.equal(out[0].all, true);
    await here.page.locator('#log > li', { hasText: 'You are logged out on every device.' }).waitFor();
    assert.equal(await storedAccount(here), null);

    // The other device is told (an account event without a ref) and forgets its session.
    await waitLoggedOut(there);
    const news = received(there, thereBefore).filter((e) => e.type === 'account');
    assert.equal(news.length, 1);
    assert.equal(news[0].nick, null);
    assert.equal(news[0].ref, undefined);
    assert.equal(await storedAccount(there), null);
    await there.page.locator('#log > li', { hasText: 'You were logged out of carol' }).waitFor();
    // Both reload as guests.
    for (const p of [here, there]) {
      const r = await reload(p);
      assert.equal(r.hello.session, undefined);
      assert.equal(r.welcome.account ?? null, null);
      assert.match(r.welcome.you.nick, /^guest-/);
      await assertNoPassword(p);
      assert.deepEqual(p.problems, []);
    }
    await here.context.close();
    await there.context.close();
  } finally {
    await stopGateway(gw, 'accounts-everywhere-gateway');
  }
});

test('change password: the old one is refused, and the other device\'s session is over when it comes back', { timeout: 90000 }, async () => {
  const gw = await startGateway({ name: 'accounts-password-gateway' });
  try {
    const dora = await openParticipant(browser, gw.url, 'dora');
    await register(dora, 'dora', PW);
    const away = await openParticipant(browser, gw.url, null);
    await logIn(away, 'dora', PW);
    await waitLoggedIn(away, 'dora');
    const awaySession = (await storedAccount(away)).session;
    // The other device's page is closed (its storage stays).
    await away.page.goto('about:blank');

    const first = (await storedAccount(dora)).session;
    await accountButton(dora).click();
    await dora.page.getByRole('button', { name: 'Change password' }).click();
    await dialog(dora).getByRole('heading', { name: 'Change your password' }).waitFor();
    assert.equal(await dora.page.evaluate(() => document.activeElement.id), 'password-old');
    // A wrong current password: said in the dialog, which stays.
    await dora.page.getByLabel('Current password').fill(WRONG);
    await dora.page.getByLabel('New password').fill(PW2);
    await dora.page.getByLabel('New password').press('Enter');
    await dora.page.locator('#account-error', { hasText: 'Your current password is not that one.' }).waitFor();
    assert.equal(await dialog(dora).isVisible(), true);
    assert.equal(await dora.page.locator('#password-old').inputValue(), '');
    assert.equal(await dora.page.locator('#password-new').inputValue(), '');
    await assertNoPassword(dora);
    // The right one.
    const before = dora.traffic.length;
    await dora.page.getByLabel('Current password').fill(PW);
    await dora.page.getByLabel('New password').fill(PW2);
    await dora.page.getByRole('button', { name: 'Change password' }).click();
    await dora.page.locator('#log > li', { hasText: 'Your password is changed.' }).waitFor();
    await dialog(dora).waitFor({ state: 'hidden' });
    const change = sent(dora, before).filter((m) => m.type === 'password');
    assert.deepEqual(change.map((m) => [m.old, m.new]), [[PW, PW2]]);
    const answer = received(dora).find((e) => e.type === 'account' && e.ref === change[0].ref);
    assert.equal(answer.nick, 'dora');
    const now = await storedAccount(dora);
    assert.equal(now.session, answer.session, 'the new session token is kept');
    assert.notEqual(now.session, first);
    await waitLoggedIn(dora, 'dora');
    await assertNoPassword(dora);
    // Its reload is logged in with the new session.
    const r = await reload(dora);
    assert.equal(r.hello.session, answer.session);
    assert.equal(r.welcome.account, 'dora');

    // The other device comes back with its old session: the gateway says
    // it is over; the page forgets it and says it is logged out.
    const fromIn = away.frames.length;
    const fromOut = away.traffic.length;
    await away.page.goto(gw.url);
    await waitConnected(away.page);
    assert.equal(sent(away, fromOut).find((m) => m.type === 'hello').session, awaySession);
    const over = received(away, fromIn).find((e) => e.type === 'error' && e.code === 530);
    assert.ok(over, 'the gateway said the session is over');
    assert.equal(received(away, fromIn).find((e) => e.type === 'welcome').account ?? null, null);
    await waitLoggedOut(away);
    assert.equal(await storedAccount(away), null, 'the page forgot the session that is over');
    await away.page.locator('#log > li', { hasText: /session is over/i }).waitFor();
    // Not taken for a wrong access key: no dialog asks for one.
    assert.equal(await away.page.locator('#nick-dialog').isVisible(), false);
    // The old password is refused there; the new one logs in (the form offers the account's name).
    await accountButton(away).click();
    assert.equal(await away.page.locator('#login-nick').inputValue(), 'dora');
    await away.page.locator('#login-password').fill(PW);
    await away.page.locator('#login-password').press('Enter');
    await away.page.locator('#account-error', { hasText: 'Wrong nick or password.' }).waitFor();
    await away.page.locator('#login-password').fill(PW2);
    await away.page.locator('#login-password').press('Enter');
    await waitLoggedIn(away, 'dora');
    await assertNoPassword(away);
    assert.deepEqual(dora.problems, []);
    assert.deepEqual(away.problems, []);
    await dora.context.close();
    await away.context.close();
  } finally {
    await stopGateway(gw, 'accounts-password-gateway');
  }
});

/* The id of the element with the keyboard focus. */
const focused = (page) => page.evaluate(() => document.activeElement?.id ?? '');

test('the account commands typed in the box go as requests: never a line, never a draft', { timeout: 90000 }, async () => {
  const gw = await startGateway({ name: 'accounts-commands-gateway' });
  try {
    const erin = await openParticipant(browser, gw.url, 'erin');
    await register(erin, 'erin', ONE_WORD);
    const other = await openParticipant(browser, gw.url, null);
    const before = other.traffic.length;
    const input = other.page.locator('#input');
    // Typed like a person: the box is kept as a draft as it is typed, but not this one.
    await input.pressSequentially(`/identify erin ${ONE_WORD}`, { delay: 5 });
    await other.page.waitForTimeout(600);
    await assertNoPassword(other);
    await input.press('Enter');
    await waitLoggedIn(other, 'erin');
    assert.equal(await input.inputValue(), '');
    const out = sent(other, before);
    assert.deepEqual(out.filter((m) => m.type === 'login').map((m) => [m.nick, m.password]), [['erin', ONE_WORD]]);
    // Neither a line nor anyone's view of the typing had the password.
    assert.deepEqual(out.filter((m) => m.type !== 'login' && JSON.stringify(m).includes(ONE_WORD)), []);
    assert.deepEqual(received(erin).filter((e) => JSON.stringify(e).includes(ONE_WORD)), []);
    await assertNoPassword(other);
    // A wrong current password in /password: said in the conversation.
    await input.fill(`/password ${ONE_WORD_WRONG} ${PW2}`);
    await input.press('Enter');
    await other.page.locator('#log > li', { hasText: 'Your current password is not that one.' }).waitFor();
    assert.equal(await input.inputValue(), '', 'the command is not put back in the box');
    await input.fill(`/password ${ONE_WORD} ${PW2}`);
    await input.press('Enter');
    await other.page.locator('#log > li', { hasText: 'Your password is changed.' }).waitFor();
    await assertNoPassword(other);
    // Every other connection of the account is logged out, told so (an
    // account event without ref): erin's first page forgets its session.
    await waitLoggedOut(erin);
    assert.equal(await storedAccount(erin), null);
    await erin.page.locator('#log > li', { hasText: 'You were logged out of erin' }).waitFor();
    const r = await reload(erin);
    assert.equal(r.hello.session, undefined);
    assert.equal(r.welcome.account ?? null, null);
    assert.match(r.welcome.you.nick, /^guest-/);
    // /logout all from the box.
    await input.fill('/logout all');
    await input.press('Enter');
    await waitLoggedOut(other);
    await other.page.locator('#log > li', { hasText: 'You are logged out on every device.' }).waitFor();
    assert.equal(await storedAccount(other), null);
    assert.deepEqual(erin.problems, []);
    assert.deepEqual(other.problems, []);
    await erin.context.close();
    await other.context.close();
  } finally {
    await stopGateway(gw, 'accounts-commands-gateway');
  }
});

test('a registered nick asked for on a first visit opens the login form with it', { timeout: 90000 }, async () => {
  const gw = await startGateway({ name: 'accounts-taken-gateway' });
  try {
    const owner = await openParticipant(browser, gw.url, 'fay');
    await register(owner, 'fay', PW);
    await owner.context.close();
    // A new device: the first visit's dialog, the account's nick typed in it.
    const context = await browser.newContext();
    const p = watch(await context.newPage());
    const { page } = p;
    await page.goto(gw.url);
    await page.locator('#nick-input').fill('fay');
    await page.locator('#nick-input').press('Enter');
    const dlg = page.getByRole('dialog', { name: 'Log in or register' });
    await dlg.waitFor();
    await page.locator('#account-error', { hasText: 'fay is registered' }).waitFor();
    assert.equal(await page.locator('#login-nick').inputValue(), 'fay');
    assert.equal(await focused(page), 'login-password');
    await page.locator('#status', { hasText: /^Connected as guest-/ }).waitFor();
    // Not asked again and again meanwhile, and not kept as this browser's nick.
    assert.equal(await page.evaluate(() => localStorage.getItem('wintalk.nick')), null);
    await page.keyboard.type(PW);
    await page.keyboard.press('Enter');
    await waitLoggedIn(p, 'fay');
    await dlg.waitFor({ state: 'hidden' });
    // The dialog was not opened by a control still on the page: the focus goes to the account's button.
    assert.equal(await focused(page), 'account-button');
    assert.equal(await page.evaluate(() => localStorage.getItem('wintalk.nick')), 'fay');
    await assertNoPassword(p);
    assert.deepEqual(p.problems, []);
    await context.close();
  } finally {
    await stopGateway(gw, 'accounts-taken-gateway');
  }
});

test('the tabs of one browser follow a login and a log out made in one of them', { timeout: 90000 }, async () => {
  const gw = await startGateway({ name: 'accounts-tabs-gateway' });
  try {
    const gus = await openParticipant(browser, gw.url, 'gus');
    await register(gus, 'gus', PW);
    const one = await openParticipant(browser, gw.url, null);
    // A second tab of that browser.
    const tab = watch(await one.context.newPage());
    await tab.page.goto(gw.url);
    await waitLoggedOut(tab);
    await logIn(one, 'gus', PW);
    await waitLoggedIn(one, 'gus');
    // The other tab says hello again with the session: no password of its own.
    await waitLoggedIn(tab, 'gus');
    assert.deepEqual(sent(tab).filter((m) => m.type === 'login' || JSON.stringify(m).includes(PW)), []);
    const session = (await storedAccount(one)).session;
    assert.equal(sent(tab).filter((m) => m.type === 'hello').at(-1).session, session);
    assert.equal(received(tab).filter((e) => e.type === 'welcome').at(-1).account, 'gus');
    // Log out in the first tab: the other one is logged out too.
    await accountButton(one).click();
    await one.page.getByRole('button', { name: 'Log out', exact: true }).click();
    await waitLoggedOut(one);
    await waitLoggedOut(tab);
    await assertNoPassword(tab);
    assert.deepEqual(one.problems, []);
    assert.deepEqual(tab.problems, []);
    await one.context.close();
    await gus.context.close();
  } finally {
    await stopGateway(gw, 'accounts-tabs-gateway');
  }
});

test('the account dialog by keyboard: labelled, Tab order, Enter, Escape, focus back; both themes, phone width', { timeout: 90000 }, async () => {
  const gw = await startGateway({ name: 'accounts-keyboard-gateway' });
  try {
    const kim = await openParticipant(browser, gw.url, 'kim');
    const { page } = kim;
    // The header's control is a labelled button that opens a dialog.
    const button = page.getByRole('button', { name: 'Log in', exact: true });
    assert.equal(await button.getAttribute('aria-haspopup'), 'dialog');
    await button.focus();
    await page.keyboard.press('Enter');
    const dlg = page.getByRole('dialog', { name: 'Log in or register' });
    await dlg.waitFor();
    // Labelled fields, with what a password manager needs.
    assert.equal(await dlg.getByLabel('Nick', { exact: true }).getAttribute('autocomplete'), 'username');
    assert.equal(await dlg.getByLabel('Password', { exact: true }).getAttribute('autocomplete'), 'current-password');
    assert.equal(await dlg.getByLabel('Password', { exact: true }).getAttribute('type'), 'password');
    // The nick is filled in (the one we have): the focus is in the password.
    assert.equal(await focused(page), 'login-password');
    const order = [];
    for (let i = 0; i < 3; i++) {
      await page.keyboard.press('Tab');
      order.push(await focused(page));
    }
    assert.deepEqual(order, ['login-go', 'register-go', 'login-cancel']);
    for (let i = 0; i < 4; i++) await page.keyboard.press('Shift+Tab');
    assert.equal(await focused(page), 'login-nick');
    // Escape closes it, and the focus is back on the button that opened it.
    await page.keyboard.press('Escape');
    await dlg.waitFor({ state: 'hidden' });
    assert.equal(await focused(page), 'account-button');

    // Register by keyboard: Enter opens, type, Tab to "Register this nick", Enter.
    await page.keyboard.press('Enter');
    await dlg.waitFor();
    await page.keyboard.type(PW);
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    assert.equal(await focused(page), 'register-go');
    await page.keyboard.press('Enter');
    await waitLoggedIn(kim, 'kim');
    await dlg.waitFor({ state: 'hidden' });
    assert.equal(await focused(page), 'account-button');
    assert.equal(await page.locator('#account-button').getAttribute('aria-label'), 'Account: logged in as kim');
    await assertNoPassword(kim);

    // Logged in: the account's actions, in order, by Tab; Escape closes.
    await page.keyboard.press('Enter');
    const acct = page.getByRole('dialog', { name: 'Your account' });
    await acct.waitFor();
    const actions = [await focused(page)];
    for (let i = 0; i < 3; i++) {
      await page.keyboard.press('Tab');
      actions.push(await focused(page));
    }
    assert.deepEqual(actions, ['password-open', 'logout-go', 'logout-all-go', 'account-close']);
    // Change password's form by keyboard, Escape from it.
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    assert.equal(await focused(page), 'password-open');
    await page.keyboard.press('Enter');
    await page.getByRole('dialog', { name: 'Change your password' }).waitFor();
    assert.equal(await page.getByLabel('Current password').getAttribute('autocomplete'), 'current-password');
    assert.equal(await page.getByLabel('New password').getAttribute('autocomplete'), 'new-password');
    const pwOrder = [await focused(page)];
    for (let i = 0; i < 3; i++) {
      await page.keyboard.press('Tab');
      pwOrder.push(await focused(page));
    }
    assert.deepEqual(pwOrder, ['password-old', 'password-new', 'password-go', 'password-back']);
    await page.keyboard.press('Enter');
    await acct.waitFor();
    assert.equal(await focused(page), 'password-open');

    // Screenshots of the dialog, light and dark, desktop and phone.
    const dir = ensureArtifactsDir();
    await page.screenshot({ path: path.join(dir, 'account-desktop.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: path.join(dir, 'account-desktop-dark.png') });
    await page.keyboard.press('Escape');
    await acct.waitFor({ state: 'hidden' });
    assert.equal(await focused(page), 'account-button');
    for (const width of [390, 360]) {
      await page.setViewportSize({ width, height: 800 });
      const widths = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, view: window.innerWidth }));
      assert.ok(widths.doc <= widths.view, `page is ${widths.doc}px wide in a ${widths.view}px window`);
    }
    assert.equal(await page.locator('#account-button').isVisible(), true);
    await page.keyboard.press('Enter');
    await acct.waitFor();
    const box = await acct.boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= 360, `the dialog fits the phone: ${JSON.stringify(box)}`);
    await page.screenshot({ path: path.join(dir, 'account-phone-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.screenshot({ path: path.join(dir, 'account-phone.png') });
    await page.keyboard.press('Escape');
    assert.deepEqual(kim.problems, []);
    await kim.context.close();
  } finally {
    await stopGateway(gw, 'accounts-keyboard-gateway');
  }
});
