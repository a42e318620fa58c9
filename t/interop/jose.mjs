// Interoperability with Node's jose, an independent JOSE implementation.
//
//   node jose.mjs keys DIR        writes DIR/jwks.json (public keys, for
//                                 oidc_logout_keys) and DIR/private.json
//   node jose.mjs check DIR URL   against the nginx at URL: jose verifies
//                                 tokens against the JWKS the module
//                                 serves, and the module accepts hints
//                                 that jose mints; prints JSON results
import * as jose from 'jose';
import { readFile, writeFile } from 'node:fs/promises';

const ISSUER = 'https://sso.example.com';
const ALGS = ['RS256', 'PS384', 'ES256', 'ES384'];

async function keys(dir) {
  const pub = [];
  const priv = {};
  for (const alg of ALGS) {
    const { publicKey, privateKey } = await jose.generateKeyPair(alg, {
      extractable: true,
    });
    const kid = `jose-${alg}`;
    pub.push({ ...(await jose.exportJWK(publicKey)), kid, alg, use: 'sig' });
    priv[alg] = { ...(await jose.exportJWK(privateKey)), kid };
  }
  await writeFile(`${dir}/jwks.json`, JSON.stringify({ keys: pub }));
  await writeFile(`${dir}/private.json`, JSON.stringify(priv));
}

async function hint(alg, jwk, claims = {}) {
  const key = await jose.importJWK(jwk, alg);
  return new jose.SignJWT({ sid: 'jose-sid', ...claims })
    .setProtectedHeader({ alg, kid: jwk.kid, typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience('app1')
    .setSubject('alice')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(key);
}

async function check(dir, base) {
  const priv = JSON.parse(await readFile(`${dir}/private.json`, 'utf8'));
  const results = [];

  // 1. jose verifies tokens signed by our keys against the served JWKS
  const served = await (await fetch(`${base}/jwks`)).json();
  const jwks = jose.createLocalJWKSet(served);
  for (const alg of ALGS) {
    const token = await hint(alg, priv[alg]);
    try {
      const { payload } = await jose.jwtVerify(token, jwks, {
        issuer: ISSUER,
        audience: 'app1',
      });
      results.push({ test: `jose verifies ${alg} with the served JWKS`,
                     ok: payload.sub === 'alice' });
    } catch (e) {
      results.push({ test: `jose verifies ${alg} with the served JWKS`,
                     ok: false, error: String(e) });
    }
  }
  results.push({ test: 'the served JWKS has no private member',
                 ok: served.keys.every((k) => !('d' in k)) });

  // 2. the module accepts hints minted by jose
  const uri = 'https://app1.example.com/logged-out';
  for (const alg of ALGS) {
    const token = await hint(alg, priv[alg]);
    const url = `${base}/logout?id_token_hint=${token}` +
      `&post_logout_redirect_uri=${encodeURIComponent(uri)}&state=${alg}`;
    const res = await fetch(url, { redirect: 'manual' });
    results.push({ test: `the module accepts a jose ${alg} hint`,
                   ok: res.status === 302 &&
                       res.headers.get('location') === `${uri}?state=${alg}`,
                   status: res.status });
  }

  // 3. and refuses one whose signature jose did not make
  const token = await hint('RS256', priv.RS256);
  const forged = token.slice(0, token.lastIndexOf('.') + 1) +
    jose.base64url.encode('not the signature');
  const res = await fetch(`${base}/logout?id_token_hint=${forged}` +
    `&post_logout_redirect_uri=${encodeURIComponent(uri)}`,
    { redirect: 'manual' });
  results.push({ test: 'the module refuses a forged signature',
                 ok: res.status !== 302, status: res.status });

  console.log(JSON.stringify(results));
}

const [cmd, dir, base] = process.argv.slice(2);
if (cmd === 'keys') {
  await keys(dir);
} else if (cmd === 'check') {
  await check(dir, base);
} else {
  console.error('usage: node jose.mjs keys DIR | check DIR URL');
  process.exit(2);
}
