"""A real software TPM for the black-box tests: swtpm (Debian `swtpm`) started on free ports in a
temporary directory, driven with tpm2-tools (Debian `tpm2-tools`) through the swtpm TCTI, and a
writer of TCG crypto-agile event logs (docs/reference/tpm.md "Event log framing") whose events the
tests also extend into the TPM.

No resource manager runs, so transient objects are flushed after every command (a TPM holds only
a few) and keys are reloaded from their context files.
"""
import datetime
import hashlib
import os
import re
import shutil
import socket
import struct
import subprocess
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import harness as h

TIMEOUT = 60
EFI_GLOBAL_VARIABLE = bytes.fromhex("61dfe48bca93d211aa0d00e098032b8c")  # 8BE4DF61-93CA-11D2-...
EV_SEPARATOR = 0x4
EV_IPL = 0xD
EV_EFI_VARIABLE_DRIVER_CONFIG = 0x80000001
EV_EFI_BOOT_SERVICES_APPLICATION = 0x80000003
SHA256 = 0x000B


def pair_of_ports():
    """A free port whose successor is free too."""
    for _ in range(100):
        port = h.free_port()
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no two free ports in a row")


def make_ak_ca(name):
    """A P-256 CA for AK certificates (a TPM vendor's or a cloud's, in production)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def issue_ak_cert(ca_key, ca_cert, public_key):
    """The DER certificate `ca_cert` issues for an AK's public key."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test AK")]))
            .issuer_name(ca_cert.subject).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=10))
            .sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))


def available():
    return shutil.which("swtpm") is not None and shutil.which("tpm2_quote") is not None


