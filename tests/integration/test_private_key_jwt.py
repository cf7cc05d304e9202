"""private_key_jwt client authentication at POST /oauth2/token (RFC 7523 §2.2, OpenID Connect
Core §9), black-box: principals with a registered EC P-256, P-384 or RSA certificate sign JWT
client assertions with the `openssl` CLI (harness.sign_jwt) and get attestd access tokens that
work at /attestd/whoami; replayed, expired, mis-addressed, mis-signed and otherwise wrong
assertions are refused with 401 invalid_client and a description naming the problem; mixing
an assertion with a secret is refused as a request error (RFC 6749 §2.3, §5.2); nothing is a
500 and no assertion reaches the log.

Backoff is off (auth_max_failures = 0): the negative cases fail on purpose from one address.
"""
import base64
import hashlib
import json
import os
import time
import unittest
import urllib.parse
import uuid

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

import harness as h

CONFIG = "auth_max_failures = 0"
FORM = "application/x-www-form-urlencoded"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def form(*pairs):
    return urllib.parse.urlencode(list(pairs)).encode()


def fingerprint(text):
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def make_cert(d, name, kind):
    """A key (harness.new_signing_key) and a self-signed certificate for it, in PEM."""
    key = h.new_signing_key(os.path.join(d, name + ".key"), kind)
    pem = os.path.join(d, name + ".pem")
    h.openssl("req", "-new", "-x509", "-key", key, "-out", pem, "-days", "30",
              "-subj", f"/CN={name}")
    return key, pem


class PrivateKeyJwtTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon(config=CONFIG)
        try:
            cls.pki = os.path.join(cls.d.tmp, "pki")
            os.mkdir(cls.pki)
            with open(os.path.join(cls.d.data, "bootstrap-owner.json"), encoding="utf-8") as f:
                owner = json.load(f)
            status, _, body = cls.d.request(
                "POST", "/oauth2/token", headers={"Content-Type": FORM},
                body=form(("grant_type", "client_credentials"),
                          ("client_id", owner["client_id"]),
                          ("client_secret", owner["client_secret"])))
            assert status == 200, body
            # attestd's issuer (public_url) is the "iss" of its own access tokens.
            cls.issuer = h.decode_jwt(json.loads(body)["access_token"])[1]["iss"]
            cls.endpoint = cls.issuer + "/oauth2/token"
            cls.ec = cls.client("jwt-ec", "p256")
            cls.ec384 = cls.client("jwt-ec384", "p384")
            cls.rsa = cls.client("jwt-rsa", "rsa")
            cls.nocert = cls.client("jwt-nocert", None)
            cls.stranger_key = h.new_signing_key(os.path.join(cls.pki, "stranger.key"), "p256")
        except BaseException:
            cls.d.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    @classmethod
    def client(cls, name, kind):
        """A principal with a role; with a registered certificate unless kind is None."""
        doc = json.loads(cls.d.attestctl("principal", "create", name).stdout)
        cls.d.attestctl("role", "assign", "--role", "AttestationReader", "--principal", name)
        key = None
        if kind is not None:
            key, pem = make_cert(cls.pki, name, kind)
            cls.d.attestctl("principal", "cert", name, pem)
        return {"name": name, "id": doc["client_id"], "secret": doc["client_secret"], "key": key}

    # ---- helpers ----

    def claims(self, client, **changes):
        now = int(time.time())
        c = {"iss": client["id"], "sub": client["id"], "aud": self.endpoint, "iat": now,
             "exp": now + 120, "jti": str(uuid.uuid4())}
        for k, v in changes.items():
            if v is None:
                c.pop(k, None)
            else:
                c[k] = v
        return c

    def assertion(self, client, alg="ES256", key=None, header=None, **changes):
        return h.sign_jwt(key or client["key"], alg, self.claims(client, **changes),
                          header=header)

    def token_request(self, assertion, extra=(), headers=None,
                      assertion_type=JWT_BEARER):
        fields = [("grant_type", "client_credentials")]
        if assertion_type is not None:
            fields.append(("client_assertion_type", assertion_type))
        if assertion is not None:
            fields.append(("client_assertion", assertion))
        fields += list(extra)
        return self.d.request("POST", "/oauth2/token", body=form(*fields),
                              headers={"Content-Type": FORM, **(headers or {})})

    def get_token(self, assertion, **kw):
        status, headers, body = self.token_request(assertion, **kw)
        self.assertEqual(status, 200, body)
        doc = json.loads(body)
        self.assertEqual(doc["token_type"], "Bearer")
        self.assertEqual(doc["expires_in"], 600)
        self.assertEqual(headers["Cache-Control"], "no-store")
        return doc["access_token"]

    def assert_refused(self, resp, words, status=401, error="invalid_client"):
        code, headers, body = resp
        self.assertEqual(code, status, body)
        doc = json.loads(body)
        self.assertEqual(set(doc), {"error", "error_description"}, body)
        self.assertEqual(doc["error"], error, body)
        self.assertIn(words, doc["error_description"])
        self.assertEqual(headers["Cache-Control"], "no-store")
        return doc

    def whoami(self, token):
        status, _, body = self.d.request("GET", "/attestd/whoami",
                                         headers={"Authorization": "Bearer " + token})
        self.assertEqual(status, 200, body)
        return json.loads(body)

    # ---- accepted ----

    def test_ec_and_rsa_clients_get_tokens(self):
        for client, alg in ((self.ec, "ES256"), (self.ec384, "ES384"), (self.rsa, "RS256"),
                            (self.rsa, "PS256")):
            with self.subTest(client=client["name"], alg=alg):
                token = self.get_token(self.assertion(client, alg))
                who = self.whoami(token)
                self.assertEqual(who["kind"], "principal")
                self.assertEqual(who["subject"], client["id"])
                self.assertEqual(who["name"], client["name"])
        # The client_id parameter may be given; aud may be the issuer, or an array.
        self.get_token(self.assertion(self.ec), extra=[("client_id", self.ec["id"])])
        self.get_token(self.assertion(self.ec, aud=self.issuer))
        self.get_token(self.assertion(self.ec, aud=["https://other.example", self.endpoint]))
        # The use is recorded as for secrets.
        shown = json.loads(self.d.attestctl("principal", "show", self.ec["name"]).stdout)
        self.assertIsNotNone(shown["last_used"])
        self.assertEqual(shown["last_used_from"], "127.0.0.1")
        self.assertTrue(shown["private_key_jwt"])
        self.assertRegex(shown["client_cert_sha256"], r"^[0-9a-f]{64}$")

    def test_secrets_still_work_for_a_principal_with_a_certificate(self):
        status, _, body = self.d.request(
            "POST", "/oauth2/token", headers={"Content-Type": FORM},
            body=form(("grant_type", "client_credentials"), ("client_id", self.rsa["id"]),
                      ("client_secret", self.rsa["secret"])))
        self.assertEqual(status, 200, body)

    # ---- refused: the cases the issue names ----

    def test_replayed_assertion(self):
        a = self.assertion(self.ec)
        self.get_token(a)
        self.assert_refused(self.token_request(a), "jti was used before")
        # A new signature over the same jti is the same assertion id.
        jti = json.loads(h.b64url_decode(a.split(".")[1]))["jti"]
        self.assert_refused(self.token_request(self.assertion(self.ec, jti=jti)),
                            "jti was used before")

    def test_expired(self):
        now = int(time.time())
        self.assert_refused(self.token_request(self.assertion(self.ec, iat=now - 400,
                                                              exp=now - 120)), "expired")

    def test_wrong_audience(self):
        for aud in ("https://elsewhere.example/oauth2/token", self.endpoint + "/",
                    self.issuer + "/token", "attestd", [], ["https://a.example"]):
            with self.subTest(aud=aud):
                self.assert_refused(self.token_request(self.assertion(self.ec, aud=aud)), "aud")

    def test_assertion_with_a_secret(self):
        # RFC 6749 §2.3: one method only; §5.2 calls that invalid_request.
        a = self.assertion(self.ec)
        basic = base64.b64encode(f"{self.ec['id']}:{self.ec['secret']}".encode()).decode()
        self.assert_refused(self.token_request(a, headers={"Authorization": "Basic " + basic}),
                            "one client authentication method", 400, "invalid_request")
        self.assert_refused(self.token_request(a, extra=[("client_secret", self.ec["secret"])]),
                            "one client authentication method", 400, "invalid_request")
        # Neither attempt used the assertion up.
        self.get_token(a)

    def test_principal_without_certificate(self):
        a = self.assertion(self.nocert, key=self.stranger_key)
        self.assert_refused(self.token_request(a), "no certificate is registered")
        # An unknown client reads the same as one without a certificate.
        ghost = {"id": str(uuid.uuid4()), "key": self.stranger_key}
        self.assert_refused(self.token_request(self.assertion(ghost)),
                            "no certificate is registered")

    # ---- refused: more ----

    def test_signature_and_algorithm(self):
        # Signed by a key other than the registered one.
        self.assert_refused(self.token_request(self.assertion(self.ec, key=self.stranger_key)),
                            "signature does not verify")
        # Another principal's id in iss/sub, signed with this key.
        claims = self.claims(self.rsa)
        self.assert_refused(self.token_request(h.sign_jwt(self.ec["key"], "ES256", claims)),
                            "alg does not fit")
        claims = self.claims(self.ec384)
        self.assert_refused(self.token_request(h.sign_jwt(self.ec["key"], "ES256", claims)),
                            "alg does not fit")
        # alg none, HMAC, an alg that does not fit the key.
        c = h.b64url_encode_json(self.claims(self.ec))
        none = h.b64url_encode_json({"alg": "none"}) + "." + c + "."
        self.assert_refused(self.token_request(none), "alg none")
        hs = h.b64url_encode_json({"alg": "HS256"}) + "." + c + "." + h.b64url_encode(b"x" * 32)
        self.assert_refused(self.token_request(hs), "HMAC")
        self.assert_refused(self.token_request(self.assertion(self.rsa, "ES256",
                                                              key=self.ec["key"])),
                            "alg does not fit")
        # A changed claim under the original signature.
        a = self.assertion(self.ec)
        hd, p, s = a.split(".")
        doc = json.loads(h.b64url_decode(p))
        doc["exp"] += 10
        self.assert_refused(self.token_request(f"{hd}.{h.b64url_encode_json(doc)}.{s}"),
                            "signature does not verify")
        # Not a JWS at all; over the size cap (the form's own cap answers first).
        self.assert_refused(self.token_request("not-a-jwt"), "not a compact JWS")
        self.assert_refused(self.token_request("a" * 8200), "form", 400, "invalid_request")

    def test_claims(self):
        now = int(time.time())
        for changes, words in (
                ({"iss": "someone-else"}, "iss must be"),
                ({"sub": None}, "sub must be"),
                ({"exp": None}, "needs exp"),
                ({"jti": None}, "jti"),
                ({"jti": ""}, "jti"),
                ({"jti": "j" * 257}, "jti"),
                ({"exp": now + 700}, "lifetime"),
                ({"iat": None, "exp": now + 700}, "lifetime"),
                ({"nbf": now + 300, "exp": now + 400}, "in the future"),
                ({"iat": now + 300, "exp": now + 400}, "in the future"),
                ({"exp": str(now + 60)}, "needs exp")):
            with self.subTest(changes=changes):
                self.assert_refused(self.token_request(self.assertion(self.ec, **changes)), words)
        # The client_id parameter must name the assertion's client.
        self.assert_refused(self.token_request(self.assertion(self.ec),
                                               extra=[("client_id", self.rsa["id"])]),
                            "sub must be")

    def test_disabled_principal(self):
        client = self.client("jwt-disabled", "p256")
        self.get_token(self.assertion(client))
        self.d.attestctl("principal", "disable", client["name"])
        self.assert_refused(self.token_request(self.assertion(client)), "disabled")
        self.d.attestctl("principal", "enable", client["name"])
        self.get_token(self.assertion(client))
        # Clearing the certificate ends private_key_jwt for the principal.
        self.d.attestctl("principal", "cert", client["name"], "--clear")
        self.assert_refused(self.token_request(self.assertion(client)),
                            "no certificate is registered")

    def test_request_shape(self):
        a = self.assertion(self.ec)
        self.assert_refused(self.token_request(a, assertion_type=None), "go together", 400,
                            "invalid_request")
        self.assert_refused(self.token_request(None), "go together", 400, "invalid_request")
        self.assert_refused(self.token_request(a, assertion_type="urn:example:saml"),
                            "client_assertion_type must be", 400, "invalid_request")
        self.get_token(a)

    def test_zz_logged_without_assertions(self):
        # unittest runs a class's tests in name order: this one last, over the whole log.
        events = self.d.log_events()
        self.assertFalse([e for e in events
                          if e.get("msg") == "request" and e.get("status", 0) >= 500])
        token_requests = [e for e in events if e.get("msg") == "token request" and
                          e.get("method") == "private_key_jwt"]
        issued = [e for e in token_requests if e.get("result") == "issued"]
        refused = [e for e in token_requests if e.get("result") == "refused"]
        self.assertTrue(issued)
        self.assertTrue(refused)
        for e in issued + refused:
            self.assertRegex(e["assertion"], r"^[0-9a-f]{16}$")
            self.assertEqual(e["peer"], "127.0.0.1")
        self.assertIn(self.ec["id"], {e["client_id"] for e in issued})
        reasons = {e["reason"] for e in refused}
        for r in ("ATT_ERR_TOKEN_REPLAY", "ATT_ERR_TOKEN_EXPIRED", "ATT_ERR_TOKEN_AUDIENCE",
                  "ATT_ERR_NO_CLIENT_CERT", "ATT_ERR_CREDENTIALS", "ATT_ERR_SIGNATURE",
                  "ATT_ERR_ALG_NONE", "ATT_ERR_ALG_UNSUPPORTED", "ATT_ERR_ALG_MISMATCH",
                  "ATT_ERR_PRINCIPAL_DISABLED", "ATT_ERR_TOKEN_LIFETIME"):
            self.assertIn(r, reasons)
        # No signature (the part only the key holder can make) appears in the log.
        probe = self.assertion(self.ec)
        self.get_token(probe)
        log = self.d.logs()
        self.assertNotIn(probe.split(".")[2], log)
        self.assertNotIn(probe, log)
        self.assertIn(fingerprint(probe), log)


