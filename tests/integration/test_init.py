"""attestctl init (issue 17; docs/operations.md, "Preparing a data directory"), black-box.

From a configuration and a fresh directory, `attestctl init` makes the data directory, the KEK
and a TLS key with a certificate signing request or a self-signed certificate for public_url's
host and every --name; then attestd starts on that directory and serves HTTPS with that
certificate (self-signed: trusted as itself; a request: signed by a CA made here). Files have
the modes and owners docs/operations.md lays out (as root with `user = nobody`: the data
directory nobody's, the KEK root's, the TLS key root's and readable by nobody's group, which a
reload as nobody proves). Nothing that exists is replaced, not even through a link, and a bad
name refuses before anything is written.
"""
import datetime
import grp
import os
import pwd
import shutil
import ssl
import subprocess
import tempfile
import unittest
import http.client

import harness as h
from test_privilege_drop import cannot_drop_here


def openssl(*args, stdin=None):
    p = subprocess.run(["openssl"] + list(args), input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError(f"openssl {args}: {p.stderr}")
    return p


def owner(path):
    st = os.lstat(path)
    return (f"{st.st_mode & 0o7777:04o}, {pwd.getpwuid(st.st_uid).pw_name}:"
            f"{grp.getgrgid(st.st_gid).gr_name}")


def me():
    return f"{pwd.getpwuid(os.geteuid()).pw_name}:{grp.getgrgid(os.getegid()).gr_name}"


def pem_der(path):
    with open(path, encoding="ascii") as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def read(path):
    with open(path, "rb") as f:
        return f.read()


class InitCase(unittest.TestCase):
    """A data directory to be made by init, and an attestd (not started) configured for it."""
    time_limit = 180

    def setUp(self):
        tmp = tempfile.mkdtemp(prefix="attestd-init-")
        self.d = h.Daemon(config=self.config(), start=False,
                          data=(tmp, os.path.join(tmp, "data")))
        self.addCleanup(self.d.cleanup)
        self.data = self.d.data
        self.kek = os.path.join(self.data, "kek.key")
        self.key = os.path.join(self.data, "tls", "server.key")
        self.cert = os.path.join(self.data, "tls", "server.pem")
        self.csr = self.cert + ".csr"

    def config(self):
        return "public_url = https://attest.test"

    def init(self, *args, code=0):
        p = self.d.attestctl("init", *args, check=False)
        self.assertEqual(p.returncode, code, p.stderr)
        return p

    def last_steps(self, k):
        """The next steps' end, numbered from k: as root without `user`, that attestd would
        stay root; then how to start it."""
        lines = []
        if os.geteuid() == 0 and "user =" not in self.config():
            lines = [f"{k}. attestd started as root stays root unless the configuration sets "
                     "user = NAME,",
                     "   a service user, to whom the data directory must then belong "
                     "(docs/operations.md)."]
            k += 1
        return lines + [f"{k}. Start attestd: attestd --config {self.d.config_path} --data-dir "
                         f"{self.data} (or systemctl start attestd)."]

    def serves(self, ca, names=("127.0.0.1",)):
        """attestd serves /healthz over HTTPS with the certificate at tls_cert, trusted from ca,
        under each name."""
        ctx = ssl.create_default_context(cafile=ca)
        for name in names:
            with self.subTest(name=name):
                conn = http.client.HTTPSConnection(name, self.d.port, context=ctx, timeout=15)
                try:
                    conn.request("GET", "/healthz")
                    self.assertEqual(conn.getresponse().status, 200)
                    self.assertEqual(conn.sock.getpeercert(binary_form=True),
                                     pem_der(self.cert))
                finally:
                    conn.close()



class InitTest(InitCase):
    def test_self_signed_serves_https(self):
        p = self.init("--self-signed", "--name", "127.0.0.1", "--name", "localhost",
                      "--name", "attest.test")
        lines = p.stdout.splitlines()
        self.assertEqual(lines[:3], [
            f"data directory {self.data}: made (0700, {me()})",
            f"key-encryption key {self.kek}: made (0600, {me()})",
            f"TLS key {self.key}: made, P-256 (0600, {me()})",
        ])
        self.assertRegex(lines[3], "^self-signed certificate " + self.cert.replace(".", r"\.") +
                         r": made for attest\.test, 127\.0\.0\.1, localhost, valid until "
                         r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(0644, " + me() + r"\)$")
        self.assertEqual(lines[4:], [
            "", "next:",
            f"1. Clients trust this certificate itself: give them {self.cert}",
            f"   (curl --cacert {self.cert} https://attest.test/.well-known/openid-configuration).",
            "   Replace it before it expires; SIGHUP reloads it.",
        ] + self.last_steps(2))
        self.assertEqual(sorted(os.listdir(self.data)), ["kek.key", "tls"])
        self.assertEqual(sorted(os.listdir(os.path.dirname(self.cert))),
                         ["server.key", "server.pem"])
        self.assertEqual(owner(os.path.dirname(self.cert))[:4], "0755")

        text = openssl("x509", "-in", self.cert, "-noout", "-text").stdout
        for want in ("Version: 3 (0x2)", "Signature Algorithm: ecdsa-with-SHA256",
                     "Issuer: CN = attest.test", "Subject: CN = attest.test",
                     "Public-Key: (256 bit)", "NIST CURVE: P-256",
                     "X509v3 Basic Constraints: critical\n                CA:FALSE",
                     "X509v3 Key Usage: critical\n                Digital Signature\n",
                     "X509v3 Extended Key Usage: \n                TLS Web Server "
                     "Authentication\n",
                     "X509v3 Subject Alternative Name: \n                DNS:attest.test, "
                     "IP Address:127.0.0.1, DNS:localhost\n"):
            self.assertIn(want, text)
        dates = dict(line.split("=", 1) for line in openssl(
            "x509", "-in", self.cert, "-noout", "-startdate", "-enddate").stdout.splitlines())
        fmt = "%b %d %H:%M:%S %Y %Z"
        span = (datetime.datetime.strptime(" ".join(dates["notAfter"].split()), fmt) -
                datetime.datetime.strptime(" ".join(dates["notBefore"].split()), fmt))
        self.assertEqual(span, datetime.timedelta(days=397))
        self.assertIn("ASN1 OID: prime256v1",
                      openssl("pkey", "-in", self.key, "-noout", "-text").stdout)
        # the key is the certificate's
        self.assertEqual(openssl("pkey", "-in", self.key, "-pubout").stdout,
                         openssl("x509", "-in", self.cert, "-noout", "-pubkey").stdout)

        self.d.start()
        self.serves(self.cert, names=("127.0.0.1", "localhost"))

    def test_request_signed_by_a_ca_serves_https(self):
        p = self.init("--name", "127.0.0.1")
        self.assertEqual(p.stdout.splitlines(), [
            f"data directory {self.data}: made (0700, {me()})",
            f"key-encryption key {self.kek}: made (0600, {me()})",
            f"TLS key {self.key}: made, P-256 (0600, {me()})",
            f"certificate signing request {self.csr}: made for attest.test, 127.0.0.1 "
            f"(0644, {me()})",
            "", "next:",
            f"1. Have your CA sign the request {self.csr},",
            "   and put the certificate (then any intermediate certificates) at",
            f"   {self.cert}, readable by attestd.",
        ] + self.last_steps(2))
        self.assertFalse(os.path.exists(self.cert))
        req = openssl("req", "-in", self.csr, "-noout", "-text", "-verify")
        self.assertIn("self-signature verify OK", req.stdout + req.stderr)
        for want in ("Version: 1 (0x0)", "Subject: CN = attest.test", "NIST CURVE: P-256",
                     "Requested Extensions:", "TLS Web Server Authentication",
                     "X509v3 Subject Alternative Name: \n                    DNS:attest.test, "
                     "IP Address:127.0.0.1\n", "Signature Algorithm: ecdsa-with-SHA256"):
            self.assertIn(want, req.stdout)
        # the CA signs it, with the names it asks for; attestd serves it
        ca_dir = os.path.join(self.d.tmp, "ca")
        os.mkdir(ca_dir)
        ca, ca_key = os.path.join(ca_dir, "ca.pem"), os.path.join(ca_dir, "ca.key")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-sha256", "-days", "2", "-keyout", ca_key, "-out", ca, "-subj", "/CN=test CA",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        openssl("x509", "-req", "-in", self.csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
                "-days", "1", "-sha256", "-copy_extensions", "copy", "-out", self.cert)
        self.d.start()
        self.serves(ca)

        # with the certificate in place, init keeps everything and asks for nothing
        p = self.init()
        self.assertEqual(p.stdout.splitlines()[:5], [
            f"data directory {self.data}: exists, kept (0700, {me()})",
            f"key-encryption key {self.kek}: exists, kept (0600, {me()})",
            f"TLS key {self.key}: exists, kept (0600, {me()})",
            f"certificate {self.cert}: exists, kept ({owner(self.cert)})",
            "",
        ])
        self.assertNotIn("request", p.stdout)

    def test_never_replaces_a_file(self):
        os.makedirs(os.path.dirname(self.key))
        os.chmod(self.data, 0o700)
        with open(self.kek, "w", encoding="ascii") as f:
            f.write("a" * 64 + "\n")
        os.chmod(self.kek, 0o600)
        # a link where the request goes: kept, and nothing is written where it points
        target = os.path.join(self.d.tmp, "elsewhere.csr")
        os.symlink(target, self.csr)
        p = self.init()
        self.assertEqual(p.stdout.splitlines()[:4], [
            f"data directory {self.data}: exists, kept (0700, {me()})",
            f"key-encryption key {self.kek}: exists, kept (0600, {me()})",
            f"TLS key {self.key}: missing",
            f"certificate signing request {self.csr}: exists, kept (0777, {me()})",
        ])
        self.assertFalse(os.path.exists(target))
        self.assertFalse(os.path.exists(self.key))
        self.assertEqual(read(self.kek), b"a" * 64 + b"\n")
        os.unlink(self.csr)

        # made once, then kept byte for byte, either way it is asked
        self.init("--self-signed", "--name", "127.0.0.1")
        before = {path: (read(path), os.stat(path).st_mtime_ns)
                  for path in (self.kek, self.key, self.cert)}
        for args in ((), ("--self-signed",), ("--self-signed", "--name", "other.test")):
            with self.subTest(args=args):
                p = self.init(*args)
                self.assertEqual(p.stdout.splitlines()[3],
                                 f"certificate {self.cert}: exists, kept (0644, {me()})")
                self.assertNotIn("made", p.stdout)
                self.assertEqual({path: (read(path), os.stat(path).st_mtime_ns)
                                  for path in before}, before)
                self.assertFalse(os.path.exists(self.csr))
        self.d.start()
        self.serves(self.cert)

    def test_refusals_write_nothing(self):
        cases = [
            (["--name", "bad name"], 1,
             "attestctl init: --name bad name: not a DNS name or an IP address\n"),
            (["--name", "https://attest.test"], 1,
             "attestctl init: --name https://attest.test: not a DNS name or an IP address\n"),
            (["--name"], 2, "attestctl init: --name needs a value (HOST)\n"
                            "usage: attestctl init [--self-signed] [--name HOST ...]\n"),
            (["--self-signed", "--force"], 2, "attestctl init: unknown option --force\n"
                                              "usage: attestctl init [--self-signed] "
                                              "[--name HOST ...]\n"),
            (["now"], 2, "attestctl init: unexpected argument 'now'\n"
                         "usage: attestctl init [--self-signed] [--name HOST ...]\n"),
        ]
        for args, code, err in cases:
            with self.subTest(args=args):
                p = self.init(*args, code=code)
                self.assertEqual((p.stdout, p.stderr), ("", err))
                self.assertFalse(os.path.exists(self.data))
        # a configuration attestd would refuse is refused the same way
        with open(self.d.config_path, "a", encoding="ascii") as f:
            f.write("tls_certificate = /x\n")
        p = self.init(code=1)
        self.assertEqual(p.stderr, f"attestctl init: {self.d.config_path}:3: unknown key "
                                   "'tls_certificate'\n")
        self.assertFalse(os.path.exists(self.data))


@unittest.skipIf(cannot_drop_here(), cannot_drop_here())
class InitAsRootTest(InitCase):
    """As root with `user = nobody`: each file gets the owner docs/operations.md names."""

    def config(self):
        return "public_url = https://attest.test\nuser = nobody"

    def test_service_user_owns_what_it_must(self):
        os.chmod(self.d.tmp, 0o755)  # for nobody, the way to the data directory
        nobody = pwd.getpwnam("nobody")
        group = grp.getgrgid(nobody.pw_gid).gr_name
        p = self.init("--self-signed", "--name", "127.0.0.1")
        lines = p.stdout.splitlines()
        self.assertEqual(lines[:3], [
            f"data directory {self.data}: made (0700, nobody:{group})",
            f"key-encryption key {self.kek}: made (0600, root:root)",
            f"TLS key {self.key}: made, P-256 (0640, root:{group})",
        ])
        self.assertTrue(lines[3].endswith(" (0644, root:root)"), lines[3])
        self.assertEqual(lines[4:], ["", "next:"] + lines[6:9] + self.last_steps(2))
        self.assertEqual(owner(os.path.dirname(self.key)), "0755, root:root")

        # attestd starts as root, becomes nobody, serves; a reload as nobody reads the key
        self.d.start()
        self.d.wait_log("running as the service user", user="nobody")
        self.serves(self.cert)
        self.d.reload()
        self.d.wait_log("reloaded TLS certificate")
        self.assertNotIn("TLS reload failed", self.d.logs())

    def test_root_refuses_a_data_directory_of_another_user(self):
        # Review: `sudo attestctl init` on the packaged configuration (no `user`; the data
        # directory attestd's) made root-only files the service could not read.
        if os.geteuid() != 0:
            self.skipTest("needs root")
        d = h.Daemon(config="public_url = https://attest.test", start=False)
        self.addCleanup(d.cleanup)
        data = os.path.join(d.tmp, "owned")
        os.mkdir(data, 0o700)
        os.chown(data, 65534, 65534)
        p = subprocess.run([h.ATTESTCTL, "--config", d.config_path, "--data-dir", data, "init",
                            "--self-signed"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, env=h.san_env(), timeout=60)
        self.assertEqual((p.returncode, p.stdout), (1, ""))
        self.assertEqual(p.stderr, f"attestctl init: {data} belongs to nobody, whom attestd runs "
                                   "as: run attestctl init as that user (sudo -u nobody "
                                   "attestctl ...), or set user = nobody to start attestd as "
                                   "root and keep the key-encryption key root's\n")
        self.assertEqual(os.listdir(data), [])

    def test_existing_data_directory_is_kept_and_named(self):
        os.chmod(self.d.tmp, 0o755)
        os.mkdir(self.data, 0o700)  # root's
        p = self.init("--self-signed", "--name", "127.0.0.1")
        self.assertEqual(p.stdout.splitlines()[0],
                         f"data directory {self.data}: exists, kept (0700, root:root)")
        self.assertIn(f"2. Give the data directory to nobody: chown -R nobody: {self.data} "
                      "(the KEK file may stay root's).\n", p.stdout)
        self.assertEqual(os.stat(self.data).st_uid, 0)


if __name__ == "__main__":
    unittest.main()
