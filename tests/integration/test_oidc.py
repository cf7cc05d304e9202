"""External token issuers against a REAL OpenID provider, black-box.

Covers (docs/identity.md, "External issuers"): attestd trusting the npm package `oidc-provider`
(panva; tests/integration/js/oidc_server.mjs) through OpenID discovery over https with a
private CA (`ca_file`), and accepting its client-credentials JWT access tokens (RS256, typ
"at+jwt", "aud" a string):
  1. a client whose `roles` claim maps to Owner (role_map) is that subject of that issuer in
     /attestd/whoami and may list role assignments;
  2. a client whose `roles` claim maps to AttestationReader is refused the Owner route (403)
     until an Owner assigns Owner to its group ("groups" claim) on that issuer, through the
     REST API, and again after the revocation; the same with `attestctl role assign --subject`;
  3. a token for another audience (resource indicator api://other) is refused with 401,
     `WWW-Authenticate: Bearer ... error="invalid_token"` and MAA's error body;
  4. key rotation without restarting attestd: the provider comes back on the same port with a
     new signing key (new kid); a new token is accepted within refresh_min_interval (an unknown
     kid triggers a refetch), and a still-unexpired token signed by the old key is then refused
     (its kid is no longer published, so the refetch dropped it);
  5. every decision is logged as "authorization" with the token's fingerprint, never the token.
Nothing here is skipped: without node or the npm packages (scripts/test.sh runs `npm ci` in
tests/integration/js) the tests fail. Networkless issuers (static JWK Sets) are covered by
test_external_issuers.py.
"""
import base64
import hashlib
import http.client
import json
import os
import re
import select
import signal
import ssl
import subprocess
import time
import unittest
import urllib.parse

import harness as h

OIDC_SERVER = os.path.join(h.JS_DIR, "oidc_server.mjs")
GEN_JWKS = os.path.join(h.JS_DIR, "gen_jwks.mjs")
AUDIENCE = "api://attestd"
OTHER_AUDIENCE = "api://other"
ISSUER_NAME = "test-idp"
REFRESH_MIN_INTERVAL = 1
PROVIDER_START_TIMEOUT = 20.0
# Client A: roles ["attestd.owner"] -> Owner on all providers. Client B: a reader in group ops.
CLIENT_A = {"client_id": "attestd-client-a", "client_secret": "secret-a-" + h.uuid4(),
            "roles": ["attestd.owner"]}
CLIENT_B = {"client_id": "attestd-client-b", "client_secret": "secret-b-" + h.uuid4(),
            "roles": ["attestd.reader"], "groups": ["ops"]}
OWNER_ALL = {"role": "Owner", "provider": "*"}
READER_ALL = {"role": "AttestationReader", "provider": "*"}


def bearer(token):
    return {"Authorization": "Bearer " + token}


def fingerprint(token):
    """What attestd logs instead of a token: the first 8 bytes of its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def make_test_ca(d):
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it (openssl CLI).
    Returns (ca.pem, server.pem, server.key)."""
    ca, ca_key = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
    cert, key = os.path.join(d, "server.pem"), os.path.join(d, "server.key")
    csr, ext = os.path.join(d, "server.csr"), os.path.join(d, "server.ext")
    h.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
              "-sha256", "-days", "1", "-keyout", ca_key, "-out", ca,
              "-subj", "/CN=attestd test OpenID provider CA",
              "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    h.openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
              "-sha256", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    with open(ext, "w", encoding="utf-8") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n")
    h.openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
              "-days", "1", "-sha256", "-extfile", ext, "-out", cert)
    return ca, cert, key


def new_jwks(path, kid):
    """A private JWK Set with one new RSA-2048 key (gen_jwks.mjs); returns the public JWK."""
    proc = subprocess.run([h.NODE, GEN_JWKS, path, kid], cwd=h.JS_DIR, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=60)
    if proc.returncode != 0:
        raise AssertionError(f"gen_jwks.mjs failed ({proc.returncode}): {proc.stderr}")
    return json.loads(proc.stdout)


