// jwt.js: a site's tokens for the browser tests (HS256, signed here as a
// site's backend would, with node:crypto), and the secret file the gateway
// takes with --jwt-key.

import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const b64u = (buf) => Buffer.from(buf).toString('base64url');

/* A fresh HS256 secret in a file of its own (mode 600): {dir, file, secret}; remove dir after. */
export function makeSecret() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wintalk-web-jwt-'));
  const secret = crypto.randomBytes(32).toString('hex');
  const file = path.join(dir, 'jwt.key');
  fs.writeFileSync(file, secret + '\n', { mode: 0o600 });
  return { dir, file, secret };
}

/* A token of these claims, signed with secret (exp: five minutes from now unless given). */
export function signToken(secret, claims) {
  const head = b64u(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64u(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + 300, ...claims }));
  const sig = crypto.createHmac('sha256', secret).update(`${head}.${body}`).digest();
  return `${head}.${body}.${b64u(sig)}`;
}
