// The Kabinet console in headless Chromium, as a person uses it: sign in,
// create a company, find it, edit it in two tabs, delete and restore it,
// switch the language, and look at it on a phone-sized screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, ADMIN_LOGIN } from '../lib/server.mjs';
import {
  launchBrowser, signIn, submitAndWait, screenshot, artifactsDir, pathOf,
} from '../lib/browser.mjs';

// Every name made here carries this run's tag, so the tests also hold on a
// PostgreSQL database that earlier runs have left companies in.
const TAG = Date.now().toString(36).slice(-5) + Math.random().toString(36).slice(2, 5);
const WAYS_NAME = `New Ways Company ${TAG}`;
const PHONE_DIGITS = '495' + String(Math.floor(1_000_000 + Math.random() * 8_999_999));
const PHONE_FORMATTED = `+7 (${PHONE_DIGITS.slice(0, 3)}) ${PHONE_DIGITS.slice(3, 6)}-${PHONE_DIGITS.slice(6, 8)}-${PHONE_DIGITS.slice(8)}`;

/** A random 10-digit INN of a legal entity with its check digit right. */
function validInn() {
  const body = Array.from({ length: 9 }, (_, i) => (i === 0 ? 1 + Math.floor(Math.random() * 9) : Math.floor(Math.random() * 10)));
  const weights = [2, 4, 10, 3, 5, 9, 4, 6, 8];
  const check = (body.reduce((sum, d, i) => sum + d * weights[i], 0) % 11) % 10;
  return body.join('') + check;
}
/** The same INN with its check digit wrong. */
function breakInn(inn) {
  return inn.slice(0, 9) + ((Number(inn[9]) + 1) % 10);
}

const STEP_TIMEOUT = 10_000;

let server;
let browser;
let context; // a signed-in context shared by the scenarios after sign-in
let ways; // { id, name } of the company the create scenario made
let artifactsUsed = false;

before(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
  context = await browser.newContext({ locale: 'ru-RU' });
  context.setDefaultTimeout(STEP_TIMEOUT);
  const page = await context.newPage();
  await signIn(page, server);
  assert.equal(new URL(page.url()).pathname, '/companies', 'the shared context could not sign in');
  await page.close();
});

after(async () => {
  await browser?.close().catch(() => {});
  await server?.stop();
  if (process.env.ARTIFACTS_DIR || artifactsUsed) {
    console.log(`screenshots: ${await artifactsDir()}`);
  }
});
/** Creates a company through the form; returns its id and name. */
async function createCompany(page, { name, inns = validInn(), phones = '', region = '', email = '' }) {
  await page.goto(server.baseUrl + '/companies/new');
  await page.fill('form.company-form [name=name]', name);
  await page.fill('form.company-form [name=inns]', inns);
  if (phones) await page.fill('form.company-form [name=phones]', phones);
  if (region) await page.fill('form.company-form [name=region]', region);
  if (email) await page.fill('form.company-form [name=email]', email);
  const response = await submitAndWait(page, 'form.company-form button[type=submit].primary');
  const match = /^\/companies\/(\d+)$/.exec(new URL(page.url()).pathname);
  assert.ok(match, `creating "${name}" did not land on a card: ${page.url()} (status ${response?.status()})`);
  return { id: Number(match[1]), name };
}

async function ensureWays(page) {
  if (!ways) ways = await createCompany(page, { name: WAYS_NAME, phones: PHONE_FORMATTED });
  return ways;
}

async function totalText(page) {
  return (await page.locator('[data-testid=total]').innerText()).trim();
}

/** Names in the companies table shown now. */
async function listedNames(page) {
  return page.locator('#results table.list tbody tr td:nth-child(2) a:not(.row-link)').allInnerTexts();
}

