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
    """One run of the test PKI into `out`."""

    def __init__(self, out, *args):
        os.makedirs(out, exist_ok=True)
        now = str(int(time.time()))
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


class KdsTest(SnpTestPkiCase):
    """A bare report: chain, VCEK and CRL from the KDS stand-in, the CRL checked."""

    def test_bare_report_from_kds(self):
        pki = Pki(os.path.join(self.tmp, "kds"))
        rep = pki.report
        tcb = rep[0x180:0x188]  # REPORTED_TCB, Milan layout: BL, TEE, ..., SNP, ucode
        vcek = ("/vcek/v1/Milan/%s?blSPL=%d&teeSPL=%d&snpSPL=%d&ucodeSPL=%d" %
                (rep[0x1A0:0x1E0].hex(), tcb[0], tcb[1], tcb[6], tcb[7]))
        config = os.path.join(self.tmp, "kds.json")
        with open(config, "w") as f:
            json.dump({vcek: pki.path("leaf.der"),
                       "/vcek/v1/Milan/cert_chain": pki.path("kds_chain.pem"),
                       "/vcek/v1/Milan/crl": pki.path("crl.der")}, f)
        os.makedirs(os.path.join(self.tmp, "kds-run"))
        kds = KdsServer(os.path.join(self.tmp, "kds-run"), configs=[config]).start()
        self.addCleanup(kds.stop)
        d = daemon(pki, f"kds_url = {kds.base_url}\nkds_ca_file = {kds.ca_file}\n")
        self.addCleanup(d.cleanup)
        for _ in range(3):
            status, doc = post(d, {"report": pki.document(None)})
            self.assertEqual(status, 200, doc)
        paths = kds.stats()["by_path"]
        self.assertEqual(kds.stats()["total"], 3, paths)
        self.assertEqual(paths.get("/vcek/v1/Milan/crl"), 1, paths)
        listed = {(c["kind"], c["source"]) for c in
                  json.loads(d.attestctl("collateral", "list").stdout)}
        self.assertEqual(listed, {("amd_chain", "kds"), ("amd_crl", "kds"), ("amd_vcek", "kds")})


if __name__ == "__main__":
    unittest.main()
