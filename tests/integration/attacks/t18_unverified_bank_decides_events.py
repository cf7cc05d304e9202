"""The bank whose digests decide which event data is trusted is not the bank that was verified.
att_tcg_log_check (src/evidence/tpm/eventlog.c) returns as `bank` the largest digest size the
quote and the log share, even when that bank's selection proves nothing (mask 0, or only PCRs
the log never extends); `verified` is the union over all banks. att_tcg_events_decode then
trusts every event of a verified PCR whose data hashes to its digest *in that unproven bank*.

Attack (a TPM with SHA-1 and SHA-256 banks, as most have): quote SHA-1 PCRs 0-23 (genuine
values, the log's genuine SHA-1 digests replay) plus SHA-256 PCR 23 only; in the log keep every
SHA-1 digest but replace the event data with anything and set the SHA-256 digest to SHA-256 of
that data. Here: Secure Boot was off (SecureBoot=0 measured), the token says x-ms-tpm-secureboot
true, a forged kernel command line and boot application list. Expected: event data trusted only
by digests of a bank whose PCRs the quote verified (per PCR), else refuse / leave unprocessed.
Run with the software TPM; t19 repeats it against swtpm + tpm2-tools."""
from common import *

EFI_GLOBAL = bytes.fromhex("61dfe48bca93d211aa0d00e098032b8c")


def sb_var(on):
    name = "SecureBoot".encode("utf-16-le")
    v = b"\x01" if on else b"\x00"
    return EFI_GLOBAL + struct.pack("<QQ", 10, 1) + name + v


e = Env()
try:
    ak = SoftAK()
    cert = e.cert_for(ak)
    m = SoftMachine(banks=(ALG_SHA1, ALG_SHA256))
    log = AgileLog(m, algs=(ALG_SHA1, ALG_SHA256))
    real_sb, fake_sb = sb_var(False), sb_var(True)
    real_cmd, fake_cmd = b"quiet init=/bin/sh", b"quiet lockdown=integrity"
    real_app, fake_app = hashlib.sha256(b"evil.efi").digest(), hashlib.sha256(b"shimx64.efi").digest()
    events = [  # (pcr, type, genuine data, forged data, genuine digests)
        (7, 0x80000001, real_sb, fake_sb),
        (7, 0x4, b"\0\0\0\0", b"\0\0\0\0"),
        (8, 0xD, b"kernel_cmdline: " + real_cmd + b"\0", b"kernel_cmdline: " + fake_cmd + b"\0"),
    ]
    forged = AgileLog(SoftMachine(banks=(ALG_SHA1, ALG_SHA256)), algs=(ALG_SHA1, ALG_SHA256))
    for pcr, typ, real, fake in events:
        if typ == 0xD:
            real_d = {ALG_SHA1: hashlib.sha1(real_cmd).digest(), ALG_SHA256: hashlib.sha256(real_cmd).digest()}
            fake_d = {ALG_SHA1: real_d[ALG_SHA1], ALG_SHA256: hashlib.sha256(fake_cmd).digest()}
        else:
            real_d = {ALG_SHA1: hashlib.sha1(real).digest(), ALG_SHA256: hashlib.sha256(real).digest()}
            fake_d = {ALG_SHA1: real_d[ALG_SHA1], ALG_SHA256: hashlib.sha256(fake).digest()}
        log.add(pcr, typ, real, real_d)                   # what the TPM really holds
        forged.add(pcr, typ, fake, fake_d, extend=False)  # what the attacker sends
    app_d = {ALG_SHA1: hashlib.sha1(b"evil.efi").digest(), ALG_SHA256: real_app}
    log.add(4, 0x80000003, struct.pack("<QQQQ", 0x1000, 0x2000, 0, 0), app_d)
    forged.add(4, 0x80000003, struct.pack("<QQQQ", 0x1000, 0x2000, 0, 0),
               {ALG_SHA1: app_d[ALG_SHA1], ALG_SHA256: fake_app}, extend=False)

    def attempt(label, the_log, sel):
        ch, n = e.challenge()
        q = quote_bytes(n, pcr_digest(m.pcr, sel), sel)
        body = {"quote": b64u(q), "signature": b64u(ak.sign(q)), "akPublic": b64u(ak.public),
                "akCertificate": b64u(cert), "eventLog": b64u(the_log), "challenge": ch,
                "pcrs": {"sha1": {str(i): v.hex() for i, v in m.pcr[ALG_SHA1].items()},
                         "sha256": {str(i): v.hex() for i, v in m.pcr[ALG_SHA256].items()}}}
        st, doc, dt = post(e.d, "/attest/TpmQuote", body)
        c = h.decode_jwt(doc["token"])[1] if st == 200 else {}
        print(f"  {label}: {describe(st, doc, dt)}\n     secureboot={c.get('x-ms-tpm-secureboot')} "
              f"cmdline={c.get('x-ms-tpm-kernel-cmdline')!r} boot-apps={c.get('x-ms-tpm-boot-apps')} "
              f"eventlog-pcrs={c.get('x-ms-tpm-eventlog-pcrs')}")
        return st, c

    attempt("control: genuine log, SHA-1 + SHA-256 quoted", log.data, ((ALG_SHA1, 0xFFFFFF), (ALG_SHA256, 0xFFFFFF)))
    attempt("forged log, both banks fully quoted", forged.data, ((ALG_SHA1, 0xFFFFFF), (ALG_SHA256, 0xFFFFFF)))
    for label, sel in (("forged log, SHA-1 0-23 + SHA-256 PCR 23 only", ((ALG_SHA1, 0xFFFFFF), (ALG_SHA256, 1 << 23))),
                       ("forged log, SHA-1 0-23 + SHA-256 with an empty mask", ((ALG_SHA1, 0xFFFFFF), (ALG_SHA256, 0)))):
        st, c = attempt(label, forged.data, sel)
        check(not (st == 200 and c.get("x-ms-tpm-secureboot") is True), f"{label}: forged data not trusted",
              f"/attest/TpmQuote {label}: 200 with x-ms-tpm-secureboot=true (SecureBoot=0 was measured), "
              f"kernel-cmdline={c.get('x-ms-tpm-kernel-cmdline')!r}, boot-apps={c.get('x-ms-tpm-boot-apps')} - event data "
              "trusted by digests of a bank that proved nothing (eventlog.c att_tcg_log_check picks `bank` by size; "
              "eventdata.c one_event)")
finally:
    e.close(); finish(e.d)