class OidcProvider:
    """oidc_server.mjs as a child process on a fixed loopback port."""

    def __init__(self, tmp, port, ca, cert, key, clients_path):
        self.tmp, self.port, self.ca = tmp, port, ca
        self.cert, self.key, self.clients_path = cert, key, clients_path
        self.issuer = f"https://127.0.0.1:{port}"
        self.proc = None
        self.runs = 0
        self.stderr_path = None

    def start(self, jwks_path, timeout=PROVIDER_START_TIMEOUT):
        assert self.proc is None, "already running"
        self.runs += 1
        self.stderr_path = os.path.join(self.tmp, f"oidc-provider.{self.runs}.log")
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [h.NODE, OIDC_SERVER, "--port", str(self.port), "--cert", self.cert,
                 "--key", self.key, "--jwks", jwks_path, "--clients", self.clients_path,
                 "--resources", f"{AUDIENCE},{OTHER_AUDIENCE}"],
                cwd=h.JS_DIR, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
        deadline = time.monotonic() + timeout
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise AssertionError(f"oidc_server.mjs not ready within {timeout}s:\n"
                                     f"{self.logs()}")
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    rc = self.proc.wait()
                    self.proc = None
                    raise AssertionError(f"oidc_server.mjs exited with {rc} during start-up:\n"
                                         f"{self.logs()}")
                line += chunk
        doc = json.loads(line)
        if doc.get("ready") is not True or doc.get("issuer") != self.issuer:
            self.kill()
            raise AssertionError(f"unexpected start-up line from oidc_server.mjs: {line!r}")
        return doc

    def logs(self):
        if self.stderr_path is None or not os.path.exists(self.stderr_path):
            return ""
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, timeout=15.0):
        """SIGTERM; returns the exit code (the script exits 0 on SIGTERM)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"oidc_server.mjs ignored SIGTERM for {timeout}s")
        self.proc.stdout.close()
        self.proc = None
        return rc

    def kill(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc.stdout.close()
            self.proc = None

    def request(self, method, path, body=None, headers=None):
        ctx = ssl.create_default_context(cafile=self.ca)
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=15)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def token(self, client, resource=AUDIENCE):
        """A client-credentials access token (client_secret_basic) for `resource`."""
        basic = base64.b64encode(
            f"{urllib.parse.quote(client['client_id'], safe='')}:"
            f"{urllib.parse.quote(client['client_secret'], safe='')}".encode()).decode()
        status, body = self.request(
            "POST", "/token",
            body=urllib.parse.urlencode({"grant_type": "client_credentials",
                                         "resource": resource}).encode(),
            headers={"Authorization": "Basic " + basic,
                     "Content-Type": "application/x-www-form-urlencoded"})
        if status != 200:
            raise AssertionError(f"oidc-provider refused a token to {client['client_id']}: "
                                 f"{status} {body!r}\n{self.logs()}")
        doc = json.loads(body)
        if doc.get("token_type") != "Bearer":
            raise AssertionError(f"unexpected token answer {doc}")
        return doc["access_token"]


class OidcProviderIssuer(unittest.TestCase):
    """One oidc-provider and one attestd (trusting it by discovery) for the whole class."""

    @classmethod
    def setUpClass(cls):
        h.require_node("oidc-provider", "jose")
        cls.provider = None
        cls.d = h.Daemon(start=False)
        try:
            cls.tokens = []  # every token handed to attestd: none may reach its log
            idp = os.path.join(cls.d.tmp, "idp")
            os.makedirs(idp)
            cls.ca, cert, key = make_test_ca(idp)
            cls.jwks1 = os.path.join(idp, "jwks-1.json")
            cls.kid1 = "key-1-" + h.uuid4()[:8]
            new_jwks(cls.jwks1, cls.kid1)
            clients_path = os.path.join(idp, "clients.json")
            with open(clients_path, "w", encoding="utf-8") as f:
                json.dump({"clients": [CLIENT_A, CLIENT_B]}, f)
            cls.provider = OidcProvider(idp, h.free_port(), cls.ca, cert, key, clients_path)
            cls.provider.start(cls.jwks1)
            cls.iss = cls.provider.issuer
            cls.issuers_path = os.path.join(cls.d.tmp, "issuers.json")
            with open(cls.issuers_path, "w", encoding="utf-8") as f:
                json.dump({"issuers": [{
                    "name": ISSUER_NAME,
                    "issuer": cls.iss,
                    "audiences": [AUDIENCE],
                    "discovery": True,
                    "ca_file": cls.ca,
                    "subject_claim": "sub",
                    "roles_claim": "roles",
                    "role_map": {
                        "attestd.owner": "Owner",
                        "attestd.reader": {"role": "AttestationReader", "provider": "*"},
                    },
                    "groups_claim": "groups",
                    "refresh_min_interval": REFRESH_MIN_INTERVAL,
                }]}, f, indent=2)
            # No backoff: the refusals here are on purpose (test_backoff.py covers backoff).
            cls.d.write_config(f"issuers_file = {cls.issuers_path}\nauth_max_failures = 0\n")
            cls.d.start()
            with open(os.path.join(cls.d.data, "bootstrap-owner.json"), encoding="utf-8") as f:
                cls.owner = json.load(f)
        except BaseException:
            cls.tear_down()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.tear_down()

    @classmethod
    def tear_down(cls):
        try:
            if cls.provider is not None:
                cls.provider.stop()
        finally:
            if cls.provider is not None:
                cls.provider.kill()
            cls.d.cleanup()

    # ---- helpers ----

    def token(self, client, resource=AUDIENCE):
        t = self.provider.token(client, resource)
        type(self).tokens.append(t)
        return t

    def whoami(self, token):
        status, _, body = self.d.request("GET", "/attestd/whoami", headers=bearer(token))
        self.assertEqual(status, 200, f"attestd refused the oidc-provider token: {body!r}\n"
                                      f"{self.d.logs()[-3000:]}")
        return json.loads(body)

    def assert_caller(self, who, client, groups, token_roles, roles=None):
        """The fields att_api_whoami gives an external caller (others are not asserted)."""
        expected = {"kind": "subject", "subject": client["client_id"], "issuer": self.iss,
                    "name": ISSUER_NAME, "groups": groups, "tokenRoles": token_roles}
        if roles is not None:
            expected["roles"] = roles
        self.assertEqual({k: who.get(k) for k in expected}, expected, who)

    def roles_status(self, token):
        status, _, body = self.d.request("GET", "/attestd/roleAssignments", headers=bearer(token))
        if status == 403:
            self.assertEqual(h.error_of(body)[0], "Forbidden")
        return status

    def assert_invalid_token(self, token):
        """401, MAA's error body and the RFC 6750 challenge with error="invalid_token";
        returns the error message."""
        status, headers, body = self.d.request("GET", "/attestd/whoami", headers=bearer(token))
        self.assertEqual(status, 401, body)
        code, message = h.error_of(body)
        self.assertEqual(code, "Unauthorized")
        challenges = headers.get_all("WWW-Authenticate")
        self.assertEqual(len(challenges or []), 1, challenges)
        m = re.fullmatch(r'Bearer realm="attestd", error="invalid_token", '
                         r'error_description="([^"]+)"', challenges[0])
        self.assertIsNotNone(m, challenges[0])
        self.assertEqual(m.group(1), message)
        return message

    def owner_token(self):
        """attestd's own token for the bootstrap owner (client_secret_post)."""
        status, _, body = self.d.request(
            "POST", "/oauth2/token",
            body=urllib.parse.urlencode({"grant_type": "client_credentials",
                                         "client_id": self.owner["client_id"],
                                         "client_secret": self.owner["client_secret"]}).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200, body)
        return json.loads(body)["access_token"]

    def admin_post(self, path, doc, token):
        return self.d.request("POST", path, body=json.dumps(doc).encode(),
                              headers={**bearer(token), "Content-Type": "application/json"})

    # ---- tests (run in name order; test_4 rotates the provider's key) ----

    def test_0_provider_tokens_are_what_attestd_expects(self):
        """The provider side alone, so a failure below is attestd's, not the set-up's."""
        status, body = self.provider.request("GET", "/.well-known/openid-configuration")
        self.assertEqual(status, 200, body)
        disc = json.loads(body)
        self.assertEqual(disc["issuer"], self.iss)
        self.assertEqual(disc["jwks_uri"], self.iss + "/jwks")
        status, body = self.provider.request("GET", "/jwks")
        self.assertEqual(status, 200, body)
        jwks = json.loads(body)
        self.assertEqual([(k["kid"], k["kty"], k.get("use")) for k in jwks["keys"]],
                         [(self.kid1, "RSA", "sig")])
        self.assertFalse({"d", "p", "q"} & set(jwks["keys"][0]), "private members published")
        token = self.provider.token(CLIENT_B)
        header, claims = h.verify_jws(token, jwks)
        self.assertEqual(header, {"alg": "RS256", "typ": "at+jwt", "kid": self.kid1})
        self.assertEqual((claims["iss"], claims["aud"], claims["sub"], claims["client_id"]),
                         (self.iss, AUDIENCE, CLIENT_B["client_id"], CLIENT_B["client_id"]))
        self.assertEqual((claims["roles"], claims["groups"]), (["attestd.reader"], ["ops"]))
        self.assertLessEqual(abs(claims["iat"] - time.time()), 60)
        self.assertEqual(claims["exp"] - claims["iat"], 300)
        other = h.decode_jwt(self.provider.token(CLIENT_A, OTHER_AUDIENCE))[1]
        self.assertEqual((other["aud"], other["roles"]), (OTHER_AUDIENCE, ["attestd.owner"]))
        self.assertNotIn("groups", other)

    def test_1_owner_by_role_map(self):
        token = self.token(CLIENT_A)
        who = self.whoami(token)
        self.assert_caller(who, CLIENT_A, groups=[], token_roles=[OWNER_ALL], roles=[])
        status, _, body = self.d.request("GET", "/attestd/roleAssignments", headers=bearer(token))
        self.assertEqual(status, 200, body)
        self.assertIsInstance(json.loads(body)["roleAssignments"], list)

    def test_2_reader_then_owner_by_group_and_by_subject(self):
        token = self.token(CLIENT_B)
        self.assert_caller(self.whoami(token), CLIENT_B, groups=["ops"],
                           token_roles=[READER_ALL], roles=[])
        self.assertEqual(self.roles_status(token), 403)
        # An Owner gives group "ops" of this issuer the Owner role, through the REST API.
        owner = self.owner_token()
        status, _, body = self.admin_post(
            "/attestd/roleAssignments",
            {"subjectKind": "group", "subject": "ops", "issuer": self.iss, "role": "Owner",
             "provider": "*"}, owner)
        self.assertEqual(status, 201, body)
        assignment = json.loads(body)["id"]
        try:
            self.assertEqual(self.roles_status(token), 200)
            self.assertEqual(self.whoami(token)["roles"], [OWNER_ALL])
            # Group "ops" of this issuer, not anyone's: client A (no groups) gains nothing.
            self.assertEqual(self.whoami(self.token(CLIENT_A))["roles"], [])
        finally:
            status, _, body = self.admin_post("/attestd/roleAssignments:remove",
                                              {"id": assignment}, owner)
            self.assertEqual(status, 200, body)
        self.assertEqual(self.roles_status(token), 403)
        self.assertEqual(self.whoami(token)["roles"], [])
        # The same for the subject itself, with attestctl.
        out = self.d.attestctl("role", "assign", "--role", "Owner", "--subject",
                               CLIENT_B["client_id"], "--issuer", self.iss)
        assignment = json.loads(out.stdout)["id"]
        try:
            self.assertEqual(self.roles_status(token), 200)
        finally:
            self.d.attestctl("role", "revoke", assignment)
        self.assertEqual(self.roles_status(token), 403)

    def test_3_wrong_audience_refused(self):
        token = self.token(CLIENT_A, OTHER_AUDIENCE)
        self.assertEqual(h.decode_jwt(token)[1]["aud"], OTHER_AUDIENCE)
        message = self.assert_invalid_token(token)
        self.assertIn("audience", message)
        status, _, body = self.d.request("GET", "/attestd/roleAssignments",
                                         headers=bearer(token))
        self.assertEqual(status, 401, body)
        self.assertEqual(h.error_of(body)[0], "Unauthorized")

    def test_4_key_rotation_without_restarting_attestd(self):
        pid = self.d.proc.pid
        old = self.token(CLIENT_A)
        self.assertEqual(h.decode_jwt(old)[0]["kid"], self.kid1)
        self.whoami(old)
        self.assertEqual(self.provider.stop(), 0, self.provider.logs())
        # Provider down: the keys attestd holds still serve (known kid, not stale).
        self.whoami(old)
        kid2 = "key-2-" + h.uuid4()[:8]
        jwks2 = os.path.join(self.provider.tmp, "jwks-2.json")
        new_jwks(jwks2, kid2)
        self.provider.start(jwks2)  # same port, same issuer, only the new key published
        new = self.token(CLIENT_A)
        self.assertEqual(h.decode_jwt(new)[0]["kid"], kid2)
        # The unknown kid makes attestd refetch (at most once per refresh_min_interval).
        deadline = time.monotonic() + REFRESH_MIN_INTERVAL + 4
        while True:
            status, _, body = self.d.request("GET", "/attestd/whoami", headers=bearer(new))
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(status, 200, f"the rotated key was not picked up: {body!r}\n"
                                      f"{self.d.logs()[-3000:]}")
        self.assert_caller(json.loads(body), CLIENT_A, groups=[], token_roles=[OWNER_ALL])
        # The refetch replaced the keys: the old kid is gone, so the old (unexpired) token is out.
        self.assertGreater(h.decode_jwt(old)[1]["exp"], time.time() + 60)
        time.sleep(REFRESH_MIN_INTERVAL)  # whatever refetch its unknown kid may trigger
        message = self.assert_invalid_token(old)
        self.assertIn("key", message)
        self.whoami(new)
        self.assertEqual(self.d.proc.pid, pid, "attestd was restarted")

    def test_5_decisions_logged_without_tokens(self):
        token = self.token(CLIENT_B)
        self.whoami(token)
        self.assertEqual(self.roles_status(token), 403)
        wrong = self.token(CLIENT_B, OTHER_AUDIENCE)
        self.assert_invalid_token(wrong)
        logs = self.d.logs()
        self.assertTrue(self.tokens)
        for t in self.tokens:
            self.assertNotIn(t, logs)
            self.assertNotIn(t.split(".")[2], logs)  # not even the signature
        events = [e for e in self.d.log_events() if e.get("msg") == "authorization"]

        def of(t):
            return [e for e in events if e.get("token") == fingerprint(t)]

        allowed = [e for e in of(token) if e["result"] == "allowed"]
        self.assertTrue(allowed, of(token))
        for e in allowed:
            self.assertEqual((e["principal"], e["principal_name"], e["issuer"]),
                             (CLIENT_B["client_id"], ISSUER_NAME, self.iss), e)
        forbidden = [e for e in of(token) if e["result"] == "forbidden"]
        self.assertEqual(len(forbidden), 1, of(token))
        self.assertEqual(forbidden[0]["issuer"], self.iss)
        refused = of(wrong)
        self.assertEqual([e["result"] for e in refused], ["unauthenticated"], refused)
        self.assertIn("AUDIENCE", refused[0]["reason"])
        # Every token used in this class left its fingerprint (and only that) in the log.
        for t in self.tokens:
            self.assertTrue(of(t), f"no authorization event for token {fingerprint(t)}")
            for e in of(t):
                self.assertRegex(e["token"], r"^[0-9a-f]{16}$")


if __name__ == "__main__":
    unittest.main()
