// node-oidc-provider as it ships, for bench/peer.sh: its own end_session
// endpoint beside the module's.
//
//   node provider.mjs PORT ISSUER JWKS CLIENTS
//
// JWKS: the private signing keys (the hints of the bench are signed with
// them); CLIENTS: the client metadata, as the module's registry has it.
// Cookies are signed, as the provider's documentation recommends.
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const [port, issuer, jwksFile, clientsFile] = process.argv.slice(2);
const provider = new Provider(issuer, {
  jwks: JSON.parse(readFileSync(jwksFile, 'utf8')),
  clients: JSON.parse(readFileSync(clientsFile, 'utf8')),
  cookies: {
    keys: ['bench-peer-cookie-signing-key'],
    long: { signed: true },
    short: { signed: true },
  },
  features: { devInteractions: { enabled: true } },
});
provider.listen(Number(port), '127.0.0.1');
