#!/usr/bin/python3
"""Run every attestd test and print one closing line: "N passed, N failed" (", N skipped").

- lint: scripts/lint.sh (banned calls, formatting); counts one.
- unit tests: the cmocka executables meson registered (suite "unit"); each test case counts.
- fuzz replays: every fuzz target over its seed corpus (suite "fuzz"); each target counts.
- runner self-test: tests/runner/test_*.py, that the time limits below hold.
- black-box tests: tests/integration/test_*.py (unittest), each test method counts; they start
  the real daemon from BUILD and speak HTTPS to it; with a second build dir (ThreadSanitizer)
  the modules that exercise threads (TSAN_MODULES) run again against that daemon, in a second
  pass alongside the first.
- package: tests/package/test_*.py, the Debian package built, checked and installed into a
  fresh Debian root, after everything else (PACKAGE_LIMIT for the module).
Sanitizers: ASan + UBSan abort on the first report, so a report is a failure.

Time limits, so that a hang fails with its name and the run goes on:
- a unit or fuzz replay executable: BINARY_LIMIT seconds (one fuzz input: replay_main.c);
- a black-box test: run_module.TEST_LIMIT seconds, unless it declares more (run_module.py);
- a black-box module: MODULE_LIMIT seconds. Each module runs in a child process of its own
  (run_module.py) in a process group of its own; past the limit the group is killed, with the
  daemons and helpers its tests started, and the test in progress fails by name.
scripts/test.sh runs this with /usr/bin/python3 (Debian's, as scripts/deps.sh installs it);
the modules run under the same interpreter (sys.executable), and so does pcs_server.py.
"""
import concurrent.futures
import glob
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pg_server

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN_MODULE = os.path.join(ROOT, "tests", "run_module.py")
SAN_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1:strict_string_checks=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}
BINARY_LIMIT = 300
MODULE_LIMIT = 300
PACKAGE_LIMIT = 1800  # the package test: a release build, lintian, a debootstrap


class Tally:
    """Counts of one stage, and the name and reason of each failure."""

    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        self.failures = []
        self.slowest = (0, None)  # (seconds, name) of the slowest black-box test

    def count(self, outcome, name):
        if outcome == "passed":
            self.passed += 1
        elif outcome == "skipped":
            self.skipped += 1
        else:
            self.fail(name, outcome)

    def fail(self, name, reason, count=1):
        self.failed += count
        self.failures.append(f"{name}: {reason}")

    def add(self, other):
        self.passed += other.passed
        self.failed += other.failed
        self.skipped += other.skipped
        self.failures += other.failures
        self.slowest = max(self.slowest, other.slowest, key=lambda s: s[0])


def kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run_limited(cmd, limit, **kwargs):
    """Run cmd in a process group of its own, its output captured; past `limit` seconds the
    group is killed. Returns (the exit code, or None when the limit passed; the output)."""
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          start_new_session=True, **kwargs) as proc:
        try:
            out = proc.communicate(timeout=limit)[0]
            return proc.returncode, out
        except subprocess.TimeoutExpired:
            kill_group(proc.pid)
            return None, proc.communicate()[0]


def run_meson_suite(build, suite):
    tests = json.loads(subprocess.check_output(["meson", "introspect", "--tests", build]))
    tally = Tally()
    env = dict(os.environ, **SAN_ENV)
    for t in tests:
        if suite not in t["suite"] and f"attestd:{suite}" not in t["suite"]:
            continue
        name = f"{suite}: {t['name']}"
        rc, out = run_limited(t["cmd"], BINARY_LIMIT, cwd=t.get("workdir") or ROOT, env=env)
        if rc is None:
            tally.fail(name, f"ran past its time limit of {BINARY_LIMIT} s")
        elif suite == "unit":
            # One summary per cmocka group (the store tests run a group per backend).
            ok = re.findall(r"\[  PASSED  \] (\d+) test", out)
            bad = re.findall(r"\[  FAILED  \] (\d+) test", out)
            tally.passed += sum(int(n) for n in ok)
            if bad:
                cases = dict.fromkeys(re.findall(r"^\[  FAILED  \] (\w+)$", out, re.M))
                tally.fail(name, "failed: " + " ".join(cases), count=sum(int(n) for n in bad))
            elif rc != 0:  # crashed or sanitizer report before cmocka's summary
                tally.fail(name, f"exited with {rc}")
        elif rc == 0:
            tally.passed += 1
        else:
            tally.fail(name, f"exited with {rc}")
        print(f"{name}: {'ok' if rc == 0 else 'FAIL'}")
        if rc != 0:
            print(out[-6000:])
    return tally


