// account.js: the page's side of accounts (docs/protocol.md, *Accounts*).
//
// A browser registers the nick it has with a password, or logs in to an
// account from any device; the gateway answers with a session token, which
// the page keeps (localStorage, per gateway origin) and sends in every
// hello, so a reload needs no password. Log out ends this browser's session,
// log out everywhere every session of the account, and a new password ends
// every other. A session that is over (ended elsewhere, expired) is
// forgotten, and the page says it is logged out.
//
// A site that embeds the page may log its user in with a token it signed
// (sitelogin.js): then every hello carries the token instead of a session,
// the account has no password (no Change password), and Log out forgets
// the token. A token the gateway refuses is said and forgotten (one that
// expired asks for a reload of the site, which hands a new one).
//
// The password is read from its field when its request is sent and the
// field is emptied at once: the page keeps it nowhere, not even in memory.

import { loadAccount, saveAccount } from './store.js';

// The most a password may be (bytes of UTF-8), as the gateway takes it
// (docs/protocol.md, *Accounts*: 1 to 256 bytes).
export const PASSWORD_MAX_BYTES = 256;
// An account request not answered in this time is given up (logging in
// runs a slow hash on the gateway, behind others' when it is busy).
const ANSWER_TIMEOUT_MS = 30000;

const utf8 = new TextEncoder();

const sentence = (s) => {
  const t = String(s ?? '').trim().replace(/[.\s]+$/u, '');
  return t === '' ? '' : t[0].toUpperCase() + t.slice(1);
};

/* What to tell the reader about a refused account request. */
export function accountRefusal(action, err) {
  const why = sentence(err.message);
  switch (err.code) {
    case 429:
      return 'Too many tries: wait a minute, then try again.';
    case 421:
      return `${why || 'The gateway is busy'}. Try again in a moment.`;
    case 502:
      return 'This gateway does not offer accounts.';
    case 530:
      if (action === 'login') return 'Wrong nick or password.';
      if (action === 'password') return 'Your current password is not that one.';
      return `${why || 'Passwords are not taken here'}.`;
    case 553:
      return `${why || 'That nick cannot be registered'}. To register another nick, change your nick first (Change nick), then register it.`;
    default:
      return `${why || 'Refused'}.`;
  }
}

// The account commands of WINTALK programs, typed in the page's box, go as
// the page's own requests: the page gets its session, and the password is
// never a line. A box that holds one is never kept as a draft.
const ACCOUNT_COMMAND_RE = /^\/(register|identify|password|logout)(?:[ \t]+([\s\S]*))?$/i;
const SECRET_COMMAND_RE = /^\s*\/(register|identify|password)(\s|$)/i;

/* True for a text that holds a password (one of the commands above): never stored. */
export function holdsPassword(text) {
  return SECRET_COMMAND_RE.test(String(text));
}

/*
 * An account command typed in the box: {kind: 'register', password},
 * {kind: 'login', nick, password}, {kind: 'password', old, new},
 * {kind: 'logout' | 'logout-all' | 'bad-logout'}; null for any other text.
 */
export function accountCommand(text) {
  const m = ACCOUNT_COMMAND_RE.exec(String(text));
  if (!m) return null;
  const arg = m[2] ?? '';
  const [, first, rest] = /^(\S*)\s*([\s\S]*)$/u.exec(arg);
  switch (m[1].toLowerCase()) {
    case 'register':
      return { kind: 'register', password: arg };
    case 'identify':
      return { kind: 'login', nick: first, password: rest };
    case 'password':
      return { kind: 'password', old: first, new: rest };
    default:
      if (arg.trim() === '') return { kind: 'logout' };
      return { kind: arg.trim().toLowerCase() === 'all' ? 'logout-all' : 'bad-logout' };
  }
}

/* A password the gateway would refuse at once, or '' for one it may take. */
export function passwordProblem(password) {
  if (password === '') return 'Type a password.';
  if (utf8.encode(password).length > PASSWORD_MAX_BYTES) return `A password is at most ${PASSWORD_MAX_BYTES} bytes.`;
  return '';
}

/*
 * new Account({conn, note, checkNick, myNick, onLoggedIn, onLoggedOut}):
 *   conn            the Connection (send)
 *   note(text)      a line in the conversation on screen
 *   checkNick(nick) '' for a nick that may be typed, else why not
 *   myNick()        the connection's nick now (null before a welcome)
 *   onLoggedIn(nick) the connection is the account's now
 *   onLoggedOut()   this browser is logged out (the connection goes on as a guest)
 *   site            the SiteLogin: the site's token of this tab (site.jwt)
 */
