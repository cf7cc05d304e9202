"""attestctl as people meet it (issue 17, "A CLI people enjoy"): help for every command, a
one-line error naming what is missing followed by the usage, tables on request (a terminal
gets them by default) and JSON for scripts, and missing files named as missing."""
import json
import os
import re
import subprocess
import tempfile
import unittest

import harness as h


def ctl(*args):
    return subprocess.run([h.ATTESTCTL] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=h.san_env(), timeout=60)


def listed_commands():
    p = ctl("help")
    assert p.returncode == 0, p.stderr
    return [m.group(1).strip() for m in re.finditer(r"^  ([a-z][a-z -]*?)\s{2,}", p.stdout, re.M)]


class HelpTest(unittest.TestCase):
    def test_every_command_has_help(self):
        commands = listed_commands()
        self.assertIn("provider create", commands)
        self.assertIn("collateral import", commands)
        self.assertGreater(len(commands), 40)
        for words in commands:
            with self.subTest(command=words):
                p = ctl("help", *words.split())
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertTrue(p.stdout.startswith(f"usage: attestctl {words}"), p.stdout)
                # the same from COMMAND --help
                q = ctl(*words.split(), "--help")
                self.assertEqual((q.returncode, q.stdout), (0, p.stdout))

    def test_group_and_unknown(self):
        p = ctl("provider")
        self.assertEqual(p.returncode, 2)
        lines = p.stderr.splitlines()
        self.assertEqual(lines[0], "attestctl provider: missing a command, one of:")
        self.assertTrue(all(l.startswith("  provider ") for l in lines[1:]), lines)
        p = ctl("provider", "frob")
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stderr.splitlines()[0],
                         "attestctl provider: unknown command 'frob', not one of:")
        p = ctl("frobnicate")
        self.assertEqual((p.returncode, p.stderr),
                         (2, "attestctl: unknown command 'frobnicate'; attestctl help lists them\n"))
        p = ctl("provider", "--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn("  provider rotate-key", p.stdout)

    def test_one_line_errors_then_usage(self):
        cases = [
            (["provider", "show"], "attestctl provider show: missing NAME",
             "usage: attestctl provider show NAME"),
            (["provider", "create", "x", "--issuer"],
             "attestctl provider create: --issuer needs a value (URL)",
             "usage: attestctl provider create NAME [--issuer URL]"),
            (["provider", "show", "a", "b"], "attestctl provider show: unexpected argument 'b'",
             "usage: attestctl provider show NAME"),
            (["role", "list", "--what"], "attestctl role list: unknown option --what",
             "usage: attestctl role list"),
            (["provider", "set", "a", "--audit-fail-open", "maybe"],
             "attestctl provider set: --audit-fail-open must be on or off, not 'maybe'",
             "usage: attestctl provider set NAME"),
            (["principal", "create", "a", "--secret-days", "9999"],
             "attestctl principal create: --secret-days (0: no expiry) must be a whole number "
             "from 0 to 3650, not '9999'", "usage: attestctl principal create NAME"),
            (["kek", "generate"], "attestctl kek generate: give FILE or --pkcs11 URI",
             "usage: attestctl kek generate (FILE | --pkcs11 URI)"),
            (["verify", "sgx"], "attestctl verify: needs --quote FILE (or --report FILE)",
             "usage: attestctl verify sgx|oe|snp|tdx|tpm --quote FILE"),
            # numbers: digits only, nothing strtoll would clamp (attack: a version the user
            # never typed was looked up)
            (["policy", "show", "SgxEnclave", "99999999999999999999"],
             "attestctl policy show: '99999999999999999999' is not a policy version (1 and up, "
             "or 0 for the one in force)", "usage: attestctl policy show TYPE [VERSION]"),
            (["audit", "show", "--limit", "+5"],
             "attestctl audit show: --limit must be a whole number from 0 to "
             "9223372036854775807, not '+5'", "usage: attestctl audit show"),
            (["audit", "show", "--after", " 1"],
             "attestctl audit show: --after must be a whole number from 0 to "
             "9223372036854775807, not ' 1'", "usage: attestctl audit show"),
            # attack: token issue without --provider crashed (strlen(NULL))
            (["token", "issue"], "attestctl token issue: needs --provider NAME",
             "usage: attestctl token issue --provider NAME"),
        ]
        for args, first, usage in cases:
            with self.subTest(args=args):
                p = ctl("--direct", *args)
                self.assertEqual(p.returncode, 2, p.stderr)
                lines = p.stderr.splitlines()
                self.assertEqual(lines[0], first)
                self.assertTrue(lines[1].startswith(usage), lines)

    def test_version(self):
        want = ctl("version").stdout
        self.assertRegex(want, r"^attestctl \d+\.\d+\.\d+\n$")
        for flag in ("--version", "-V"):
            self.assertEqual(ctl(flag).stdout, want)

    def test_missing_kek_names_the_command_that_makes_one(self):
        tmp = tempfile.mkdtemp(prefix="attestd-cli-")
        p = ctl("--data-dir", tmp, "--direct", "provider", "list")
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"{tmp}/kek.key: cannot read the key-encryption key (create one with "
                      f"'attestctl kek generate {tmp}/kek.key'", p.stderr)
        os.rmdir(tmp)

    def test_missing_certificate_is_missing(self):
        p = ctl("policy", "sign", "add-signer", "/nonexistent/signer.pem", "--key", "/nonexistent/k",
                "--cert", "/nonexistent/c", "--unbound")
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr, "attestctl policy sign add-signer: --key: /nonexistent/k: No "
                                   "such file or directory\n")


class OutputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def test_test_tokens_keep_attestd_marks(self):
        # Attack: --claims put x-attestd-demo on a normal provider's test token, or a false
        # one beside the real mark.
        for claims in ('{"x-attestd-demo": true}', '{"X-Attestd-Test-Token": false}'):
            with self.subTest(claims=claims):
                p = self.d.attestctl("token", "issue", "--provider", "default", "--claims",
                                     claims, check=False)
                self.assertEqual((p.returncode, p.stdout), (1, ""))
                name = list(json.loads(claims))[0]
                self.assertEqual(p.stderr, f"attestctl token issue: --claims: '{name}' is "
                                           "attestd's mark, not the caller's\n")

    def test_json_for_scripts_tables_for_people(self):
        as_json = json.loads(self.d.attestctl("provider", "list").stdout)  # not a terminal
        self.assertEqual(json.loads(self.d.attestctl("provider", "list", "--json").stdout),
                         as_json)
        table = self.d.attestctl("provider", "list", "--table").stdout.splitlines()
        self.assertEqual(table[0].split()[:4], ["name", "issuer", "signing_alg", "default"])
        self.assertEqual(table[1].split()[:4], ["default", as_json[0]["issuer"], "RS256", "true"])
        self.assertEqual(len(table), 1 + len(as_json))
        # an object: "name value" lines, then its lists as tables
        shown = self.d.attestctl("--table", "provider", "show", "default").stdout
        self.assertRegex(shown, r"(?m)^name\s+default$")
        self.assertRegex(shown, r"(?m)^keys:\n  kid\s+alg\s+")
        # --direct prints the same
        self.assertEqual(self.d.attestctl("--direct", "provider", "list", "--table").stdout,
                         "\n".join(table) + "\n")


if __name__ == "__main__":
    unittest.main()
