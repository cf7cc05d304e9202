"""Policy management over raw HTTPS, black-box (docs/reference/maa-policy.md §4, docs/policies.md).

One daemon for the module. The default provider (AAD trust model) is served at the root URL;
two Isolated providers ("iso" for policies, "iso-keys" for signer changes) are made with
`attestctl provider create --isolated --signer` and served after a SIGHUP. Every answer is
checked exactly: status, MAA error code and message, the claims of the provider-signed result
tokens (verified against the provider's /certs), the stored policy and its history. A refused
request must leave the policy in force, the history and the signer set as they were.

Each test leaves the providers as it found them (signers) or only appends versions, and asserts
relative to the history it found, so tests do not depend on each other's order. The
test_zz_* methods (last in their class) and tearDownModule assert that no request was answered
with a 5xx.
"""
import base64
import hashlib
import json
import os
import re
import time
import unittest

import harness as h

API = "?api-version=2020-10-01"
NONE_HEADER = h.NONE_HEADER
ISO = "iso"
ISO_KEYS = "iso-keys"
ISO_REPLAY = "iso-replay"  # unbound (MAA's form) and bound requests, the setting off
ISO_BOUND = "iso-bound"    # require_bound_requests on
KEEP = "keep"              # AAD, policy_history_keep 3
RESULT_LIFETIME = 3600
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

# docs/reference/maa-policy.md §3.7: the v1.0 default SGX policy as MAA returned it, byte for byte.
DEFAULT_SGX = (
    'version= 1.0;authorizationrules{c:[type=="$is-debuggable"] => permit();};issuancerules{'
    'c:[type=="$is-debuggable"] => issue(type="is-debuggable", value=c.value);'
    'c:[type=="$sgx-mrsigner"] => issue(type="sgx-mrsigner", value=c.value);'
    'c:[type=="$sgx-mrenclave"] => issue(type="sgx-mrenclave", value=c.value);'
    'c:[type=="$product-id"] => issue(type="product-id", value=c.value);'
    'c:[type=="$svn"] => issue(type="svn", value=c.value);'
    'c:[type=="$tee"] => issue(type="tee", value=c.value);};')
DEFAULT_SGX_HASH = "egjnANIzEpS2WgpE4Nk-QEwM69XRCgTs42_G0qLlbnk"

POLICY_A = "version=1.0;\nauthorizationrules{\n=> permit();\n};\nissuancerules{};\n"
POLICY_B = ("version=1.0;\nauthorizationrules{\n=> permit();\n};\nissuancerules{\n"
            "=> issue(type=\"tier\", value=2);\n};\n")
POLICY_C = ("version=1.1;\nauthorizationrules{\n=> permit();\n};\nissuancerules{\n"
            "=> issue(type=\"tier\", value=3);\n};\n")
# Missing ';' after the action: the parser names line 1, column 44.
BROKEN = "version=1.0; authorizationrules{=> permit()}; issuancerules{};"
BROKEN_MESSAGE = "1:44: expected ';' after the action, found '}'"
BROKEN_MULTILINE = ("version=1.0;\nauthorizationrules{\n=> permit();\n};\nissuancerules{\n"
                    " c:[type==\"x\" => issue(type=\"a\", value=1);\n};\n")
BROKEN_MULTILINE_MESSAGE = "6:15: expected ',' or ']', found '=>'"

NOT_ISOLATED = ": the provider is in Isolated mode; the request must be signed by a trusted " \
               "policy signer"
UNTRUSTED = "the signing certificate is not a trusted policy signer of this provider"
BAD_JWS = "the request is not a valid policy JWS: "
UNSIGNED_WITH_SIGNATURE = "an unsigned JWS (alg none) has an empty signature part"
BAD_PAYLOAD = 'the JWS payload must be {"AttestationPolicy": base64url(policy text)}'
ROLLBACK_PAYLOAD = ('the JWS payload must be {"policyRollback": {"provider": NAME, '
                    '"attestationType": TYPE, "version": N}, "iat": SECONDS} naming this '
                    'provider, type and version')
ROLLBACK_STALE = "the rollback request's iat is missing or not within the last 10 minutes"
UNKNOWN_TYPE = "unknown attestation type; one of SgxEnclave, OpenEnclave, SevSnpVm, TdxVm, Tpm, AzureGuest"
FORBIDDEN = "the caller has no role that grants this operation here"

D = None  # the module's daemon
CERTS = {}  # name -> (key_path, cert_path, der)
KINDS = {}  # name -> "rsa" or "p256"
TOKENS = {}  # "owner", "reader", "contributor" -> access token
PRINCIPALS = {}


# ---- module fixture ----

def setUpModule():
    global D
    D = h.Daemon(config="auth_max_failures = 0")
    try:
        certs = os.path.join(D.tmp, "certs")
        os.makedirs(certs)
        now = int(time.time())

        def mk(name, kind, **kw):
            CERTS[name] = h.make_cert(certs, name, kind, **kw)
            KINDS[name] = kind
        mk("signer", "rsa")                      # iso's and iso-keys' trusted signer
        mk("signer2", "rsa")                     # added to iso-keys by a signed request
        mk("ec-signer", "p256")                  # AAD ES256 uploads; a third iso-keys signer
        mk("untrusted", "p256")                  # a sound CA certificate nobody trusts
        mk("expired", "p256", not_before=now - 10 * 86400, not_after=now - 86400)
        mk("future", "p256", not_before=now + 86400, not_after=now + 3 * 86400)
        mk("noca-issuer", "p256", ext="noca")    # issues certificates without being a CA
        mk("leaf-of-noca", "p256", ext="leaf", issuer=CERTS["noca-issuer"][:2])
        mk("lone-leaf", "p256", ext="leaf")      # self-signed, CA:FALSE
        mk("no-bc", "p256", ext="nobc")          # self-signed, no basicConstraints at all
        mk("leaf-of-signer", "p256", ext="leaf", issuer=CERTS["signer"][:2])
        for name in (ISO, ISO_KEYS, ISO_REPLAY, ISO_BOUND):
            D.attestctl("provider", "create", name, "--isolated", "--signer",
                        CERTS["signer"][1])
        D.attestctl("provider", "create", KEEP)
        for name, role in (("pm-reader", "AttestationReader"),
                           ("pm-contributor", "AttestationContributor")):
            PRINCIPALS[name] = json.loads(D.attestctl("principal", "create", name).stdout)
            D.attestctl("role", "assign", "--role", role, "--principal", name, "--provider", "*")
        D.reload()
        with open(os.path.join(D.data, "bootstrap-owner.json"), encoding="utf-8") as f:
            owner = json.load(f)
        PRINCIPALS["bootstrap-owner"] = owner
        for who, name in (("owner", "bootstrap-owner"), ("reader", "pm-reader"),
                          ("contributor", "pm-contributor")):
            p = PRINCIPALS[name]
            TOKENS[who] = h.client_token(D, p["client_id"], p["client_secret"])
    except BaseException:
        D.cleanup()
        raise


def tearDownModule():
    try:
        errors = server_errors()
        if errors:
            raise AssertionError(f"requests answered with 5xx: {errors}")
    finally:
        D.cleanup()


def server_errors():
    return [e for e in D.log_events() if e.get("msg") == "request" and e.get("status", 0) >= 500]


# ---- JOSE and policy helpers ----

def token_hash(jws):
    return h.b64url_encode(hashlib.sha256(jws.encode()).digest())


def policy_payload(text):
    return json.dumps({"AttestationPolicy": h.b64url_encode(text.encode())},
                      separators=(",", ":")).encode()


def unsigned_policy(text):
    return NONE_HEADER + "." + h.b64url_encode(policy_payload(text)) + "."


def b64der(name):
    return base64.b64encode(CERTS[name][2]).decode()


def signed(name, payload, alg=None, x5c=None, header=None):
    """A JWS over `payload` (bytes) signed by certificate `name`'s key; x5c defaults to that
    certificate alone."""
    key = CERTS[name][0]
    if alg is None:
        alg = "RS256" if KINDS[name] == "rsa" else "ES256"
    hdr = {"alg": alg, "x5c": x5c if x5c is not None else [b64der(name)]}
    hdr.update(header or {})
    return h.sign_jws(key, hdr, payload, key_alg="RS256" if KINDS[name] == "rsa" else "ES256")


def signed_policy(name, text, **kw):
    return signed(name, policy_payload(text), **kw)


def cert_payload(name, claim="policyCertificate", kty=None):
    kty = kty or ("RSA" if KINDS[name] == "rsa" else "EC")
    return json.dumps({claim: {"kty": kty, "x5c": [b64der(name)]}}).encode()


def rollback_payload(provider, type_, version, iat=None):
    return json.dumps({"policyRollback": {"provider": provider, "attestationType": type_,
                                          "version": version},
                       "iat": int(time.time()) if iat is None else iat}).encode()


def issuer_of(provider):
    """The provider's issuer URL (its token "iss"; the "aud" of a bound request)."""
    return D.base_url + (f"/providers/{provider}" if provider not in (None, "default") else "")


def bound_header(provider, type_=None, iat=None, **extra):
    """Binding claims (docs/policies.md, "Bound requests") for the JWS protected header, with a
    random "jti" as attestctl adds: two requests signed in the same second differ."""
    hdr = {"iat": int(time.time()) if iat is None else iat, "aud": issuer_of(provider),
           "jti": os.urandom(8).hex()}
    if type_ is not None:
        hdr["attestationType"] = type_
    hdr.update(extra)
    return hdr


def text_of(jws):
    """The policy text inside a StoredAttestationPolicy JWS."""
    payload = json.loads(h.b64url_decode(jws.split(".")[1]))
    return h.b64url_decode(payload["AttestationPolicy"]).decode()


def sha1_upper(der):
    return hashlib.sha1(der).hexdigest().upper()


def sha256_hex(der):
    return hashlib.sha256(der).hexdigest()


def signer_jwk(name, kty):
    return {"kty": kty, "x5c": [b64der(name)]}


