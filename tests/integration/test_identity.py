"""Identity and access, black-box: the bootstrap owner, the OAuth2 client-credentials token
endpoint, attestd's own ES256 access tokens, bearer validation, RBAC on every route (driven by
`attestctl routes`), role-assignment routes, secret rotation, and what the log may hold.

Backoff is turned off (auth_max_failures = 0) in every daemon here: the negative suites fail on
purpose many times from one address. test_backoff.py covers backoff itself.
Each token request costs one scrypt per stored secret, so tokens are fetched once per class.
"""
import base64
import calendar
import hashlib
import hmac
import json
import os
import re
import stat
import time
import unittest
import urllib.parse
import uuid

import harness as h

CONFIG = "auth_max_failures = 0"
FORM = "application/x-www-form-urlencoded"
BEARER_CHALLENGE = 'Bearer realm="attestd"'
# At /oauth2/token a 401 names the scheme the client used in its Authorization header, or the
# one attestd supports (Basic) when it used none (RFC 6749 §5.2).
BASIC_CHALLENGE = 'Basic realm="attestd"'
HEX16_RE = re.compile(r"^[0-9a-f]{16}$")
HEX32_RE = re.compile(r"^[0-9a-f]{32}$")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
ACCESS_LIFETIME = 600
BOOTSTRAP_MSG = "created the bootstrap owner; its credentials are in the file"

# Permission names the matrix understands, and which role grants which (src/auth/rbac.c).
KNOWN_PERMISSIONS = {"public", "authenticated", "attest", "read", "write", "admin"}
ROLE_GRANTS = {
    None: set(),
    "Attester": {"attest"},
    "AttestationReader": {"read", "attest"},
    "AttestationContributor": {"read", "write", "attest"},
    "Owner": {"read", "write", "attest", "admin"},
}


def form(*pairs, **fields):
    """urlencoded body; pairs keep order and may repeat a name."""
    return urllib.parse.urlencode(list(pairs) + list(fields.items())).encode()


def basic(client_id, secret):
    raw = f"{urllib.parse.quote(client_id, safe='')}:{urllib.parse.quote(secret, safe='')}"
    return "Basic " + base64.b64encode(raw.encode()).decode()


# Values for the "{...}" parts of route templates in the matrix.
PATH_PARAMS = {"type": "SgxEnclave", "version": "1"}


def concrete_path(route):
    """A request path for a route of `attestctl routes`: template parts filled in, and the
    api-version MAA's routes require."""
    path = re.sub(r"\{(\w+)\}", lambda m: PATH_PARAMS[m.group(1)], route["path"])
    if route["apiVersion"] == "required":
        path += "?api-version=2020-10-01"
    return path


def bearer(token):
    return {"Authorization": "Bearer " + token}


def fingerprint(token):
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def b64json(doc_text):
    return h.b64url_encode(doc_text.encode())


def token_request(d, client_id, secret, how="basic", extra=None, content_type=FORM, body=None):
    """POST /oauth2/token; returns (status, headers, body bytes)."""
    headers = {"Content-Type": content_type} if content_type else {}
    if body is None:
        fields = [("grant_type", "client_credentials")]
        if how == "post":
            fields += [("client_id", client_id), ("client_secret", secret)]
        fields += list(extra or [])
        body = form(*fields)
    if how == "basic":
        headers["Authorization"] = basic(client_id, secret)
    return d.request("POST", "/oauth2/token", body=body, headers=headers)


def get_token(d, client_id, secret, how="basic"):
    status, headers, body = token_request(d, client_id, secret, how)
    if status != 200:
        raise AssertionError(f"token request for {client_id} failed: {status} {body!r}")
    return json.loads(body)["access_token"]


def create_principal(d, name, *args):
    return json.loads(d.attestctl("principal", "create", name, *args).stdout)


class IdentityCase(unittest.TestCase):
    """One daemon per class; the bootstrap owner's credentials and a cached token."""

    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon(config=CONFIG)
        try:
            with open(os.path.join(cls.d.data, "bootstrap-owner.json"), encoding="utf-8") as f:
                cls.owner = json.load(f)
            cls.owner_token = get_token(cls.d, cls.owner["client_id"], cls.owner["client_secret"])
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

    # ---- assertions ----

    def assert_oauth_error(self, resp, status, error, challenge=None):
        code, headers, body = resp
        self.assertEqual(code, status, body)
        doc = json.loads(body)
        self.assertEqual(set(doc), {"error", "error_description"}, body)
        self.assertEqual(doc["error"], error, body)
        self.assertIsInstance(doc["error_description"], str)
        self.assertTrue(doc["error_description"])
        self.assertEqual(headers["Content-Type"], "application/json; charset=utf-8")
        self.assertEqual(headers["Cache-Control"], "no-store")
        self.assertEqual(headers.get_all("WWW-Authenticate"),
                         [challenge] if challenge is not None else None)

    def assert_invalid_token(self, resp):
        """401, MAA error body, WWW-Authenticate: Bearer realm, error="invalid_token"."""
        code, headers, body = resp
        self.assertEqual(code, 401, body)
        self.assertEqual(h.error_of(body)[0], "Unauthorized")
        challenges = headers.get_all("WWW-Authenticate")
        self.assertEqual(len(challenges), 1, challenges)
        m = re.fullmatch(r'Bearer realm="attestd", error="invalid_token", '
                         r'error_description="([^"]+)"', challenges[0])
        self.assertIsNotNone(m, challenges[0])
        self.assertEqual(m.group(1), h.error_of(body)[1])

    def assert_no_token_401(self, resp):
        """401 for a request without a bearer token: the bare challenge, no error=."""
        code, headers, body = resp
        self.assertEqual(code, 401, body)
        self.assertEqual(h.error_of(body)[0], "Unauthorized")
        self.assertEqual(headers.get_all("WWW-Authenticate"), [BEARER_CHALLENGE])

    def assert_forbidden(self, resp):
        code, headers, body = resp
        self.assertEqual(code, 403, body)
        self.assertEqual(h.error_of(body)[0], "Forbidden")
        self.assertIsNone(headers.get("WWW-Authenticate"))

    def whoami(self, token):
        return self.d.request("GET", "/attestd/whoami", headers=bearer(token))


