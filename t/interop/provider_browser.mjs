// A real browser (Debian's Chromium, driven by playwright-core) through
// single sign-on and logout in front of an unmodified provider, for
// t/provider_e2e.t and t/provider_receiver.t.
//
//   PORT=1988 ISSUER=http://127.0.0.1:1984 PROVIDER=http://127.0.0.1:1985 \
//   APP_A=http://127.0.0.1:1986 APP_B=http://127.0.0.1:1987 \
//   PROVIDER_COOKIES="_session _session.sig" MODULE_KIDS=module-1 \
//   SCREENSHOTS=dir node provider_browser.mjs
//
// ISSUER is nginx, the provider's public origin; PROVIDER the provider's
// own origin (its port, where nginx is not in the way); APP_A the relying
// party on express-openid-connect (t/interop/express-rp), APP_B the one on
// Apache with mod_auth_openidc. An HTTP server on 127.0.0.1:PORT: GET
// /SCENARIO plays it in the browser and answers, in plain text, one line
// for each thing it saw; the test compares that with what must be seen.
// What each application says of its own session is asked of the
// application itself, with the browser's cookies: A's /session (signed in,
// as whom, the kid of its ID token), B's /protected/index.html (200 with a
// session, a redirect to the provider without); what the module says of
// it, of nginx's ISSUER/module-session (t/provider_receiver.t: a location
// with oidc_logout_require_session, 200 with a live session, 401 without).
// One scenario at a time; the browser (its cookies) lives from one request
// to the next, so that a scenario can go on where the last one stopped
// (sign-in-again). A screenshot of where each scenario ends goes to
// SCREENSHOTS/SCENARIO.png.
//
// nginx fetches the provider's keys when it starts, and only with them can
// it read the ID tokens of a sign-in: a sign-in waits until nginx's
// jwks_uri serves one key that is not the module's own (MODULE_KIDS).
import http from 'node:http';
import { chromium } from 'playwright-core';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const port = Number(env('PORT'));
const issuer = env('ISSUER');
const provider = env('PROVIDER');
const appA = env('APP_A');
const appB = env('APP_B');
const providerCookies = new Set(env('PROVIDER_COOKIES').split(/\s+/));
const moduleKids = new Set(env('MODULE_KIDS').split(/\s+/));
const screenshots = env('SCREENSHOTS');
const user = { login: 'alice', password: 'wonderland' };
// how long a step may take before the browser is said to be stuck
const STEP_MS = 15000;
// how often a condition is looked at again
const POLL_MS = 50;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
let context = null;
let page = null;
let savedCookies = [];

async function freshBrowser() {
  if (context) await context.close();
  context = await browser.newContext();
  page = await context.newPage();
}

const origin = (url) => new URL(url).origin;
const pathOf = (url) => new URL(url).pathname;

async function sessionAtA() {
  const res = await context.request.get(`${appA}/session`, { maxRedirects: 0 });
  if (res.status() !== 200) return `answered ${res.status()}`;
  const s = await res.json();
  return s.authenticated ? `signed in as ${s.sub} (ID token key ${s.kid})` : 'anonymous';
}

async function sessionAtB() {
  const res = await context.request.get(`${appB}/protected/index.html`, { maxRedirects: 0 });
  const location = res.headers().location ?? '';
  if (res.status() === 200) return 'signed in';
  if (res.status() === 302 && location.startsWith(`${issuer}/auth?`)) {
    return 'signed out (sent to the provider)';
  }
  return `answered ${res.status()} ${location}`;
}

// The kids of the keys nginx serves at the provider's jwks_uri, sorted.
async function keysAtNginx() {
  const res = await context.request.get(`${issuer}/jwks`);
  if (res.status() !== 200) return [`answered ${res.status()}`];
  return (await res.json()).keys.map((k) => k.kid).sort();
}

// What the module says of the browser's session.
async function sessionAtModule() {
  const res = await context.request.get(`${issuer}/module-session`, { maxRedirects: 0 });
  if (res.status() === 200) return 'live session';
  if (res.status() === 401) return 'no session (401)';
  return `answered ${res.status()}`;
}

