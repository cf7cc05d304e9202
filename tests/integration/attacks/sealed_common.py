"""Shared setup for the sealed-answer attacks (t33-t40, from the outside review of AzureGuest's
sealed answers): an attacker-held software AK named HCLAkPub by HCL
runtime data that a test SEV-SNP report (tests/tools/amd_testpki) binds; quotes with empty
extraData; TPM2_Certify bodies built byte by byte."""
import base64, hashlib, json, os, struct, sys, tempfile, time, shutil
import common as c  # noqa (puts tests/integration on the path)
import harness as h  # noqa
from common import (SoftAK, SnpPki, SoftMachine, quote_bytes, pcr_digest, tpm2b, b64, b64u, ub64,
                    ok, finding, check, finish, post, inner, message, describe, ALG_SHA256, ALG_SHA1,
                    ALG_RSA, ALG_ECC, ALG_NULL)  # noqa
from cryptography.hazmat.primitives import hashes, serialization  # noqa
from cryptography.hazmat.primitives.asymmetric import padding, rsa, ec  # noqa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa

PATH = "/attest/AzureGuest?api-version=2020-10-01"
VMID = "0E2C8E6A-1C1B-4F2B-9C1A-5A7A0D3E5B11"
FIXED_TPM, FIXED_PARENT, SDO, USER_AUTH, NODA, RESTRICTED, DECRYPT, SIGN = (
    1 << 1, 1 << 4, 1 << 5, 1 << 6, 1 << 10, 1 << 16, 1 << 17, 1 << 18)
ENC_ATTRS = FIXED_TPM | FIXED_PARENT | SDO | USER_AUTH | DECRYPT


def rsa_area(n_int, bits, exponent=0, attrs=ENC_ATTRS, name_alg=ALG_SHA256, nbytes=None):
    nbytes = nbytes or (bits + 7) // 8
    parms = struct.pack(">HH", ALG_NULL, ALG_NULL) + struct.pack(">HI", bits, exponent)
    return (struct.pack(">HHI", ALG_RSA, name_alg, attrs) + tpm2b(b"") + parms +
            tpm2b(n_int.to_bytes(nbytes, "big")))


class EncKey:
    def __init__(self, bits=2048, e=65537, attrs=ENC_ATTRS, name_alg=ALG_SHA256, tpm_exp=0):
        self.key = rsa.generate_private_key(public_exponent=e, key_size=bits)
        self.n = self.key.public_key().public_numbers().n
        self.area = rsa_area(self.n, bits, tpm_exp, attrs, name_alg)
        self.public = tpm2b(self.area)

    def name(self, alg=ALG_SHA256, area=None):
        d = {ALG_SHA256: hashlib.sha256, ALG_SHA1: hashlib.sha1, 0xC: hashlib.sha384}[alg]
        return struct.pack(">H", alg) + d(area or self.area).digest()


def name_of(area):
    alg = struct.unpack(">H", area[2:4])[0]
    d = {ALG_SHA256: hashlib.sha256, ALG_SHA1: hashlib.sha1, 0xC: hashlib.sha384}[alg]
    return struct.pack(">H", alg) + d(area).digest()


def certify_bytes(name, signer=b"\x00\x0b" + b"\x11" * 32, extra=b"", magic=0xFF544347, typ=0x8017,
                  qname=None):
    return (struct.pack(">IH", magic, typ) + tpm2b(signer) + tpm2b(extra) +
            struct.pack(">QIIB", 99999, 1, 0, 1) + struct.pack(">Q", 0x2000000000000) +
            tpm2b(name) + tpm2b(qname if qname is not None else name))


class Env:
    def __init__(self, config="", extra_keys=()):
        self.tmp = tempfile.mkdtemp(prefix="sealed-")
        self.ak = SoftAK()
        jwk = dict(self.ak.jwk(), kid="HCLAkPub", key_ops=["sign"])
        self.runtime = json.dumps({"keys": [jwk] + list(extra_keys), "vm-configuration": {
            "secure-boot": True, "tpm-enabled": True, "console-enabled": False,
            "vmUniqueId": VMID}}).encode()
        self.pki = SnpPki(self.tmp, self.runtime)
        self.d = h.Daemon(config="amd_trust_anchors = %s\n" % self.pki.ark + config)
        self.d.attestctl("collateral", "import", self.pki.bundle)
        self.machine = SoftMachine()
        self.enc = EncKey()
        self.cert = certify_bytes(self.enc.name())
        self.cert_sig = self.sign(self.cert)

    def sign(self, msg, key=None):
        return (key or self.ak.key).sign(msg, padding.PKCS1v15(), hashes.SHA256())

    def doc(self, extra=b"", enc=True, drop=(), **tpm_over):
        m = self.machine
        sel = ((ALG_SHA256, 0xFFFFFF),)
        q = quote_bytes(extra, pcr_digest(m.pcr, sel), sel)
        tpm = {"PcrQuote": b64(q), "PcrSignature": b64(self.sign(q)), "PcrSet": list(range(24)),
               "PCRs": [{"Index": i, "Digest": b64(v)} for i, v in m.pcr[ALG_SHA256].items()]}
        if enc:
            tpm.update({"EncKeyPub": b64(self.enc.public), "EncKeyCertifyInfo": b64(self.cert),
                        "EncKeyCertifyInfoSignature": b64(self.cert_sig)})
        for k, v in tpm_over.items():
            tpm[k] = b64(v) if isinstance(v, (bytes, bytearray)) else v
        for k in drop:
            tpm.pop(k, None)
        return {"AttestationProtocolVersion": "2.0", "OSType": b64(b"Linux"),
                "OSDistro": b64(b"Ubuntu"), "ClientPayload": {"nonce": b64(b"client nonce")},
                "IsolationInfo": {"Type": "SevSnp", "Evidence": {
                    "Proof": b64u(json.dumps(self.pki.proof()).encode()),
                    "RunTimeData": b64(self.runtime)}},
                "TpmInfo": tpm}

    def body(self, doc=None, **kw):
        return {"AttestationInfo": b64u(json.dumps(doc if doc is not None else self.doc(**kw)).encode())}

    def post(self, body, timeout=120):
        return post(self.d, PATH, body, timeout=timeout)

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def unseal(token, priv):
    env = json.loads(ub64(token))
    p = env["EncryptionParams"]
    key = priv.decrypt(base64.b64decode(env["EncryptedInnerKey"]), padding.PKCS1v15())
    ct = base64.b64decode(env["Jwt"]) + base64.b64decode(env["AuthenticationData"])
    return env, key, AESGCM(key).decrypt(base64.b64decode(p["Iv"]), ct, b"Transport Key").decode()


def expect_refusal(e, what, body, code, status=400):
    """A refusal: `status`, MAA's error shape, innererror `code` (None: any)."""
    st, doc, dt = e.post(body)
    shape = (isinstance(doc, dict) and set(doc) == {"error"} and isinstance(doc["error"].get("code"), str)
             and isinstance(doc["error"].get("message"), str) and inner(doc) is not None)
    good = st == status and shape and (code is None or inner(doc) == code)
    check(good, f"{what}: {describe(st, doc, dt)}",
          f"{what}: expected {status} {code}, got {describe(st, doc, dt)}"
          + ("" if st != 200 else " token=" + str(doc)[:80]))
    return st, doc
