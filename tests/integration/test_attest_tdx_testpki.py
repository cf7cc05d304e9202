"""TdxVm with fresh evidence from the test PKI (tests/tools/sgx_testpki --tdx 4|5): collateral
valid today, so daemons verify at the wall clock (no test hook).

Over HTTPS: a valid v4 and v5 TD with its bindings (runtime data to REPORTDATA, init-time data to
MRCONFIGID) and the token checked with /certs alone; a debug TD refused by the default policy.
Offline, through `attestctl verify tdx` (the server's own verification code, without a daemon
per PKI): every TCB status of the platform and module levels, TD relaunch advice, and each
TDX-specific refusal, each against the status the test PKI expects (its summary's
"expected_status", computed from the levels it wrote).
"""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import harness as h
from test_attest_testpki import TESTPKI, start_daemon

API = "?api-version=2025-06-01"
RUNTIME = json.dumps({"keys": [{"kid": "TpmEphemeralEncryptionKey", "kty": "RSA"}]}).encode()
INIT = b"td launch configuration"
ERR = "error: "


def pki(out, *args):
    """Run the test PKI into `out`: (quote bytes, bundle, root, summary)."""
    os.makedirs(out, exist_ok=True)
    proc = subprocess.run([TESTPKI, "--out", out] + list(args), check=True, env=h.san_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, text=True)
    with open(os.path.join(out, "quote.bin"), "rb") as f:
        quote = f.read()
    return (quote, os.path.join(out, "bundle.json"), os.path.join(out, "root.pem"),
            json.loads(proc.stdout))


def offline(out):
    """attestctl verify tdx on the PKI in `out`: ("accept", claims) or ("refuse", code)."""
    proc = subprocess.run([h.ATTESTCTL, "verify", "tdx", "--quote",
                           os.path.join(out, "quote.bin"), "--collateral",
                           os.path.join(out, "bundle.json"), "--trust",
                           os.path.join(out, "root.pem")],
                          env=h.san_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=120)
    bad = h.sanitizer_problems(proc.stderr)
    if bad:
        raise AssertionError(f"attestctl: sanitizer report {bad}:\n{proc.stderr}")
    if proc.returncode == 0:
        return ("accept", json.loads(proc.stdout))
    first = proc.stderr.splitlines()[0] if proc.stderr else ""
    if proc.returncode != 1 or not first.startswith(ERR):
        raise AssertionError(f"attestctl exited {proc.returncode}: {proc.stderr}")
    return ("refuse", first[len(ERR):].split(":", 1)[0], first)


def post(d, body, path="/attest/TdxVm"):
    status, _, data = d.request("POST", path + API, body=json.dumps(body).encode(),
                                headers={"Content-Type": "application/json"})
    return status, json.loads(data)


class TdxTestPkiOverHttpsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="attestd-tdx-pki-")
        rd = (hashlib.sha256(RUNTIME).digest() + b"\0" * 32).hex()
        cfg = (hashlib.sha256(INIT).digest() + b"\0" * 16).hex()
        cls.v4 = pki(os.path.join(cls.tmp, "v4"), "--tdx", "4", "--report-data", rd,
                     "--mrconfigid", cfg)
        cls.d = start_daemon(cls.v4[2], cls.v4[1])
        cls.jwks = cls.d.get_json("/certs")[2]

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_valid_td_with_bindings(self):
        quote, _, _, summary = self.v4
        status, doc = post(self.d, {
            "quote": h.b64url_encode(quote),
            "runtimeData": {"data": h.b64url_encode(RUNTIME), "dataType": "JSON"},
            "initTimeData": {"data": h.b64url_encode(INIT), "dataType": "Binary"},
            "nonce": "abc"})
        self.assertEqual(status, 200, doc)
        c = h.verify_jws(doc["token"], self.jwks)[1]
        self.assertEqual(c["attester_tcb_status"], "UpToDate")
        self.assertEqual(c["x-ms-runtime"], json.loads(RUNTIME))
        self.assertNotIn("x-ms-inittime", c)  # Binary init-time data is bound, not echoed
        self.assertEqual(c["nonce"], "abc")
        for field in ("mrtd", "mrseam", "mrconfigid", "rtmr0", "rtmr3", "xfam", "td_attributes",
                      "tee_tcb_svn"):
            self.assertEqual(c["tdx_" + field], summary[field], field)
        self.assertEqual(c["tdx_report_data"], summary["report_data"])
        self.assertEqual(c["tdx_seamsvn"], 0x0105)  # module SVN 5, major version 1
        self.assertEqual(c["x-ms-tdx-fmspc"], summary["fmspc"])
        self.assertEqual(c["tee"], "tdxvm")
        h.assert_claims_supported(self, self.d, c)

    def test_binding_mismatches(self):
        quote = h.b64url_encode(self.v4[0])
        for member, inner in (("runtimeData", "ATT_ERR_RUNTIME_DATA_BINDING"),
                              ("initTimeData", "ATT_ERR_INIT_DATA_BINDING")):
            status, doc = post(self.d, {"quote": quote, member: {"data": h.b64url_encode(b"no")}})
            self.assertEqual(status, 400, doc)
            self.assertEqual(doc["error"]["innererror"]["code"], inner)

    def test_init_time_data_binds_all_of_mrconfigid(self):
        # Outside review (t11): MRCONFIGID = SHA-256(init) || any 16 bytes passed as bound.
        tmp = os.path.join(self.tmp, "tail")
        cfg = (hashlib.sha256(INIT).digest() + b"\xab" * 16).hex()
        quote, bundle, root, _ = pki(tmp, "--tdx", "4", "--mrconfigid", cfg)
        d = start_daemon(root, bundle)
        self.addCleanup(d.cleanup)
        status, doc = post(d, {"quote": h.b64url_encode(quote),
                               "initTimeData": {"data": h.b64url_encode(INIT)}})
        self.assertEqual(status, 400, doc)
        self.assertEqual(doc["error"]["innererror"]["code"], "ATT_ERR_INIT_DATA_BINDING")
        self.assertIn("last 16 bytes zero", doc["error"]["message"])
        status, doc = post(d, {"quote": h.b64url_encode(quote)})  # nothing bound: fine
        self.assertEqual(status, 200, doc)

    def test_v5_td_report_15(self):
        tmp = os.path.join(self.tmp, "v5")
        quote, bundle, root, summary = pki(tmp, "--tdx", "5", "--mrservicetd", "ab" * 48)
        d = start_daemon(root, bundle)
        self.addCleanup(d.cleanup)
        status, doc = post(d, {"quote": h.b64url_encode(quote)})
        self.assertEqual(status, 200, doc)
        c = h.verify_jws(doc["token"], d.get_json("/certs")[2])[1]
        self.assertEqual(c["tdx_mrservicetd"], "ab" * 48)
        self.assertEqual(c["tdx_tee_tcb_svn2"], summary["tee_tcb_svn"])
        h.assert_claims_supported(self, d, c)

    def test_debug_td_refused_by_the_default_policy(self):
        tmp = os.path.join(self.tmp, "debug")
        quote, bundle, root, _ = pki(tmp, "--tdx", "4", "--debug")
        d = start_daemon(root, bundle)
        self.addCleanup(d.cleanup)
        status, doc = post(d, {"quote": h.b64url_encode(quote)})
        self.assertEqual(status, 400, doc)
        self.assertEqual(doc["error"]["code"], "PolicyEvaluationError")
        self.assertEqual(doc["error"]["innererror"]["code"], "ATT_ERR_POLICY_DENIED")
        # The verdict itself is good: a draft policy that allows debug TDs gets a token.
        status, doc = post(d, {"quote": h.b64url_encode(quote), "draftPolicyForAttestation":
                               "version=1.0; authorizationrules{=> permit();}; issuancerules{};"})
        self.assertEqual(status, 200, doc)
        c = h.decode_jwt(doc["token"])[1]
        self.assertIs(c["tdx_td_attributes_debug"], True)
        self.assertEqual(c["dbgstat"], "enabled")


