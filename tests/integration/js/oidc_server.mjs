// A real OpenID provider (the `oidc-provider` package) on loopback HTTPS, for the black-box
// test of attestd's external token issuers (tests/integration/test_oidc.py).
//
//   node oidc_server.mjs --port PORT --cert CERT.pem --key KEY.pem --jwks PRIVATE_JWKS.json
//        [--clients CLIENTS.json] [--client-secret SECRET] [--host 127.0.0.1]
//        [--resources api://attestd,api://other] [--ttl 300]
//
// - Issuer https://HOST:PORT; discovery at /.well-known/openid-configuration, keys at /jwks.
// - Signing keys: the private JWK Set in --jwks (node gen_jwks.mjs makes one). Restarting with
//   another file is a key rotation.
// - Clients: CLIENTS.json is {"clients": [{"client_id", "client_secret", "roles": [...],
//   "groups": [...], "token_endpoint_auth_method"?}]}. Without it there is one client,
//   "attestd-test-client", with --client-secret or $OIDC_CLIENT_SECRET and no roles or groups.
//   Every client may use only the client_credentials grant (client_secret_basic by default).
// - Access tokens are JWTs (RS256, header typ "at+jwt", a kid) for the resource indicators in
//   --resources (the first is the default when a request names none); "aud" is the resource
//   (a string); "sub" and "client_id" are the client id; "roles" and "groups" come from the
//   client's entry (left out when it has none).
// Prints {"ready": true, "issuer", "jwks_uri", "kids"} (one JSON line) on stdout once listening;
// exits 0 on SIGTERM or SIGINT.
import './webcrypto.mjs'; // first: Node 18 has no global Web Crypto object
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { parseArgs } from 'node:util';

import Provider, { errors } from 'oidc-provider';

function fail(msg) {
  console.error(`oidc_server: ${msg}`);
  process.exit(2);
}

let opts;
try {
  ({ values: opts } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      cert: { type: 'string' },
      key: { type: 'string' },
      jwks: { type: 'string' },
      clients: { type: 'string' },
      'client-secret': { type: 'string' },
      resources: { type: 'string', default: 'api://attestd,api://other' },
      ttl: { type: 'string', default: '300' },
    },
    strict: true,
  }));
} catch (e) {
  fail(e.message);
}
for (const name of ['port', 'cert', 'key', 'jwks']) {
  if (!opts[name]) fail(`--${name} is required`);
}
const port = Number(opts.port);
const ttl = Number(opts.ttl);
if (!Number.isInteger(port) || port <= 0 || port > 65535) fail(`bad --port ${opts.port}`);
if (!Number.isInteger(ttl) || ttl <= 0) fail(`bad --ttl ${opts.ttl}`);
const resources = opts.resources.split(',').filter(Boolean);
if (resources.length === 0) fail('--resources names no resource');

const readJson = (path) => {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    return fail(`${path}: ${e.message}`);
  }
};

const jwks = readJson(opts.jwks);
if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) fail(`${opts.jwks}: no keys`);

let clientEntries;
if (opts.clients) {
  clientEntries = readJson(opts.clients).clients;
  if (!Array.isArray(clientEntries) || clientEntries.length === 0) {
    fail(`${opts.clients}: "clients" must be a non-empty array`);
  }
} else {
  const secret = opts['client-secret'] || process.env.OIDC_CLIENT_SECRET;
  if (!secret) fail('give --clients FILE, --client-secret SECRET or $OIDC_CLIENT_SECRET');
  clientEntries = [{ client_id: 'attestd-test-client', client_secret: secret }];
}
const claimsOf = new Map();
const clients = clientEntries.map((c) => {
  if (typeof c.client_id !== 'string' || typeof c.client_secret !== 'string') {
    fail('each client needs string client_id and client_secret');
  }
  const extra = {};
  for (const name of ['roles', 'groups']) {
    if (c[name] !== undefined) {
      if (!Array.isArray(c[name])) fail(`client ${c.client_id}: ${name} must be an array`);
      extra[name] = c[name];
    }
  }
  claimsOf.set(c.client_id, extra);
  return {
    client_id: c.client_id,
    client_secret: c.client_secret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: c.token_endpoint_auth_method || 'client_secret_basic',
  };
});

const issuer = `https://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;
const provider = new Provider(issuer, {
  clients,
  jwks,
  // Only the token endpoint is used; cookies still want keys of their own.
  cookies: { keys: ['attestd-test-cookie-key'] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx, client, oneOf) => oneOf || resources[0],
      getResourceServerInfo: async (ctx, resourceIndicator) => {
        if (!resources.includes(resourceIndicator)) throw new errors.InvalidTarget();
        return {
          scope: 'attestd',
          audience: resourceIndicator,
          accessTokenTTL: ttl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  extraTokenClaims: async (ctx, token) => {
    if (token.kind !== 'ClientCredentials') return undefined;
    const extra = claimsOf.get(token.clientId);
    return extra && Object.keys(extra).length ? { ...extra } : undefined;
  },
  // Requests for anything but the token endpoint, discovery and keys are not expected.
  renderError: async (ctx, out) => {
    ctx.type = 'application/json';
    ctx.body = out;
  },
});
provider.on('server_error', (ctx, err) => console.error('oidc_server: server_error', err));

let tls;
try {
  tls = { cert: readFileSync(opts.cert), key: readFileSync(opts.key) };
} catch (e) {
  fail(e.message);
}
const server = createServer(tls, provider.callback());
server.on('error', (e) => fail(`listen ${opts.host}:${port}: ${e.message}`));
server.listen(port, opts.host, () => {
  process.stdout.write(JSON.stringify({
    ready: true,
    issuer,
    jwks_uri: `${issuer}/jwks`,
    kids: jwks.keys.map((k) => k.kid),
  }) + '\n');
});

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