export class Account {
  constructor(deps) {
    this.d = deps;
    const saved = loadAccount();
    // The account's name and the session token, as kept; `live` is the
    // account the connection is logged in to now (from the gateway).
    this.nick = saved ? saved.nick : null;
    this.token = saved ? saved.session : null;
    this.live = null;
    this.lastNick = null; // the account this browser was last logged in to
    this.sentToken = null; // the session token the last hello carried
    this.sentJwt = null; // the site's token the last hello carried
    this.jwtRefusal = null; // {code, message}: why the gateway refused that token
    this.byToken = false; // logged in by the site's token: no password to change
    this.ended = null; // why the gateway refused the session of that hello
    this.pending = null; // {ref, action, timer}: a request waiting for its answer
    this.mode = 'login';
    this.opener = null;
    const $ = (id) => document.getElementById(id);
    this.ui = {
      button: $('account-button'),
      dialog: $('account-dialog'),
      title: $('account-title'),
      intro: $('account-intro'),
      error: $('account-error'),
      status: $('account-status'),
      loginForm: $('login-form'),
      loginNick: $('login-nick'),
      loginPassword: $('login-password'),
      register: $('register-go'),
      loginCancel: $('login-cancel'),
      panel: $('account-panel'),
      passwordOpen: $('password-open'),
      logout: $('logout-go'),
      logoutAll: $('logout-all-go'),
      close: $('account-close'),
      passwordForm: $('password-form'),
      passwordUser: $('password-user'),
      passwordOld: $('password-old'),
      passwordNew: $('password-new'),
      passwordBack: $('password-back'),
    };
    this.wire();
    this.render();
  }

  /*
   * What logs the next hello in, remembered as sent: {jwt}, the site's token
   * (a session is then not looked at, and not sent), or {session}, or {}.
   */
  helloLogin() {
    this.sentJwt = this.d.site.jwt;
    this.sentToken = this.sentJwt === null ? this.token : null;
    this.jwtRefusal = null;
    this.ended = null;
    if (this.sentJwt !== null) return { jwt: this.sentJwt };
    return this.sentToken !== null ? { session: this.sentToken } : {};
  }

  /*
   * An error before the welcome: a 530 about the session of the hello is
   * ours (the welcome as a guest follows). True when taken.
   */
  helloError(err) {
    // The site's token refused (the access key's 530 is not ours).
    if (this.sentJwt !== null) {
      const msg = String(err.message ?? '');
      if (![530, 553, 421, 504].includes(err.code) || /access key/i.test(msg)) return false;
      this.jwtRefusal = { code: err.code, message: msg };
      return true;
    }
    if (this.sentToken === null || err.code !== 530 || !/session/i.test(String(err.message ?? ''))) return false;
    this.ended = String(err.message);
    return true;
  }

  /* The welcome: logged in if it names the account; a session it did not take is over. */
  welcomed(w) {
    if (typeof w.account === 'string' && w.account !== '') {
      this.live = w.account;
      this.byToken = this.sentJwt !== null;
      this.jwtRefusal = null;
      if (!this.byToken && this.token !== null && this.nick !== w.account) {
        this.nick = w.account;
        saveAccount({ nick: this.nick, session: this.token });
      }
      this.render();
      return;
    }
    this.live = null;
    this.byToken = false;
    if (this.sentJwt !== null) {
      this.siteTokenRefused(this.jwtRefusal);
      this.jwtRefusal = null;
      this.render();
      return;
    }
    if (this.sentToken !== null && this.sentToken === this.token) {
      const why = sentence(this.ended) || 'Your session is over: log in again';
      const had = this.nick;
      this.forget();
      this.d.note(`${why}. This browser is logged out of ${had}: Log in, at the top of the page, to be ${had} again.`);
      this.d.onLoggedOut();
    }
    this.ended = null;
    this.render();
  }

  /* The welcome of a hello whose site token logged nobody in: why, in words. */
  siteTokenRefused(r) {
    const why = sentence(r ? r.message : '');
    if (r && r.code === 421) {
      // The gateway is busy: the token is tried again at the next hello.
      this.d.note(`Your site's login could not be checked just now${why ? ` (${why})` : ''}. ` +
        'You are a guest for now; it is tried again when the page reconnects.');
      return;
    }
    this.d.site.forget();
    if (r && /expired/i.test(r.message)) {
      this.d.note('Your site login expired: reload the site to log in again. You go on as a guest.');
    } else {
      this.d.note(`Your site's login was refused: ${why || 'the gateway did not take it'}. You go on as a guest.`);
    }
    this.d.onLoggedOut();
  }

