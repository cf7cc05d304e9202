"""attestctl policy history | show | diff | rollback against the daemon's store, black-box.

The REST side of the history is covered by test_policy_mgmt.py; this checks the local tool
sees the same versions, diffs two of them line by line, rolls back (a new version the running
daemon serves at once) and refuses what it must (unknown type or version, unsigned rollback
on an Isolated provider).
"""
import base64
import json
import os
import time
import unittest

import harness as h

API = "?api-version=2020-10-01"
V1 = "version=1.0;\nauthorizationrules{\n=> permit();\n};\nissuancerules{};\n"
V2 = ("version=1.0;\nauthorizationrules{\n=> permit();\n};\nissuancerules{\n"
      "=> issue(type=\"tier\", value=2);\n};\n")


def unsigned(text):
    return ("eyJhbGciOiJub25lIn0." +
            h.b64url_encode_json({"AttestationPolicy": h.b64url_encode(text.encode())}) + ".")


class PolicyHistoryCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon()
        try:
            with open(os.path.join(cls.d.data, "bootstrap-owner.json"), encoding="utf-8") as f:
                owner = json.load(f)
            status, _, body = cls.d.request(
                "POST", "/oauth2/token",
                body=(f"grant_type=client_credentials&client_id={owner['client_id']}"
                      f"&client_secret={owner['client_secret']}").encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"})
            assert status == 200, body
            cls.auth = {"Authorization": "Bearer " + json.loads(body)["access_token"]}
            for text in (V1, V2):
                status, _, body = cls.d.request("PUT", "/policies/SgxEnclave" + API,
                                                body=unsigned(text).encode(),
                                                headers={**cls.auth,
                                                         "Content-Type": "text/plain"})
                assert status == 200, body
        except BaseException:
            cls.d.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def ctl_json(self, *args):
        return json.loads(self.d.attestctl("policy", *args).stdout)

    def served_text(self):
        status, _, body = self.d.request("GET", "/policies/SgxEnclave" + API, headers=self.auth)
        self.assertEqual(status, 200, body)
        jws = h.decode_jwt(json.loads(body)["token"])[1]["x-ms-policy"]
        stored = json.loads(h.b64url_decode(jws.split(".")[1]))
        return h.b64url_decode(stored["AttestationPolicy"]).decode()

    def test_1_history_and_show(self):
        hist = self.ctl_json("history", "sgxenclave")  # type names are case-insensitive
        self.assertEqual([(v["version"], v["action"], v["principal_name"], v["source"])
                          for v in hist],
                         [(1, "set", "bootstrap-owner", "127.0.0.1"),
                          (2, "set", "bootstrap-owner", "127.0.0.1")])
        shown = self.ctl_json("show", "SgxEnclave", "1")
        self.assertEqual(shown["policy"], V1)
        self.assertEqual(shown["policy_hash"], hist[0]["policy_hash"])
        self.assertEqual(self.ctl_json("show", "SgxEnclave")["policy"], V2)
        # A type never set shows its default, version 0.
        tdx = self.ctl_json("show", "TdxVm")
        self.assertEqual((tdx["version"], tdx["action"], tdx["is_default"]), (0, "default", True))

    def test_2_diff(self):
        out = self.d.attestctl("policy", "diff", "SgxEnclave", "1", "2").stdout
        lines = out.splitlines()
        self.assertTrue(lines[0].startswith("--- SgxEnclave version 1 ("), lines)
        self.assertTrue(lines[1].startswith("+++ SgxEnclave version 2 ("), lines)
        self.assertEqual(lines[2:], [" version=1.0;", " authorizationrules{", " => permit();",
                                     " };", "-issuancerules{};", "+issuancerules{",
                                     "+=> issue(type=\"tier\", value=2);", "+};"])

    def test_3_rollback_is_served_at_once(self):
        self.assertEqual(self.served_text(), V2)
        back = self.ctl_json("rollback", "SgxEnclave", "1")
        self.assertEqual((back["version"], back["action"], back["rollback_of"], back["policy"]),
                         (3, "rollback", 1, V1))
        self.assertTrue(back["principal"].startswith("attestctl:"))
        self.assertEqual(self.served_text(), V1)
        self.assertEqual(len(self.ctl_json("history", "SgxEnclave")), 3)

    def test_4_refusals(self):
        for args, message in [
                (("show", "Nope"), "unknown attestation type 'Nope'"),
                (("show", "SgxEnclave", "99"), "SgxEnclave has no version 99 on provider "
                                               "'default'"),
                (("rollback", "SgxEnclave", "99"), "SgxEnclave has no version 99 on provider "
                                                   "'default'"),
                (("history", "SgxEnclave", "--provider", "ghost"), "provider 'ghost': "),
                (("rollback", "SgxEnclave", "0"), "'0' is not a policy version")]:
            with self.subTest(args=args):
                proc = self.d.attestctl("policy", *args, check=False)
                self.assertNotEqual(proc.returncode, 0)
                self.assertIn(message, proc.stderr)
        self.assertEqual(len(self.ctl_json("history", "SgxEnclave")), 3)

    def test_5_isolated_rollback_needs_a_signature(self):
        key = h.new_signing_key(os.path.join(self.d.tmp, "signer.key"), "rsa")
        cert = os.path.join(self.d.tmp, "signer.pem")
        h.openssl("req", "-x509", "-key", key, "-out", cert, "-subj", "/CN=signer", "-days", "2")
        self.d.attestctl("provider", "create", "iso", "--isolated", "--signer", cert)
        shown = json.loads(self.d.attestctl("provider", "show", "iso").stdout)
        self.assertEqual(shown["trust_model"], "Isolated")
        proc = self.d.attestctl("policy", "rollback", "SgxEnclave", "1", "--provider", "iso",
                                check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("iso: the provider is in Isolated mode; a rollback must be signed by a "
                      "trusted policy signer", proc.stderr)
        # A non-CA certificate cannot be a signer.
        leaf = os.path.join(self.d.tmp, "leaf.pem")
        h.openssl("req", "-x509", "-key", key, "-out", leaf, "-subj", "/CN=leaf", "-days", "2",
                  "-addext", "basicConstraints=critical,CA:FALSE")
        proc = self.d.attestctl("provider", "create", "iso2", "--isolated", "--signer", leaf,
                                check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("an issuing or root certificate lacks CA basic constraints", proc.stderr)

    def send(self, method, path, body):
        return self.d.request(method, path + API, body=body.encode(),
                              headers={**self.auth, "Content-Type": "text/plain"})

    def test_6_sign_makes_bound_requests(self):
        # docs/policies.md, "Bound requests": attestctl policy sign, accepted once.
        certs = os.path.join(self.d.tmp, "sign-certs")
        os.makedirs(certs)
        key, cert, der = h.make_cert(certs, "signer", "p256")
        other_key, other_cert, other_der = h.make_cert(certs, "other", "rsa")
        policy = os.path.join(self.d.tmp, "v2.txt")
        with open(policy, "w", encoding="utf-8") as f:
            f.write(V2)
        issuer = self.d.base_url

        def sign(*args, **kw):
            return self.d.attestctl("policy", "sign", *args, "--key", key, "--cert", cert,
                                    use_config=False, **kw)
        jws = sign("set", "sgxenclave", policy, "--audience", issuer).stdout.strip()
        header, payload = (json.loads(h.b64url_decode(p)) for p in jws.split(".")[:2])
        self.assertEqual(set(header), {"alg", "x5c", "jti", "iat", "aud", "attestationType"})
        self.assertEqual((header["alg"], header["aud"], header["attestationType"]),
                         ("ES256", issuer, "SgxEnclave"))
        self.assertEqual(header["x5c"], [base64.b64encode(der).decode()])
        self.assertRegex(header["jti"], r"^[0-9a-f]{32}$")
        self.assertLessEqual(abs(header["iat"] - time.time()), 5)
        self.assertEqual(h.b64url_decode(payload["AttestationPolicy"]).decode(), V2)
        status, _, body = self.send("PUT", "/policies/SgxEnclave", jws)
        self.assertEqual(status, 200, body)
        self.assertEqual(self.served_text(), V2)
        status, _, body = self.send("PUT", "/policies/SgxEnclave", jws)
        self.assertEqual(status, 400, body)
        self.assertEqual(h.error_of(body)[1], "this signed request was applied already: a bound "
                                              "request is accepted only once (sign a new one)")
        # A reset has an empty payload; a signer change names the certificate and no type.
        reset = sign("reset", "SgxEnclave", "--audience", issuer).stdout.strip()
        self.assertEqual(reset.split(".")[1], "")
        status, _, body = self.send("POST", "/policies/SgxEnclave:reset", reset)
        self.assertEqual(status, 200, body)
        add = sign("add-signer", other_cert, "--audience", issuer).stdout.strip()
        header, payload = (json.loads(h.b64url_decode(p)) for p in add.split(".")[:2])
        self.assertNotIn("attestationType", header)
        self.assertEqual(payload["policyCertificate"]["kty"], "RSA")
        self.assertEqual(payload["policyCertificate"]["x5c"],
                         [base64.b64encode(other_der).decode()])
        # --unbound: MAA's own form.
        unbound = sign("set", "SgxEnclave", policy, "--unbound").stdout.strip()
        self.assertEqual(set(json.loads(h.b64url_decode(unbound.split(".")[0]))), {"alg", "x5c"})
        for args, message in [
                (("set", "SgxEnclave", policy), "--audience must be the provider's issuer URL"),
                (("set", "SgxEnclave", policy, "--audience", issuer + "/"),
                 "--audience must be the provider's issuer URL"),
                (("set", "Nope", policy, "--unbound"), "unknown attestation type 'Nope'"),
                (("set", "SgxEnclave", "/nonexistent", "--unbound"), "/nonexistent: No such file or directory")]:
            with self.subTest(args=args):
                proc = sign(*args, check=False)
                self.assertEqual(proc.returncode, 1, proc.stderr)
                self.assertIn(message, proc.stderr)
        proc = self.d.attestctl("policy", "sign", "set", "SgxEnclave", policy, "--unbound",
                                "--key", other_key, "--cert", cert, use_config=False,
                                check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("--cert does not certify the --key key", proc.stderr)

    def test_7_history_keeps_what_retention_says(self):
        shown = json.loads(self.d.attestctl("provider", "set", "default",
                                            "--policy-history-keep", "2").stdout)
        self.assertEqual(shown["policy_history_keep"], 2)
        for text in (V1, V2, V1):
            status, _, body = self.send("PUT", "/policies/OpenEnclave", unsigned(text))
            self.assertEqual(status, 200, body)
        hist = self.ctl_json("history", "OpenEnclave")
        self.assertEqual([(v["version"], v["action"]) for v in hist], [(2, "set"), (3, "set")])
        proc = self.d.attestctl("policy", "show", "OpenEnclave", "1", check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("OpenEnclave has no version 1 on provider 'default'", proc.stderr)
        proc = self.d.attestctl("provider", "set", "default", "--policy-history-keep", "-1",
                                check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("--policy-history-keep: expected a count from 0 to 1000000 (0 keeps all)",
                      proc.stderr)


if __name__ == "__main__":
    unittest.main()
