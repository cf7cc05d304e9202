"""t18 against a real software TPM (swtpm + tpm2-tools): the TPM's SHA-1 and SHA-256 banks are
extended with a boot that measured SecureBoot=0 and "init=/bin/sh"; tpm2_quote selects
sha1:0-23 + sha256:23; the log keeps the genuine SHA-1 digests but carries forged event data
with matching SHA-256 digests. Expected: no secureboot=true / forged cmdline in the token."""
from common import *
import swtpm  # tests/integration (common puts it on sys.path)

EFI_GLOBAL = bytes.fromhex("61dfe48bca93d211aa0d00e098032b8c")


def sb_var(on):
    name = "SecureBoot".encode("utf-16-le")
    return EFI_GLOBAL + struct.pack("<QQ", 10, 1) + name + (b"\x01" if on else b"\x00")


e = Env()
tpm = None
try:
    tpm = swtpm.Swtpm(e.tmp)
    ak_pub, ak_pem = tpm.create_ak()
    cert = swtpm.issue_ak_cert(e.ca_key, e.ca_cert, serialization.load_pem_public_key(ak_pem))
    out = tpm.tool("tpm2_pcrread", "sha1:7")
    print("  swtpm sha1 bank:", out.strip().replace("\n", " ")[:80])
    forged = AgileLog(SoftMachine(banks=(ALG_SHA1, ALG_SHA256)), algs=(ALG_SHA1, ALG_SHA256))
    real_cmd, fake_cmd = b"quiet init=/bin/sh", b"quiet lockdown=integrity"
    for pcr, typ, real, fake, rd, fd in (
            (7, 0x80000001, sb_var(False), sb_var(True), sb_var(False), sb_var(True)),
            (7, 0x4, b"\0\0\0\0", b"\0\0\0\0", b"\0\0\0\0", b"\0\0\0\0"),
            (8, 0xD, b"kernel_cmdline: " + real_cmd + b"\0", b"kernel_cmdline: " + fake_cmd + b"\0", real_cmd, fake_cmd)):
        s1, s256 = hashlib.sha1(rd).digest(), hashlib.sha256(rd).digest()
        tpm.tool("tpm2_pcrextend", "%d:sha1=%s,sha256=%s" % (pcr, s1.hex(), s256.hex()))
        forged.add(pcr, typ, fake, {ALG_SHA1: s1, ALG_SHA256: hashlib.sha256(fd).digest()}, extend=False)
    ch, n = e.challenge()
    tpm.tool("tpm2_quote", "-c", tpm.path("ak.ctx"), "-l", "sha1:" + ",".join(map(str, range(24))) + "+sha256:23",
             "-q", n.hex(), "-m", tpm.path("quote.msg"), "-s", tpm.path("quote.sig"), "-g", "sha256")
    msg, sig = tpm.read("quote.msg"), tpm.read("quote.sig")
    sha1 = {}
    for mm in __import__("re").finditer(r"^\s+(\d+)\s*:\s*0x([0-9A-Fa-f]+)\s*$",
                                        tpm.tool("tpm2_pcrread", "sha1:" + ",".join(map(str, range(24)))), __import__("re").M):
        sha1[mm.group(1)] = mm.group(2).lower()
    body = {"quote": b64u(msg), "signature": b64u(sig), "akPublic": b64u(ak_pub), "akCertificate": b64u(cert),
            "pcrs": {"sha1": sha1, "sha256": tpm.pcrs()}, "eventLog": b64u(forged.data), "challenge": ch}
    st, doc, dt = post(e.d, "/attest/TpmQuote", body)
    c = h.decode_jwt(doc["token"])[1] if st == 200 else {}
    print(f"  {describe(st, doc, dt)} secureboot={c.get('x-ms-tpm-secureboot')} cmdline={c.get('x-ms-tpm-kernel-cmdline')!r}")
    check(not (st == 200 and c.get("x-ms-tpm-secureboot") is True),
          "forged event data refused", "/attest/TpmQuote (swtpm, tpm2_quote -l sha1:0..23+sha256:23): forged log accepted, "
          f"x-ms-tpm-secureboot=true although SecureBoot=0 was extended, kernel-cmdline={c.get('x-ms-tpm-kernel-cmdline')!r}")
finally:
    if tpm is not None:
        tpm.stop()
    e.close(); finish(e.d)
