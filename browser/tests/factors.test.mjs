// The whole life of a person's sign-in factors in headless Chromium, with
// real peers: the admin creates a group admin → the invitation arrives at the
// SMTP server → the person sets a password by its link → signs in with the
// SMS code the gateway received → registers a passkey with Chromium's
// virtual authenticator and signs in with it → trusts the device with a PIN
// and signs in with it → five wrong PINs end the device's trust.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { startSmtpSink, startSmsGateway } from '../lib/peers.mjs';
import { launchBrowser, submitAndWait, screenshot, artifactsDir } from '../lib/browser.mjs';

const TAG = Date.now().toString(36).slice(-5) + Math.random().toString(36).slice(2, 5);
const STEP_TIMEOUT = 15_000;
const PASSWORD = 'a long passphrase for factors';
const PHONE = '+79161234567';

let server;
let browser;
let smtp;
let gateway;
let base; // the console at http://localhost:PORT: WebAuthn takes no IP address

before(async () => {
  [smtp, gateway] = await Promise.all([startSmtpSink(), startSmsGateway()]);
  server = await startServer({
    extraArgs: [
      '--smtp-host', '127.0.0.1', '--smtp-port', String(smtp.port), '--smtp-security', 'none',
      '--sms-gateway-url', gateway.url,
      '--sms-gateway-body', '{"phone":"{to}","message":"{text}"}',
    ],
  });
  base = server.baseUrl.replace('127.0.0.1', 'localhost');
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close().catch(() => {});
  await server?.stop();
  smtp?.stop();
  await gateway?.stop();
  if (process.env.ARTIFACTS_DIR) console.log(`screenshots: ${await artifactsDir()}`);
});

async function signedIn(page, who) {
  assert.equal(await page.locator('form[action="/logout"]').count(), 1, `${who}: not signed in at ${page.url()}`);
}

async function signOut(page) {
  await submitAndWait(page, 'form[action="/logout"] button');
  assert.equal(new URL(page.url()).pathname, '/login');
}

