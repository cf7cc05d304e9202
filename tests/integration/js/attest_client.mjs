// Attest with the OFFICIAL client, @azure/attestation 1.0.0 (AttestationClient), against attestd,
// for tests/integration/test_attest_testpki.py:
//   node attest_client.mjs '{"endpoint": URL, "ops": [...]}'   (or the JSON on stdin)
// Trust for HTTPS comes from NODE_EXTRA_CA_CERTS. No credential: attest calls are anonymous.
//
// Ops (binary values are base64):
//   {"op": "attestSgxEnclave", "quote": B64, "runTimeData"?: B64, "runTimeJson"?: B64,
//    "initTimeData"?: B64, "draftPolicy"?: TEXT}
//   {"op": "attestOpenEnclave", "report": B64, ... the same options}
//
// Every token is validated by the client itself: validateToken (signature against GET /certs),
// validateExpirationTime, validateNotBeforeTime, validateIssuer with expectedIssuer = the
// endpoint. Prints one JSON line per op: the AttestationResult fields the client decoded (and
// the token's raw body), or {"op", "error": {name, message, statusCode, code}}.
import './webcrypto.mjs'; // first: Node 18 has no global Web Crypto object
import { AttestationClient } from '@azure/attestation';
import { readFileSync } from 'node:fs';

function fail(msg) {
  process.stderr.write(`attest_client.mjs: ${msg}\n`);
  process.exit(2);
}

let cmd;
try {
  cmd = JSON.parse(process.argv[2] ?? readFileSync(0, 'utf8'));
} catch (e) {
  fail(`the command must be JSON on argv or stdin: ${e.message}`);
}
if (typeof cmd?.endpoint !== 'string' || !Array.isArray(cmd.ops)) {
  fail('the command needs "endpoint" and "ops"');
}

const validationOptions = {
  validateToken: true,
  validateExpirationTime: true,
  validateNotBeforeTime: true,
  validateIssuer: true,
  expectedIssuer: cmd.endpoint,
};
const client = new AttestationClient(cmd.endpoint, { validationOptions });

const bytes = (b64) => (b64 === undefined ? undefined : Buffer.from(b64, 'base64'));
const hex = (u8) => (u8 === undefined ? undefined : Buffer.from(u8).toString('hex'));

async function run(op) {
  const options = {
    runTimeData: bytes(op.runTimeData),
    runTimeJson: bytes(op.runTimeJson),
    initTimeData: bytes(op.initTimeData),
    draftPolicyForAttestation: op.draftPolicy,
  };
  for (const k of Object.keys(options)) if (options[k] === undefined) delete options[k];
  let response;
  if (op.op === 'attestSgxEnclave') {
    response = await client.attestSgxEnclave(bytes(op.quote), options);
  } else if (op.op === 'attestOpenEnclave') {
    response = await client.attestOpenEnclave(bytes(op.report), options);
  } else {
    fail(`unknown op ${op.op}`);
  }
  const r = response.body;
  return {
    op: op.op,
    algorithm: response.token.algorithm,
    issuer: r.issuer,
    version: r.version,
    verifierType: r.verifierType,
    isDebuggable: r.isDebuggable,
    mrEnclave: r.mrEnclave,
    mrSigner: r.mrSigner,
    productId: r.productId,
    svn: r.svn,
    nonce: r.nonce,
    enclaveHeldData: hex(r.enclaveHeldData),
    runTimeClaims: r.runTimeClaims,
    initTimeClaims: r.initTimeClaims,
    policyHash: hex(r.policyHash),
    quotehash: r.sgxCollateral?.quotehash,
    body: response.token.getBody(),
  };
}

for (const op of cmd.ops) {
  let line;
  try {
    line = await run(op);
  } catch (e) {
    line = {
      op: op.op,
      error: { name: e.name, message: e.message, statusCode: e.statusCode, code: e.code },
    };
  }
  process.stdout.write(JSON.stringify(line) + '\n');
}
