// A real browser (Debian's Chromium, driven by playwright-core) through
// front-channel logout, for t/frontchannel_browser.t.
//
//   node frontchannel_browser.mjs SCENARIO CONFIG
//
// CONFIG is JSON: {sso, clients: [ids to join], logout (the endpoint's
// path), query (its parameters), javascript (true/false), out (the
// directory of the screenshots), name (their prefix)}.  The browser signs
// in at sso, joins each client (whose application sets its own cookie),
// reads its sid from /whoami, asks to sign out, confirms, and follows the
// answer (a redirect, or the front-channel page) to wherever it goes.  It
// prints what it saw as JSON; the test decides whether that is right.  A
// navigation the page's Content-Security-Policy blocks ends the run at once
// with the browser's message as the error.
import { writeFile } from 'node:fs/promises';
import { chromium } from 'playwright-core';

const cfg = JSON.parse(process.argv[3] ?? '{}');
const seen = { scenario: process.argv[2] };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  const context = await browser.newContext({
    javaScriptEnabled: cfg.javascript !== false,
  });
  const page = await context.newPage();
  const cookieNames = async () =>
    (await context.cookies()).map((c) => c.name).sort();

  await page.goto(`${cfg.sso}/login?user=alice`);
  for (const client of cfg.clients) {
    await page.goto(`${cfg.sso}/authorize?client_id=${client}`);
  }
  seen.sid = (await (await page.goto(`${cfg.sso}/whoami`)).text()).trim();
  seen.cookies_before = await cookieNames();

  // every request the page's iframes make
  seen.frame_requests = [];
  page.on('request', (r) => {
    if (r.frame() !== page.mainFrame()) seen.frame_requests.push(r.url());
  });

  // the browser reports a blocked navigation on the console only
  const blocked = new Promise((resolve, reject) => {
    page.on('console', (m) => {
      if (/Content Security Policy/.test(m.text())) reject(new Error(m.text()));
    });
  });
  blocked.catch(() => {});

  const confirmation = await page.goto(`${cfg.sso}${cfg.logout}?${cfg.query}`);
  seen.confirm_csp = confirmation.headers()['content-security-policy'] ?? null;
  const [answer] = await Promise.race([
    blocked,
    Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.click('button[type=submit]'),
    ]),
  ]);
  const answered = Date.now();
  seen.page_status = answer.status();
  seen.page_csp = answer.headers()['content-security-policy'] ?? null;

  // the page stays up until its iframes have loaded (or the timeout);
  // the DevTools protocol takes its picture without waiting for the load
  // event, which a silent iframe holds back
  if (cfg.screenshot_page) {
    await page.waitForSelector('h1', { state: 'attached' });
    const cdp = await context.newCDPSession(page);
    const shot = await cdp.send('Page.captureScreenshot', { format: 'png' });
    await writeFile(`${cfg.out}/${cfg.name}-page.png`,
                    Buffer.from(shot.data, 'base64'));
    seen.page_heading = await page.textContent('h1');
  }

  const from = new URL(cfg.sso);
  await Promise.race([
    blocked,
    page.waitForURL((u) => u.host !== from.host || u.pathname !== cfg.logout,
                    { timeout: 30000, waitUntil: 'commit' }),
  ]);
  seen.waited_ms = Date.now() - answered;
  await page.waitForLoadState('load');
  seen.landing = page.url();
  seen.landing_text = (await page.textContent('body')).trim();
  seen.cookies_after = await cookieNames();
  await page.screenshot({ path: `${cfg.out}/${cfg.name}-landing.png` });
} catch (e) {
  seen.error = String(e && e.stack ? e.stack : e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
