"""Brute-force backoff (docs/identity.md, "Brute-force backoff"), black-box.

The rule, with N = auth_max_failures: failures are counted per source address, per (source,
client id) pair and per client id. N failed checks of one client's credentials from one
source block that pair: 429 with Retry-After before anything is checked. N failures of any
kind from a source block the source, for what no valid caller sends only: invalid bearer
tokens, malformed client authentication and client ids that name no principal; a principal's
credentials are still checked. A client id is never blocked as such: while it has N failures
(from anywhere), each other source's first failure blocks that source's pair. Unsigned or
malformed client assertions count against the source alone.

The attacks: from one address, wrong secrets and unsigned assertions naming a victim's client
id; the victim then authenticates from another loopback address (the client binds its source
address to 127.0.0.x, so the daemon sees another peer) and, for junk that must not count,
from the attacker's own address. Throttled and repeated refusals are logged once per source,
then as counts (log_summary_interval).
"""
import base64
import http.client
import json
import os
import time
import unittest
import urllib.parse
import uuid

import harness as h

MAX = 4
SUMMARY_INTERVAL = 2
FORM = "application/x-www-form-urlencoded"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def form(**fields):
    return urllib.parse.urlencode(fields).encode()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(obj):
    return b64url(json.dumps(obj).encode())


