// Rights in headless Chromium (issue 5): a department with only
// "companies: view" and a person in it — edit buttons absent, direct URLs
// refused; an extra right applies at once; an operator enters a client's
// cabinet, acts under the banner, the audit log shows it, and returns.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { launchBrowser, signIn, signInAs, submitAndWait, screenshot, artifactsDir } from '../lib/browser.mjs';

const TAG = Date.now().toString(36).slice(-5) + Math.random().toString(36).slice(2, 5);
const STEP_TIMEOUT = 10_000;
const PASSWORD = 'a long passphrase for rights';

function validInn() {
  const body = Array.from({ length: 9 }, (_, i) => (i === 0 ? 1 + Math.floor(Math.random() * 9) : Math.floor(Math.random() * 10)));
  const weights = [2, 4, 10, 3, 5, 9, 4, 6, 8];
  const check = (body.reduce((sum, d, i) => sum + d * weights[i], 0) % 11) % 10;
  return body.join('') + check;
}

let server;
let browser;
let admin;

before(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
  admin = await browser.newContext({ locale: 'ru-RU' });
  admin.setDefaultTimeout(STEP_TIMEOUT);
  const page = await admin.newPage();
  await signIn(page, server);
  await page.close();
});

after(async () => {
  await browser?.close().catch(() => {});
  await server?.stop();
  if (process.env.ARTIFACTS_DIR) console.log(`screenshots: ${await artifactsDir()}`);
});

async function createCompany(page, name, { inn = validInn(), number = '', group = false } = {}) {
  await page.goto(server.baseUrl + '/companies/new');
  await page.fill('form.company-form [name=name]', name);
  await page.fill('form.company-form [name=inns]', inn);
  if (number) await page.fill('form.company-form [name=multichannel_number]', number);
  if (group) await page.check('form.company-form [name=is_group_company]');
  await submitAndWait(page, 'form.company-form button[type=submit].primary');
  const match = /^\/companies\/(\d+)$/.exec(new URL(page.url()).pathname);
  assert.ok(match, `creating ${name} did not land on its card: ${page.url()}`);
  return Number(match[1]);
}

test('a view-only department: no edit buttons, refused URLs, an extra right applies at once', async () => {
  const page = await admin.newPage();
  const member = await browser.newContext({ locale: 'ru-RU' });
  member.setDefaultTimeout(STEP_TIMEOUT);
  try {
    const companyId = await createCompany(page, `Видимая ${TAG}`);
    // A person of the provider, with a password.
    const login = `view${TAG}`.slice(0, 20);
    await page.goto(server.baseUrl + '/users/new');
    await page.fill('form.user-form [name=login]', login);
    await page.fill('form.user-form [name=last_name]', 'Наблюдатель');
    await page.fill('form.user-form [name=first_name]', 'Иван');
    await page.check('form.user-form input[name=password_mode][value=set]');
    await page.fill('form.user-form [name=password]', PASSWORD);
    await submitAndWait(page, 'form.user-form button[type=submit].primary');
    const personId = Number(/^\/users\/(\d+)$/.exec(new URL(page.url()).pathname)?.[1]);
    assert.ok(personId > 0, `no card of ${login}: ${page.url()}`);

    // A department with "companies" on and only "view" inside it.
    await page.goto(server.baseUrl + '/departments');
    await submitAndWait(page, 'a[href="/departments/new"]');
    await page.fill('form.department-form [name=name_ru]', `Просмотр ${TAG}`);
    await page.fill('form.department-form [name=name_en]', `Viewers ${TAG}`);
    await submitAndWait(page, 'form.department-form button[type=submit].primary');
    assert.match(new URL(page.url()).pathname, /^\/departments\/\d+$/);
    await page.check('[data-testid=rights-grid] input[name=section][value=companies]');
    await page.check('[data-testid=rights-grid] input[name=function][value="companies.view"]');
    await submitAndWait(page, '[data-testid=rights-grid] button[type=submit]');
    assert.equal(await page.isChecked('[data-testid=rights-grid] input[name=function][value="companies.view"]'), true);
    await page.fill('[data-testid=add-member] input[name=login]', login);
    await submitAndWait(page, '[data-testid=add-member] button[type=submit]');
    assert.match(await page.locator('[data-testid=members]').innerText(), /Наблюдатель/);

    // The member sees companies, without buttons that would change them.
    const view = await member.newPage();
    await signInAs(view, server, login, PASSWORD);
    await view.goto(server.baseUrl + `/companies/${companyId}`);
    assert.equal(await view.locator(`a[href="/companies/${companyId}/edit"]`).count(), 0, 'no edit button');
    assert.equal(await view.locator('a[href="/departments"]').count(), 0, 'no departments in the menu');
    const refused = await view.goto(server.baseUrl + `/companies/${companyId}/edit`);
    assert.equal(refused.status(), 403, 'the edit page by its URL is refused');
    const people = await view.goto(server.baseUrl + '/users');
    assert.equal(people.status(), 403);

    // An extra right, granted on the person's rights page, applies at once.
    await page.goto(server.baseUrl + `/users/${personId}/rights`);
    assert.match(await page.locator('tr[data-right="companies.view"]').innerText(), new RegExp(`Просмотр ${TAG}`), 'the source is named');
    await page.check('input[name=extra][value="users.view"]');
    await submitAndWait(page, '[data-testid=user-rights] button[type=submit]');
    const now = await view.goto(server.baseUrl + '/users');
    assert.equal(now.status(), 200, 'the very next request has the right');
    await screenshot(view, 'rights-extra-right-applied');
  } finally {
    await page.close();
    await member.close();
  }
});

