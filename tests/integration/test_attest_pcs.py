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

    def test_a_hung_refresh_holds_up_neither_requests_nor_the_exit(self):
        # Outside review, round 2 (u01): the refresher kept the fetch lock through a hung fetch,
        # so a request needing any missing item waited behind it (30 s, then 503), and SIGTERM
        # waited pcs_timeout for every item of the pass.
        other, _, other_root = make_evidence(os.path.join(self.tmp, "other"), "--tdx", "4",
                                             "--fmspc", "00A06D080000")
        roots = os.path.join(self.tmp, "roots2.pem")
        with open(roots, "w", encoding="utf-8") as out:
            for path in (os.path.join(self.tmp, "pki", "root.pem"), other_root):
                with open(path, encoding="utf-8") as f:
                    out.write(f.read())
        d = h.Daemon(config=f"dcap_trust_anchors = {roots}\n"
                            f"pcs_url = {self.pcs.base_url}\n"
                            f"pcs_root_crl_url = {self.pcs.base_url}/IntelSGXRootCA.der\n"
                            f"pcs_ca_file = {self.pcs.ca_file}\n"
                            "pcs_timeout = 60\ncollateral_refresh_interval = 1\n"
                            "shutdown_timeout = 2\n")
        self.addCleanup(d.cleanup)
        body = json.dumps({"quote": h.b64url_encode(self.quote)}).encode()
        headers = {"Content-Type": "application/json"}
        path = "/attest/TdxVm?api-version=2025-06-01"
        tcb = "/tdx/certification/v4/tcb"
        before = self.pcs.stats()["by_path"].get(tcb, 0)
        status, _, data = d.request("POST", path, body=body, headers=headers)
        self.assertEqual(status, 200, data)  # fetched the four items itself
        self.pcs.fail(status=503, count=1, path=tcb, delay=45)  # the refresher's fetch hangs
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and \
                self.pcs.stats()["by_path"].get(tcb, 0) < before + 2:
            time.sleep(0.2)
        self.assertGreaterEqual(self.pcs.stats()["by_path"].get(tcb, 0), before + 2)
        # The refresher now waits on the hung fetch. A request that needs an item nobody holds
        # (another FMSPC: the upstream has none) is answered at once, and a held one too.
        t0 = time.monotonic()
        status, _, data = d.request("POST", path, body=json.dumps(
            {"quote": h.b64url_encode(other)}).encode(), headers=headers)
        self.assertLess(time.monotonic() - t0, 5, data)
        self.assertEqual(json.loads(data)["error"]["innererror"]["code"],
                         "ATT_ERR_COLLATERAL_MISSING")
        status, _, data = d.request("POST", path, body=body, headers=headers)
        self.assertEqual(status, 200, data)
        # And SIGTERM ends the daemon without waiting for the hung fetch.
        t0 = time.monotonic()
        d.stop()
        self.assertLess(time.monotonic() - t0, 8)
        self.pcs.reset()


class RefreshFromAnotherRootTest(unittest.TestCase):
    """Outside review, round 2 (u02): with two trusted roots, the upstream's newer TCB info of
    root B for the FMSPC of root A's platforms replaced A's good one in the background, and A's
    platforms were refused from then on. A refresh now takes only an item of the same root."""

    def test_refresh_keeps_the_root(self):
        tmp = tempfile.mkdtemp(prefix="attestd-pcs-roots-")
        self.addCleanup(shutil.rmtree, tmp, True)
        now = int(time.time())
        quote_a, bundle_a, root_a = make_evidence(
            os.path.join(tmp, "a"), "--tdx", "4", "--now", str(now), "--tcb-info-shift",
            str(-(29 * 86400 - 3600)))
        _, bundle_b, root_b = make_evidence(os.path.join(tmp, "b"), "--tdx", "4",
                                            "--now", str(now + 60))
        with open(bundle_b, encoding="utf-8") as f:
            b = json.load(f)
        with open(os.path.join(tmp, "tcb_b.json"), "w", encoding="utf-8") as f:
            f.write('{"tcbInfo":' + b["tcb_info"] + ',"signature":"' + b["tcb_info_signature"]
                    + '"}')
        with open(os.path.join(tmp, "tcb_b_chain.pem"), "w", encoding="utf-8") as f:
            f.write(b["tcb_info_issuer_chain"])
        with open(os.path.join(tmp, "pcs.json"), "w", encoding="utf-8") as f:
            json.dump({"tcb_info": [{"tee": "tdx", "fmspc": "00806f050000",
                                     "response": "tcb_b.json", "chain": "tcb_b_chain.pem"}]}, f)
        roots = os.path.join(tmp, "roots.pem")
        with open(roots, "w", encoding="utf-8") as out:
            for path in (root_a, root_b):
                with open(path, encoding="utf-8") as f:
                    out.write(f.read())
        os.makedirs(os.path.join(tmp, "pcs"))
        # The upstream knows only B's TCB info (A's items come from A's imported bundle).
        pcs = PcsServer(os.path.join(tmp, "pcs"), config=os.path.join(tmp, "pcs.json")).start()
        self.addCleanup(pcs.stop)
        d = h.Daemon(config=f"dcap_trust_anchors = {roots}\n"
                            f"pcs_url = {pcs.base_url}\n"
                            f"pcs_root_crl_url = {pcs.base_url}/IntelSGXRootCA.der\n"
                            f"pcs_ca_file = {pcs.ca_file}\n"
                            "collateral_refresh_interval = 1\n")
        self.addCleanup(d.cleanup)
        d.attestctl("collateral", "import", bundle_a)  # A's own items, TCB info due soon
        body = json.dumps({"quote": h.b64url_encode(quote_a)}).encode()
        headers = {"Content-Type": "application/json"}
        path = "/attest/TdxVm?api-version=2025-06-01"
        status, _, data = d.request("POST", path, body=body, headers=headers)
        self.assertEqual(status, 200, data)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and \
                pcs.stats()["by_path"].get("/tdx/certification/v4/tcb", 0) < 1:
            time.sleep(0.2)
        time.sleep(1.5)
        self.assertEqual(pcs.stats()["by_path"].get("/tdx/certification/v4/tcb"), 1)
        status, _, data = d.request("POST", path, body=body, headers=headers)
        self.assertEqual(status, 200, data)  # still A's TCB info
        self.assertNotIn("collateral refreshed", [e.get("msg") for e in d.log_events()])


if __name__ == "__main__":
    unittest.main()
