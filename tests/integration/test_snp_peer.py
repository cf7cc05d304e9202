"""Differential test: attestd's offline SEV-SNP verifier against the reference peer
@tinfoilsh/verifier (tests/integration/js/snp_peer_verify.mjs), on the real reports of
tests/fixtures/snp.

attestd runs as `attestctl verify snp --report DOC --no-crl --at TIME --policy PERMIT`: the MAA
document with the sample's VCEK and AMD chain, no CRL (none of AMD's is in the tree; the peer
checks none either), and a policy that permits everything, so what is compared is verification,
not appraisal. The peer gets the raw report and the VCEK (it carries its own Genoa ASK and ARK).
Agreement cases: both accept (and the fields both read from the report are equal), or both
refuse. Deliberate differences (S1..S3) are the rows of "Deliberate differences" in
docs/verification.md; for those the test asserts each side's documented outcome.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import harness as h

SNP = os.path.join(h.ROOT, "tests", "fixtures", "snp")
PEER_NAME = "@tinfoilsh/verifier"
PEER_VERSION = "1.1.0"
PEER_CLI = os.path.join(h.JS_DIR, "snp_peer_verify.mjs")
DOC = os.path.join(h.ROOT, "docs", "verification.md")
PERMIT = "version=1.0; authorizationrules{ => permit(); }; issuancerules{};"

SAMPLES = {
    "snp01": ("snp01_gosev_milan_report.bin", "snp01_gosev_milan_vcek.der", "amd_ask_ark_milan.pem"),
    "snp02": ("snp02_virtee_milan_report.hex", "snp02_virtee_milan_vcek.der", "amd_ask_ark_milan.pem"),
    "snp03": ("snp03_tinfoil_genoa_report.bin", "snp03_tinfoil_genoa_vcek.der", "amd_ask_ark_genoa.pem"),
    "snp04": ("snp04_trustee_milan_vlek_report.bin", "snp04_trustee_milan_vlek.der",
              "amd_asvk_ark_milan_vlek_chain.pem"),
    "snp05": ("snp05_azure_snp_vtpm_snp_report.bin", "snp05_azure_snp_vtpm_vcek.der",
              "amd_ask_ark_milan.pem"),
}
# Inside every sample certificate's validity but the snp04 VLEK's (2024-12-10 .. 2025-12-10)
# and the snp03 VCEK's (from 2026-01-11): each sample is judged at one of these.
AT_2025 = "2025-06-01T00:00:00Z"
AT_2026 = "2026-06-01T00:00:00Z"


def read(name):
    with open(os.path.join(SNP, name), "rb") as f:
        data = f.read()
    return bytes.fromhex(data.decode().split()[0]) if name.endswith(".hex") else data


class SnpPeerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        h.require_node(PEER_NAME)
        with open(os.path.join(h.JS_DIR, "package.json")) as f:
            pinned = json.load(f)["dependencies"][PEER_NAME]
        assert pinned == PEER_VERSION, f"{PEER_NAME} pinned at {pinned}, this test is for {PEER_VERSION}"
        cls.tmp = tempfile.mkdtemp(prefix="attestd-snp-peer-")
        cls.policy = os.path.join(cls.tmp, "permit.txt")
        with open(cls.policy, "w") as f:
            f.write(PERMIT)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def files(self, name, report=None, vcek=None):
        """(report path, VCEK path, MAA document path) for a sample, optionally altered."""
        rep_file, vcek_file, chain_file = SAMPLES[name]
        rep = report if report is not None else read(rep_file)
        der = vcek if vcek is not None else read(vcek_file)
        rp = os.path.join(self.tmp, name + ".bin")
        vp = os.path.join(self.tmp, name + ".der")
        dp = os.path.join(self.tmp, name + ".json")
        with open(rp, "wb") as f:
            f.write(rep)
        with open(vp, "wb") as f:
            f.write(der)
        chain = h.der_to_pem(der, "CERTIFICATE").encode() + read(chain_file)
        with open(dp, "w") as f:
            json.dump({"SnpReport": h.b64url_encode(rep),
                       "VcekCertChain": h.b64url_encode(chain)}, f)
        return rp, vp, dp

    def peer(self, report, vcek, at):
        p = subprocess.run([h.NODE, PEER_CLI, "--report", report, "--vcek", vcek, "--time", at],
                           cwd=h.JS_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)  # 3: it tried the network
        return json.loads(p.stdout.splitlines()[-1])

    def attestd(self, doc, at):
        p = subprocess.run([h.ATTESTCTL, "verify", "snp", "--report", doc, "--no-crl", "--at",
                            at, "--policy", self.policy], env=h.san_env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
        self.assertEqual(h.sanitizer_problems(p.stderr), [], p.stderr)
        if p.returncode == 0:
            return ("accept", json.loads(p.stdout))
        self.assertEqual(p.returncode, 1, p.stderr)
        first = p.stderr.splitlines()[0]
        self.assertTrue(first.startswith("error: ATT_ERR_"), first)
        return ("refuse", first[len("error: "):].split(":", 1)[0])

    def both(self, name, at, **alter):
        rp, vp, dp = self.files(name, **alter)
        return self.peer(rp, vp, at), self.attestd(dp, at)

    def test_agree_genoa(self):
        peer, ours = self.both("snp03", AT_2026)
        self.assertTrue(peer["ok"], peer)
        self.assertEqual(ours[0], "accept", ours)
        c, f = ours[1], peer["fields"]
        self.assertEqual(c["x-ms-sevsnpvm-launchmeasurement"], f["measurement"])
        self.assertEqual(c["x-ms-sevsnpvm-reportdata"], f["report_data"])
        self.assertEqual(c["x-ms-sevsnpvm-hostdata"], f["host_data"])
        self.assertEqual(c["x-ms-sevsnpvm-vmpl"], f["vmpl"])
        self.assertEqual(c["x-ms-sevsnpvm-report-version"], f["version"])
        self.assertEqual(c["x-ms-sevsnpvm-is-debuggable"], f["policy_parsed"]["debug"])
        self.assertEqual(c["x-ms-sevsnpvm-smt-allowed"], f["policy_parsed"]["smt"])
        t = f["current_tcb"]
        self.assertEqual((c["x-ms-sevsnpvm-currenttcb-bootloader-svn"],
                          c["x-ms-sevsnpvm-currenttcb-tee-svn"],
                          c["x-ms-sevsnpvm-currenttcb-snpfw-svn"],
                          c["x-ms-sevsnpvm-currenttcb-microcode-svn"]),
                         (t["blSpl"], t["teeSpl"], t["snpSpl"], t["ucodeSpl"]))

    def test_agree_refusals(self):
        rep = bytearray(read(SAMPLES["snp03"][0]))
        rep[0x90] ^= 1  # MEASUREMENT
        peer, ours = self.both("snp03", AT_2026, report=bytes(rep))
        self.assertFalse(peer["ok"])
        self.assertEqual(ours, ("refuse", "ATT_ERR_SNP_REPORT_SIGNATURE"))
        rep = bytearray(read(SAMPLES["snp03"][0]))
        rep[0x2A0] ^= 1  # signature R
        peer, ours = self.both("snp03", AT_2026, report=bytes(rep))
        self.assertFalse(peer["ok"])
        self.assertEqual(ours, ("refuse", "ATT_ERR_SNP_REPORT_SIGNATURE"))
        # before the Genoa VCEK's notBefore
        peer, ours = self.both("snp03", AT_2025)
        self.assertFalse(peer["ok"])
        self.assertEqual(ours, ("refuse", "ATT_ERR_CERT_NOT_YET_VALID"))

    def test_s1_milan(self):
        for name in ("snp01", "snp02", "snp05"):
            with self.subTest(sample=name):
                peer, ours = self.both(name, AT_2025)
                self.assertFalse(peer["ok"])
                self.assertIn('Product name must be "Genoa"', peer["error"])
                self.assertEqual(ours[0], "accept", ours)
                self.assertEqual(ours[1]["x-ms-sevsnpvm-product"], "Milan")

    def test_s2_vlek(self):
        peer, ours = self.both("snp04", AT_2025)
        self.assertFalse(peer["ok"])
        self.assertIn("signing key", peer["error"])
        self.assertEqual(ours[0], "accept", ours)
        self.assertEqual(ours[1]["x-ms-sevsnpvm-signing-key"], "vlek")

    def test_s3_trailing_bytes(self):
        rep = read(SAMPLES["snp03"][0]) + b"\x00" * 16
        peer, ours = self.both("snp03", AT_2026, report=rep)
        self.assertTrue(peer["ok"], peer)
        self.assertEqual(ours, ("refuse", "ATT_ERR_TRAILING"))

    def test_differences_documented(self):
        with open(DOC, encoding="utf-8") as f:
            text = f.read()
        for row in ("S1", "S2", "S3"):
            self.assertRegex(text, r"\n\| %s \|" % row)
        self.assertIn(f"{PEER_NAME} {PEER_VERSION}", text)


if __name__ == "__main__":
    unittest.main()
