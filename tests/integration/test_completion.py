"""Bash completion of attestctl (completion/attestctl.bash; issue 17): sourced in bash, with
the command line as bash hands it to a completion function (COMP_WORDS, COMP_CWORD), it offers
the global options, the command words one level at a time, each command's options and the
choices of their values, read from attestctl's own help; and file or directory names where
the usage names a file or a directory.
"""
import os
import shlex
import shutil
import subprocess
import tempfile
import unittest

import harness as h
from test_cli import listed_commands

SCRIPT = os.path.join(h.ROOT, "completion", "attestctl.bash")


class CompletionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="attestd-completion-")
        for name in ("bundle.json", "signer.pem"):
            with open(os.path.join(cls.dir, name), "w", encoding="ascii") as f:
                f.write("x")
        os.mkdir(os.path.join(cls.dir, "out"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def complete(self, *words, program="attestctl"):
        """What the completion offers for the last of `words` (sorted, one each)."""
        line = " ".join(shlex.quote(w) for w in (program,) + words)
        script = (f"source {shlex.quote(SCRIPT)}\n"
                  f"COMP_WORDS=({line}); COMP_CWORD={len(words)}\n"
                  "_attestctl\n"
                  'printf "%s\\n" "${COMPREPLY[@]}"\n')
        env = h.san_env({"PATH": h.BUILD + os.pathsep + os.environ.get("PATH", "")})
        p = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], cwd=self.dir,
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=60)
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        return sorted(line for line in p.stdout.splitlines() if line)

    def test_registered(self):
        p = subprocess.run(["bash", "--norc", "--noprofile", "-c",
                            f"source {shlex.quote(SCRIPT)}; complete -p attestctl"],
                           stdout=subprocess.PIPE, text=True, timeout=60)
        self.assertEqual(p.stdout, "complete -F _attestctl attestctl\n")

    def test_global_options_and_command_words(self):
        first = sorted({words.split()[0] for words in listed_commands()} | {"help"})
        self.assertIn("init", first)
        self.assertEqual(self.complete(""), first)
        self.assertEqual(self.complete("", program=h.ATTESTCTL), first)  # by its path
        self.assertEqual(self.complete("--"), ["--config", "--data-dir", "--direct", "--help",
                                               "--json", "--socket", "--table", "--version"])
        self.assertEqual(self.complete("pr"), ["principal", "provider"])

    def test_nested_command_words(self):
        self.assertEqual(self.complete("provider", ""),
                         ["create", "delete", "list", "rotate-key", "set", "show"])
        self.assertEqual(self.complete("--config", "a.conf", "--direct", "principal", "secret",
                                       ""), ["add", "revoke"])
        self.assertEqual(self.complete("help", "policy", "sign", ""),
                         ["add-signer", "remove-signer", "reset", "rollback", "set"])
        self.assertEqual(self.complete("provider", "frob", ""), [])

    def test_options_of_a_command(self):
        self.assertEqual(self.complete("provider", "set", "tenant-a", "--"),
                         ["--attest-requires-auth", "--audit-fail-open", "--collateral-grace",
                          "--help", "--issuer", "--json", "--policy-history-keep",
                          "--require-bound-requests", "--table"])
        self.assertEqual(self.complete("init", "--"),
                         ["--help", "--json", "--name", "--self-signed", "--table"])
        self.assertEqual(self.complete("role", "assign", "--"),
                         ["--group", "--help", "--issuer", "--json", "--principal", "--provider",
                          "--role", "--subject", "--table"])
        # no argument left to give: the options
        self.assertEqual(self.complete("eventlog", "show", "log.bin", ""),
                         ["--ccel", "--help", "--json", "--table"])

    def test_choices(self):
        self.assertEqual(self.complete("provider", "set", "t", "--audit-fail-open", ""),
                         ["off", "on"])
        self.assertEqual(self.complete("provider", "create", "t", "--alg", "E"), ["ES256"])
        self.assertEqual(self.complete("verify", ""), ["oe", "sgx", "snp", "tdx", "tpm"])
        self.assertEqual(self.complete("inspect", "a"), ["azure"])
        # names the operator makes up are not guessed
        self.assertEqual(self.complete("provider", "show", ""), [])
        self.assertEqual(self.complete("role", "assign", "--principal", ""), [])
        self.assertEqual(self.complete("audit", "show", "--principal", ""), [])

    def test_files_and_directories(self):
        files = ["bundle.json", "out", "signer.pem"]
        self.assertEqual(self.complete("collateral", "import", ""), files)
        self.assertEqual(self.complete("inspect", "tpm", ""), files)
        self.assertEqual(self.complete("--config", ""), files)
        self.assertEqual(self.complete("backup", "create", "b", "--key-file", "s"),
                         ["signer.pem"])
        self.assertEqual(self.complete("provider", "create", "t", "--isolated", "--signer", ""),
                         files)
        self.assertEqual(self.complete("demo", ""), ["out"])
        self.assertEqual(self.complete("--data-dir", ""), ["out"])
        self.assertEqual(self.complete("restore", "f.backup", "--data-dir", ""), ["out"])


if __name__ == "__main__":
    unittest.main()
