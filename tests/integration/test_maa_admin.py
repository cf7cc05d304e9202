"""MAA policy management with the OFFICIAL client, black-box: npm `@azure/attestation` 1.0.0
(AttestationAdministrationClient, driven by tests/integration/js/maa_admin.mjs) against attestd.

The client runs with its default token validation switched on explicitly (validateToken: the
signature against GET /certs; validateExpirationTime; validateNotBeforeTime) plus
validateIssuer with expectedIssuer = the endpoint, so every token attestd answers is checked
by the client itself; the driver also reports which /certs key verified each token. Raw HTTP
checks in Python cover what the client hides (the answer token's signature and claims, the
hash of the JWS as sent).

  AadProviderTest       the default provider (AAD trust model): the default SGX policy
                        byte-exact, unsigned and signed (RS256, ES256) set, parse errors,
                        reset, the issuer check biting, signer management refused;
  IsolatedProviderTest  a provider created with `attestctl provider create --isolated
                        --signer` (ES256 result tokens): unsigned and untrusted changes
                        refused (the policy unchanged after each), trusted ones accepted,
                        signer certificates listed, added, removed, the last one kept;
  RolesTest             AttestationReader reads but may not change (403), an
                        AttestationContributor may.
Nothing here is skipped: without node or the npm packages (scripts/test.sh runs `npm ci` in
tests/integration/js) the tests fail with what to run.
"""
import base64
import hashlib
import json
import os
import subprocess
import unittest

import harness as h

API = "?api-version=2020-10-01"
DRIVER = os.path.join(h.JS_DIR, "maa_admin.mjs")
# The default SGX policy, version 1.0, byte-exact (docs/reference/maa-policy.md §3.7).
DEFAULT_SGX = (
    'version= 1.0;authorizationrules{c:[type=="$is-debuggable"] => permit();};issuancerules{'
    'c:[type=="$is-debuggable"] => issue(type="is-debuggable", value=c.value);'
    'c:[type=="$sgx-mrsigner"] => issue(type="sgx-mrsigner", value=c.value);'
    'c:[type=="$sgx-mrenclave"] => issue(type="sgx-mrenclave", value=c.value);'
    'c:[type=="$product-id"] => issue(type="product-id", value=c.value);'
    'c:[type=="$svn"] => issue(type="svn", value=c.value);'
    'c:[type=="$tee"] => issue(type="tee", value=c.value);};')
CUSTOM = ("version=1.0;\nauthorizationrules{\n\t=> permit();\n};\nissuancerules{\n"
          "\tc:[type==\"x-ms-sgx-mrsigner\"] => issue(type=\"custom-signer\", value=c.value);\n"
          "};\n")
CUSTOM2 = ('version=1.0;authorizationrules{=> permit();};'
           'issuancerules{=> issue(type="tier", value=2);};')
CUSTOM3 = 'version=1.0;authorizationrules{=> deny();};issuancerules{};'
NOT_A_POLICY = "version=1.0;authorizationrules{=> permit()};"  # missing ';' after the action
UNSIGNED_RESET = "eyJhbGciOiJub25lIn0.."
PRINCIPAL_CONFIG = "auth_max_failures = 0"


def sha256_b64url(text):
    return h.b64url_encode(hashlib.sha256(text.encode("ascii")).digest())


def sha1_hex(der):
    return hashlib.sha1(der).hexdigest()


def bearer(token):
    return {"Authorization": "Bearer " + token}


