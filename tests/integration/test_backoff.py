"""Brute-force backoff: after auth_max_failures failed authentications from one address (or
for one client id) within the window, the next attempt is answered 429 with Retry-After before
any credential is checked; other addresses' and the blocked client's good credentials are
refused too until the block ends."""
import base64
import json
import unittest
import urllib.parse

import harness as h

MAX = 4


def form(**fields):
    return urllib.parse.urlencode(fields).encode()


class BackoffTest(unittest.TestCase):
    # A daemon per test: blocks are per node and must not leak from one test into the next.
    def setUp(self):
        self.d = h.Daemon(config=f"auth_max_failures = {MAX}\nauth_failure_window = 60\n"
                                 "auth_block_seconds = 3")
        self.cred = json.loads(self.d.attestctl("principal", "create", "bf-target").stdout)

    def tearDown(self):
        self.d.cleanup()

    def token_request(self, client_id, secret):
        auth = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        return self.d.request("POST", "/oauth2/token", body=form(grant_type="client_credentials"),
                              headers={"Content-Type": "application/x-www-form-urlencoded",
                                       "Authorization": "Basic " + auth})

    def test_token_endpoint_n_plus_first_attempt_429(self):
        cid = self.cred["client_id"]
        for i in range(MAX):
            status, headers, body = self.token_request(cid, "wrong-secret")
            self.assertEqual(status, 401, f"attempt {i + 1}")
            self.assertEqual(json.loads(body)["error"], "invalid_client")
        status, headers, body = self.token_request(cid, "wrong-secret")
        self.assertEqual(status, 429)
        self.assertEqual(json.loads(body)["error"], "invalid_client")  # RFC 6749 §5.2 codes only
        retry = int(headers["Retry-After"])
        self.assertTrue(1 <= retry <= 3, retry)
        # The right secret is refused too while the block lasts: nothing is checked.
        status, _, _ = self.token_request(cid, self.cred["client_secret"])
        self.assertEqual(status, 429)
        throttled = [e for e in self.d.log_events()
                     if e.get("msg") == "token request" and e.get("result") == "throttled"]
        self.assertGreaterEqual(len(throttled), 2)
        # After the block, the right secret works again.
        h.time.sleep(retry + 1)
        status, _, body = self.token_request(cid, self.cred["client_secret"])
        self.assertEqual(status, 200, body)

    def test_good_login_does_not_reset_the_address_count(self):
        """One valid credential must not buy an address unlimited guesses at other clients."""
        cid = self.cred["client_id"]
        for _ in range(MAX - 1):
            self.assertEqual(self.token_request(h.uuid4(), "guess")[0], 401)
        self.assertEqual(self.token_request(cid, self.cred["client_secret"])[0], 200)
        self.assertEqual(self.token_request(h.uuid4(), "guess")[0], 401)  # the MAX-th failure
        self.assertEqual(self.token_request(h.uuid4(), "guess")[0], 429)

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


if __name__ == "__main__":
    unittest.main()
