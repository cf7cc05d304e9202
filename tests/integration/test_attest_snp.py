"""POST /attest/SevSnpVm (api-version 2022-08-01 and later) with the real SEV-SNP samples, black-box.

MAA's body: `report` is base64url of the JSON document {"SnpReport": b64url(report),
"VcekCertChain": b64url(PEM)}, with runtimeData (SHA-256 bound to REPORT_DATA[0:32]),
initTimeData (to HOST_DATA), nonce and draftPolicyForAttestation. The reports and certificates
are tests/fixtures/snp (README.md there); the outcomes are those its rows give. AMD publishes no
CRL that is still current for these samples' time, and none is in the tree, so these daemons
run with amd_crl_check disabled; the CRL path is tested with the AMD test PKI
(test_attest_snp_testpki.py) and the default (enabled) is checked to refuse here. Tokens are
checked with the provider's /certs alone.
"""
import calendar
import json
import os
import shutil
import tempfile
import threading
import time
import unittest

import harness as h
from kds_server import KdsServer

SNP = os.path.join(h.ROOT, "tests", "fixtures", "snp")
API = "?api-version=2022-08-01"


def at(text):
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def read(name):
    with open(os.path.join(SNP, name), "rb") as f:
        data = f.read()
    if name.endswith(".hex"):
        data = bytes.fromhex(data.decode().split()[0])
    return data


def pem(der):
    return h.der_to_pem(der, "CERTIFICATE").encode()


SAMPLES = {
    "snp01": ("snp01_gosev_milan_report.bin", "snp01_gosev_milan_vcek.der", "amd_ask_ark_milan.pem"),
    "snp02": ("snp02_virtee_milan_report.hex", "snp02_virtee_milan_vcek.der", "amd_ask_ark_milan.pem"),
    "snp03": ("snp03_tinfoil_genoa_report.bin", "snp03_tinfoil_genoa_vcek.der", "amd_ask_ark_genoa.pem"),
    "snp04": ("snp04_trustee_milan_vlek_report.bin", "snp04_trustee_milan_vlek.der",
              "amd_asvk_ark_milan_vlek_chain.pem"),
    "snp05": ("snp05_azure_snp_vtpm_snp_report.bin", "snp05_azure_snp_vtpm_vcek.der",
              "amd_ask_ark_milan.pem"),
}


def report(name):
    return read(SAMPLES[name][0])


def chain(name, leaf=None, rest=None):
    _, l, r = SAMPLES[name]
    return pem(read(leaf or l)) + read(rest or r)


def document(rep, chain_bytes=None, **extra):
    doc = {"SnpReport": h.b64url_encode(rep)}
    if chain_bytes is not None:
        doc["VcekCertChain"] = h.b64url_encode(chain_bytes)
    doc.update(extra)
    return h.b64url_encode(json.dumps(doc).encode())


def body(name, **kw):
    b = {"report": document(report(name), chain(name))}
    b.update(kw)
    return b


class SnpDaemon:
    """A daemon verifying at `when`."""

    def __init__(self, when, config="amd_crl_check = disabled\n"):
        self.d = h.Daemon(config=config, env={"ATTESTD_TEST_VERIFY_TIME": str(at(when))})
        try:
            self.jwks = self.d.get_json("/certs")[2]
        except BaseException:
            self.d.cleanup()
            raise

    def attest(self, body, api=API, path="/attest/SevSnpVm"):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        status, headers, data = self.d.request("POST", path + api, body=raw,
                                               headers={"Content-Type": "application/json"})
        return status, headers, json.loads(data) if data else None


