// A minimal relying party built on express-openid-connect (Auth0's
// Express SDK) with OpenID Connect Back-Channel Logout 1.0 enabled, for
// t/backchannel_interop.t and t/provider_e2e.t.
//
//   PORT=2003 ISSUER=http://127.0.0.1:2000 CLIENT_ID=express-rp \
//       node app.cjs
//
// It has a directory of its own: express-openid-connect and openid-client
// must share one copy of jose 2, which the jose 5 of t/interop would split.
//
// The SDK mounts POST /backchannel-logout: it verifies the logout token
// (signature against the issuer's jwks_uri, iss, aud, iat, events, no
// nonce, sid or sub) and answers 400 when that fails, 204 otherwise.
// GET /logged-out lists what its store holds: the sid and sub entries of
// the logout tokens it accepted, which the test checks.
//
// For a browser (t/provider_e2e.t): the SDK's /login and /callback sign in;
// its /logout ends the app's session and goes on to the provider's
// end_session_endpoint with the id_token_hint and the post_logout_redirect_uri
// /goodbye; GET /session says what the app itself knows of the browser's
// session (after the SDK has applied the logout tokens it accepted).
'use strict';

const express = require('express');
const { auth } = require('express-openid-connect');

const port = Number(process.env.PORT || 2003);
const issuer = process.env.ISSUER || 'http://127.0.0.1:2000';
const clientID = process.env.CLIENT_ID || 'express-rp';

// Back-channel logout needs a store (or both hooks); this one has the
// shape of an express-session store: get/set/destroy with callbacks.
const entries = new Map();
const store = {
  get(key, cb) { cb(null, entries.get(key)); },
  set(key, value, cb) { entries.set(key, value); cb(null); },
  destroy(key, cb) { entries.delete(key); cb(null); },
};
const storeSet = (key, value) =>
  new Promise((resolve, reject) =>
    store.set(key, value, (err) => (err ? reject(err) : resolve())));

// Replay protection: the application's part, not the SDK's.
// The SDK verifies each logout token but keeps no record of the jti
// values it has seen, so the same token posted again is accepted again
// (204). Back-Channel Logout 1.0 (section 2.6) lets the RP check that no
// other logout token with the same jti was received recently; this app
// does, through the SDK's documented backchannelLogout.onLogoutToken hook.
// The hook receives the token's claims once the SDK has verified them;
// an error it throws makes the SDK answer 400
// {"error":"application_error", ...}. A jti is remembered until the token
// has expired (plus the SDK's clock tolerance), after which the SDK
// refuses the token by itself; a token without exp (which this SDK
// accepts) for 10 minutes. Checking and recording the jti happen in
// one synchronous step, so two concurrent copies cannot both pass.
const seenJti = new Map(); // jti -> time (ms) until which it is remembered

async function onLogoutToken(token, config) {
  const now = Date.now();
  for (const [jti, until] of seenJti) {
    if (until <= now) seenJti.delete(jti);
  }
  if (typeof token.jti !== 'string' || token.jti === '') {
    throw new Error('logout token without jti');
  }
  if (seenJti.has(token.jti)) {
    console.error(`replayed jti ${token.jti}: logout token refused`);
    throw new Error(`replayed jti ${token.jti}`);
  }
  const exp = typeof token.exp === 'number' ? token.exp * 1000 : now + 600e3;
  seenJti.set(token.jti, exp + config.clockTolerance * 1000);

  // Then what the SDK's default hook does: mark the token's sid and sub as
  // logged out, so that the SDK's isLoggedOut check (left as it is) ends
  // any session of theirs at its next request.
  const maxAge = config.session.absoluteDuration * 1000;
  const entry = { cookie: { expires: now + maxAge, maxAge } };
  if (!token.sid && !token.sub) {
    throw new Error("the logout token has neither 'sid' nor 'sub'");
  }
  await Promise.all([
    token.sid && storeSet(`${token.iss}|${token.sid}`, entry),
    token.sub && storeSet(`${token.iss}|${token.sub}`, entry),
  ]);
  console.log(`logged out: sid=${token.sid} sub=${token.sub} jti=${token.jti}`);
}

const app = express();
app.use(auth({
  issuerBaseURL: issuer,            // discovery: <issuer>/.well-known/openid-configuration
  baseURL: `http://127.0.0.1:${port}`,
  clientID,
  clientSecret: `${clientID}-secret`,
  secret: 'express-rp-cookie-secret-0123456789abcdef',
  authRequired: false,
  idpLogout: true,
  routes: { postLogoutRedirect: '/goodbye' },
  authorizationParams: { response_type: 'code', scope: 'openid' },
  idTokenSigningAlg: 'RS256',       // logout tokens are verified with this alg only
  backchannelLogout: { store, onLogoutToken },
}));
app.get('/', (req, res) =>
  res.send(`express-rp: authenticated=${req.oidc.isAuthenticated()}\n`));
app.get('/logged-out', (req, res) => res.json([...entries.keys()].sort()));
app.get('/goodbye', (req, res) => res.send('express-rp: goodbye\n'));
// signed in or not, as whom, the sid of its ID token and the key that signed it
app.get('/session', (req, res) => {
  if (!req.oidc.isAuthenticated()) return res.json({ authenticated: false });
  const header = JSON.parse(Buffer.from(req.oidc.idToken.split('.')[0], 'base64url'));
  const { sub, sid } = req.oidc.idTokenClaims;
  return res.json({ authenticated: true, sub, sid, kid: header.kid });
});
app.use((err, req, res, next) => {
  console.error('error:', err.message);
  res.status(err.status || 500).send(`error: ${err.message}\n`);
});
app.listen(port, '127.0.0.1', () =>
  console.log(`express-rp (express-openid-connect ${
    require('express-openid-connect/package.json').version}, node ${
    process.version}) on ${port}`));
