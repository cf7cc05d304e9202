"""Evidence for bench/attest.sh's TPM run, from a real software TPM (tests/integration/swtpm.py):
an RSA-2048 AK (RSASSA-SHA256, the "RS256 AK") with a certificate from a P-256 CA, a boot of 30
measured events (PCRs 0-9: firmware, Secure Boot variables, separators, boot applications, GRUB
commands, the kernel command line) extended into the TPM and written into a crypto-agile TCG
log, and a quote of the 24 SHA-256 PCRs over a fixed nonce.

Writes into OUT_DIR: warm.jsonl (one POST /attest/TpmQuote body: quote, signature, AK public
area and certificate, PCRs, log, nonce), ak_roots.pem (the CA, for tpm_ak_roots) and
ak_cert.pem (the AK certificate, for bench_attest_floor).
Usage: python3 bench/tpm_evidence.py OUT_DIR
"""
import base64
import hashlib
import json
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402

import swtpm  # noqa: E402

EV_POST_CODE, EV_S_CRTM_VERSION = 0x1, 0x8
EV_EFI_VARIABLE_BOOT, EV_EFI_ACTION = 0x80000002, 0x80000007


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def boot(log):
    """30 events, as a UEFI machine booting shim, GRUB and Linux logs them."""
    log.add(0, EV_S_CRTM_VERSION, "1.0".encode("utf-16-le") + b"\0\0")
    for i in range(3):
        log.add(0, EV_POST_CODE, b"firmware volume %d" % i)
    log.secure_boot(True)  # PCR 7: the SecureBoot variable and PCR 7's separator
    for name in ("PK", "KEK", "db", "dbx"):
        var = (swtpm.EFI_GLOBAL_VARIABLE + struct.pack("<QQ", len(name), 4) +
               name.encode("utf-16-le") + b"\0\0\0\0")
        log.add(7, swtpm.EV_EFI_VARIABLE_DRIVER_CONFIG, var)
    for name, value in (("BootOrder", b"\1\0"), ("Boot0001", b"\1\0\0\0shim")):
        var = (swtpm.EFI_GLOBAL_VARIABLE + struct.pack("<QQ", len(name), len(value)) +
               name.encode("utf-16-le") + value)
        log.add(1, EV_EFI_VARIABLE_BOOT, var)
    log.add(4, EV_EFI_ACTION, b"Calling EFI Application from Boot Option")
    for pcr in (0, 1, 2, 3, 4, 5, 6):
        log.add(pcr, swtpm.EV_SEPARATOR, b"\0\0\0\0")
    for image in (b"shimx64.efi", b"grubx64.efi", b"vmlinuz"):
        log.boot_app(hashlib.sha256(image).digest())
    for command in (b"set root=hd0,gpt2", b"search --fs-uuid 1234", b"linux /vmlinuz",
                    b"initrd /initrd.img"):
        log.add(8, swtpm.EV_IPL, b"grub_cmd: " + command + b"\0",
                digest=hashlib.sha256(command).digest())
    log.kernel_cmdline("root=/dev/vda1 ro quiet")
    for name in (b"/boot/vmlinuz", b"/boot/initrd.img"):
        log.add(9, swtpm.EV_IPL, name + b"\0")


def main(out):
    tpm = swtpm.Swtpm(out)
    try:
        ak_pub, ak_pem = tpm.create_ak()
        log = swtpm.EventLog(tpm)
        boot(log)
        ca_key, ca_cert = swtpm.make_ak_ca("attestd bench TPM CA")
        cert = swtpm.issue_ak_cert(ca_key, ca_cert, serialization.load_pem_public_key(ak_pem))
        nonce = hashlib.sha256(b"attestd bench").digest()
        msg, sig = tpm.quote(nonce)
        body = {"quote": b64u(msg), "signature": b64u(sig), "akPublic": b64u(ak_pub),
                "akCertificate": b64u(cert), "pcrs": {"sha256": tpm.pcrs()},
                "eventLog": b64u(log.data), "nonce": nonce.hex()}
        if log.count != 30:
            raise SystemExit("tpm_evidence: %d events, not 30" % log.count)
    finally:
        tpm.stop()
    with open(os.path.join(out, "warm.jsonl"), "w") as f:
        f.write(json.dumps(body) + "\n")
    with open(os.path.join(out, "ak_roots.pem"), "wb") as f:
        f.write(ca_cert.public_bytes(serialization.Encoding.PEM))
    with open(os.path.join(out, "ak_cert.pem"), "wb") as f:
        f.write(x509.load_der_x509_certificate(cert).public_bytes(serialization.Encoding.PEM))


if __name__ == "__main__":
    main(sys.argv[1])
