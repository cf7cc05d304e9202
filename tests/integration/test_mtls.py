"""Mutual TLS: with tls_client_ca set, a client certificate that chains to it and is
registered to a principal authenticates that principal; no certificate needs a bearer token
(401); a certificate from another CA fails the handshake; a trusted but unregistered one, or
one of a disabled principal, gets 401."""
import http.client
import json
import os
import ssl
import subprocess
import unittest

import harness as h


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_ca(d, name):
    key, pem = os.path.join(d, name + ".key"), os.path.join(d, name + ".pem")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", pem, "-days", "30", "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign")
    return key, pem


def make_client(d, name, ca_key, ca_pem):
    key, csr, pem = (os.path.join(d, name + s) for s in (".key", ".csr", ".pem"))
    ext = os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nextendedKeyUsage=clientAuth\n")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", csr, "-subj", f"/CN={name}")
    openssl("x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key, "-CAcreateserial",
            "-days", "30", "-extfile", ext, "-out", pem)
    return pem, key


class MutualTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon(start=False)
        pki = os.path.join(cls.d.tmp, "pki")
        os.mkdir(pki)
        ca_key, ca_pem = make_ca(pki, "clients-ca")
        other_key, other_pem = make_ca(pki, "other-ca")
        cls.admin = make_client(pki, "admin-tool", ca_key, ca_pem)
        cls.stranger = make_client(pki, "stranger", ca_key, ca_pem)
        cls.foreign = make_client(pki, "foreign", other_key, other_pem)
        cls.d.write_config(f"tls_client_ca = {ca_pem}\nauth_max_failures = 0")
        cls.d.start()
        cls.d.attestctl("principal", "create", "admin-tool")
        cls.d.attestctl("principal", "cert", "admin-tool", cls.admin[0])
        cls.d.attestctl("role", "assign", "--principal", "admin-tool", "--role", "Owner")

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def get(self, path, cert=None):
        ctx = self.d.ssl_context()
        if cert is not None:
            ctx.load_cert_chain(*cert)
        conn = http.client.HTTPSConnection("127.0.0.1", self.d.port, context=ctx, timeout=10)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.headers, resp.read()
        finally:
            conn.close()

    def test_registered_certificate_authenticates(self):
        status, _, body = self.get("/attestd/whoami", self.admin)
        self.assertEqual(status, 200, body)
        who = json.loads(body)
        self.assertEqual(who["name"], "admin-tool")
        self.assertEqual(who["roles"], [{"role": "Owner", "provider": "*"}])
        self.assertEqual(self.get("/attestd/roleAssignments", self.admin)[0], 200)
        decision = [e for e in self.d.log_events()
                    if e.get("msg") == "authorization" and e.get("principal_name") == "admin-tool"]
        self.assertEqual(decision[-1]["result"], "allowed")
        self.assertEqual(decision[-1]["token"], "mtls")

    def test_no_certificate_needs_a_token(self):
        status, headers, _ = self.get("/attestd/whoami")
        self.assertEqual(status, 401)
        self.assertEqual(headers["WWW-Authenticate"], 'Bearer realm="attestd"')
        self.assertEqual(self.get("/certs")[0], 200)  # public routes need nothing

    def test_untrusted_certificate_fails_the_handshake(self):
        with self.assertRaises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
            self.get("/attestd/whoami", self.foreign)

    def test_trusted_but_unregistered_certificate_401(self):
        status, _, body = self.get("/attestd/whoami", self.stranger)
        self.assertEqual(status, 401)
        self.assertIn("not registered", h.error_of(body)[1])

    def test_disabled_principal_401_then_enabled_again(self):
        self.d.attestctl("principal", "disable", "admin-tool")
        try:
            self.assertEqual(self.get("/attestd/whoami", self.admin)[0], 401)
        finally:
            self.d.attestctl("principal", "enable", "admin-tool")
        self.assertEqual(self.get("/attestd/whoami", self.admin)[0], 200)


if __name__ == "__main__":
    unittest.main()
