// People in headless Chromium: a new person gets a one-time link by e-mail
// (read from the outbox) and sets a password with it; a person turns on the
// TOTP second factor and signs in with a code; the people pages fit a phone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import {
  launchBrowser, signIn, signInAs, submitAndWait, screenshot, artifactsDir,
} from '../lib/browser.mjs';
import { totpCode, totpStep } from '../lib/totp.mjs';

// Every login and address made here carries this run's tag, so the tests
// also hold on a PostgreSQL database that earlier runs have left people in.
const TAG = Date.now().toString(36).slice(-5) + Math.random().toString(36).slice(2, 5);
const STEP_TIMEOUT = 10_000;
const NEW_PASSWORD = 'a long passphrase 42';

let server;
let browser;
let admin; // a context signed in as admin, shared by the scenarios
let artifactsUsed = false;

before(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
  admin = await browser.newContext({ locale: 'ru-RU' });
  admin.setDefaultTimeout(STEP_TIMEOUT);
  const page = await admin.newPage();
  await signIn(page, server);
  assert.equal(new URL(page.url()).pathname, '/companies', 'the admin context could not sign in');
  await page.close();
});

after(async () => {
  await browser?.close().catch(() => {});
  await server?.stop();
  if (process.env.ARTIFACTS_DIR || artifactsUsed) {
    console.log(`screenshots: ${await artifactsDir()}`);
  }
});

async function freshContext() {
  const context = await browser.newContext({ locale: 'ru-RU' });
  context.setDefaultTimeout(STEP_TIMEOUT);
  return context;
}

/**
 * Creates a person in the admin's own company through /users/new, starting
 * from the "New person" link of /users. `password` set: the "set a password"
 * choice; absent: the form's default choice (a generated password).
 * Returns { id, login, email }.
 */
async function createPerson(page, { prefix, password }) {
  const login = `${prefix}${TAG}`.slice(0, 20);
  const email = `${login}@example.com`;
  await page.goto(server.baseUrl + '/users');
  await submitAndWait(page, 'a[href="/users/new"]');
  assert.equal(new URL(page.url()).pathname, '/users/new');
  const form = 'form.user-form';
  await page.fill(`${form} [name=login]`, login);
  await page.fill(`${form} [name=last_name]`, 'Браузерова');
  await page.fill(`${form} [name=first_name]`, 'Анна');
  await page.fill(`${form} [name=email]`, email);
  if (password) {
    await page.check(`${form} input[name=password_mode][value=set]`);
    await page.fill(`${form} [name=password]`, password);
  }
  const response = await submitAndWait(page, `${form} button[type=submit].primary`);
  let id;
  if (password) {
    const match = /^\/users\/(\d+)$/.exec(new URL(page.url()).pathname);
    assert.ok(match, `creating ${login} did not land on a card: ${page.url()} (status ${response?.status()})`);
    id = Number(match[1]);
  } else {
    // A generated password is shown once, in the answer to the POST itself
    // (never in a URL), so the address stays /users/new.
    await page.locator('[data-testid=generated-password]').waitFor();
    assert.ok((await page.locator('[data-testid=new-password]').innerText()).trim().length >= 8, 'no generated password shown');
    const edit = await page.locator('a[href^="/users/"][href$="/edit"]').first().getAttribute('href');
    id = Number(/^\/users\/(\d+)\/edit$/.exec(edit)?.[1]);
    assert.ok(id > 0, `no card of ${login} after creating it (status ${response?.status()})`);
  }
  assert.equal((await page.locator('h1').innerText()).includes('Браузерова'), true, 'the card does not name the person');
  return { id, login, email };
}

/** The text of the newest e-mail to `email` on the admin's /outbox page. */
async function outboxMessageTo(page, email) {
  await page.goto(server.baseUrl + '/outbox');
  const row = page.locator('table.list tbody tr', { hasText: email }).first();
  await row.waitFor();
  await row.locator('details summary').click();
  const message = row.locator('details pre.message');
  await message.waitFor({ state: 'visible' });
  return message.innerText();
}

/** Asserts the page is a signed-in page of `server`'s provider company. */
async function assertSignedIn(page, who) {
  assert.notEqual(new URL(page.url()).pathname, '/login', `${who}: still on the login page`);
  assert.equal(await page.locator('form[action="/logout"]').count(), 1, `${who}: no logout button in the header`);
  assert.equal((await page.locator('[data-testid=header-company]').innerText()).trim(), server.providerName);
}

