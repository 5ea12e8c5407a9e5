// store.js: the few things the page remembers, in localStorage (the nick)
// and sessionStorage (the access key, forgotten when the tab closes).
// Storage can be missing or refuse writes (private windows, full quota):
// then the page simply does not remember.

const NICK_KEY = 'wintalk.nick';
const ACCESS_KEY = 'wintalk.key';

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
