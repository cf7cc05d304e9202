"""External token issuers with static JWK Sets, black-box: the real daemon over HTTPS.

Covers (docs/identity.md): a Kubernetes service-account token (RS256, static JWKS from the
cluster) and a SPIFFE JWT-SVID (ES256, static trust bundle) as callers; an RSA key published
without "alg" takes RS256 and PS256, one with "alg" only that; roles from explicit
assignments to an external subject and group, and from a roles claim through role_map; every
token check refused with 401 + `error="invalid_token"` and MAA's error body; key rotation by
SIGHUP; a broken issuers file refused at start and kept out at reload; the decision log.
Networked keys (OpenID discovery) are covered by test_oidc.py against a real OpenID provider.
"""
import json
import os
import re
import signal
import time
import unittest

import harness as h

K8S_ISS = "https://kubernetes.default.svc.cluster.local"
K8S_SUB = "system:serviceaccount:attest:attester"
SPIFFE_ISS = "https://oidc-discovery.example.org"
SPIFFE_SUB = "spiffe://example.org/ns/prod/sa/attester"
CORP_ISS = "https://login.example.com/tenant-1/v2.0"


def bearer(token):
    return {"Authorization": "Bearer " + token}


class ExternalIssuers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon(start=False)
        try:
            cls.keys = os.path.join(cls.d.tmp, "keys")
            os.makedirs(cls.keys)
            cls.k8s_key = h.new_signing_key(os.path.join(cls.keys, "k8s.pem"), "rsa")
            cls.k8s_key2 = h.new_signing_key(os.path.join(cls.keys, "k8s-2.pem"), "rsa")
            cls.spiffe_key = h.new_signing_key(os.path.join(cls.keys, "spiffe.pem"), "p256")
            cls.corp_key = h.new_signing_key(os.path.join(cls.keys, "corp.pem"), "p384")
            cls.other_key = h.new_signing_key(os.path.join(cls.keys, "other.pem"), "p256")
            cls.write_jwks("k8s.json", [h.public_jwk(cls.k8s_key, "k8s-1", "RS256"),
                                        h.public_jwk(cls.k8s_key2, "k8s-2")])  # no "alg"
            cls.write_jwks("spiffe.json", [h.public_jwk(cls.spiffe_key, "svid-1")])
            cls.write_jwks("corp.json", [h.public_jwk(cls.corp_key, "corp-1")])
            cls.issuers_path = os.path.join(cls.d.tmp, "issuers.json")
            cls.write_issuers(cls.issuers_doc())
            cls.d.write_config(f"issuers_file = {cls.issuers_path}\nauth_max_failures = 0\n")
            cls.d.start()
            with open(os.path.join(cls.d.data, "bootstrap-owner.json"), encoding="utf-8") as f:
                cls.owner = json.load(f)
        except BaseException:
            cls.d.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    @classmethod
    def write_jwks(cls, name, keys):
        with open(os.path.join(cls.keys, name), "w", encoding="utf-8") as f:
            json.dump({"keys": keys}, f)

    @classmethod
    def issuers_doc(cls):
        return {"issuers": [
            {"name": "k8s", "issuer": K8S_ISS, "audiences": ["attestd"],
             "jwks_file": "keys/k8s.json", "max_lifetime": 3600},
            {"name": "spiffe", "issuer": SPIFFE_ISS, "audiences": ["spiffe://example.org/attestd"],
             "jwks_file": os.path.join(cls.keys, "spiffe.json"), "leeway": 5},
            {"name": "corp", "issuer": CORP_ISS, "audiences": ["api://attestd"],
             "jwks_file": "keys/corp.json", "subject_claim": "oid",
             "roles_claim": "roles", "role_map": {
                 "Attestation.Admin": "Owner",
                 "Attestation.Reader": {"role": "AttestationReader", "provider": "default"}},
             "groups_claim": "groups", "required_claims": {"tid": "tenant-1"}},
        ]}

    @classmethod
    def write_issuers(cls, doc):
        with open(cls.issuers_path, "w", encoding="utf-8") as f:
            json.dump(doc, f) if isinstance(doc, dict) else f.write(doc)

    # ---- tokens ----

    def k8s_token(self, key=None, kid="k8s-1", alg="RS256", header=None, **over):
        now = int(time.time())
        claims = {"iss": K8S_ISS, "sub": K8S_SUB, "aud": ["attestd"], "iat": now,
                  "nbf": now, "exp": now + 600,
                  "kubernetes.io": {"namespace": "attest",
                                    "serviceaccount": {"name": "attester", "uid": "u-1"}}}
        claims.update(over)
        return h.sign_jwt(key or self.k8s_key, alg, claims, kid=kid, header=header)

    def svid(self, key=None, kid="svid-1", **over):
        now = int(time.time())
        claims = {"iss": SPIFFE_ISS, "sub": SPIFFE_SUB, "aud": "spiffe://example.org/attestd",
                  "iat": now, "exp": now + 300}
        claims.update(over)
        return h.sign_jwt(key or self.spiffe_key, "ES256", claims, kid=kid)

    def corp_token(self, **over):
        now = int(time.time())
        claims = {"iss": CORP_ISS, "aud": "api://attestd", "oid": "oid-7", "sub": "pairwise-x",
                  "tid": "tenant-1", "iat": now, "nbf": now, "exp": now + 900,
                  "roles": ["Attestation.Reader"], "groups": ["g-ops", "g-dev"]}
        claims.update(over)
        return h.sign_jwt(self.corp_key, "ES384", claims, kid="corp-1")

    # ---- assertions ----

    def whoami(self, token):
        status, _, body = self.d.request("GET", "/attestd/whoami", headers=bearer(token))
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def assert_refused(self, token, description):
        status, headers, body = self.d.request("GET", "/attestd/whoami", headers=bearer(token))
        self.assertEqual(status, 401, body)
        code, message = h.error_of(body)
        self.assertEqual(code, "Unauthorized")
        self.assertEqual(message, description, body)
        self.assertEqual(headers.get_all("WWW-Authenticate"),
                         [f'Bearer realm="attestd", error="invalid_token", '
                          f'error_description="{description}"'])

    def roles_status(self, token):
        return self.d.request("GET", "/attestd/roleAssignments", headers=bearer(token))[0]

    # ---- tests ----

    def test_kubernetes_service_account(self):
        token = self.k8s_token()
        who = self.whoami(token)
        self.assertEqual(who, {"kind": "subject", "subject": K8S_SUB, "name": "k8s",
                               "issuer": K8S_ISS, "roles": [], "groups": [], "tokenRoles": []})
        self.assertEqual(self.roles_status(token), 403)
        out = self.d.attestctl("role", "assign", "--role", "Owner", "--subject", K8S_SUB,
                               "--issuer", K8S_ISS)
        role_id = json.loads(out.stdout)["id"]
        try:
            self.assertEqual(self.roles_status(token), 200)
            self.assertEqual(self.whoami(token)["roles"], [{"role": "Owner", "provider": "*"}])
            # The same subject from another issuer is someone else.
            self.assertEqual(self.roles_status(self.svid(sub=K8S_SUB)), 403)
        finally:
            self.d.attestctl("role", "revoke", role_id)
        self.assertEqual(self.roles_status(token), 403)

    def test_rsa_key_without_alg_takes_rs256_and_ps256(self):
        """docs/identity.md: "RS256 or PS256 for RSA keys"; a JWK naming its alg keeps to it."""
        for alg in ("PS256", "RS256"):
            with self.subTest(alg=alg):
                who = self.whoami(self.k8s_token(key=self.k8s_key2, kid="k8s-2", alg=alg))
                self.assertEqual((who["subject"], who["issuer"]), (K8S_SUB, K8S_ISS))
        self.assert_refused(self.k8s_token(alg="PS256"),
                            "token algorithm differs from the key's algorithm")
        # The header chooses the padding, and the signature must have it.
        lie = self.k8s_token(key=self.k8s_key2, kid="k8s-2", header={"alg": "PS256"})
        self.assert_refused(lie, "signature is invalid")

    def test_spiffe_jwt_svid(self):
        who = self.whoami(self.svid())
        self.assertEqual((who["kind"], who["subject"], who["issuer"], who["name"]),
                         ("subject", SPIFFE_SUB, SPIFFE_ISS, "spiffe"))

    def test_roles_and_groups_from_the_token(self):
        token = self.corp_token()
        who = self.whoami(token)
        self.assertEqual(who["subject"], "oid-7")  # subject_claim "oid", not "sub"
        self.assertEqual(who["groups"], ["g-ops", "g-dev"])
        self.assertEqual(who["tokenRoles"], [{"role": "AttestationReader", "provider": "default"}])
        self.assertEqual(self.roles_status(token), 403)  # a reader is no Owner
        admin = self.corp_token(roles=["Attestation.Admin", "Unmapped.Role"])
        self.assertEqual(self.whoami(admin)["tokenRoles"], [{"role": "Owner", "provider": "*"}])
        self.assertEqual(self.roles_status(admin), 200)
        # A group assignment made by an Owner through the REST API.
        owner = self.owner_token()
        doc = {"subjectKind": "group", "subject": "g-ops", "issuer": CORP_ISS, "role": "Owner",
               "provider": "*"}
        status, _, body = self.d.request("POST", "/attestd/roleAssignments",
                                         body=json.dumps(doc).encode(),
                                         headers={**bearer(owner),
                                                  "Content-Type": "application/json"})
        self.assertEqual(status, 201, body)
        try:
            self.assertEqual(self.roles_status(token), 200)
            self.assertEqual(self.roles_status(self.corp_token(groups=["g-dev"])), 403)
        finally:
            status, _, body = self.d.request(
                "POST", "/attestd/roleAssignments:remove",
                body=json.dumps({"id": json.loads(body)["id"]}).encode(),
                headers={**bearer(owner), "Content-Type": "application/json"})
            self.assertEqual(status, 200, body)
        self.assertEqual(self.roles_status(token), 403)

    def owner_token(self):
        status, _, body = self.d.request(
            "POST", "/oauth2/token",
            body=f"grant_type=client_credentials&client_id={self.owner['client_id']}"
                 f"&client_secret={self.owner['client_secret']}".encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200, body)
        return json.loads(body)["access_token"]

    def test_refusals(self):
        now = int(time.time())
        cases = [
            (self.k8s_token(aud=["other"]), "the token audience does not name this service"),
            (self.k8s_token(exp=now - 120), "the token has expired"),
            (self.k8s_token(nbf=now + 600, exp=now + 900), "the token is not yet valid"),
            (self.k8s_token(exp=now + 7200), "the token is valid for longer than allowed"),
            (self.k8s_token(sub=None), "a required token claim is missing or malformed"),
            (self.svid(kid="svid-2"), "the token names a key the issuer does not have"),
            (self.svid(key=self.other_key), "signature is invalid"),
            (self.svid(iss="https://unknown.example"), "the token issuer is not trusted"),
            (self.corp_token(tid="tenant-2"), "a required token claim is missing or malformed"),
        ]
        for token, description in cases:
            with self.subTest(description=description):
                self.assert_refused(token, description)

    def test_forged_algorithms(self):
        good = self.svid()
        head, payload, _ = good.split(".")
        none = h.b64url_encode_json({"alg": "none", "kid": "svid-1"}) + "." + payload + "."
        self.assert_refused(none, "unsigned token (alg none) not accepted")
        # HS256 keyed with the issuer's public key text: the classic confusion attack.
        import hashlib
        import hmac
        pub = h.openssl("pkey", "-in", self.spiffe_key, "-pubout").stdout
        hs_head = h.b64url_encode_json({"alg": "HS256", "kid": "svid-1"})
        mac = hmac.new(pub, (hs_head + "." + payload).encode(), hashlib.sha256).digest()
        self.assert_refused(hs_head + "." + payload + "." + h.b64url_encode(mac),
                            "signature algorithm not supported")
        # ES384 claimed for the P-256 key.
        mixed = h.sign_jwt(self.spiffe_key, "ES256", json.loads(h.b64url_decode(payload)),
                           kid="svid-1", header={"alg": "ES384"})
        self.assert_refused(mixed, "token algorithm differs from the key's algorithm")
        self.assertTrue(head)

    def test_truncated_and_garbage_never_500(self):
        token = self.svid()
        for cut in range(0, len(token), max(1, len(token) // 40)):
            status, _, body = self.d.request("GET", "/attestd/whoami",
                                             headers=bearer(token[:cut] or "x"))
            self.assertEqual(status, 401, (cut, body))
        big = "a" * 20000
        status, _, body = self.d.request("GET", "/attestd/whoami", headers=bearer(big))
        self.assertIn(status, (401, 431), body)

    def test_zz_rotation_by_reload_and_bad_file_kept_out(self):
        new_key = h.new_signing_key(os.path.join(self.keys, "spiffe-2.pem"), "p256")
        old = self.svid()
        self.whoami(old)
        # The trust bundle moves to a new key; SIGHUP reloads the issuers file and its keys.
        self.write_jwks("spiffe.json", [h.public_jwk(new_key, "svid-2")])
        self.d.reload()
        self.d.wait_log("reloaded issuers", issuers=3)
        self.whoami(self.svid(key=new_key, kid="svid-2"))
        self.assert_refused(old, "the token names a key the issuer does not have")
        # A broken file at reload: logged, the registry in use stays.
        self.write_issuers('{"issuers": [{"name": "x"}]}')
        self.d.reload()
        event = self.d.wait_log("issuers reload failed; keeping the old ones")[-1]
        self.assertTrue(event["detail"].endswith(
            "issuers.json: issuers[0].issuer: must be a non-empty string"), event)
        self.whoami(self.svid(key=new_key, kid="svid-2"))
        self.write_issuers(self.issuers_doc())

    def test_zz_decisions_logged_without_tokens(self):
        token = self.k8s_token()
        self.whoami(token)
        self.assert_refused(self.k8s_token(aud="nope"), "the token audience does not name this service")
        logs = self.d.logs()
        self.assertNotIn(token, logs)
        self.assertNotIn(token.split(".")[2], logs)
        events = [e for e in self.d.log_events() if e.get("msg") == "authorization"
                  and e.get("issuer") == K8S_ISS]
        self.assertTrue(any(e["result"] == "allowed" and e["principal"] == K8S_SUB
                            and e["principal_name"] == "k8s" and re.fullmatch(
                                "[0-9a-f]{16}", e["token"]) for e in events), events)
        refused = [e for e in self.d.log_events() if e.get("msg") == "authorization"
                   and e.get("reason") == "ATT_ERR_TOKEN_AUDIENCE"]
        self.assertTrue(refused)


class IssuersFileAtStart(unittest.TestCase):
    def test_bad_issuers_file_stops_the_start(self):
        d = h.Daemon(start=False)
        try:
            path = os.path.join(d.tmp, "issuers.json")
            with open(path, "w", encoding="utf-8") as f:
                f.write('{"issuers": [{"name": "k8s", "issuer": "https://k", "audiences": ["a"],'
                        ' "jwks_file": "missing.json"}]}')
            d.write_config(f"issuers_file = {path}\n")
            proc = h.run_attestd(["--config", d.config_path, "--data-dir", d.data])
            self.assertEqual(proc.returncode, 1, proc.stderr)
            self.assertIn(f"issuers: {path}: issuers[0].jwks_file: "
                          f"{d.tmp}/missing.json: not found", h.startup_failure(proc))
        finally:
            d.cleanup()

    def test_unreachable_discovery_does_not_stop_the_start(self):
        d = h.Daemon(start=False)
        try:
            path = os.path.join(d.tmp, "issuers.json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump({"issuers": [{"name": "down", "issuer": "https://127.0.0.1:1",
                                        "audiences": ["a"], "discovery": True}]}, f)
            d.write_config(f"issuers_file = {path}\n")
            d.start()
            event = d.wait_log("cannot fetch issuer keys; keeping the ones held")[-1]
            self.assertEqual(event["issuer_name"], "down")
            self.assertEqual(event["error"], "ATT_ERR_FETCH")
            token = h.b64url_encode_json({"alg": "ES256", "kid": "k"}) + "." + \
                h.b64url_encode_json({"iss": "https://127.0.0.1:1"}) + ".AAAA"
            status, _, body = d.request("GET", "/attestd/whoami", headers=bearer(token))
            self.assertEqual(status, 401, body)
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
