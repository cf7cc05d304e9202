// Verify a compact JWS against a remote JWKS with the `jose` package, the way
// a relying party would: node verify_jwt.mjs JWKS_URL TOKEN ISSUER
// Prints the payload as JSON and exits 0 when the token verifies; prints the
// error and exits 1 otherwise. Trust for the HTTPS fetch comes from
// NODE_EXTRA_CA_CERTS.
import './webcrypto.mjs'; // first: Node 18 has no global Web Crypto object
import { createRemoteJWKSet, jwtVerify } from 'jose';

const [jwksUrl, token, issuer] = process.argv.slice(2);
if (!jwksUrl || !token || !issuer) {
  console.error('usage: node verify_jwt.mjs JWKS_URL TOKEN ISSUER');
  process.exit(2);
}
try {
  const jwks = createRemoteJWKSet(new URL(jwksUrl));
  const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer });
  process.stdout.write(JSON.stringify({ header: protectedHeader, payload }) + '\n');
} catch (e) {
  console.error(`${e.code || e.name}: ${e.message}`);
  process.exit(1);
}
