"""Giving up root (user = NAME; docs/operations.md "Running as a service user"), black-box.

attestd is started as root with `user = nobody` and a data directory that belongs to nobody,
except the KEK file, which stays root's (mode 600):
- the network process runs as nobody, with no_new_privs and no capability; the key supervisor
  stays root; the key worker runs as nobody, with no_new_privs;
- nobody (so the network process, were it taken over) can read neither the KEK file nor the
  worker's memory;
- attestation and a policy change (a write to the store) work, and every file the daemon made
  belongs to nobody;
- a key worker killed is started again by the supervisor, which reads the root-only KEK, while
  the network process stays nobody;
- refusals: an unknown user; a user other than itself when not started as root.
Skipped when the tests do not run as root, or where nobody can reach no file (a chroot whose
root directory has mode 0700).
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import harness as h
import test_attest_testpki as tp
from test_key_process import key_process_pid, supervisor_pid

NOBODY = 65534


def status_of(pid):
    """/proc/PID/status as a dict of its fields."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def become_nobody():
    """preexec_fn of a child that runs as nobody."""
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def as_nobody(code):
    """Run Python `code` as nobody: its exit status and output."""
    proc = subprocess.run(["/usr/bin/python3", "-c", code], preexec_fn=become_nobody,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=30)
    return proc.returncode, proc.stdout


def give_to_nobody(d):
    """The data directory to nobody, the KEK file kept root's; the way there traversable."""
    os.chmod(d.tmp, 0o755)
    for top, dirs, files in os.walk(d.data):
        for name in dirs + files:
            os.chown(os.path.join(top, name), NOBODY, NOBODY)
    os.chown(d.data, NOBODY, NOBODY)
    kek = os.path.join(d.data, "kek.key")
    os.chown(kek, 0, 0)
    os.chmod(kek, 0o600)


def cannot_drop_here():
    return h.nobody_cannot_run_here()


@unittest.skipIf(cannot_drop_here(), cannot_drop_here())
class PrivilegeDropTest(unittest.TestCase):
    time_limit = 180

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="attestd-privdrop-")
        cls.quote, bundle, cls.root = tp.make_evidence(
            os.path.join(cls.tmp, "ev"), "--report-data", tp.report_data_for(tp.RUNTIME_JSON))
        os.chmod(cls.tmp, 0o755)
        for top, dirs, files in os.walk(cls.tmp):
            for name in dirs:
                os.chmod(os.path.join(top, name), 0o755)
        cls.d = h.Daemon(config=f"dcap_trust_anchors = {cls.root}\nkey_process = enabled\n"
                                "user = nobody\n", start=False)
        try:
            cls.d.attestctl("collateral", "import", bundle)
            give_to_nobody(cls.d)
            cls.d.start()
        except BaseException:
            cls.d.cleanup()
            raise

    def test_0_service_user_is_no_administrator(self):
        # Attack: the network process's own user administered attestd through the admin
        # socket (and could rewrap the keys under a KEK of its own). Sent to open the store
        # itself, it cannot: the KEK is root's.
        p = subprocess.run([h.ATTESTCTL, "--config", self.d.config_path, "--data-dir",
                            self.d.data, "provider", "list"], preexec_fn=become_nobody,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=h.san_env(), timeout=60)
        self.assertEqual((p.returncode, p.stdout), (1, ""))
        self.assertIn("key-encryption key", p.stderr)
        self.assertNotIn("may not administer", p.stderr)
        # root, through the socket, still administers it
        self.assertEqual(json.loads(self.d.attestctl("provider", "show", "default").stdout)
                         ["name"], "default")

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def attest(self):
        token = tp.attest_token(self.d, self.quote)
        h.verify_jws(token, self.d.get_json("/certs")[2])

    def test_1_who_runs_what(self):
        d = self.d
        self.assertIn('"msg":"running as the service user"', d.logs())
        net = status_of(d.proc.pid)
        self.assertEqual(net["Uid"].split(), [str(NOBODY)] * 4)
        self.assertEqual(net["Gid"].split(), [str(NOBODY)] * 4)
        self.assertEqual(net["NoNewPrivs"], "1")
        for caps in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
            self.assertEqual(int(net[caps], 16), 0, caps)
        self.assertEqual(status_of(supervisor_pid(d))["Uid"].split()[0], "0",
                         "the supervisor keeps root, to read the KEK for a new worker")
        worker = status_of(key_process_pid(d))
        self.assertEqual(worker["Uid"].split(), [str(NOBODY)] * 4)
        self.assertEqual(worker["NoNewPrivs"], "1")

    def test_2_nobody_reads_neither_kek_nor_worker(self):
        d = self.d
        for path in (os.path.join(d.data, "kek.key"), f"/proc/{key_process_pid(d)}/mem"):
            code, out = as_nobody(f"open({path!r}, 'rb').read(1)")
            self.assertNotEqual(code, 0, path)
            self.assertIn("PermissionError", out, path)

    def test_3_attest_and_change(self):
        d = self.d
        self.attest()
        owner = {"Authorization": "Bearer " + h.owner_token(d)}
        text = "version=1.0;\nauthorizationrules{\n=> permit();\n};\nissuancerules{};\n"
        status, body = h.put_policy(d, text, owner)
        self.assertEqual(status, 200, body)
        self.attest()
        for top, dirs, files in os.walk(d.data):
            for name in dirs + files:
                path = os.path.join(top, name)
                if name != "kek.key":
                    self.assertEqual(os.stat(path).st_uid, NOBODY, path)

    def test_4_worker_restart_without_root_in_the_network_process(self):
        d = self.d
        old = key_process_pid(d)
        os.kill(old, signal.SIGKILL)
        d.wait_log("restarted the key worker", timeout=15)
        new = key_process_pid(d)
        self.assertNotEqual(new, old)
        self.assertEqual(status_of(new)["Uid"].split()[0], str(NOBODY))
        self.assertEqual(status_of(d.proc.pid)["Uid"].split()[0], str(NOBODY))
        self.attest()

    def test_5_worker_dies_with_the_supervisor(self):
        """The change of user clears the parent-death signal; the worker sets it again, so a
        supervisor killed takes its worker (and every key) with it. (Last: signing is gone
        for good then - a new supervisor runs as nobody and cannot read the KEK.)"""
        d = self.d
        worker = key_process_pid(d)
        os.kill(supervisor_pid(d), signal.SIGKILL)
        deadline = time.monotonic() + 5
        while os.path.exists(f"/proc/{worker}") and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertFalse(os.path.exists(f"/proc/{worker}"), "the worker outlived its supervisor")
        d.wait_log("cannot restart the key worker", timeout=15)
        self.assertEqual(d.get_json("/readyz")[0], 503)
        self.assertEqual(d.get_json("/certs")[0], 200)


