// Write a private JWK Set holding one new RSA-2048 signing key, for oidc_server.mjs:
//   node gen_jwks.mjs OUT_PATH KID
// The file is {"keys": [{kty, n, e, d, p, q, dp, dq, qi, kid, alg: "RS256", use: "sig"}]},
// mode 0600. Prints the public JWK (JSON, one line) on stdout.
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';

const [out, kid] = process.argv.slice(2);
if (!out || !kid) {
  console.error('usage: node gen_jwks.mjs OUT_PATH KID');
  process.exit(2);
}
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const meta = { kid, alg: 'RS256', use: 'sig' };
const jwk = { ...privateKey.export({ format: 'jwk' }), ...meta };
writeFileSync(out, JSON.stringify({ keys: [jwk] }, null, 2) + '\n', { mode: 0o600 });
process.stdout.write(JSON.stringify({ ...publicKey.export({ format: 'jwk' }), ...meta }) + '\n');
