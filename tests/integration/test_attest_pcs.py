"""Collateral from an upstream PCS v4 service, black-box: attestd (pcs_url) against
tests/integration/pcs_server.py, a PCS/PCCS stand-in serving a test-PKI bundle over HTTPS with
Intel's paths and issuer-chain headers.

Nothing is imported: the first attestation downloads the four items, verifies and stores them;
later ones are served from the node's cache (no request upstream); an unknown FMSPC is a precise
refusal; a 429 answer's Retry-After is honoured (no new request before it), and the items a
node stored survive its restart (served from the store, upstream down).
"""
import json
import os
import shutil
import tempfile
import time
import unittest

import harness as h
from pcs_server import PcsServer
from test_attest_testpki import make_evidence

API = "?api-version=2020-10-01"


class AttestFromPcsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="attestd-pcs-")
        cls.quote, cls.bundle, root = make_evidence(os.path.join(cls.tmp, "pki"))
        # Platforms with FMSPCs the service does not know (each test PKI has its own root:
        # all are trust anchors, so these quotes get as far as the TCB info).
        cls.other_quote, _, other_root = make_evidence(os.path.join(cls.tmp, "other"),
                                                       "--fmspc", "00606A000000")
        cls.third_quote, _, third_root = make_evidence(os.path.join(cls.tmp, "third"),
                                                       "--fmspc", "00906ED50001")
        cls.roots = os.path.join(cls.tmp, "roots.pem")
        with open(cls.roots, "w", encoding="utf-8") as out:
            for path in (root, other_root, third_root):
                with open(path, encoding="utf-8") as f:
                    out.write(f.read())
        os.makedirs(os.path.join(cls.tmp, "pcs"))
        cls.pcs = PcsServer(os.path.join(cls.tmp, "pcs"), bundles=[cls.bundle]).start()
        cls.d = h.Daemon(config=f"dcap_trust_anchors = {cls.roots}\n"
                                f"pcs_url = {cls.pcs.base_url}\n"
                                f"pcs_root_crl_url = {cls.pcs.base_url}/IntelSGXRootCA.der\n"
                                f"pcs_ca_file = {cls.pcs.ca_file}\n")

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        cls.pcs.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def attest(self, quote):
        status, _, data = self.d.request(
            "POST", "/attest/SgxEnclave" + API,
            body=json.dumps({"quote": h.b64url_encode(quote)}).encode(),
            headers={"Content-Type": "application/json"})
        return status, json.loads(data)

    def test_1_fetched_then_cached(self):
        status, doc = self.attest(self.quote)
        self.assertEqual(status, 200, doc)
        self.assertEqual(h.decode_jwt(doc["token"])[1]["x-ms-sgx-tcb-status"], "UpToDate")
        stats = self.pcs.stats()
        self.assertEqual(stats["total"], 4, stats)  # root CRL, PCK CRL, TCB info, QE identity
        for _ in range(5):
            status, doc = self.attest(self.quote)
            self.assertEqual(status, 200, doc)
        self.assertEqual(self.pcs.stats()["total"], 4)  # the cache answered
        fetched = [e for e in self.d.log_events() if e.get("msg") == "collateral fetched"]
        self.assertEqual(sorted(e["kind"] for e in fetched),
                         ["PCK CRL", "QE identity", "Root CA CRL", "TCB info"])
        listed = json.loads(self.d.attestctl("collateral", "list").stdout)
        self.assertEqual({c["source"] for c in listed}, {"pcs"})
        self.assertEqual(len(listed), 4)

    def test_2_unknown_fmspc(self):
        status, doc = self.attest(self.other_quote)
        self.assertEqual(status, 400, doc)
        self.assertEqual(doc["error"]["innererror"]["code"], "ATT_ERR_COLLATERAL_MISSING")
        self.assertIn("tcb_info for sgx:00606A000000", doc["error"]["message"])
        self.assertIn("the upstream has none", doc["error"]["message"])

    def test_3_retry_after_honoured(self):
        before = self.pcs.stats()["total"]
        self.pcs.fail(status=429, count=5, retry_after=3600)
        quote = self.third_quote
        status, doc = self.attest(quote)
        self.assertEqual(status, 503, doc)  # the upstream failed and nothing is held
        self.assertEqual(doc["error"]["code"], "ServiceUnavailable")
        self.assertEqual(self.pcs.stats()["total"], before + 1)
        status, doc = self.attest(quote)  # within Retry-After: not asked again
        self.assertEqual(status, 503, doc)
        self.assertEqual(self.pcs.stats()["total"], before + 1)
        self.pcs.reset()
        failed = [e for e in self.d.log_events() if e.get("msg") == "collateral fetch failed"]
        self.assertEqual(failed[-1]["retry_in_seconds"], 3600)

    def test_4_store_survives_restart_without_upstream(self):
        self.pcs.stop()
        try:
            self.d.stop()
            self.d.start()
            status, doc = self.attest(self.quote)
            self.assertEqual(status, 200, doc)  # from the store, verified again on load
            loaded = [e for e in self.d.log_events() if e.get("msg") == "collateral loaded"]
            self.assertEqual(len(loaded), 4)
        finally:
            self.pcs.start()  # for tearDownClass (on a new port; this daemon is done)


