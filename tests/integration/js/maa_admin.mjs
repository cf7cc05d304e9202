// Drive attestd's policy management routes with the OFFICIAL client, @azure/attestation 1.0.0
// (AttestationAdministrationClient), for tests/integration/test_maa_admin.py:
//   node maa_admin.mjs '{"endpoint": URL, "token": ACCESS_TOKEN, "ops": [...]}'
// or the same JSON document on stdin. Trust for HTTPS comes from NODE_EXTRA_CA_CERTS.
//
// Ops ("signingKey" is {"privateKey": PEM, "certificate": PEM}, optional where MAA allows):
//   {"op": "getPolicy", "type": T}
//   {"op": "setPolicy", "type": T, "policy": TEXT, "signingKey"?}
//   {"op": "resetPolicy", "type": T, "signingKey"?}
//   {"op": "getCertificates"}
//   {"op": "addCertificate", "pem": PEM, "signingKey"}
//   {"op": "removeCertificate", "pem": PEM, "signingKey"}
//
// Every token attestd answers is validated by the client itself: validateToken (signature
// against GET /certs), validateExpirationTime, validateNotBeforeTime, and validateIssuer with
// expectedIssuer = the endpoint (or "expectedIssuer" from the command, to prove the check
// bites). A validateAttestationToken callback only records which signer verified each token.
//
// Prints one JSON line per op: the result, or {"op", "error": {name, message, statusCode,
// code}} when the client throws. Each line also has "sent" (the request(s) the client put on
// the wire: method, url, content-type, body exactly as sent) and "validations" (one entry per
// token the client checked: the signer's kid and whether it came from GET /certs).
// Exit status: 0 when every op ran (whatever it answered), 2 on a bad command.
import './webcrypto.mjs'; // first: Node 18 has no global Web Crypto object
import { AttestationAdministrationClient } from '@azure/attestation';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

function fail(msg) {
  process.stderr.write(`maa_admin.mjs: ${msg}\n`);
  process.exit(2);
}

let cmd;
try {
  cmd = JSON.parse(process.argv[2] ?? readFileSync(0, 'utf8'));
} catch (e) {
  fail(`the command must be JSON on argv or stdin: ${e.message}`);
}
if (typeof cmd?.endpoint !== 'string' || typeof cmd.token !== 'string' || !Array.isArray(cmd.ops)) {
  fail('the command needs "endpoint", "token" and "ops"');
}

// A TokenCredential holding attestd's access token (what getToken must return).
function tokenExpiry(jwt) {
  try {
    const body = JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
    if (typeof body.exp === 'number') return body.exp * 1000;
  } catch (e) { /* not a JWT: fall through */ }
  return Date.now() + 10 * 60 * 1000;
}
const credential = {
  scopes: [],
  async getToken(scopes) {
    this.scopes.push(scopes);
    return { token: cmd.token, expiresOnTimestamp: tokenExpiry(cmd.token) };
  },
};

// What went on the wire for the current op (the client hides the JWS it builds).
let sent = [];
const capture = {
  name: 'maa_admin_capture',
  async sendRequest(request, next) {
    const entry = {
      method: request.method,
      url: request.url,
      contentType: request.headers.get('content-type') ?? null,
      authorization: (request.headers.get('authorization') ?? '').split(' ')[0] || null,
      body: typeof request.body === 'string' ? request.body
        : request.body == null ? null : '<non-string body>',
    };
    sent.push(entry);
    const response = await next(request);
    entry.status = response.status;
    entry.response = response.bodyAsText ?? null;
    return response;
  },
};

