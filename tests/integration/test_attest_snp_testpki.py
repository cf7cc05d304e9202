"""SevSnpVm with fresh evidence from the AMD test PKI (tests/tools/amd_testpki): certificates
and CRLs valid today, so daemons verify at the wall clock (no test hook), with the default
amd_crl_check (enabled) and the PKI's ARK as amd_trust_anchors.

Over HTTPS: a Milan VCEK report with its bindings, its chain and CRL imported with
`attestctl collateral import` (an AMD bundle); the same refused once its ASK is revoked; a Turin
v5 VLEK report carrying a certificate table; a bare report whose VCEK, chain and CRL come from
the KDS stand-in. Offline: `attestctl verify snp` with a bundle, with --no-crl, and without.
Tokens are checked with the provider's /certs alone. Every knob of the PKI is covered by the
unit tests (tests/unit/evidence/test_snp_branches.c).
"""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

import harness as h
from kds_server import KdsServer

AMD_TESTPKI = os.path.join(h.BUILD, "tests", "tools", "amd_testpki")
API = "?api-version=2022-08-01"
RUNTIME = json.dumps({"keys": [{"kid": "HCLAkPub", "kty": "RSA", "e": "AQAB"}]}).encode()
INIT = b"guest launch configuration"
ERR = "error: "