class TdxTestPkiMatrixTest(unittest.TestCase):
    """Offline, one fresh PKI per case."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="attestd-tdx-matrix-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.n = 0

    def run_case(self, *args):
        self.n += 1
        out = os.path.join(self.tmp, str(self.n))
        summary = pki(out, *args)[3]
        return summary, offline(out)

    def test_every_platform_status(self):
        for version in ("4", "5"):
            for status in ("UpToDate", "SWHardeningNeeded", "ConfigurationNeeded",
                           "ConfigurationAndSWHardeningNeeded", "OutOfDate",
                           "OutOfDateConfigurationNeeded"):
                with self.subTest(version=version, status=status):
                    summary, got = self.run_case("--tdx", version, "--tdx-status", status)
                    self.assertEqual(summary["expected_status"], status)
                    self.assertEqual(got[0], "accept", got)
                    self.assertEqual(got[1]["attester_tcb_status"], status)
        summary, got = self.run_case("--tdx", "4", "--tdx-status", "Revoked")
        self.assertEqual(got[:2], ("refuse", "ATT_ERR_TCB_REVOKED"), got)
        summary, got = self.run_case("--tdx", "4", "--tdx-status", "below")
        self.assertEqual(got[:2], ("refuse", "ATT_ERR_TDX_TCB_NOT_SUPPORTED"), got)

    def test_every_module_status(self):
        summary, got = self.run_case("--tdx", "4", "--tdx-module-status", "OutOfDate")
        self.assertEqual(got[1]["attester_tcb_status"], "OutOfDate")
        self.assertIn("INTEL-SA-00960", got[1]["attester_advisory_ids"])
        summary, got = self.run_case("--tdx", "4", "--tdx-module-status", "OutOfDate",
                                     "--tdx-status", "ConfigurationNeeded")
        self.assertEqual(got[1]["attester_tcb_status"], "OutOfDateConfigurationNeeded")
        summary, got = self.run_case("--tdx", "4", "--tdx-module-status", "Revoked")
        self.assertEqual(got[:2], ("refuse", "ATT_ERR_TDX_MODULE_TCB_REVOKED"), got)
        summary, got = self.run_case("--tdx", "4", "--tdx-module-status", "below")
        self.assertEqual(got[:2], ("refuse", "ATT_ERR_TDX_MODULE_TCB_NOT_SUPPORTED"), got)
        # Major version 0: tdxModule alone, bytes 0 and 1 compared with the TDX components.
        summary, got = self.run_case("--tdx", "4", "--tdx-module-major", "0")
        self.assertEqual((got[0], got[1]["attester_tcb_status"]),
                         ("accept", summary["expected_status"]))
        summary, got = self.run_case("--tdx", "4", "--tdx-module-major", "3")
        self.assertEqual(got[1]["attester_tcb_status"], "UpToDate")

    def test_td_relaunch_advised(self):
        # v5, TD report 1.5: an out-of-date module updated in place (TEE_TCB_SVN2 current).
        svn = "0301" + "0a" + "00" * 13
        svn2 = "0501" + "0a" + "00" * 13
        summary, got = self.run_case("--tdx", "5", "--tee-tcb-svn", svn, "--tee-tcb-svn2", svn2)
        self.assertEqual(summary["expected_status"], "TDRelaunchAdvised")
        self.assertEqual(got[1]["attester_tcb_status"], "TDRelaunchAdvised")
        summary, got = self.run_case("--tdx", "5", "--tee-tcb-svn", svn, "--tee-tcb-svn2", svn)
        self.assertEqual(got[1]["attester_tcb_status"], "OutOfDate")
        # A TD report 1.0 in a v5 quote has no TEE_TCB_SVN2: no relaunch advice.
        summary, got = self.run_case("--tdx", "5", "--tdx-body-type", "2", "--tee-tcb-svn", svn)
        self.assertEqual(got[1]["attester_tcb_status"], "OutOfDate")

    def test_tdx_refusals(self):
        cases = [
            (["--tdx-module-identity-missing"], "ATT_ERR_TDX_MODULE_UNKNOWN"),
            (["--tdx-module-identity-mrsigner-wrong"], "ATT_ERR_TDX_MODULE_MISMATCH"),
            (["--mrsignerseam", "01" * 48], "ATT_ERR_TDX_MODULE_MISMATCH"),
            (["--seam-attributes", "0100000000000000"], "ATT_ERR_TDX_SEAM_ATTRIBUTES"),
            (["--tdx-module-major", "0", "--tdx-module-mrsigner-wrong"],
             "ATT_ERR_TDX_MODULE_MISMATCH"),
            (["--tcb-info-other-tee"], "ATT_ERR_TCB_INFO_MISMATCH"),
            (["--qe-identity-other-tee"], "ATT_ERR_QE_IDENTITY_MISMATCH"),
            (["--qe-mrsigner-wrong"], "ATT_ERR_QE_IDENTITY_MISMATCH"),
            (["--corrupt-quote-sig"], "ATT_ERR_QUOTE_SIGNATURE"),
            (["--corrupt-qe-report-sig"], "ATT_ERR_QE_REPORT_SIGNATURE"),
            (["--corrupt-qe-report-data"], "ATT_ERR_QE_REPORT_DATA"),
            (["--revoke-pck"], "ATT_ERR_PCK_REVOKED"),
        ]
        for args, code in cases:
            with self.subTest(args=args):
                _, got = self.run_case("--tdx", "4", *args)
                self.assertEqual(got[:2], ("refuse", code), got)
        for args in (["--tdx-body-size-mismatch"], ["--tdx-body-type", "1"]):
            with self.subTest(args=args):
                _, got = self.run_case("--tdx", "5", *args)
                self.assertEqual(got[:2], ("refuse", "ATT_ERR_QUOTE_BODY_TYPE"), got)


if __name__ == "__main__":
    unittest.main()