class QuickstartTest(IdentityCase):
    """The sequence docs/quickstart.md gives a new user."""

    def test_1_bootstrap_file(self):
        path = os.path.join(self.d.data, "bootstrap-owner.json")
        st = os.stat(path)
        self.assertTrue(stat.S_ISREG(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(set(self.owner),
                         {"client_id", "client_secret", "token_endpoint", "role"})
        self.assertRegex(self.owner["client_id"], h.UUID_RE)
        self.assertRegex(self.owner["client_secret"], r"^[A-Za-z0-9_-]{43}$")
        self.assertEqual(self.owner["token_endpoint"], self.d.base_url + "/oauth2/token")
        self.assertEqual(self.owner["role"], "Owner on all providers")
        created = [e for e in self.d.log_events()
                   if e.get("msg") == BOOTSTRAP_MSG]
        self.assertEqual(len(created), 1)
        self.assertEqual(created[0]["client_id"], self.owner["client_id"])
        self.assertEqual(created[0]["file"], path)
        shown = json.loads(self.d.attestctl("principal", "show", "bootstrap-owner").stdout)
        self.assertEqual(shown["client_id"], self.owner["client_id"])
        self.assertEqual([(s["state"], s["expires"]) for s in shown["secrets"]],
                         [("active", None)])
        self.assertEqual([(r["role"], r["provider"]) for r in shown["roles"]], [("Owner", "*")])

    def check_token_answer(self, resp):
        status, headers, body = resp
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["Content-Type"], "application/json; charset=utf-8")
        self.assertEqual(headers["Cache-Control"], "no-store")
        self.assertEqual(headers["Pragma"], "no-cache")
        doc = json.loads(body)
        self.assertEqual(set(doc), {"access_token", "token_type", "expires_in"})
        self.assertEqual(doc["token_type"], "Bearer")
        self.assertEqual(doc["expires_in"], ACCESS_LIFETIME)
        return doc["access_token"]

    def check_access_token(self, token, before, after):
        header, claims, _, sig = h.decode_jwt(token)
        self.assertEqual(set(header), {"alg", "kid", "typ"})
        self.assertEqual(header["alg"], "ES256")
        self.assertEqual(header["typ"], "at+jwt")
        self.assertRegex(header["kid"], r"^[A-Za-z0-9_-]{43}$")
        self.assertEqual(len(sig), 64)
        self.assertEqual(set(claims),
                         {"iss", "aud", "sub", "client_id", "name", "iat", "nbf", "exp", "jti"})
        self.assertEqual(claims["iss"], self.d.base_url)
        self.assertEqual(claims["aud"], "attestd")
        self.assertEqual(claims["sub"], self.owner["client_id"])
        self.assertEqual(claims["client_id"], self.owner["client_id"])
        self.assertEqual(claims["name"], "bootstrap-owner")
        self.assertTrue(before - 1 <= claims["iat"] <= after + 1, (before, claims, after))
        self.assertEqual(claims["nbf"], claims["iat"])
        self.assertEqual(claims["exp"] - claims["iat"], ACCESS_LIFETIME)
        self.assertRegex(claims["jti"], r"^[0-9a-f]{32,}$")
        return header, claims

    def test_2_token_basic_and_post(self):
        cid, secret = self.owner["client_id"], self.owner["client_secret"]
        tokens = []
        for how in ("basic", "post"):
            with self.subTest(how=how):
                before = int(time.time())
                token = self.check_token_answer(token_request(self.d, cid, secret, how))
                after = int(time.time())
                header, claims = self.check_access_token(token, before, after)
                tokens.append((header, claims, token))
        # Two requests, two distinct tokens from the same key.
        self.assertEqual(tokens[0][0]["kid"], tokens[1][0]["kid"])
        self.assertNotEqual(tokens[0][1]["jti"], tokens[1][1]["jti"])
        # The auth key is not any provider's signing key.
        certs = self.d.get_json("/certs")[2]
        self.assertNotIn(tokens[0][0]["kid"], [k["kid"] for k in certs["keys"]])
        for _, _, token in tokens:
            status, _, body = self.whoami(token)
            self.assertEqual(status, 200, body)

    def test_3_whoami_owner_everywhere(self):
        status, headers, body = self.whoami(self.owner_token)
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body), {
            "kind": "principal", "subject": self.owner["client_id"], "name": "bootstrap-owner",
            "roles": [{"role": "Owner", "provider": "*"}]})
        # ... and an admin route answers.
        status, _, body = self.d.request("GET", "/attestd/roleAssignments",
                                         headers=bearer(self.owner_token))
        self.assertEqual(status, 200, body)
        listed = json.loads(body)["roleAssignments"]
        self.assertEqual([(r["subject"], r["role"], r["provider"]) for r in listed],
                         [(self.owner["client_id"], "Owner", "*")])

    def test_4_restart_keeps_owner_file_and_auth_key(self):
        path = os.path.join(self.d.data, "bootstrap-owner.json")
        with open(path, "rb") as f:
            before = f.read()
        self.d.stop()
        self.d.start()
        with open(path, "rb") as f:
            self.assertEqual(f.read(), before)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        created = [e for e in self.d.log_events()
                   if e.get("msg") == BOOTSTRAP_MSG]
        self.assertEqual(created, [])  # this run's log: not created again
        # A token issued before the restart still validates (the auth key is stored).
        status, _, body = self.whoami(self.owner_token)
        self.assertEqual(status, 200, body)
        self.assertEqual(len(json.loads(self.d.attestctl("principal", "list").stdout)), 1)


