// Load of the back-channel benchmark.
//
//   node backchannel_driver.mjs loop BASE_URL CLIENTS USERS SECONDS
//     USERS concurrent users, each in a loop: sign in, join CLIENTS
//     clients, log out, for SECONDS.
//   node backchannel_driver.mjs rate BASE_URL CLIENTS RATE SECONDS
//     prepares RATE * SECONDS sessions of CLIENTS clients each, prints
//     "ready", then logs them out at RATE a second.
//
// Prints JSON: logouts, seconds, and the logouts' response times (p50,
// p99, in ms).
import http from 'node:http';

const [mode, base, clients, load, seconds] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function get(path, cookie) {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}${path}`,
      { agent, headers: cookie ? { cookie } : {} }, (res) => {
        res.resume();
        res.on('end', () => resolve(res));
      });
    req.on('error', reject);
  });
}

async function session(name) {
  const login = await get(`/login?user=${name}`);
  const cookie = String(login.headers['set-cookie']).split(';')[0];
  for (let c = 1; c <= Number(clients); c++) {
    const res = await get(`/authorize?client_id=c${String(c).padStart(2, '0')}`, cookie);
    if (res.statusCode !== 200) throw new Error(`join: ${res.statusCode}`);
  }
  return cookie;
}

const times = [];
async function logout(cookie) {
  const start = process.hrtime.bigint();
  const out = await get('/logout?returnTo=https%3A%2F%2Fportal.example.com%2F', cookie);
  times.push(Number(process.hrtime.bigint() - start) / 1e6);
  if (out.statusCode !== 302) throw new Error(`logout: ${out.statusCode}`);
}

let started;
if (mode === 'loop') {
  const until = Date.now() + Number(seconds) * 1000;
  started = Date.now();
  await Promise.all(Array.from({ length: Number(load) }, async (_, n) => {
    for (let i = 0; Date.now() < until; i++) {
      await logout(await session(`u${n}-${i}`));
    }
  }));
} else {
  const count = Number(load) * Number(seconds);
  const cookies = [];
  for (let i = 0; i < count; i += 8) {
    cookies.push(...await Promise.all(Array.from(
      { length: Math.min(8, count - i) }, (_, k) => session(`r${i + k}`))));
  }
  console.log('ready');
  started = Date.now();
  const pending = [];
  for (let i = 0; i < count; i++) {
    const due = started + (i * 1000) / Number(load);
    await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
    pending.push(logout(cookies[i]));
  }
  await Promise.all(pending);
}
times.sort((a, b) => a - b);
const pct = (p) => times[Math.min(times.length - 1, Math.floor(times.length * p))];
console.log(JSON.stringify({
  logouts: times.length,
  seconds: (Date.now() - started) / 1000,
  p50: pct(0.5),
  p99: pct(0.99),
}));