test('invitation by SMTP → password by link → SMS code → passkey → PIN', async () => {
  const adminContext = await browser.newContext({ locale: 'ru-RU' });
  const context = await browser.newContext({ locale: 'ru-RU' });
  adminContext.setDefaultTimeout(STEP_TIMEOUT);
  context.setDefaultTimeout(STEP_TIMEOUT);
  const page = await context.newPage();
  try {
    // The admin creates a group admin with an e-mail and a mobile phone.
    const adminPage = await adminContext.newPage();
    await adminPage.goto(base + '/login');
    await adminPage.fill('input[name=login]', 'admin');
    await adminPage.fill('input[name=password]', server.password);
    await submitAndWait(adminPage, 'form[action="/login"] button[type=submit].primary');
    await signedIn(adminPage, 'admin');
    const login = `grp${TAG}`.slice(0, 20);
    const email = `${login}@example.com`;
    await adminPage.goto(base + '/users/new');
    const form = 'form.user-form';
    await adminPage.fill(`${form} [name=login]`, login);
    await adminPage.fill(`${form} [name=last_name]`, 'Групповая');
    await adminPage.fill(`${form} [name=first_name]`, 'Галина');
    await adminPage.fill(`${form} [name=email]`, email);
    await adminPage.fill(`${form} [name=mobile_phone]`, PHONE);
    await adminPage.selectOption(`${form} select[name=kind]`, 'group_admin');
    await adminPage.check(`${form} input[name=password_mode][value=invite]`);
    await submitAndWait(adminPage, `${form} button[type=submit].primary`);
    assert.match(new URL(adminPage.url()).pathname, /^\/users\/\d+$/, `no card after creating ${login}`);
    await adminPage.close();

    // The invitation arrives at the SMTP server; its link sets the password.
    const mail = await smtp.waitFor((m) => m.rcpt_tos.includes(email), `the invitation to ${email}`);
    const link = /(https?:\/\/\S+?\/password\/set#\S+)/.exec(mail.text)?.[1];
    assert.ok(link, `no link in the e-mail:\n${mail.text}`);
    await page.goto(link.replace('127.0.0.1', 'localhost'));
    await page.fill('form[data-token-from-fragment] input[name=new_password]', PASSWORD);
    await page.fill('form[data-token-from-fragment] input[name=repeat_password]', PASSWORD);
    await submitAndWait(page, 'form[data-token-from-fragment] button[type=submit].primary');
    await page.locator('[data-testid=password-set]').waitFor();

    // Signing in asks for the SMS code; the gateway received it.
    await page.goto(base + '/login');
    await page.fill('input[name=login]', login);
    await page.fill('input[name=password]', PASSWORD);
    await submitAndWait(page, 'form[action="/login"] button[type=submit].primary');
    assert.equal(new URL(page.url()).pathname, '/login');
    assert.equal(await page.locator('.phone-hint').innerText(), '+7 *** ***-45-67');
    const sms = await gateway.waitFor((c) => c.body.phone === PHONE, 'the SMS code');
    const code = /\d{6}/.exec(sms.body.message)?.[0];
    assert.ok(code, `no code in ${sms.body.message}`);
    await page.fill('form[action="/login/code"] input[name=code]', code);
    await submitAndWait(page, 'form[action="/login/code"] button[type=submit].primary');
    await signedIn(page, 'after the SMS code');

    // A passkey, made by Chromium's virtual authenticator.
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
        hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
      },
    });
    await page.goto(base + '/me/security');
    await page.fill('form[data-passkey-register] input[name=name]', 'Chromium');
    await page.fill('form[data-passkey-register] input[name=password]', PASSWORD);
    await Promise.all([
      page.waitForURL(/\/me\/security\?flash=passkey\.added/),
      page.click('form[data-passkey-register] button[type=submit]'),
    ]);
    assert.match(await page.locator('[data-testid=passkeys]').innerText(), /Chromium/);
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1, 'the authenticator holds the new passkey');
    assert.equal(credentials[0].rpId, 'localhost');
    assert.equal(credentials[0].isResidentCredential, true);

    // Sign out, then in with the passkey alone.
    await signOut(page);
    await Promise.all([
      page.waitForURL((url) => url.pathname !== '/login'),
      page.click('[data-passkey-sign-in]'),
    ]);
    await page.waitForLoadState();
    await signedIn(page, 'after the passkey');

    // Trust this device with a PIN, then sign in with the PIN.
    await page.goto(base + '/me/security');
    await page.fill('[data-testid=trust-device] input[name=name]', 'Браузер');
    await page.fill('[data-testid=trust-device] input[name=pin]', '2468');
    await submitAndWait(page, '[data-testid=trust-device] button[type=submit]');
    assert.match(await page.locator('[data-testid=devices]').innerText(), /Браузер/);
    await signOut(page);
    await page.locator('[data-testid=pin-form]').waitFor();
    assert.match(await page.locator('[data-testid=pin-form]').innerText(), new RegExp(login));
    await page.fill('[data-testid=pin-form] input[name=pin]', '2468');
    await submitAndWait(page, '[data-testid=pin-form] button[type=submit]');
    await signedIn(page, 'after the PIN');

    // Five wrong PINs: the device must sign in fully again.
    await signOut(page);
    for (let i = 0; i < 5; i++) {
      await page.fill('[data-testid=pin-form] input[name=pin]', '0000');
      await submitAndWait(page, '[data-testid=pin-form] button[type=submit]');
    }
    assert.equal(await page.locator('[data-testid=pin-form]').count(), 0, 'the PIN form is gone');
    assert.equal(await page.locator('form[action="/login"] input[name=login]').count(), 1);
    await screenshot(page, 'factors-after-five-wrong-pins');
  } catch (error) {
    await screenshot(page, 'factors-failure').catch(() => {});
    throw error;
  } finally {
    await context.close();
    await adminContext.close();
  }
});