class RouteMatrixTest(IdentityCase):
    """Every route of `attestctl routes` × {anonymous, no role, each role}: 401/403/allowed."""

    ROLES = ("Attester", "AttestationReader", "AttestationContributor", "Owner")

    @classmethod
    def prepare(cls):
        cls.routes = json.loads(cls.d.attestctl("routes").stdout)
        cls.seed_policy_version()
        # /attest routes are public unless the provider says otherwise (MAA's shared
        # providers); here they need the "attest" permission, so RBAC covers them too. Public
        # attestation is tested in test_attest_testpki.py.
        cls.d.attestctl("provider", "set", "default", "--attest-requires-auth", "on")
        cls.d.reload()
        cls.callers = {"anonymous": (None, None)}
        for role in (None,) + cls.ROLES:
            name = "mx-" + (role or "norole").lower()
            cred = create_principal(cls.d, name)
            if role is not None:
                cls.d.attestctl("role", "assign", "--role", role, "--principal", name,
                                "--provider", "*")
            cls.callers[name] = (role, get_token(cls.d, cred["client_id"],
                                                 cred["client_secret"]))

    def test_route_table_shape(self):
        self.assertTrue(self.routes)
        names = set()
        for rt in self.routes:
            if "successor" in rt:
                continue  # a deprecated alias: test_aliases
            with self.subTest(route=rt.get("name")):
                self.assertEqual(set(rt), {"name", "method", "path", "permission",
                                           "providerScoped", "apiVersion"})
                self.assertIn(rt["apiVersion"], ("ignored", "optional", "required"))
                self.assertIn(rt["method"], ("GET", "POST", "PUT", "DELETE", "PATCH"))
                self.assertTrue(rt["path"].startswith("/"))
                self.assertIsInstance(rt["providerScoped"], bool)
                # A new permission name must be taught to this test (and to rbac.c's table).
                self.assertIn(rt["permission"], KNOWN_PERMISSIONS,
                              f"route {rt['name']} needs unknown permission "
                              f"{rt['permission']!r}: extend ROLE_GRANTS in test_identity.py")
                self.assertNotIn(rt["name"], names)
                names.add(rt["name"])
        # The routes this increment adds are in the table with the permission they need.
        want = {"OAuthToken": ("POST", "/oauth2/token", "public", False),
                "WhoAmI": ("GET", "/attestd/whoami", "authenticated", False),
                "ListRoleAssignments": ("GET", "/attestd/roleAssignments", "admin", False),
                "AddRoleAssignment": ("POST", "/attestd/roleAssignments", "admin", False),
                "RemoveRoleAssignment": ("POST", "/attestd/roleAssignments:remove", "admin",
                                         False),
                # docs/reference/maa-policy.md §5: Reader reads policies and signers, Contributor changes them.
                "GetPolicy": ("GET", "/policies/{type}", "read", True),
                "SetPolicy": ("PUT", "/policies/{type}", "write", True),
                "ResetPolicy": ("POST", "/policies/{type}:reset", "write", True),
                "GetPolicyCertificates": ("GET", "/certificates", "read", True),
                "AddPolicyCertificate": ("POST", "/certificates:add", "write", True),
                "RemovePolicyCertificate": ("POST", "/certificates:remove", "write", True),
                "ListPolicyVersions": ("GET", "/attestd/policies/{type}/versions", "read", True),
                "GetPolicyVersion": ("GET", "/attestd/policies/{type}/versions/{version}",
                                     "read", True),
                "RollbackPolicy": ("POST",
                                   "/attestd/policies/{type}/versions/{version}:rollback",
                                   "write", True)}
        got = {rt["name"]: (rt["method"], rt["path"], rt["permission"], rt["providerScoped"])
               for rt in self.routes if rt["name"] in want and "successor" not in rt}
        self.assertEqual(got, want)
        # attestd's own routes (not MAA's) are all under /attestd/.
        maa = ("/certs", "/.well-known/", "/attest/", "/policies/", "/certificates")
        ours = sorted(rt["path"] for rt in self.routes if "successor" not in rt and
                      not rt["path"].startswith(maa) and
                      rt["path"] not in ("/healthz", "/readyz", "/metrics", "/oauth2/token"))
        self.assertTrue(ours)
        self.assertEqual([p for p in ours if not p.startswith("/attestd/")], [])

    def test_aliases(self):
        """The deprecated /admin/ paths: each an entry after its route's, with the route's name,
        method, permission and api-version rule, naming the route's path as its successor;
        literal paths at the root only (the answers' Link header names the successor as is)."""
        routes = {(rt["method"], rt["path"]): rt for rt in self.routes if "successor" not in rt}
        aliases = [rt for rt in self.routes if "successor" in rt]
        self.assertEqual(sorted((rt["method"], rt["path"], rt["successor"]) for rt in aliases), [
            ("GET", "/admin/roleAssignments", "/attestd/roleAssignments"),
            ("GET", "/admin/whoami", "/attestd/whoami"),
            ("POST", "/admin/roleAssignments", "/attestd/roleAssignments"),
            ("POST", "/admin/roleAssignments:remove", "/attestd/roleAssignments:remove")])
        for rt in aliases:
            with self.subTest(alias=rt["path"], method=rt["method"]):
                self.assertEqual(set(rt), {"name", "method", "path", "permission",
                                           "providerScoped", "apiVersion", "successor"})
                successor = routes[(rt["method"], rt["successor"])]
                self.assertEqual({**rt, "path": rt["successor"], "providerScoped":
                                  successor["providerScoped"]},
                                 {**successor, "successor": rt["successor"]})
                self.assertIs(rt["providerScoped"], False)
                self.assertNotIn("{", rt["path"])
                self.assertNotIn("{", rt["successor"])
                i = self.routes.index(rt)
                self.assertEqual(self.routes[i - 1], successor)

    @classmethod
    def seed_policy_version(cls):
        """Version 1 of the default provider's SgxEnclave policy, so the history routes of the
        matrix (".../versions/1") name something that exists."""
        with open(os.path.join(cls.d.data, "bootstrap-owner.json"), encoding="utf-8") as f:
            owner = json.load(f)
        token = get_token(cls.d, owner["client_id"], owner["client_secret"])
        text = b"version=1.0; authorizationrules{=> permit();}; issuancerules{};"
        jws = "eyJhbGciOiJub25lIn0." + h.b64url_encode_json(
            {"AttestationPolicy": h.b64url_encode(text)}) + "."
        status, _, body = cls.d.request("PUT", "/policies/SgxEnclave?api-version=2020-10-01",
                                        body=jws.encode(),
                                        headers={**bearer(token), "Content-Type": "text/plain"})
        assert status == 200, body

    def expected(self, permission, role, anonymous):
        """'allowed', 401 or 403."""
        if permission == "public":
            return "allowed"
        if anonymous:
            return 401
        if permission == "authenticated":
            return "allowed"
        if permission not in KNOWN_PERMISSIONS:
            raise AssertionError(f"unknown permission {permission!r}")
        return "allowed" if permission in ROLE_GRANTS[role] else 403

    def test_matrix(self):
        cells = 0
        for rt in self.routes:
            perm = rt["permission"]
            self.assertIn(perm, KNOWN_PERMISSIONS, f"route {rt['name']}: unknown permission "
                                                   f"{perm!r}; the matrix cannot judge it")
            paths = [concrete_path(rt)]
            if rt["providerScoped"]:
                paths.append("/providers/default" + paths[0])
            for path in paths:
                for caller, (role, token) in self.callers.items():
                    headers = bearer(token) if token is not None else {}
                    body = None
                    if rt["method"] in ("POST", "PUT", "PATCH"):
                        body = b"{}"
                        headers["Content-Type"] = "application/json"
                    want = self.expected(perm, role, token is None)
                    with self.subTest(route=rt["name"], path=path, caller=caller, want=want):
                        resp = self.d.request(rt["method"], path, body=body, headers=headers)
                        cells += 1
                        status = resp[0]
                        if want == 401:
                            self.assert_no_token_401(resp)
                        elif want == 403:
                            self.assert_forbidden(resp)
                        else:
                            self.assertNotIn(status, (401, 403, 404, 405), resp[2])
                            self.assertLess(status, 500, resp[2])
        print(f"\nrole x route matrix: {len(self.routes)} routes, {cells} cells "
              f"({len(self.callers)} callers)", flush=True)
        self.assertEqual(cells, len(self.callers) *
                         sum(2 if rt["providerScoped"] else 1 for rt in self.routes))
        # Nothing in the matrix was a server error.
        self.assertFalse([e for e in self.d.log_events()
                          if e.get("msg") == "request" and e.get("status", 0) >= 500])

    def test_root_only_routes_not_under_a_provider(self):
        for rt in self.routes:
            if rt["providerScoped"]:
                continue
            with self.subTest(route=rt["name"]):
                body = b"{}" if rt["method"] == "POST" else None
                status, _, resp = self.d.request(rt["method"], "/providers/default" + rt["path"],
                                                 body=body, headers=bearer(self.owner_token))
                self.assertEqual(status, 404, resp)

    def test_whoami_reports_each_role(self):
        for caller, (role, token) in self.callers.items():
            if token is None:
                continue
            with self.subTest(caller=caller):
                status, _, body = self.whoami(token)
                self.assertEqual(status, 200, body)
                doc = json.loads(body)
                self.assertEqual(doc["name"], caller)
                self.assertEqual(doc["roles"],
                                 [] if role is None else [{"role": role, "provider": "*"}])


