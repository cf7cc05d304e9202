"""POST /attest/SgxEnclave and /attest/OpenEnclave with the real samples, black-box.

The samples' collateral expired long ago, so this daemon is a test build told to verify
evidence at a time inside sgx01's collateral window (ATTESTD_TEST_VERIFY_TIME; production
builds have no such switch); its tokens still carry the real time. Collateral comes from an
offline bundle imported with `attestctl collateral import`. Fresh evidence from the test PKI
(bindings, Open Enclave, the official client) is in test_attest_testpki.py.
"""
import hashlib
import json
import os
import time
import unittest

import harness as h

FIX = os.path.join(h.ROOT, "tests", "fixtures", "dcap")
SGX01_QUOTE = os.path.join(FIX, "sgx", "sgx01_dcapqvl_quote.bin")
SGX01_BUNDLE = os.path.join(FIX, "sgx", "sgx01_dcapqvl_collateral.json")
SGX03_QUOTE = os.path.join(FIX, "sgx", "sgx03_automata_godcap_quote.hex")
OE01_REPORT = os.path.join(FIX, "openenclave", "oe01_azure_sdk_oe_report_debug.bin")
SGX01_VERIFY_AT = 1750334171 + 3600  # 2025-06-19T11:56:11Z, inside sgx01's window
V10_DEFAULT_HASH = "egjnANIzEpS2WgpE4Nk-QEwM69XRCgTs42_G0qLlbnk"  # docs/reference/maa-policy.md §3.7
API = "?api-version=2020-10-01"


def read_evidence(path):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".hex"):
        text = data.decode().split()[0]
        data = bytes.fromhex(text[2:] if text.startswith("0x") else text)
    return data


class AttestSgxRealSamplesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon(env={"ATTESTD_TEST_VERIFY_TIME": str(SGX01_VERIFY_AT)})
        try:
            # The sample's collateral expired in 2025: refused unless --allow-expired.
            refused = cls.d.attestctl("collateral", "import", SGX01_BUNDLE, check=False)
            assert refused.returncode == 1, refused
            cls.refused_stderr = refused.stderr
            cls.listed_after_refusal = json.loads(cls.d.attestctl("collateral", "list").stdout)
            out = json.loads(cls.d.attestctl("collateral", "import", SGX01_BUNDLE,
                                              "--allow-expired").stdout)
            assert out["imported"] == 4, out
            cls.jwks = cls.d.get_json("/certs")[2]
        except BaseException:
            cls.d.cleanup()
            raise
        cls.quote = read_evidence(SGX01_QUOTE)

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def test_expired_import_refused(self):
        """Importing collateral past its nextUpdate fails, names the item and stores nothing."""
        self.assertIn(f"{SGX01_BUNDLE}: ATT_ERR_COLLATERAL_EXPIRED: root_crl passed its "
                      "nextUpdate (", self.refused_stderr)
        self.assertIn("--allow-expired imports it anyway", self.refused_stderr)
        self.assertEqual(self.listed_after_refusal, [])

    def attest(self, body, path="/attest/SgxEnclave"):
        status, headers, data = self.d.request(
            "POST", path + API, body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"})
        return status, headers, json.loads(data) if data else None

    def attest_ok(self, body, path="/attest/SgxEnclave"):
        status, _, doc = self.attest(body, path)
        self.assertEqual(status, 200, doc)
        header, claims = h.verify_jws(doc["token"], self.jwks)
        return header, claims

    def refused(self, body, code, inner, path="/attest/SgxEnclave", status=400):
        got, headers, doc = self.attest(body, path)
        self.assertEqual(got, status, doc)
        self.assertEqual(doc["error"]["code"], code, doc)
        self.assertEqual(headers["x-ms-error-code"], code)
        if inner is not None:
            self.assertEqual(doc["error"]["innererror"]["code"], inner, doc)
        return doc["error"]["message"]

    def test_sgx01_token(self):
        header, c = self.attest_ok({"quote": h.b64url_encode(self.quote)})
        self.assertEqual(header["alg"], "RS256")
        self.assertEqual(header["jku"], self.d.base_url + "/certs")
        self.assertEqual(header["typ"], "JWT")
        self.assertEqual(c["iss"], self.d.base_url)
        self.assertEqual(c["exp"] - c["iat"], 28800)
        self.assertEqual(c["nbf"], c["iat"])
        self.assertRegex(c["jti"], r"^[0-9a-f]{64}$")
        self.assertEqual(c["x-ms-ver"], "1.0")
        self.assertEqual(c["x-ms-attestation-type"], "sgx")
        self.assertIs(c["x-ms-sgx-is-debuggable"], False)
        self.assertTrue(c["x-ms-sgx-mrenclave"].startswith("33d8736d"))
        self.assertTrue(c["x-ms-sgx-mrsigner"].startswith("815f42f1"))
        self.assertEqual(c["x-ms-sgx-product-id"], 0)
        self.assertEqual(c["x-ms-sgx-svn"], 0)
        self.assertEqual(c["x-ms-sgx-report-data"],
                         b"Hello, world!".hex() + "00" * 51)
        # The verdict (MANIFEST: ConfigurationAndSWHardeningNeeded, two advisories).
        self.assertEqual(c["x-ms-sgx-tcb-status"], "ConfigurationAndSWHardeningNeeded")
        self.assertEqual(sorted(c["x-ms-sgx-advisory-ids"]), ["INTEL-SA-00289", "INTEL-SA-00615"])
        self.assertEqual(c["x-ms-sgx-tcb-evaluation-data-number"], 17)
        self.assertEqual(c["x-ms-sgx-fmspc"], "00a067110000")
        # Collateral hashes; quotehash is SHA-256 of the quote (docs/reference/maa-tokens.md §2.4).
        coll = c["x-ms-sgx-collateral"]
        self.assertEqual(coll["quotehash"], hashlib.sha256(self.quote).hexdigest())
        self.assertEqual(sorted(coll), ["qeidcertshash", "qeidcrlhash", "qeidhash", "quotehash",
                                        "tcbinfocertshash", "tcbinfocrlhash", "tcbinfohash"])
        with open(SGX01_BUNDLE, encoding="utf-8") as f:
            bundle = json.load(f)
        self.assertEqual(coll["tcbinfohash"],
                         hashlib.sha256(bundle["tcb_info"].encode()).hexdigest())
        self.assertEqual(coll["tcbinfocrlhash"],
                         hashlib.sha256(bytes.fromhex(bundle["root_ca_crl"])).hexdigest())
        self.assertEqual(c["maa-attestationcollateral"], coll)
        # The default SGX policy (v1.0, byte-exact) issues the legacy names from "$" claims.
        self.assertEqual(c["x-ms-policy-hash"], V10_DEFAULT_HASH)
        self.assertIs(c["is-debuggable"], False)
        self.assertEqual(c["sgx-mrenclave"], c["x-ms-sgx-mrenclave"])
        self.assertEqual(c["sgx-mrsigner"], c["x-ms-sgx-mrsigner"])
        self.assertEqual(c["product-id"], 0)
        self.assertEqual(c["svn"], 0)
        self.assertEqual(c["tee"], "sgx")
        self.assertNotIn("x-ms-sgx-ehd", c)
        self.assertNotIn("x-ms-policy-signer", c)
        self.assertNotIn("nonce", c)

    def test_nonce_echoed_and_padding_tolerated(self):
        quote = h.b64url_encode(self.quote) + "=="
        _, c = self.attest_ok({"quote": quote, "nonce": "n-123"})
        self.assertEqual(c["nonce"], "n-123")

    def test_runtime_data_binding_mismatch(self):
        msg = self.refused({"quote": h.b64url_encode(self.quote),
                            "runtimeData": {"data": h.b64url_encode(b"other data"),
                                            "dataType": "Binary"}},
                           "InvalidParameter", "ATT_ERR_RUNTIME_DATA_BINDING")
        self.assertIn("SHA-256 of the runtime data does not match", msg)

    def test_legacy_request_shape(self):
        # {Quote, EnclaveHeldData}: the held data is Binary runtime data, bound to REPORTDATA.
        self.refused({"Quote": h.b64url_encode(self.quote),
                      "EnclaveHeldData": h.b64url_encode(b"x")},
                     "InvalidParameter", "ATT_ERR_RUNTIME_DATA_BINDING")
        _, c = self.attest_ok({"Quote": h.b64url_encode(self.quote)})
        self.assertEqual(c["x-ms-attestation-type"], "sgx")

    def test_tampered_quote(self):
        for offset, inner in [(0x70, "ATT_ERR_QUOTE_SIGNATURE"),  # MRENCLAVE
                              (0x234 + 0x40, "ATT_ERR_QE_REPORT_SIGNATURE"),  # QE report
                              (0x1F4, "ATT_ERR_QE_REPORT_DATA")]:  # attestation key
            bad = bytearray(self.quote)
            bad[offset] ^= 1
            self.refused({"quote": h.b64url_encode(bytes(bad))}, "InvalidParameter", inner)

    def test_truncated_and_garbage(self):
        msg = self.refused({"quote": h.b64url_encode(self.quote[:1000])}, "InvalidParameter",
                           "ATT_ERR_TRUNCATED")
        self.assertIn("signature data length", msg)
        self.refused({"quote": h.b64url_encode(b"\x00" * 10)}, "InvalidParameter",
                     "ATT_ERR_TRUNCATED")
        self.refused({"quote": h.b64url_encode(b"\x00" * 48)}, "InvalidParameter",
                     "ATT_ERR_QUOTE_VERSION")
        self.refused({"quote": "not base64url!"}, "InvalidParameter", "ATT_ERR_ENCODING")
        self.refused({"quote": 5}, "InvalidParameter", "ATT_ERR_JSON")
        self.refused({}, "InvalidParameter", "ATT_ERR_JSON")
        status, _, data = self.d.request("POST", "/attest/SgxEnclave" + API, body=b"{",
                                         headers={"Content-Type": "application/json"})
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(data)["error"]["code"], "InvalidParameter")
        self.refused({"quote": h.b64url_encode(self.quote),
                      "runtimeData": {"data": "AA", "dataType": "Text"}},
                     "InvalidParameter", "ATT_ERR_JSON")

    def test_collateral_missing(self):
        msg = self.refused({"quote": h.b64url_encode(read_evidence(SGX03_QUOTE))},
                           "InvalidParameter", "ATT_ERR_COLLATERAL_MISSING")
        self.assertIn("pck_crl for platform", msg)

    def test_open_enclave_sample(self):
        # The OE sample's collateral (FMSPC 00906ED50000) is not public: it parses and chains
        # to the Intel root through an older copy of it, then needs collateral.
        report = read_evidence(OE01_REPORT)
        self.refused({"report": h.b64url_encode(report)}, "InvalidParameter",
                     "ATT_ERR_COLLATERAL_MISSING", path="/attest/OpenEnclave")
        self.refused({"report": h.b64url_encode(report[16:])}, "InvalidParameter",
                     "ATT_ERR_OE_HEADER", path="/attest/OpenEnclave")
        self.refused({"quote": h.b64url_encode(report)}, "InvalidParameter", "ATT_ERR_JSON",
                     path="/attest/OpenEnclave")

    def test_draft_policy(self):
        draft = ('version=1.0;authorizationrules{c:[type=="$is-debuggable", value==false] '
                 '=> permit();};issuancerules{c:[type=="x-ms-sgx-tcb-status"] '
                 '=> issue(type="status", value=c.value);};')
        status, _, doc = self.attest({"quote": h.b64url_encode(self.quote),
                                      "draftPolicyForAttestation": draft})
        self.assertEqual(status, 200, doc)
        header_b64, payload_b64, sig = doc["token"].split(".")
        self.assertEqual(json.loads(h.b64url_decode(header_b64)), {"alg": "none", "typ": "JWT"})
        self.assertEqual(sig, "")
        c = json.loads(h.b64url_decode(payload_b64))
        self.assertEqual(c["status"], "ConfigurationAndSWHardeningNeeded")
        self.assertEqual(c["x-ms-policy-hash"], h.policy_hash(draft))
        # A draft that denies, and one that does not parse.
        msg = self.refused({"quote": h.b64url_encode(self.quote),
                            "draftPolicyForAttestation":
                                'version=1.0;authorizationrules{c:[type=="x-ms-sgx-tcb-status",'
                                ' value=="UpToDate"] => permit();};issuancerules{};'},
                           "PolicyEvaluationError", "ATT_ERR_POLICY_NO_PERMIT")
        self.assertIn("Authorization failed", msg)
        msg = self.refused({"quote": h.b64url_encode(self.quote),
                            "draftPolicyForAttestation": "version=1.0;authorizationrules{"},
                           "PolicyParsingError", "ATT_ERR_POLICY_PARSE")
        self.assertIn("draftPolicyForAttestation: 1:", msg)

    def test_stored_policy_decides(self):
        # A provider policy on TCB status and advisories (incoming claims, docs/policies.md).
        policy = ('version=1.2;authorizationrules{'
                  '[type=="x-ms-sgx-advisory-ids", value=="INTEL-SA-00289"] => deny();'
                  '=> permit();};issuancerules{};')
        self.d.attestctl("provider", "create", "strict")
        self.d.reload()
        path = "/providers/strict/policies/SgxEnclave" + API
        token = h.owner_token(self.d)
        status, _, body = self.d.request(
            "PUT", path, body=h.unsigned_policy_jws(policy).encode(),
            headers={"Content-Type": "text/plain", "Authorization": "Bearer " + token})
        self.assertEqual(status, 200, body)
        msg = self.refused({"quote": h.b64url_encode(self.quote)}, "PolicyEvaluationError",
                           "ATT_ERR_POLICY_DENIED", path="/providers/strict/attest/SgxEnclave")
        self.assertIn("deny() rule fired", msg)
        # Back to the default: permitted again, at once (the policy cache is dropped).
        status, _, body = self.d.request(
            "POST", "/providers/strict/policies/SgxEnclave:reset" + API,
            body=h.unsigned_policy_jws(None).encode(),
            headers={"Content-Type": "text/plain", "Authorization": "Bearer " + token})
        self.assertEqual(status, 200, body)
        status, _, doc = self.attest({"quote": h.b64url_encode(self.quote)},
                                     path="/providers/strict/attest/SgxEnclave")
        self.assertEqual(status, 200, doc)

    def test_api_version_required(self):
        status, _, data = self.d.request("POST", "/attest/SgxEnclave",
                                         body=json.dumps({"quote": "AA"}).encode(),
                                         headers={"Content-Type": "application/json"})
        self.assertEqual(status, 400, data)

    def test_readyz_lists_collateral_ages(self):
        # (for an authenticated Reader; anonymous callers get the status alone)
        status, _, doc = self.d.get_json(
            "/readyz", headers={"Authorization": "Bearer " + h.owner_token(self.d)})
        self.assertEqual(status, 200, doc)
        # The stored collateral has expired (by the wall clock): degraded, with the reason.
        self.assertEqual(doc["status"], "degraded")
        self.assertEqual(doc["checks"]["collateral"], "4 items past nextUpdate")
        kinds = {(c["kind"], c["key"]) for c in doc["collateral"]}
        self.assertEqual(kinds, {("root_crl", ""), ("pck_crl", "processor"),
                                 ("tcb_info", "sgx:00A067110000"), ("qe_identity", "sgx")})
        for c in doc["collateral"]:
            self.assertIs(c["expired"], True)  # by the wall clock: long expired
            self.assertGreater(c["ageSeconds"], 0)

    def test_readyz_degraded_for_everyone(self):
        # Anonymous callers learn the status (the probe counts collateral every few seconds).
        deadline = time.monotonic() + 15
        while True:
            status, _, doc = self.d.get_json("/readyz")
            if doc != {"status": "ready"} or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual((status, doc), (200, {"status": "degraded"}))

    def test_attestctl_verify_matches_the_server(self):
        out = self.d.attestctl("verify", "sgx", "--quote", SGX01_QUOTE, "--collateral",
                               SGX01_BUNDLE, "--at", "2025-06-19T11:56:11Z", use_config=False)
        c = json.loads(out.stdout)
        self.assertEqual(c["x-ms-sgx-tcb-status"], "ConfigurationAndSWHardeningNeeded")
        self.assertEqual(c["x-ms-policy-hash"], V10_DEFAULT_HASH)
        # Without a bundle it reads the store's collateral (imported above).
        c2 = json.loads(self.d.attestctl("verify", "sgx", "--quote", SGX01_QUOTE, "--at",
                                         str(SGX01_VERIFY_AT)).stdout)
        self.assertEqual(c2["x-ms-sgx-collateral"], c["x-ms-sgx-collateral"])
        # Now: expired; the failure names the step and the date.
        out = self.d.attestctl("verify", "sgx", "--quote", SGX01_QUOTE, "--collateral",
                               SGX01_BUNDLE, check=False, use_config=False)
        self.assertEqual(out.returncode, 1)
        self.assertRegex(out.stderr, r"^error: ATT_ERR_COLLATERAL_EXPIRED: quote verification "
                                     r"failed: Root CA CRL passed its nextUpdate 2026-04-03T")

    def test_attestctl_inspect(self):
        out = json.loads(self.d.attestctl("inspect", "oe", OE01_REPORT, use_config=False).stdout)
        self.assertIn("UNVERIFIED", out["warning"])
        self.assertTrue(out["reportBody"]["debug"])
        self.assertEqual(out["pck"]["fmspc"], "00906ed50000")
        self.assertTrue(out["claims (unverified)"]["x-ms-sgx-mrenclave"].startswith("292a1f4b"))
        bad = self.d.attestctl("inspect", "sgx", OE01_REPORT, check=False, use_config=False)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("error: ATT_ERR_QUOTE_VERSION", bad.stderr)


if __name__ == "__main__":
    unittest.main()