class PolicyCase(unittest.TestCase):
    maxDiff = None
    _jwks = {}

    @property
    def d(self):
        return D

    # ---- requests ----

    @staticmethod
    def url(path, provider=None, maa=True):
        prefix = f"/providers/{provider}" if provider else ""
        return prefix + path + (API if maa else "")

    def call(self, method, path, body=None, who="owner", provider=None, maa=True,
             content_type="text/plain", headers=None):
        hdrs = {}
        if who is not None:
            hdrs["Authorization"] = "Bearer " + TOKENS[who]
        if body is not None:
            hdrs["Content-Type"] = content_type
            if isinstance(body, str):
                body = body.encode()
        hdrs.update(headers or {})
        return self.d.request(method, self.url(path, provider, maa), body=body, headers=hdrs)

    def put(self, type_, body, provider=None, **kw):
        return self.call("PUT", f"/policies/{type_}", body, provider=provider, **kw)

    def reset(self, type_, body=NONE_HEADER + "..", provider=None, **kw):
        return self.call("POST", f"/policies/{type_}:reset", body, provider=provider, **kw)

    def history(self, type_, provider=None, who="owner"):
        """Every version kept, following the pages' nextLink."""
        path = f"/attestd/policies/{type_}/versions"
        versions = []
        while path is not None:
            status, _, body = self.call("GET", path, provider=provider, maa=False, who=who)
            self.assertEqual(status, 200, body)
            doc = json.loads(body)
            self.assertLessEqual(set(doc), {"attestationType", "versions", "nextLink"})
            self.assertEqual(doc["attestationType"], type_)
            versions += doc["versions"]
            path = None
            if "nextLink" in doc:
                self.assertTrue(doc["nextLink"].startswith(issuer_of(provider) + "/"), doc)
                path = doc["nextLink"].removeprefix(issuer_of(provider))
        return versions

    def version(self, type_, n, provider=None):
        status, _, body = self.call("GET", f"/attestd/policies/{type_}/versions/{n}",
                                    provider=provider, maa=False)
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def rollback(self, type_, n, body=None, provider=None, who="owner"):
        return self.call("POST", f"/attestd/policies/{type_}/versions/{n}:rollback", body,
                         provider=provider, maa=False, who=who)

    def signers_change(self, op, jws, provider=ISO_KEYS, as_json=True, who="owner"):
        body = json.dumps(jws) if as_json else jws
        return self.call("POST", f"/certificates:{op}", body, provider=provider, who=who,
                         content_type="application/json")

    # ---- answers ----

    def jwks(self, provider):
        # Keyed by daemon too: the suite runs twice in one process (ASan, then TSan builds).
        key = (self.d.base_url, provider)
        if key not in self._jwks:
            status, _, body = self.d.request("GET", self.url("/certs", provider, maa=False))
            self.assertEqual(status, 200, body)
            self._jwks[key] = json.loads(body)
        return self._jwks[key]

    def result(self, resp, provider=None, status=200):
        """The claims of a {"token": JWT} answer, verified against the provider's /certs, with
        its registered claims checked and removed."""
        code, headers, body = resp
        self.assertEqual(code, status, body)
        self.assertEqual(headers["Content-Type"], "application/json; charset=utf-8")
        doc = json.loads(body)
        self.assertEqual(set(doc), {"token"}, body)
        header, claims = h.verify_jws(doc["token"], self.jwks(provider))
        # The default provider's issuer is the root URL, also when called under
        # /providers/default.
        issuer = self.d.base_url + (f"/providers/{provider}" if provider not in (None, "default")
                                    else "")
        self.assertEqual(header["jku"], issuer + "/certs")
        self.assertEqual(claims.pop("iss"), issuer)
        iat, nbf, exp = claims.pop("iat"), claims.pop("nbf"), claims.pop("exp")
        self.assertEqual(iat, nbf)
        self.assertEqual(exp - iat, RESULT_LIFETIME)
        self.assertLessEqual(abs(iat - time.time()), 5)
        self.assertRegex(claims.pop("jti"), r"^[0-9a-f]{64}$")
        return claims

    def assert_error(self, resp, status, code, message=None):
        got_status, headers, body = resp
        self.assertEqual(got_status, status, body)
        got_code, got_message = h.error_of(body)
        self.assertEqual(got_code, code, body)
        if message is not None:
            self.assertEqual(got_message, message, body)
        return got_message

    def in_force(self, type_, provider=None):
        """(x-ms-policy JWS, x-ms-policy-signer or None) of GET /policies/{type}."""
        claims = self.result(self.call("GET", f"/policies/{type_}", provider=provider),
                             provider)
        self.assertLessEqual(set(claims), {"x-ms-policy", "x-ms-policy-signer"})
        return claims["x-ms-policy"], claims.get("x-ms-policy-signer")

    def snapshot(self, type_, provider=None):
        """What a refused request must not change: the policy in force and the history."""
        return self.in_force(type_, provider), self.history(type_, provider)

    def signer_keys(self, provider):
        claims = self.result(self.call("GET", "/certificates", provider=provider), provider)
        self.assertEqual(set(claims), {"x-ms-policy-certificates"})
        self.assertEqual(set(claims["x-ms-policy-certificates"]), {"keys"})
        return claims["x-ms-policy-certificates"]["keys"]

    def policy_changes(self, request_id):
        return [e for e in self.d.log_events()
                if e.get("msg") == "policy change" and e.get("request_id") == request_id]

    def test_zz_no_server_errors(self):
        # unittest runs a class's tests in name order: this one last, over the whole log.
        self.assertEqual(server_errors(), [])


# =====================================================================
# 1. AAD mode, the default provider at the root URL
# =====================================================================