class TdxFromPcsTest(unittest.TestCase):
    """TDX collateral over PCS v4's /tdx/ paths, and the background refresh: a TCB info close to
    its nextUpdate is renewed by the refresher, not by a request."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="attestd-pcs-tdx-")
        # TCB info valid until an hour from now (its validity shifted 29 days minus an hour back):
        # within its refresh lead (a quarter of its validity, at most a day) from the start.
        cls.quote, cls.bundle, root = make_evidence(
            os.path.join(cls.tmp, "pki"), "--tdx", "4", "--tcb-info-shift",
            str(-(29 * 86400 - 3600)))
        os.makedirs(os.path.join(cls.tmp, "pcs"))
        cls.pcs = PcsServer(os.path.join(cls.tmp, "pcs"), bundles=[cls.bundle]).start()
        cls.d = h.Daemon(config=f"dcap_trust_anchors = {root}\n"
                                f"pcs_url = {cls.pcs.base_url}\n"
                                f"pcs_root_crl_url = {cls.pcs.base_url}/IntelSGXRootCA.der\n"
                                f"pcs_ca_file = {cls.pcs.ca_file}\n"
                                "collateral_refresh_interval = 1\n")

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        cls.pcs.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_fetched_then_refreshed_in_the_background(self):
        status, _, data = self.d.request(
            "POST", "/attest/TdxVm?api-version=2025-06-01",
            body=json.dumps({"quote": h.b64url_encode(self.quote)}).encode(),
            headers={"Content-Type": "application/json"})
        self.assertEqual(status, 200, data)
        self.assertEqual(h.decode_jwt(json.loads(data)["token"])[1]["attester_tcb_status"],
                         "UpToDate")
        paths = self.pcs.stats()["by_path"]
        self.assertEqual(paths.get("/tdx/certification/v4/qe/identity"), 1, paths)
        self.assertNotIn("/sgx/certification/v4/tcb", paths)
        # No further request: the refresher asks for the TCB info again on its own, once (then
        # not before 10 minutes), and leaves the items far from their nextUpdate alone.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and \
                self.pcs.stats()["by_path"].get("/tdx/certification/v4/tcb", 0) < 2:
            time.sleep(0.2)
        time.sleep(2.5)  # two more passes
        paths = self.pcs.stats()["by_path"]
        self.assertEqual(paths.get("/tdx/certification/v4/tcb"), 2, paths)
        self.assertEqual(paths.get("/tdx/certification/v4/qe/identity"), 1, paths)
        listed = {(c["kind"], c["key"]) for c in
                  json.loads(self.d.attestctl("collateral", "list").stdout)}
        self.assertIn(("tcb_info", "tdx:00806F050000"), listed)
        self.assertIn(("qe_identity", "tdx"), listed)


if __name__ == "__main__":
    unittest.main()
