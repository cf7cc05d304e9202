"""Tests that hang on purpose, for test_time_limits.py (not named test_*, so no run picks them up
by themselves). They leave marks in the directory ATTESTD_RUNNER_MARKS names."""
import os
import time
import unittest


def mark(name):
    with open(os.path.join(os.environ["ATTESTD_RUNNER_MARKS"], name), "w", encoding="utf-8"):
        pass


class Hangs(unittest.TestCase):
    time_limit = 1  # seconds, for every test here (run_module.TEST_LIMIT otherwise)

    def test_1_passes(self):
        pass

    def test_2_spins(self):
        self.addCleanup(mark, "cleanup-ran")
        while True:
            pass

    def test_3_blocks(self):
        time.sleep(3600)

    def test_4_declares_more(self):
        time.sleep(2)  # more than the class's 1 s, within its own 5

    test_4_declares_more.time_limit = 5

    def test_5_runs_after_the_hangs(self):
        mark("after")