class AadPolicyTest(PolicyCase):

    def test_get_default_sgx_policy(self):
        self.result(self.reset("SgxEnclave"))
        for provider in (None, "default"):  # the root URL and /providers/default alike
            with self.subTest(provider=provider):
                claims = self.result(self.call("GET", "/policies/SgxEnclave", provider=provider),
                                     provider)
                self.assertEqual(set(claims), {"x-ms-policy"})  # unsigned: no signer
                jws = claims["x-ms-policy"]
                header_part, payload_part, sig = jws.split(".")
                self.assertEqual(json.loads(h.b64url_decode(header_part)), {"alg": "none"})
                self.assertEqual(sig, "")
                payload = json.loads(h.b64url_decode(payload_part))
                self.assertEqual(set(payload), {"AttestationPolicy"})
                self.assertEqual(h.b64url_decode(payload["AttestationPolicy"]),
                                 DEFAULT_SGX.encode())
        # The reset version shows the default and MAA's published hash of it.
        last = self.history("SgxEnclave")[-1]
        shown = self.version("SgxEnclave", last["version"])
        self.assertEqual((shown["isDefault"], shown["policy"], shown["policyHash"]),
                         (True, DEFAULT_SGX, DEFAULT_SGX_HASH))

    def test_put_unsigned(self):
        before = self.history("SgxEnclave")
        body = unsigned_policy(POLICY_A)
        claims = self.result(self.put("SgxEnclave", body))
        self.assertEqual(claims, {"x-ms-policy-result": "Updated",
                                  "x-ms-policy-token-hash": token_hash(body),
                                  "x-ms-policy": body})
        self.assertEqual(self.in_force("SgxEnclave"), (body, None))
        self.assertEqual(text_of(self.in_force("SgxEnclave")[0]), POLICY_A)
        after = self.history("SgxEnclave")
        self.assertEqual(after[:-1], before)
        self.assertEqual(after[-1]["version"], len(before) + 1)
        self.assertEqual(after[-1]["action"], "set")
        self.assertEqual(after[-1]["policyHash"], h.policy_hash(POLICY_A))
        self.assertNotIn("signerSha256", after[-1])

    def check_signed_put(self, name, alg, kty):
        body = signed_policy(name, POLICY_C, alg=alg)
        claims = self.result(self.put("SgxEnclave", body))
        jwk = signer_jwk(name, kty)
        self.assertEqual(claims, {"x-ms-policy-result": "Updated",
                                  "x-ms-policy-token-hash": token_hash(body),
                                  "x-ms-policy": body, "x-ms-policy-signer": jwk})
        self.assertEqual(h.cert_der_from_x5c(claims["x-ms-policy-signer"]["x5c"][0]),
                         CERTS[name][2])
        self.assertEqual(self.in_force("SgxEnclave"), (body, jwk))
        last = self.history("SgxEnclave")[-1]
        self.assertEqual((last["action"], last["policyHash"], last["signerSha256"]),
                         ("set", h.policy_hash(POLICY_C), sha256_hex(CERTS[name][2])))

    def test_put_signed_rs256(self):
        self.check_signed_put("signer", "RS256", "RSA")

    def test_put_signed_es256(self):
        self.check_signed_put("ec-signer", "ES256", "EC")

    def test_put_signed_with_jwk_x5c(self):
        # §4.1: the certificate may travel as a "jwk" carrying "x5c".
        key, _, _ = CERTS["ec-signer"]
        body = h.sign_jws(key, {"alg": "ES256", "jwk": {"kty": "EC", "x5c": [b64der("ec-signer")]}},
                          policy_payload(POLICY_A))
        claims = self.result(self.put("SgxEnclave", body))
        self.assertEqual(claims["x-ms-policy-signer"], signer_jwk("ec-signer", "EC"))

    def test_signed_by_an_unsound_chain_is_refused_in_aad_mode_too(self):
        # AAD accepts any signer, but a signature it shows must be sound.
        cases = [
            (signed_policy("expired", POLICY_A), "InvalidParameter",
             BAD_JWS + "a certificate has expired"),
            (signed_policy("lone-leaf", POLICY_A), "InvalidParameter",
             BAD_JWS + "an issuing or root certificate lacks CA basic constraints"),
            (h.tamper_payload(signed_policy("signer", POLICY_A)), "InvalidParameter",
             BAD_JWS + "signature is invalid"),
        ]
        before = self.snapshot("SgxEnclave")
        for body, code, message in cases:
            with self.subTest(message=message):
                self.assert_error(self.put("SgxEnclave", body), 400, code, message)
        self.assertEqual(self.snapshot("SgxEnclave"), before)

    def test_policy_parsing_error(self):
        self.result(self.put("SgxEnclave", unsigned_policy(POLICY_A)))
        before = self.snapshot("SgxEnclave")
        for text, message in ((BROKEN, BROKEN_MESSAGE),
                              (BROKEN_MULTILINE, BROKEN_MULTILINE_MESSAGE),
                              ("garbage", "1:1: expected 'version', found 'garbage'"),
                              ("", "1:1: expected 'version', found end of input")):
            with self.subTest(text=text):
                self.assert_error(self.put("SgxEnclave", unsigned_policy(text)), 400,
                                  "PolicyParsingError", message)
                # Signed the same.
                self.assert_error(self.put("SgxEnclave", signed_policy("signer", text)), 400,
                                  "PolicyParsingError", message)
        self.assertEqual(self.snapshot("SgxEnclave"), before)

    def test_policy_text_over_the_limit(self):
        text = POLICY_A + "//" + "x" * (64 * 1024) + "\n"
        before = self.snapshot("SgxEnclave")
        self.assert_error(self.put("SgxEnclave", unsigned_policy(text)), 400, "InvalidOperation",
                          "the policy text is larger than the limit")
        self.assertEqual(self.snapshot("SgxEnclave"), before)

    def test_reset(self):
        self.result(self.put("Tpm", unsigned_policy(POLICY_B)))
        self.assertEqual(text_of(self.in_force("Tpm")[0]), POLICY_B)
        before = self.history("Tpm")
        body = NONE_HEADER + ".."
        claims = self.result(self.reset("Tpm", body))
        self.assertEqual(claims, {"x-ms-policy-result": "Removed",
                                  "x-ms-policy-token-hash": token_hash(body)})
        default_jws, signer = self.in_force("Tpm")
        self.assertIsNone(signer)
        after = self.history("Tpm")
        self.assertEqual(after[:-1], before)
        self.assertEqual((after[-1]["action"], after[-1]["policyHash"]), ("reset", ""))
        shown = self.version("Tpm", after[-1]["version"])
        self.assertEqual((shown["isDefault"], shown["jws"]), (True, default_jws))
        self.assertEqual(text_of(default_jws), shown["policy"])
        # The SGX default after a reset is MAA's, byte for byte.
        self.result(self.put("SgxEnclave", unsigned_policy(POLICY_B)))
        self.result(self.reset("SgxEnclave"))
        self.assertEqual(text_of(self.in_force("SgxEnclave")[0]), DEFAULT_SGX)

    def test_signed_reset(self):
        self.result(self.put("Tpm", unsigned_policy(POLICY_A)))
        body = signed("signer", b"")
        self.assertEqual(body.split(".")[1], "")
        claims = self.result(self.reset("Tpm", body))
        # The answer describes the policy now in force: the default, which nobody signed.
        self.assertEqual(claims, {"x-ms-policy-result": "Removed",
                                  "x-ms-policy-token-hash": token_hash(body)})
        self.assertIsNone(self.in_force("Tpm")[1])
        last = self.history("Tpm")[-1]
        self.assertEqual((last["action"], last["signerSha256"]),
                         ("reset", sha256_hex(CERTS["signer"][2])))

    def test_history_lists_every_version(self):
        before = self.history("SevSnpVm")
        a = unsigned_policy(POLICY_A)
        b = signed_policy("ec-signer", POLICY_B)
        self.result(self.put("SevSnpVm", a))
        self.result(self.put("SevSnpVm", b))
        self.result(self.reset("SevSnpVm"))
        after = self.history("SevSnpVm")
        self.assertEqual(after[:len(before)], before)
        new = after[len(before):]
        n = len(before)
        owner = PRINCIPALS["bootstrap-owner"]["client_id"]
        for v in new:
            self.assertRegex(v.pop("created"), TIME_RE)
        common = {"principal": owner, "principalName": "bootstrap-owner", "source": "127.0.0.1"}
        self.assertEqual(new, [
            {"version": n + 1, "action": "set", "policyHash": h.policy_hash(POLICY_A), **common},
            {"version": n + 2, "action": "set", "policyHash": h.policy_hash(POLICY_B),
             "signerSha256": sha256_hex(CERTS["ec-signer"][2]), **common},
            {"version": n + 3, "action": "reset", "policyHash": "", **common},
        ])
        # Key order as documented (version first), for readers of the raw JSON.
        status, _, raw = self.call("GET", "/attestd/policies/SevSnpVm/versions", maa=False)
        self.assertTrue(raw.startswith(b'{"attestationType":"SevSnpVm","versions":[{"version":'))
        # Type names are canonical: the history of "sevsnpvm" is the same list.
        status, _, raw2 = self.call("GET", "/attestd/policies/sevsnpvm/versions", maa=False)
        self.assertEqual((status, json.loads(raw2)["versions"][-3:][0]["version"]),
                         (200, n + 1))

    def test_get_one_version(self):
        a = unsigned_policy(POLICY_A)
        b = signed_policy("signer", POLICY_B)
        self.result(self.put("TdxVm", a))
        self.result(self.put("TdxVm", b))
        hist = self.history("TdxVm")
        va, vb = hist[-2], hist[-1]
        shown = self.version("TdxVm", va["version"])
        self.assertRegex(shown.pop("created"), TIME_RE)
        va = dict(va)
        va.pop("created")
        self.assertEqual(shown, {**va, "isDefault": False, "policy": POLICY_A, "jws": a})
        shown = self.version("TdxVm", vb["version"])
        self.assertEqual((shown["policy"], shown["jws"], shown["signerSha256"],
                          shown["policyHash"]),
                         (POLICY_B, b, sha256_hex(CERTS["signer"][2]), h.policy_hash(POLICY_B)))

    def test_rollback(self):
        a = unsigned_policy(POLICY_A)
        b = signed_policy("ec-signer", POLICY_B)
        self.result(self.put("OpenEnclave", a))
        va = self.history("OpenEnclave")[-1]["version"]
        self.result(self.put("OpenEnclave", b))
        before = self.history("OpenEnclave")
        status, _, body = self.rollback("OpenEnclave", va)
        self.assertEqual(status, 201, body)
        doc = json.loads(body)
        self.assertRegex(doc.pop("created"), TIME_RE)
        self.assertEqual(doc, {
            "version": len(before) + 1, "action": "rollback",
            "principal": PRINCIPALS["bootstrap-owner"]["client_id"],
            "principalName": "bootstrap-owner", "source": "127.0.0.1",
            "policyHash": h.policy_hash(POLICY_A), "rollbackOf": va, "isDefault": False,
            "policy": POLICY_A, "jws": a})
        self.assertEqual(self.in_force("OpenEnclave"), (a, None))
        after = self.history("OpenEnclave")
        self.assertEqual(after[:-1], before)
        self.assertEqual((after[-1]["action"], after[-1]["rollbackOf"]), ("rollback", va))
        # Back to the signed version: its signer comes back with it.
        vb = before[-1]["version"]
        status, _, body = self.rollback("OpenEnclave", vb)
        self.assertEqual(status, 201, body)
        self.assertEqual(self.in_force("OpenEnclave"), (b, signer_jwk("ec-signer", "EC")))
        self.assertEqual(json.loads(body)["signerSha256"], sha256_hex(CERTS["ec-signer"][2]))

    def test_rollback_to_a_reset_brings_the_default_back(self):
        self.result(self.put("OpenEnclave", unsigned_policy(POLICY_C)))
        self.result(self.reset("OpenEnclave"))
        v_reset = self.history("OpenEnclave")[-1]["version"]
        default_jws = self.in_force("OpenEnclave")[0]
        self.result(self.put("OpenEnclave", unsigned_policy(POLICY_A)))
        status, _, body = self.rollback("OpenEnclave", v_reset)
        self.assertEqual(status, 201, body)
        doc = json.loads(body)
        self.assertEqual((doc["isDefault"], doc["rollbackOf"], doc["jws"]),
                         (True, v_reset, default_jws))
        self.assertEqual(self.in_force("OpenEnclave"), (default_jws, None))

    def test_rollback_and_version_refusals(self):
        self.result(self.put("OpenEnclave", unsigned_policy(POLICY_B)))
        before = self.snapshot("OpenEnclave")
        n = len(before[1])
        self.assert_error(self.rollback("OpenEnclave", n + 100), 404, "NotFound",
                          "no such policy version")
        status, _, body = self.call("GET", f"/attestd/policies/OpenEnclave/versions/{n + 100}",
                                    maa=False)
        self.assert_error((status, None, body), 404, "NotFound", "no such policy version")
        for bad in ("0", "abc", "-1", "1x", "99999999999999999999"):
            with self.subTest(version=bad):
                self.assert_error(self.rollback("OpenEnclave", bad), 400, "InvalidParameter",
                                  "the version must be a positive integer")
                status, _, body = self.call(
                    "GET", f"/attestd/policies/OpenEnclave/versions/{bad}", maa=False)
                self.assert_error((status, None, body), 400, "InvalidParameter",
                                  "the version must be a positive integer")
        self.assertEqual(self.snapshot("OpenEnclave"), before)

    def test_signed_rollback_in_aad_mode_is_checked(self):
        # AAD needs no body; one that is sent must be a sound rollback request.
        self.result(self.put("OpenEnclave", unsigned_policy(POLICY_A)))
        v = self.history("OpenEnclave")[-1]["version"]
        self.result(self.put("OpenEnclave", unsigned_policy(POLICY_B)))
        before = self.snapshot("OpenEnclave")
        wrong = signed("signer", rollback_payload("default", "OpenEnclave", v + 1))
        self.assert_error(self.rollback("OpenEnclave", v, wrong), 400, "InvalidOperation",
                          ROLLBACK_PAYLOAD)
        self.assertEqual(self.snapshot("OpenEnclave"), before)
        good = signed("signer", rollback_payload("default", "OpenEnclave", v))
        status, _, body = self.rollback("OpenEnclave", v, good)
        self.assertEqual(status, 201, body)
        self.assertEqual(text_of(self.in_force("OpenEnclave")[0]), POLICY_A)

    def test_certificates_in_aad_mode(self):
        self.assertEqual(self.signer_keys(None), [])
        for op in ("add", "remove"):
            with self.subTest(op=op):
                jws = signed("signer", cert_payload("signer2"))
                self.assert_error(self.signers_change(op, jws, provider=None), 400,
                                  "InvalidOperation",
                                  "default: policy signer certificates can only be managed on "
                                  "an Isolated provider")
        self.assertEqual(self.signer_keys(None), [])


# =====================================================================
# 2. Request validation: type, api-version, malformed JWS
# =====================================================================

