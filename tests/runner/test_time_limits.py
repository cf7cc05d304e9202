"""The time limits of tests/run_tests.py and tests/run_module.py, on modules that hang on purpose
(fixture_hang.py, fixture_stuck.py): a test past its limit fails by name, its cleanups run and
the module goes on; a module past its limit is killed together with the processes its tests
started, and the test in progress fails by name."""
import os
import shutil
import sys
import tempfile
import time
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import run_tests  # noqa: E402


def gone(pid, wait=5.0):
    """True once process `pid` no longer runs (a zombie left to be reaped counts as gone)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


class TimeLimitsTest(unittest.TestCase):
    def setUp(self):
        self.marks = tempfile.mkdtemp(prefix="attestd-runner-")
        self.addCleanup(shutil.rmtree, self.marks, True)
        env = mock.patch.dict(os.environ, ATTESTD_RUNNER_MARKS=self.marks)
        env.start()
        self.addCleanup(env.stop)

    def run_fixture(self, name, limit):
        """(Tally, output, seconds) of run_tests.run_module on the fixture module `name`."""
        with tempfile.TemporaryFile("w+", encoding="utf-8") as log:
            t0 = time.monotonic()
            tally = run_tests.run_module(os.path.join(HERE, name + ".py"), run_tests.ROOT,
                                         limit=limit, log=log)
            seconds = time.monotonic() - t0
            log.seek(0)
            return tally, log.read(), seconds

    def test_test_past_its_limit_fails_by_name_and_the_module_goes_on(self):
        tally, out, seconds = self.run_fixture("fixture_hang", limit=60)
        self.assertEqual(tally.failures, [
            "fixture_hang.Hangs.test_2_spins: ran past its time limit of 1 s",
            "fixture_hang.Hangs.test_3_blocks: ran past its time limit of 1 s"], out)
        self.assertEqual((tally.passed, tally.failed, tally.skipped), (3, 2, 0), out)
        self.assertIn("TestTimeout: fixture_hang.Hangs.test_2_spins ran past its time limit "
                      "of 1 s", out)
        self.assertTrue(os.path.exists(os.path.join(self.marks, "cleanup-ran")),
                        "the cleanups of a test that timed out still run")
        self.assertTrue(os.path.exists(os.path.join(self.marks, "after")))
        self.assertLess(seconds, 1 + 1 + 2 + 10)

    def test_module_past_its_limit_is_killed_with_what_its_tests_started(self):
        tally, out, seconds = self.run_fixture("fixture_stuck", limit=4)
        self.assertEqual(tally.failures, [
            "fixture_stuck.Stuck.test_2_ignores_the_alarm: killed at the module's time limit "
            "of 4 s (2 of its 3 tests unfinished)"], out)
        self.assertEqual((tally.passed, tally.failed), (1, 1), out)
        self.assertLess(seconds, 4 + 5)
        with open(os.path.join(self.marks, "helper-pid"), encoding="ascii") as f:
            helper = int(f.read())
        self.assertTrue(gone(helper), f"the helper process {helper} the test started still runs")


if __name__ == "__main__":
    unittest.main()
