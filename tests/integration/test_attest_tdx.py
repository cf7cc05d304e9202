"""POST /attest/TdxVm (api-version 2025-06-01) with the real TDX samples, black-box.

As for SGX (test_attest_sgx.py), the samples' collateral expired long ago: each daemon here is
a test build told to verify evidence at a time inside one bundle's window
(ATTESTD_TEST_VERIFY_TIME), with the bundle imported by `attestctl collateral import`. The
outcomes are those of tests/fixtures/dcap/tdx/README.md (Intel QVL's rules). Tokens are checked
with the provider's /certs alone.
"""
import calendar
import json
import os
import time
import unittest

import harness as h

FIX = os.path.join(h.ROOT, "tests", "fixtures", "dcap")
TDX = os.path.join(FIX, "tdx")
API = "?api-version=2025-06-01"


def at(text):
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def evidence(name):
    with open(os.path.join(TDX, name) if "/" not in name else name, "rb") as f:
        data = f.read()
    if name.endswith(".hex"):
        text = data.decode().split()[0]
        data = bytes.fromhex(text[2:] if text.startswith("0x") else text)
    return data


class TdxDaemon:
    """A daemon verifying at `when` with `bundle` imported."""

    def __init__(self, when, bundle):
        self.d = h.Daemon(env={"ATTESTD_TEST_VERIFY_TIME": str(at(when))})
        try:
            out = json.loads(self.d.attestctl("collateral", "import", os.path.join(TDX, bundle),
                                              "--allow-expired").stdout)
            assert out["imported"] == 4, out
            self.jwks = self.d.get_json("/certs")[2]
        except BaseException:
            self.d.cleanup()
            raise

    def attest(self, body, path="/attest/TdxVm"):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        status, headers, data = self.d.request("POST", path + API, body=raw,
                                               headers={"Content-Type": "application/json"})
        return status, headers, json.loads(data) if data else None