class RequestValidationTest(PolicyCase):

    def test_unknown_type(self):
        for method, path, maa in (
                ("GET", "/policies/Nope", True),
                ("PUT", "/policies/Nope", True),
                ("POST", "/policies/Nope:reset", True),
                ("GET", "/attestd/policies/Nope/versions", False),
                ("GET", "/attestd/policies/Nope/versions/1", False),
                ("POST", "/attestd/policies/Nope/versions/1:rollback", False)):
            with self.subTest(method=method, path=path):
                body = unsigned_policy(POLICY_A) if method == "PUT" else (
                    NONE_HEADER + ".." if path.endswith(":reset") else None)
                self.assert_error(self.call(method, path, body, maa=maa), 400,
                                  "InvalidParameter", UNKNOWN_TYPE)

    def test_type_names_are_case_insensitive(self):
        self.result(self.put("sgxenclave", unsigned_policy(POLICY_A)))
        self.assertEqual(self.history("SgxEnclave")[-1]["policyHash"], h.policy_hash(POLICY_A))

    def test_api_version_required(self):
        for method, path, body in (
                ("GET", "/policies/SgxEnclave", None),
                ("PUT", "/policies/SgxEnclave", unsigned_policy(POLICY_A)),
                ("POST", "/policies/SgxEnclave:reset", NONE_HEADER + ".."),
                ("GET", "/certificates", None),
                ("POST", "/certificates:add", json.dumps("x.y.z")),
                ("POST", "/certificates:remove", json.dumps("x.y.z"))):
            with self.subTest(method=method, path=path):
                before = self.history("SgxEnclave")
                self.assert_error(self.call(method, path, body, maa=False), 400,
                                  "InvalidParameter",
                                  "the api-version query parameter is required")
                self.assertEqual(self.history("SgxEnclave"), before)
                status, _, answer = self.d.request(
                    method, path + "?api-version=1999-01-01", body=body,
                    headers={"Authorization": "Bearer " + TOKENS["owner"]})
                self.assert_error((status, None, answer), 400, "InvalidParameter",
                                  "unsupported api-version; supported: 2018-09-01-preview, "
                                  "2020-10-01, 2022-08-01, 2022-09-01-preview, 2025-06-01")
        # Every published version works.
        for v in ("2018-09-01-preview", "2022-08-01", "2022-09-01-preview", "2025-06-01"):
            status, _, _ = self.d.request("GET", f"/policies/SgxEnclave?api-version={v}",
                                          headers={"Authorization": "Bearer " + TOKENS["owner"]})
            self.assertEqual(status, 200, v)

    def test_unknown_provider(self):
        self.assert_error(self.call("GET", "/policies/SgxEnclave", provider="ghost"), 404,
                          "NotFound", "no such attestation provider")

    def test_without_a_token(self):
        status, headers, body = self.call("PUT", "/policies/SgxEnclave",
                                          unsigned_policy(POLICY_A), who=None)
        self.assert_error((status, headers, body), 401, "Unauthorized")
        self.assertEqual(headers["WWW-Authenticate"], 'Bearer realm="attestd"')

    MALFORMED = [
        # (body, code, message)
        ("", "InvalidOperation", BAD_JWS + "malformed compact JWS"),
        ("abc", "InvalidOperation", BAD_JWS + "malformed compact JWS"),
        ("a.b", "InvalidOperation", BAD_JWS + "malformed compact JWS"),
        ("a.b.c.d", "InvalidOperation", BAD_JWS + "malformed compact JWS"),
        (NONE_HEADER + "..", "InvalidOperation", BAD_JWS + "malformed compact JWS"),
        ("!!." + h.b64url_encode(policy_payload(POLICY_A)) + ".", "InvalidOperation",
         BAD_JWS + "invalid base64, base64url or hex encoding"),
        (NONE_HEADER + ".$$$.", "InvalidOperation",
         BAD_JWS + "invalid base64, base64url or hex encoding"),
        (NONE_HEADER + "." + h.b64url_encode(policy_payload(POLICY_A)) + ".%%", "InvalidOperation",
         BAD_JWS + "invalid base64, base64url or hex encoding"),
        (h.b64url_encode(b"not json") + "." + h.b64url_encode(policy_payload(POLICY_A)) + ".",
         "InvalidOperation", BAD_JWS + "malformed JSON or unexpected JSON shape"),
        (h.b64url_encode(b'["alg","none"]') + "." + h.b64url_encode(policy_payload(POLICY_A)) +
         ".", "InvalidOperation", BAD_JWS + "malformed JSON or unexpected JSON shape"),
        (h.b64url_encode(b'{"alg":"none","alg":"none"}') + "." +
         h.b64url_encode(policy_payload(POLICY_A)) + ".",
         "InvalidOperation", BAD_JWS + "malformed JSON or unexpected JSON shape"),
        (h.b64url_encode(b"{}") + "." + h.b64url_encode(policy_payload(POLICY_A)) + ".",
         "InvalidOperation", BAD_JWS + "signature algorithm not supported"),
        (h.b64url_encode(b'{"alg":"HS256"}') + "." + h.b64url_encode(policy_payload(POLICY_A)) +
         ".c2ln", "InvalidOperation", BAD_JWS + "signature algorithm not supported"),
        (h.b64url_encode(b'{"alg":"none","crit":["exp"]}') + "." +
         h.b64url_encode(policy_payload(POLICY_A)) + ".", "InvalidOperation",
         BAD_JWS + "token header lists a critical extension that is not supported"),
        # alg none with a signature
        (unsigned_policy(POLICY_A) + "c2ln", "InvalidParameter", BAD_JWS + UNSIGNED_WITH_SIGNATURE),
        # The payload must be {"AttestationPolicy": b64url(text)}.
        (NONE_HEADER + "." + h.b64url_encode(b"{}") + ".", "InvalidOperation", BAD_PAYLOAD),
        (NONE_HEADER + "." + h.b64url_encode(b"not json") + ".", "InvalidOperation", BAD_PAYLOAD),
        (NONE_HEADER + "." + h.b64url_encode(b'"text"') + ".", "InvalidOperation", BAD_PAYLOAD),
        (NONE_HEADER + "." + h.b64url_encode(b'{"AttestationPolicy":1}') + ".",
         "InvalidOperation", BAD_PAYLOAD),
        (NONE_HEADER + "." + h.b64url_encode(b'{"AttestationPolicy":"!!"}') + ".",
         "InvalidOperation", BAD_PAYLOAD),
        (NONE_HEADER + "." + h.b64url_encode(b'{"attestationPolicy":"eA"}') + ".",
         "InvalidOperation", BAD_PAYLOAD),
    ]

    def test_malformed_policy_jws(self):
        before = self.snapshot("SgxEnclave")
        for body, code, message in self.MALFORMED:
            with self.subTest(body=body[:60]):
                self.assert_error(self.put("SgxEnclave", body), 400, code, message)
        self.assertEqual(self.snapshot("SgxEnclave"), before)

    def test_malformed_reset_jws(self):
        before = self.snapshot("SgxEnclave")
        for body, code, message in [
                ("", "InvalidOperation", BAD_JWS + "malformed compact JWS"),
                (NONE_HEADER, "InvalidOperation", BAD_JWS + "malformed compact JWS"),
                ("!!..", "InvalidOperation",
                 BAD_JWS + "invalid base64, base64url or hex encoding"),
                (NONE_HEADER + "..c2ln", "InvalidParameter", BAD_JWS + UNSIGNED_WITH_SIGNATURE)]:
            with self.subTest(body=body):
                self.assert_error(self.reset("SgxEnclave", body), 400, code, message)
        self.assertEqual(self.snapshot("SgxEnclave"), before)

    def test_reset_with_a_payload_names_the_problem(self):
        # docs/reference/maa-policy.md §4.3: a reset carries an empty payload. One with a payload (a client
        # sending its policy JWS to :reset) is refused, and the message must say why: a
        # "malformed compact JWS" is a well-formed JWS here.
        before = self.snapshot("SgxEnclave")
        for body in (unsigned_policy(POLICY_A), signed("signer", b"{}")):
            with self.subTest(body=body[:40]):
                message = self.assert_error(self.reset("SgxEnclave", body), 400,
                                            "InvalidOperation")
                self.assertTrue(message.startswith(BAD_JWS), message)
                self.assertIn("payload", message)
                self.assertIn("empty", message)
        self.assertEqual(self.snapshot("SgxEnclave"), before)

    def test_certificate_members_name_the_problem(self):
        # A signed JWS must carry its certificate (x5c, or jwk.x5c); an unsigned one must not
        # carry one (it would show a signer nobody proved). Both are refused, and the message
        # must name the header member at fault, not just "value not accepted".
        key = CERTS["ec-signer"][0]
        payload = h.b64url_encode(policy_payload(POLICY_A))
        cases = [
            (h.sign_jws(key, {"alg": "ES256"}, policy_payload(POLICY_A)), "x5c"),
            (h.sign_jws(key, {"alg": "ES256", "jwk": {"kty": "EC"}}, policy_payload(POLICY_A)),
             "x5c"),
            (h.b64url_encode_json({"alg": "none", "x5c": [b64der("signer")]}) + "." + payload +
             ".", "x5c"),
            (h.b64url_encode_json({"alg": "none", "jwk": {"kty": "RSA"}}) + "." + payload + ".",
             "jwk"),
        ]
        before = self.snapshot("SgxEnclave")
        for body, member in cases:
            with self.subTest(header=h.b64url_decode(body.split(".")[0]).decode()[:40]):
                message = self.assert_error(self.put("SgxEnclave", body), 400,
                                            "InvalidOperation")
                self.assertTrue(message.startswith(BAD_JWS), message)
                self.assertIn(member, message)
        self.assertEqual(self.snapshot("SgxEnclave"), before)

    def test_signature_checks(self):
        key = CERTS["signer"][0]
        payload = policy_payload(POLICY_A)
        cases = [
            # The algorithm must fit the certificate's key.
            (signed_policy("signer", POLICY_A, alg="ES256"), "InvalidOperation",
             BAD_JWS + "key type does not fit the algorithm"),
            (signed_policy("ec-signer", POLICY_A, alg="RS256"), "InvalidOperation",
             BAD_JWS + "key type does not fit the algorithm"),
            # Signed by a key other than the certificate's.
            (h.sign_jws(CERTS["signer2"][0], {"alg": "RS256", "x5c": [b64der("signer")]},
                        payload), "InvalidParameter", BAD_JWS + "signature is invalid"),
            # x5c entries that are not certificates.
            (h.sign_jws(key, {"alg": "RS256", "x5c": ["AAAA"]}, payload), "InvalidParameter",
             BAD_JWS + "a certificate is not valid DER X.509"),
            (h.sign_jws(key, {"alg": "RS256", "x5c": [b64der("signer") + "AAAA"]}, payload),
             "InvalidParameter", BAD_JWS + "a certificate is not valid DER X.509"),
            # x5c[1] did not issue x5c[0].
            (signed_policy("signer", POLICY_A, x5c=[b64der("signer"), b64der("ec-signer")]),
             "InvalidParameter",
             BAD_JWS + "a certificate is not signed by the next certificate of the chain"),
        ]
        before = self.snapshot("SgxEnclave")
        for body, code, message in cases:
            with self.subTest(message=message):
                self.assert_error(self.put("SgxEnclave", body), 400, code, message)
        self.assertEqual(self.snapshot("SgxEnclave"), before)


# =====================================================================
# 3. Isolated mode
# =====================================================================

