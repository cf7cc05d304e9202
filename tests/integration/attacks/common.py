"""Shared helpers for the TPM / AzureGuest attack scripts (t*.py in this directory).

A software "TPM": an RSA (or ECC) key whose TPMT_PUBLIC carries the AK attributes, TPMS_ATTEST
quotes built byte by byte and signed with it, TCG event logs (legacy and crypto-agile). An
attacker needs no real TPM to send any of this; only the AK certificate (from a CA the daemon
trusts) decides trust, and each script says which CA it configures.

Each script is one attack from the outside review of issue 14 (its docstring says what it
tries and what must happen); tests/integration/test_tpm_attacks.py runs them as black-box tests.
Run one with /usr/bin/python3 from any directory (ATTESTD_BUILD names the build, as for the
harness); it exits 0 when every attack was refused, 1 on a finding.
"""
import base64
import hashlib
import json
import os
import resource
import shutil
import struct
import sys
import tempfile
import time

WT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(WT, "tests", "integration"))

import harness as h  # noqa: E402
from cryptography import x509  # noqa: E402
import swtpm  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils  # noqa: E402

AZURE = os.path.join(WT, "tests", "fixtures", "azure")
FINDINGS = []

# TPM constants
ALG_RSA, ALG_SHA1, ALG_SHA256, ALG_SHA384, ALG_SHA512 = 0x1, 0x4, 0xB, 0xC, 0xD
ALG_NULL, ALG_RSASSA, ALG_RSAPSS, ALG_ECDSA, ALG_ECC = 0x10, 0x14, 0x16, 0x18, 0x23
AK_ATTRS = (1 << 1) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 16) | (1 << 18)
DIGEST = {ALG_SHA1: hashlib.sha1, ALG_SHA256: hashlib.sha256, ALG_SHA384: hashlib.sha384,
          ALG_SHA512: hashlib.sha512}


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64(b):
    return base64.b64encode(b).decode()


# ---- reporting -------------------------------------------------------------------------------

def ok(what):
    print("PASS    " + what, flush=True)


def finding(what):
    FINDINGS.append(what)
    print("FINDING " + what, flush=True)


def check(cond, passed, failed):
    if cond:
        ok(passed)
    else:
        finding(failed)


def finish(*daemons):
    """Stop daemons (sanitizer check), print a summary, exit non-zero on findings (2 when the
    script itself failed)."""
    import traceback
    script_error = sys.exc_info()[1] is not None
    if script_error:
        traceback.print_exc()
    for d in daemons:
        if d is None:
            continue
        try:
            text = d.logs()
            bad = h.sanitizer_problems(text)
            if bad:
                finding(f"sanitizer report in daemon log: {bad}")
            d.cleanup()
        except AssertionError as e:
            finding(f"daemon did not stop cleanly: {str(e)[:600]}")
    print(f"-- {len(FINDINGS)} finding(s)" + (" (SCRIPT ERROR)" if script_error else ""), flush=True)
    sys.exit(2 if script_error else 1 if FINDINGS else 0)