  /* The gateway's `account`: an answer (with our ref) or news (without one). */
  onAccount(ev) {
    const mine = this.pending !== null && ev.ref !== undefined && ev.ref === this.pending.ref;
    const action = mine ? this.pending.action : null;
    if (mine) this.settle();
    if (typeof ev.nick === 'string' && ev.nick !== '') {
      this.live = ev.nick;
      if (typeof ev.session === 'string' && ev.session !== '') {
        // Logged in with a password: the site's token no longer says who we are.
        this.d.site.forget();
        this.byToken = false;
        this.nick = ev.nick;
        this.token = ev.session;
        saveAccount({ nick: this.nick, session: this.token });
      }
      this.render();
      if (action === 'password') {
        this.d.note('Your password is changed. Every other device logged in to this account was logged out.');
      } else if (action === 'register') {
        this.d.note(`${ev.nick} is registered: it is yours now. This browser stays logged in until you log out.`);
      } else if (action === 'login') {
        this.d.note(`You are logged in as ${ev.nick}.`);
      }
      if (action) this.close();
      this.d.onLoggedIn(ev.nick);
      return;
    }
    // Logged out: here (our request), or everywhere from elsewhere, or the
    // gateway ended the session. News of an account whose session another
    // tab of this browser has just renewed (its new password, made through
    // another gateway) leaves the renewed one kept: a reload logs in by it.
    const had = this.live ?? this.nick;
    const stored = loadAccount();
    this.forget({ keepStored: action === null && stored !== null && this.token !== null &&
      stored.nick === this.nick && stored.session !== this.token });
    this.live = null;
    this.byToken = false;
    this.render();
    if (action === 'logout-all') this.d.note('You are logged out on every device. You go on as a guest here.');
    else if (action === 'logout') this.d.note('You are logged out. You go on as a guest.');
    else if (had !== null) this.d.note(`You were logged out of ${had} (it logged out everywhere, or its session ended). You go on as a guest.`);
    if (action) this.close();
    else if (this.ui.dialog.open && this.mode !== 'login') this.show('login');
    this.d.onLoggedOut();
  }

  /* An error: true when it answers an account request (shown in the dialog). */
  onError(err) {
    if (this.pending === null || err.ref === undefined || err.ref !== this.pending.ref) return false;
    const { action, fromBox } = this.pending;
    this.settle();
    if (fromBox) {
      this.d.note(accountRefusal(action, err));
      return true;
    }
    this.showError(accountRefusal(action, err));
    const field = action === 'password' ? this.ui.passwordOld
      : action === 'register' && err.code === 553 ? this.ui.loginNick : this.ui.loginPassword;
    if (this.ui.dialog.open && !field.closest('[hidden]')) field.focus();
    return true;
  }

  /* The connection went: an answer waited for cannot come. */
  connectionLost() {
    if (this.pending === null) return;
    const { fromBox } = this.pending;
    this.settle();
    const text = 'The connection went before the gateway answered. Try again once it is back.';
    if (fromBox) this.d.note(text);
    else this.showError(text);
  }

  /* An account command typed in the box (accountCommand): sent as the dialog would. */
  command(cmd) {
    const say = (text) => this.d.note(text);
    const me = this.d.myNick();
    const account = this.live ?? this.nick;
    let problem = '';
    switch (cmd.kind) {
      case 'register':
        if (!me || me.toLowerCase().startsWith('guest-')) problem = 'Take a nick first (/nick NAME), then type /register PASSWORD.';
        else problem = passwordProblem(cmd.password);
        if (problem) say(problem);
        else this.request('register', { type: 'register', password: cmd.password }, '', true);
        return;
      case 'login':
        problem = cmd.nick === '' ? 'Type /identify NICK PASSWORD.' : this.d.checkNick(cmd.nick) || passwordProblem(cmd.password);
        if (problem) say(problem);
        else this.request('login', { type: 'login', nick: cmd.nick, password: cmd.password }, '', true);
        return;
      case 'password':
        if (!account) problem = 'You are not logged in: /identify NICK PASSWORD first.';
        else if (this.byToken) problem = 'You are logged in by your site: this account has no password to change.';
        else if (cmd.old === '' || cmd.new === '') problem = 'Type /password OLD NEW.';
        else problem = passwordProblem(cmd.new);
        if (problem) say(problem);
        else this.request('password', { type: 'password', old: cmd.old, new: cmd.new }, '', true);
        return;
      case 'logout':
      case 'logout-all':
        if (!account) say('You are not logged in.');
        else this.request(cmd.kind, cmd.kind === 'logout' ? { type: 'logout' } : { type: 'logout', all: true }, '', true);
        return;
      default:
        say('Type /logout, or /logout all to log out every device.');
    }
  }