class IsolatedPolicyTest(PolicyCase):

    def refused(self, resp, code, message, type_="SgxEnclave", before=None):
        self.assert_error(resp, 400, code, message)
        if before is not None:
            self.assertEqual(self.snapshot(type_, ISO), before)

    def test_provider_is_isolated(self):
        shown = json.loads(self.d.attestctl("provider", "show", ISO).stdout)
        self.assertEqual(shown["trust_model"], "Isolated")
        keys = self.signer_keys(ISO)
        self.assertEqual(keys, [{"kty": "RSA", "x5c": [b64der("signer")],
                                 "kid": sha1_upper(CERTS["signer"][2])}])

    def test_unsigned_put_refused(self):
        before = self.snapshot("SgxEnclave", ISO)
        self.refused(self.put("SgxEnclave", unsigned_policy(POLICY_A), provider=ISO),
                     "InvalidOperation", ISO + NOT_ISOLATED, before=before)

    def test_untrusted_signer_refused(self):
        before = self.snapshot("SgxEnclave", ISO)
        for name, x5c in (("untrusted", None),
                          # A leaf issued by the trusted signer is not the trusted signer.
                          ("leaf-of-signer", [b64der("leaf-of-signer"), b64der("signer")])):
            with self.subTest(signer=name):
                self.refused(self.put("SgxEnclave", signed_policy(name, POLICY_A, x5c=x5c),
                                      provider=ISO),
                             "InvalidOperation", UNTRUSTED, before=before)

    def test_expired_signer_refused(self):
        # openssl agrees: one has expired, the other is not valid yet.
        for name in ("expired", "future"):
            proc = h.openssl("verify", "-CAfile", CERTS[name][1], CERTS[name][1], check=False)
            self.assertNotEqual(proc.returncode, 0, name)
        before = self.snapshot("SgxEnclave", ISO)
        self.refused(self.put("SgxEnclave", signed_policy("expired", POLICY_A), provider=ISO),
                     "InvalidParameter", BAD_JWS + "a certificate has expired", before=before)
        self.refused(self.put("SgxEnclave", signed_policy("future", POLICY_A), provider=ISO),
                     "InvalidParameter", BAD_JWS + "a certificate is not yet valid",
                     before=before)

    def test_tampered_payload_refused(self):
        good = signed_policy("signer", POLICY_A)
        h_, p, s = good.split(".")
        tampered = f"{h_}.{h.b64url_encode(policy_payload(POLICY_B))}.{s}"
        before = self.snapshot("SgxEnclave", ISO)
        for body in (tampered, h.flip_payload_char(good)):
            with self.subTest(body=body[-20:]):
                self.refused(self.put("SgxEnclave", body, provider=ISO), "InvalidParameter",
                             BAD_JWS + "signature is invalid", before=before)

    def test_chain_without_ca_basic_constraints_refused(self):
        not_ca = BAD_JWS + "an issuing or root certificate lacks CA basic constraints"
        before = self.snapshot("SgxEnclave", ISO)
        for name, x5c in (
                ("leaf-of-noca", [b64der("leaf-of-noca"), b64der("noca-issuer")]),
                ("lone-leaf", None),
                ("no-bc", None),
                ("noca-issuer", None)):
            with self.subTest(signer=name):
                self.refused(self.put("SgxEnclave", signed_policy(name, POLICY_A, x5c=x5c),
                                      provider=ISO),
                             "InvalidParameter", not_ca, before=before)

    def test_unsigned_reset_refused(self):
        before = self.snapshot("SgxEnclave", ISO)
        self.refused(self.reset("SgxEnclave", provider=ISO), "InvalidOperation",
                     ISO + NOT_ISOLATED, before=before)
        self.refused(self.reset("SgxEnclave", signed("untrusted", b""), provider=ISO),
                     "InvalidOperation", UNTRUSTED, before=before)

    def test_rollback_refusals(self):
        self.result(self.put("TdxVm", signed_policy("signer", POLICY_A), provider=ISO), ISO)
        v = self.history("TdxVm", ISO)[-1]["version"]
        self.result(self.put("TdxVm", signed_policy("signer", POLICY_B), provider=ISO), ISO)
        before = self.snapshot("TdxVm", ISO)
        now = int(time.time())
        for body, code, message in [
                (None, "InvalidOperation",
                 ISO + ": the provider is in Isolated mode; a rollback must be signed by a "
                       "trusted policy signer"),
                (NONE_HEADER + "." + h.b64url_encode(rollback_payload(ISO, "TdxVm", v)) + ".",
                 "InvalidOperation", ISO + NOT_ISOLATED),
                (signed("untrusted", rollback_payload(ISO, "TdxVm", v)), "InvalidOperation",
                 UNTRUSTED),
                (signed("expired", rollback_payload(ISO, "TdxVm", v)), "InvalidParameter",
                 BAD_JWS + "a certificate has expired"),
                # Bound to the provider, the type and the version.
                (signed("signer", rollback_payload("default", "TdxVm", v)), "InvalidOperation",
                 ROLLBACK_PAYLOAD),
                (signed("signer", rollback_payload(ISO, "SgxEnclave", v)), "InvalidOperation",
                 ROLLBACK_PAYLOAD),
                (signed("signer", rollback_payload(ISO, "TdxVm", v + 1)), "InvalidOperation",
                 ROLLBACK_PAYLOAD),
                (signed("signer", json.dumps({"policyRollback": {"attestationType": "TdxVm",
                                                                 "version": v}}).encode()),
                 "InvalidOperation", ROLLBACK_PAYLOAD),
                # ... and fresh.
                (signed("signer", rollback_payload(ISO, "TdxVm", v, iat=now - 3600)),
                 "InvalidOperation", ROLLBACK_STALE),
                (signed("signer", rollback_payload(ISO, "TdxVm", v, iat=now + 3600)),
                 "InvalidOperation", ROLLBACK_STALE),
                (signed("signer", json.dumps({"policyRollback": {
                    "provider": ISO, "attestationType": "TdxVm", "version": v}}).encode()),
                 "InvalidOperation", ROLLBACK_STALE)]:
            with self.subTest(message=message, body=(body or "")[:30]):
                self.refused(self.rollback("TdxVm", v, body, provider=ISO), code, message,
                             type_="TdxVm", before=before)
        # A signed request for a version that does not exist.
        self.assert_error(self.rollback("TdxVm", v + 100,
                                        signed("signer", rollback_payload(ISO, "TdxVm", v + 100)),
                                        provider=ISO),
                          404, "NotFound", "no such policy version")
        self.assertEqual(self.snapshot("TdxVm", ISO), before)

    def test_signed_put_reset_rollback(self):
        before = self.history("SevSnpVm", ISO)
        body = signed_policy("signer", POLICY_A)
        claims = self.result(self.put("SevSnpVm", body, provider=ISO), ISO)
        jwk = signer_jwk("signer", "RSA")
        self.assertEqual(claims, {"x-ms-policy-result": "Updated",
                                  "x-ms-policy-token-hash": token_hash(body),
                                  "x-ms-policy": body, "x-ms-policy-signer": jwk})
        self.assertEqual(self.in_force("SevSnpVm", ISO), (body, jwk))
        v = self.history("SevSnpVm", ISO)[-1]["version"]
        reset = signed("signer", b"")
        claims = self.result(self.reset("SevSnpVm", reset, provider=ISO), ISO)
        self.assertEqual(claims, {"x-ms-policy-result": "Removed",
                                  "x-ms-policy-token-hash": token_hash(reset)})
        self.assertIsNone(self.in_force("SevSnpVm", ISO)[1])
        status, _, answer = self.rollback("SevSnpVm", v,
                                          signed("signer", rollback_payload(ISO, "SevSnpVm", v)),
                                          provider=ISO)
        self.assertEqual(status, 201, answer)
        self.assertEqual((json.loads(answer)["rollbackOf"], json.loads(answer)["policy"]),
                         (v, POLICY_A))
        self.assertEqual(self.in_force("SevSnpVm", ISO), (body, jwk))
        after = self.history("SevSnpVm", ISO)
        self.assertEqual(after[:len(before)], before)
        self.assertEqual([x["action"] for x in after[len(before):]], ["set", "reset", "rollback"])
        # The default provider (AAD) takes the same upload: any sound signature will do.
        self.assertEqual(self.put("SevSnpVm", body)[0], 200)


class IsolatedSignersTest(PolicyCase):
    """Signer add / remove on ISO_KEYS, whose only signer at rest is "signer"."""

    def keys(self):
        return self.signer_keys(ISO_KEYS)

    def setUp(self):
        self.assertEqual(self.keys(), [{"kty": "RSA", "x5c": [b64der("signer")],
                                        "kid": sha1_upper(CERTS["signer"][2])}])

    def tearDown(self):
        # Put the signer set back as it was, whatever the test did (so one failure does not
        # fail the next tests' setUp).
        present = [h.cert_der_from_x5c(k["x5c"][0]) for k in self.keys()]
        if CERTS["signer"][2] not in present:
            by = next(n for n in ("signer2", "ec-signer") if CERTS[n][2] in present)
            self.signers_change("add", signed(by, cert_payload("signer")))
        for name in ("signer2", "ec-signer"):
            self.signers_change("remove", signed("signer", cert_payload(name)))

    def change(self, op, name, by="signer", claim="policyCertificate", as_json=True):
        return self.signers_change(op, signed(by, cert_payload(name, claim)), as_json=as_json)

    def assert_changed(self, resp, name, result):
        claims = self.result(resp, ISO_KEYS)
        self.assertEqual(claims, {"x-ms-certificate-thumbprint": sha1_upper(CERTS[name][2]),
                                  "x-ms-policycertificates-result": result})

    def test_add_use_list_remove(self):
        # A new signer cannot sign yet.
        self.assert_error(self.put("SgxEnclave", signed_policy("signer2", POLICY_A),
                                   provider=ISO_KEYS), 400, "InvalidOperation", UNTRUSTED)
        self.assert_changed(self.change("add", "signer2"), "signer2", "IsPresent")
        self.assertRegex(sha1_upper(CERTS["signer2"][2]), r"^[0-9A-F]{40}$")
        # Now it can.
        body = signed_policy("signer2", POLICY_B)
        claims = self.result(self.put("SgxEnclave", body, provider=ISO_KEYS), ISO_KEYS)
        self.assertEqual(claims["x-ms-policy-signer"], signer_jwk("signer2", "RSA"))
        self.assertEqual(self.history("SgxEnclave", ISO_KEYS)[-1]["signerSha256"],
                         sha256_hex(CERTS["signer2"][2]))
        self.assertEqual(self.keys(), [
            {"kty": "RSA", "x5c": [b64der("signer")], "kid": sha1_upper(CERTS["signer"][2])},
            {"kty": "RSA", "x5c": [b64der("signer2")], "kid": sha1_upper(CERTS["signer2"][2])}])
        # Adding again is IsPresent and changes nothing.
        self.assert_changed(self.change("add", "signer2", by="signer2"), "signer2", "IsPresent")
        self.assertEqual(len(self.keys()), 2)
        # Remove (raw body this time); removing again is IsAbsent.
        self.assert_changed(self.change("remove", "signer2", as_json=False), "signer2",
                            "IsAbsent")
        self.assert_changed(self.change("remove", "signer2"), "signer2", "IsAbsent")
        self.assertEqual(len(self.keys()), 1)
        # Its signature no longer counts, and the policy it set is still the one in force.
        self.assert_error(self.put("SgxEnclave", signed_policy("signer2", POLICY_A),
                                   provider=ISO_KEYS), 400, "InvalidOperation", UNTRUSTED)
        self.assertEqual(self.in_force("SgxEnclave", ISO_KEYS)[0], body)

    def test_claim_names_and_body_forms(self):
        for claim in ("policyCertificate", "maa-policyCertificate", "x-ms-policyCertificate"):
            for as_json in (True, False):
                with self.subTest(claim=claim, as_json=as_json):
                    self.assert_changed(self.change("add", "ec-signer", claim=claim,
                                                    as_json=as_json), "ec-signer", "IsPresent")
                    self.assertEqual(len(self.keys()), 2)
                    self.assertEqual(self.keys()[1], {"kty": "EC", "x5c": [b64der("ec-signer")],
                                                      "kid": sha1_upper(CERTS["ec-signer"][2])})
                    self.assert_changed(self.change("remove", "ec-signer", claim=claim,
                                                    as_json=as_json), "ec-signer", "IsAbsent")
                    self.assertEqual(len(self.keys()), 1)

    def test_an_ec_signer_signs_es256(self):
        self.assert_changed(self.change("add", "ec-signer"), "ec-signer", "IsPresent")
        self.assert_changed(self.change("add", "signer2", by="ec-signer"), "signer2", "IsPresent")
        body = signed_policy("ec-signer", POLICY_C)
        claims = self.result(self.put("Tpm", body, provider=ISO_KEYS), ISO_KEYS)
        self.assertEqual(claims["x-ms-policy-signer"], signer_jwk("ec-signer", "EC"))

    def test_last_signer_cannot_be_removed(self):
        self.assert_error(self.change("remove", "signer"), 400, "InvalidOperation",
                          "the last policy signer cannot be removed")
        self.assertEqual(len(self.keys()), 1)
        # With a second one it can go; the second then cannot.
        self.assert_changed(self.change("add", "signer2"), "signer2", "IsPresent")
        self.assert_changed(self.change("remove", "signer", by="signer2"), "signer", "IsAbsent")
        self.assertEqual(self.signer_keys(ISO_KEYS),
                         [{"kty": "RSA", "x5c": [b64der("signer2")],
                           "kid": sha1_upper(CERTS["signer2"][2])}])
        self.assert_error(self.change("remove", "signer2", by="signer2"), 400,
                          "InvalidOperation", "the last policy signer cannot be removed")
        # Restore: signer2 adds signer back, then signer removes signer2.
        self.assert_changed(self.change("add", "signer", by="signer2"), "signer", "IsPresent")
        self.assert_changed(self.change("remove", "signer2"), "signer2", "IsAbsent")

    def test_signer_change_refusals(self):
        before = self.keys()
        cases = [
            (signed("untrusted", cert_payload("signer2")), "InvalidOperation", UNTRUSTED),
            (signed("expired", cert_payload("signer2")), "InvalidParameter",
             BAD_JWS + "a certificate has expired"),
            (h.tamper_payload(signed("signer", cert_payload("signer2"))), "InvalidParameter",
             BAD_JWS + "signature is invalid"),
            (NONE_HEADER + "." + h.b64url_encode(cert_payload("signer2")) + ".",
             "InvalidOperation", ISO_KEYS + NOT_ISOLATED),
            (signed("signer", json.dumps({"certificate": {"kty": "RSA",
                                                          "x5c": [b64der("signer2")]}}).encode()),
             "InvalidOperation", "could not find the policyCertificate claim in the policy token"),
            (signed("signer", json.dumps({"policyCertificate": {"kty": "RSA"}}).encode()),
             "InvalidParameter",
             "the policyCertificate claim must be a JWK with x5c holding one certificate"),
            (signed("signer", json.dumps({"policyCertificate": "x"}).encode()),
             "InvalidParameter",
             "the policyCertificate claim must be a JWK with x5c holding one certificate"),
            (signed("signer", json.dumps({"policyCertificate": {"x5c": ["AAAA"]}}).encode()),
             "InvalidParameter",
             "the policyCertificate claim must be a JWK with x5c holding one certificate"),
            ("abc", "InvalidOperation", BAD_JWS + "malformed compact JWS"),
        ]
        for op in ("add", "remove"):
            for jws, code, message in cases:
                with self.subTest(op=op, message=message):
                    self.assert_error(self.signers_change(op, jws), 400, code, message)
        # Only CA certificates valid now can become signers.
        for name, reason in (("lone-leaf", "an issuing or root certificate lacks CA basic "
                                           "constraints"),
                             ("no-bc", "an issuing or root certificate lacks CA basic "
                                       "constraints"),
                             ("expired", "a certificate has expired"),
                             ("future", "a certificate is not yet valid")):
            with self.subTest(add=name):
                self.assert_error(self.change("add", name), 400, "InvalidParameter",
                                  "the certificate cannot be a policy signer: " + reason)
        # A body that is neither a JWS nor a JSON string.
        for body in (b'"unterminated', b'"\\u0000"x'):
            with self.subTest(body=body):
                status, _, answer = self.call("POST", "/certificates:add", body,
                                              provider=ISO_KEYS, content_type="application/json")
                self.assert_error((status, None, answer), 400, "InvalidOperation",
                                  "the body must be a JWS, or a JWS as a JSON string")
        self.assertEqual(self.keys(), before)