class Swtpm:
    def __init__(self, workdir):
        self.dir = workdir
        state = os.path.join(workdir, "state")
        os.makedirs(state, exist_ok=True)
        # the swtpm TCTI finds the control channel on the next port
        self.port = pair_of_ports()
        ctrl = self.port + 1
        self.log = open(os.path.join(workdir, "swtpm.log"), "wb")
        self.proc = subprocess.Popen(
            ["swtpm", "socket", "--tpm2", "--tpmstate", "dir=" + state, "--server",
             "type=tcp,port=%d,bindaddr=127.0.0.1" % self.port, "--ctrl",
             "type=tcp,port=%d,bindaddr=127.0.0.1" % ctrl, "--flags",
             "not-need-init,startup-clear"], stdout=self.log, stderr=subprocess.STDOUT)
        self.env = dict(os.environ, TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=%d" % self.port)
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("swtpm did not start")
                time.sleep(0.05)
        self.tool("tpm2_createek", "-c", self.path("ek.ctx"), "-G", "rsa", "-u",
                  self.path("ek.pub"))

    def path(self, name):
        return os.path.join(self.dir, name)

    def read(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()

    def tool(self, *args):
        p = subprocess.run(list(args), env=self.env, cwd=self.dir, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=TIMEOUT)
        subprocess.run(["tpm2_flushcontext", "-t"], env=self.env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=TIMEOUT)
        if p.returncode != 0:
            raise RuntimeError("%s failed: %s" % (args[0], p.stderr))
        return p.stdout

    def create_ak(self, name="ak"):
        """An attestation key under the EK (restricted, sign, RSA-2048, RSASSA-SHA256): returns
        (TPM2B_PUBLIC bytes, PEM SubjectPublicKeyInfo)."""
        self.tool("tpm2_createak", "-C", self.path("ek.ctx"), "-c", self.path(name + ".ctx"),
                  "-G", "rsa", "-g", "sha256", "-s", "rsassa", "-u", self.path(name + ".pub"),
                  "-f", "tss", "-n", self.path(name + ".name"))
        self.tool("tpm2_readpublic", "-c", self.path(name + ".ctx"), "-f", "pem", "-o",
                  self.path(name + ".pem"))
        return self.read(name + ".pub"), self.read(name + ".pem")

    def create_signing_key(self, name="plain"):
        """An unrestricted signing key under a primary in the owner hierarchy (not an AK)."""
        self.tool("tpm2_createprimary", "-C", "o", "-c", self.path("primary.ctx"))
        self.tool("tpm2_create", "-C", self.path("primary.ctx"), "-G", "rsa2048:rsassa-sha256",
                  "-a", "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign",
                  "-u", self.path(name + ".tpub"), "-r", self.path(name + ".priv"))
        self.tool("tpm2_load", "-C", self.path("primary.ctx"), "-u", self.path(name + ".tpub"),
                  "-r", self.path(name + ".priv"), "-c", self.path(name + ".ctx"))
        self.tool("tpm2_readpublic", "-c", self.path(name + ".ctx"), "-f", "tss", "-o",
                  self.path(name + ".pub"))
        return self.read(name + ".pub")

    def create_decryption_key(self, name, attributes="fixedtpm|fixedparent|sensitivedataorigin|"
                              "userwithauth|decrypt"):
        """An RSA-2048 decryption key, primary in the NULL hierarchy (as Microsoft's guest
        attestation client makes its ephemeral key): returns its TPM2B_PUBLIC."""
        self.tool("tpm2_createprimary", "-C", "n", "-G", "rsa2048", "-a", attributes, "-c",
                  self.path(name + ".ctx"))
        self.tool("tpm2_readpublic", "-c", self.path(name + ".ctx"), "-f", "tss", "-o",
                  self.path(name + ".pub"))
        return self.read(name + ".pub")

    def certify(self, name, key="ak"):
        """TPM2_Certify of object `name` by `key`: (TPMS_ATTEST, RSA signature octets)."""
        self.tool("tpm2_certify", "-c", self.path(name + ".ctx"), "-C", self.path(key + ".ctx"),
                  "-g", "sha256", "-o", self.path("certify.att"), "-s", self.path("certify.sig"),
                  "-f", "plain")
        return self.read("certify.att"), self.read("certify.sig")

    def rsa_decrypt(self, name, data):
        """TPM2_RSA_Decrypt with RSAES-PKCS1-v1_5 by key `name`."""
        with open(self.path("rsa.in"), "wb") as f:
            f.write(data)
        self.tool("tpm2_rsadecrypt", "-c", self.path(name + ".ctx"), "-s", "rsaes", "-o",
                  self.path("rsa.out"), self.path("rsa.in"))
        return self.read("rsa.out")

    def extend(self, pcr, digest):
        self.tool("tpm2_pcrextend", "%d:sha256=%s" % (pcr, digest.hex()))

    def quote(self, nonce, key="ak", pcrs=range(24)):
        """TPM2_Quote of SHA-256 PCRs with extraData `nonce` (None: empty): (TPMS_ATTEST,
        TPMT_SIGNATURE)."""
        sel = "sha256:" + ",".join(str(i) for i in pcrs)
        extra = ["-q", nonce.hex()] if nonce is not None else []
        self.tool("tpm2_quote", "-c", self.path(key + ".ctx"), "-l", sel, *extra,
                  "-m", self.path("quote.msg"), "-s", self.path("quote.sig"), "-g", "sha256")
        return self.read("quote.msg"), self.read("quote.sig")

    def pcrs(self):
        """The SHA-256 bank: {index: hex}."""
        out = self.tool("tpm2_pcrread", "sha256:" + ",".join(str(i) for i in range(24)))
        values = {}
        for m in re.finditer(r"^\s+(\d+)\s*:\s*0x([0-9A-Fa-f]+)\s*$", out, re.M):
            values[m.group(1)] = m.group(2).lower()
        return values

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()


class EventLog:
    """A crypto-agile TCG log with SHA-256 digests (PFP §10.2): events are recorded here and,
    through `tpm`, extended into the TPM, unless told otherwise."""

    def __init__(self, tpm):
        self.tpm = tpm
        spec = (b"Spec ID Event03\0" + struct.pack("<IBBBBI", 0, 0, 2, 0, 2, 1) +
                struct.pack("<HH", SHA256, 32) + b"\0")
        self.data = struct.pack("<II", 0, 3) + b"\0" * 20 + struct.pack("<I", len(spec)) + spec
        self.count = 0  # events after the header

    def add(self, pcr, etype, data, digest=None, extend=True):
        digest = digest if digest is not None else hashlib.sha256(data).digest()
        self.data += (struct.pack("<IIIH", pcr, etype, 1, SHA256) + digest +
                      struct.pack("<I", len(data)) + data)
        self.count += 1
        if extend:
            self.tpm.extend(pcr, digest)
        return digest

    def secure_boot(self, on=True):
        name = "SecureBoot".encode("utf-16-le")
        value = b"\x01" if on else b"\x00"
        var = EFI_GLOBAL_VARIABLE + struct.pack("<QQ", 10, len(value)) + name + value
        self.add(7, EV_EFI_VARIABLE_DRIVER_CONFIG, var)
        self.add(7, EV_SEPARATOR, b"\0\0\0\0")

    def boot_app(self, image_hash):
        # UEFI_IMAGE_LOAD_EVENT: location, length, link-time address, device path length (0)
        self.add(4, EV_EFI_BOOT_SERVICES_APPLICATION, struct.pack("<QQQQ", 0x1000, 0x2000, 0, 0),
                 digest=image_hash)

    def kernel_cmdline(self, cmdline):
        # GRUB measures the text after its prefix (docs/reference/tcg-event-decoding.md)
        self.add(8, EV_IPL, b"kernel_cmdline: " + cmdline.encode() + b"\0",
                 digest=hashlib.sha256(cmdline.encode()).digest())