test('sign in: a wrong password is refused, the right one opens the companies', async () => {
  const own = await browser.newContext({ locale: 'ru-RU' });
  own.setDefaultTimeout(STEP_TIMEOUT);
  try {
    const page = await own.newPage();
    await page.goto(server.baseUrl + '/companies');
    assert.equal(new URL(page.url()).pathname, '/login', 'an anonymous visit should go to the login page');

    await page.fill('input[name=login]', ADMIN_LOGIN);
    await page.fill('input[name=password]', server.password + '-wrong');
    await submitAndWait(page, 'button[type=submit]');
    assert.equal(new URL(page.url()).pathname, '/login');
    const error = page.locator('.alert.error');
    await error.waitFor();
    assert.ok((await error.innerText()).trim().length > 0, 'the login error has no text');
    assert.equal(await page.locator('[data-testid=header-company]').count(), 0, 'signed in with a wrong password');

    await page.fill('input[name=login]', ADMIN_LOGIN);
    await page.fill('input[name=password]', server.password);
    await submitAndWait(page, 'button[type=submit]');
    assert.equal(new URL(page.url()).pathname, '/companies');
    assert.equal((await page.locator('[data-testid=header-company]').innerText()).trim(), server.providerName);
    await page.locator('table.list').waitFor();
    assert.equal(await page.locator('.alert.error').count(), 0);
  } finally {
    await own.close();
  }
});

test('create a company: a wrong INN is shown on its field, the fixed one saves', async () => {
  const page = await context.newPage();
  try {
    await page.goto(server.baseUrl + '/companies');
    await submitAndWait(page, 'a[href="/companies/new"]');
    assert.equal(new URL(page.url()).pathname, '/companies/new');

    const inn = validInn();
    await page.fill('form.company-form [name=name]', WAYS_NAME);
    await page.fill('form.company-form [name=inns]', breakInn(inn));
    await page.fill('form.company-form [name=phones]', PHONE_FORMATTED);
    await page.fill('form.company-form [name=region]', 'Москва');
    await page.fill('form.company-form [name=email]', `ways-${TAG}@example.com`);
    const rejected = await submitAndWait(page, 'form.company-form button[type=submit].primary');
    assert.equal(rejected.status(), 422);
    assert.equal(new URL(page.url()).pathname, '/companies/new');
    const innError = page.locator('p.field-error[data-field=inns]');
    await innError.waitFor();
    assert.ok((await innError.innerText()).trim().length > 0, 'the INN error has no text');
    assert.equal(await page.locator('p.field-error').count(), 1, 'only the INN should be in error');
    assert.equal(await page.inputValue('form.company-form [name=name]'), WAYS_NAME, 'the typed name was lost');
    assert.equal(await page.getAttribute('form.company-form [name=inns]', 'aria-invalid'), 'true');

    await page.fill('form.company-form [name=inns]', inn);
    await submitAndWait(page, 'form.company-form button[type=submit].primary');
    const url = new URL(page.url());
    const match = /^\/companies\/(\d+)$/.exec(url.pathname);
    assert.ok(match, `not on a card after saving: ${page.url()}`);
    assert.equal(url.searchParams.get('flash'), 'flash.created');
    assert.equal((await page.locator('h1').innerText()).trim(), WAYS_NAME);
    assert.ok((await page.locator('.flash').innerText()).trim().length > 0, 'no flash message');
    const card = await page.locator('main').innerText();
    assert.ok(card.includes(inn), 'the card does not show the INN');
    ways = { id: Number(match[1]), name: WAYS_NAME };
  } finally {
    await page.close();
  }
});

test('live search finds the company by a word fragment and by bare phone digits', async () => {
  const page = await context.newPage();
  try {
    const company = await ensureWays(page);
    await page.goto(server.baseUrl + '/companies');
    await page.locator('#results table.list').waitFor();
    const before = await totalText(page);
    // A marker that a full page load would wipe: typing must not submit.
    await page.evaluate(() => { window.__noReload = true; });

    const search = page.locator('form[data-live-search] input[name=q]');
    await search.pressSequentially('ways', { delay: 40 });
    await page.waitForFunction(
      ({ name, before }) => {
        const results = document.querySelector('#results');
        const total = document.querySelector('[data-testid=total]');
        return results && total && results.innerText.includes(name) && total.innerText.trim() !== before;
      },
      { name: company.name, before },
    );
    assert.equal(await page.evaluate(() => window.__noReload), true, 'the page reloaded: the search was submitted');
    const names = await listedNames(page);
    assert.ok(names.includes(company.name), `"${company.name}" not among ${JSON.stringify(names)}`);
    assert.ok(names.every((n) => /ways/i.test(n)), `a result does not contain "ways": ${JSON.stringify(names)}`);
    assert.equal(new URL(page.url()).searchParams.get('q'), 'ways', 'the address does not keep the query');

    // Now the phone, typed without any formatting.
    const afterWord = await totalText(page);
    await search.fill('');
    await search.pressSequentially(PHONE_DIGITS, { delay: 20 });
    await page.waitForFunction(
      (digits) => new URL(location.href).searchParams.get('q') === digits,
      PHONE_DIGITS,
    );
    await page.waitForFunction((name) => document.querySelector('#results').innerText.includes(name), company.name);
    assert.equal(await page.evaluate(() => window.__noReload), true, 'the page reloaded: the search was submitted');
    const byPhone = await listedNames(page);
    assert.deepEqual(byPhone, [company.name], `the phone search found ${JSON.stringify(byPhone)}`);
    assert.match(await totalText(page), /\b1\b/, 'the total should count one company');
    assert.ok(afterWord.length > 0);

    // A search that finds nothing says so.
    await search.fill('');
    await search.pressSequentially(`zzqx${TAG}`, { delay: 20 });
    await page.locator('#results .empty').waitFor();
    assert.equal(await page.locator('#results table.list').count(), 0);
  } finally {
    await page.close();
  }
});

