#!/usr/bin/env python3
"""Run every attestd test and print one closing line: "N passed, N failed".

- unit tests: the cmocka executables meson registered (suite "unit"); each test case counts.
- fuzz replays: every fuzz target over its seed corpus (suite "fuzz"); each target counts.
- black-box tests: tests/integration/test_*.py (unittest), each test method counts; they start
  the real daemon from BUILD and speak HTTPS to it; with a second build dir (ThreadSanitizer)
  they run again against that daemon.
Sanitizers: ASan + UBSan abort on the first report, so a report is a failure.
"""
import json
import os
import re
import subprocess
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAN_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1:strict_string_checks=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}


def run_meson_suite(build, suite):
    tests = json.loads(subprocess.check_output(["meson", "introspect", "--tests", build]))
    passed = failed = 0
    env = dict(os.environ, **SAN_ENV)
    for t in tests:
        if suite not in t["suite"] and f"attestd:{suite}" not in t["suite"]:
            continue
        proc = subprocess.run(t["cmd"], cwd=t.get("workdir") or ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=600)
        out = proc.stdout
        if suite == "unit":
            ok = re.search(r"\[  PASSED  \] (\d+) test", out)
            bad = re.search(r"\[  FAILED  \] (\d+) test", out)
            n_ok = int(ok.group(1)) if ok else 0
            n_bad = int(bad.group(1)) if bad else 0
            if proc.returncode != 0 and n_bad == 0:
                n_bad = 1  # crashed or sanitizer report before cmocka's summary
            passed += n_ok
            failed += n_bad
        else:
            n_bad = 1 if proc.returncode != 0 else 0
            passed += 1 - n_bad
            failed += n_bad
        status = "ok" if proc.returncode == 0 else "FAIL"
        print(f"{suite}: {t['name']}: {status}")
        if proc.returncode != 0:
            print(out[-6000:])
    return passed, failed


class CountingResult(unittest.TextTestResult):
    pass


def run_integration(build):
    os.environ["ATTESTD_BUILD"] = os.path.abspath(build)
    if os.path.join(ROOT, "tests", "integration") not in sys.path:
        sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    suite = unittest.defaultTestLoader.discover(os.path.join(ROOT, "tests", "integration"),
                                                pattern="test_*.py",
                                                top_level_dir=os.path.join(ROOT, "tests", "integration"))
    runner = unittest.TextTestRunner(verbosity=2, stream=sys.stdout, resultclass=CountingResult)
    result = runner.run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    return result.testsRun - failed - len(result.skipped), failed, len(result.skipped)


def run_lint():
    proc = subprocess.run(["scripts/lint.sh"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    print(f"lint: banned calls: {'ok' if proc.returncode == 0 else 'FAIL'}")
    if proc.returncode != 0:
        print(proc.stdout)
    return (1, 0) if proc.returncode == 0 else (0, 1)


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build-asan"
    tsan_build = sys.argv[2] if len(sys.argv) > 2 else None
    os.chdir(ROOT)
    p0, f0 = run_lint()
    p1, f1 = run_meson_suite(build, "unit")
    p2, f2 = run_meson_suite(build, "fuzz")
    p3, f3, skipped = run_integration(build)
    p4 = f4 = 0
    if tsan_build:
        print("black-box again against the ThreadSanitizer build (worker threads, reloads)")
        p4, f4, s4 = run_integration(tsan_build)
        skipped += s4
    passed, failed = p0 + p1 + p2 + p3 + p4, f0 + f1 + f2 + f3 + f4
    print(f"lint: {p0} passed, {f0} failed; unit: {p1} passed, {f1} failed; "
          f"fuzz replay: {p2} passed, {f2} failed; black-box (ASan+UBSan): {p3} passed, "
          f"{f3} failed; black-box (TSan): {p4} passed, {f4} failed; {skipped} skipped")
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