// Asks ask() again, every POLL_MS, until done(answer) or STEP_MS have
// passed; the last answer.
async function pollAnswer(ask, done) {
  const deadline = Date.now() + STEP_MS;
  for (;;) {
    const answer = await ask();
    if (done(answer) || Date.now() > deadline) return answer;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

// Waits until nginx serves a key of the provider; false after STEP_MS.
const hasProviderKey = (kids) => kids.some((kid) => !moduleKids.has(kid));
async function providerKeysAtNginx() {
  return hasProviderKey(await pollAnswer(keysAtNginx, hasProviderKey));
}

// Waits until the page is at a URL of which done(url) is true, or shows a
// form that posts (the module's confirmation page); says which.
async function arriveOrConfirm(done) {
  const arrived = page.waitForURL((u) => done(u.href), { timeout: STEP_MS })
    .then(() => 'arrived');
  const form = page.locator('form[method=post]').waitFor({ timeout: STEP_MS })
    .then(() => 'form');
  const first = await Promise.race([arrived, form]).catch(() => 'stuck');
  arrived.catch(() => {});
  form.catch(() => {});
  return first;
}

async function stuck(what) {
  const heading = await page.locator('h1').first().textContent({ timeout: 1000 })
    .catch(() => '');
  const url = new URL(page.url());
  return `${what}: stuck on ${url.origin}${url.pathname} (${(heading ?? '').trim()})`;
}

// Waits until nginx serves the key kid; false after STEP_MS.
async function keyAtNginx(kid) {
  const has = (kids) => kids.includes(kid);
  return has(await pollAnswer(keysAtNginx, has));
}

// The key a scenario's sign-in at A waits for (?await=KID): right after the
// provider rotated its keys, A's callback reaches A only once nginx serves
// the new key (its periodic refresh), since A then fetches the jwks_uri
// from nginx and would keep the old keys for a minute; nginx saw the
// authorization response of that sign-in before it had the key.
let awaitedKid = null;

// The browser goes to A's /login: the provider asks for the password (it
// is given), or sends the browser straight back.
async function signInAtA(seen) {
  if (!await providerKeysAtNginx()) {
    seen.push(`nginx serves no key of the provider: ${(await keysAtNginx()).join(' ')}`);
  }
  if (awaitedKid !== null) {
    const kid = awaitedKid;
    await page.route((u) => origin(u.href) === appA && pathOf(u.href) === '/callback',
      async (route) => {
        if (!await keyAtNginx(kid)) seen.push(`nginx never served ${kid}`);
        await route.continue();
      });
  }
  await page.goto(`${appA}/login`);
  const home = (url) => origin(url) === appA && pathOf(url) === '/';
  const passwordAsked = () => page.locator('input[name=password]').waitFor({ timeout: STEP_MS })
    .then(() => 'password');
  const back = page.waitForURL((u) => home(u.href), { timeout: STEP_MS }).then(() => 'back');
  const first = await Promise.race([passwordAsked(), back]).catch(() => 'stuck');
  back.catch(() => {});
  if (first === 'password') {
    seen.push('sign-in at A: the provider asks for the password');
    await page.fill('input[name=login]', user.login);
    await page.fill('input[name=password]', user.password);
    const [signedIn] = await Promise.all([
      page.waitForURL((u) => home(u.href), { timeout: STEP_MS }).then(() => true, () => false),
      page.click('button[type=submit]')]);
    if (!signedIn) seen.push(await stuck('password given'));
  } else if (first === 'back') {
    seen.push('sign-in at A: no password asked');
  } else {
    seen.push(await stuck('sign-in at A'));
  }
  seen.push(`A: ${await sessionAtA()}`);
}

// The browser goes to B's protected page: single sign-on brings it back
// there without a password.
async function signInAtB(seen) {
  await page.goto(`${appB}/protected/index.html`);
  const there = (url) => origin(url) === appB && pathOf(url) === '/protected/index.html';
  if (there(page.url())) {
    seen.push('sign-in at B: single sign-on, no password asked');
  } else if (await page.locator('input[name=password]').count()) {
    seen.push('sign-in at B: the provider asks for the password');
  } else {
    seen.push(await stuck('sign-in at B'));
  }
  seen.push(`B: ${await sessionAtB()}`);
}

async function providerCookieNames() {
  return (await context.cookies(issuer)).filter((c) => providerCookies.has(c.name))
    .map((c) => c.name).sort().join(' ');
}

// A's /logout: A sends the browser to the end_session endpoint with its
// id_token_hint and its post_logout_redirect_uri.
async function logoutAtA(seen) {
  await page.goto(`${appA}/logout`, { waitUntil: 'commit' });
  const landing = `${appA}/goodbye`;
  const got = await arriveOrConfirm((url) => url === landing);
  if (got === 'arrived') {
    seen.push('logout at A: no confirmation');
    seen.push(`landed on ${page.url()}`);
  } else if (got === 'form') {
    seen.push(`logout at A: confirmation asked at ${origin(page.url())}${pathOf(page.url())}`);
  } else {
    seen.push(await stuck('logout at A'));
  }
  seen.push(`A: ${await sessionAtA()}`, `B: ${await sessionAtB()}`);
  seen.push(`provider cookies left: ${await providerCookieNames() || 'none'}`);
  seen.push(`keys at nginx's jwks_uri: ${(await keysAtNginx()).join(' ')}`);
}

const scenarios = {
  // sign in at A, single sign-on at B, logout at A; the provider's cookies
  // are kept for sign-in-again
  async 'sso-then-logout'(seen) {
    await freshBrowser();
    seen.push(`A: ${await sessionAtA()}`, `B: ${await sessionAtB()}`);
    await signInAtA(seen);
    await signInAtB(seen);
    savedCookies = (await context.cookies(issuer)).filter((c) => providerCookies.has(c.name));
    seen.push(`provider cookies saved: ${savedCookies.map((c) => c.name).sort().join(' ')}`);
    await logoutAtA(seen);
  },

  // where sso-then-logout stopped: the provider's cookies of before the
  // logout are put back, then sign in at A and B and log out again
  async 'sign-in-again'(seen) {
    await context.addCookies(savedCookies);
    seen.push(`old provider cookies put back: ${await providerCookieNames()}`);
    await signInAtA(seen);
    await signInAtB(seen);
    await logoutAtA(seen);
  },

  // sign in at A and B, then straight to the end_session endpoint with
  // client_id and a post_logout_redirect_uri on B's origin, no hint
  async 'logout-without-hint'(seen) {
    await freshBrowser();
    await signInAtA(seen);
    await signInAtB(seen);
    const landing = `${appB}/goodbye.html`;
    await page.goto(`${issuer}/session/end?client_id=express-rp&post_logout_redirect_uri=${
      encodeURIComponent(landing)}`, { waitUntil: 'commit' });
    const got = await arriveOrConfirm((url) => url === landing);
    if (got === 'form') {
      seen.push('logout without a hint: confirmation asked');
      await page.click('button[type=submit]');
      const next = await page.waitForURL(landing, { timeout: STEP_MS })
        .then(() => `landed on ${page.url()}`, () => stuck('confirmed'));
      seen.push(next);
    } else if (got === 'arrived') {
      seen.push(`logout without a hint: no confirmation, landed on ${page.url()}`);
    } else {
      seen.push(await stuck('logout without a hint'));
    }
    seen.push(`A: ${await sessionAtA()}`, `B: ${await sessionAtB()}`);
  },

  // sign in at A and B, then a logout at the provider itself: its own
  // end_session endpoint on its own port (nginx does not see it), its
  // prompt confirmed. The provider posts its logout tokens to nginx, which
  // ends its session and tells A and B by the back channel: what A and B
  // say is asked again until it has changed (or STEP_MS)
  async 'logout-at-provider'(seen) {
    await freshBrowser();
    await signInAtA(seen);
    await signInAtB(seen);
    seen.push(`module: ${await sessionAtModule()}`);
    await page.goto(`${provider}/session/end`);
    const yes = page.locator('button[name=logout][value=yes]');
    if (!await yes.waitFor({ timeout: STEP_MS }).then(() => true, () => false)) {
      seen.push(await stuck('logout at the provider'));
      return;
    }
    const question = (await page.locator('h1').first().textContent()).trim();
    seen.push(`logout at the provider: it asks "${question}", yes`);
    const landing = `${provider}/session/end/success`;
    const [landed] = await Promise.all([
      page.waitForURL(landing, { timeout: STEP_MS })
        .then(() => `landed on ${page.url()}`, () => stuck('logout confirmed')),
      yes.click()]);
    seen.push(landed);
    // nginx answered the provider (which then sent the browser on) once
    // its session had ended
    seen.push(`module: ${await sessionAtModule()}`);
    seen.push(`A: ${await pollAnswer(sessionAtA, (s) => s === 'anonymous')}`);
    seen.push(`B: ${await pollAnswer(sessionAtB, (s) => s.startsWith('signed out'))}`);
  },

  // where the last scenario stopped: sign in at A and B again
  async 'sign-in'(seen) {
    await signInAtA(seen);
    await signInAtB(seen);
    seen.push(`module: ${await sessionAtModule()}`);
  },

  // what the module, A and B say of the browser's sessions now
  async sessions(seen) {
    seen.push(`module: ${await sessionAtModule()}`, `A: ${await sessionAtA()}`,
              `B: ${await sessionAtB()}`);
  },
};

async function play(name) {
  const seen = [];
  try {
    await scenarios[name](seen);
  } catch (e) {
    seen.push(`error: ${e && e.message ? e.message.split('\n')[0] : e}`);
  }
  if (page) {
    await page.screenshot({ path: `${screenshots}/${name}.png` }).catch(() => {});
  }
  return seen.map((line) => `${line}\n`).join('');
}

// one scenario at a time, in the order asked
let queue = Promise.resolve();
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!Object.hasOwn(scenarios, name)) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end(`no scenario ${name}; there are: ${Object.keys(scenarios).join(', ')}\n`);
    return;
  }
  queue = queue.then(() => {
    awaitedKid = url.searchParams.get('await');
    return play(name);
  }).then((text) => {
    console.log(`--- ${name}\n${text}`);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(text);
  });
});
server.listen(port, '127.0.0.1', () =>
  console.log(`browser (Chromium ${browser.version()}) on ${port}`));

const stop = async () => {
  server.close();
  await browser.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
