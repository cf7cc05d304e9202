"""Per-provider settings through attestctl, black-box: `provider set NAME
--attest-requires-auth on|off` round-trips through the store (show, list), refuses bad input,
and a running daemon reloads the providers after it (SIGHUP) without trouble. What the flag
does to the /attest routes is the router's business and is tested with those routes."""
import json
import unittest

import harness as h


class AttestRequiresAuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon()
        try:
            cls.d.attestctl("provider", "create", "tenant-a", "--alg", "ES256")
        except BaseException:
            cls.d.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def show(self, name):
        return json.loads(self.d.attestctl("provider", "show", name).stdout)

    def listed(self):
        return {p["name"]: p for p in json.loads(self.d.attestctl("provider", "list").stdout)}

    def test_round_trip(self):
        # Off by default, for the default provider and new ones.
        self.assertIs(self.show("default")["attest_requires_auth"], False)
        self.assertIs(self.show("tenant-a")["attest_requires_auth"], False)

        out = json.loads(self.d.attestctl("provider", "set", "tenant-a",
                                          "--attest-requires-auth", "on").stdout)
        self.assertEqual(out["name"], "tenant-a")
        self.assertIs(out["attest_requires_auth"], True)
        self.assertTrue(out["keys"])  # the answer is the provider as `show` prints it
        self.assertIs(self.show("tenant-a")["attest_requires_auth"], True)
        listed = self.listed()
        self.assertIs(listed["tenant-a"]["attest_requires_auth"], True)
        self.assertIs(listed["default"]["attest_requires_auth"], False)
        # Setting the same value again is fine.
        self.d.attestctl("provider", "set", "tenant-a", "--attest-requires-auth", "on")

        # A running daemon picks the change up on SIGHUP and keeps serving.
        self.d.reload()
        status, _, _ = self.d.request("GET", "/providers/tenant-a/certs")
        self.assertEqual(status, 200)
        status, _, body = self.d.request("GET", "/readyz")
        self.assertEqual(status, 200, body)

        self.d.attestctl("provider", "set", "tenant-a", "--attest-requires-auth", "off")
        self.assertIs(self.show("tenant-a")["attest_requires_auth"], False)
        self.d.attestctl("provider", "set", "default", "--attest-requires-auth", "on")
        self.assertIs(self.show("default")["attest_requires_auth"], True)
        self.d.attestctl("provider", "set", "default", "--attest-requires-auth", "off")
        self.assertIs(self.show("default")["attest_requires_auth"], False)
        self.d.reload()

    def test_refusals(self):
        for args, code, words in (
                (["nope", "--attest-requires-auth", "on"], 1, "no provider named 'nope'"),
                (["Bad_Name", "--attest-requires-auth", "on"], 1, "not a valid provider name"),
                (["tenant-a", "--attest-requires-auth", "yes"], 2, "must be on or off"),
                (["tenant-a", "--attest-requires-auth"], 2, "usage"),
                (["tenant-a", "--other-flag", "on"], 2, "usage")):
            with self.subTest(args=args):
                proc = self.d.attestctl("provider", "set", *args, check=False)
                self.assertEqual(proc.returncode, code, proc.stderr)
                self.assertIn(words, proc.stderr)
        self.assertIs(self.show("tenant-a")["attest_requires_auth"], False)

    def test_issuer(self):
        """provider set --issuer: the metadata, /certs' address and new tokens follow at once
        (the admin socket); URLs a relying party could not use are refused."""
        new = "https://attest.example.com:9443/tenant-a"
        out = json.loads(self.d.attestctl("provider", "set", "tenant-a", "--issuer", new).stdout)
        self.assertEqual(out["issuer"], new)
        status, _, meta = self.d.get_json("/providers/tenant-a/.well-known/openid-configuration")
        self.assertEqual(status, 200)
        self.assertEqual((meta["issuer"], meta["jwks_uri"]), (new, new + "/certs"))
        token = self.d.attestctl("token", "issue", "--provider", "tenant-a").stdout.strip()
        header, claims = h.decode_jwt(token)[:2]
        self.assertEqual(claims["iss"], new)
        self.assertEqual(header["jku"], new + "/certs")
        for bad in ("http://attest.example.com", "https://attest.example.com/",
                    "https://a.example/x?y=1", "attest.example.com"):
            with self.subTest(issuer=bad):
                p = self.d.attestctl("provider", "set", "tenant-a", "--issuer", bad, check=False)
                self.assertEqual(p.returncode, 1)
                self.assertIn("--issuer: expected an https URL", p.stderr)
        self.assertEqual(self.show("tenant-a")["issuer"], new)
        # back, so the other tests see the issuer they expect
        self.d.attestctl("provider", "set", "tenant-a", "--issuer",
                         self.d.base_url + "/providers/tenant-a")


if __name__ == "__main__":
    unittest.main()
