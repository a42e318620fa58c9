// An unmodified node-oidc-provider (npm oidc-provider, the version that
// package.json pins) behind nginx, for t/provider_e2e.t.
//
//   PORT=1985 ISSUER=http://127.0.0.1:1984 CLIENTS=clients.json \
//   JWKS=provider-keys.json node provider.mjs
//
// Only the provider's documented configuration:
// - issuer: nginx's public origin, which proxies everything to this port
//   with X-Forwarded-*; hence proxy = true;
// - clients: CLIENTS, the same registration file the module loads (the
//   provider ignores the metadata it does not know, frontchannel_logout_uri);
// - jwks: JWKS, the private signing keys; the first signs the ID tokens
//   (a rotation restarts the provider with [new, old]);
// - devInteractions: the provider's own login form (any password);
// - loadExistingGrant: the applications are first-party, so consent is
//   implied (the provider's documented recipe for skipping consent);
// - cookies: signed (hence <name>.sig beside each) and SameSite=Lax, since
//   a SameSite=None cookie without Secure is refused over plain http.
// It prints one line once it listens.
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const readJSON = (file) => JSON.parse(readFileSync(file, 'utf8'));

const port = Number(env('PORT'));
const issuer = env('ISSUER');
const registry = readJSON(env('CLIENTS'));
const clients = Array.isArray(registry) ? registry : registry.clients;
const jwks = readJSON(env('JWKS'));

const provider = new Provider(issuer, {
  clients,
  jwks,
  cookies: {
    keys: ['provider-e2e-cookie-key-0123456789'],
    long: { signed: true, sameSite: 'lax' },
    short: { signed: true, sameSite: 'lax' },
  },
  features: {
    devInteractions: { enabled: true },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    if (!ctx.oidc.session.accountId) return undefined;
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(ctx.oidc.requestParamScopes);
    await grant.save();
    return grant;
  },
});
provider.proxy = true;

const version = JSON.parse(readFileSync(
  new URL('node_modules/oidc-provider/package.json', import.meta.url), 'utf8')).version;
provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider ${version} (node ${process.version}) on ${port},`
              + ` issuer ${issuer}, keys ${jwks.keys.map((k) => k.kid).join(' ')}`);
});