let validations = [];
let client;
// All four flags are spelled out: getTokenProblems(signers, options) applies its defaults
// ({validateToken, validateExpirationTime, validateNotBeforeTime}) only when NO options are
// given, so options holding just the issuer check would switch the signature check off.
const validationOptions = {
  validateToken: true,
  validateExpirationTime: true,
  validateNotBeforeTime: true,
  validateIssuer: true,
  expectedIssuer: cmd.expectedIssuer ?? cmd.endpoint,
  validateAttestationToken(token, signer) {
    // Called by getTokenProblems after the signature check; record which key did it.
    // client._signers is the client's cached GET /certs (@azure/attestation 1.0.0 internals).
    const fromCerts = signer !== undefined && Array.isArray(client._signers) &&
      client._signers.includes(signer);
    validations.push({ alg: token.algorithm, kid: token.keyId ?? null,
                       signerKid: signer?.keyId ?? null, fromCerts });
    return undefined;
  },
};
client = new AttestationAdministrationClient(cmd.endpoint, credential, {
  validationOptions,
  additionalPolicies: [{ policy: capture, position: 'perRetry' }],
  retryOptions: { maxRetries: 0 },
});

const b64url = (bytes) => Buffer.from(bytes).toString('base64url');

function signerOut(s) {
  if (!s) return null;
  return {
    keyId: s.keyId ?? null,
    certificates: s.certificates,
    thumbprints: s.certificates.map((pem) =>
      new X509Certificate(pem).fingerprint.replaceAll(':', '')), // SHA-1, upper-case hex
  };
}

function jwsHeader(jws) {
  try {
    return JSON.parse(Buffer.from(jws.split('.')[0], 'base64url').toString('utf8'));
  } catch (e) {
    return null;
  }
}

function signingOptions(op) {
  const k = op.signingKey;
  return k ? { privateKey: k.privateKey, certificate: k.certificate } : {};
}

async function run(op) {
  switch (op.op) {
    case 'getPolicy': {
      const r = await client.getPolicy(op.type);
      const body = r.token.getBody();
      const stored = body['x-ms-policy'];
      return {
        policy: r.body,
        policyJws: stored,
        policyJwsHeader: jwsHeader(stored),
        // The client's getPolicy returns the text only; the signer is in the token it validated.
        policySigner: body['x-ms-policy-signer']
          ? signerOut({ keyId: body['x-ms-policy-signer'].kid,
                        certificates: (body['x-ms-policy-signer'].x5c ?? []).map((c) =>
                          new X509Certificate(Buffer.from(c, 'base64')).toString()) })
          : null,
      };
    }
    case 'setPolicy':
    case 'resetPolicy': {
      const r = op.op === 'setPolicy'
        ? await client.setPolicy(op.type, op.policy, signingOptions(op))
        : await client.resetPolicy(op.type, signingOptions(op));
      return {
        policyResolution: r.body.policyResolution,
        policyTokenHash: r.body.policyTokenHash ? b64url(r.body.policyTokenHash) : null,
        policySigner: signerOut(r.body.policySigner),
        policy: r.body.policy ?? null,
      };
    }
    case 'getCertificates': {
      const r = await client.getPolicyManagementCertificates();
      return { certificates: r.body.map(signerOut) };
    }
    case 'addCertificate':
    case 'removeCertificate': {
      const k = op.signingKey ?? {};
      const r = op.op === 'addCertificate'
        ? await client.addPolicyManagementCertificate(op.pem, k.privateKey, k.certificate)
        : await client.removePolicyManagementCertificate(op.pem, k.privateKey, k.certificate);
      return {
        certificateResolution: r.body.certificateResolution,
        certificateThumbprint: r.body.certificateThumbprint,
      };
    }
    default:
      throw new Error(`unknown op ${op.op}`);
  }
}

for (const op of cmd.ops) {
  sent = [];
  validations = [];
  let line;
  try {
    line = { op: op.op, ...(await run(op)) };
  } catch (e) {
    line = { op: op.op,
             error: { name: e.name ?? null, message: e.message ?? String(e),
                      statusCode: e.statusCode ?? null, code: e.code ?? null } };
  }
  line.sent = sent;
  line.validations = validations;
  process.stdout.write(JSON.stringify(line) + '\n');
}