# =====================================================================
# 4. RBAC
# =====================================================================

class RbacTest(PolicyCase):

    def test_reader_reads_only(self):
        self.result(self.put("SgxEnclave", unsigned_policy(POLICY_A)))
        for path, maa in (("/policies/SgxEnclave", True), ("/certificates", True),
                          ("/attestd/policies/SgxEnclave/versions", False),
                          ("/attestd/policies/SgxEnclave/versions/1", False)):
            with self.subTest(path=path):
                status, _, body = self.call("GET", path, who="reader", maa=maa)
                self.assertEqual(status, 200, body)
        before = self.snapshot("SgxEnclave")
        keys = self.signer_keys(ISO_KEYS)
        v = before[1][-1]["version"]
        for method, path, body, provider, maa in (
                ("PUT", "/policies/SgxEnclave", unsigned_policy(POLICY_B), None, True),
                ("POST", "/policies/SgxEnclave:reset", NONE_HEADER + "..", None, True),
                ("POST", f"/attestd/policies/SgxEnclave/versions/{v}:rollback", None, None, False),
                ("POST", "/certificates:add",
                 json.dumps(signed("signer", cert_payload("signer2"))), ISO_KEYS, True),
                ("POST", "/certificates:remove",
                 json.dumps(signed("signer", cert_payload("signer"))), ISO_KEYS, True)):
            with self.subTest(method=method, path=path):
                self.assert_error(self.call(method, path, body, who="reader", provider=provider,
                                            maa=maa), 403, "Forbidden", FORBIDDEN)
        self.assertEqual(self.snapshot("SgxEnclave"), before)
        self.assertEqual(self.signer_keys(ISO_KEYS), keys)

    def test_contributor_changes(self):
        body = unsigned_policy(POLICY_C)
        claims = self.result(self.put("SgxEnclave", body, who="contributor"))
        self.assertEqual(claims["x-ms-policy-result"], "Updated")
        last = self.history("SgxEnclave")[-1]
        self.assertEqual((last["principal"], last["principalName"]),
                         (PRINCIPALS["pm-contributor"]["client_id"], "pm-contributor"))
        self.assertEqual(self.result(self.reset("SgxEnclave", who="contributor"))
                         ["x-ms-policy-result"], "Removed")
        status, _, answer = self.rollback("SgxEnclave", last["version"], who="contributor")
        self.assertEqual(status, 201, answer)
        # In Isolated mode the role is not enough: the signature still decides.
        self.assert_error(self.put("SgxEnclave", unsigned_policy(POLICY_C), provider=ISO,
                                   who="contributor"), 400, "InvalidOperation", ISO + NOT_ISOLATED)
        self.result(self.put("SgxEnclave", signed_policy("signer", POLICY_C), provider=ISO,
                             who="contributor"), ISO)


# =====================================================================
# 5. The log
# =====================================================================

class LogTest(PolicyCase):

    def one_change(self, resp):
        rid = resp[1]["x-ms-request-id"]
        events = self.policy_changes(rid)
        self.assertEqual(len(events), 1, (rid, events))
        e = dict(events[0])
        self.assertRegex(e.pop("time"), r"^\d{4}-\d\d-\d\dT")
        return e

    def test_changes_are_logged(self):
        owner = PRINCIPALS["bootstrap-owner"]["client_id"]
        base = {"peer": "127.0.0.1", "principal": owner, "msg": "policy change"}

        body = unsigned_policy(POLICY_A)
        resp = self.put("Tpm", body)
        self.assertEqual(resp[0], 200)
        v = self.history("Tpm")[-1]["version"]
        e = self.one_change(resp)
        self.assertEqual({k: e[k] for k in e if k != "level"},
                         {**base, "request_id": resp[1]["x-ms-request-id"], "provider": "default",
                          "type": "Tpm", "action": "set", "version": v,
                          "policy_hash": h.policy_hash(POLICY_A)})
        self.assertEqual(e["level"], "info")

        resp = self.put("Tpm", unsigned_policy(BROKEN))
        e = self.one_change(resp)
        self.assertEqual({k: e[k] for k in e if k != "level"},
                         {**base, "request_id": resp[1]["x-ms-request-id"], "provider": "default",
                          "type": "Tpm", "action": "set", "refused": BROKEN_MESSAGE})
        self.assertEqual(e["level"], "warn")

        resp = self.reset("Tpm")
        e = self.one_change(resp)
        self.assertEqual((e["action"], e["version"], e["provider"], e["type"]),
                         ("reset", v + 1, "default", "Tpm"))
        self.assertNotIn("refused", e)

        resp = self.rollback("Tpm", v)
        e = self.one_change(resp)
        self.assertEqual((e["action"], e["version"], e["policy_hash"]),
                         ("rollback", v + 2, h.policy_hash(POLICY_A)))

        resp = self.put("Tpm", unsigned_policy(POLICY_A), provider=ISO)
        e = self.one_change(resp)
        self.assertEqual((e["provider"], e["action"], e["refused"], e["level"]),
                         (ISO, "set", ISO + NOT_ISOLATED, "warn"))

        resp = self.signers_change("add", signed("signer", cert_payload("signer2")))
        try:
            e = self.one_change(resp)
            self.assertEqual({k: e[k] for k in e if k != "level"},
                             {**base, "request_id": resp[1]["x-ms-request-id"],
                              "provider": ISO_KEYS, "action": "signer add",
                              "thumbprint": sha1_upper(CERTS["signer2"][2])})
        finally:
            resp = self.signers_change("remove", signed("signer", cert_payload("signer2")))
        e = self.one_change(resp)
        self.assertEqual((e["action"], e["thumbprint"]),
                         ("signer remove", sha1_upper(CERTS["signer2"][2])))

        resp = self.signers_change("remove", signed("signer", cert_payload("signer")))
        e = self.one_change(resp)
        self.assertEqual((e["action"], e["refused"]),
                         ("signer remove", "the last policy signer cannot be removed"))

        resp = self.put("Tpm", unsigned_policy(POLICY_B), who="contributor")
        self.assertEqual(self.one_change(resp)["principal"],
                         PRINCIPALS["pm-contributor"]["client_id"])

    # docs/policies.md: "Every change and every refused change is logged". Refusals decided
    # before the JWS is opened count too.

    def test_refused_rollback_of_a_missing_version_is_logged(self):
        n = len(self.history("Tpm"))
        resp = self.rollback("Tpm", n + 100)
        self.assertEqual(resp[0], 404)
        e = self.one_change(resp)
        self.assertEqual((e["provider"], e["type"], e["action"]), ("default", "Tpm", "rollback"))
        self.assertTrue(e.get("refused"), e)

    def test_refused_signer_body_is_logged(self):
        resp = self.call("POST", "/certificates:add", b'"unterminated', provider=ISO_KEYS,
                         content_type="application/json")
        self.assertEqual(resp[0], 400)
        e = self.one_change(resp)
        self.assertEqual((e["provider"], e["action"]), (ISO_KEYS, "signer add"))
        self.assertTrue(e.get("refused"), e)

    def test_no_policy_text_or_jws_in_the_log(self):
        marker = "x-attestd-log-marker-7f3a"
        text = POLICY_A.replace("issuancerules{};",
                                f'issuancerules{{\n=> issue(type="{marker}", value=1);\n}};')
        bodies = [unsigned_policy(text), signed_policy("signer", text),
                  signed_policy("signer", text + "broken(")]
        for body in bodies:
            self.put("Tpm", body)
            self.put("Tpm", body, provider=ISO)
        add = signed("signer", cert_payload("signer2"))
        self.signers_change("add", add)
        self.signers_change("remove", signed("signer", cert_payload("signer2")))
        log = self.d.logs()
        self.assertNotIn(marker, log)
        for body in bodies + [add]:
            for part in body.split("."):
                if len(part) >= 20:
                    self.assertNotIn(part, log)
        self.assertNotIn(b64der("signer2")[:60], log)


