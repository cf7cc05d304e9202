"""POST /attest/AzureGuest with the real Azure confidential VM evidence of tests/fixtures/azure
(README.md there): an SEV-SNP CVM and a TDX CVM, each an HCL report whose runtime data the
hardware report binds and whose HCLAkPub signed the vTPM quote (qualifying data "challenge").

Accepted in trustee's shape and in the shape of Microsoft's guest attestation clients
(attestationInfo with IsolationInfo and TpmInfo), with MAA's azurevm claims. Refused, each with
its code: a nonce that is not the quote's, no nonce, a vTPM quote altered, runtime data that is
not the hardware report's, a quote signed by another key than HCLAkPub, malformed documents.
"""
import base64
import json
import os
import unittest

import harness as h
from test_attest_tdx import TdxDaemon

AZURE = os.path.join(h.ROOT, "tests", "fixtures", "azure")
API = "?api-version=2020-10-01"
NONCE = b"challenge".hex()  # the samples' qualifying data
SNP_VMID = "911B0EF8-9DBA-48B0-B275-4E4DF2D39252"


def read(name):
    with open(os.path.join(AZURE, name), "rb") as f:
        return f.read()


def b64(b):
    return base64.b64encode(b).decode()


def info(doc, std=False):
    raw = json.dumps(doc).encode()
    return b64(raw) if std else h.b64url_encode(raw)


def snp_trustee():
    return {"hcl_report": h.b64url_encode(read("snp05_azure_snp_vtpm_hcl_report.bin")),
            "tpm_quote": json.loads(read("snp05_azure_snp_vtpm_tpm_quote.json")),
            "vcek": h.b64url_encode(read("snp05_azure_snp_vtpm_vcek_ask_ark.pem"))}


def snp_maa():
    """The same evidence as Microsoft's clients send it (docs/reference/azure-cvm.md)."""
    hcl = read("snp05_azure_snp_vtpm_hcl_report.bin")
    size = int.from_bytes(hcl[0x4D0:0x4D4], "little")
    tq = json.loads(read("snp05_azure_snp_vtpm_tpm_quote.json"))
    proof = {"SnpReport": h.b64url_encode(hcl[0x20:0x20 + 1184]),
             "VcekCertChain": b64(read("snp05_azure_snp_vtpm_vcek_ask_ark.pem"))}
    return {"AttestationProtocolVersion": "2.0", "OSType": b64(b"Linux"),
            "OSDistro": b64(b"Ubuntu"), "OSBuild": b64(b"NotApplication"),
            "OSVersionMajor": 24, "OSVersionMinor": 4,
            "ClientPayload": {"nonce": b64(b"client")},
            "IsolationInfo": {"Type": "SevSnp", "Evidence": {
                "Proof": b64(json.dumps(proof).encode()),
                "RunTimeData": b64(hcl[0x4D4:0x4D4 + size])}},
            "TpmInfo": {"PcrQuote": b64(bytes.fromhex(tq["message"])),
                        "PcrSignature": b64(bytes.fromhex(tq["signature"])),
                        "PcrSet": list(range(24)),
                        "PCRs": [{"Index": i, "Digest": b64(bytes.fromhex(v))}
                                 for i, v in enumerate(tq["pcrs"])]}}


class AzureSnpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # the VCEK chain comes with the evidence; no AMD CRL is held offline
        cls.d = h.Daemon(config="amd_crl_check = disabled\n")

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def post(self, body):
        return h.post_json(self.d, "/attest/AzureGuest" + API, body)

    def refused(self, body, inner):
        return h.refusal(self, *self.post(body), inner)

    def test_trustee_shape(self):
        status, doc = self.post({"attestationInfo": info(snp_trustee()), "nonce": NONCE})
        self.assertEqual(status, 200, doc)
        c = h.verify_jws(doc["token"], self.d.get_json("/certs")[2])[1]
        self.assertEqual(c["x-ms-attestation-type"], "azurevm")
        tee = c["x-ms-isolation-tee"]
        self.assertEqual(tee["x-ms-attestation-type"], "sevsnpvm")
        self.assertEqual(tee["x-ms-compliance-status"], "azure-compliant-cvm")
        self.assertEqual(tee["x-ms-sevsnpvm-guestsvn"], 5)
        self.assertEqual(tee["x-ms-runtime"]["vm-configuration"]["vmUniqueId"], SNP_VMID)
        self.assertEqual(c["x-ms-azurevm-vmid"], SNP_VMID)
        self.assertEqual(c["x-ms-azurevm-attested-pcrs"], list(range(24)))
        self.assertIs(c["secureboot"], True)
        self.assertEqual(c["nonce"], NONCE)
        # the hardware report's claims, inside x-ms-isolation-tee, are listed as well
        h.assert_claims_supported(self, self.d, c)
        h.assert_claims_supported(self, self.d, tee)

    def test_microsoft_shape(self):
        body = {"AttestationInfo": info(snp_maa(), std=True), "nonce": NONCE}
        status, doc = self.post(body)
        self.assertEqual(status, 200, doc)
        c = h.decode_jwt(doc["token"])[1]
        self.assertEqual(c["x-ms-azurevm-ostype"], "Linux")
        self.assertEqual(c["x-ms-azurevm-osdistro"], "Ubuntu")
        self.assertIs(c["x-ms-azurevm-is-windows"], False)
        self.assertEqual(c["x-ms-azurevm-osversion-major"], 24)
        self.assertEqual(c["x-ms-azurevm-attestation-protocol-ver"], "2.0")
        self.assertEqual(c["x-ms-runtime"], {"client-payload": {"nonce": b64(b"client")}})
        self.assertEqual(c["x-ms-isolation-tee"]["x-ms-attestation-type"], "sevsnpvm")
        h.assert_claims_supported(self, self.d, c)

    def test_refusals(self):
        ev = snp_trustee()
        msg = self.refused({"attestationInfo": info(ev), "nonce": "00" * 9}, "ATT_ERR_TPM_NONCE")
        self.assertIn("extraData", msg)
        self.refused({"attestationInfo": info(ev)}, "ATT_ERR_TPM_NONCE")
        # the vTPM quote altered (its PCR digest)
        bad = json.loads(json.dumps(ev))
        m = bytearray(bytes.fromhex(bad["tpm_quote"]["message"]))
        m[-1] ^= 1
        bad["tpm_quote"]["message"] = m.hex()
        self.refused({"attestationInfo": info(bad), "nonce": NONCE}, "ATT_ERR_TPM_SIGNATURE")
        # runtime data that is not the report's (Microsoft's shape carries it apart)
        maa = snp_maa()
        rt = json.loads(base64.b64decode(maa["IsolationInfo"]["Evidence"]["RunTimeData"]))
        rt["vm-configuration"]["secure-boot"] = False
        maa["IsolationInfo"]["Evidence"]["RunTimeData"] = b64(json.dumps(rt).encode())
        self.refused({"attestationInfo": info(maa), "nonce": NONCE}, "ATT_ERR_HCL_BINDING")
        # an HCLAkPub of another key: the quote does not verify with it
        maa = snp_maa()
        raw = base64.b64decode(maa["IsolationInfo"]["Evidence"]["RunTimeData"])
        rt = json.loads(raw)
        for k in rt["keys"]:
            if k["kid"] == "HCLAkPub":
                k["n"] = [x for x in rt["keys"] if x["kid"] == "HCLEkPub"][0]["n"]
        maa["IsolationInfo"]["Evidence"]["RunTimeData"] = b64(json.dumps(rt).encode())
        self.refused({"attestationInfo": info(maa), "nonce": NONCE}, "ATT_ERR_HCL_BINDING")
        # malformed documents
        self.refused({"attestationInfo": "!!"}, "ATT_ERR_HCL_FORMAT")
        self.refused({"attestationInfo": info({"IsolationInfo": {"Type": "TrustedLaunch"}})},
                     "ATT_ERR_HCL_FORMAT")
        # a signature longer than RSA-4096's, refused before anything is held (this once
        # leaked the key's JWK: the daemon's exit under LeakSanitizer is the check)
        maa = snp_maa()
        maa["TpmInfo"]["PcrSignature"] = b64(b"\1" * 65536)
        msg = self.refused({"attestationInfo": info(maa), "nonce": NONCE}, "ATT_ERR_HCL_FORMAT")
        self.assertIn("signature", msg)
        hcl = bytearray(read("snp05_azure_snp_vtpm_hcl_report.bin"))
        hcl[0] = 0
        ev["hcl_report"] = h.b64url_encode(bytes(hcl))
        msg = self.refused({"attestationInfo": info(ev), "nonce": NONCE}, "ATT_ERR_HCL_FORMAT")
        self.assertIn("HCLA", msg)


class AzureTdxTest(unittest.TestCase):
    """The TDX CVM at 2025-10-20, within its Intel collateral (its TCB: OutOfDate)."""

    @classmethod
    def setUpClass(cls):
        cls.t = TdxDaemon("2025-10-20T00:00:00Z", "collateral_00806f050000_2025-10_bundle.json")

    @classmethod
    def tearDownClass(cls):
        cls.t.d.cleanup()

    def test_trustee_shape(self):
        ev = json.loads(read("tdx10_azure_tdx_vtpm_evidence_v1.json"))
        status, _, doc = self.t.attest({"attestationInfo": info(ev), "nonce": NONCE},
                                       path="/attest/AzureGuest")
        self.assertEqual(status, 200, doc)
        c = h.verify_jws(doc["token"], self.t.jwks)[1]
        tee = c["x-ms-isolation-tee"]
        self.assertEqual(tee["x-ms-attestation-type"], "tdxvm")
        self.assertEqual(tee["attester_tcb_status"], "OutOfDate")
        # its report data: SHA-256 of the HCL runtime data, then zeros
        self.assertEqual(tee["tdx_report_data"][64:], "00" * 32)
        self.assertTrue(tee["tdx_report_data"].startswith("9734504f"))
        self.assertEqual(c["x-ms-azurevm-vmid"], "6332533D-5649-4D02-8AA7-8F64B7C3EE21")
        h.assert_claims_supported(self, self.t.d, c)
        h.assert_claims_supported(self, self.t.d, tee)


if __name__ == "__main__":
    unittest.main()