test('edit in two tabs: the later save sees what the first one saved', async () => {
  const setup = await context.newPage();
  const original = `Two Tabs Co ${TAG}`;
  const company = await createCompany(setup, { name: original, region: 'Москва' });
  await setup.close();

  const tabA = await context.newPage();
  const tabB = await context.newPage();
  try {
    const editUrl = `${server.baseUrl}/companies/${company.id}/edit`;
    await Promise.all([tabA.goto(editUrl), tabB.goto(editUrl)]);
    for (const tab of [tabA, tabB]) {
      assert.equal(await tab.inputValue('form.company-form [name=name]'), original);
    }
    const versionSeen = await tabB.inputValue('form.company-form [name=version]');

    // Tab A renames and saves.
    const nameA = `${original} renamed in A`;
    await tabA.fill('form.company-form [name=name]', nameA);
    await submitAndWait(tabA, 'form.company-form button[type=submit].primary');
    assert.equal(new URL(tabA.url()).pathname, `/companies/${company.id}`);
    assert.equal(new URL(tabA.url()).searchParams.get('flash'), 'flash.saved');
    assert.equal((await tabA.locator('h1').innerText()).trim(), nameA);

    // Tab B, still on the old version, changes the region and saves.
    const regionB = `Region B ${TAG}`;
    await tabB.fill('form.company-form [name=region]', regionB);
    const stale = await submitAndWait(tabB, 'form.company-form button[type=submit].primary');
    assert.equal(stale.status(), 409, 'a save over a newer version should answer 409');
    const warning = tabB.locator('[data-testid=stale]');
    await warning.waitFor();
    assert.ok((await warning.innerText()).includes(nameA), `the stale warning does not show A's name: ${await warning.innerText()}`);
    assert.equal(await tabB.inputValue('form.company-form [name=region]'), regionB, "B's input was lost");
    assert.notEqual(await tabB.inputValue('form.company-form [name=version]'), versionSeen, 'the form still holds the old version');

    // Saving again, knowingly, goes through.
    const nameB = await tabB.inputValue('form.company-form [name=name]');
    await submitAndWait(tabB, 'form.company-form button[type=submit].primary');
    assert.equal(new URL(tabB.url()).pathname, `/companies/${company.id}`);
    assert.equal(new URL(tabB.url()).searchParams.get('flash'), 'flash.saved');
    assert.equal(await tabB.locator('[data-testid=stale]').count(), 0);
    assert.equal((await tabB.locator('h1').innerText()).trim(), nameB);
    assert.ok((await tabB.locator('main').innerText()).includes(regionB), "the card does not show B's region");
  } finally {
    await tabA.close();
    await tabB.close();
  }
});

