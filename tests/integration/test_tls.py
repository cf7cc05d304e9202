"""TLS policy of attestd, seen from outside: versions, ciphers, certificate reload on SIGHUP."""
import os
import re
import signal
import ssl
import subprocess
import tempfile
import unittest

import harness as h

AEAD_TLS12 = {
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
}
TLS13_SUITES = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}


def file_der(path):
    with open(path, encoding="ascii") as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def s_client(self, *args):
        """openssl s_client against the daemon with -msg tracing; (exit code, output text)."""
        cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{self.d.port}", "-msg",
               "-CAfile", self.d.ca, "-verify_ip", "127.0.0.1"] + list(args)
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=30)
        return proc.returncode, proc.stdout.decode("utf-8", "replace")

    def assert_refused_version(self, flag, label):
        # SECLEVEL=0 lets OpenSSL 3 offer TLS 1.0/1.1 at all, so the refusal is the server's.
        rc, out = self.s_client(flag, "-cipher", "DEFAULT:@SECLEVEL=0")
        self.assertIn(f">>> {label}, Handshake", out, out)
        self.assertRegex(out, rf">>> {re.escape(label)}, Handshake \[length [0-9a-f]+\], ClientHello",
                         "the client must have offered the old version")
        self.assertRegex(out, r"<<< TLS 1\.[01], Alert \[length 0002\], fatal protocol_version",
                         "the server must answer with a protocol_version alert")
        self.assertNotIn("ServerHello", out)
        self.assertIn("Cipher is (NONE)", out)
        self.assertEqual(rc, 1)

    def test_tls10_refused(self):
        self.assert_refused_version("-tls1", "TLS 1.0")

    def test_tls11_refused(self):
        self.assert_refused_version("-tls1_1", "TLS 1.1")

    def test_tls12_accepted_with_aead_cipher(self):
        rc, out = self.s_client("-tls1_2", "-verify_return_error")
        self.assertEqual(rc, 0, out)
        m = re.search(r"New, TLSv1\.2, Cipher is (\S+)", out)
        self.assertIsNotNone(m, out)
        self.assertIn(m.group(1), AEAD_TLS12)
        self.assertIn("Verify return code: 0 (ok)", out)

    def test_tls13_accepted(self):
        rc, out = self.s_client("-tls1_3", "-verify_return_error")
        self.assertEqual(rc, 0, out)
        m = re.search(r"New, TLSv1\.3, Cipher is (\S+)", out)
        self.assertIsNotNone(m, out)
        self.assertIn(m.group(1), TLS13_SUITES)
        self.assertIn("Verify return code: 0 (ok)", out)

    def test_non_aead_ciphers_refused(self):
        # CBC suites the server's ECDSA certificate could otherwise serve, plus RSA ones.
        for ciphers in ("ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES128-SHA",
                        "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES128-SHA:AES128-SHA256"):
            with self.subTest(ciphers=ciphers):
                rc, out = self.s_client("-tls1_2", "-cipher", ciphers)
                self.assertRegex(out, r">>> TLS 1\.2, Handshake \[length [0-9a-f]+\], ClientHello")
                self.assertIn("<<< TLS 1.2, Alert [length 0002], fatal handshake_failure", out)
                self.assertIn("Cipher is (NONE)", out)
                self.assertEqual(rc, 1)

    def test_python_client_defaults(self):
        # An ordinary client (Python's default context) gets TLS 1.3 and a verified chain.
        with self.d.tls_socket() as s:
            self.assertEqual(s.version(), "TLSv1.3")
            self.assertIn(s.cipher()[0], TLS13_SUITES)

    # ---- certificate reload ----

    def make_server_cert(self, serial_hex):
        """A new key + certificate for 127.0.0.1 from the same development CA; (key, cert) paths."""
        tls = os.path.join(self.d.data, "tls")
        work = tempfile.mkdtemp(dir=self.d.tmp)
        key, csr, ext, crt = (os.path.join(work, n) for n in ("new.key", "new.csr", "new.ext",
                                                              "new.pem"))
        h.openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                  "-sha256", "-keyout", key, "-out", csr, "-subj", "/CN=localhost reloaded")
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
        h.openssl("x509", "-req", "-in", csr, "-CA", os.path.join(tls, "ca.pem"), "-CAkey",
                  os.path.join(tls, "ca.key"), "-set_serial", "0x" + serial_hex, "-days", "30",
                  "-sha256", "-extfile", ext, "-out", crt)
        return key, crt

    def test_sighup_reloads_certificate_and_keeps_open_connections(self):
        tls = os.path.join(self.d.data, "tls")
        old_der = file_der(os.path.join(tls, "server.pem"))
        conn = self.d.connection()
        try:
            status, _, body = self.d.request("GET", "/healthz", conn=conn)
            self.assertEqual((status, body), (200, b'{"status":"ok"}'))
            old_sock = conn.sock
            self.assertEqual(old_sock.getpeercert(binary_form=True), old_der)

            serial = "5eed0001c0ffee"
            key, crt = self.make_server_cert(serial)
            os.replace(key, os.path.join(tls, "server.key"))
            os.replace(crt, os.path.join(tls, "server.pem"))
            new_der = file_der(os.path.join(tls, "server.pem"))
            self.assertNotEqual(new_der, old_der)
            n = len([e for e in self.d.log_events() if e.get("msg") == "reloaded TLS certificate"])
            self.d.signal(signal.SIGHUP)
            self.d.wait_log("reloaded TLS certificate", count=n + 1)

            # A new connection sees the new certificate (and it verifies against the CA).
            with self.d.tls_socket() as s:
                der = s.getpeercert(binary_form=True)
            self.assertEqual(der, new_der)
            self.assertEqual(h.cert_serial(der), "serial=" + serial.upper())
            self.assertEqual(h.cert_subject(der), "subject=CN=localhost reloaded")

            # The connection opened before the reload is still served, on the same socket.
            status, _, body = self.d.request("GET", "/healthz", conn=conn)
            self.assertEqual((status, body), (200, b'{"status":"ok"}'))
            self.assertIs(conn.sock, old_sock)
            self.assertEqual(conn.sock.getpeercert(binary_form=True), old_der)
        finally:
            conn.close()

    def test_sighup_with_broken_certificate_keeps_the_old_one(self):
        tls = os.path.join(self.d.data, "tls")
        pem = os.path.join(tls, "server.pem")
        with open(pem, "rb") as f:
            saved = f.read()
        current = file_der(pem)
        n = len([e for e in self.d.log_events()
                 if e.get("msg") == "TLS reload failed; keeping the old certificate"])
        try:
            with open(pem, "wb") as f:
                f.write(b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n"
                        b"-----END CERTIFICATE-----\n")
            self.d.signal(signal.SIGHUP)
            self.d.wait_log("TLS reload failed; keeping the old certificate", count=n + 1)
            with self.d.tls_socket() as s:
                self.assertEqual(s.getpeercert(binary_form=True), current)
            self.assertEqual(self.d.request("GET", "/healthz")[0], 200)
        finally:
            with open(pem, "wb") as f:
                f.write(saved)


if __name__ == "__main__":
    unittest.main()