class SnpCase(unittest.TestCase):
    when = "2025-06-01T00:00:00Z"
    config = "amd_crl_check = disabled\n"

    @classmethod
    def setUpClass(cls):
        cls.t = SnpDaemon(cls.when, cls.config)

    @classmethod
    def tearDownClass(cls):
        cls.t.d.cleanup()

    def ok(self, body):
        status, _, doc = self.t.attest(body)
        self.assertEqual(status, 200, doc)
        return h.verify_jws(doc["token"], self.t.jwks)[1]

    def refused(self, body, inner, code="InvalidParameter", **kw):
        status, headers, doc = self.t.attest(body, **kw)
        self.assertEqual(status, 400, doc)
        self.assertEqual(doc["error"]["code"], code, doc)
        self.assertEqual(headers["x-ms-error-code"], code)
        self.assertEqual(doc["error"]["innererror"]["code"], inner, doc)
        return doc["error"]["message"]


class AttestSnpTest(SnpCase):
    """The Milan samples at 2025-06-01."""

    def test_azure_cvm_report_with_runtime_data(self):
        rt = read("snp05_azure_runtime_data.json")
        c = self.ok(body("snp05", runtimeData={"data": h.b64url_encode(rt), "dataType": "JSON"},
                         nonce="noncesevsnp987"))
        rep = report("snp05")
        self.assertEqual(c["x-ms-attestation-type"], "sevsnpvm")
        self.assertEqual(c["x-ms-compliance-status"], "azure-compliant-cvm")
        self.assertEqual(c["x-ms-runtime"], json.loads(rt))
        self.assertEqual(c["nonce"], "noncesevsnp987")
        self.assertEqual(c["x-ms-sevsnpvm-launchmeasurement"], rep[0x90:0xC0].hex())
        self.assertEqual(c["x-ms-sevsnpvm-reportdata"], rep[0x50:0x90].hex())
        self.assertEqual(c["x-ms-sevsnpvm-hostdata"], rep[0xC0:0xE0].hex())
        self.assertEqual(c["x-ms-sevsnpvm-idkeydigest"], rep[0xE0:0x110].hex())
        self.assertEqual(c["x-ms-sevsnpvm-familyId"], rep[0x10:0x20].hex())
        self.assertEqual(c["x-ms-sevsnpvm-imageId"], rep[0x20:0x30].hex())
        self.assertEqual(c["x-ms-sevsnpvm-reportid"], rep[0x140:0x160].hex())
        self.assertEqual(c["x-ms-sevsnpvm-guestsvn"], 5)
        self.assertEqual(c["x-ms-sevsnpvm-vmpl"], 0)
        self.assertIs(c["x-ms-sevsnpvm-is-debuggable"], False)
        self.assertIs(c["x-ms-sevsnpvm-migration-allowed"], False)
        self.assertIs(c["x-ms-sevsnpvm-smt-allowed"], True)
        # REPORTED_TCB 0x7308000000000003 in the Milan layout (docs/reference/amd-sev-snp.md §6.4)
        self.assertEqual((c["x-ms-sevsnpvm-bootloader-svn"], c["x-ms-sevsnpvm-tee-svn"],
                          c["x-ms-sevsnpvm-snpfw-svn"], c["x-ms-sevsnpvm-microcode-svn"]),
                         (3, 0, 8, 115))
        self.assertEqual(c["x-ms-sevsnpvm-product"], "Milan")
        self.assertEqual(c["x-ms-sevsnpvm-signing-key"], "vcek")
        self.assertNotIn("x-ms-sevsnpvm-fmc-svn", c)
        self.assertIn("x-ms-sevsnpvm-launchtcb-microcode-svn", c)
        self.assertIn("x-ms-sevsnpvm-committedtcb-snpfw-svn", c)
        self.assertEqual(len(c["x-ms-policy-hash"]), 43)

    def test_runtime_and_init_time_bindings(self):
        rt = read("snp05_azure_runtime_data.json")
        msg = self.refused(body("snp05", runtimeData={"data": h.b64url_encode(rt + b" "),
                                                      "dataType": "JSON"}),
                           "ATT_ERR_RUNTIME_DATA_BINDING")
        self.assertIn("REPORT_DATA", msg)
        msg = self.refused(body("snp05", initTimeData={"data": h.b64url_encode(b"x"),
                                                       "dataType": "Binary"}),
                           "ATT_ERR_INIT_DATA_BINDING")
        self.assertIn("HOST_DATA", msg)

    def test_debuggable_guest_refused_by_default_policy(self):
        msg = self.refused(body("snp01"), "ATT_ERR_POLICY_DENIED", code="PolicyEvaluationError")
        self.assertIn("deny", msg)
        # a permissive draft policy shows it verifies (and says it is debuggable)
        draft = "version=1.0; authorizationrules{ => permit(); }; issuancerules{};"
        status, _, doc = self.t.attest(body("snp01", draftPolicyForAttestation=draft))
        self.assertEqual(status, 200, doc)
        c = h.decode_jwt(doc["token"])[1]  # a draft policy's token is unsigned (MAA)
        self.assertIs(c["x-ms-sevsnpvm-is-debuggable"], True)
        self.assertNotIn("x-ms-compliance-status", c)

    def test_vlek_report(self):
        c = self.ok(body("snp04"))
        self.assertEqual(c["x-ms-sevsnpvm-signing-key"], "vlek")
        self.assertEqual(c["x-ms-sevsnpvm-csp-id"], "CN=cc-us-east-2.amazonaws.com")
        self.assertEqual(c["x-ms-sevsnpvm-vmpl"], 1)
        self.assertNotIn("x-ms-compliance-status", c)  # VMPL 1

    def test_v2_report_and_certificate_table(self):
        c = self.ok(body("snp02"))
        self.assertEqual(c["x-ms-sevsnpvm-product"], "Milan")
        # the same certificates as an extended report's table (VCEK, then ASK)
        vcek = read("snp02_virtee_milan_vcek.der")
        ask = h.pem_to_der(read("amd_ask_ark_milan.pem").decode().split("-----END CERTIFICATE-----")[0]
                           + "-----END CERTIFICATE-----\n")
        guids = [bytes.fromhex("63da758de6644564adc5f4b93be8accd"),
                 bytes.fromhex("4ab7b379bbac4fe4a02f05aef327c782")]
        head = 24 * 3
        table = b""
        blobs = b""
        for g, der in zip(guids, (vcek, ask)):
            table += g + (head + len(blobs)).to_bytes(4, "little") + len(der).to_bytes(4, "little")
            blobs += der
        table += bytes(24) + blobs
        c2 = self.ok({"report": document(report("snp02"), table)})
        self.assertEqual(c2["x-ms-sevsnpvm-chipid"], c["x-ms-sevsnpvm-chipid"])

    def test_wrong_chain(self):
        # a Milan VCEK with Genoa's ASK: refused at the chain, naming it
        b = {"report": document(report("snp02"), chain("snp02", rest="amd_ask_ark_genoa.pem"))}
        msg = self.refused(b, "ATT_ERR_SNP_LEAF_CHAIN")
        self.assertIn("ASK of Genoa", msg)
        # another chip's VCEK: the report signature does not verify
        b = {"report": document(report("snp05"), chain("snp02"))}
        self.refused(b, "ATT_ERR_SNP_REPORT_SIGNATURE")
        # a VCEK where the report says VLEK
        b = {"report": document(report("snp04"), chain("snp02"))}
        self.refused(b, "ATT_ERR_SNP_KEY_KIND")

    def test_no_certificates_and_no_kds(self):
        msg = self.refused({"report": document(report("snp02"))}, "ATT_ERR_COLLATERAL_MISSING")
        self.assertIn("no KDS", msg)
        msg = self.refused({"report": document(report("snp04"))}, "ATT_ERR_COLLATERAL_MISSING")
        self.assertIn("VLEK", msg)

    def test_malformed_documents(self):
        cases = [
            (h.b64url_encode(b"not json"), "ATT_ERR_SNP_EVIDENCE_FORMAT"),
            (h.b64url_encode(b"[]"), "ATT_ERR_SNP_EVIDENCE_FORMAT"),
            (h.b64url_encode(b'{"VcekCertChain": ""}'), "ATT_ERR_SNP_EVIDENCE_FORMAT"),
            (h.b64url_encode(b'{"SnpReport": 5}'), "ATT_ERR_SNP_EVIDENCE_FORMAT"),
            (h.b64url_encode(b'{"SnpReport": "!!"}'), "ATT_ERR_SNP_EVIDENCE_FORMAT"),
            (h.b64url_encode(b'{"SnpReport": "AA", "SnpReport": "AA"}'),
             "ATT_ERR_SNP_EVIDENCE_FORMAT"),
            (document(report("snp02")[:-1], chain("snp02")), "ATT_ERR_TRUNCATED"),
            (document(report("snp02") + b"\0", chain("snp02")), "ATT_ERR_TRAILING"),
            (document(report("snp02"), b"-----BEGIN CERTIFICATE-----\nAAAA\n"),
             "ATT_ERR_CERT_PARSE"),
            (document(report("snp02"), b"\x01" * 30), "ATT_ERR_SNP_CERT_TABLE"),
            (document(b"\x09" + report("snp02")[1:], chain("snp02")), "ATT_ERR_SNP_REPORT_VERSION"),
        ]
        for i, (rep, inner) in enumerate(cases):
            with self.subTest(case=i):
                msg = self.refused({"report": rep}, inner)
                self.assertRegex(msg, r"^(report|collateral): ")

    def test_bare_report_and_padding(self):
        # a bare 1184-byte report (no document) is read too; padded base64url is tolerated
        self.refused({"report": h.b64url_encode(report("snp02"))}, "ATT_ERR_COLLATERAL_MISSING")
        rep = h.b64url_encode(report("snp02")) + "=="
        doc = h.b64url_encode(json.dumps({"SnpReport": rep,
                                          "VcekCertChain": h.b64url_encode(chain("snp02"))}).encode())
        self.ok({"report": doc})

    def test_api_versions(self):
        status, _, doc = self.t.attest(body("snp02"), api="?api-version=2020-10-01")
        self.assertEqual(status, 400, doc)
        self.assertEqual(doc["error"]["message"], "SevSnpVm needs api-version 2022-08-01 or later")
        for v in ("2022-08-01", "2022-09-01-preview", "2025-06-01"):
            status, _, doc = self.t.attest(body("snp02"), api="?api-version=" + v)
            self.assertEqual(status, 200, (v, doc))


