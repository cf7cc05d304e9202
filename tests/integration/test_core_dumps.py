"""Keys stay out of core dumps (docs/operations.md, "Core dumps"), black-box.

By default attestd makes itself non-dumpable (prctl PR_SET_DUMPABLE 0) and sets its core file
size limit to 0, soft and hard, before it reads any key; core_dumps = enabled leaves both as
they were. Seen from outside: /proc/PID/limits shows the limit, and the files of a
non-dumpable process in /proc/PID belong to root instead of the process's user (proc(5),
"/proc/pid"), so the daemon runs as nobody here. The sanitizers lower the soft core limit to
0 themselves (their disable_coredump option); it is turned off so the limits seen are
attestd's. The key memory inside (MADV_DONTDUMP) is
covered by the unit tests of src/core/mem.c and src/seal/keyring.c.
"""
import os
import pwd
import resource
import shutil
import signal
import subprocess
import time
import unittest

import harness as h

NOBODY = pwd.getpwnam("nobody")
CORE_LIMIT = (1 << 20, resource.RLIM_INFINITY)  # what the daemon starts with
NO_SANITIZER_CORE_LIMIT = {name: h.SAN_ENV[name] + ":disable_coredump=0"
                           for name in ("ASAN_OPTIONS", "TSAN_OPTIONS")}


def chown_tree(path, uid, gid):
    os.chown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, gid)


def as_nobody_with_core_limit():
    resource.setrlimit(resource.RLIMIT_CORE, CORE_LIMIT)
    os.setgroups([])
    os.setgid(NOBODY.pw_gid)
    os.setuid(NOBODY.pw_uid)


class NobodyDaemon:
    """attestd run as nobody (the harness runs it as the test's user, root)."""

    def __init__(self, config):
        self.tmp, self.data = h.new_data_dir()
        self.port = h.free_port()
        self.config_path = os.path.join(self.tmp, "attestd.conf")
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(config + f"\nlisten = 127.0.0.1:{self.port}\n")
        # A copy nobody may run: the checkout may sit where nobody cannot reach it (a clone
        # in /root, or a home directory of mode 0700, as in a fresh Debian root).
        self.binary = os.path.join(self.tmp, "attestd")
        shutil.copyfile(h.ATTESTD, self.binary)
        os.chmod(self.binary, 0o755)
        chown_tree(self.tmp, NOBODY.pw_uid, NOBODY.pw_gid)
        self.stderr_path = os.path.join(self.tmp, "stderr.log")
        self.stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [self.binary, "--config", self.config_path, "--data-dir", self.data],
            env=h.san_env(NO_SANITIZER_CORE_LIMIT), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=self.stderr, preexec_fn=as_nobody_with_core_limit)
        deadline = time.monotonic() + h.START_TIMEOUT
        while '"msg":"attestd ready"' not in self.logs():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                _, text = self.stop()
                raise AssertionError(f"attestd did not start:\n{text}")
            time.sleep(0.05)

    def logs(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=h.STOP_TIMEOUT)
        self.stderr.close()
        text = self.logs()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return code, text


def core_limit_of(pid):
    """The "Max core file size" soft and hard limits of a process, as text."""
    with open(f"/proc/{pid}/limits", encoding="ascii") as f:
        for line in f:
            if line.startswith("Max core file size"):
                return line.split()[4:6]
    raise AssertionError("no core limit line")


def nobody_can_run_programs():
    """False where nobody may not run anything at all: a chroot whose root directory is not
    searchable by others (a root made by mktemp -d has mode 0700), where exec fails for any
    path. A real system's / is searchable."""
    try:
        subprocess.run(["/bin/true"], check=True, preexec_fn=as_nobody_with_core_limit,
                       timeout=30)
        return True
    except PermissionError:
        return False


class CoreDumpTest(unittest.TestCase):
    def run_nobody(self, config):
        if not nobody_can_run_programs():
            self.skipTest("nobody cannot run programs here: the root directory is not "
                          f"searchable by others (mode {os.stat('/').st_mode & 0o777:o})")
        d = NobodyDaemon(config)
        try:
            pid = d.proc.pid
            return core_limit_of(pid), os.stat(f"/proc/{pid}/status").st_uid
        finally:
            code, text = d.stop()
            self.assertEqual(code, 0, text[-4000:])
            self.assertEqual(h.sanitizer_problems(text), [], text[-4000:])

    def test_default_not_dumpable_and_no_core(self):
        limit, status_uid = self.run_nobody("")
        self.assertEqual(limit, ["0", "0"])
        # Not dumpable: its /proc files belong to root, not to nobody.
        self.assertEqual(status_uid, 0)

    def test_enabled_for_debugging(self):
        limit, status_uid = self.run_nobody("core_dumps = enabled")
        self.assertEqual(limit, [str(CORE_LIMIT[0]), "unlimited"])
        self.assertEqual(status_uid, NOBODY.pw_uid)

    def test_logged_at_start(self):
        d = h.Daemon()
        try:
            e = d.wait_log("core dumps disabled")[0]
            self.assertEqual(e["dumpable"], 0)
            self.assertEqual(core_limit_of(d.proc.pid), ["0", "0"])
        finally:
            d.cleanup()
        d = h.Daemon(config="core_dumps = enabled")
        try:
            e = d.wait_log("core dumps are allowed (core_dumps = enabled)")[0]
            self.assertEqual(e["level"], "warn")
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