@unittest.skipIf(cannot_drop_here(), cannot_drop_here())
class RefusalTest(unittest.TestCase):
    time_limit = 60

    def test_tls_key_through_a_planted_link(self):
        # Review: root read tls_key through a link the service user planted in its data
        # directory, and served another service's root-only key.
        d = h.Daemon(config="user = nobody\n", start=False)
        self.addCleanup(d.cleanup)
        give_to_nobody(d)
        secret = tempfile.mkdtemp(prefix="attestd-other-")  # root's, 0700
        self.addCleanup(shutil.rmtree, secret, True)
        other = os.path.join(secret, "other.key")
        shutil.copy(os.path.join(d.data, "tls", "server.key"), other)
        key = os.path.join(d.data, "tls", "server.key")
        os.rename(key, key + ".orig")
        os.symlink(other, key)
        os.lchown(key, NOBODY, NOBODY)
        proc = h.run_attestd(["--config", d.config_path, "--data-dir", d.data])
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(h.startup_failure(proc),
                         f"tls: {key}: a symbolic link on the way lies in a directory others "
                         "than root may change, or the file is missing; attestd reads it as "
                         "root: name the file itself")

    def test_unknown_user(self):
        d = h.Daemon(config="user = no-such-user-here\n", start=False)
        self.addCleanup(d.cleanup)
        proc = h.run_attestd(["--config", d.config_path, "--data-dir", d.data])
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("user no-such-user-here: no such user", proc.stderr)

    def test_only_root_changes_user(self):
        d = h.Daemon(config="user = root\n", start=False)
        self.addCleanup(d.cleanup)
        give_to_nobody(d)
        os.chown(os.path.join(d.data, "kek.key"), NOBODY, NOBODY)
        proc = subprocess.run([h.ATTESTD, "--config", d.config_path, "--data-dir", d.data],
                              env=h.san_env(), preexec_fn=become_nobody, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(f"user root: attestd runs as uid {NOBODY}; only root can change user",
                      proc.stderr)


if __name__ == "__main__":
    unittest.main()