test('delete through the confirmation page, find it among the deleted, restore it', async () => {
  const page = await context.newPage();
  try {
    const name = `Deleted Co ${TAG}`;
    const company = await createCompany(page, { name });
    const cardPath = `/companies/${company.id}`;
    const listUrl = `${server.baseUrl}/companies?q=${encodeURIComponent(TAG)}`;

    await page.goto(listUrl);
    assert.ok((await listedNames(page)).includes(name), 'the new company is not listed');

    // Delete from the card, through the confirmation page.
    await page.goto(server.baseUrl + cardPath);
    await submitAndWait(page, `a[href="${cardPath}/delete"]`);
    assert.equal(new URL(page.url()).pathname, `${cardPath}/delete`);
    assert.ok((await page.locator('main').innerText()).includes(name), 'the confirmation does not name the company');
    await submitAndWait(page, 'main form button[type=submit]');
    assert.equal(new URL(page.url()).pathname, cardPath);
    await page.locator('h1 .badge.danger').waitFor();
    assert.equal(await page.locator(`a[href="${cardPath}/edit"]`).count(), 0, 'a deleted company still offers editing');

    // Gone from the usual list…
    await page.goto(listUrl);
    await page.locator('[data-testid=total]').waitFor();
    assert.ok(!(await listedNames(page)).includes(name), 'the deleted company is still listed');

    // …but shown when deleted ones are asked for (the select refreshes live).
    await page.selectOption('form[data-live-search] select[name=deleted]', 'show');
    await page.waitForFunction((n) => document.querySelector('#results').innerText.includes(n), name);
    const row = page.locator('#results table.list tbody tr', { hasText: name });
    assert.equal(await row.getAttribute('class'), 'deleted');
    await row.locator('.badge.danger').waitFor();
    await page.selectOption('form[data-live-search] select[name=deleted]', 'only');
    await page.waitForFunction(() => new URL(location.href).searchParams.get('deleted') === 'only');
    assert.deepEqual(await listedNames(page), [name]);

    // Restore through its confirmation page.
    await submitAndWait(page, `#results a[href="${cardPath}"]`);
    await submitAndWait(page, `a[href="${cardPath}/restore"]`);
    assert.equal(new URL(page.url()).pathname, `${cardPath}/restore`);
    await submitAndWait(page, 'main form button[type=submit]');
    assert.equal(new URL(page.url()).pathname, cardPath);
    assert.equal(await page.locator('.badge.danger').count(), 0, 'the restored company still has the deleted badge');
    assert.equal(await page.locator(`a[href="${cardPath}/restore"]`).count(), 0);
    await page.locator(`a[href="${cardPath}/edit"]`).waitFor();

    await page.goto(listUrl);
    assert.ok((await listedNames(page)).includes(name), 'the restored company is not back in the list');
  } finally {
    await page.close();
  }
});

test('switch the language to English and keep it across a reload', async () => {
  const own = await browser.newContext({ locale: 'ru-RU' });
  own.setDefaultTimeout(STEP_TIMEOUT);
  try {
    const page = await own.newPage();
    await signIn(page, server);
    assert.equal(await page.getAttribute('html', 'lang'), 'ru');
    assert.equal((await page.locator('h1').innerText()).trim(), 'Компании');
    const lang = page.locator('a.lang');
    assert.equal((await lang.innerText()).trim(), 'English');

    await submitAndWait(page, 'a.lang');
    assert.equal(new URL(page.url()).pathname, '/companies', 'the switch should come back to the same page');
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal((await page.locator('h1').innerText()).trim(), 'Companies');
    assert.equal((await page.locator('a.lang').innerText()).trim(), 'Русский');

    await page.reload();
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal((await page.locator('h1').innerText()).trim(), 'Companies');

    // The language also holds on another page of the same session.
    await page.goto(server.baseUrl + '/companies/new');
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal((await page.locator('h1').innerText()).trim(), 'New company');
  } finally {
    await own.close();
  }
});

test('a 360×740 screen: no sideways scrolling on the list and the card', async () => {
  const setup = await context.newPage();
  const company = await ensureWays(setup);
  await setup.close();

  const page = await context.newPage();
  try {
    await page.setViewportSize({ width: 360, height: 740 });
    const overflow = () => page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      bodyScrollWidth: document.body.scrollWidth,
      clientWidth: document.documentElement.clientWidth,
    }));

    for (const [name, pathname] of [['companies-360', '/companies'], ['card-360', `/companies/${company.id}`]]) {
      await page.goto(server.baseUrl + pathname);
      await page.locator('h1').waitFor();
      const shot = await screenshot(page, name);
      artifactsUsed = true;
      const m = await overflow();
      assert.ok(
        m.scrollWidth <= 360 && m.bodyScrollWidth <= 360,
        `${pathname} scrolls sideways at 360 px: documentElement.scrollWidth=${m.scrollWidth}, body.scrollWidth=${m.bodyScrollWidth} (screenshot ${shot})`,
      );
    }
  } finally {
    await page.close();
  }
});