class AttestSnpGenoaTest(SnpCase):
    """snp03 (Genoa, v3) inside its VCEK's validity."""
    when = "2026-06-01T00:00:00Z"

    def test_genoa(self):
        c = self.ok(body("snp03"))
        self.assertEqual(c["x-ms-sevsnpvm-product"], "Genoa")
        self.assertEqual(c["x-ms-sevsnpvm-report-version"], 3)
        self.assertEqual(c["x-ms-compliance-status"], "azure-compliant-cvm")

    def test_vlek_expired(self):
        msg = self.refused(body("snp04"), "ATT_ERR_CERT_EXPIRED")
        self.assertIn("VLEK", msg)


class AttestSnpCrlRequiredTest(SnpCase):
    """The default, amd_crl_check enabled: no CRL held, so the real samples are refused."""
    config = ""

    def test_refused_without_crl(self):
        msg = self.refused(body("snp05"), "ATT_ERR_COLLATERAL_MISSING")
        self.assertIn("AMD CRL of Milan (VCEK chain)", msg)


class AttestSnpKdsTest(unittest.TestCase):
    """A document without certificates and AMD KDS (the stand-in kds_server.py): fetched once,
    cached, stored, served from the store with KDS unreachable; 404 and 429 answered precisely
    and not asked again at once."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="attestd-kds-")
        os.makedirs(os.path.join(cls.tmp, "kds"))
        cls.kds = KdsServer(os.path.join(cls.tmp, "kds"),
                            dirs=[os.path.join(SNP, "kds")]).start()

    @classmethod
    def tearDownClass(cls):
        cls.kds.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.kds.reset()
        self.t = SnpDaemon("2025-06-01T00:00:00Z", self.config(self.kds.base_url))
        self.addCleanup(self.t.d.cleanup)

    def config(self, url):
        return f"amd_crl_check = disabled\nkds_url = {url}\nkds_ca_file = {self.kds.ca_file}\n"

    def attest(self, rep):
        return self.t.attest({"report": document(rep)})

    def test_fetch_cache_store_and_outage(self):
        status, _, doc = self.attest(report("snp02"))
        self.assertEqual(status, 200, doc)
        c = h.verify_jws(doc["token"], self.t.jwks)[1]
        self.assertEqual(c["x-ms-sevsnpvm-product"], "Milan")
        paths = self.kds.stats()["by_path"]
        self.assertEqual(paths.get("/vcek/v1/Milan/cert_chain"), 1, paths)
        self.assertEqual(len([p for p in paths if p.startswith("/vcek/v1/Milan/d49554ec")]), 1,
                         paths)
        # the CRL is asked for too (the stand-in's is not AMD's: refused, tried again later)
        self.assertEqual(paths.get("/vcek/v1/Milan/crl"), 1, paths)
        for _ in range(3):  # warm: nothing more is downloaded
            self.assertEqual(self.attest(report("snp02"))[0], 200)
        self.assertEqual(self.kds.stats()["total"], 3)
        # a restart with KDS unreachable: the store holds the chain and the VCEK
        self.t.d.stop()
        self.t.d.write_config(self.config("https://127.0.0.1:9"))
        self.t.d.start()
        status, _, doc = self.attest(report("snp02"))
        self.assertEqual(status, 200, doc)

    def test_unknown_chip(self):
        status, _, doc = self.attest(report("snp05"))  # a chip the stand-in does not know: 404
        self.assertEqual(status, 400, doc)
        self.assertEqual(doc["error"]["innererror"]["code"], "ATT_ERR_COLLATERAL_MISSING")
        self.assertIn("could not be fetched from KDS", doc["error"]["message"])
        before = self.kds.stats()["total"]
        status, _, doc = self.attest(report("snp05"))  # not asked again at once
        self.assertEqual(status, 400, doc)
        self.assertIn("asked again in", doc["error"]["message"])
        self.assertEqual(self.kds.stats()["total"], before)

    def test_rate_limited(self):
        # KDS's 429: a 503 for the caller, and KDS is not asked again before Retry-After, for
        # any item (KDS throttles callers, not items): another chip's request does not go out
        self.kds.fail(429, count=1, retry_after=120, path="/vcek/v1/Milan/d4")
        status, _, doc = self.attest(report("snp02"))
        self.assertEqual(status, 503, doc)
        self.assertEqual(doc["error"]["code"], "ServiceUnavailable")
        before = self.kds.stats()["total"]
        for name in ("snp02", "snp05"):
            status, _, doc = self.attest(report(name))
            self.assertEqual(status, 503, doc)
        self.assertEqual(self.kds.stats()["total"], before)
        self.t.d.wait_log("AMD KDS fetch failed", error="ATT_ERR_FETCH")

    def test_unverified_reports_store_nothing(self):
        # Attack u06: reports that do not verify (here: REPORTED_TCB's reserved bytes changed)
        # cost at most one KDS download per chip and TCB asked for, and no store row
        rep = bytearray(report("snp02"))
        for i in range(5):
            rep[0x182] = i + 1  # a reserved byte of REPORTED_TCB (Milan layout)
            status, _, doc = self.attest(bytes(rep))
            self.assertEqual(status, 400, doc)
            self.assertEqual(doc["error"]["innererror"]["code"], "ATT_ERR_SNP_REPORT_SIGNATURE")
        paths = self.kds.stats()["by_path"]
        self.assertEqual(len([p for p in paths if p.startswith("/vcek/v1/Milan/d49554ec")]), 1,
                         paths)
        self.assertEqual(sum(n for p, n in paths.items() if p.startswith("/vcek/v1/Milan/d4")),
                         1, paths)
        stored = {c["kind"] for c in json.loads(self.t.d.attestctl("collateral", "list").stdout)}
        self.assertNotIn("amd_vcek", stored)
        # the genuine report verifies with the VCEK fetched above, and only then is it stored
        self.assertEqual(self.attest(report("snp02"))[0], 200)
        stored = {c["kind"] for c in json.loads(self.t.d.attestctl("collateral", "list").stdout)}
        self.assertIn("amd_vcek", stored)

    def test_masked_chip_id(self):
        # Attack u11: a bare report with MASK_CHIP_KEY has no CHIP_ID to ask KDS for
        rep = bytearray(report("snp02"))
        rep[0x48] |= 2
        status, _, doc = self.attest(bytes(rep))
        self.assertEqual(status, 400, doc)
        self.assertEqual(doc["error"]["innererror"]["code"], "ATT_ERR_COLLATERAL_MISSING")
        self.assertIn("MASK_CHIP_KEY", doc["error"]["message"])
        self.assertFalse([p for p in self.kds.stats()["by_path"] if "SPL" in p])

    def test_stalled_kds_does_not_block_stored_items(self):
        # Attack u09: a chip whose VCEK, chain and CRL are stored is served while another chip's
        # KDS download hangs
        self.assertEqual(self.attest(report("snp02"))[0], 200)  # fetched, verified, stored
        self.t.d.stop()
        self.t.d.start()  # an empty cache: everything comes from the store
        self.kds.fail(404, count=1, delay=6, path="/vcek/v1/Milan/19")  # snp05's chip
        slow = threading.Thread(target=self.attest, args=(report("snp05"),))
        slow.start()
        time.sleep(0.5)
        start = time.monotonic()
        status, _, doc = self.attest(report("snp02"))
        self.assertEqual(status, 200, doc)
        self.assertLess(time.monotonic() - start, 3.0)
        slow.join()


class AttestSnpWrongKdsTest(unittest.TestCase):
    """Attack u07: a KDS (or a mirror) that answers another chip's VCEK: refused with 503, not
    cached or stored, so the chip verifies once KDS answers right."""

    def kds(self, tmp, vcek):
        os.makedirs(tmp)
        config = os.path.join(tmp, "kds.json")
        url = ("/vcek/v1/Milan/" + report("snp02")[0x1A0:0x1E0].hex() +
               "?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115")
        with open(config, "w") as f:
            json.dump({url: os.path.join(SNP, vcek),
                       "/vcek/v1/Milan/cert_chain": os.path.join(SNP, "kds", "cert_chain_milan.pem")}, f)
        os.makedirs(os.path.join(tmp, "run"))
        return KdsServer(os.path.join(tmp, "run"), configs=[config]).start()

    def test_wrong_vcek_refused_not_stored(self):
        tmp = tempfile.mkdtemp(prefix="attestd-kds-wrong-")
        self.addCleanup(shutil.rmtree, tmp, True)
        kds = self.kds(os.path.join(tmp, "wrong"), "snp05_azure_snp_vtpm_vcek.der")
        config = ("amd_crl_check = disabled\n"
                  f"kds_url = {kds.base_url}\nkds_ca_file = {kds.ca_file}\n")
        t = SnpDaemon("2025-06-01T00:00:00Z", config)
        self.addCleanup(t.d.cleanup)
        status, _, doc = t.attest({"report": document(report("snp02"))})
        kds.stop()
        self.assertEqual(status, 503, doc)
        t.d.wait_log("AMD KDS fetch failed", error="ATT_ERR_FETCH")
        self.assertNotIn("amd_vcek", {c["kind"] for c in
                                      json.loads(t.d.attestctl("collateral", "list").stdout)})
        kds = self.kds(os.path.join(tmp, "right"), "snp02_virtee_milan_vcek.der")
        self.addCleanup(kds.stop)
        t.d.stop()
        t.d.write_config("amd_crl_check = disabled\n"
                         f"kds_url = {kds.base_url}\nkds_ca_file = {kds.ca_file}\n")
        t.d.start()
        status, _, doc = t.attest({"report": document(report("snp02"))})
        self.assertEqual(status, 200, doc)


if __name__ == "__main__":
    unittest.main()