def es256(key, claims):
    """A compact ES256 JWS in-process (python3-cryptography): thousands a second, where
    harness.sign_jwt runs the openssl CLI once per signature."""
    signing_input = (h.b64url_encode_json({"alg": "ES256", "typ": "JWT"}) + "." +
                     h.b64url_encode_json(claims)).encode()
    r, s = utils.decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return signing_input.decode() + "." + h.b64url_encode(r.to_bytes(32, "big") +
                                                          s.to_bytes(32, "big"))


class ReplayCacheShareTest(unittest.TestCase):
    """F09: the used-jti table (4096 entries, each kept until its assertion's exp + 60 s) is
    shared by every client. A principal with a registered certificate and no role at all used
    to fill it with 4096 valid assertions (exp = now + 600) and lock every other client out of
    private_key_jwt (503) for up to 11 minutes. Each client now holds at most its share (256):
    beyond it its own assertions are refused with 429, and nobody else's are."""

    def setUp(self):
        self.d = h.Daemon(config=CONFIG)
        self.addCleanup(lambda: self.d.cleanup())
        pki = os.path.join(self.d.tmp, "pki")
        os.mkdir(pki)
        self.endpoint = self.d.base_url + "/oauth2/token"
        self.mallory = self.client(pki, "mallory")  # no role
        self.alice = self.client(pki, "alice")

    def client(self, pki, name):
        doc = json.loads(self.d.attestctl("principal", "create", name).stdout)
        key_path, pem = make_cert(pki, name, "p256")
        self.d.attestctl("principal", "cert", name, pem)
        with open(key_path, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), None)
        return {"id": doc["client_id"], "key": key}

    def post(self, client, conn, lifetime=600):
        now = int(time.time())
        claims = {"iss": client["id"], "sub": client["id"], "aud": self.endpoint, "iat": now,
                  "exp": now + lifetime, "jti": str(uuid.uuid4())}
        status, headers, body = self.d.request(
            "POST", "/oauth2/token", conn=conn, headers={"Content-Type": FORM},
            body=form(("grant_type", "client_credentials"),
                      ("client_assertion_type", JWT_BEARER),
                      ("client_assertion", es256(client["key"], claims))))
        return status, headers, json.loads(body)

    def test_one_client_cannot_lock_the_others_out(self):
        conn = self.d.connection()
        try:
            counts = {}
            for _ in range(4097):
                status, headers, doc = self.post(self.mallory, conn)
                counts[status] = counts.get(status, 0) + 1
            self.assertEqual(counts, {200: 256, 429: 4097 - 256})
            self.assertEqual(doc["error"], "temporarily_unavailable")
            self.assertEqual(doc["error_description"],
                             "this client has too many unexpired assertions in use; retry later")
            self.assertEqual(headers["Retry-After"], "60")
            status, _, doc = self.post(self.alice, conn, lifetime=120)
            self.assertEqual(status, 200, doc)
        finally:
            conn.close()
        throttled = [e for e in self.d.log_events() if e.get("msg") == "token request" and
                     e.get("result") == "throttled"]
        self.assertEqual(len(throttled), 1, throttled)  # then counted
        self.assertEqual(throttled[0]["reason"], "ATT_ERR_REPLAY_CLIENT_QUOTA")


if __name__ == "__main__":
    unittest.main()