test('one-time link from the outbox: a new person sets a password and signs in', async () => {
  const adminPage = await admin.newPage();
  const anonymous = await freshContext();
  try {
    // The console offers no "no password yet" choice (only "generate" or
    // "set"), so the person gets the link by asking for password recovery.
    const person = await createPerson(adminPage, { prefix: 'link' });
    const forgot = await anonymous.newPage();
    await forgot.goto(server.baseUrl + '/password/forgot');
    await forgot.fill('input[name=login]', person.login);
    await submitAndWait(forgot, 'button[type=submit].primary');
    await forgot.locator('[data-testid=recovery-sent]').waitFor();
    await forgot.close();

    const text = await outboxMessageTo(adminPage, person.email);
    const found = /(https?:\/\/\S+?\/password\/set)#(\S+)/.exec(text);
    assert.ok(found, `no one-time link in the e-mail:\n${text}`);
    const [link, linkBase, secret] = found;
    assert.equal(new URL(linkBase).origin, new URL(server.baseUrl).origin, `the link points elsewhere: ${link}`);

    // The person, not signed in, opens the link in a fresh browser context.
    const page = await anonymous.newPage();
    await page.goto(link);
    const form = page.locator('form[data-token-from-fragment]');
    await form.waitFor();
    assert.equal(await form.locator('input[name=token]').inputValue(), secret, 'the token was not taken from the fragment');
    assert.ok(!page.url().includes('#'), `the fragment is still in the address bar: ${page.url()}`);
    assert.equal(new URL(page.url()).pathname, '/password/set');
    assert.equal(await page.evaluate(() => location.hash), '');

    await form.locator('input[name=new_password]').fill(NEW_PASSWORD);
    await form.locator('input[name=repeat_password]').fill(NEW_PASSWORD);
    const saved = await submitAndWait(page, 'form[data-token-from-fragment] button[type=submit].primary');
    assert.equal(saved.status(), 200);
    await page.locator('[data-testid=password-set]').waitFor();

    // The link works once (a new tab: the same URL with only a new
    // fragment would not load the page again).
    const reuse = await anonymous.newPage();
    await reuse.goto(link);
    await reuse.fill('input[name=new_password]', NEW_PASSWORD + ' again');
    await reuse.fill('input[name=repeat_password]', NEW_PASSWORD + ' again');
    const again = await submitAndWait(reuse, 'form[data-token-from-fragment] button[type=submit].primary');
    assert.equal(again.status(), 409, 'a used link should be refused');
    assert.equal(await reuse.locator('[data-testid=password-set]').count(), 0);
    await reuse.close();

    // And the new password signs the person in.
    // (No rights in this company: /companies answers 403, which is expected.
    // A password set by link is not to be changed again at once.)
    await signInAs(page, server, person.login, NEW_PASSWORD);
    assert.equal(new URL(page.url()).pathname, '/companies', `signed in to ${page.url()}`);
    await assertSignedIn(page, person.login);
  } finally {
    await adminPage.close();
    await anonymous.close();
  }
});

test('TOTP: enrol on /me/security, then sign in with the password and a code', async () => {
  // A person of the admin's company, not the `admin` account itself: a
  // second factor on `admin` would lock out the other test files that sign
  // in as admin against the same PostgreSQL database.
  const password = `totp ${NEW_PASSWORD}`;
  const setup = await admin.newPage();
  const person = await createPerson(setup, { prefix: 'totp', password });
  await setup.close();

  const own = await freshContext();
  try {
    const page = await own.newPage();
    await signInAs(page, server, person.login, password);
    await assertSignedIn(page, person.login);

    await page.goto(server.baseUrl + '/me/security');
    await submitAndWait(page, 'form:has(input[name=action][value=begin]) button[type=submit]');
    await page.locator('[data-testid=totp-qr] svg').waitFor();
    const secret = (await page.locator('[data-testid=totp-secret]').innerText()).trim();
    assert.match(secret, /^[A-Z2-7]{16,}=*$/, `the key is not base32: ${secret}`);

    // Not in the last seconds of a step, so the code is still current when it arrives.
    if (Date.now() % 30_000 > 27_000) await page.waitForTimeout(30_000 - (Date.now() % 30_000) + 200);
    const enrolStep = totpStep();
    await page.fill('form:has(input[name=action][value=confirm]) input[name=code]', totpCode(secret, enrolStep));
    await submitAndWait(page, 'form:has(input[name=action][value=confirm]) button[type=submit]');
    const codes = page.locator('[data-testid=recovery-codes] li');
    await codes.first().waitFor();
    assert.ok(await codes.count() >= 5, `only ${await codes.count()} recovery codes`);
    await page.locator('[data-testid=totp-on]').waitFor();

    await submitAndWait(page, 'form[action="/logout"] button[type=submit]');
    assert.equal(await page.locator('form[action="/logout"]').count(), 0, 'still signed in after signing out');

    // The password alone now leads to the code page.
    await signInAs(page, server, person.login, password);
    const codeForm = page.locator('form[action="/login/code"]');
    await codeForm.waitFor();
    assert.equal(await page.locator('[data-testid=header-company]').count(), 0, 'signed in before the code');

    // The enrolment code is spent: use the next step (or the current one if
    // time has moved past the enrolment step).
    const code = totpCode(secret, Math.max(enrolStep + 1, totpStep()));
    await codeForm.locator('input[name=code]').fill(code);
    await submitAndWait(page, 'form[action="/login/code"] button[type=submit]');
    assert.equal(new URL(page.url()).pathname, '/companies');
    await assertSignedIn(page, person.login);
  } finally {
    await own.close();
  }
});

test('a 360×740 screen: no sideways scrolling on the people list and a card', async () => {
  const setup = await admin.newPage();
  const person = await createPerson(setup, { prefix: 'narrow', password: `narrow ${NEW_PASSWORD}` });
  await setup.close();

  const page = await admin.newPage();
  try {
    await page.setViewportSize({ width: 360, height: 740 });
    for (const [name, pathname] of [['users-360', '/users'], ['user-card-360', `/users/${person.id}`]]) {
      await page.goto(server.baseUrl + pathname);
      await page.locator('h1').waitFor();
      const shot = await screenshot(page, name);
      artifactsUsed = true;
      const m = await page.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        bodyScrollWidth: document.body.scrollWidth,
      }));
      assert.ok(
        m.scrollWidth <= 360 && m.bodyScrollWidth <= 360,
        `${pathname} scrolls sideways at 360 px: documentElement.scrollWidth=${m.scrollWidth}, body.scrollWidth=${m.bodyScrollWidth} (screenshot ${shot})`,
      );
    }
  } finally {
    await page.close();
  }
});