  /* Another tab of this browser logged in or out: true if this one should say hello again. */
  storageChanged() {
    const saved = loadAccount();
    const token = saved ? saved.session : null;
    if (token === this.token) return false;
    this.nick = saved ? saved.nick : null;
    this.token = token;
    this.render();
    // This tab's site token says who it is, whatever the other tabs do.
    return this.d.site.jwt === null;
  }

  forget({ keepStored = false } = {}) {
    // The login form offers the account's name again.
    if (this.nick !== null) this.lastNick = this.nick;
    this.token = null;
    this.nick = null;
    this.sentToken = null;
    if (!keepStored) saveAccount(null);
    // Logged out: the site's token of this tab goes too.
    this.d.site.forget();
  }

  settle() {
    clearTimeout(this.pending.timer);
    this.pending = null;
    this.ui.status.textContent = '';
  }

  /* Sends an account request; returns false (and says why) when it cannot go. */
  request(action, msg, busy, fromBox = false) {
    const say = (text) => (fromBox ? this.d.note(text) : this.showError(text));
    if (this.pending !== null) {
      say('Wait for the answer to your last account request.');
      return false;
    }
    const ref = this.d.conn.send(msg);
    if (!ref) {
      say('Not connected: try again once the connection is back.');
      return false;
    }
    const timer = setTimeout(() => {
      if (this.pending && this.pending.ref === ref) {
        this.settle();
        say('No answer from the gateway in time. Try again.');
      }
    }, ANSWER_TIMEOUT_MS);
    this.pending = { ref, action, timer, fromBox };
    this.showError('');
    this.ui.status.textContent = busy;
    return true;
  }

  /* ---------- the header button and the dialog ---------- */

  render() {
    const name = this.live ?? this.nick;
    const b = this.ui.button;
    if (name) {
      b.textContent = `Account: ${name}`;
      b.setAttribute('aria-label', `Account: logged in as ${name}`);
      b.classList.add('logged-in');
    } else {
      b.textContent = 'Log in';
      b.removeAttribute('aria-label');
      b.classList.remove('logged-in');
    }
    if (this.ui.dialog.open) this.describe();
  }

  describe() {
    const name = this.live ?? this.nick;
    const me = this.d.myNick();
    switch (this.mode) {
      case 'account':
        this.ui.title.textContent = 'Your account';
        this.ui.intro.textContent = this.byToken
          ? `This page is logged in as ${name} by the site it is part of: this account has no password here. ` +
            'Log out forgets the site\'s login in this tab.'
          : `This browser is logged in as ${name}: a reload or a new tab needs no password. ` +
            'Log out everywhere ends the session of every device logged in to it.';
        break;
      case 'password':
        this.ui.title.textContent = 'Change your password';
        this.ui.intro.textContent = `The new password of ${name}. Every other device logged in to it is logged out.`;
        break;
      default:
        this.ui.title.textContent = 'Log in or register';
        this.ui.intro.textContent = me && !me.toLowerCase().startsWith('guest-')
          ? `Log in to your account from any device, or register ${me}, the nick you have now, so that it stays yours.`
          : 'Log in to your account from any device. To register a nick, take it first (Change nick), then register it here.';
        break;
    }
  }

  /* Shows one part of the dialog: 'login', 'account' or 'password'. */
  show(mode) {
    this.mode = mode;
    this.ui.loginForm.hidden = mode !== 'login';
    this.ui.panel.hidden = mode !== 'account';
    this.ui.passwordForm.hidden = mode !== 'password';
    // A site's token account has no password to change.
    this.ui.passwordOpen.hidden = this.byToken;
    this.clearPasswords();
    this.showError('');
    this.describe();
    if (mode === 'login') {
      const me = this.d.myNick();
      if (!this.ui.loginNick.value) {
        if (this.lastNick) this.ui.loginNick.value = this.lastNick;
        else if (me && !me.toLowerCase().startsWith('guest-')) this.ui.loginNick.value = me;
      }
      (this.ui.loginNick.value ? this.ui.loginPassword : this.ui.loginNick).focus();
    } else if (mode === 'password') {
      this.ui.passwordUser.value = this.live ?? this.nick ?? '';
      this.ui.passwordOld.focus();
    } else {
      (this.byToken ? this.ui.logout : this.ui.passwordOpen).focus();
    }
  }

