"""Attestation end to end with fresh evidence from the test PKI (tests/tools/sgx_testpki):
collateral valid today, report data binding chosen runtime data, so the daemon verifies at
the wall clock (no test hook) and the official @azure/attestation AttestationClient can check
its tokens' lifetimes for real.

Covered here: Binary and JSON runtime data, init-time data, Open Enclave reports, the official
client (SGX Binary, SGX JSON, Open Enclave), refusals of revoked and out-of-date platforms, and
the attest_requires_auth switch. The real Intel samples are in test_attest_sgx.py.
"""
import hashlib
import json
import os
import shutil
import struct
import subprocess
import time
import tempfile
import unittest

import harness as h

TESTPKI = os.path.join(h.BUILD, "tests", "tools", "sgx_testpki")
API = "?api-version=2020-10-01"
RUNTIME_JSON = json.dumps({"jwk": {"kty": "EC", "crv": "P-256", "x": "18wHLeIgW9wVN6VD1Txgpq"
                                   "y2LszYkMf6J8njVAibvhM", "y": "cV4dS4UaLMgP_4fY4j8ir7cl1TX"
                                   "lFdAgcx55o7TkcSA"}}).encode()
INIT_DATA = b"init-time configuration"


def make_evidence(out, *args):
    """Run the test PKI tool into directory `out`; returns (quote bytes, bundle path, root)."""
    os.makedirs(out, exist_ok=True)
    subprocess.run([TESTPKI, "--out", out] + list(args), check=True, env=h.san_env(),
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    with open(os.path.join(out, "quote.bin"), "rb") as f:
        quote = f.read()
    return quote, os.path.join(out, "bundle.json"), os.path.join(out, "root.pem")


def report_data_for(data):
    return (hashlib.sha256(data).digest() + b"\x00" * 32).hex()


def oe_report(quote):
    """An Open Enclave remote report: version 1, type 2 (remote), size, then the quote."""
    return struct.pack("<IIQ", 1, 2, len(quote)) + quote


def attest_token(d, quote, prefix=""):
    """POST prefix/attest/SgxEnclave with `quote` and RUNTIME_JSON as binary runtime data:
    the token of a 200 answer (AssertionError otherwise)."""
    status, _, data = d.request(
        "POST", prefix + "/attest/SgxEnclave" + API,
        body=json.dumps({"quote": h.b64url_encode(quote),
                         "runtimeData": {"data": h.b64url_encode(RUNTIME_JSON),
                                         "dataType": "Binary"}}).encode(),
        headers={"Content-Type": "application/json"})
    assert status == 200, data
    return json.loads(data)["token"]


def start_daemon(root, bundle, config="", import_flags=()):
    d = h.Daemon(config=f"dcap_trust_anchors = {root}\n" + config)
    try:
        out = json.loads(d.attestctl("collateral", "import", bundle, *import_flags).stdout)
        assert out["imported"] == 4, out
    except BaseException:
        d.cleanup()
        raise
    return d


class AttestTestPkiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="attestd-testpki-")
        base = os.path.join(cls.tmp, "base")
        cls.quote_json, cls.bundle, cls.root = make_evidence(
            base, "--report-data", report_data_for(RUNTIME_JSON),
            "--config-id", (hashlib.sha256(INIT_DATA).digest() + b"\x00" * 32).hex())
        cls.d = start_daemon(cls.root, cls.bundle)
        cls.jwks = cls.d.get_json("/certs")[2]

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def attest(self, body, path="/attest/SgxEnclave", headers=None):
        status, _, data = self.d.request(
            "POST", path + API, body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **(headers or {})})
        return status, json.loads(data) if data else None

    def claims(self, body, path="/attest/SgxEnclave"):
        status, doc = self.attest(body, path)
        self.assertEqual(status, 200, doc)
        return h.verify_jws(doc["token"], self.jwks)[1]

    def test_binary_runtime_data(self):
        c = self.claims({"quote": h.b64url_encode(self.quote_json),
                         "runtimeData": {"data": h.b64url_encode(RUNTIME_JSON),
                                         "dataType": "Binary"}})
        self.assertEqual(c["x-ms-sgx-ehd"], h.b64url_encode(RUNTIME_JSON))
        self.assertEqual(c["maa-ehd"], c["x-ms-sgx-ehd"])
        self.assertEqual(c["aas-ehd"], c["x-ms-sgx-ehd"])
        self.assertNotIn("x-ms-runtime", c)
        self.assertEqual(c["x-ms-sgx-tcb-status"], "UpToDate")
        self.assertEqual(c["x-ms-sgx-advisory-ids"], [])

    def test_json_runtime_and_init_data(self):
        c = self.claims({"quote": h.b64url_encode(self.quote_json),
                         "runtimeData": {"data": h.b64url_encode(RUNTIME_JSON),
                                         "dataType": "JSON"},
                         "initTimeData": {"data": h.b64url_encode(INIT_DATA),
                                          "dataType": "Binary"}})
        self.assertEqual(c["x-ms-runtime"], json.loads(RUNTIME_JSON))
        self.assertNotIn("x-ms-sgx-ehd", c)
        status, doc = self.attest({"quote": h.b64url_encode(self.quote_json),
                                   "initTimeData": {"data": h.b64url_encode(b"other"),
                                                    "dataType": "Binary"}})
        self.assertEqual(status, 400, doc)
        self.assertEqual(doc["error"]["innererror"]["code"], "ATT_ERR_INIT_DATA_BINDING")
        status, doc = self.attest({"quote": h.b64url_encode(self.quote_json),
                                   "runtimeData": {"data": h.b64url_encode(b"not json"),
                                                   "dataType": "JSON"}})
        self.assertEqual(status, 400, doc)

    def test_runtime_json_in_policy(self):
        draft = ('version=1.2;authorizationrules{=> permit();};issuancerules{'
                 'c:[type=="x-ms-runtime"] => issue(type="crv", '
                 'value=JsonToClaimValue(JmesPath(c.value, "jwk.crv")));};')
        status, doc = self.attest({"quote": h.b64url_encode(self.quote_json),
                                   "runtimeData": {"data": h.b64url_encode(RUNTIME_JSON),
                                                   "dataType": "JSON"},
                                   "draftPolicyForAttestation": draft})
        self.assertEqual(status, 200, doc)
        self.assertEqual(h.decode_jwt(doc["token"])[1]["crv"], "P-256")

    def test_policy_claims_merged_into_the_token(self):
        # Names issued once are plain values; a name issued twice becomes an array in issue
        # order.
        quote = h.b64url_encode(self.quote_json)
        once = ('version=1.2;authorizationrules{=> permit();};issuancerules{'
                '=> issue(type="a", value="one"); => issue(type="b", value=2);};')
        status, doc = self.attest({"quote": quote, "draftPolicyForAttestation": once})
        self.assertEqual(status, 200, doc)
        c = h.decode_jwt(doc["token"])[1]
        self.assertEqual((c["a"], c["b"]), ("one", 2))
        twice = ('version=1.2;authorizationrules{=> permit();};issuancerules{'
                 '=> issue(type="a", value="one"); => issue(type="a", value=true);'
                 ' => issue(type="b", value=2); => issue(type="a", value="three");};')
        status, doc = self.attest({"quote": quote, "draftPolicyForAttestation": twice})
        self.assertEqual(status, 200, doc)
        c = h.decode_jwt(doc["token"])[1]
        self.assertEqual(c["a"], ["one", True, "three"])
        self.assertEqual(c["b"], 2)
        self.assertRegex(c["x-ms-sgx-mrsigner"], "^[0-9a-f]{64}$")

    def test_policy_cannot_mint_service_claims(self):
        # Security review: a policy issued x-ms-policy-signer (an unsigned policy then looked
        # signed), nonce, x-ms-runtime, x-ms-sgx-ehd, x-ms-sgx-tcbidentifier... whenever the
        # service had not set them itself. Service names are reserved (docs/attestation.md).
        quote = h.b64url_encode(self.quote_json)
        for name, value in (("x-ms-policy-signer", '"{}"'), ("nonce", '"n"'),
                            ("x-ms-runtime", '"{}"'), ("x-ms-sgx-ehd", '"AA"'),
                            ("x-ms-sgx-tcbidentifier", '"10"'), ("policy_signer", '"x"'),
                            ("exp", "99999999999"), ("cnf", '"{}"')):
            with self.subTest(claim=name):
                draft = ('version=1.2;authorizationrules{=> permit();};issuancerules{'
                         f'=> issue(type="{name}", value={value});}};')
                status, doc = self.attest({"quote": quote, "draftPolicyForAttestation": draft})
                self.assertEqual(status, 400, doc)
                self.assertEqual(doc["error"]["code"], "PolicyEvaluationError")
                self.assertEqual(doc["error"]["innererror"]["code"],
                                 "ATT_ERR_POLICY_RESERVED_CLAIM")
                self.assertIn(f"'{name}' is a claim only the service sets",
                              doc["error"]["message"])
        # computed names too
        draft = ('version=1.2;authorizationrules{=> permit();};issuancerules{'
                 '=> issue(type=AppendString("x-ms-policy-", "signer"), value="{}");};')
        status, doc = self.attest({"quote": quote, "draftPolicyForAttestation": draft})
        self.assertEqual(status, 400, doc)
        self.assertEqual(doc["error"]["innererror"]["code"], "ATT_ERR_POLICY_RESERVED_CLAIM")
        # MAA's own names that policies do issue stay issuable
        draft = ('version=1.2;authorizationrules{=> permit();};issuancerules{'
                 '=> issue(type="tee", value="sgx"); => issue(type="aas-ehd", value="x");};')
        status, doc = self.attest({"quote": quote, "draftPolicyForAttestation": draft})
        self.assertEqual(status, 200, doc)
        c = h.decode_jwt(doc["token"])[1]
        self.assertEqual((c["tee"], c["aas-ehd"]), ("sgx", "x"))

    def test_costs_follow_the_data(self):
        # Outside review, round 2: work that grows with the data was charged by the operation:
        # claim conditions comparing 1 MiB values (1 s a request), JMESPath lookups with 4 KB
        # keys (2 s), hash members with 4 KB keys (850 MB), all far inside the budget. Now
        # each runs into the budget.
        def doubling(leaf, depth):
            return leaf if depth == 0 else \
                f"AppendString({doubling(leaf, depth - 1)},{doubling(leaf, depth - 1)})"
        long_values = ["version=1.2;authorizationrules{",
                       '=> add(type="s0", value="' + "A" * 8192 + '");',
                       f'c:[type=="s0"] => add(type="s7", value={doubling("c.value", 7)});']
        long_values += ['c:[type=="s7"] => add(type="big", value=c.value);'] * 10
        cond = "![" + "value==c.value," * 15 + 'type=="zz"]'
        long_values += ["=> permit();"] + \
            ['c:[type=="s7"] && ' + " && ".join([cond] * 60) + " => permit();"] * 3
        long_values.append("};issuancerules{};")

        def over_doc(query, elem, depth, calls):
            lit = ",".join([elem] * (8190 // (len(elem) + 1)))
            rules = ["version=1.2;authorizationrules{", f'=> add(type="q", value="{query}");',
                     f'=> add(type="d0", value="{lit}");',
                     'c:[type=="d0"] => add(type="doc", value=AppendString("[", AppendString('
                     + doubling('AppendString(c.value, ",")', depth) + f', "{elem}]")));',
                     "=> permit();",
                     'c:[type=="doc"] && q:[type=="q"] && ' +
                     " && ".join(['![type=="x", value==JmesPath(c.value, q.value)]'] * calls) +
                     " => permit();", "};issuancerules{};"]
            return "\n".join(rules)
        long_key = over_doc('[*].\\"' + "K" * 4088 + '\\"', "{}", 3, 60)
        long_member = over_doc('[*].{\\"' + "K" * 4080 + '\\": @}', "1", 5, 1)
        for name, draft in (("long values", "\n".join(long_values)), ("long keys", long_key),
                            ("long members", long_member)):
            with self.subTest(policy=name):
                t0 = time.monotonic()
                status, doc = self.attest({"quote": h.b64url_encode(self.quote_json),
                                           "draftPolicyForAttestation": draft})
                self.assertLess(time.monotonic() - t0, 1.5)  # generous: sanitizers
                self.assertEqual(status, 400, doc)
                self.assertEqual(doc["error"]["innererror"]["code"], "ATT_ERR_POLICY_BUDGET", (name,
                                 doc["error"]["message"]))

    def test_policy_evaluation_is_bounded(self):
        # Security review: JmesPath() calls each had a budget of their own; a 65 KB draft of
        # calls that each build a 2^18-member value from "0" and compare it with itself took
        # 29 s of a worker. Now one budget bounds the whole evaluation: a prompt 400 that
        # names the limit.
        query = "{a:@,b:@}|" * 18 + "@==@"
        rule = f'=> issue(type="r", value=JmesPath("\\"0\\"", "{query}"));'
        draft = ("version=1.2;authorizationrules{=> permit();};issuancerules{" +
                 rule * (60000 // len(rule)) + "};")
        t0 = time.monotonic()
        status, doc = self.attest({"quote": h.b64url_encode(self.quote_json),
                                   "draftPolicyForAttestation": draft})
        took = time.monotonic() - t0
        self.assertEqual(status, 400, doc)
        self.assertEqual(doc["error"]["code"], "PolicyEvaluationError")
        self.assertEqual(doc["error"]["innererror"]["code"], "ATT_ERR_POLICY_BUDGET")
        self.assertRegex(doc["error"]["message"], r"step budget of \d+ exhausted")
        self.assertLess(took, 5.0)  # generous: sanitizers and a shared machine

    def test_open_enclave(self):
        report = oe_report(self.quote_json)
        c = self.claims({"report": h.b64url_encode(report),
                         "runtimeData": {"data": h.b64url_encode(RUNTIME_JSON),
                                         "dataType": "Binary"}},
                        path="/attest/OpenEnclave")
        self.assertEqual(c["x-ms-attestation-type"], "sgx")
        self.assertEqual(c["x-ms-sgx-collateral"]["quotehash"],
                         hashlib.sha256(self.quote_json).hexdigest())

    def test_claims_supported_names_every_claim(self):
        """claims_supported of the OpenID metadata names every claim of real tokens, the
        service's and the default policy's: SGX with Binary and with JSON runtime data,
        init-time data and a nonce, and Open Enclave."""
        for path, member, evidence, data_type in (
                ("/attest/SgxEnclave", "quote", self.quote_json, "Binary"),
                ("/attest/SgxEnclave", "quote", self.quote_json, "JSON"),
                ("/attest/OpenEnclave", "report", oe_report(self.quote_json), "Binary")):
            with self.subTest(path=path, data_type=data_type):
                c = self.claims({member: h.b64url_encode(evidence),
                                 "runtimeData": {"data": h.b64url_encode(RUNTIME_JSON),
                                                 "dataType": data_type},
                                 "initTimeData": {"data": h.b64url_encode(INIT_DATA),
                                                  "dataType": "Binary"},
                                 "nonce": "n-42"}, path=path)
                self.assertEqual(c["nonce"], "n-42")
                self.assertIn("tee", c)  # and the default policy's
                h.assert_claims_supported(self, self.d, c)

    def official_client(self, ops):
        env = dict(os.environ, NODE_EXTRA_CA_CERTS=self.d.ca)
        proc = subprocess.run([h.NODE, os.path.join(h.JS_DIR, "attest_client.mjs"),
                               json.dumps({"endpoint": self.d.base_url, "ops": ops})],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return [json.loads(line) for line in proc.stdout.splitlines()]

    def test_official_client(self):
        import base64
        b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
        sgx_bin, sgx_json, oe = self.official_client([
            {"op": "attestSgxEnclave", "quote": b64(self.quote_json),
             "runTimeData": b64(RUNTIME_JSON)},
            {"op": "attestSgxEnclave", "quote": b64(self.quote_json),
             "runTimeJson": b64(RUNTIME_JSON)},
            {"op": "attestOpenEnclave", "report": b64(oe_report(self.quote_json)),
             "runTimeData": b64(RUNTIME_JSON)},
        ])
        for r in (sgx_bin, sgx_json, oe):
            self.assertNotIn("error", r, r)
            self.assertEqual(r["algorithm"], "RS256")
            self.assertEqual(r["issuer"], self.d.base_url)
            self.assertEqual(r["version"], "1.0")
            self.assertEqual(r["verifierType"], "sgx")
            self.assertIs(r["isDebuggable"], False)
            self.assertEqual(r["mrEnclave"], r["body"]["x-ms-sgx-mrenclave"])
            self.assertEqual(r["quotehash"], hashlib.sha256(self.quote_json).hexdigest())
            self.assertEqual(r["policyHash"],
                             h.b64url_decode(r["body"]["x-ms-policy-hash"]).hex())
        self.assertEqual(bytes.fromhex(sgx_bin["enclaveHeldData"]), RUNTIME_JSON)
        self.assertEqual(sgx_json["runTimeClaims"]["jwk"]["crv"], "P-256")
        self.assertNotIn("enclaveHeldData", sgx_json)  # JSON runtime data is not echoed raw
        # A quote the service refuses surfaces as the client's error with MAA's code.
        bad = bytearray(self.quote_json)
        bad[0x70] ^= 1
        (r,) = self.official_client([{"op": "attestSgxEnclave", "quote": b64(bytes(bad))}])
        self.assertEqual(r["error"]["statusCode"], 400, r)
        self.assertEqual(r["error"]["code"], "InvalidParameter", r)

    def test_attest_requires_auth(self):
        self.d.attestctl("provider", "create", "private-attest")
        self.d.attestctl("provider", "set", "private-attest", "--attest-requires-auth", "on")
        self.d.reload()
        body = {"quote": h.b64url_encode(self.quote_json)}
        path = "/providers/private-attest/attest/SgxEnclave"
        status, doc = self.attest(body, path=path)
        self.assertEqual(status, 401, doc)
        token = h.owner_token(self.d)
        status, doc = self.attest(body, path=path, headers={"Authorization": "Bearer " + token})
        self.assertEqual(status, 200, doc)


class AttestTestPkiRefusalsTest(unittest.TestCase):
    """Platforms the verifier must refuse, each in its own daemon (one PKI per store)."""

    def refusal(self, args, inner):
        tmp = tempfile.mkdtemp(prefix="attestd-testpki-")
        self.addCleanup(shutil.rmtree, tmp, True)
        quote, bundle, root = make_evidence(tmp, *args)
        d = start_daemon(root, bundle)
        self.addCleanup(d.cleanup)
        status, _, data = d.request("POST", "/attest/SgxEnclave" + API,
                                    body=json.dumps({"quote": h.b64url_encode(quote)}).encode(),
                                    headers={"Content-Type": "application/json"})
        doc = json.loads(data)
        self.assertEqual(status, 400, doc)
        self.assertEqual(doc["error"]["code"], "InvalidParameter")
        self.assertEqual(doc["error"]["innererror"]["code"], inner, doc)

    def test_revoked_pck(self):
        self.refusal(["--revoke-pck"], "ATT_ERR_PCK_REVOKED")

    def test_tcb_below_every_level(self):
        self.refusal(["--status", "below"], "ATT_ERR_TCB_NOT_SUPPORTED")

    def test_collateral_grace_per_provider(self):
        # TCB info that passed its nextUpdate 11 days ago: refused, unless the provider grants
        # a grace period longer than that (`provider set --collateral-grace`).
        tmp = tempfile.mkdtemp(prefix="attestd-testpki-")
        self.addCleanup(shutil.rmtree, tmp, True)
        quote, bundle, root = make_evidence(tmp, "--tcb-info-shift", str(-40 * 86400))
        d = start_daemon(root, bundle, import_flags=["--allow-expired"])
        self.addCleanup(d.cleanup)
        d.attestctl("provider", "create", "lenient")
        shown = json.loads(d.attestctl("provider", "set", "lenient", "--collateral-grace",
                                       str(12 * 86400)).stdout)
        self.assertEqual(shown["collateral_grace"], 12 * 86400)
        bad = d.attestctl("provider", "set", "lenient", "--collateral-grace", "2592001",
                          check=False)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("0 to 2592000", bad.stderr)
        d.reload()
        body = json.dumps({"quote": h.b64url_encode(quote)}).encode()
        headers = {"Content-Type": "application/json"}
        status, _, data = d.request("POST", "/attest/SgxEnclave" + API, body=body,
                                    headers=headers)
        self.assertEqual(status, 400, data)
        self.assertEqual(json.loads(data)["error"]["innererror"]["code"],
                         "ATT_ERR_COLLATERAL_EXPIRED")
        status, _, data = d.request("POST", "/providers/lenient/attest/SgxEnclave" + API,
                                    body=body, headers=headers)
        self.assertEqual(status, 200, data)


class TwoRootsTest(unittest.TestCase):
    """Outside review of issue 12 (t04): with two trusted roots whose CAs share names, the CRLs
    of one (filed by kind and key, whatever root issued them) revoked nothing of the other: A's
    revoked platform got a token once B's newer CRLs replaced A's. Every item must now come from
    the PCK chain's own root."""

    def test_crls_of_another_root_never_judge_a_platform(self):
        for kind in ([], ["--tdx", "4"]):
            with self.subTest(tdx=bool(kind)):
                tmp = tempfile.mkdtemp(prefix="attestd-tworoots-")
                self.addCleanup(shutil.rmtree, tmp, True)
                now = int(time.time())
                quote_a, bundle_a, root_a = make_evidence(os.path.join(tmp, "a"), "--revoke-pck",
                                                          "--now", str(now), *kind)
                quote_b, bundle_b, root_b = make_evidence(os.path.join(tmp, "b"), "--now",
                                                          str(now + 60), *kind)
                roots = os.path.join(tmp, "roots.pem")
                with open(roots, "w", encoding="utf-8") as out:
                    for path in (root_a, root_b):
                        with open(path, encoding="utf-8") as f:
                            out.write(f.read())
                d = h.Daemon(config=f"dcap_trust_anchors = {roots}\n")
                self.addCleanup(d.cleanup)
                d.attestctl("collateral", "import", bundle_a)
                d.attestctl("collateral", "import", bundle_b)  # newer: replaces A's CRLs
                path = "/attest/TdxVm?api-version=2025-06-01" if kind else "/attest/SgxEnclave" + API
                for quote, inner in ((quote_a, "ATT_ERR_ROOT_CRL_INVALID"), (quote_b, None)):
                    status, _, data = d.request("POST", path,
                                                body=json.dumps({"quote": h.b64url_encode(quote)})
                                                .encode(),
                                                headers={"Content-Type": "application/json"})
                    doc = json.loads(data)
                    if inner is None:
                        self.assertEqual(status, 200, doc)
                    else:
                        self.assertEqual(status, 400, doc)
                        self.assertEqual(doc["error"]["innererror"]["code"], inner, doc)
                        self.assertIn("another trust anchor", doc["error"]["message"])


if __name__ == "__main__":
    unittest.main()