class NegativeTokenTest(IdentityCase):
    """Bearer tokens that must be refused: 401 invalid_token, never a 500."""

    @classmethod
    def prepare(cls):
        cls.header, cls.claims, _, _ = h.decode_jwt(cls.owner_token)
        cls.h_part, cls.p_part, cls.s_part = cls.owner_token.split(".")

    def refuse(self, token, reason=None):
        """401 invalid_token; `reason`: the error name the decision log must give."""
        resp = self.whoami(token)
        self.assert_invalid_token(resp)
        fp = fingerprint(token.strip())
        logged = [e for e in self.d.log_events()
                  if e.get("msg") == "authorization" and e.get("token") == fp]
        self.assertTrue(logged, f"no authorization log line with token {fp}")
        self.assertEqual(logged[-1]["result"], "unauthenticated")
        self.assertNotIn("principal", logged[-1])
        if reason is not None:
            self.assertEqual(logged[-1]["reason"], reason)
        return resp

    def test_control_valid_token_works(self):
        status, _, body = self.whoami(self.owner_token)
        self.assertEqual(status, 200, body)

    def test_changed_exp_breaks_the_signature(self):
        claims = dict(self.claims, exp=self.claims["exp"] + 3600)
        payload = b64json(json.dumps(claims, separators=(",", ":")))
        self.refuse(f"{self.h_part}.{payload}.{self.s_part}", "ATT_ERR_SIGNATURE")
        self.refuse(h.tamper_payload(self.owner_token), "ATT_ERR_SIGNATURE")
        self.refuse(h.flip_payload_char(self.owner_token))

    def test_alg_none(self):
        for hdr, reason in (({"alg": "none", "kid": self.header["kid"]}, "ATT_ERR_ALG_NONE"),
                            ({"alg": "none", "kid": self.header["kid"], "typ": "at+jwt"},
                             "ATT_ERR_ALG_NONE"),
                            ({"alg": "None", "kid": self.header["kid"], "typ": "at+jwt"},
                             "ATT_ERR_ALG_UNSUPPORTED")):
            with self.subTest(header=hdr):
                hp = b64json(json.dumps(hdr))
                self.refuse(f"{hp}.{self.p_part}.", reason)
                self.refuse(f"{hp}.{self.p_part}.{self.s_part}", reason)

    def test_hs256_with_a_public_key_as_secret(self):
        certs = self.d.get_json("/certs")[2]
        provider_key = certs["keys"][0]
        der = h.cert_der_from_x5c(provider_key["x5c"][0])
        spki_pem = h.der_to_pem(h.cert_spki_der(der), "PUBLIC KEY").encode()
        cert_pem = h.der_to_pem(der, "CERTIFICATE").encode()
        for kid, reason in ((self.header["kid"], "ATT_ERR_ALG_UNSUPPORTED"),
                            (provider_key["kid"], "ATT_ERR_TOKEN_KID")):
            for secret in (spki_pem, cert_pem, der):
                with self.subTest(kid=kid, secret=secret[:12]):
                    hp = b64json(json.dumps({"alg": "HS256", "kid": kid, "typ": "at+jwt"}))
                    mac = hmac.new(secret, f"{hp}.{self.p_part}".encode(), hashlib.sha256)
                    self.refuse(f"{hp}.{self.p_part}.{h.b64url_encode(mac.digest())}", reason)

    def test_unknown_kid(self):
        for kid in ("nope", "", self.header["kid"][:-1]):
            with self.subTest(kid=kid):
                hp = b64json(json.dumps(dict(self.header, kid=kid)))
                self.refuse(f"{hp}.{self.p_part}.{self.s_part}", "ATT_ERR_TOKEN_KID")
        hp = b64json(json.dumps({"alg": "ES256", "typ": "at+jwt"}))  # no kid at all
        self.refuse(f"{hp}.{self.p_part}.{self.s_part}", "ATT_ERR_TOKEN_KID")

    def test_bad_signature(self):
        s = self.s_part
        for i in (0, len(s) // 2, len(s) - 10):
            with self.subTest(at=i):
                repl = "A" if s[i] != "A" else "B"
                self.refuse(f"{self.h_part}.{self.p_part}.{s[:i]}{repl}{s[i + 1:]}",
                            "ATT_ERR_SIGNATURE")
        # Signature of another valid token (same key, different payload).
        other = get_token(self.d, self.owner["client_id"], self.owner["client_secret"], "post")
        self.refuse(f"{self.h_part}.{self.p_part}.{other.split('.')[2]}", "ATT_ERR_SIGNATURE")
        # Right length, all zero; and a DER signature instead of R||S.
        self.refuse(f"{self.h_part}.{self.p_part}.{h.b64url_encode(bytes(64))}")
        der = h.ecdsa_raw_to_der(h.b64url_decode(s))
        self.refuse(f"{self.h_part}.{self.p_part}.{h.b64url_encode(der)}")

    def test_truncated(self):
        t = self.owner_token
        first, second = t.index("."), t.rindex(".")
        cuts = sorted({1, 10, first - 1, first, first + 1, (first + second) // 2, second - 1,
                       second, second + 1, len(t) - 40, len(t) - 1})
        for cut in cuts:
            with self.subTest(cut=cut):
                self.refuse(t[:cut])
        for broken in ("a.b", "a.b.c.d", "..", f"{self.h_part}..{self.s_part}",
                       f".{self.p_part}.{self.s_part}",
                       f"{self.h_part}.{self.p_part}.{self.s_part}.",
                       f"{self.h_part}={self.p_part}.{self.s_part}", "x" * 100):
            with self.subTest(token=broken[:30]):
                self.refuse(broken)

    def test_oversized(self):
        big = self.h_part + "." + "A" * (9000 - len(self.h_part) - len(self.s_part) - 2) + \
            "." + self.s_part
        self.assertEqual(len(big), 9000)
        self.refuse(big, "ATT_ERR_TOO_LARGE")
        # Over max_header_size (16 KiB by default): the HTTP layer refuses the head.
        huge = "A" * 20000
        with self.d.tls_socket() as s:
            s.sendall(b"GET /attestd/whoami HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
                      b"Authorization: Bearer " + huge.encode() + b"\r\n\r\n")
            resps = h.parse_responses(h.read_until_eof(s))
        self.assertEqual(len(resps), 1)
        status, _, body = resps[0]
        self.assertEqual(status, 431)
        self.assertEqual(h.error_of(body)[0], "RequestHeaderFieldsTooLarge")
        status, _, body = self.whoami(self.owner_token)  # the daemon is fine
        self.assertEqual(status, 200, body)

    def test_duplicate_json_keys(self):
        kid = self.header["kid"]
        for text in (f'{{"alg":"ES256","alg":"ES256","kid":"{kid}","typ":"at+jwt"}}',
                     f'{{"alg":"ES256","kid":"{kid}","kid":"{kid}","typ":"at+jwt"}}',
                     f'{{"alg":"ES256","kid":"nope","kid":"{kid}","typ":"at+jwt"}}'):
            with self.subTest(header=text):
                self.refuse(f"{b64json(text)}.{self.p_part}.{self.s_part}", "ATT_ERR_JSON")
        # Duplicate claim in the payload (the signature cannot match it either).
        payload = json.dumps(self.claims, separators=(",", ":"))
        dup = payload[:-1] + f',"sub":"{uuid.uuid4()}"}}'
        self.refuse(f"{self.h_part}.{b64json(dup)}.{self.s_part}", "ATT_ERR_SIGNATURE")

    def test_not_json_header_or_payload(self):
        for hp, pp in ((h.b64url_encode(b"not json"), self.p_part),
                       (h.b64url_encode(b"[1,2]"), self.p_part),
                       (self.h_part, h.b64url_encode(b"\xff\xfe")),
                       (h.b64url_encode(b'{"alg":"ES256","kid":' + b"[" * 5000 + b"}"),
                        self.p_part)):
            with self.subTest(header=hp[:20], payload=pp[:20]):
                self.refuse(f"{hp}.{pp}.{self.s_part}")

    def test_wrong_scheme(self):
        for value in ("Basic xyz", basic(self.owner["client_id"], self.owner["client_secret"]),
                      "Token " + self.owner_token, "Bearer", self.owner_token):
            with self.subTest(value=value[:20]):
                self.assert_no_token_401(self.d.request("GET", "/attestd/whoami",
                                                        headers={"Authorization": value}))
        # The scheme name is case-insensitive (RFC 7235 §2.1).
        status, _, body = self.d.request("GET", "/attestd/whoami",
                                         headers={"Authorization": "bearer " + self.owner_token})
        self.assertEqual(status, 200, body)

    def test_disabled_then_enabled_principal(self):
        cred = create_principal(self.d, "neg-disable")
        token = get_token(self.d, cred["client_id"], cred["client_secret"])
        self.assertEqual(self.whoami(token)[0], 200)
        self.d.attestctl("principal", "disable", "neg-disable")
        self.refuse(token, "ATT_ERR_PRINCIPAL_DISABLED")
        self.d.attestctl("principal", "enable", "neg-disable")
        status, _, body = self.whoami(token)
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["name"], "neg-disable")

    def test_deleted_principal(self):
        cred = create_principal(self.d, "neg-delete")
        token = get_token(self.d, cred["client_id"], cred["client_secret"])
        self.assertEqual(self.whoami(token)[0], 200)
        self.d.attestctl("principal", "delete", "neg-delete")
        self.refuse(token, "ATT_ERR_CREDENTIALS")
        # A principal created later under the same name is another principal.
        again = create_principal(self.d, "neg-delete")
        self.assertNotEqual(again["client_id"], cred["client_id"])
        self.refuse(token, "ATT_ERR_CREDENTIALS")

    def test_provider_token_is_not_an_access_token(self):
        token = self.d.attestctl("token", "issue", "--provider", "default").stdout.strip()
        self.refuse(token, "ATT_ERR_TOKEN_KID")
        claims = json.dumps({"aud": "attestd", "sub": self.owner["client_id"]})
        token = self.d.attestctl("token", "issue", "--provider", "default", "--claims", claims,
                                 "--lifetime", "300").stdout.strip()
        self.refuse(token, "ATT_ERR_TOKEN_KID")

    def test_zz_no_server_errors(self):
        # unittest runs a class's tests in name order: this one last, over the whole log.
        self.assertFalse([e for e in self.d.log_events()
                          if e.get("msg") == "request" and e.get("status", 0) >= 500])