  /*
   * Opens the dialog: the account's actions when logged in, else the login
   * form (with `nick` in it, and `message` said, if given).
   */
  open(nick = null, message = '') {
    this.opener = document.activeElement instanceof HTMLElement && document.activeElement !== document.body
      ? document.activeElement : this.ui.button;
    if (!this.ui.dialog.open) this.ui.dialog.showModal();
    if (nick) this.ui.loginNick.value = nick;
    this.show(this.live ?? this.nick ? 'account' : 'login');
    if (message) this.showError(message);
  }

  close() {
    if (this.ui.dialog.open) this.ui.dialog.close();
  }

  showError(text) {
    this.ui.error.textContent = text;
  }

  clearPasswords() {
    this.ui.loginPassword.value = '';
    this.ui.passwordOld.value = '';
    this.ui.passwordNew.value = '';
  }

  wire() {
    const u = this.ui;
    u.button.addEventListener('click', () => this.open());
    u.loginForm.addEventListener('submit', (e) => {
      e.preventDefault();
      const action = e.submitter === u.register ? 'register' : 'login';
      if (this.pending !== null) return;
      const nick = u.loginNick.value.trim();
      const me = this.d.myNick();
      let problem = action === 'login' ? this.d.checkNick(nick) : '';
      if (!problem && action === 'register') {
        if (!me || me.toLowerCase().startsWith('guest-')) {
          problem = 'Take a nick first (Change nick), then register it: guest names cannot be registered.';
        } else if (nick !== '' && nick.normalize('NFC').toLowerCase() !== me.normalize('NFC').toLowerCase()) {
          problem = `Register this nick registers the nick you have now, ${me}. To register ${nick}, change your nick to it first.`;
        }
      }
      if (problem) {
        this.showError(problem);
        u.loginNick.focus();
        return;
      }
      const passwordBad = passwordProblem(u.loginPassword.value);
      if (passwordBad) {
        this.showError(passwordBad);
        u.loginPassword.focus();
        return;
      }
      if (action === 'register') {
        // A password manager offers to save it as the account's new one.
        u.loginPassword.autocomplete = 'new-password';
        if (!nick) u.loginNick.value = me;
        this.request('register', { type: 'register', password: u.loginPassword.value }, `Registering ${me}…`);
      } else {
        u.loginPassword.autocomplete = 'current-password';
        this.request('login', { type: 'login', nick, password: u.loginPassword.value }, `Logging in as ${nick}…`);
      }
      u.loginPassword.value = '';
    });
    u.loginCancel.addEventListener('click', () => this.close());
    u.passwordOpen.addEventListener('click', () => this.show('password'));
    u.passwordBack.addEventListener('click', () => this.show('account'));
    u.close.addEventListener('click', () => this.close());
    u.logout.addEventListener('click', () => {
      this.request('logout', { type: 'logout' }, 'Logging out…');
    });
    u.logoutAll.addEventListener('click', () => {
      this.request('logout-all', { type: 'logout', all: true }, 'Logging out every device…');
    });
    u.passwordForm.addEventListener('submit', (e) => {
      e.preventDefault();
      if (this.pending !== null) return;
      const problem = (u.passwordOld.value === '' ? 'Type your current password.' : '') ||
        passwordProblem(u.passwordNew.value);
      if (problem) {
        this.showError(problem);
        (u.passwordOld.value === '' ? u.passwordOld : u.passwordNew).focus();
        return;
      }
      this.request('password', { type: 'password', old: u.passwordOld.value, new: u.passwordNew.value },
        'Changing the password…');
      u.passwordOld.value = '';
      u.passwordNew.value = '';
    });
    u.dialog.addEventListener('close', () => {
      this.clearPasswords();
      this.showError('');
      const back = this.opener && this.opener.isConnected && !this.opener.closest('dialog') ? this.opener : u.button;
      this.opener = null;
      back.focus();
    });
  }
}