class Signer:
    """A policy signing key and its certificate (basicConstraints CA:TRUE), made with openssl:
    self-signed, or issued by `issuer` (another Signer)."""

    def __init__(self, tmp, name, kind="rsa", issuer=None):
        self.name = name
        self.key_path = os.path.join(tmp, f"{name}.key")
        self.cert_path = os.path.join(tmp, f"{name}.pem")
        h.new_signing_key(self.key_path, kind)
        ca_ext = ["-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"]
        if issuer is None:
            h.openssl("req", "-x509", "-new", "-key", self.key_path, "-sha256", "-days", "30",
                      "-subj", f"/CN={name}", "-out", self.cert_path, *ca_ext)
        else:
            csr = os.path.join(tmp, f"{name}.csr")
            ext = os.path.join(tmp, f"{name}.ext")
            h.openssl("req", "-new", "-key", self.key_path, "-subj", f"/CN={name}", "-out", csr)
            with open(ext, "w", encoding="utf-8") as f:
                f.write("basicConstraints=critical,CA:TRUE\n"
                        "keyUsage=critical,keyCertSign,cRLSign,digitalSignature\n")
            h.openssl("x509", "-req", "-in", csr, "-CA", issuer.cert_path, "-CAkey",
                      issuer.key_path, "-CAcreateserial", "-sha256", "-days", "30",
                      "-extfile", ext, "-out", self.cert_path)
        text = h.openssl("x509", "-in", self.cert_path, "-noout", "-text").stdout.decode()
        assert "CA:TRUE" in text, f"{name}: openssl made no CA certificate:\n{text}"
        with open(self.key_path, encoding="utf-8") as f:
            self.private_key = f.read()
        with open(self.cert_path, encoding="utf-8") as f:
            self.certificate = f.read()
        self.der = h.pem_to_der(self.certificate)
        self.x5c = base64.b64encode(self.der).decode("ascii")
        self.thumbprint = sha1_hex(self.der)

    def signing_key(self):
        """The driver's "signingKey": what the client's privateKey/certificate options take."""
        return {"privateKey": self.private_key, "certificate": self.certificate}

    def sign(self, alg, claims):
        """A policy JWS signed as MAA expects: x5c = [this certificate]."""
        return h.sign_jwt(self.key_path, alg, claims, header={"x5c": [self.x5c]})


