"""The man pages in docs/man (issue 17): attestctl(1) describes exactly the commands
`attestctl help` lists, attestd.conf(5) exactly the keys of src/server/config.c's table, and
attestd(8) every option `attestd --help` names; each carries the project's version; and they
format without a warning, the way lintian checks them (man-db's `man --warnings`, its
`lexgrog` for the NAME line, where installed; groff itself always).
"""
import os
import re
import shutil
import subprocess
import unittest

import harness as h
from test_cli import listed_commands

MAN = os.path.join(h.ROOT, "docs", "man")
PAGES = {"attestctl.1": "attestctl", "attestd.8": "attestd", "attestd.conf.5": "attestd.conf"}
# lintian's environment for man --warnings
MAN_ENV = dict(os.environ, LC_ALL="C.UTF-8", MANROFFSEQ="", MANWIDTH="80")


def page(name):
    return os.path.join(MAN, name)


def source(name):
    with open(page(name), encoding="utf-8") as f:
        return f.read()


def rendered(name):
    """The page as plain ASCII text, runs of blanks made one."""
    p = subprocess.run(["groff", "-man", "-Tascii", "-P-cbou", page(name)], env=MAN_ENV,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return re.sub(r"[ \t]+", " ", p.stdout)


def tags(text, section):
    """The tags (.TP's next line) of a section of a page's source, as roff has them."""
    body = text.split(f".SH {section}\n", 1)[1].split("\n.SH ", 1)[0]
    return re.findall(r"^\.TP\n(.*)$", body, re.M)


def config_keys():
    """The keys of the configuration table in src/server/config.c."""
    with open(os.path.join(h.ROOT, "src", "server", "config.c"), encoding="utf-8") as f:
        text = f.read()
    table = text.split("static const struct key_def keys[] = {", 1)[1].split("\n};", 1)[0]
    return re.findall(r'^\s*\{"([a-z0-9_]+)", K_', table, re.M)


class ManPagesTest(unittest.TestCase):
    def test_attestctl_lists_every_command(self):
        commands = listed_commands()
        self.assertIn("init", commands)
        described = [re.match(r"^\\fB(.*?)\\fR", tag).group(1).replace("\\-", "-")
                     for tag in tags(source("attestctl.1"), "COMMANDS")]
        self.assertEqual(sorted(described), sorted(commands))
        text = rendered("attestctl.1")
        for words in commands:
            with self.subTest(command=words):
                self.assertRegex(text, rf"(?m)^ {re.escape(words)}( |$)")
        # the global options of the usage, and the two getopt knows besides
        usage = subprocess.run([h.ATTESTCTL, "help"], stdout=subprocess.PIPE, text=True,
                               env=h.san_env(), timeout=60).stdout.split("\n\n", 1)[0]
        options = set(re.findall(r"--[a-z-]+", usage)) | {"--help", "--version"}
        self.assertEqual(len(options), 8)
        for option in options:
            with self.subTest(option=option):
                self.assertRegex(text, rf"(?m)^ (-[hV], )?{option}( |$)")

    def test_attestd_conf_names_every_key(self):
        keys = config_keys()
        self.assertGreater(len(keys), 70)
        self.assertIn("admin_socket", keys)
        described = [re.match(r"^\.B ([a-z0-9_]+)$", tag).group(1)
                     for tag in tags(source("attestd.conf.5"), "DESCRIPTION")]
        self.assertEqual(sorted(described), sorted(keys))
        text = rendered("attestd.conf.5")
        for key in keys:
            with self.subTest(key=key):
                self.assertRegex(text, rf"(?m)^ {key}( |$)")

    def test_attestd_names_every_option(self):
        p = h.run_attestd(["--help"])
        self.assertEqual(p.returncode, 0)
        options = re.findall(r"^  (-\w), (--[a-z-]+)", p.stdout, re.M)
        self.assertEqual([long for _, long in options],
                         ["--config", "--listen", "--data-dir", "--help", "--version"])
        text = rendered("attestd.8")
        for short, long in options:
            with self.subTest(option=long):
                self.assertRegex(text, rf"(?m)^ {short}, {long}( |$)")
        for section in ("OPTIONS", "SIGNALS", "THE KEY PROCESS", "THE ADMIN SOCKET",
                        "EXIT STATUS", "FILES"):
            self.assertIn(f"\n{section}\n", text)

    def test_version_and_names(self):
        version = h.project_version()
        for name, title in PAGES.items():
            with self.subTest(page=name):
                th = source(name).split(".TH ", 1)[1].split("\n", 1)[0]
                section = name.rsplit(".", 1)[1]
                self.assertEqual(th.split(" ", 2)[:2], [title.upper(), section])
                self.assertIn(f'"attestd {version}"', th)
                self.assertRegex(source(name), rf"\.SH NAME\n{re.escape(title)} \\- \S")

    def test_no_warnings(self):
        for name in PAGES:
            with self.subTest(page=name, tool="groff"):
                p = subprocess.run(["groff", "-man", "-ww", "-z", "-Tutf8", page(name)],
                                   env=MAN_ENV, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, timeout=60)
                self.assertEqual((p.returncode, p.stderr), (0, ""))
            if shutil.which("man"):
                with self.subTest(page=name, tool="man"):
                    p = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8",
                                        "-Z", page(name)], env=MAN_ENV,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                       text=True, timeout=60)
                    self.assertEqual((p.returncode, p.stderr), (0, ""))
            if shutil.which("lexgrog"):
                with self.subTest(page=name, tool="lexgrog"):
                    p = subprocess.run(["lexgrog", page(name)], env=MAN_ENV,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       text=True, timeout=60)
                    self.assertEqual(p.returncode, 0, p.stderr)
                    self.assertRegex(p.stdout, rf'^{re.escape(page(name))}: "'
                                               rf'{re.escape(PAGES[name])} - ')


if __name__ == "__main__":
    unittest.main()