class SecretRotationTest(IdentityCase):
    """Two active secrets at most; revoked, disabled, unknown: invalid_client."""

    def test_rotation(self):
        first = create_principal(self.d, "rot")
        self.assertEqual(set(first), {"name", "client_id", "client_secret", "secret_id",
                                      "expires"})
        self.assertRegex(first["secret_id"], HEX32_RE)
        self.assertRegex(first["expires"], TIME_RE)  # default: 180 days
        cid = first["client_id"]
        second = json.loads(self.d.attestctl("principal", "secret", "add", "rot").stdout)
        self.assertEqual(second["client_id"], cid)
        self.assertNotEqual(second["client_secret"], first["client_secret"])
        self.assertNotEqual(second["secret_id"], first["secret_id"])
        # Both work during the overlap.
        self.assertEqual(token_request(self.d, cid, first["client_secret"])[0], 200)
        self.assertEqual(token_request(self.d, cid, second["client_secret"], "post")[0], 200)
        # A third active secret is refused.
        proc = self.d.attestctl("principal", "secret", "add", "rot", check=False)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("two active secrets", proc.stderr)
        self.assertEqual(proc.stdout, "")
        # Revoke the old one: it stops working at once, the new one goes on.
        self.d.attestctl("principal", "secret", "revoke", "rot", first["secret_id"])
        self.assert_oauth_error(token_request(self.d, cid, first["client_secret"]), 401,
                                "invalid_client", BASIC_CHALLENGE)
        self.assert_oauth_error(token_request(self.d, cid, first["client_secret"], "post"), 401,
                                "invalid_client", BASIC_CHALLENGE)
        token = get_token(self.d, cid, second["client_secret"])
        self.assertEqual(self.whoami(token)[0], 200)
        shown = json.loads(self.d.attestctl("principal", "show", "rot").stdout)
        states = {s["id"]: s["state"] for s in shown["secrets"]}
        self.assertEqual(states, {first["secret_id"]: "revoked", second["secret_id"]: "active"})
        # One active again: a new secret may be added.
        third = json.loads(self.d.attestctl("principal", "secret", "add", "rot").stdout)
        self.assertEqual(token_request(self.d, cid, third["client_secret"])[0], 200)
        # Revoking an unknown secret id fails.
        proc = self.d.attestctl("principal", "secret", "revoke", "rot", "0" * 32, check=False)
        self.assertEqual(proc.returncode, 1, proc.stderr)

    def test_secret_days_zero_never_expires(self):
        cred = create_principal(self.d, "forever", "--secret-days", "0")
        self.assertIsNone(cred["expires"])
        shown = json.loads(self.d.attestctl("principal", "show", "forever").stdout)
        self.assertEqual([(s["state"], s["expires"]) for s in shown["secrets"]],
                         [("active", None)])
        self.assertEqual(token_request(self.d, cred["client_id"], cred["client_secret"])[0], 200)
        for bad in ("-1", "3651", "x", ""):
            with self.subTest(days=bad):
                proc = self.d.attestctl("principal", "create", "never-" + str(len(bad)),
                                        "--secret-days", bad, check=False)
                self.assertEqual(proc.returncode, 2, proc.stderr)

    def test_disabled_principal_invalid_client(self):
        cred = create_principal(self.d, "rot-disabled")
        self.d.attestctl("principal", "disable", "rot-disabled")
        self.assert_oauth_error(token_request(self.d, cred["client_id"], cred["client_secret"]),
                                401, "invalid_client", BASIC_CHALLENGE)
        self.d.attestctl("principal", "enable", "rot-disabled")
        self.assertEqual(token_request(self.d, cred["client_id"], cred["client_secret"])[0], 200)

    def test_unknown_client_and_wrong_secret(self):
        cases = [(str(uuid.uuid4()), self.owner["client_secret"]),
                 ("not-a-uuid", self.owner["client_secret"]),
                 (self.owner["client_id"], "wrong-secret"),
                 (self.owner["client_id"], self.owner["client_secret"][:-1]),
                 (self.owner["client_id"].upper(), self.owner["client_secret"])]
        for cid, secret in cases:
            for how, challenge in (("basic", BASIC_CHALLENGE), ("post", BASIC_CHALLENGE)):
                with self.subTest(client_id=cid, how=how):
                    self.assert_oauth_error(token_request(self.d, cid, secret, how), 401,
                                            "invalid_client", challenge)

    def test_missing_client_authentication(self):
        # Neither Basic nor client_secret in the body; only an id; only a secret.
        for fields in ([("grant_type", "client_credentials")],
                       [("grant_type", "client_credentials"),
                        ("client_id", self.owner["client_id"])],
                       [("grant_type", "client_credentials"),
                        ("client_secret", self.owner["client_secret"])]):
            with self.subTest(fields=[f[0] for f in fields]):
                self.assert_oauth_error(
                    self.d.request("POST", "/oauth2/token", body=form(*fields),
                                   headers={"Content-Type": FORM}),
                    401, "invalid_client", BASIC_CHALLENGE)
        # A malformed Basic header, or another scheme: the challenge names the scheme the
        # client used (RFC 6749 §5.2).
        for value, challenge in (("Basic !!!", BASIC_CHALLENGE),
                                 ("Basic " + base64.b64encode(b"no-colon").decode(),
                                  BASIC_CHALLENGE),
                                 ("Bearer abc", BEARER_CHALLENGE)):
            with self.subTest(authorization=value):
                self.assert_oauth_error(
                    self.d.request("POST", "/oauth2/token",
                                   body=form(grant_type="client_credentials"),
                                   headers={"Content-Type": FORM, "Authorization": value}),
                    401, "invalid_client", challenge)

    def test_request_errors(self):
        cid, secret = self.owner["client_id"], self.owner["client_secret"]
        # Wrong grant_type: 400 unsupported_grant_type (basic and post).
        for grant in ("password", "authorization_code", "Client_Credentials", ""):
            with self.subTest(grant_type=grant):
                body = form(grant_type=grant, client_id=cid, client_secret=secret)
                self.assert_oauth_error(
                    self.d.request("POST", "/oauth2/token", body=body,
                                   headers={"Content-Type": FORM}),
                    400, "unsupported_grant_type")
        # Missing grant_type: 400 invalid_request.
        self.assert_oauth_error(
            self.d.request("POST", "/oauth2/token",
                           body=form(client_id=cid, client_secret=secret),
                           headers={"Content-Type": FORM}), 400, "invalid_request")
        self.assert_oauth_error(token_request(self.d, cid, secret, body=b""), 400,
                                "invalid_request")
        # Wrong or missing content type.
        for ctype in ("application/json", "text/plain", "multipart/form-data; boundary=x", None):
            with self.subTest(content_type=ctype):
                self.assert_oauth_error(token_request(self.d, cid, secret, "post",
                                                      content_type=ctype), 400,
                                        "invalid_request")
        # A content type with parameters is fine.
        self.assertEqual(token_request(self.d, cid, secret, "post",
                                       content_type=FORM + "; charset=UTF-8")[0], 200)
        # Basic and client_secret in the body: one method only.
        self.assert_oauth_error(token_request(self.d, cid, secret, "basic",
                                              extra=[("client_secret", secret)]),
                                400, "invalid_request")
        # A repeated parameter.
        for repeated in ([("grant_type", "client_credentials")], [("client_id", cid)],
                         [("client_secret", secret)]):
            with self.subTest(repeated=repeated[0][0]):
                self.assert_oauth_error(token_request(self.d, cid, secret, "post",
                                                      extra=repeated), 400, "invalid_request")
        # GET on the token endpoint: 405.
        status, headers, _ = self.d.request("GET", "/oauth2/token")
        self.assertEqual(status, 405)
        self.assertEqual(headers["Allow"], "POST")

    def test_last_used_recorded(self):
        cred = create_principal(self.d, "lastused")
        shown = json.loads(self.d.attestctl("principal", "show", "lastused").stdout)
        self.assertIsNone(shown["last_used"])
        self.assertEqual(shown["last_used_from"], "")
        # A failed attempt does not count as use.
        self.assertEqual(token_request(self.d, cred["client_id"], "wrong")[0], 401)
        shown = json.loads(self.d.attestctl("principal", "show", "lastused").stdout)
        self.assertIsNone(shown["last_used"])
        before = time.time()
        self.assertEqual(token_request(self.d, cred["client_id"], cred["client_secret"])[0], 200)
        after = time.time()
        shown = json.loads(self.d.attestctl("principal", "show", "lastused").stdout)
        self.assertRegex(shown["last_used"], TIME_RE)
        used = calendar.timegm(time.strptime(shown["last_used"], "%Y-%m-%dT%H:%M:%SZ"))
        self.assertTrue(int(before) - 1 <= used <= after + 1, (before, shown, after))
        self.assertEqual(shown["last_used_from"], "127.0.0.1")
        listed = {p["name"]: p for p in json.loads(self.d.attestctl("principal", "list").stdout)}
        self.assertEqual(listed["lastused"]["last_used"], shown["last_used"])
        self.assertNotIn("client_secret", json.dumps(listed))


