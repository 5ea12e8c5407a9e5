// sitelogin.js: a site's own login (README, *Embedding in your site*;
// docs/protocol.md, *A site's own login*). A site that embeds the page signs
// a short-lived token (a JWT) for its user and hands it to the page, which
// gives it to the gateway in every hello: the user is logged in without a
// password. Two ways in:
//
// - the address's fragment, `#jwt=TOKEN` (a fragment is never sent to a
//   server, so it reaches no server's log): taken at once and removed from
//   the address bar (history.replaceState), so that it is not bookmarked,
//   shared or kept in the history;
// - a message from the window that frames the page,
//   `{type: "wintalk-jwt", jwt: TOKEN}`, taken only from an origin the page
//   is told to trust: the `data-trusted-parent` attribute of the page's
//   <html> (exact origins, separated by spaces), which the chat's operator
//   sets in index.html. Not a query the framing site chooses: any site could
//   frame the page and name itself, and log its visitors in to an account
//   of its choosing. A message from any other origin, or from another window
//   than the parent, is ignored. Once it listens, the page tells each trusted
//   parent `{type: "wintalk-ready"}`, so the site knows when to send.
//
// The token is kept in memory and in this tab's sessionStorage (store.js):
// a reload of the tab stays logged in, while other tabs, a closed and
// reopened browser, and the disk (beyond the browser's own session files)
// never get it. A token is short-lived anyway: the site hands a new one
// with each page it serves.

import { loadSiteToken, saveSiteToken } from './store.js';

// The gateway takes a token of at most 4096 bytes (docs/protocol.md).
export const SITE_TOKEN_MAX = 4096;
// A JWT in its compact form: three base64url parts.
const JWT_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
// An origin as a browser writes event.origin: scheme, host, optional port.
const ORIGIN_RE = /^https?:\/\/[^\s/?#]+$/;

/* True for a string shaped as a token the gateway may take. */
export function tokenShaped(t) {
  return typeof t === 'string' && t.length <= SITE_TOKEN_MAX && JWT_RE.test(t);
}

/*
 * Takes `jwt=TOKEN` out of the address's fragment (other fragment parameters
 * stay) and returns the token, or null. The address bar no longer shows it.
 */
export function takeFragmentToken(loc = window.location, hist = window.history) {
  const hash = loc.hash.startsWith('#') ? loc.hash.slice(1) : loc.hash;
  if (hash === '') return null;
  const params = new URLSearchParams(hash);
  if (!params.has('jwt')) return null;
  const jwt = params.get('jwt');
  params.delete('jwt');
  const rest = params.toString();
  try {
    hist.replaceState(hist.state, '', `${loc.pathname}${loc.search}${rest ? `#${rest}` : ''}`);
  } catch {
    /* the address could not be changed: the token is still taken */
  }
  return tokenShaped(jwt) ? jwt : null;
}

/* The origins the page takes a token from by postMessage (data-trusted-parent). */
export function trustedParents(root = document.documentElement) {
  const text = root.dataset.trustedParent ?? '';
  return text.split(/\s+/u).filter((o) => ORIGIN_RE.test(o) && o !== 'null');
}

/*
 * new SiteLogin(onToken): the token this tab has (`jwt`, or null); onToken()
 * is called when a new one comes from the framing site.
 */
export class SiteLogin {
  constructor(onToken) {
    this.onToken = onToken;
    const fromAddress = takeFragmentToken();
    const kept = loadSiteToken();
    this.jwt = fromAddress ?? (tokenShaped(kept) ? kept : null);
    if (fromAddress) saveSiteToken(fromAddress);
    else if (this.jwt === null && kept !== null) saveSiteToken(null);
    this.trusted = window.parent !== window ? trustedParents() : [];
    if (this.trusted.length > 0) {
      window.addEventListener('message', (e) => this.onMessage(e));
      // Where the browser says who the parent is, only that origin is told
      // (a message to another origin is dropped, with an error in the console).
      const anc = window.location.ancestorOrigins;
      const parent = anc && anc.length > 0 ? anc[0] : null;
      for (const origin of this.trusted) {
        if (parent === null || parent === origin) window.parent.postMessage({ type: 'wintalk-ready' }, origin);
      }
    }
  }

  onMessage(e) {
    // Only the parent window, and only from an origin trusted by the
    // operator: a message from anyone else is ignored, whatever it holds.
    if (e.source !== window.parent || !this.trusted.includes(e.origin)) return;
    const d = e.data;
    if (!d || typeof d !== 'object' || d.type !== 'wintalk-jwt' || !tokenShaped(d.jwt)) return;
    if (d.jwt === this.jwt) return;
    this.jwt = d.jwt;
    saveSiteToken(d.jwt);
    this.onToken();
  }

  /* Forgets the token (logged out, refused, expired). */
  forget() {
    this.jwt = null;
    saveSiteToken(null);
  }
}
