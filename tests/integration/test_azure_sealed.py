"""Microsoft's guest attestation flow end to end (docs/reference/azure-cvm.md, "Sealed answer"),
with a real software TPM (swtpm) as the vTPM: the runtime data names the TPM's AK as HCLAkPub, an
SEV-SNP report from the test AMD chain (tests/tools/amd_testpki, trusted with
amd_trust_anchors) binds that runtime data, the quote carries no nonce (as Microsoft's clients
send it), and the TPM certifies an ephemeral decryption key in its NULL hierarchy (EncKeyPub,
TPM2_Certify by the AK). The answer is sealed to that key: the TPM decrypts the inner key
(TPM2_RSA_Decrypt, RSAES-PKCS1-v1_5), then AES-256-GCM gives the token.

Refused, with ATT_ERR_HCL_ENC_KEY: a certification signed by another key, one of another key
than EncKeyPub, a key the TPM may export. Without a key to seal to, a quote needs a nonce.
"""
import base64
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import harness as h
import swtpm

API = "?api-version=2020-10-01"
VMID = "0E2C8E6A-1C1B-4F2B-9C1A-5A7A0D3E5B11"


def b64(b):
    return base64.b64encode(b).decode()


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def rsa_jwk(pem):
    numbers = serialization.load_pem_public_key(pem).public_numbers()
    as_bytes = lambda v: v.to_bytes((v.bit_length() + 7) // 8, "big")
    return {"kty": "RSA", "n": b64url(as_bytes(numbers.n)), "e": b64url(as_bytes(numbers.e))}


def raw_signature(tpmt_signature):
    """The RSA octets of a TPMT_SIGNATURE (sigAlg, hash, u16 size, bytes): what Microsoft's
    clients send."""
    size = int.from_bytes(tpmt_signature[4:6], "big")
    return tpmt_signature[6:6 + size]


@unittest.skipUnless(swtpm.available(), "swtpm and tpm2-tools are not installed")
class SealedAnswerTest(unittest.TestCase):
    time_limit = 300

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="attestd-sealed-")
        cls.tpm = swtpm.Swtpm(cls.tmp)
        _, ak_pem = cls.tpm.create_ak()
        cls.runtime = json.dumps({
            "keys": [dict(rsa_jwk(ak_pem), kid="HCLAkPub", key_ops=["sign"])],
            "vm-configuration": {"secure-boot": True, "tpm-enabled": True,
                                 "console-enabled": False, "vmUniqueId": VMID}}).encode()
        pki = os.path.join(cls.tmp, "pki")
        subprocess.run([os.path.join(h.BUILD, "tests", "tools", "amd_testpki"), "--out", pki,
                        "--time", str(int(time.time())), "--report-data",
                        hashlib.sha256(cls.runtime).hexdigest() + "00" * 32],
                       check=True, env=h.san_env(), stdout=subprocess.PIPE, timeout=120)
        def read(name):
            with open(os.path.join(pki, name), "rb") as f:
                return f.read()
        cls.proof = {"SnpReport": b64url(read("report.bin")), "VcekCertChain": b64(read("chain.pem"))}
        bundle = os.path.join(cls.tmp, "bundle.json")
        with open(bundle, "w") as f:
            json.dump({"amd": [{"product": "Milan", "chain": "vcek",
                                "cert_chain": read("kds_chain.pem").decode(),
                                "crl": read("crl.der").hex()}]}, f)
        cls.d = h.Daemon(config="amd_trust_anchors = %s\n" % os.path.join(pki, "ark.pem"))
        cls.d.attestctl("collateral", "import", bundle)
        cls.enc_pub = cls.tpm.create_decryption_key("enc")
        cls.certify, cls.certify_sig = cls.tpm.certify("enc")

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        cls.tpm.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def info(self, enc=True, payload=None, **tpm_info):
        """attestationInfo as Microsoft's clients build it; `tpm_info` replaces TpmInfo members."""
        msg, sig = self.tpm.quote(None)
        tpm = {"PcrQuote": b64(msg), "PcrSignature": b64(raw_signature(sig)),
               "PcrSet": list(range(24)),
               "PCRs": [{"Index": int(i), "Digest": b64(bytes.fromhex(v))}
                        for i, v in self.tpm.pcrs().items()]}
        if enc:
            tpm.update({"EncKeyPub": b64(self.enc_pub), "EncKeyCertifyInfo": b64(self.certify),
                        "EncKeyCertifyInfoSignature": b64(self.certify_sig)})
        tpm.update(tpm_info)
        doc = {"AttestationProtocolVersion": "2.0", "OSType": b64(b"Linux"),
               "OSDistro": b64(b"Ubuntu"),
               "ClientPayload": payload or {"nonce": b64(b"client nonce")},
               "IsolationInfo": {"Type": "SevSnp", "Evidence": {
                   "Proof": b64url(json.dumps(self.proof).encode()),
                   "RunTimeData": b64(self.runtime)}},
               "TpmInfo": tpm}
        return {"AttestationInfo": b64url(json.dumps(doc).encode())}

    def post(self, body):
        return h.post_json(self.d, "/attest/AzureGuest" + API, body)

    def refused(self, body, inner):
        return h.refusal(self, *self.post(body), inner)

    def unseal(self, token):
        """What Microsoft's client does with the answer: the vTPM unwraps the inner key."""
        env = json.loads(unb64url(token))
        params = env["EncryptionParams"]
        self.assertEqual((params["Cipher"], params["BlockMode"], params["KeySizeInBits"]),
                         ("AES", "ChainingModeGCM", 256))
        key = self.tpm.rsa_decrypt("enc", base64.b64decode(env["EncryptedInnerKey"]))
        self.assertEqual(len(key), 32)
        ct = base64.b64decode(env["Jwt"]) + base64.b64decode(env["AuthenticationData"])
        return AESGCM(key).decrypt(base64.b64decode(params["Iv"]), ct, b"Transport Key").decode()

    def test_sealed_answer(self):
        status, doc = self.post(self.info())
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["token"].count("."), 0)  # not a JWS: only the vTPM can read it
        jws = self.unseal(doc["token"])
        c = h.verify_jws(jws, self.d.get_json("/certs")[2])[1]
        self.assertEqual(c["x-ms-attestation-type"], "azurevm")
        self.assertEqual(c["x-ms-azurevm-vmid"], VMID)
        self.assertEqual(c["x-ms-isolation-tee"]["x-ms-attestation-type"], "sevsnpvm")
        keys = c["x-ms-runtime"]["keys"]
        self.assertEqual([(k["kid"], k["key_ops"]) for k in keys],
                         [("TpmEphemeralEncryptionKey", ["encrypt"])])
        self.assertEqual(c["x-ms-runtime"]["client-payload"], {"nonce": b64(b"client nonce")})
        # the key is EncKeyPub's: its modulus ends the TPM2B_PUBLIC (unique.rsa)
        self.assertEqual(unb64url(keys[0]["n"]),
                         self.enc_pub[-256:])
        # a second request gets another inner key: nothing is reused between answers
        status, again = self.post(self.info())
        self.assertEqual(status, 200, again)
        self.assertNotEqual(json.loads(unb64url(again["token"]))["EncryptedInnerKey"],
                            json.loads(unb64url(doc["token"]))["EncryptedInnerKey"])

    def test_large_answer(self):
        """A token near the JWS cap grows past it when sealed: still an answer, not an error."""
        payload = {"blob": b64(os.urandom(120 * 1024))}
        status, doc = self.post(self.info(payload=payload))
        self.assertEqual(status, 200, str(doc)[:300])
        self.assertGreater(len(doc["token"]), 256 * 1024)
        c = h.decode_jwt(self.unseal(doc["token"]))[1]
        self.assertEqual(c["x-ms-runtime"]["client-payload"], payload)

    def test_certification_checked(self):
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        forged = other.sign(self.certify, padding.PKCS1v15(), hashes.SHA256())
        msg = self.refused(self.info(EncKeyCertifyInfoSignature=b64(forged)),
                           "ATT_ERR_HCL_ENC_KEY")
        self.assertIn("HCLAkPub", msg)
        # the AK certified another key than the one the answer would be sealed to (a primary's
        # key derives from its template: another attribute makes another key)
        other_pub = self.tpm.create_decryption_key(
            "enc2", "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|decrypt|noda")
        msg = self.refused(self.info(EncKeyPub=b64(other_pub)), "ATT_ERR_HCL_ENC_KEY")
        self.assertIn("another object", msg)
        # a key its TPM may export (fixedTPM clear), even if certified
        loose = self.tpm.create_decryption_key("loose", "sensitivedataorigin|userwithauth|decrypt")
        att, sig = self.tpm.certify("loose")
        msg = self.refused(self.info(EncKeyPub=b64(loose), EncKeyCertifyInfo=b64(att),
                                     EncKeyCertifyInfoSignature=b64(sig)), "ATT_ERR_HCL_ENC_KEY")
        self.assertIn("fixedTPM", msg)
        # a quote certified as a key
        quote, _ = self.tpm.quote(None)
        self.refused(self.info(EncKeyCertifyInfo=b64(quote)), "ATT_ERR_HCL_ENC_KEY")
        # the key alone
        body = self.info(EncKeyCertifyInfo=None)
        doc = json.loads(unb64url(body["AttestationInfo"]))
        del doc["TpmInfo"]["EncKeyCertifyInfo"]
        self.refused({"AttestationInfo": b64url(json.dumps(doc).encode())}, "ATT_ERR_HCL_FORMAT")
        # no key to seal to and no nonce: nothing makes the quote fresh
        self.refused(self.info(enc=False), "ATT_ERR_TPM_NONCE")


if __name__ == "__main__":
    unittest.main()