class Pki:
    """One run of the test PKI into `out` (its time: now, or `age` seconds ago)."""

    def __init__(self, out, *args, age=0):
        os.makedirs(out, exist_ok=True)
        now = str(int(time.time()) - age)
        proc = subprocess.run([AMD_TESTPKI, "--out", out, "--time", now] + list(args),
                              check=True, env=h.san_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=120, text=True)
        self.out = out
        self.summary = json.loads(proc.stdout)
        self.vlek = "--vlek" in args
        self.report = self.read("report.bin")

    def path(self, name):
        return os.path.join(self.out, name)

    def read(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()

    def bundle(self, crl=True):
        """The AMD bundle (docs/attestation.md, "AMD collateral bundles") of this PKI."""
        entry = {"product": self.summary["product"], "chain": "vlek" if self.vlek else "vcek",
                 "cert_chain": self.read("kds_chain.pem").decode()}
        if crl:
            entry["crl"] = self.read("crl.der").hex()
        path = self.path("bundle.json")
        with open(path, "w") as f:
            json.dump({"amd": [entry]}, f)
        return path

    def document(self, carried="chain.pem"):
        doc = {"SnpReport": h.b64url_encode(self.report)}
        if carried:
            doc["VcekCertChain"] = h.b64url_encode(self.read(carried))
        return h.b64url_encode(json.dumps(doc).encode())


def daemon(pki, extra=""):
    d = h.Daemon(config=f"amd_trust_anchors = {pki.path('ark.pem')}\n{extra}")
    return d


def post(d, body):
    status, _, data = d.request("POST", "/attest/SevSnpVm" + API, body=json.dumps(body).encode(),
                                headers={"Content-Type": "application/json"})
    return status, json.loads(data) if data else None


class SnpTestPkiCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="attestd-snp-pki-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def refused(self, d, body, inner):
        status, doc = post(d, body)
        self.assertEqual(status, 400, doc)
        self.assertEqual(doc["error"]["innererror"]["code"], inner, doc)
        return doc["error"]["message"]


class MilanTest(SnpTestPkiCase):
    def test_bindings_crl_and_import(self):
        rd = hashlib.sha256(RUNTIME).hexdigest() + "00" * 32
        pki = Pki(os.path.join(self.tmp, "milan"), "--report-data", rd, "--host-data",
                  hashlib.sha256(INIT).hexdigest())
        d = daemon(pki)
        self.addCleanup(d.cleanup)
        # no CRL held yet: amd_crl_check (enabled by default) refuses
        msg = self.refused(d, {"report": pki.document()}, "ATT_ERR_COLLATERAL_MISSING")
        self.assertIn("AMD CRL of Milan (VCEK chain)", msg)
        out = json.loads(d.attestctl("collateral", "import", pki.bundle()).stdout)
        self.assertEqual(out["imported"], 2)
        kinds = {(c["kind"], c["key"]) for c in out["collateral"]}
        self.assertEqual(kinds, {("amd_chain", "vcek:Milan"), ("amd_crl", "vcek:Milan")})
        # importing it again adds nothing
        self.assertEqual(json.loads(d.attestctl("collateral", "import", pki.bundle()).stdout)
                         ["imported"], 0)
        body = {"report": pki.document(),
                "runtimeData": {"data": h.b64url_encode(RUNTIME), "dataType": "JSON"},
                "initTimeData": {"data": h.b64url_encode(INIT), "dataType": "Binary"},
                "nonce": "n-1"}
        status, doc = post(d, body)
        self.assertEqual(status, 200, doc)
        c = h.verify_jws(doc["token"], d.get_json("/certs")[2])[1]
        self.assertEqual(c["x-ms-attestation-type"], "sevsnpvm")
        self.assertEqual(c["x-ms-runtime"], json.loads(RUNTIME))
        self.assertEqual(c["x-ms-sevsnpvm-hostdata"], hashlib.sha256(INIT).hexdigest())
        self.assertEqual(c["x-ms-compliance-status"], "azure-compliant-cvm")
        self.assertEqual(c["nonce"], "n-1")
        self.assertEqual(c["x-ms-sevsnpvm-chipid"], pki.summary["chip_id"])
        h.assert_claims_supported(self, d, c)
        # the certificate table carries the same certificates
        status, doc = post(d, {"report": pki.document("certtable.bin")})
        self.assertEqual(status, 200, doc)
        # a bare report: the VCEK is not held and no KDS is configured
        msg = self.refused(d, {"report": pki.document(None)}, "ATT_ERR_COLLATERAL_MISSING")
        self.assertIn("no KDS", msg)

    def test_revoked_ask(self):
        pki = Pki(os.path.join(self.tmp, "revoked"), "--revoke-ask")
        d = daemon(pki)
        self.addCleanup(d.cleanup)
        d.attestctl("collateral", "import", pki.bundle())
        msg = self.refused(d, {"report": pki.document()}, "ATT_ERR_SNP_KEY_REVOKED")
        self.assertIn("ASK of Milan is revoked", msg)

    def test_offline_verify(self):
        pki = Pki(os.path.join(self.tmp, "offline"))

        def verify(*args):
            return subprocess.run([h.ATTESTCTL, "verify", "snp", "--report",
                                   pki.path("evidence.json"), "--trust", pki.path("ark.pem")] +
                                  list(args), env=h.san_env(), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, timeout=120)

        p = verify("--collateral", pki.bundle())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["x-ms-sevsnpvm-product"], "Milan")
        p = verify("--no-crl")
        self.assertEqual(p.returncode, 0, p.stderr)
        p = verify()
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertTrue(p.stderr.startswith(ERR + "ATT_ERR_COLLATERAL_MISSING"), p.stderr)
        p = subprocess.run([h.ATTESTCTL, "inspect", "snp", pki.path("evidence.json")],
                           env=h.san_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        doc = json.loads(p.stdout)
        self.assertTrue(doc["verified"].startswith("UNVERIFIED"))
        self.assertEqual(doc["carriedCertificates"], "pem")


class TurinVlekTest(SnpTestPkiCase):
    def test_turin_v5_vlek_certificate_table(self):
        pki = Pki(os.path.join(self.tmp, "turin"), "--product", "turin", "--version", "5",
                  "--vlek", "--launch-mit", "17", "--current-mit", "19")
        d = daemon(pki)
        self.addCleanup(d.cleanup)
        d.attestctl("collateral", "import", pki.bundle())
        status, doc = post(d, {"report": pki.document("certtable.bin")})
        self.assertEqual(status, 200, doc)
        c = h.verify_jws(doc["token"], d.get_json("/certs")[2])[1]
        self.assertEqual(c["x-ms-sevsnpvm-product"], "Turin")
        self.assertEqual(c["x-ms-sevsnpvm-signing-key"], "vlek")
        self.assertEqual(c["x-ms-sevsnpvm-report-version"], 5)
        self.assertIn("x-ms-sevsnpvm-fmc-svn", c)
        self.assertEqual(c["x-ms-sevsnpvm-launch-mit-vector"], "0000000000000011")
        self.assertEqual(c["x-ms-sevsnpvm-current-mit-vector"], "0000000000000013")
        self.assertEqual(c["x-ms-sevsnpvm-csp-id"], "CN=cc-us-east-2.amazonaws.com")
        h.assert_claims_supported(self, d, c)


def vcek_path(rep):
    """The KDS path of a Milan report's VCEK (docs/reference/amd-sev-snp.md §6.7)."""
    tcb = rep[0x180:0x188]  # REPORTED_TCB, Milan layout: BL, TEE, ..., SNP, ucode
    return ("/vcek/v1/Milan/%s?blSPL=%d&teeSPL=%d&snpSPL=%d&ucodeSPL=%d" %
            (rep[0x1A0:0x1E0].hex(), tcb[0], tcb[1], tcb[6], tcb[7]))


def other_chip(rep, i):
    """The report with another CHIP_ID (its signature no longer verifies; its VCEK is looked up
    first, which is what these tests count)."""
    rep = bytearray(rep)
    rep[0x1A0:0x1A4] = i.to_bytes(4, "big")
    return bytes(rep)


class KdsTest(SnpTestPkiCase):
    """Bare reports: chain, VCEK and CRL from the KDS stand-in, the CRL checked."""

    def start(self, pki, extra=""):
        tmp = tempfile.mkdtemp(dir=self.tmp)
        config = os.path.join(tmp, "kds.json")
        with open(config, "w") as f:
            json.dump({vcek_path(pki.report): pki.path("leaf.der"),
                       "/vcek/v1/Milan/cert_chain": pki.path("kds_chain.pem"),
                       "/vcek/v1/Milan/crl": pki.path("crl.der")}, f)
        os.makedirs(os.path.join(tmp, "run"))
        self.kds = KdsServer(os.path.join(tmp, "run"), configs=[config]).start()
        self.addCleanup(self.kds.stop)
        d = daemon(pki, f"kds_url = {self.kds.base_url}\nkds_ca_file = {self.kds.ca_file}\n"
                        + extra)
        self.addCleanup(d.cleanup)
        return d

    def vcek_requests(self):
        return sum(n for p, n in self.kds.stats()["by_path"].items()
                   if p.startswith("/vcek/v1/Milan/") and p.count("/") == 4 and
                   not p.endswith(("cert_chain", "crl")))

    def test_bare_report_from_kds(self):
        pki = Pki(os.path.join(self.tmp, "kds"))
        d = self.start(pki)
        for _ in range(3):
            status, doc = post(d, {"report": pki.document(None)})
            self.assertEqual(status, 200, doc)
        paths = self.kds.stats()["by_path"]
        self.assertEqual(self.kds.stats()["total"], 3, paths)
        self.assertEqual(paths.get("/vcek/v1/Milan/crl"), 1, paths)
        listed = {(c["kind"], c["source"]) for c in
                  json.loads(d.attestctl("collateral", "list").stdout)}
        self.assertEqual(listed, {("amd_chain", "kds"), ("amd_crl", "kds"), ("amd_vcek", "kds")})

    def test_bursts_ask_kds_once(self):
        # Attack u16: concurrent requests for one unknown chip cost one KDS request (the others
        # find its refusal once they have the lock); after a 429, no other chip's either
        pki = Pki(os.path.join(self.tmp, "burst"))
        d = self.start(pki, "job_threads = 8\n")
        self.assertEqual(post(d, {"report": pki.document(None)})[0], 200)
        self.kds.reset()
        self.kds.fail(404, count=10, delay=1, path="/vcek/v1/Milan/00000001")
        rep = other_chip(pki.report, 1)
        body = {"report": h.b64url_encode(json.dumps({"SnpReport": h.b64url_encode(rep)}).encode())}
        threads = [threading.Thread(target=post, args=(d, body)) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(self.vcek_requests(), 1, self.kds.stats())
        self.kds.reset()
        self.kds.fail(429, count=10, retry_after=60, delay=1, path="/vcek/v1/Milan/")
        bodies = [{"report": h.b64url_encode(json.dumps(
            {"SnpReport": h.b64url_encode(other_chip(pki.report, 100 + i))}).encode())}
            for i in range(6)]
        threads = [threading.Thread(target=post, args=(d, b)) for b in bodies]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(self.vcek_requests(), 1, self.kds.stats())

    def test_refresher_backoff_is_retry_after(self):
        # Attack u15: KDS's 503 to the CRL refresher (a CRL due for renewal: issued 28.5 days
        # ago, next update in half a day) holds KDS back for its Retry-After, not until the
        # CRL's nextUpdate
        pki = Pki(os.path.join(self.tmp, "refresh"), age=28 * 86400 + 43200)
        d = self.start(pki, "collateral_refresh_interval = 1\n")
        self.assertEqual(post(d, {"report": pki.document(None)})[0], 200)
        self.kds.fail(503, count=1000, retry_after=2, path="/vcek/v1/Milan/crl")
        d.wait_log("AMD KDS fetch failed", kind="amd_crl")
        time.sleep(3)
        before = self.vcek_requests()
        body = {"report": h.b64url_encode(json.dumps(
            {"SnpReport": h.b64url_encode(other_chip(pki.report, 7))}).encode())}
        status, doc = post(d, body)
        self.assertEqual(status, 400, doc)  # another chip: KDS was asked (404), not held back
        self.assertEqual(self.vcek_requests(), before + 1, self.kds.stats())

    def test_sigterm_ends_kds_transfers(self):
        # Attack u17: SIGTERM while request threads wait on a hung KDS: a clean, prompt exit
        pki = Pki(os.path.join(self.tmp, "sigterm"))
        d = self.start(pki, "pcs_timeout = 30\nshutdown_timeout = 2\njob_threads = 4\n")
        self.kds.fail(404, count=100, delay=25, path="/vcek/v1/Milan/0")
        bodies = [{"report": h.b64url_encode(json.dumps(
            {"SnpReport": h.b64url_encode(other_chip(pki.report, 200 + i))}).encode())}
            for i in range(3)]
        threads = [threading.Thread(target=lambda b=b: _quiet(post, d, b)) for b in bodies]
        for t in threads:
            t.start()
        time.sleep(1.5)
        start = time.monotonic()
        self.assertEqual(d.stop(timeout=20), 0)  # also: no sanitizer report
        self.assertLess(time.monotonic() - start, 10)
        for t in threads:
            t.join(timeout=30)


def _quiet(fn, *args):
    try:
        fn(*args)
    except OSError:
        pass  # the daemon went away under the request: expected here


if __name__ == "__main__":
    unittest.main()
