// Attest over and over with the OFFICIAL client, @azure/attestation 1.0.0, while the test rotates
// the provider's signing key (tests/integration/test_key_rotation.py):
//   node rotation_client.mjs '{"endpoint": URL, "quote": B64, "runTimeData": B64,
//                              "seconds": N, "pauseMs": N}'
// Each attestation uses a new AttestationClient, as a relying party that fetches GET /certs for
// each token would, and the client validates the token (signature against /certs, lifetime,
// issuer). At the end every token is validated again, by the client's own checks, against the
// /certs of that moment: a key that signed a live token must still be published.
// Prints one JSON line per attestation {t, kid, iat, error?}, then {"final": [problems per token]}.
// Trust for HTTPS comes from NODE_EXTRA_CA_CERTS.
import './webcrypto.mjs'; // first: Node 18 has no global Web Crypto object
import { AttestationClient } from '@azure/attestation';

const cmd = JSON.parse(process.argv[2]);
const validationOptions = {
  validateToken: true,
  validateExpirationTime: true,
  validateNotBeforeTime: true,
  validateIssuer: true,
  expectedIssuer: cmd.endpoint,
};
const quote = Buffer.from(cmd.quote, 'base64');
const runTimeData = Buffer.from(cmd.runTimeData, 'base64');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const tokens = [];
const end = Date.now() + cmd.seconds * 1000;
while (Date.now() < end) {
  const line = { t: Date.now() / 1000 };
  try {
    const client = new AttestationClient(cmd.endpoint, { validationOptions });
    const response = await client.attestSgxEnclave(quote, { runTimeData });
    line.kid = response.token.keyId;
    line.iat = response.token.getBody().iat;
    tokens.push(response.token);
  } catch (e) {
    line.error = `${e.name}: ${e.message}`;
  }
  process.stdout.write(JSON.stringify(line) + '\n');
  await sleep(cmd.pauseMs);
}

const signers = await new AttestationClient(cmd.endpoint).getAttestationSigners();
const final = tokens.map((token) => token.getTokenProblems(signers, validationOptions));
process.stdout.write(JSON.stringify({ final, published: signers.map((s) => s.keyId) }) + '\n');