class RoleAssignmentTest(IdentityCase):
    """Owner-only REST routes for role assignments."""

    @classmethod
    def prepare(cls):
        cls.target = create_principal(cls.d, "ra-target")

    def post(self, path, doc, raw=None):
        body = raw if raw is not None else json.dumps(doc).encode()
        return self.d.request("POST", path, body=body,
                              headers=dict(bearer(self.owner_token),
                                           **{"Content-Type": "application/json"}))

    def list_assignments(self):
        status, _, body = self.d.request("GET", "/attestd/roleAssignments",
                                         headers=bearer(self.owner_token))
        self.assertEqual(status, 200, body)
        doc = json.loads(body)
        self.assertEqual(set(doc), {"roleAssignments"})
        return doc["roleAssignments"]

    def assert_error(self, resp, status, code):
        self.assertEqual(resp[0], status, resp[2])
        self.assertEqual(h.error_of(resp[2])[0], code)

    def test_add_list_remove(self):
        want = {"subjectKind": "principal", "subject": self.target["client_id"],
                "role": "AttestationReader", "provider": "default"}
        status, headers, body = self.post("/attestd/roleAssignments", want)
        self.assertEqual(status, 201, body)
        created = json.loads(body)
        self.assertEqual(set(created), {"id", "subjectKind", "subject", "issuer", "role",
                                        "provider", "created"})
        self.assertRegex(created["id"], HEX32_RE)
        self.assertRegex(created["created"], TIME_RE)
        self.assertEqual(created["issuer"], "")
        self.assertEqual({k: created[k] for k in want}, want)
        # Duplicate: 409.
        self.assert_error(self.post("/attestd/roleAssignments", want), 409, "Conflict")
        # Listed, and the same as attestctl sees.
        listed = self.list_assignments()
        self.assertIn(created, listed)
        self.assertEqual(listed, json.loads(self.d.attestctl("role", "list").stdout))
        # The principal sees it in whoami.
        token = get_token(self.d, self.target["client_id"], self.target["client_secret"])
        status, _, body = self.whoami(token)
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["roles"],
                         [{"role": "AttestationReader", "provider": "default"}])
        # A Reader on one provider still may not call the admin routes.
        self.assert_forbidden(self.d.request("GET", "/attestd/roleAssignments",
                                             headers=bearer(token)))
        # Remove: 200, then 404.
        status, _, body = self.post("/attestd/roleAssignments:remove", {"id": created["id"]})
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body), {"id": created["id"], "removed": True})
        self.assertNotIn(created["id"], [r["id"] for r in self.list_assignments()])
        self.assert_error(self.post("/attestd/roleAssignments:remove", {"id": created["id"]}),
                          404, "NotFound")
        self.assertEqual(json.loads(self.whoami(token)[2])["roles"], [])

    def test_deprecated_admin_paths(self):
        """/admin/whoami, /admin/roleAssignments and /admin/roleAssignments:remove are aliases
        of the /attestd/ routes until the next release: the same answers, each (refusals too)
        with Deprecation: true and a Link to the successor; the new paths carry neither."""
        def deprecated(headers, successor):
            self.assertEqual(headers.get_all("Deprecation"), ["true"])
            self.assertEqual(headers.get_all("Link"), [f'<{successor}>; rel="successor-version"'])

        def current(headers):
            self.assertIsNone(headers["Deprecation"])
            self.assertIsNone(headers["Link"])

        owner = bearer(self.owner_token)
        status, headers, new = self.d.request("GET", "/attestd/whoami", headers=owner)
        self.assertEqual(status, 200, new)
        current(headers)
        status, headers, old = self.d.request("GET", "/admin/whoami", headers=owner)
        self.assertEqual(status, 200, old)
        deprecated(headers, "/attestd/whoami")
        self.assertEqual(json.loads(old), json.loads(new))
        status, headers, _ = self.d.request("HEAD", "/admin/whoami", headers=owner)
        self.assertEqual(status, 200)
        deprecated(headers, "/attestd/whoami")
        # A refusal through the alias is marked as well.
        resp = self.d.request("GET", "/admin/whoami")
        self.assert_no_token_401(resp)
        deprecated(resp[1], "/attestd/whoami")
        resp = self.d.request("GET", "/attestd/whoami")
        self.assert_no_token_401(resp)
        current(resp[1])
        # List, add and remove through the aliases.
        status, headers, body = self.d.request("GET", "/admin/roleAssignments", headers=owner)
        self.assertEqual(status, 200, body)
        deprecated(headers, "/attestd/roleAssignments")
        self.assertEqual(json.loads(body), {"roleAssignments": self.list_assignments()})
        want = {"subjectKind": "principal", "subject": self.target["client_id"],
                "role": "Attester", "provider": "default"}
        status, headers, body = self.post("/admin/roleAssignments", want)
        self.assertEqual(status, 201, body)
        deprecated(headers, "/attestd/roleAssignments")
        created = json.loads(body)
        self.assertIn(created, self.list_assignments())
        resp = self.post("/admin/roleAssignments", want)
        self.assert_error(resp, 409, "Conflict")
        deprecated(resp[1], "/attestd/roleAssignments")
        status, headers, body = self.post("/admin/roleAssignments:remove", {"id": created["id"]})
        self.assertEqual(status, 200, body)
        deprecated(headers, "/attestd/roleAssignments:remove")
        self.assertEqual(json.loads(body), {"id": created["id"], "removed": True})
        self.assertNotIn(created["id"], [r["id"] for r in self.list_assignments()])
        # Not under a provider, and no other method.
        status, headers, body = self.d.request("GET", "/providers/default/admin/whoami",
                                               headers=owner)
        self.assertEqual(status, 404, body)
        current(headers)
        status, headers, body = self.d.request("DELETE", "/admin/whoami", headers=owner)
        self.assertEqual(status, 405, body)
        self.assertEqual(headers["Allow"], "GET")

    def test_add_refusals(self):
        base = {"subjectKind": "principal", "subject": self.target["client_id"],
                "role": "Attester", "provider": "*"}
        self.assert_error(self.post("/attestd/roleAssignments", dict(base, provider="nope")),
                          404, "NotFound")
        self.assert_error(self.post("/attestd/roleAssignments",
                                    dict(base, subject=str(uuid.uuid4()))), 404, "NotFound")
        self.assert_error(self.post("/attestd/roleAssignments",
                                    dict(base, subject="ra-target")), 404, "NotFound")
        for role in ("Admin", "owner", "Reader", ""):
            with self.subTest(role=role):
                self.assert_error(self.post("/attestd/roleAssignments", dict(base, role=role)),
                                  400, "InvalidParameter")
        for kind in ("subject", "group"):
            with self.subTest(kind=kind):
                self.assert_error(self.post("/attestd/roleAssignments",
                                            dict(base, subjectKind=kind, subject="abc")),
                                  400, "InvalidParameter")
        self.assert_error(self.post("/attestd/roleAssignments",
                                    dict(base, issuer="https://idp.example.test")),
                          400, "InvalidParameter")
        self.assert_error(self.post("/attestd/roleAssignments", dict(base, subjectKind="user")),
                          400, "InvalidParameter")
        for missing in base:
            with self.subTest(missing=missing):
                doc = {k: v for k, v in base.items() if k != missing}
                self.assert_error(self.post("/attestd/roleAssignments", doc), 400,
                                  "InvalidParameter")
        self.assert_error(self.post("/attestd/roleAssignments", dict(base, role=1)), 400,
                          "InvalidParameter")
        for raw in (b"", b"[]", b"not json", b'{"a":1,"a":2}'):
            with self.subTest(body=raw):
                self.assert_error(self.post("/attestd/roleAssignments", None, raw=raw), 400,
                                  "InvalidParameter")
        self.assert_error(self.post("/attestd/roleAssignments:remove", {}), 400,
                          "InvalidParameter")
        self.assert_error(self.post("/attestd/roleAssignments:remove", {"id": "0" * 32}), 404,
                          "NotFound")
        # Nothing was added by any of these.
        self.assertEqual([r["subject"] for r in self.list_assignments()],
                         [self.owner["client_id"]])

    def test_external_subject_assignment(self):
        doc = {"subjectKind": "group", "subject": "attestation-admins",
               "issuer": "https://idp.example.test", "role": "AttestationContributor",
               "provider": "*"}
        status, _, body = self.post("/attestd/roleAssignments", doc)
        self.assertEqual(status, 201, body)
        created = json.loads(body)
        self.assertEqual({k: created[k] for k in doc}, doc)
        status, _, body = self.post("/attestd/roleAssignments:remove", {"id": created["id"]})
        self.assertEqual(status, 200, body)

    def test_last_global_owner_cannot_be_removed(self):
        owners = [r for r in self.list_assignments()
                  if r["role"] == "Owner" and r["provider"] == "*"]
        self.assertEqual(len(owners), 1)
        boot = owners[0]
        self.assert_error(self.post("/attestd/roleAssignments:remove", {"id": boot["id"]}), 409,
                          "Conflict")
        # An Owner on one provider does not count.
        status, _, body = self.post("/attestd/roleAssignments", {
            "subjectKind": "principal", "subject": self.target["client_id"], "role": "Owner",
            "provider": "default"})
        self.assertEqual(status, 201, body)
        scoped = json.loads(body)
        self.assert_error(self.post("/attestd/roleAssignments:remove", {"id": boot["id"]}), 409,
                          "Conflict")
        # With a second Owner on *, the second one can be removed again.
        status, _, body = self.post("/attestd/roleAssignments", {
            "subjectKind": "principal", "subject": self.target["client_id"], "role": "Owner",
            "provider": "*"})
        self.assertEqual(status, 201, body)
        second = json.loads(body)
        for rid in (second["id"], scoped["id"]):
            status, _, body = self.post("/attestd/roleAssignments:remove", {"id": rid})
            self.assertEqual(status, 200, body)
        self.assert_error(self.post("/attestd/roleAssignments:remove", {"id": boot["id"]}), 409,
                          "Conflict")
        self.assertIn(boot, self.list_assignments())