class AdminCase(unittest.TestCase):
    """One daemon per class, the bootstrap owner's access token, and the driver."""

    @classmethod
    def setUpClass(cls):
        h.require_node("@azure/attestation", "jsrsasign", "@azure/core-client")
        cls.d = h.Daemon(config=PRINCIPAL_CONFIG)
        try:
            with open(os.path.join(cls.d.data, "bootstrap-owner.json"), encoding="utf-8") as f:
                owner = json.load(f)
            cls.owner_token = cls.token_for(owner["client_id"], owner["client_secret"])
            cls.prepare()
        except BaseException:
            cls.d.cleanup()
            raise

    @classmethod
    def prepare(cls):
        pass

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    @classmethod
    def token_for(cls, client_id, secret):
        """An access token from attestd's /oauth2/token (client credentials)."""
        status, _, body = cls.d.request(
            "POST", "/oauth2/token",
            body=(f"grant_type=client_credentials&client_id={client_id}"
                  f"&client_secret={secret}").encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        if status != 200:
            raise AssertionError(f"token request for {client_id} failed: {status} {body!r}")
        return json.loads(body)["access_token"]

    @classmethod
    def principal_token(cls, name, role, provider="*"):
        cred = json.loads(cls.d.attestctl("principal", "create", name).stdout)
        cls.d.attestctl("role", "assign", "--role", role, "--principal", name,
                        "--provider", provider)
        return cls.token_for(cred["client_id"], cred["client_secret"])

    # ---- the official client ----

    def endpoint(self, provider=None):
        return self.d.base_url + (f"/providers/{provider}" if provider else "")

    def client(self, ops, provider=None, token=None, expected_issuer=None):
        """Run maa_admin.mjs; returns one result dict per op. Checks every token the client
        accepted was verified by a key from the provider's GET /certs."""
        cmd = {"endpoint": self.endpoint(provider), "token": token or self.owner_token,
               "ops": ops}
        if expected_issuer is not None:
            cmd["expectedIssuer"] = expected_issuer
        env = dict(os.environ, NODE_EXTRA_CA_CERTS=self.d.ca)
        proc = subprocess.run([h.NODE, DRIVER], input=json.dumps(cmd), cwd=h.JS_DIR, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=120)
        self.assertEqual(proc.returncode, 0, f"maa_admin.mjs failed:\n{proc.stderr}")
        lines = [json.loads(line) for line in proc.stdout.splitlines()]
        self.assertEqual([r["op"] for r in lines], [o["op"] for o in ops], proc.stdout)
        jwks = None
        for r in lines:
            for s in r["sent"]:
                # Every call carries the credential's token (the client never goes anonymous).
                self.assertEqual(s["authorization"], "Bearer", s)
                if "/certs" not in s["url"]:
                    self.assertIn("api-version=2020-10-01", s["url"])
            if "error" in r:
                continue
            self.assertEqual(len(r["validations"]), 1, r)
            v = r["validations"][0]
            self.assertTrue(v["fromCerts"], f"the token was not verified by a /certs key: {r}")
            self.assertIn(v["alg"], ("RS256", "ES256"))
            # The same token, verified in Python against GET /certs, independently.
            answers = [s for s in r["sent"] if "/certs" not in s["url"]]
            self.assertEqual(len(answers), 1, r["sent"])
            if jwks is None:
                jwks = self.jwks(provider)
            header, claims = h.verify_jws(json.loads(answers[0]["response"])["token"], jwks)
            self.assertEqual(header["kid"], v["kid"])
            self.assertEqual(claims["iss"], self.endpoint(provider))
            r["claims"] = claims
        return lines

    def one(self, op, **kw):
        return self.client([op], **kw)[0]

    def assert_refused(self, result, status, code, *message_parts):
        self.assertIn("error", result, result)
        err = result["error"]
        self.assertEqual((err["name"], err["statusCode"], err["code"]),
                         ("RestError", status, code), err)
        for part in message_parts:
            self.assertIn(part, err["message"])
        return err

    def assert_policy(self, text, provider=None, signer=None, type_="SgxEnclave"):
        """getPolicy (official client) returns `text`; signed by `signer` (None: unsigned)."""
        r = self.one({"op": "getPolicy", "type": type_}, provider=provider)
        self.assertNotIn("error", r, r)
        self.assertEqual(r["policy"], text)
        if signer is None:
            self.assertEqual(r["policyJwsHeader"], {"alg": "none"})
            self.assertIsNone(r["policySigner"])
        else:
            self.assertEqual(r["policyJwsHeader"]["x5c"], [signer.x5c])
            self.assertIsNotNone(r["policySigner"], r)
            self.assertEqual([h.pem_to_der(p) for p in r["policySigner"]["certificates"]],
                             [signer.der])
        return r

    def set_policy(self, text, provider=None, signer=None, type_="SgxEnclave"):
        op = {"op": "setPolicy", "type": type_, "policy": text}
        if signer is not None:
            op["signingKey"] = signer.signing_key()
        return self.one(op, provider=provider)

    def check_set_result(self, r, signer=None):
        """An accepted setPolicy: Updated, the token hash = SHA-256 of the JWS as sent."""
        self.assertNotIn("error", r, r)
        self.assertEqual(r["policyResolution"], "Updated")
        sent = [s for s in r["sent"] if s["method"] == "PUT"]
        self.assertEqual(len(sent), 1, r["sent"])
        self.assertEqual(sent[0]["contentType"], "text/plain")
        jws = sent[0]["body"]
        self.assertEqual(r["policyTokenHash"], sha256_b64url(jws))
        self.assertEqual(r["claims"]["x-ms-policy-token-hash"], sha256_b64url(jws))
        self.assertEqual(r["claims"]["x-ms-policy-result"], "Updated")
        header = h.split_jws(jws)[0]
        if signer is None:
            self.assertEqual(header, {"alg": "none"})
            self.assertIsNone(r["policySigner"])
        else:
            self.assertEqual(header["x5c"], [signer.x5c])
            self.assertEqual([h.pem_to_der(p) for p in r["policySigner"]["certificates"]],
                             [signer.der])
        return jws

    # ---- raw HTTP ----

    def prefix(self, provider=None):
        return f"/providers/{provider}" if provider else ""

    def jwks(self, provider=None):
        status, _, doc = self.d.get_json(self.prefix(provider) + "/certs")
        self.assertEqual(status, 200, doc)
        return doc

    def raw(self, method, path, body=None, provider=None, content_type="text/plain",
            token=None):
        headers = bearer(token or self.owner_token)
        if body is not None:
            headers["Content-Type"] = content_type
            body = body.encode() if isinstance(body, str) else body
        return self.d.request(method, self.prefix(provider) + path + API, body=body,
                              headers=headers)

    def raw_token(self, resp, provider=None):
        """A 200 {"token": JWT} answer, verified against GET /certs: (header, claims)."""
        status, headers, body = resp
        self.assertEqual(status, 200, body)
        doc = json.loads(body)
        self.assertEqual(set(doc), {"token"}, body)
        header, claims = h.verify_jws(doc["token"], self.jwks(provider))
        self.assertEqual(claims["iss"], self.endpoint(provider))
        self.assertLessEqual(claims["nbf"], claims["exp"])
        self.assertIn("iat", claims)
        return header, claims


class AadProviderTest(AdminCase):
    """The default provider (AAD trust model: unsigned and signed policies accepted)."""

    @classmethod
    def prepare(cls):
        cls.rsa = Signer(cls.d.tmp, "aad-rsa")
        cls.ec = Signer(cls.d.tmp, "aad-ec", kind="p256")

    def setUp(self):
        # Every test starts from the default policy.
        status, _, body = self.raw("POST", "/policies/SgxEnclave:reset", UNSIGNED_RESET)
        self.assertEqual(status, 200, body)

    def test_default_policy_byte_exact(self):
        r = self.assert_policy(DEFAULT_SGX)
        # The client's whole exchange: /certs once (no api-version), then the policy.
        self.assertEqual([(s["method"], s["url"].split("?")[0].removeprefix(self.d.base_url))
                          for s in r["sent"]],
                         [("GET", "/policies/SgxEnclave"), ("GET", "/certs")])
        self.assertNotIn("?", [s for s in r["sent"] if s["url"].endswith("/certs")][0]["url"])
        stored = json.loads(h.b64url_decode(r["policyJws"].split(".")[1]))
        self.assertEqual(h.b64url_decode(stored["AttestationPolicy"]).decode(), DEFAULT_SGX)

    def test_unsigned_set_then_get(self):
        r = self.set_policy(CUSTOM)
        jws = self.check_set_result(r)
        self.assertEqual(jws, h.unsigned_policy_jws(CUSTOM))
        self.assertEqual(r["policy"], jws)  # x-ms-policy: the stored JWS
        got = self.assert_policy(CUSTOM)
        self.assertEqual(got["policyJws"], jws)

    def test_signed_rsa_set_then_get(self):
        r = self.set_policy(CUSTOM2, signer=self.rsa)
        jws = self.check_set_result(r, signer=self.rsa)
        self.assertEqual(h.split_jws(jws)[0]["alg"], "RS256")
        got = self.assert_policy(CUSTOM2, signer=self.rsa)
        self.assertEqual(got["policyJws"], jws)

    def test_signed_ec_set_then_get(self):
        # The client signs with ES256 for an EC certificate.
        r = self.set_policy(CUSTOM3, signer=self.ec)
        jws = self.check_set_result(r, signer=self.ec)
        self.assertEqual(h.split_jws(jws)[0]["alg"], "ES256")
        self.assert_policy(CUSTOM3, signer=self.ec)

    def test_parse_error_refused(self):
        self.check_set_result(self.set_policy(CUSTOM2))
        r = self.set_policy(NOT_A_POLICY)
        self.assert_refused(r, 400, "PolicyParsingError")
        self.assertEqual(r["sent"][-1]["status"], 400)
        self.assert_policy(CUSTOM2)

    def test_reset(self):
        self.check_set_result(self.set_policy(CUSTOM))
        r = self.one({"op": "resetPolicy", "type": "SgxEnclave"})
        self.assertNotIn("error", r, r)
        self.assertEqual(r["policyResolution"], "Removed")
        sent = [s for s in r["sent"] if s["method"] == "POST"]
        self.assertEqual(sent[0]["body"], UNSIGNED_RESET)
        self.assertTrue(sent[0]["url"].startswith(self.d.base_url + "/policies/SgxEnclave:reset?"))
        self.assertEqual(r["policyTokenHash"], sha256_b64url(UNSIGNED_RESET))
        self.assertIsNone(r["policySigner"])
        self.assert_policy(DEFAULT_SGX)

    def test_issuer_is_checked_by_the_client(self):
        # The same call with another expected issuer: the client itself refuses the token.
        wrong = self.d.base_url + "/providers/elsewhere"
        r = self.one({"op": "getPolicy", "type": "SgxEnclave"}, expected_issuer=wrong)
        self.assertEqual(r["error"]["message"],
                         f"Found issuer: {self.d.base_url}; expected issuer: {wrong}")
        self.assertIsNone(r["error"]["statusCode"])

    def test_signer_certificates_are_isolated_only(self):
        r = self.one({"op": "getCertificates"})
        self.assertEqual(r["certificates"], [])
        _, claims = self.raw_token(self.raw("GET", "/certificates"))
        self.assertEqual(claims["x-ms-policy-certificates"], {"keys": []})
        r = self.one({"op": "addCertificate", "pem": self.ec.certificate,
                      "signingKey": self.rsa.signing_key()})
        self.assert_refused(r, 400, "InvalidOperation", "Isolated")
        self.assertEqual(self.one({"op": "getCertificates"})["certificates"], [])

    def test_raw_put_answer_token(self):
        # What the client hides: the answer is signed by a /certs key and hashes the body sent.
        body = h.unsigned_policy_jws(CUSTOM)
        header, claims = self.raw_token(self.raw("PUT", "/policies/SgxEnclave", body))
        self.assertIn(header["alg"], ("RS256", "ES256"))
        self.assertEqual(claims["x-ms-policy-result"], "Updated")
        self.assertEqual(claims["x-ms-policy-token-hash"], sha256_b64url(body))
        self.assertEqual(claims["x-ms-policy"], body)
        self.assertNotIn("x-ms-policy-signer", claims)
        # Signed by hand (openssl), RS256 with x5c: the signer comes back as a JWK with x5c.
        body = self.rsa.sign("RS256", {"AttestationPolicy": h.b64url_encode(CUSTOM2.encode())})
        _, claims = self.raw_token(self.raw("PUT", "/policies/SgxEnclave", body))
        self.assertEqual(claims["x-ms-policy-result"], "Updated")
        self.assertEqual(claims["x-ms-policy-token-hash"], sha256_b64url(body))
        self.assertEqual(claims["x-ms-policy-signer"]["x5c"], [self.rsa.x5c])
        self.assertEqual(claims["x-ms-policy-signer"]["kty"], "RSA")
        # The official client reads the hand-signed policy back.
        self.assert_policy(CUSTOM2, signer=self.rsa)
        # GET: x-ms-policy is the stored JWS as sent.
        _, claims = self.raw_token(self.raw("GET", "/policies/SgxEnclave"))
        self.assertEqual(claims["x-ms-policy"], body)
        # Reset: "Removed", hash of the reset JWS.
        _, claims = self.raw_token(self.raw("POST", "/policies/SgxEnclave:reset",
                                            UNSIGNED_RESET))
        self.assertEqual(claims["x-ms-policy-result"], "Removed")
        self.assertEqual(claims["x-ms-policy-token-hash"], sha256_b64url(UNSIGNED_RESET))
        self.assert_policy(DEFAULT_SGX)


class IsolatedProviderTest(AdminCase):
    """A provider in Isolated mode: every change signed by a trusted signer. The tests run in
    order (test_1 ... test_7) and share the provider's state."""

    PROVIDER = "iso"

    @classmethod
    def prepare(cls):
        tmp = cls.d.tmp
        cls.signer1 = Signer(tmp, "iso-signer-1")
        cls.signer2 = Signer(tmp, "iso-signer-2", issuer=cls.signer1)
        cls.stranger = Signer(tmp, "iso-stranger")
        cls.d.attestctl("provider", "create", cls.PROVIDER, "--alg", "ES256", "--isolated",
                        "--signer", cls.signer1.cert_path)
        cls.d.reload()
        shown = json.loads(cls.d.attestctl("provider", "show", cls.PROVIDER).stdout)
        assert shown["trust_model"] == "Isolated", shown

    def iso(self, op):
        return self.one(op, provider=self.PROVIDER)

    def set_iso(self, text, signer=None):
        return self.set_policy(text, provider=self.PROVIDER, signer=signer)

    def assert_iso_policy(self, text, signer=None):
        return self.assert_policy(text, provider=self.PROVIDER, signer=signer)

    def certificates(self):
        r = self.iso({"op": "getCertificates"})
        self.assertNotIn("error", r, r)
        for c in r["certificates"]:
            self.assertEqual(len(c["certificates"]), 1, c)
            self.assertEqual(c["thumbprints"][0].lower(),
                             sha1_hex(h.pem_to_der(c["certificates"][0])))
        return sorted(h.pem_to_der(c["certificates"][0]) for c in r["certificates"])

    def cert_op(self, op, cert, signer):
        return self.iso({"op": op, "pem": cert.certificate, "signingKey": signer.signing_key()})

    def check_cert_result(self, r, resolution, cert):
        self.assertNotIn("error", r, r)
        self.assertEqual(r["certificateResolution"], resolution)
        self.assertEqual(r["certificateThumbprint"].lower(), cert.thumbprint)
        self.assertRegex(r["certificateThumbprint"], r"^[0-9A-Fa-f]{40}$")
        # The client sent the JWS as a JSON string (§4.4) signed by the acting signer.
        sent = [s for s in r["sent"] if s["method"] == "POST"][0]
        self.assertTrue(sent["contentType"].startswith("application/json"), sent)
        jws = json.loads(sent["body"])
        self.assertIsInstance(jws, str)
        header, claims, _, _ = h.decode_jwt(jws)
        self.assertEqual(claims["policyCertificate"]["x5c"], [cert.x5c])

    def test_1_signers_listed(self):
        self.assertEqual(self.certificates(), [self.signer1.der])
        _, claims = self.raw_token(self.raw("GET", "/certificates", provider=self.PROVIDER),
                                   provider=self.PROVIDER)
        keys = claims["x-ms-policy-certificates"]["keys"]
        self.assertEqual([(k["kty"], k["x5c"]) for k in keys], [("RSA", [self.signer1.x5c])])
        # The answer token is signed with the provider's own ES256 key.
        r = self.iso({"op": "getCertificates"})
        self.assertEqual(r["validations"][0]["alg"], "ES256")

    def test_2_unsigned_and_untrusted_refused(self):
        self.assert_iso_policy(DEFAULT_SGX)
        r = self.set_iso(CUSTOM)
        self.assert_refused(r, 400, "InvalidOperation", "Isolated")
        self.assert_iso_policy(DEFAULT_SGX)
        r = self.set_iso(CUSTOM, signer=self.stranger)
        self.assert_refused(r, 400, "InvalidOperation", "trusted")
        self.assert_iso_policy(DEFAULT_SGX)
        # signer2 is not trusted yet, although signer1 issued it.
        r = self.set_iso(CUSTOM, signer=self.signer2)
        self.assert_refused(r, 400, "InvalidOperation", "trusted")
        self.assert_iso_policy(DEFAULT_SGX)
        r = self.iso({"op": "resetPolicy", "type": "SgxEnclave"})
        self.assert_refused(r, 400, "InvalidOperation", "Isolated")
        # Raw: the same refusal as MAA's error body.
        status, _, body = self.raw("PUT", "/policies/SgxEnclave", h.unsigned_policy_jws(CUSTOM),
                                   provider=self.PROVIDER)
        self.assertEqual(status, 400, body)
        self.assertEqual(h.error_of(body)[0], "InvalidOperation")
        self.assert_iso_policy(DEFAULT_SGX)

    def test_3_trusted_signer_sets_and_resets(self):
        r = self.set_iso(CUSTOM, signer=self.signer1)
        self.check_set_result(r, signer=self.signer1)
        self.assertEqual(r["validations"][0]["alg"], "ES256")
        self.assert_iso_policy(CUSTOM, signer=self.signer1)
        # A parse error from a trusted signer: refused, policy unchanged.
        r = self.set_iso(NOT_A_POLICY, signer=self.signer1)
        self.assert_refused(r, 400, "PolicyParsingError")
        self.assert_iso_policy(CUSTOM, signer=self.signer1)
        # An untrusted signer cannot reset either.
        r = self.iso({"op": "resetPolicy", "type": "SgxEnclave",
                      "signingKey": self.stranger.signing_key()})
        self.assert_refused(r, 400, "InvalidOperation", "trusted")
        self.assert_iso_policy(CUSTOM, signer=self.signer1)
        r = self.iso({"op": "resetPolicy", "type": "SgxEnclave",
                      "signingKey": self.signer1.signing_key()})
        self.assertNotIn("error", r, r)
        self.assertEqual(r["policyResolution"], "Removed")
        sent = [s for s in r["sent"] if s["method"] == "POST"][0]["body"]
        self.assertEqual(h.split_jws(sent)[0]["x5c"], [self.signer1.x5c])
        self.assertEqual(r["policyTokenHash"], sha256_b64url(sent))
        self.assert_iso_policy(DEFAULT_SGX)

    def test_4_add_signer(self):
        # Refused: an untrusted signer may not add itself.
        r = self.cert_op("addCertificate", self.stranger, self.stranger)
        self.assert_refused(r, 400, "InvalidOperation", "trusted")
        self.assertEqual(self.certificates(), [self.signer1.der])
        r = self.cert_op("addCertificate", self.signer2, self.signer1)
        self.check_cert_result(r, "IsPresent", self.signer2)
        self.assertEqual(self.certificates(), sorted([self.signer1.der, self.signer2.der]))
        # Adding it again: IsPresent, nothing doubled.
        self.check_cert_result(self.cert_op("addCertificate", self.signer2, self.signer1),
                               "IsPresent", self.signer2)
        self.assertEqual(self.certificates(), sorted([self.signer1.der, self.signer2.der]))
        # The new signer is trusted now.
        self.check_set_result(self.set_iso(CUSTOM2, signer=self.signer2), signer=self.signer2)
        self.assert_iso_policy(CUSTOM2, signer=self.signer2)

    def test_5_remove_signer(self):
        r = self.cert_op("removeCertificate", self.signer2, self.stranger)
        self.assert_refused(r, 400, "InvalidOperation", "trusted")
        self.assertEqual(self.certificates(), sorted([self.signer1.der, self.signer2.der]))
        r = self.cert_op("removeCertificate", self.signer2, self.signer1)
        self.check_cert_result(r, "IsAbsent", self.signer2)
        self.assertEqual(self.certificates(), [self.signer1.der])
        # Removing it again: IsAbsent.
        self.check_cert_result(self.cert_op("removeCertificate", self.signer2, self.signer1),
                               "IsAbsent", self.signer2)
        # signer2 no longer changes anything; the policy it set stays in force.
        r = self.set_iso(CUSTOM3, signer=self.signer2)
        self.assert_refused(r, 400, "InvalidOperation", "trusted")
        self.assert_iso_policy(CUSTOM2, signer=self.signer2)

    def test_6_last_signer_stays(self):
        r = self.cert_op("removeCertificate", self.signer1, self.signer1)
        self.assert_refused(r, 400, "InvalidOperation", "last policy signer")
        self.assertEqual(self.certificates(), [self.signer1.der])
        self.check_set_result(self.set_iso(CUSTOM3, signer=self.signer1), signer=self.signer1)
        self.assert_iso_policy(CUSTOM3, signer=self.signer1)

    def test_8_required_bound_requests_refuse_the_clients_form(self):
        # docs/policies.md, "Bound requests": the official client cannot add binding claims, so
        # with the setting on its signed changes are refused, and a bound request made by
        # attestctl is accepted; the client still reads what that request set.
        self.d.attestctl("provider", "set", self.PROVIDER, "--require-bound-requests", "on")
        try:
            r = self.set_iso(CUSTOM2, signer=self.signer1)
            self.assert_refused(r, 400, "InvalidOperation",
                                'requires bound policy requests: the JWS protected header has '
                                'no "iat"')
            self.assert_iso_policy(CUSTOM3, signer=self.signer1)
            policy = os.path.join(self.d.tmp, "bound-policy.txt")
            with open(policy, "w", encoding="utf-8") as f:
                f.write(CUSTOM)
            jws = self.d.attestctl("policy", "sign", "set", "SgxEnclave", policy, "--key",
                                   self.signer1.key_path, "--cert", self.signer1.cert_path,
                                   "--audience", self.endpoint(self.PROVIDER),
                                   use_config=False).stdout.strip()
            header = h.split_jws(jws)[0]
            self.assertEqual(header["aud"], self.endpoint(self.PROVIDER))
            self.assertEqual(header["attestationType"], "SgxEnclave")
            status, _, body = self.raw("PUT", "/policies/SgxEnclave", jws, provider=self.PROVIDER)
            self.assertEqual(status, 200, body)
            got = self.assert_iso_policy(CUSTOM, signer=self.signer1)
            self.assertEqual(got["policyJws"], jws)
            # The same request again: refused, once only.
            status, _, body = self.raw("PUT", "/policies/SgxEnclave", jws, provider=self.PROVIDER)
            self.assertEqual(status, 400, body)
            self.assertEqual(h.error_of(body)[0], "InvalidOperation")
        finally:
            self.d.attestctl("provider", "set", self.PROVIDER, "--require-bound-requests", "off")
        # Off again: the client's own form works as before. Re-sending CUSTOM3 as signed in
        # test_6, since superseded, is a replay: refused, pointing to rollback.
        r = self.set_iso(CUSTOM3, signer=self.signer1)
        self.assert_refused(r, 400, "InvalidOperation", "has since been superseded",
                            "attestctl policy rollback SgxEnclave")
        self.assert_iso_policy(CUSTOM, signer=self.signer1)
        self.check_set_result(self.set_iso(CUSTOM2, signer=self.signer1), signer=self.signer1)
        self.assert_iso_policy(CUSTOM2, signer=self.signer1)

    def test_7_default_provider_untouched(self):
        # Nothing done to the Isolated provider changed the default provider.
        self.assert_policy(DEFAULT_SGX)
        self.assertEqual(self.one({"op": "getCertificates"})["certificates"], [])


class RolesTest(AdminCase):
    """AttestationReader reads; AttestationContributor changes (the owner covers the rest)."""

    @classmethod
    def prepare(cls):
        cls.reader_token = cls.principal_token("maa-reader", "AttestationReader")
        cls.contributor_token = cls.principal_token("maa-contributor", "AttestationContributor")

    def test_reader_reads_but_cannot_change(self):
        results = self.client([
            {"op": "getPolicy", "type": "SgxEnclave"},
            {"op": "getCertificates"},
            {"op": "setPolicy", "type": "SgxEnclave", "policy": CUSTOM},
            {"op": "resetPolicy", "type": "SgxEnclave"},
        ], token=self.reader_token)
        self.assertEqual(results[0]["policy"], DEFAULT_SGX)
        self.assertEqual(results[1]["certificates"], [])
        self.assert_refused(results[2], 403, "Forbidden")
        self.assert_refused(results[3], 403, "Forbidden")
        self.assert_policy(DEFAULT_SGX)

    def test_contributor_changes(self):
        results = self.client([
            {"op": "setPolicy", "type": "SgxEnclave", "policy": CUSTOM2},
            {"op": "getPolicy", "type": "SgxEnclave"},
            {"op": "resetPolicy", "type": "SgxEnclave"},
            {"op": "getPolicy", "type": "SgxEnclave"},
        ], token=self.contributor_token)
        self.check_set_result(results[0])
        self.assertEqual(results[1]["policy"], CUSTOM2)
        self.assertEqual(results[2]["policyResolution"], "Removed")
        self.assertEqual(results[3]["policy"], DEFAULT_SGX)


if __name__ == "__main__":
    unittest.main()