class AttestTdxV4Test(unittest.TestCase):
    """tdx01 (v4, UpToDate) and tdx03 (below every level) at 2025-06-20."""

    @classmethod
    def setUpClass(cls):
        cls.t = TdxDaemon("2025-06-20T00:00:00Z", "tdx01_dcapqvl_collateral.json")
        cls.quote = evidence("tdx01_dcapqvl_v4_quote.bin")

    @classmethod
    def tearDownClass(cls):
        cls.t.d.cleanup()

    def ok(self, body):
        status, _, doc = self.t.attest(body)
        self.assertEqual(status, 200, doc)
        return h.verify_jws(doc["token"], self.t.jwks)

    def refused(self, body, inner, code="InvalidParameter", path="/attest/TdxVm"):
        status, headers, doc = self.t.attest(body, path)
        self.assertEqual(status, 400, doc)
        self.assertEqual(doc["error"]["code"], code, doc)
        self.assertEqual(headers["x-ms-error-code"], code)
        self.assertEqual(doc["error"]["innererror"]["code"], inner, doc)
        return doc["error"]["message"]

    def test_tdx01_token(self):
        header, c = self.ok({"quote": h.b64url_encode(self.quote)})
        self.assertEqual(header["alg"], "RS256")
        self.assertEqual(c["iss"], self.t.d.base_url)
        self.assertEqual(c["exp"] - c["iat"], 28800)
        self.assertEqual(c["x-ms-attestation-type"], "tdxvm")
        self.assertEqual(c["x-ms-ver"], "1.0")
        self.assertEqual(c["eat_profile"], "https://aka.ms/maa-eat-profile-tdxvm")
        self.assertEqual(c["dbgstat"], "disabled-since-boot")
        self.assertEqual(c["attester_tcb_status"], "UpToDate")
        self.assertEqual(c["attester_advisory_ids"], [])
        self.assertEqual(c["x-ms-tdx-fmspc"], "b0c06f000000")
        # The TD report fields at their offsets (v4 body at 0x30).
        body = self.quote[0x30:0x30 + 584]
        self.assertEqual(c["tdx_tee_tcb_svn"], body[0:16].hex())
        self.assertEqual(c["tdx_mrseam"], body[0x10:0x40].hex())
        self.assertEqual(c["tdx_mrsignerseam"], "00" * 48)
        self.assertEqual(c["tdx_seam_attributes"], "00" * 8)
        self.assertEqual(c["tdx_td_attributes"], "0000001000000000")
        self.assertEqual(c["tdx_xfam"], body[0x80:0x88].hex())
        self.assertTrue(c["tdx_mrtd"].startswith("91eb2b44"))
        self.assertEqual(c["tdx_mrconfigid"], body[0xB8:0xE8].hex())
        self.assertEqual(c["tdx_rtmr0"], body[0x148:0x178].hex())
        self.assertEqual(c["tdx_rtmr3"], "00" * 48)
        self.assertTrue(c["tdx_report_data"].startswith("9a9d48e7"))
        self.assertEqual(c["tdx_seamsvn"], body[0] | body[1] << 8)
        self.assertIs(c["tdx_td_attributes_debug"], False)
        self.assertIs(c["tdx_td_attributes_septve_disable"], True)
        self.assertIs(c["tdx_td_attributes_protection_keys"], False)
        self.assertIs(c["tdx_td_attributes_key_locker"], False)
        self.assertIs(c["tdx_td_attributes_perfmon"], False)
        self.assertNotIn("tdx_mrservicetd", c)  # a TD report 1.0 has none
        # The default TdxVm policy's outgoing claims.
        self.assertIs(c["is-debuggable"], False)
        self.assertEqual(c["tdx-mrtd"], c["tdx_mrtd"])
        self.assertEqual(c["tee"], "tdxvm")
        self.assertEqual(c["x-ms-policy-hash"], "S-P0tP1T9oLP04Q2TtXEfKfq9B4aXz_Epw3OR_fuhj8")
        self.assertNotIn("x-ms-sgx-tcb-status", c)

    def test_runtime_and_init_time_bindings(self):
        quote = h.b64url_encode(self.quote)
        # Runtime data binds to REPORTDATA[0..32]: tdx01's report data is not a hash of ours.
        msg = self.refused({"quote": quote, "runtimeData": {"data": h.b64url_encode(b"{}"),
                                                            "dataType": "JSON"}},
                           "ATT_ERR_RUNTIME_DATA_BINDING")
        self.assertIn("REPORTDATA", msg)
        msg = self.refused({"quote": quote, "initTimeData": {"data": h.b64url_encode(b"x"),
                                                             "dataType": "Binary"}},
                           "ATT_ERR_INIT_DATA_BINDING")
        self.assertIn("MRCONFIGID", msg)

    def test_nonce_and_draft_policy(self):
        quote = h.b64url_encode(self.quote)
        _, c = self.ok({"quote": quote, "nonce": "n-42"})
        self.assertEqual(c["nonce"], "n-42")
        draft = ('version=1.0; authorizationrules{c:[type=="attester_tcb_status", '
                 'value=="UpToDate"] => permit();}; issuancerules{c:[type=="tdx_mrtd"] => '
                 'issue(type="mrtd", value=c.value);};')
        status, _, doc = self.t.attest({"quote": quote, "draftPolicyForAttestation": draft})
        self.assertEqual(status, 200, doc)
        header, c = h.decode_jwt(doc["token"])[:2]
        self.assertEqual(header["alg"], "none")
        self.assertEqual(c["mrtd"], c["tdx_mrtd"])
        deny = 'version=1.0; authorizationrules{c:[type=="tdx_td_attributes_pks"] => permit();};'
        self.refused({"quote": quote, "draftPolicyForAttestation": deny},
                     "ATT_ERR_POLICY_NO_PERMIT", code="PolicyEvaluationError")

    def test_tdx03_below_every_level(self):
        msg = self.refused({"quote": h.b64url_encode(evidence("tdx03_dcapqvl_tappd_quote.hex"))},
                           "ATT_ERR_TCB_NOT_SUPPORTED")
        self.assertIn("below every TCB level", msg)

    def test_wrong_evidence_for_the_route(self):
        sgx = evidence(os.path.join(FIX, "sgx", "sgx01_dcapqvl_quote.bin"))
        self.refused({"quote": h.b64url_encode(sgx)}, "ATT_ERR_QUOTE_VERSION")
        self.refused({"quote": h.b64url_encode(self.quote)}, "ATT_ERR_QUOTE_VERSION",
                     path="/attest/SgxEnclave")
        self.refused({"report": h.b64url_encode(self.quote)}, "ATT_ERR_JSON")
        self.refused({"Quote": h.b64url_encode(self.quote)}, "ATT_ERR_JSON")  # SGX's legacy shape

    def test_malformed_quotes(self):
        q = bytearray(self.quote)
        self.refused({"quote": h.b64url_encode(bytes(q[:700]))}, "ATT_ERR_TRUNCATED")
        q[-1] = 1  # the zero padding after the signature data
        self.refused({"quote": h.b64url_encode(bytes(q))}, "ATT_ERR_QUOTE_PADDING")
        q = bytearray(self.quote)
        q[0x30 + 0x88] ^= 1  # MRTD: signed by the attestation key
        self.refused({"quote": h.b64url_encode(bytes(q))}, "ATT_ERR_QUOTE_SIGNATURE")
        q = bytearray(self.quote)
        q[0x30 + 0x40] ^= 1  # MRSIGNERSEAM: checked against the module identity first
        self.refused({"quote": h.b64url_encode(bytes(q))}, "ATT_ERR_TDX_MODULE_MISMATCH")
        q = bytearray(self.quote)
        q[0x30 + 0x70] = 1  # SEAMATTRIBUTES
        self.refused({"quote": h.b64url_encode(bytes(q))}, "ATT_ERR_TDX_SEAM_ATTRIBUTES")
        q = bytearray(self.quote)
        q[0x30 + 1] = 0x7E  # a module major version the TCB info does not know
        self.refused({"quote": h.b64url_encode(bytes(q))}, "ATT_ERR_TDX_MODULE_UNKNOWN")

    def test_attestctl_verify_and_inspect(self):
        path = os.path.join(TDX, "tdx01_dcapqvl_v4_quote.bin")
        out = self.t.d.attestctl("verify", "tdx", "--quote", path, "--collateral",
                                 os.path.join(TDX, "tdx01_dcapqvl_collateral.json"), "--at",
                                 "2025-06-20T00:00:00Z", use_config=False)
        c = json.loads(out.stdout)
        self.assertEqual(c["attester_tcb_status"], "UpToDate")
        self.assertEqual(c["x-ms-attestation-type"], "tdxvm")
        doc = json.loads(self.t.d.attestctl("inspect", "tdx", path, use_config=False).stdout)
        self.assertIn("UNVERIFIED", doc["warning"])
        self.assertEqual(doc["header"]["version"], 4)
        self.assertEqual(doc["bodyType"], 2)
        self.assertEqual(doc["trailingZeroBytes"], 70)
        self.assertEqual(doc["pck"]["fmspc"], "b0c06f000000")
        self.assertTrue(doc["reportBody"]["mrtd"].startswith("91eb2b44"))
        bad = self.t.d.attestctl("inspect", "vbs", path, check=False, use_config=False)
        self.assertEqual(bad.returncode, 1)
        self.assertIn('unknown evidence type "vbs" (one of: sgx, oe, snp, tdx, tpm, azure)', bad.stderr)


