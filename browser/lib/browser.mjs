// Debian's Chromium driven by playwright-core, and small page helpers.
import { chromium } from 'playwright-core';
import { mkdtemp, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ADMIN_LOGIN } from './server.mjs';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Where screenshots go: ARTIFACTS_DIR, or a fresh temporary directory. */
let artifacts;
export async function artifactsDir() {
  if (!artifacts) {
    if (process.env.ARTIFACTS_DIR) {
      artifacts = path.resolve(process.env.ARTIFACTS_DIR);
      await mkdir(artifacts, { recursive: true });
    } else {
      artifacts = await mkdtemp(path.join(tmpdir(), 'kabinet-browser-artifacts-'));
    }
  }
  return artifacts;
}

export async function screenshot(page, name) {
  const file = path.join(await artifactsDir(), `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Signs in through the login form and waits for the companies list. */
export async function signIn(page, server, password = server.password) {
  await page.goto(server.baseUrl + '/login');
  await page.fill('input[name=login]', ADMIN_LOGIN);
  await page.fill('input[name=password]', password);
  await Promise.all([
    page.waitForNavigation(),
    page.click('button[type=submit]'),
  ]);
}

/**
 * Signs in as anyone through the login form and waits for the next page
 * (the companies list, or the code page when a second factor is on).
 */
export async function signInAs(page, server, login, password) {
  await page.goto(server.baseUrl + '/login');
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', password);
  const [response] = await Promise.all([
    page.waitForNavigation(),
    page.click('button[type=submit]'),
  ]);
  return response;
}

/** Submits the form that holds `button` and waits for the next page. */
export async function submitAndWait(page, button) {
  const [response] = await Promise.all([
    page.waitForNavigation(),
    page.locator(button).click(),
  ]);
  return response;
}

/** Path and query of the page's URL. */
export function pathOf(page) {
  const url = new URL(page.url());
  return url.pathname + url.search;
}
