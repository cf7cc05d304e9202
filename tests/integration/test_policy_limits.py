"""What a policy may do, black-box: checks when it is set (security review, issue 11 §1, §6).

A Contributor could store a policy whose every evaluation ran for seconds (each JmesPath() call
had a budget of its own), and one that issues claims only the service sets (x-ms-policy-signer
made an unsigned policy look signed). Now PUT /policies/{type} refuses both up front, naming
the problem, and the policy in force stays as it was.
"""
import json
import time
import unittest

import harness as h

API = "?api-version=2020-10-01"


def unsigned_policy(text):
    payload = json.dumps({"AttestationPolicy": h.b64url_encode(text.encode())},
                         separators=(",", ":")).encode()
    return h.NONE_HEADER + "." + h.b64url_encode(payload) + "."


class PolicyLimitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon()
        cls.auth = {"Authorization": "Bearer " + h.owner_token(cls.d),
                    "Content-Type": "text/plain"}

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def put(self, type_, text):
        return self.d.request("PUT", f"/policies/{type_}{API}", body=unsigned_policy(text).encode(),
                              headers=self.auth)

    def policy_in_force(self, type_):
        status, _, body = self.d.request("GET", f"/policies/{type_}{API}", headers=self.auth)
        self.assertEqual(status, 200, body)
        return h.decode_jwt(json.loads(body)["token"])[1]["x-ms-policy"]

    def assert_refused(self, type_, text, code, message):
        before = self.policy_in_force(type_)
        t0 = time.monotonic()
        status, _, body = self.put(type_, text)
        self.assertLess(time.monotonic() - t0, 10)
        self.assertEqual(status, 400, body)
        got_code, got_message = h.error_of(body)
        self.assertEqual(got_code, code)
        self.assertIn(message, got_message)
        self.assertEqual(self.policy_in_force(type_), before, "a refused policy changed state")

    def test_reserved_claim_names_refused_when_set(self):
        for name in ("x-ms-policy-signer", "nonce", "x-ms-sgx-tcbidentifier", "cnf", "iss"):
            with self.subTest(claim=name):
                text = ('version=1.0;authorizationrules{=> permit();};issuancerules{\n'
                        f'=> issue(type="{name}", value="forged");}};')
                self.assert_refused("SgxEnclave", text, "PolicyParsingError",
                                    f"2:15: issue(): '{name}' is a claim only the service sets")

    def test_policy_over_the_budget_on_an_ordinary_attestation_refused(self):
        # Each rule builds a 2^14-member value from the runtime key of an ordinary SGX
        # attestation and compares it with itself: far over the budget in all.
        query = "{a:@,b:@}|" * 14 + "@==@"
        rule = f'c:[type=="x-ms-runtime"] => issue(type="r", value=JmesPath(c.value, "{query}"));'
        text = "version=1.2;authorizationrules{=> permit();};issuancerules{" + rule * 40 + "};"
        self.assert_refused("SgxEnclave", text, "PolicyEvaluationError",
                            "step budget of 4000000 exhausted (evaluated against a "
                            "representative SgxEnclave claim set)")

    def test_ordinary_policies_still_set(self):
        text = ('version=1.2;authorizationrules{[type=="x-ms-sgx-is-debuggable", value==true] => '
                'deny(); => permit();};issuancerules{c:[type=="x-ms-runtime"] => '
                'issue(type="runtime-kid", value=JmesPath(c.value, "keys[0].kid"));'
                '=> issue(type="tee", value="sgx");};')
        status, _, body = self.put("SgxEnclave", text)
        self.assertEqual(status, 200, body)


if __name__ == "__main__":
    unittest.main()
