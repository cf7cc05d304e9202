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
import concurrent.futures
import http.client
import json
import os
import socket
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


def conn_from(d, source):
    return http.client.HTTPSConnection("127.0.0.1", d.port, context=d.ssl_context(), timeout=30,
                                       source_address=(source, 0))


def post_token(d, body, source, conn=None, headers=None):
    """POST /oauth2/token from `source` (on `conn` when given)."""
    own = conn is None
    conn = conn if conn is not None else conn_from(d, source)
    try:
        return d.request("POST", "/oauth2/token", body=body, conn=conn,
                         headers={"Content-Type": FORM, **(headers or {})})
    finally:
        if own:
            conn.close()


def secret_request(d, client_id, secret, source, conn=None):
    """A client_secret_basic token request from `source` (on `conn` when given)."""
    auth = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return post_token(d, form(grant_type="client_credentials"), source, conn,
                      headers={"Authorization": "Basic " + auth})


def junk_bearer(d, source, n, same=False):
    """`n` invalid bearer tokens (distinct, or the `same` one) from `source` on one connection:
    their statuses."""
    conn = conn_from(d, source)
    try:
        return [d.request("GET", "/attestd/whoami", conn=conn,
                          headers={"Authorization": f"Bearer junk{0 if same else i}"})[0]
                for i in range(n)]
    finally:
        conn.close()