class LockoutGuardTest(IdentityCase):
    """Only usable Owners (existing, enabled principals) keep attestd administrable: an Owner
    given to an external subject of an untrusted issuer, or to a disabled principal, does not
    count when the last usable one would go."""

    def owner_rows(self):
        status, _, body = self.d.request("GET", "/attestd/roleAssignments",
                                         headers={"Authorization": "Bearer " + self.owner_token})
        self.assertEqual(status, 200)
        return json.loads(body)["roleAssignments"]

    def test_unusable_owners_do_not_count(self):
        auth = {"Authorization": "Bearer " + self.owner_token, "Content-Type": "application/json"}
        ext = {"subjectKind": "subject", "subject": "nobody", "issuer": "https://nowhere.invalid",
               "role": "Owner", "provider": "*"}
        self.assertEqual(self.d.request("POST", "/attestd/roleAssignments",
                                        body=json.dumps(ext).encode(), headers=auth)[0], 201)
        self.d.attestctl("principal", "create", "sleeper")
        self.d.attestctl("role", "assign", "--principal", "sleeper", "--role", "Owner")
        self.d.attestctl("principal", "disable", "sleeper")
        mine = [r for r in self.owner_rows() if r["subject"] == self.owner["client_id"]][0]
        status, _, body = self.d.request(
            "POST", "/attestd/roleAssignments:remove", body=json.dumps({"id": mine["id"]}).encode(),
            headers=auth)
        self.assertEqual(status, 409, body)
        # The CLI guards the same way, for revoke and for disabling the last usable Owner.
        proc = self.d.attestctl("role", "revoke", mine["id"], check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("last Owner", proc.stderr)
        proc = self.d.attestctl("principal", "disable", "bootstrap-owner", check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("last usable Owner", proc.stderr)
        # With a second usable Owner, the first can go.
        self.d.attestctl("principal", "enable", "sleeper")
        status, _, body = self.d.request(
            "POST", "/attestd/roleAssignments:remove", body=json.dumps({"id": mine["id"]}).encode(),
            headers=auth)
        self.assertEqual(status, 200, body)


class LoggingTest(IdentityCase):
    """Authorization decisions are logged with a token fingerprint, never a token or secret."""

    @classmethod
    def prepare(cls):
        cls.reader = create_principal(cls.d, "log-reader")
        cls.d.attestctl("role", "assign", "--role", "AttestationReader", "--principal",
                        "log-reader")
        cls.reader_token = get_token(cls.d, cls.reader["client_id"], cls.reader["client_secret"],
                                     "post")

    def decisions(self, **fields):
        return [e for e in self.d.log_events() if e.get("msg") == "authorization" and
                all(e.get(k) == v for k, v in fields.items())]

    def test_decisions_logged_without_secrets(self):
        # Allowed (Owner), forbidden (Reader), unauthenticated (no token, bad token).
        self.assertEqual(self.d.request("GET", "/attestd/roleAssignments",
                                        headers=bearer(self.owner_token))[0], 200)
        self.assertEqual(self.d.request("GET", "/attestd/roleAssignments",
                                        headers=bearer(self.reader_token))[0], 403)
        self.assertEqual(self.d.request("GET", "/attestd/roleAssignments")[0], 401)
        bad = h.flip_payload_char(self.reader_token)
        self.assertEqual(self.d.request("GET", "/attestd/roleAssignments",
                                        headers=bearer(bad))[0], 401)

        allowed = self.decisions(route="ListRoleAssignments", result="allowed")
        self.assertEqual(len(allowed), 1, allowed)
        e = allowed[0]
        self.assertEqual(e["principal"], self.owner["client_id"])
        self.assertEqual(e["principal_name"], "bootstrap-owner")
        self.assertEqual(e["permission"], "admin")
        self.assertEqual(e["peer"], "127.0.0.1")
        self.assertRegex(e["token"], HEX16_RE)
        self.assertEqual(e["token"], fingerprint(self.owner_token))
        self.assertEqual(e["level"], "info")

        forbidden = self.decisions(route="ListRoleAssignments", result="forbidden")
        self.assertEqual(len(forbidden), 1, forbidden)
        e = forbidden[0]
        self.assertEqual(e["principal"], self.reader["client_id"])
        self.assertEqual(e["principal_name"], "log-reader")
        self.assertEqual(e["permission"], "admin")
        self.assertEqual(e["peer"], "127.0.0.1")
        self.assertTrue(e.get("reason"))
        self.assertEqual(e["level"], "warn")
        self.assertRegex(e["token"], HEX16_RE)
        self.assertEqual(e["token"], fingerprint(self.reader_token))

        unauth = self.decisions(route="ListRoleAssignments", result="unauthenticated")
        self.assertEqual(len(unauth), 2, unauth)
        self.assertNotIn("token", unauth[0])
        self.assertNotIn("principal", unauth[0])
        self.assertEqual(unauth[1]["token"], fingerprint(bad))
        self.assertNotIn("principal", unauth[1])

        # Token requests are logged by client id, without the secret.
        issued = [e for e in self.d.log_events()
                  if e.get("msg") == "token request" and e.get("result") == "issued"]
        self.assertEqual(sorted(e["client_id"] for e in issued),
                         sorted([self.owner["client_id"], self.reader["client_id"]]))

        log = self.d.logs()
        for name, secret in (("owner token", self.owner_token),
                             ("reader token", self.reader_token), ("bad token", bad),
                             ("owner secret", self.owner["client_secret"]),
                             ("reader secret", self.reader["client_secret"])):
            with self.subTest(secret=name):
                self.assertNotIn(secret, log)
                # Nor any of its parts long enough to matter (a token's signature, payload).
                for part in secret.split("."):
                    if len(part) >= 40:
                        self.assertNotIn(part, log)


if __name__ == "__main__":
    unittest.main()