# =====================================================================
# 5. Replayed signed requests (docs/policies.md, "Bound requests")
# =====================================================================

REPLAYED = ("this signed request was applied already: a bound request is accepted only once "
            "(sign a new one)")


def requires(claim):
    return (f'this provider requires bound policy requests: the JWS protected header has no '
            f'"{claim}" (docs/policies.md, "Bound requests")')


def superseded(version, type_, provider):
    return (f"this signed policy was applied before (version {version} of {type_}) and has "
            f"since been superseded; a signed request is not applied twice. To make it the "
            f"policy in force again, roll back to that version: attestctl policy rollback "
            f"{type_} {version} --provider {provider}, or POST /attestd/policies/{type_}/"
            f"versions/{version}:rollback")


class UnboundReplayTest(PolicyCase):
    """MAA's own form (no binding claims), the setting off: what the official client sends."""

    def test_superseded_signed_set_is_refused(self):
        # A Reader copies an old, weaker signed policy from the history; a Contributor without
        # the signing key re-submits it after it was superseded.
        weak = signed_policy("signer", POLICY_A)
        self.result(self.put("OpenEnclave", weak, provider=ISO_REPLAY), ISO_REPLAY)
        v = self.history("OpenEnclave", ISO_REPLAY)[-1]["version"]
        self.assertEqual(self.version("OpenEnclave", v, ISO_REPLAY)["jws"], weak)
        self.result(self.put("OpenEnclave", signed_policy("signer", POLICY_B),
                             provider=ISO_REPLAY), ISO_REPLAY)
        before = self.snapshot("OpenEnclave", ISO_REPLAY)
        self.assert_error(self.put("OpenEnclave", weak, provider=ISO_REPLAY), 400,
                          "InvalidOperation", superseded(v, "OpenEnclave", ISO_REPLAY))
        self.assertEqual(self.snapshot("OpenEnclave", ISO_REPLAY), before)
        # After a reset too.
        self.result(self.reset("OpenEnclave", signed("signer", b""), provider=ISO_REPLAY),
                    ISO_REPLAY)
        before = self.snapshot("OpenEnclave", ISO_REPLAY)
        self.assert_error(self.put("OpenEnclave", weak, provider=ISO_REPLAY), 400,
                          "InvalidOperation", superseded(v, "OpenEnclave", ISO_REPLAY))
        self.assertEqual(self.snapshot("OpenEnclave", ISO_REPLAY), before)
        # The way back is a rollback (signed, bound by its own payload).
        status, _, body = self.rollback(
            "OpenEnclave", v, signed("signer", rollback_payload(ISO_REPLAY, "OpenEnclave", v)),
            provider=ISO_REPLAY)
        self.assertEqual(status, 201, body)
        self.assertEqual(self.in_force("OpenEnclave", ISO_REPLAY)[0], weak)

    def test_a_new_signature_over_the_same_request_is_the_same_request(self):
        # ES256 signatures differ each time: the signing input identifies the request.
        first = signed_policy("ec-signer", POLICY_A)
        again = signed_policy("ec-signer", POLICY_A)
        self.assertEqual(first.rsplit(".", 1)[0], again.rsplit(".", 1)[0])
        self.assertNotEqual(first, again)
        self.result(self.put("SevSnpVm", first))
        v = self.history("SevSnpVm")[-1]["version"]
        self.result(self.put("SevSnpVm", unsigned_policy(POLICY_B)))
        before = self.snapshot("SevSnpVm")
        self.assert_error(self.put("SevSnpVm", again), 400, "InvalidOperation",
                          superseded(v, "SevSnpVm", "default"))
        self.assertEqual(self.snapshot("SevSnpVm"), before)

    def test_resubmitting_the_policy_in_force_changes_nothing(self):
        body = signed_policy("signer", POLICY_C)
        self.result(self.put("Tpm", body, provider=ISO_REPLAY), ISO_REPLAY)
        before = self.snapshot("Tpm", ISO_REPLAY)
        claims = self.result(self.put("Tpm", body, provider=ISO_REPLAY), ISO_REPLAY)
        self.assertEqual(claims, {"x-ms-policy-result": "Updated",
                                  "x-ms-policy-token-hash": token_hash(body),
                                  "x-ms-policy": body,
                                  "x-ms-policy-signer": signer_jwk("signer", "RSA")})
        self.assertEqual(self.snapshot("Tpm", ISO_REPLAY), before)

    def test_unbound_requests_stay_portable(self):
        # Documented difference from nothing: MAA's form names no provider or type, so the same
        # request is accepted once on each (docs/policies.md): what bound requests are for.
        body = signed_policy("signer", POLICY_B)
        for provider, type_ in ((ISO_REPLAY, "TdxVm"), (ISO_REPLAY, "SgxEnclave"), (ISO, "Tpm")):
            with self.subTest(provider=provider, type=type_):
                self.result(self.put(type_, body, provider=provider), provider)


class BoundRequestTest(PolicyCase):
    """Requests carrying binding claims, the setting off: checked, and accepted once."""

    def test_bound_set_works_once(self):
        body = signed_policy("signer", POLICY_A, header=bound_header(ISO_REPLAY, "SgxEnclave"))
        claims = self.result(self.put("SgxEnclave", body, provider=ISO_REPLAY), ISO_REPLAY)
        self.assertEqual(claims["x-ms-policy"], body)
        before = self.snapshot("SgxEnclave", ISO_REPLAY)
        self.assert_error(self.put("SgxEnclave", body, provider=ISO_REPLAY), 400,
                          "InvalidOperation", REPLAYED)
        self.assertEqual(self.snapshot("SgxEnclave", ISO_REPLAY), before)

    def test_bound_reset_works_once(self):
        self.result(self.put("SevSnpVm", signed_policy("signer", POLICY_C), provider=ISO_REPLAY),
                    ISO_REPLAY)
        reset = signed("signer", b"", header=bound_header(ISO_REPLAY, "SevSnpVm"))
        claims = self.result(self.reset("SevSnpVm", reset, provider=ISO_REPLAY), ISO_REPLAY)
        self.assertEqual(claims["x-ms-policy-result"], "Removed")
        self.result(self.put("SevSnpVm", signed_policy("signer", POLICY_B), provider=ISO_REPLAY),
                    ISO_REPLAY)
        before = self.snapshot("SevSnpVm", ISO_REPLAY)
        self.assert_error(self.reset("SevSnpVm", reset, provider=ISO_REPLAY), 400,
                          "InvalidOperation", REPLAYED)
        self.assertEqual(self.snapshot("SevSnpVm", ISO_REPLAY), before)

    def test_bound_signer_changes_work_once(self):
        # A captured "add signer2" must not bring signer2 back after its removal.
        add = signed("signer", cert_payload("signer2"), header=bound_header(ISO_REPLAY))
        remove = signed("signer", cert_payload("signer2"), header=bound_header(ISO_REPLAY))
        self.assertEqual(self.result(self.signers_change("add", add, provider=ISO_REPLAY),
                                     ISO_REPLAY)["x-ms-policycertificates-result"], "IsPresent")
        self.assertEqual(self.result(self.signers_change("remove", remove, provider=ISO_REPLAY),
                                     ISO_REPLAY)["x-ms-policycertificates-result"], "IsAbsent")
        for op, body in (("add", add), ("remove", remove)):
            with self.subTest(op=op):
                self.assert_error(self.signers_change(op, body, provider=ISO_REPLAY), 400,
                                  "InvalidOperation", REPLAYED)
        self.assertEqual([h.cert_der_from_x5c(k["x5c"][0]) for k in self.signer_keys(ISO_REPLAY)],
                         [CERTS["signer"][2]])

    def test_refused_signer_change_is_not_recorded(self):
        # Removing the last signer is refused; the same bound request is refused the same way
        # again (not as a replay): a refused request changes nothing, its record included.
        self.assertEqual([h.cert_der_from_x5c(k["x5c"][0]) for k in self.signer_keys(ISO_REPLAY)],
                         [CERTS["signer"][2]])
        remove = signed("signer", cert_payload("signer"), header=bound_header(ISO_REPLAY))
        for _ in range(2):
            self.assert_error(self.signers_change("remove", remove, provider=ISO_REPLAY), 400,
                              "InvalidOperation", "the last policy signer cannot be removed")

    def test_binding_claims_are_checked(self):
        now = int(time.time())
        issuer = issuer_of(ISO_REPLAY)
        cases = [
            # Another provider's audience, another type, on the right path.
            (bound_header(ISO, "TdxVm"), "the request's \"aud\" must name this provider's "
             f"issuer, {issuer}"),
            (bound_header(ISO_REPLAY, "TdxVm", aud=[issuer_of(None), issuer_of(ISO)]),
             f"the request's \"aud\" must name this provider's issuer, {issuer}"),
            (bound_header(ISO_REPLAY, "SgxEnclave"),
             "the request's \"attestationType\" must be TdxVm, the attestation type it changes"),
            (bound_header(ISO_REPLAY, "TdxVm", iat=now - 660),
             "the request's \"iat\" is older than 10 minutes: sign a new request"),
            (bound_header(ISO_REPLAY, "TdxVm", iat=now + 300),
             "the request's \"iat\" is in the future"),
            (bound_header(ISO_REPLAY, "TdxVm", iat=str(now)),
             'the "iat" header claim must be a NumericDate (whole seconds)'),
            (bound_header(ISO_REPLAY, "TdxVm", nbf=now + 300),
             'the request is not valid yet (its "nbf" is in the future)'),
            (bound_header(ISO_REPLAY, "TdxVm", exp=now - 300),
             'the request has expired (its "exp" has passed)'),
            # Partly bound: all three claims or none.
            ({"iat": now}, 'a bound request carries iat, aud and attestationType in its JWS '
             'protected header: "aud" is missing'),
            ({"iat": now, "aud": issuer}, 'a bound request carries iat, aud and attestationType '
             'in its JWS protected header: "attestationType" is missing'),
            ({"attestationType": "TdxVm"}, 'a bound request carries iat, aud and attestationType '
             'in its JWS protected header: "iat" is missing'),
        ]
        before = self.snapshot("TdxVm", ISO_REPLAY)
        for header, message in cases:
            with self.subTest(message=message, header=header):
                self.assert_error(self.put("TdxVm", signed_policy("signer", POLICY_A,
                                                                  header=header),
                                           provider=ISO_REPLAY),
                                  400, "InvalidOperation", message)
        self.assertEqual(self.snapshot("TdxVm", ISO_REPLAY), before)
        # An array audience naming the issuer, and a type named in another case, are accepted.
        ok = bound_header(ISO_REPLAY, "tdxvm", aud=[issuer_of(ISO), issuer])
        self.result(self.put("TdxVm", signed_policy("signer", POLICY_C, header=ok),
                             provider=ISO_REPLAY), ISO_REPLAY)
        # A signer change has no type.
        self.assert_error(self.signers_change("add", signed("signer", cert_payload("signer2"),
                                                            header=bound_header(ISO_REPLAY,
                                                                                "TdxVm")),
                                              provider=ISO_REPLAY),
                          400, "InvalidOperation", 'a signer change applies to the whole '
                          'provider: "attestationType" does not belong in it')

    def test_bound_rollback_works_once(self):
        self.result(self.put("OpenEnclave", signed_policy("signer", POLICY_C),
                             provider=ISO), ISO)
        v = self.history("OpenEnclave", ISO)[-1]["version"]
        self.result(self.put("OpenEnclave", signed_policy("signer", POLICY_B, header={"x": 1}),
                             provider=ISO), ISO)
        body = signed("signer", rollback_payload(ISO, "OpenEnclave", v))
        status, _, answer = self.rollback("OpenEnclave", v, body, provider=ISO)
        self.assertEqual(status, 201, answer)
        self.result(self.put("OpenEnclave", signed_policy("signer", POLICY_B, header={"x": 2}),
                             provider=ISO), ISO)
        before = self.snapshot("OpenEnclave", ISO)
        self.assert_error(self.rollback("OpenEnclave", v, body, provider=ISO), 400,
                          "InvalidOperation", REPLAYED)
        self.assertEqual(self.snapshot("OpenEnclave", ISO), before)

    def test_replay_records_survive_a_restart(self):
        body = signed_policy("signer", POLICY_B, header=bound_header(ISO_REPLAY, "Tpm"))
        self.result(self.put("Tpm", body, provider=ISO_REPLAY), ISO_REPLAY)
        self.d.stop()
        self.d.start()
        self.assert_error(self.put("Tpm", body, provider=ISO_REPLAY), 400, "InvalidOperation",
                          REPLAYED)


