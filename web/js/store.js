// store.js: the few things the page remembers, in localStorage (the nick,
// the account's login session, and the page's session: rooms, conversations
// and where it was in each) and
// sessionStorage (the access key, and what was being typed in each
// conversation: both forgotten when the tab closes, kept across a reload).
// Storage can be missing or refuse writes (private windows, full quota):
// then the page simply does not remember.

const NICK_KEY = 'wintalk.nick';
const ACCESS_KEY = 'wintalk.key';
const SESSION_KEY = 'wintalk.session';
const DRAFTS_KEY = 'wintalk.drafts';
// The account this browser is logged in to and its session token (never a
// password: the page keeps none). localStorage is per origin, so each
// gateway the page comes from has its own.
export const ACCOUNT_KEY = 'wintalk.account';
// A session token the gateway gave: printable ASCII, at most this long
// (anything else was not written by this page and is not sent).
const ACCOUNT_TOKEN_MAX = 256;
const ACCOUNT_TOKEN_RE = /^[\x21-\x7e]+$/;
// An account's name is a nick: at most 24 characters (some take 2 units).
const ACCOUNT_NICK_MAX = 64;
// Stored drafts larger than this are not read back: a message is at most
// 4096 bytes, and a page has at most some 70 conversations.
const DRAFTS_BYTES_MAX = 512 * 1024;
// A stored session larger than this is not read back (it was not written by this page).
const SESSION_BYTES_MAX = 64 * 1024;

/* storage is 'localStorage' or 'sessionStorage'; even reading the property can throw. */
function get(storage, name) {
  try {
    return window[storage].getItem(name);
  } catch {
    return null;
  }
}

function set(storage, name, value) {
  try {
    if (value === null || value === '') window[storage].removeItem(name);
    else window[storage].setItem(name, value);
  } catch {
    /* not remembered */
  }
}

export const loadNick = () => get('localStorage', NICK_KEY);
export const saveNick = (nick) => set('localStorage', NICK_KEY, nick);
export const loadKey = () => get('sessionStorage', ACCESS_KEY);
export const saveKey = (key) => set('sessionStorage', ACCESS_KEY, key);

/*
 * The account this browser is logged in to: {nick, session}, or null. The
 * session token goes to the gateway in hello and nowhere else.
 */
export function loadAccount() {
  const text = get('localStorage', ACCOUNT_KEY);
  if (!text || text.length > ACCOUNT_TOKEN_MAX + ACCOUNT_NICK_MAX + 64) return null;
  let a;
  try {
    a = JSON.parse(text);
  } catch {
    return null;
  }
  if (!a || typeof a !== 'object' || Array.isArray(a)) return null;
  const { nick, session } = a;
  if (typeof session !== 'string' || session.length > ACCOUNT_TOKEN_MAX || !ACCOUNT_TOKEN_RE.test(session)) return null;
  if (typeof nick !== 'string' || nick === '' || nick.length > ACCOUNT_NICK_MAX) return null;
  return { nick, session };
}

/* Keeps the account and its session token; null forgets them. */
export function saveAccount(account) {
  set('localStorage', ACCOUNT_KEY, account ? JSON.stringify({ nick: account.nick, session: account.session }) : null);
}

const HEX_RE = /^[0-9a-f]{1,64}$/i;

/*
 * The session a page stored before a reload: {epoch, token, privateId,
 * rooms: [{room, lastId}], roomViews, privateViews, active, idents}, or null.
 * Values of the wrong type are left out; the modules that take them back
 * check them again (connection.restore, views.restore).
 */
export function loadSession() {
  const text = get('localStorage', SESSION_KEY);
  if (!text || text.length > SESSION_BYTES_MAX) return null;
  let s;
  try {
    s = JSON.parse(text);
  } catch {
    return null;
  }
  if (!s || typeof s !== 'object' || Array.isArray(s)) return null;
  const list = (v) => (Array.isArray(v) ? v.filter((x) => x && typeof x === 'object') : []);
  return {
    epoch: typeof s.epoch === 'string' && HEX_RE.test(s.epoch) ? s.epoch : null,
    // The resume token is a secret: it is kept here and sent in hello, never shown.
    token: typeof s.token === 'string' && HEX_RE.test(s.token) ? s.token : null,
    // The public names of the identities this browser has been.
    idents: Array.isArray(s.idents) ? s.idents.filter((x) => typeof x === 'string' && HEX_RE.test(x)) : [],
    privateId: Number.isSafeInteger(s.privateId) && s.privateId >= 0 ? s.privateId : 0,
    rooms: list(s.rooms),
    roomViews: list(s.roomViews),
    privateViews: list(s.privateViews),
    active: s.active && typeof s.active === 'object' ? s.active : null,
  };
}

export function saveSession(session) {
  set('localStorage', SESSION_KEY, JSON.stringify(session));
}

/* The drafts of a page before a reload: {viewKey: text}, strings only. */
export function loadDrafts() {
  const text = get('sessionStorage', DRAFTS_KEY);
  if (!text || text.length > DRAFTS_BYTES_MAX) return {};
  let d;
  try {
    d = JSON.parse(text);
  } catch {
    return {};
  }
  if (!d || typeof d !== 'object' || Array.isArray(d)) return {};
  const out = {};
  for (const [k, v] of Object.entries(d)) {
    if (typeof v === 'string' && v !== '') out[k] = v;
  }
  return out;
}

/* Keeps drafts ({viewKey: text}); none left forgets them. */
export function saveDrafts(drafts) {
  set('sessionStorage', DRAFTS_KEY, Object.keys(drafts).length ? JSON.stringify(drafts) : null);
}

// A site's token (sitelogin.js) for this tab: sessionStorage, so that a
// reload of this tab stays logged in (its address no longer holds the
// token) while other tabs and a later visit do not have it.
const SITE_TOKEN_KEY = 'wintalk.jwt';
export const loadSiteToken = () => get('sessionStorage', SITE_TOKEN_KEY);
export const saveSiteToken = (jwt) => set('sessionStorage', SITE_TOKEN_KEY, jwt);