def flood_sources(count, third=1):
    """`count` loopback addresses outside 127.0.0.0/24 (Linux answers all of 127/8)."""
    return [f"127.{third + k // 250}.{k // 250 % 250}.{1 + k % 250}" for k in range(count)]


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

    def post_token(self, body, source="127.0.0.1", headers=None):
        return post_token(self.d, body, source, headers=headers)

    def token_request(self, client_id, secret, source="127.0.0.1"):
        return secret_request(self.d, client_id, secret, source)

    def assertion_request(self, assertion, source="127.0.0.1"):
        return self.post_token(form(grant_type="client_credentials",
                                    client_assertion_type=JWT_BEARER,
                                    client_assertion=assertion), source)

    def login(self, source="127.0.0.1"):
        return self.login_as(self.cred, source)

    def login_as(self, cred, source="127.0.0.1"):
        return self.token_request(cred["client_id"], cred["client_secret"], source)

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

    def test_client_id_not_a_uuid_costs_no_scrypt(self):
        """F13: no principal has an id that is not a UUID, so such an id is refused at once,
        without the scrypt runs that hide whether a well-formed id exists: its refusal costs
        the server a small part of one such check. It counts against the source only."""
        def server_cpu():
            with open(f"/proc/{self.d.proc.pid}/stat", encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        conn = conn_from(self.d, "127.0.0.5")
        try:
            secret_request(self.d, h.uuid4(), "guess", None, conn)  # the TLS handshake
            before = server_cpu()
            for _ in range(2):
                self.assert_status(secret_request(self.d, h.uuid4(), "guess", None, conn), 401)
            unknown = (server_cpu() - before) / 2
        finally:
            conn.close()
        conn = conn_from(self.d, "127.0.0.6")
        try:
            self.assert_status(secret_request(self.d, "x0", "y", None, conn), 401)
            before = server_cpu()
            statuses = [secret_request(self.d, f"x{i}", "y", None, conn) for i in range(1, 6)]
            garbage = (server_cpu() - before) / 5
        finally:
            conn.close()
        self.assertGreater(unknown, 0.02)  # two scrypt runs: tens of ms even optimised
        self.assertLess(garbage, unknown / 10, f"{garbage:.3f} s vs {unknown:.3f} s")
        # MAX failures from the source, then it is blocked for what no valid caller sends.
        self.assertEqual([s[0] for s in statuses], [401] * (MAX - 1) + [429] * (6 - MAX))
        self.assertEqual(json.loads(statuses[0][2])["error_description"],
                         "client_id is not a client id of attestd (a lowercase UUID)")
        self.assert_status(self.login("127.0.0.6"), 200, "a principal behind that address")

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
        status, _, _ = self.d.request("GET", "/attestd/whoami",
                                      headers={"Authorization": "Bearer " + token})
        self.assertEqual(status, 200)
        # A bad token from the blocked address is throttled.
        status, _, _ = self.d.request("GET", "/attestd/whoami",
                                      headers={"Authorization": "Bearer x.y.z"})
        self.assertEqual(status, 429)

    def test_bearer_failures_429(self):
        for i in range(MAX):
            status, headers, _ = self.d.request("GET", "/attestd/whoami",
                                                headers={"Authorization": "Bearer x.y.z"})
            self.assertEqual(status, 401, f"attempt {i + 1}")
        status, headers, body = self.d.request("GET", "/attestd/whoami",
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
            self.d.request("GET", "/attestd/whoami", headers={"Authorization": "Bearer x.y.z"})
        throttled = [e for e in self.d.log_events()
                     if e.get("msg") == "authorization" and e.get("result") == "throttled"]
        self.assertEqual(len(throttled), 1, throttled)
        counted = self.wait_repeats("authorization throttled ip:127.0.0.1", 29)
        self.assertEqual(counted[0]["msg"], "authorization")

    def test_forbidden_requests_logged_once_then_counted(self):
        """F06: a valid token without the role repeats a 403 as fast as it likes: one line per
        route, principal and token, then a count per log_summary_interval."""
        p = json.loads(self.d.attestctl("principal", "create", "no-role").stdout)
        token = json.loads(self.login_as(p)[2])["access_token"]
        conn = self.d.connection()
        try:
            for _ in range(60):
                status, _, _ = self.d.request("GET", "/attestd/roleAssignments", conn=conn,
                                              headers={"Authorization": "Bearer " + token})
                self.assertEqual(status, 403)
        finally:
            conn.close()
        forbidden = [e for e in self.d.log_events()
                     if e.get("msg") == "authorization" and e.get("result") == "forbidden"]
        self.assertEqual(len(forbidden), 1)
        self.assertEqual(forbidden[0]["principal"], p["client_id"])
        self.assertEqual(forbidden[0]["level"], "warn")
        self.wait_repeats(f"authorization forbidden ListRoleAssignments "
                          f"{forbidden[0]['token']} {p['client_id']}", 59)

    def test_unauthenticated_logged_once_per_token_and_source(self):
        """F06: a refused bearer token is logged once per source, token and reason, then
        counted."""
        sources = flood_sources(20)
        for source in sources:
            self.assertEqual(junk_bearer(self.d, source, MAX, same=True), [401] * MAX)
        lines = [e for e in self.d.log_events()
                 if e.get("msg") == "authorization" and e.get("result") == "unauthenticated"]
        self.assertEqual(sorted(e["peer"] for e in lines), sorted(sources))
        fp = lines[0]["token"]
        self.wait_repeats(f"authorization unauthenticated ip:{sources[0]} {fp} ATT_ERR_JWS_FORMAT",
                          MAX - 1)

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


class BackoffTableTest(unittest.TestCase):
    """F08: filling the backoff tables with blocked addresses (junk bearer tokens, the
    cheapest failure) must neither forget a block before it ends nor let new failures go
    uncounted: a full table fails closed. Valid credentials are never refused for it."""

    def start(self, max_failures, env=None):
        self.d = h.Daemon(config=f"auth_max_failures = {max_failures}\n"
                                 "auth_failure_window = 3600\nauth_block_seconds = 3600",
                          env=env)
        self.addCleanup(lambda: self.d.cleanup())
        self.victim = json.loads(self.d.attestctl("principal", "create", "victim").stdout)

    def guess(self, source, n):
        return [secret_request(self.d, self.victim["client_id"], f"guess-{i}", source)[0]
                for i in range(n)]

    def flood(self, sources, n, parallel):
        """`n` junk bearer tokens from each source: the first `parallel` sources four at a
        time, the rest one at a time (as f08 does: once a table is full, sources still
        collecting their failures would push one another out rather than the guesser)."""
        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            first = list(ex.map(lambda s: junk_bearer(self.d, s, n), sources[:parallel]))
        return first + [junk_bearer(self.d, s, n) for s in sources[parallel:]]

    def test_flood_of_blocked_sources_lifts_no_block(self):
        """The replay of f08 with production tables: 4100 addresses blocked after 2 junk
        tokens each (8200 requests) used to push the guesser's blocks out of the 4096-slot
        table, after which its wrong secrets were checked again without limit."""
        self.start(2)
        guesser = "127.0.0.2"
        self.assertEqual(self.guess(guesser, 3), [401, 401, 429])
        self.flood(flood_sources(4100), 2, 4000)
        self.assertEqual(self.guess(guesser, 6), [429] * 6)
        # The owner's secret, from an address without failures.
        status, _, body = secret_request(self.d, self.victim["client_id"],
                                         self.victim["client_secret"], "127.0.0.1")
        self.assertEqual(status, 200, body)

    def test_full_table_fails_closed(self):
        """With tables of 64 slots (a test hook): 80 flooding addresses blocked after 3 junk
        tokens each. The guesser's blocks stay; the failures that find no room are answered
        429, and every address the table does not hold counts as blocked, which refuses only
        what no valid caller sends; valid credentials still work from anywhere."""
        self.start(3, env={"ATTESTD_TEST_BACKOFF_SLOTS": "64"})
        guesser = "127.0.0.2"
        self.assertEqual(self.guess(guesser, 4), [401, 401, 401, 429])
        sources = flood_sources(80)
        statuses = self.flood(sources, 3, 60)
        self.assertEqual(statuses[:63], [[401, 401, 401]] * 63)  # 63 + the guesser: 64 slots
        self.assertEqual(statuses[63:], [[429, 429, 429]] * 17)  # no room: fail closed
        self.assertEqual(self.guess(guesser, 6), [429] * 6)
        fresh = "127.0.9.9"
        self.assertEqual(junk_bearer(self.d, fresh, 1), [429])
        unknown = secret_request(self.d, h.uuid4(), "guess", fresh)
        self.assertEqual(unknown[0], 429, unknown[2])  # no scrypt for an id nobody has
        # Valid credentials: the owner from a fresh address and from a flooding one, and the
        # token it gets, presented from a flooding address.
        for source in (fresh, sources[-1]):
            status, _, body = secret_request(self.d, self.victim["client_id"],
                                             self.victim["client_secret"], source)
            self.assertEqual(status, 200, body)
        token = json.loads(body)["access_token"]
        self.d.attestctl("role", "assign", "--principal", "victim", "--role", "Owner")
        conn = conn_from(self.d, sources[-1])
        try:
            status, _, body = self.d.request("GET", "/attestd/whoami", conn=conn,
                                             headers={"Authorization": "Bearer " + token})
        finally:
            conn.close()
        self.assertEqual(status, 200, body)
        # A principal's wrong secret from a fresh address is still checked (the pair table
        # has room): 401, not 429.
        self.assertEqual(self.guess("127.0.9.10", 1), [401])


class LogTableTest(unittest.TestCase):
    """The table of repeated events holds 1024 keys (for log_summary_interval, 60 s here);
    a key it cannot hold is logged in full from a budget of its msg (20 lines, then one a
    second), beyond which it is only counted."""

    def test_guesser_logged_after_a_flood_of_refused_connections(self):
        """F14: refused connections from 1100 addresses fill the table and spend the budget
        of "connection refused"; a guesser's token requests right after are still logged in
        full: each kind of event has its own budget."""
        d = h.Daemon(config=f"allowed_networks = 127.0.0.0/24\nauth_max_failures = {MAX}")
        self.addCleanup(lambda: d.cleanup())
        with open(os.path.join(d.data, "bootstrap-owner.json"), encoding="utf-8") as f:
            owner = json.load(f)
        t0 = time.monotonic()
        for source in flood_sources(1100):
            with socket.socket() as s:
                s.bind((source, 0))
                s.settimeout(5)
                s.connect(("127.0.0.1", d.port))
                try:
                    self.assertEqual(s.recv(1), b"")  # closed at once: refused
                except ConnectionResetError:
                    pass
        statuses = [secret_request(d, owner["client_id"], f"guess-{i}", "127.0.0.2")[0]
                    for i in range(MAX + 2)]
        self.assertEqual(statuses, [401] * MAX + [429] * 2)
        # The table is full: each of the guesser's events is logged from its kind's budget.
        named = [e for e in d.log_events()
                 if e.get("msg") == "token request" and e.get("peer") == "127.0.0.2"]
        self.assertEqual([e["result"] for e in named], ["refused"] * MAX + ["throttled"] * 2,
                         named)
        refused = [e for e in d.log_events()
                   if e.get("msg") == "connection refused: outside allowed_networks"]
        # The table, then the budget of full lines, refilled by one a second while the flood
        # lasts (a sanitizer build may take more than a second for it).
        self.assertGreaterEqual(len(refused), 1024 + 20)
        self.assertLessEqual(len(refused), 1024 + 20 + int(time.monotonic() - t0) + 1)
        self.assertEqual({e["client_id"] for e in named}, {owner["client_id"]})


    def test_distinct_junk_tokens_from_many_sources_bounded(self):
        """F06: 1100 distinct invalid bearer tokens (MAX from each of 275 addresses) write at
        most the table, the budget and its refill, not a line each (the f08 flood wrote
        41,000)."""
        d = h.Daemon(config=f"auth_max_failures = {MAX}")
        self.addCleanup(lambda: d.cleanup())
        t0 = time.monotonic()
        for source in flood_sources(1100 // MAX):
            self.assertEqual(junk_bearer(d, source, MAX), [401] * MAX)
        elapsed = time.monotonic() - t0
        lines = [e for e in d.log_events()
                 if e.get("msg") == "authorization" and e.get("result") == "unauthenticated"]
        self.assertGreaterEqual(len(lines), 1024 + 20)
        self.assertLessEqual(len(lines), 1024 + 20 + int(elapsed) + 1)


if __name__ == "__main__":
    unittest.main()