def daemon_cpu(d):
    """utime+stime seconds of the daemon process (from /proc)."""
    with open(f"/proc/{d.proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick


def daemon_rss_kb(d):
    with open(f"/proc/{d.proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def post(d, path, body, timeout=60):
    raw = body if isinstance(body, (bytes, bytearray)) else json.dumps(body).encode()
    conn = d.connection(timeout=timeout)
    t0 = time.monotonic()
    try:
        status, _, data = d.request("POST", path, body=raw,
                                    headers={"Content-Type": "application/json"}, conn=conn)
    finally:
        conn.close()
    dt = time.monotonic() - t0
    try:
        doc = json.loads(data) if data else None
    except ValueError:
        doc = {"raw": data[:200]}
    return status, doc, dt


def inner(doc):
    try:
        return doc["error"]["innererror"]["code"]
    except (TypeError, KeyError):
        return None


def message(doc):
    try:
        return doc["error"]["message"]
    except (TypeError, KeyError):
        return None


def describe(status, doc, dt):
    return f"{status} {inner(doc) or (doc or {}).get('error', {}).get('code') if isinstance(doc, dict) else doc} " \
           f"[{dt * 1000:.0f} ms] {str(message(doc))[:160]!r}"


# ---- PKI ---------------------------------------------------------------------------------

# ---- the software TPM ----------------------------------------------------------------------

def tpm2b(b):
    return struct.pack(">H", len(b)) + b


class SoftAK:
    """An AK the attacker holds: RSA-2048 RSASSA-SHA256 (default) or ECC P-256 ECDSA-SHA256."""

    def __init__(self, kind="rsa", attrs=AK_ATTRS, bits=2048, exponent=0, scheme=None,
                 scheme_hash=ALG_SHA256):
        self.kind = kind
        if kind == "rsa":
            e = 65537 if exponent in (0, 65537) else exponent
            self.key = rsa.generate_private_key(public_exponent=e, key_size=bits)
            n = self.key.public_key().public_numbers().n.to_bytes(bits // 8, "big")
            scheme = ALG_RSASSA if scheme is None else scheme
            parms = (struct.pack(">H", ALG_NULL) +
                     (struct.pack(">HH", scheme, scheme_hash) if scheme != ALG_NULL
                      else struct.pack(">H", ALG_NULL)) +
                     struct.pack(">HI", bits, exponent))
            self.area = struct.pack(">HHI", ALG_RSA, ALG_SHA256, attrs) + tpm2b(b"") + parms + tpm2b(n)
        else:
            self.key = ec.generate_private_key(ec.SECP256R1())
            nums = self.key.public_key().public_numbers()
            scheme = ALG_ECDSA if scheme is None else scheme
            parms = (struct.pack(">H", ALG_NULL) +
                     (struct.pack(">HH", scheme, scheme_hash) if scheme != ALG_NULL
                      else struct.pack(">H", ALG_NULL)) +
                     struct.pack(">H", 0x0003) + struct.pack(">H", ALG_NULL))
            self.area = (struct.pack(">HHI", ALG_ECC, ALG_SHA256, attrs) + tpm2b(b"") + parms +
                         tpm2b(nums.x.to_bytes(32, "big")) + tpm2b(nums.y.to_bytes(32, "big")))
        self.public = tpm2b(self.area)  # TPM2B_PUBLIC
        self.name = struct.pack(">H", ALG_SHA256) + hashlib.sha256(self.area).digest()

    def jwk(self):
        if self.kind == "rsa":
            n = self.key.public_key().public_numbers()
            return {"kty": "RSA", "n": b64u(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big")),
                    "e": b64u(n.e.to_bytes((n.e.bit_length() + 7) // 8, "big"))}
        n = self.key.public_key().public_numbers()
        return {"kty": "EC", "crv": "P-256", "x": b64u(n.x.to_bytes(32, "big")),
                "y": b64u(n.y.to_bytes(32, "big"))}

    def sign(self, msg, hash_alg=ALG_SHA256):
        hmod = {ALG_SHA1: hashes.SHA1(), ALG_SHA256: hashes.SHA256(), ALG_SHA384: hashes.SHA384(),
                ALG_SHA512: hashes.SHA512()}[hash_alg]
        if self.kind == "rsa":
            sig = self.key.sign(msg, padding.PKCS1v15(), hmod)
            return struct.pack(">HH", ALG_RSASSA, hash_alg) + tpm2b(sig)
        r, s = utils.decode_dss_signature(self.key.sign(msg, ec.ECDSA(hmod)))
        return (struct.pack(">HH", ALG_ECDSA, hash_alg) + tpm2b(r.to_bytes(32, "big")) +
                tpm2b(s.to_bytes(32, "big")))


def pcr_select(sel):
    """sel: list of (alg, mask) -> TPML_PCR_SELECTION."""
    out = struct.pack(">I", len(sel))
    for alg, mask in sel:
        out += struct.pack(">HB", alg, 3) + mask.to_bytes(3, "little")
    return out


def quote_bytes(extra, pcr_digest, sel=((ALG_SHA256, 0xFFFFFF),), signer=b"\x00\x0b" + b"\0" * 32,
                magic=0xFF544347, typ=0x8018, raw_sel=None):
    return (struct.pack(">IH", magic, typ) + tpm2b(signer) + tpm2b(extra) +
            struct.pack(">QIIB", 1234, 1, 0, 1) + struct.pack(">Q", 0x2000000000000) +
            (raw_sel if raw_sel is not None else pcr_select(sel)) + tpm2b(pcr_digest))


def pcr_digest(values, sel=((ALG_SHA256, 0xFFFFFF),), hash_alg=ALG_SHA256):
    """values: {alg: {index: bytes}}"""
    h_ = DIGEST[hash_alg]()
    for alg, mask in sel:
        for i in range(24):
            if mask >> i & 1:
                h_.update(values[alg][i])
    return h_.digest()


class SoftMachine:
    """PCR banks and a log, replayed in software (what an honest TPM would hold)."""

    def __init__(self, banks=(ALG_SHA256,)):
        self.banks = banks
        self.pcr = {alg: {i: b"\0" * DIGEST[alg]().digest_size for i in range(24)} for alg in banks}

    def extend(self, alg, index, digest):
        self.pcr[alg][index] = DIGEST[alg](self.pcr[alg][index] + digest).digest()

    def pcrs_json(self, mask=0xFFFFFF):
        names = {ALG_SHA1: "sha1", ALG_SHA256: "sha256", ALG_SHA384: "sha384", ALG_SHA512: "sha512"}
        return {names[a]: {str(i): v.hex() for i, v in self.pcr[a].items() if mask >> i & 1}
                for a in self.banks}

    def body(self, ak, extra, log=None, cert=None, mask=0xFFFFFF, challenge=None, nonce=None,
             sign_alg=ALG_SHA256):
        sel = tuple((a, mask) for a in self.banks)
        q = quote_bytes(extra, pcr_digest(self.pcr, sel, sign_alg), sel)
        body = {"quote": b64u(q), "signature": b64u(ak.sign(q, sign_alg)),
                "akPublic": b64u(ak.public), "pcrs": self.pcrs_json(mask)}
        if log is not None:
            body["eventLog"] = b64u(log)
        if cert is not None:
            body["akCertificate"] = b64u(cert)
        if challenge is not None:
            body["challenge"] = challenge
        if nonce is not None:
            body["nonce"] = nonce
        return body


class AgileLog:
    """Crypto-agile TCG log; events are extended into `machine` unless told otherwise."""

    def __init__(self, machine, algs=(ALG_SHA256,), sizes=None):
        self.m = machine
        self.algs = algs
        sizes = sizes or {a: DIGEST[a]().digest_size for a in algs}
        self.sizes = sizes
        spec = (b"Spec ID Event03\0" + struct.pack("<IBBBBI", 0, 0, 2, 0, 2, len(algs)) +
                b"".join(struct.pack("<HH", a, sizes[a]) for a in algs) + b"\0")
        self.data = struct.pack("<II", 0, 3) + b"\0" * 20 + struct.pack("<I", len(spec)) + spec

    def add(self, pcr, etype, data, digests=None, extend=True):
        digests = digests or {a: DIGEST[a](data).digest() for a in self.algs}
        rec = struct.pack("<III", pcr, etype, len(digests))
        for a, d in digests.items():
            rec += struct.pack("<H", a) + d
        self.data += rec + struct.pack("<I", len(data)) + data
        if extend and etype != 3:
            for a, d in digests.items():
                if a in self.m.pcr:
                    self.m.extend(a, pcr, d)
        return digests


def legacy_event(pcr, etype, digest20, data):
    return struct.pack("<II", pcr, etype) + digest20 + struct.pack("<I", len(data)) + data


# ---- daemons -------------------------------------------------------------------------------

class Env:
    """A temp dir, a CA the daemon trusts for AK certificates, and a daemon."""

    def __init__(self, extra_config="", env=None, start=True):
        self.tmp = tempfile.mkdtemp(prefix="attack-tpm-")
        self.ca_key, self.ca_cert = swtpm.make_ak_ca("attack TPM CA")
        self.roots = os.path.join(self.tmp, "ak_roots.pem")
        with open(self.roots, "wb") as f:
            f.write(self.ca_cert.public_bytes(serialization.Encoding.PEM))
        self.d = h.Daemon(config=f"tpm_ak_roots = {self.roots}\n{extra_config}", env=env) \
            if start else None

    def cert_for(self, ak):
        return swtpm.issue_ak_cert(self.ca_key, self.ca_cert, ak.key.public_key())

    def challenge(self):
        status, _, data = self.d.request("POST", "/attest/TpmQuote:challenge")
        assert status == 200, (status, data)
        doc = json.loads(data)
        return doc["challenge"], bytes.fromhex(doc["nonce"])

    def tpm_call(self, payload, raw_data=None):
        data = raw_data if raw_data is not None else b64u(json.dumps({"payload": payload}).encode())
        status, doc, dt = post(self.d, "/attest/Tpm?api-version=2022-08-01", {"data": data})
        if status == 200:
            return status, json.loads(h.b64url_decode(doc["data"]))["payload"], dt
        return status, doc, dt

    def set_policy(self, ptype, text):
        token = h.owner_token(self.d)
        path = f"/policies/{ptype}" + (":reset" if text is None else "") + "?api-version=2020-10-01"
        status, _, body = self.d.request("POST" if text is None else "PUT", path,
                                         body=h.unsigned_policy_jws(text).encode(),
                                         headers={"Authorization": "Bearer " + token,
                                                  "Content-Type": "text/plain"})
        assert status == 200, body

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def read_fixture(name):
    with open(os.path.join(AZURE, name), "rb") as f:
        return f.read()


def ub64(s):
    """base64 in either alphabet, padded or not."""
    s = s.rstrip("=").replace("-", "+").replace("_", "/")
    return base64.b64decode(s + "=" * (-len(s) % 4))


class SnpPki:
    """tests/tools/amd_testpki: an SEV-SNP report whose REPORT_DATA binds `runtime` (SHA-256 then
    zeros), its VCEK chain, and a bundle with its CRL for `attestctl collateral import`."""

    def __init__(self, tmp, runtime, *args):
        import subprocess
        self.out = os.path.join(tmp, "pki-%d" % len(os.listdir(tmp)))
        rd = hashlib.sha256(runtime).hexdigest() + "00" * 32
        subprocess.run([os.path.join(h.BUILD, "tests", "tools", "amd_testpki"), "--out", self.out,
                        "--time", str(int(time.time())), "--report-data", rd] + list(args),
                       check=True, env=h.san_env(), stdout=subprocess.PIPE, timeout=120)
        self.bundle = os.path.join(self.out, "bundle.json")
        with open(self.bundle, "w") as f:
            json.dump({"amd": [{"product": "Milan", "chain": "vcek",
                                "cert_chain": self.read("kds_chain.pem").decode(),
                                "crl": self.read("crl.der").hex()}]}, f)
        self.ark = os.path.join(self.out, "ark.pem")

    def read(self, n):
        with open(os.path.join(self.out, n), "rb") as f:
            return f.read()

    def proof(self):
        return {"SnpReport": b64u(self.read("report.bin")), "VcekCertChain": b64(self.read("chain.pem"))}


def azure_maa_info(pki, runtime, ak, extra, machine=None, sign_key=None):
    """Microsoft's attestationInfo with a vTPM quote by `ak` (SoftAK) over `machine`'s PCRs."""
    m = machine or SoftMachine()
    sel = ((ALG_SHA256, 0xFFFFFF),)
    q = quote_bytes(extra, pcr_digest(m.pcr, sel), sel)
    sig = (sign_key or ak.key).sign(q, padding.PKCS1v15(), hashes.SHA256())
    return {"AttestationProtocolVersion": "2.0", "OSType": b64(b"Linux"),
            "IsolationInfo": {"Type": "SevSnp", "Evidence": {
                "Proof": b64(json.dumps(pki.proof()).encode()), "RunTimeData": b64(runtime)}},
            "TpmInfo": {"PcrQuote": b64(q), "PcrSignature": b64(sig),
                        "PCRs": [{"Index": i, "Digest": b64(v)} for i, v in m.pcr[ALG_SHA256].items()]}}


# ---- the memo and tree-claim attacks (t30-t32) ----------------------------------------------

from cryptography.x509.oid import NameOID  # noqa: E402
import datetime  # noqa: E402


def cert(ca_key, ca_cert, pub, cn="test AK", nb=None, na=None, ca=False):
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
         .issuer_name(ca_cert.subject).public_key(pub).serial_number(x509.random_serial_number())
         .not_valid_before(nb or now - datetime.timedelta(hours=1))
         .not_valid_after(na or now + datetime.timedelta(days=10)))
    if ca:
        b = b.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                          False), critical=True)
    return b.sign(ca_key, hashes.SHA256())

def der(c):
    return c.public_bytes(serialization.Encoding.DER)

def attest(env, ak, cert_der=None, chain=None, machine=None, log=None, nonce="ab" * 16, extra=None, **kw):
    m = machine or SoftMachine()
    n = bytes.fromhex(nonce) if nonce else extra
    body = m.body(ak, extra if extra is not None else n, log=log, cert=cert_der, nonce=nonce, **kw)
    if chain is not None:
        body["akCertificateChain"] = chain
    return post(env.d, "/attest/TpmQuote", body)

def claims(doc):
    return h.decode_jwt(doc["token"])[1]

def put_policy(d, text, ptype="Tpm"):
    token = h.owner_token(d)
    status, _, body = d.request("PUT", f"/policies/{ptype}?api-version=2020-10-01",
                                body=h.unsigned_policy_jws(text).encode(),
                                headers={"Authorization": "Bearer " + token, "Content-Type": "text/plain"})
    return status, body

def permissive(extra_auth="", issuance="", cfg="require_valid_aik_cert=false"):
    return f"""version=1.2;
configurationrules{{ => issueproperty(type="require_valid_aik_cert", value=false); }};
authorizationrules{{ {extra_auth} => permit(); }};
issuancerules{{ {issuance} }};"""