class BackoffTest(unittest.TestCase):
    BLOCK = 30

    # A daemon per test: blocks are per node and must not leak from one test into the next.
    def setUp(self):
        self.d = h.Daemon(config=f"auth_max_failures = {MAX}\nauth_failure_window = 600\n"
                                 f"auth_block_seconds = {self.BLOCK}\n"
                                 f"log_summary_interval = {SUMMARY_INTERVAL}")
        self.addCleanup(lambda: self.d.cleanup())  # the daemon of the test's end
        self.cred = json.loads(self.d.attestctl("principal", "create", "bf-target").stdout)

    # ---- requests from a chosen loopback source address ----

    def conn_from(self, source):
        return http.client.HTTPSConnection("127.0.0.1", self.d.port,
                                           context=self.d.ssl_context(), timeout=30,
                                           source_address=(source, 0))

    def post_token(self, body, source="127.0.0.1", headers=None):
        conn = self.conn_from(source)
        try:
            return self.d.request("POST", "/oauth2/token", body=body, conn=conn,
                                  headers={"Content-Type": FORM, **(headers or {})})
        finally:
            conn.close()

    def token_request(self, client_id, secret, source="127.0.0.1"):
        auth = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        return self.post_token(form(grant_type="client_credentials"), source,
                               headers={"Authorization": "Basic " + auth})

    def assertion_request(self, assertion, source="127.0.0.1"):
        return self.post_token(form(grant_type="client_credentials",
                                    client_assertion_type=JWT_BEARER,
                                    client_assertion=assertion), source)

    def login(self, source="127.0.0.1"):
        return self.token_request(self.cred["client_id"], self.cred["client_secret"], source)

    def assert_status(self, resp, status, what=""):
        self.assertEqual(resp[0], status, f"{what}: {resp[2]!r}")
        if status == 429:
            self.assertEqual(json.loads(resp[2])["error"], "invalid_client")
            self.assertTrue(1 <= int(resp[1]["Retry-After"]) <= self.BLOCK)

    def unsigned_assertions(self, client_id, now):
        """Junk that names `client_id`: alg none, a real alg without signature, not a JWS."""
        claims = {"iss": client_id, "sub": client_id, "aud": self.d.base_url + "/oauth2/token",
                  "exp": now + 120, "jti": str(uuid.uuid4())}
        return [b64url_json({"alg": "none"}) + "." + b64url_json(claims) + ".",
                b64url_json({"alg": "RS256"}) + "." + b64url_json(claims) + ".",
                b64url_json({"alg": "ES256"}) + "." + b64url_json(claims) + ".",
                b64url_json({"alg": "HS256"}) + "." + b64url_json(claims) + ".c2ln",
                "not-a-jws." + b64url_json(claims)]

    def token_events(self, result):
        return [e for e in self.d.log_events()
                if e.get("msg") == "token request" and e.get("result") == result]

    def summaries(self, key):
        return [e for e in self.d.log_events() if e.get("repeat_key") == key]

    def wait_repeats(self, key, total, timeout=SUMMARY_INTERVAL + 10):
        """Wait until the summary lines of `key` count `total` events; return the lines."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.summaries(key)
            counted = sum(e["repeats"] for e in lines)
            if counted >= total or time.monotonic() > deadline:
                self.assertEqual(counted, total, lines)
                return lines
            time.sleep(0.1)

    # ---- the same address and client: the one refusal a valid credential can meet ----

    def test_token_endpoint_n_plus_first_attempt_429(self):
        cid = self.cred["client_id"]
        for i in range(MAX):
            status, headers, body = self.token_request(cid, "wrong-secret")
            self.assertEqual(status, 401, f"attempt {i + 1}")
            self.assertEqual(json.loads(body)["error"], "invalid_client")
        status, headers, body = self.token_request(cid, "wrong-secret")
        self.assertEqual(status, 429)
        self.assertEqual(json.loads(body)["error"], "invalid_client")  # RFC 6749 §5.2 codes only
        # From the same address, naming the same client, the right secret is refused too
        # while the block lasts: the guesser and the owner cannot be told apart.
        self.assert_status(self.login(), 429, "same address, same client")

    def test_block_ends(self):
        """After auth_block_seconds the right secret works again from the same address."""
        self.d.cleanup()
        self.d = h.Daemon(config=f"auth_max_failures = {MAX}\nauth_block_seconds = 2")
        self.cred = json.loads(self.d.attestctl("principal", "create", "bf-target").stdout)
        for _ in range(MAX):
            self.token_request(self.cred["client_id"], "wrong")
        status, headers, _ = self.login()
        self.assertEqual(status, 429)
        retry = int(headers["Retry-After"])
        self.assertTrue(1 <= retry <= 2, retry)
        time.sleep(retry + 1)
        self.assert_status(self.login(), 200, "after the block")

    # ---- nobody locks another principal out ----

    def test_wrong_secrets_do_not_lock_the_owner_out(self):
        """The attack of issue 11 §3: wrong secrets naming the victim from one address."""
        cid = self.cred["client_id"]
        for i in range(3 * MAX):
            self.assert_status(self.token_request(cid, "guess"), 401 if i < MAX else 429,
                               f"guess {i + 1}")
        # The owner, from another address, gets a token at once.
        self.assert_status(self.login("127.0.0.2"), 200, "owner elsewhere")
        self.assert_status(self.login("127.0.0.2"), 200, "owner elsewhere, again")

    def test_unsigned_assertions_never_count_against_the_client(self):
        """Unsigned and malformed assertions naming the victim cost the source, not the victim:
        the victim logs in even from the attacker's own address (a shared NAT)."""
        cid = self.cred["client_id"]
        junk = self.unsigned_assertions(cid, int(time.time()))
        statuses = [self.assertion_request(junk[i % len(junk)])[0] for i in range(4 * MAX)]
        self.assertEqual(statuses, [401] * MAX + [429] * (3 * MAX))
        self.assert_status(self.login("127.0.0.1"), 200, "owner behind the attacker's address")
        self.assert_status(self.login("127.0.0.2"), 200, "owner elsewhere")
        # The client is not "under attack": one typo of the owner is not a block.
        self.assert_status(self.token_request(cid, "typo", "127.0.0.3"), 401, "typo")
        self.assert_status(self.login("127.0.0.3"), 200, "after the typo")
        refused = self.token_events("refused")
        self.assertIn("ATT_ERR_ALG_NONE", {e["reason"] for e in refused})
        self.assertIn("ATT_ERR_SIGNATURE", {e["reason"] for e in refused})

    def test_unsigned_assertion_refused_as_unsigned(self):
        cid = self.cred["client_id"]
        junk = self.unsigned_assertions(cid, int(time.time()))
        status, _, body = self.assertion_request(junk[1])
        self.assertEqual(status, 401)
        self.assertEqual(json.loads(body)["error_description"],
                         "client_assertion is not signed: its signature part is empty")

    def test_blocked_source_still_checks_principals(self):
        """A source blocked for guessing ids that do not exist is refused those without a
        check, while a principal's credentials are checked: its owner behind the same address
        gets in, and a wrong secret for it is a 401, not a 429."""
        for i in range(MAX):
            self.assert_status(self.token_request(h.uuid4(), "guess"), 401, f"guess {i + 1}")
        self.assert_status(self.token_request(h.uuid4(), "guess"), 429, "unknown id, blocked")
        self.assert_status(self.token_request("not-even-a-uuid", "guess"), 429, "junk id")
        self.assert_status(self.post_token(form(grant_type="client_credentials")), 429,
                           "no client authentication")
        self.assert_status(self.login(), 200, "a principal behind the blocked address")
        other = json.loads(self.d.attestctl("principal", "create", "bf-other").stdout)
        self.assert_status(self.token_request(other["client_id"], "wrong"), 401,
                           "a principal's wrong secret is checked")
        # Elsewhere nothing is blocked.
        self.assert_status(self.token_request(h.uuid4(), "guess", "127.0.0.2"), 401, "elsewhere")

    def test_good_login_does_not_reset_the_address_count(self):
        """One valid credential must not buy an address unlimited guesses at other clients."""
        cid = self.cred["client_id"]
        for _ in range(MAX - 1):
            self.assertEqual(self.token_request(h.uuid4(), "guess")[0], 401)
        self.assertEqual(self.token_request(cid, self.cred["client_secret"])[0], 200)
        self.assertEqual(self.token_request(h.uuid4(), "guess")[0], 401)  # the MAX-th failure
        self.assertEqual(self.token_request(h.uuid4(), "guess")[0], 429)

    def test_many_addresses_get_one_guess_each(self):
        """Once a client has N failures, every other address's first wrong guess blocks that
        address for the client; an address without failures is checked as always."""
        cid = self.cred["client_id"]
        for _ in range(MAX):
            self.assert_status(self.token_request(cid, "guess", "127.0.0.1"), 401)
        for n in range(2, 8):
            source = f"127.0.0.{n}"
            self.assert_status(self.token_request(cid, "guess", source), 401, source)
            self.assert_status(self.token_request(cid, "guess", source), 429, source)
            self.assert_status(self.login(source), 429, f"{source} is blocked for the client")
        self.assert_status(self.login("127.0.0.50"), 200, "the owner's address")
        # Other clients from those addresses are not affected.
        other = json.loads(self.d.attestctl("principal", "create", "bf-other").stdout)
        self.assert_status(self.token_request(other["client_id"], other["client_secret"],
                                              "127.0.0.2"), 200, "another client")

    def test_bad_signatures_block_the_pair_only(self):
        """private_key_jwt: signed assertions that do not verify count like wrong secrets,
        against the attacker's address and the client, never locking the owner out."""
        pki = os.path.join(self.d.tmp, "pki")
        os.mkdir(pki)
        key = h.new_signing_key(os.path.join(pki, "owner.key"), "p256")
        pem = os.path.join(pki, "owner.pem")
        h.openssl("req", "-new", "-x509", "-key", key, "-out", pem, "-days", "30",
                  "-subj", "/CN=bf-target")
        self.d.attestctl("principal", "cert", "bf-target", pem)
        stranger = h.new_signing_key(os.path.join(pki, "stranger.key"), "p256")
        cid = self.cred["client_id"]

        def assertion(signer):
            now = int(time.time())
            return h.sign_jwt(signer, "ES256", {
                "iss": cid, "sub": cid, "aud": self.d.base_url + "/oauth2/token", "iat": now,
                "exp": now + 120, "jti": str(uuid.uuid4())})

        for i in range(MAX):
            self.assert_status(self.assertion_request(assertion(stranger)), 401, f"forged {i}")
        self.assert_status(self.assertion_request(assertion(stranger)), 429, "pair blocked")
        self.assert_status(self.assertion_request(assertion(key)), 429, "same address")
        self.assert_status(self.assertion_request(assertion(key), "127.0.0.2"), 200, "owner")
        self.assert_status(self.login("127.0.0.2"), 200, "owner's secret")

    # ---- bearer tokens ----

    def test_valid_token_works_while_the_address_is_blocked(self):
        """Callers sharing an address (NAT, proxy) keep working with valid credentials."""
        status, _, body = self.token_request(self.cred["client_id"], self.cred["client_secret"])
        self.assertEqual(status, 200)
        token = json.loads(body)["access_token"]
        self.d.attestctl("role", "assign", "--principal", "bf-target", "--role", "Owner")
        for _ in range(MAX):
            self.token_request(self.cred["client_id"], "wrong")
        self.assertEqual(self.token_request(self.cred["client_id"], "wrong")[0], 429)
        status, _, _ = self.d.request("GET", "/admin/whoami",
                                      headers={"Authorization": "Bearer " + token})
        self.assertEqual(status, 200)
        # A bad token from the blocked address is throttled.
        status, _, _ = self.d.request("GET", "/admin/whoami",
                                      headers={"Authorization": "Bearer x.y.z"})
        self.assertEqual(status, 429)

    def test_bearer_failures_429(self):
        for i in range(MAX):
            status, headers, _ = self.d.request("GET", "/admin/whoami",
                                                headers={"Authorization": "Bearer x.y.z"})
            self.assertEqual(status, 401, f"attempt {i + 1}")
        status, headers, body = self.d.request("GET", "/admin/whoami",
                                               headers={"Authorization": "Bearer x.y.z"})
        self.assertEqual(status, 429)
        self.assertEqual(h.error_of(body)[0], "TooManyRequests")
        self.assertIn("Retry-After", headers)
        # Public routes are not affected.
        self.assertEqual(self.d.request("GET", "/certs")[0], 200)

    # ---- logging: throttled and repeated refusals are summarised, not logged one by one ----

    def test_throttled_logins_logged_as_counts(self):
        cid = self.cred["client_id"]
        for _ in range(MAX):
            self.token_request(cid, "guess")
        for _ in range(20):
            self.assert_status(self.token_request(cid, "guess"), 429)
        for _ in range(10):
            self.assert_status(self.token_request(h.uuid4(), "guess"), 429)  # any id
        throttled = self.token_events("throttled")
        self.assertEqual(len(throttled), 1, throttled)  # the first, in full
        self.assertEqual(throttled[0]["client_id"], cid)
        self.assertEqual(throttled[0]["peer"], "127.0.0.1")
        # The same wrong secret, refused MAX times: its first refusal in full, then a count.
        refused = self.token_events("refused")
        self.assertEqual(len(refused), 1, refused)
        self.assertEqual(refused[0]["reason"], "ATT_ERR_CREDENTIALS")
        key = "token throttled ip:127.0.0.1"
        counted = self.wait_repeats(key, 29)
        self.assertEqual(counted[0]["msg"], "token request")
        self.assertEqual(counted[0]["level"], "warn")
        self.assertGreaterEqual(counted[0]["seconds"], SUMMARY_INTERVAL)
        self.wait_repeats(f"token refused ip:127.0.0.1 {cid} ATT_ERR_CREDENTIALS", MAX - 1)
        # Throttling goes on: counted again, never a line per request.
        for _ in range(5):
            self.token_request(cid, "guess")
        self.wait_repeats(key, 34)
        self.assertEqual(len(self.token_events("throttled")), 1)

    def test_throttled_bearer_failures_logged_as_counts(self):
        for _ in range(MAX + 30):
            self.d.request("GET", "/admin/whoami", headers={"Authorization": "Bearer x.y.z"})
        throttled = [e for e in self.d.log_events()
                     if e.get("msg") == "authorization" and e.get("result") == "throttled"]
        self.assertEqual(len(throttled), 1, throttled)
        counted = self.wait_repeats("authorization throttled ip:127.0.0.1", 29)
        self.assertEqual(counted[0]["msg"], "authorization")

    def test_counts_reported_at_shutdown(self):
        """Counts of an interval that has not ended are logged when attestd stops."""
        self.d.stop()
        self.d.write_config(f"auth_max_failures = {MAX}\nlog_summary_interval = 3600")
        self.d.start()
        cid = self.cred["client_id"]
        for _ in range(MAX + 3):
            self.token_request(cid, "guess")
        self.d.stop()
        counted = self.summaries("token throttled ip:127.0.0.1")
        self.assertEqual([e["repeats"] for e in counted], [2])


if __name__ == "__main__":
    unittest.main()