test('entering a client: reason, banner, an action on the client\'s behalf, the audit entry, and back', async () => {
  const page = await admin.newPage();
  try {
    const name = `Клиент для входа ${TAG}`;
    const companyId = await createCompany(page, name);
    await submitAndWait(page, '[data-testid=enter]');
    await page.fill('[data-testid=enter-form] textarea[name=reason]', 'проверка настроек по заявке');
    await submitAndWait(page, '[data-testid=enter-form] button[type=submit].primary');
    const banner = page.locator('[data-testid=acting-banner]');
    await banner.waitFor();
    assert.match(await banner.innerText(), new RegExp(name));
    // Inside, the list holds the client alone.
    await page.goto(server.baseUrl + '/companies');
    const rows = await page.locator('#results table.list tbody tr').count();
    assert.equal(rows, 1, 'only the client inside its cabinet');
    // Act: change its tariff through the form.
    await page.goto(server.baseUrl + `/companies/${companyId}/edit`);
    await page.fill('form.company-form [name=tariff]', 'Бизнес');
    await submitAndWait(page, 'form.company-form button[type=submit].primary');
    assert.match(await page.locator('body').innerText(), /Бизнес/);
    await screenshot(page, 'rights-inside-a-client');
    // Back to the list.
    await submitAndWait(page, '[data-testid=leave]');
    assert.equal(await page.locator('[data-testid=acting-banner]').count(), 0);
    // The audit log shows the entering with its reason and the change on the client's behalf.
    await page.goto(server.baseUrl + `/audit?entity_type=company&entity_id=${companyId}`);
    const log = await page.locator('main').innerText();
    assert.match(log, /company\.enter/);
    assert.match(log, /проверка настроек по заявке/);
    assert.match(log, /company\.update/);
    assert.match(log, new RegExp(name), 'the change is recorded on the client\'s behalf');
  } finally {
    await page.close();
  }
});

test('a group admin links a client whose INN matches and is refused one whose INN does not', async () => {
  const page = await admin.newPage();
  const groupContext = await browser.newContext({ locale: 'ru-RU' });
  groupContext.setDefaultTimeout(STEP_TIMEOUT);
  try {
    const inn = validInn();
    let otherInn = validInn();
    while (otherInn === inn) otherInn = validInn();
    const suffix = String(Date.now()).slice(-7);
    const matching = `+7495${suffix}`;
    const foreign = `+7812${suffix}`;
    const groupId = await createCompany(page, `Группа ${TAG}`, { inn, group: true });
    await createCompany(page, `Свой клиент ${TAG}`, { inn, number: matching });
    await createCompany(page, `Чужой клиент ${TAG}`, { inn: otherInn, number: foreign });

    // The group admin: a person of the group company with a mobile phone.
    const login = `grpadm${TAG}`.slice(0, 20);
    await page.goto(server.baseUrl + `/users/new?company_id=${groupId}`);
    await page.fill('form.user-form [name=login]', login);
    await page.fill('form.user-form [name=last_name]', 'Группова');
    await page.fill('form.user-form [name=first_name]', 'Гала');
    await page.fill('form.user-form [name=mobile_phone]', '+79161112233');
    await page.selectOption('form.user-form select[name=kind]', 'group_admin');
    await page.check('form.user-form input[name=password_mode][value=set]');
    await page.fill('form.user-form [name=password]', PASSWORD);
    await submitAndWait(page, 'form.user-form button[type=submit].primary');
    const personId = Number(/^\/users\/(\d+)$/.exec(new URL(page.url()).pathname)?.[1]);
    assert.ok(personId > 0, `no card of ${login}: ${page.url()}`);
    await page.goto(server.baseUrl + `/users/${personId}/rights`);
    await page.check('input[name=extra][value="companies.view"]');
    await page.check('input[name=extra][value="companies.link"]');
    await submitAndWait(page, '[data-testid=user-rights] button[type=submit]');

    // Sign-in: the password, then the SMS code (read from the outbox, as no
    // gateway is configured here); the group admin lands on /group.
    const group = await groupContext.newPage();
    await signInAs(group, server, login, PASSWORD);
    await group.locator('form[action="/login/code"]').waitFor();
    await page.goto(server.baseUrl + '/outbox?topic=sms');
    const row = page.locator('table.list tbody tr', { hasText: '+79161112233' }).first();
    await row.locator('details summary').click();
    const sms = await row.locator('details pre.message').innerText();
    const code = /код входа (\d{6})/i.exec(sms)?.[1];
    assert.ok(code, `no code in the outbox: ${sms}`);
    await group.fill('form[action="/login/code"] input[name=code]', code);
    await submitAndWait(group, 'form[action="/login/code"] button[type=submit].primary');
    await group.goto(server.baseUrl + '/companies');
    assert.equal(new URL(group.url()).pathname, '/group', 'a group admin lands on the linked clients');

    // A mismatched INN: refused with the reason, nothing linked.
    await group.fill('[data-testid=link-form] input[name=multichannel_number]', foreign);
    await submitAndWait(group, '[data-testid=link-form] button[type=submit]');
    await group.locator('[data-testid=link-error]').waitFor();
    assert.match(await group.locator('[data-testid=link-error]').innerText(), /ИНН/);
    assert.doesNotMatch(await group.locator('main').innerText(), /Чужой клиент/);
    // A matching INN: linked and listed.
    await group.fill('[data-testid=link-form] input[name=multichannel_number]', matching);
    await submitAndWait(group, '[data-testid=link-form] button[type=submit]');
    await group.waitForFunction((name) => document.querySelector('main').innerText.includes(name), `Свой клиент ${TAG}`);
    await screenshot(group, 'rights-group-admin-linked');
  } finally {
    await page.close();
    await groupContext.close();
  }
});
