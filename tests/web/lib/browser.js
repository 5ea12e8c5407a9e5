// browser.js: Debian's headless Chromium driven by playwright-core, and
// helpers to open the WinTalk page as one participant.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const artifactsDir = path.resolve(here, '..', 'artifacts');

// Without the background-networking flags Chromium keeps trying hosts that
// cannot be reached from a test machine. Playwright gives each launch a
// fresh, empty user data dir.
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function launchBrowser(extraFlags = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [...FLAGS, ...extraFlags],
    timeout: 30000,
  });
}

/*
 * Opens the page in a fresh context (its own localStorage), joins with
 * `nick` through the first-visit dialog, and waits until connected.
 * contextOptions go to browser.newContext (timezoneId, locale...);
 * fixedTime (ms) is what the page's clock says all along (its timers run).
 * Returns {context, page, problems, frames, traffic}: problems collects
 * console errors, uncaught page errors and dialogs (alert, confirm,
 * prompt); frames the WebSocket messages the page received, as text;
 * traffic both ways in order, as ['in' or 'out', text].
 */
export async function openParticipant(browser, url, nick, { viewport, contextOptions = {}, fixedTime = null } = {}) {
  const context = await browser.newContext({ viewport: viewport ?? { width: 1280, height: 800 }, ...contextOptions });
  const page = await context.newPage();
  if (fixedTime !== null) await page.clock.setFixedTime(fixedTime);
  const problems = [];
  const frames = [];
  const traffic = [];
  page.on('websocket', (ws) => {
    ws.on('framereceived', (f) => {
      frames.push(String(f.payload));
      traffic.push(['in', String(f.payload)]);
    });
    ws.on('framesent', (f) => traffic.push(['out', String(f.payload)]));
  });
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => {
    problems.push(`dialog ${d.type()}: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  const response = await page.goto(url);
  if (nick) {
    await page.locator('#nick-input').fill(nick);
    await page.locator('#nick-input').press('Enter');
  } else {
    await page.locator('#nick-cancel').click();
  }
  await waitConnected(page);
  return { context, page, problems, frames, traffic, response };
}

/* Waits until the status line says the page is connected. */
export async function waitConnected(page, timeout = 10000) {
  await page.locator('#status', { hasText: /^Connected as / }).waitFor({ timeout });
}

/* The conversation's lines as text, oldest first. */
export function logLines(page) {
  return page.locator('#log > li').allTextContents();
}

/* Types a line into the page's text box like a person and presses Enter. */
export async function sayFromPage(page, text) {
  const input = page.locator('#input');
  await input.pressSequentially(text, { delay: 5 });
  await input.press('Enter');
}

export function ensureArtifactsDir() {
  fs.mkdirSync(artifactsDir, { recursive: true });
  return artifactsDir;
}