class RequiredBindingTest(PolicyCase):
    """ISO_BOUND with require_bound_requests on (set by attestctl, effective without SIGHUP)."""

    @classmethod
    def setUpClass(cls):
        shown = json.loads(D.attestctl("provider", "set", ISO_BOUND, "--require-bound-requests",
                                       "on").stdout)
        assert shown["require_bound_requests"] is True, shown

    @classmethod
    def tearDownClass(cls):
        D.attestctl("provider", "set", ISO_BOUND, "--require-bound-requests", "off")

    def test_unbound_requests_refused(self):
        before = self.snapshot("SgxEnclave", ISO_BOUND)
        signers = self.signer_keys(ISO_BOUND)
        for what, resp, claim in (
                ("set", lambda: self.put("SgxEnclave", signed_policy("signer", POLICY_A),
                                         provider=ISO_BOUND), "iat"),
                ("set without aud", lambda: self.put(
                    "SgxEnclave", signed_policy("signer", POLICY_A,
                                                header={"iat": int(time.time())}),
                    provider=ISO_BOUND), None),
                ("reset", lambda: self.reset("SgxEnclave", signed("signer", b""),
                                             provider=ISO_BOUND), "iat"),
                ("add", lambda: self.signers_change("add", signed("signer",
                                                                  cert_payload("signer2")),
                                                    provider=ISO_BOUND), "iat"),
                ("remove", lambda: self.signers_change("remove", signed("signer",
                                                                        cert_payload("signer")),
                                                       provider=ISO_BOUND), "iat")):
            with self.subTest(what=what):
                message = requires(claim) if claim else (
                    'a bound request carries iat, aud and attestationType in its JWS protected '
                    'header: "aud" is missing')
                self.assert_error(resp(), 400, "InvalidOperation", message)
        self.assertEqual(self.snapshot("SgxEnclave", ISO_BOUND), before)
        self.assertEqual(self.signer_keys(ISO_BOUND), signers)

    def test_bound_requests_accepted(self):
        body = signed_policy("signer", POLICY_C, header=bound_header(ISO_BOUND, "SgxEnclave"))
        claims = self.result(self.put("SgxEnclave", body, provider=ISO_BOUND), ISO_BOUND)
        self.assertEqual(claims["x-ms-policy"], body)
        reset = signed("signer", b"", header=bound_header(ISO_BOUND, "SgxEnclave"))
        self.assertEqual(self.result(self.reset("SgxEnclave", reset, provider=ISO_BOUND),
                                     ISO_BOUND)["x-ms-policy-result"], "Removed")
        for op, result in (("add", "IsPresent"), ("remove", "IsAbsent")):
            req = signed("signer", cert_payload("signer2"), header=bound_header(ISO_BOUND))
            self.assertEqual(self.result(self.signers_change(op, req, provider=ISO_BOUND),
                                         ISO_BOUND)["x-ms-policycertificates-result"], result)

    def test_the_setting_binds_at_once(self):
        body = signed_policy("signer", POLICY_B)
        self.assert_error(self.put("TdxVm", body, provider=ISO_BOUND), 400, "InvalidOperation",
                          requires("iat"))
        self.d.attestctl("provider", "set", ISO_BOUND, "--require-bound-requests", "off")
        try:
            self.result(self.put("TdxVm", body, provider=ISO_BOUND), ISO_BOUND)
        finally:
            self.d.attestctl("provider", "set", ISO_BOUND, "--require-bound-requests", "on")
        self.assert_error(self.put("TdxVm", signed_policy("signer", POLICY_A),
                                   provider=ISO_BOUND), 400, "InvalidOperation", requires("iat"))


# =====================================================================
# 6. History: paging and retention
# =====================================================================

class HistoryPagingTest(PolicyCase):

    def test_pages_follow_next_link(self):
        for text in (POLICY_A, POLICY_B, POLICY_C, POLICY_A, POLICY_B):
            self.result(self.put("OpenEnclave", unsigned_policy(text)))
        everything = self.history("OpenEnclave")
        self.assertGreaterEqual(len(everything), 5)
        pages = []
        path = "/attestd/policies/OpenEnclave/versions?maxpagesize=2"
        while path:
            status, _, body = self.call("GET", path, maa=False)
            self.assertEqual(status, 200, body)
            doc = json.loads(body)
            pages.append(doc["versions"])
            self.assertLessEqual(len(doc["versions"]), 2)
            if "nextLink" in doc:
                last = doc["versions"][-1]["version"]
                self.assertEqual(doc["nextLink"], self.d.base_url + "/attestd/policies/"
                                 f"OpenEnclave/versions?after={last}&maxpagesize=2")
                path = doc["nextLink"].removeprefix(self.d.base_url)
            else:
                path = None
        self.assertEqual([v for p in pages for v in p], everything)
        self.assertEqual(len(pages), (len(everything) + 1) // 2)
        # "after" alone: the rest, in one page of the default size.
        status, _, body = self.call("GET", "/attestd/policies/OpenEnclave/versions?after="
                                    f"{everything[1]['version']}", maa=False)
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body), {"attestationType": "OpenEnclave",
                                            "versions": everything[2:]})

    def test_bad_paging_parameters(self):
        for query, message in (
                ("?maxpagesize=0", "maxpagesize must be an integer from 1 to 1000"),
                ("?maxpagesize=1001", "maxpagesize must be an integer from 1 to 1000"),
                ("?maxpagesize=ten", "maxpagesize must be an integer from 1 to 1000"),
                ("?after=-1", "after must be a policy version number (0 or more)"),
                ("?after=", "after must be a policy version number (0 or more)")):
            with self.subTest(query=query):
                status, _, body = self.call("GET", "/attestd/policies/OpenEnclave/versions" +
                                            query, maa=False)
                self.assertEqual(status, 400, body)
                self.assertEqual(h.error_of(body), ("InvalidParameter", message))


class RetentionTest(PolicyCase):
    """KEEP keeps the newest 3 versions per type (attestctl provider set --policy-history-keep)."""

    @classmethod
    def setUpClass(cls):
        shown = json.loads(D.attestctl("provider", "set", KEEP, "--policy-history-keep",
                                       "3").stdout)
        assert shown["policy_history_keep"] == 3, shown

    def test_only_the_newest_versions_are_kept(self):
        bodies = [unsigned_policy(t) for t in (POLICY_A, POLICY_B, POLICY_C)]
        bodies.append(signed_policy("signer", POLICY_A))
        bodies.append(signed_policy("signer", POLICY_B))
        for body in bodies:
            self.result(self.put("SgxEnclave", body, provider=KEEP), KEEP)
        kept = self.history("SgxEnclave", KEEP)
        newest = kept[-1]["version"]
        self.assertEqual([v["version"] for v in kept], [newest - 2, newest - 1, newest])
        self.assertEqual(self.in_force("SgxEnclave", KEEP)[0], bodies[-1])
        status, _, body = self.call("GET", f"/attestd/policies/SgxEnclave/versions/{newest - 3}",
                                    provider=KEEP, maa=False)
        self.assertEqual(status, 404, body)
        self.assert_error(self.rollback("SgxEnclave", newest - 3, provider=KEEP), 404,
                          "NotFound", "no such policy version")
        # A reset and a rollback are versions too; the one in force is always kept.
        self.result(self.reset("SgxEnclave", provider=KEEP), KEEP)
        status, _, body = self.rollback("SgxEnclave", newest, provider=KEEP)
        self.assertEqual(status, 201, body)
        kept = self.history("SgxEnclave", KEEP)
        self.assertEqual([v["action"] for v in kept], ["set", "reset", "rollback"])
        self.assertEqual(self.in_force("SgxEnclave", KEEP)[0], bodies[-1])

    def test_a_forgotten_version_is_still_not_reapplied(self):
        weak = signed_policy("signer", POLICY_C)
        self.result(self.put("Tpm", weak, provider=KEEP), KEEP)
        v = self.history("Tpm", KEEP)[-1]["version"]
        for text in (POLICY_A, POLICY_B, POLICY_A, POLICY_B):
            self.result(self.put("Tpm", unsigned_policy(text), provider=KEEP), KEEP)
        self.assertNotIn(v, [x["version"] for x in self.history("Tpm", KEEP)])
        before = self.snapshot("Tpm", KEEP)
        self.assert_error(self.put("Tpm", weak, provider=KEEP), 400, "InvalidOperation",
                          superseded(v, "Tpm", KEEP))
        self.assertEqual(self.snapshot("Tpm", KEEP), before)


if __name__ == "__main__":
    unittest.main()