class AttestTdxOutOfDateTest(unittest.TestCase):
    """tdx06, tdx07, tdx10 (v4, FMSPC 00806F050000) at 2025-10-20."""

    @classmethod
    def setUpClass(cls):
        cls.t = TdxDaemon("2025-10-20T00:00:00Z", "collateral_00806f050000_2025-10_bundle.json")

    @classmethod
    def tearDownClass(cls):
        cls.t.d.cleanup()

    def claims(self, name):
        status, _, doc = self.t.attest({"quote": h.b64url_encode(evidence(name))})
        self.assertEqual(status, 200, doc)
        return h.verify_jws(doc["token"], self.t.jwks)[1]

    def test_tdx06_padded_out_of_date(self):
        c = self.claims("tdx06_automata_v4_quote_padded8000.hex")
        self.assertEqual(c["attester_tcb_status"], "OutOfDate")
        self.assertEqual(c["attester_advisory_ids"],
                         ["INTEL-SA-00960", "INTEL-SA-00982", "INTEL-SA-00986"])
        self.assertTrue(c["tdx_mrtd"].startswith("935be774"))

    def test_tdx07_up_to_date(self):
        self.assertEqual(self.claims("tdx07_gotdx_cos113_quote_padded8000.bin")
                         ["attester_tcb_status"], "UpToDate")

    def test_tdx10_azure_td(self):
        c = self.claims("tdx10_azure_tdx_vtpm_td_quote.bin")
        self.assertEqual(c["attester_tcb_status"], "OutOfDate")
        self.assertIs(c["tdx_td_attributes_septve_disable"], False)
        self.assertEqual(c["tdx_td_attributes"], "00" * 8)
        # report_data[0:32] binds the HCL report (MANIFEST): SHA-256 of its runtime part.
        self.assertTrue(c["tdx_report_data"].startswith("9734504f"))


class AttestTdxV5Test(unittest.TestCase):
    """tdx05 (v5, TD report 1.5) at 2026-02-05."""

    @classmethod
    def setUpClass(cls):
        cls.t = TdxDaemon("2026-02-05T00:00:00Z",
                          "tdx05_gotdx_collateral_90c06f_2026-02_bundle.json")

    @classmethod
    def tearDownClass(cls):
        cls.t.d.cleanup()

    def test_tdx05_token(self):
        quote = evidence("tdx05_gotdx_v5_quote.bin")
        status, _, doc = self.t.attest({"quote": h.b64url_encode(quote)})
        self.assertEqual(status, 200, doc)
        c = h.verify_jws(doc["token"], self.t.jwks)[1]
        self.assertEqual(c["attester_tcb_status"], "UpToDate")
        body = quote[0x36:0x36 + 648]
        self.assertEqual(c["tdx_mrtd"], body[0x88:0xB8].hex())
        self.assertEqual(c["tdx_tee_tcb_svn2"], body[0x248:0x258].hex())
        self.assertEqual(c["tdx_mrservicetd"], body[0x258:0x288].hex())


if __name__ == "__main__":
    unittest.main()