def wait_exit(pid, limit):
    """Wait up to `limit` seconds for child `pid` to exit; True if it did. The child is left
    unreaped: while it is a zombie its process group id cannot be reused, so killing that group
    afterwards cannot hit anyone else."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
            return True
        time.sleep(0.1)
    return False


def run_module(path, build, limit=MODULE_LIMIT, log=None):
    """Run one unittest module through run_module.py in a child process, within `limit`
    seconds; its output goes to `log` (a file), by default straight to ours. Returns its
    Tally."""
    module = os.path.splitext(os.path.basename(path))[0]
    with tempfile.NamedTemporaryFile("r", prefix=f"attestd-{module}-", suffix=".jsonl") as f:
        sys.stdout.flush()
        proc = subprocess.Popen([sys.executable, RUN_MODULE, path, f.name],
                                env=dict(os.environ, ATTESTD_BUILD=os.path.abspath(build)),
                                stdin=subprocess.DEVNULL, stdout=log,
                                stderr=None if log is None else subprocess.STDOUT,
                                start_new_session=True)
        exited = wait_exit(proc.pid, limit)
        kill_group(proc.pid)  # at the limit: all of it; else whatever its tests left running
        proc.wait()
        events = [json.loads(line) for line in f if line.endswith("\n")]
    tally = Tally()
    planned, running, last, finished = 0, None, None, 0
    for e in events:
        if "planned" in e:
            planned = e["planned"]
        elif "start" in e:
            running = e["start"]
        elif "test" in e:
            running, last, finished = None, e["test"], finished + 1
            tally.count(e["outcome"], e["test"])
            tally.slowest = max(tally.slowest, (e["seconds"], e["test"]), key=lambda s: s[0])
        elif "fixture" in e:
            tally.count(e["outcome"], e["fixture"])
    where = running or (f"{module}, the fixtures after {last}" if last else module)
    if not exited:
        tally.fail(where, f"killed at the module's time limit of {limit} s "
                          f"({planned - finished} of its {planned} tests unfinished)")
    elif not any(e.get("done") for e in events) or proc.returncode != 0:
        tally.fail(where, f"the test process ended with {proc.returncode} before the module did")
    return tally


# The modules the ThreadSanitizer pass runs: those whose daemons exercise threads - the event
# loops and worker pool, reloads, the key process, the audit writer and alert threads, several
# nodes and their change watchers. The ASan+UBSan pass runs every module; ATTESTD_TSAN_ALL=1
# runs every module under TSan too.
TSAN_MODULES = {
    "test_admin_socket.py", "test_alerts.py", "test_audit.py", "test_backoff.py",
    "test_connections.py", "test_failover.py", "test_http.py", "test_key_process.py",
    "test_logs.py", "test_metrics.py", "test_pool.py", "test_scaleout.py", "test_startup.py",
    "test_tls.py",
}


def run_modules(pattern, build, label, print_lock=None, limit=MODULE_LIMIT, only=None):
    """Run the modules one after another (those named in `only`, when given). With print_lock
    (passes running side by side), each module's output is kept in a file and printed whole
    when the module ends."""
    tally = Tally()
    for path in sorted(glob.glob(os.path.join(ROOT, pattern))):
        if only is not None and os.path.basename(path) not in only:
            continue
        t0 = time.monotonic()
        with tempfile.TemporaryFile("w+") as log:
            t = run_module(path, build, limit=limit, log=log if print_lock else None)
            line = (f"{label}: {os.path.basename(path)}: {t.passed} passed, {t.failed} failed "
                    f"in {time.monotonic() - t0:.0f} s (slowest: {t.slowest[1]}, "
                    f"{t.slowest[0]} s)")
            if print_lock is None:
                print(line)
            else:
                log.seek(0)
                with print_lock:
                    sys.stdout.write(log.read())
                    print(line)
        tally.add(t)
    return tally


def run_side_by_side(passes):
    """Run black-box passes [(label, build)] at once, each in a thread of its own: the tests
    mostly wait (daemons starting, timeouts, scrypt on one core), so two passes take little
    longer than one on two cores. Returns [(label, Tally)] in the order given."""
    lock = threading.Lock()
    with concurrent.futures.ThreadPoolExecutor(len(passes)) as pool:
        futures = [pool.submit(run_modules, "tests/integration/test_*.py", build, label, lock,
                               MODULE_LIMIT, only)
                   for label, build, only in passes]
        return [(label, f.result()) for (label, _, _), f in zip(passes, futures)]


def run_lint():
    proc = subprocess.run(["scripts/lint.sh"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    print(f"lint: banned calls: {'ok' if proc.returncode == 0 else 'FAIL'}")
    tally = Tally()
    if proc.returncode == 0:
        tally.passed = 1
    else:
        print(proc.stdout)
        tally.fail("lint", "scripts/lint.sh failed")
    return tally


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build-asan"
    tsan_build = sys.argv[2] if len(sys.argv) > 2 else None
    os.chdir(ROOT)
    sys.stdout.reconfigure(line_buffering=True)
    # One PostgreSQL server for the whole run (tests/pg_server.py): the store's unit tests run
    # on it as on SQLite, and black-box tests may use it; it goes when the run ends.
    pg_tally = Tally()
    try:
        pg, pg_skip = pg_server.start_for_run()
    except (OSError, subprocess.SubprocessError, RuntimeError) as e:
        pg, pg_skip = None, None
        detail = getattr(e, "output", None) or str(e)
        pg_tally.fail("postgresql test server", f"cannot start: {detail}")
    if pg is not None:
        os.environ["ATTESTD_TEST_PG"] = pg.url
        print(f"postgresql: test server on {pg.url}")
    elif pg_skip:
        print(f"postgresql: no test server ({pg_skip}); its tests are skipped")
    try:
        run_all(build, tsan_build, pg_tally)
    finally:
        if pg is not None:
            pg.destroy()


def run_all(build, tsan_build, pg_tally):
    stages = [("postgresql", pg_tally),
              ("lint", run_lint()),
              ("unit", run_meson_suite(build, "unit")),
              ("fuzz replay", run_meson_suite(build, "fuzz")),
              ("runner self-test", run_modules("tests/runner/test_*.py", build, "runner"))]
    passes = [("black-box (ASan+UBSan)", build, None)]
    if tsan_build:
        print("black-box against the ASan+UBSan build and, side by side, the ThreadSanitizer "
              "build (the modules that exercise threads: TSAN_MODULES)")
        tsan_only = None if os.environ.get("ATTESTD_TSAN_ALL") == "1" else TSAN_MODULES
        passes.append(("black-box (TSan)", tsan_build, tsan_only))
    stages += run_side_by_side(passes)
    # Last and alone: it builds, downloads and installs (tests/package/test_package.py).
    stages.append(("package", run_modules("tests/package/test_*.py", build, "package",
                                          limit=PACKAGE_LIMIT)))
    total = Tally()
    for name, tally in stages:
        total.add(tally)
        for failure in tally.failures:
            print(f"FAILED ({name}) {failure}")
    print("; ".join(f"{name}: {t.passed} passed, {t.failed} failed" for name, t in stages) +
          f"; {total.skipped} skipped")
    line = f"{total.passed} passed, {total.failed} failed"
    if total.skipped:
        line += f", {total.skipped} skipped"
    print(line)
    sys.exit(1 if total.failed else 0)


if __name__ == "__main__":
    main()
