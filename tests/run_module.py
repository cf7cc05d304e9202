#!/usr/bin/python3
"""Run one unittest module with a time limit per test: tests/run_tests.py starts this once per
black-box module, in a process group of its own (the suite limit is kept there).

Usage: run_module.py MODULE_FILE EVENTS_FILE

Each test may take TEST_LIMIT seconds, or what it declares: a `time_limit` attribute (seconds)
on its TestCase class (`time_limit = 300`) or on the test method (`test_x.time_limit = 300`
after the def). Past it, SIGALRM raises TestTimeout inside the test, so tearDown and the
cleanups still run (stopping the daemons the test started), and the test fails with its name.
The class and module fixtures between two tests (tearDownClass, setUpClass) get TEST_LIMIT too;
each cleanup still running CLEANUP_GRACE seconds after a timeout is interrupted the same way.

EVENTS_FILE gets one JSON line per event as it happens, so the parent knows how far the module
got even when it has to kill this process:
  {"planned": N}                        before the first test
  {"start": ID}                         a test starts
  {"test": ID, "outcome": O, "seconds": S}
  {"fixture": ID, "outcome": O}         a class or module fixture's error (setUpClass...)
  {"done": true}                        the module ran to its end
O is "passed", "skipped", "failed", or why it failed when that is known ("ran past its time
limit of N s").
"""
import json
import os
import signal
import sys
import time
import unittest

TEST_LIMIT = 120
CLEANUP_GRACE = 60


class TestTimeout(Exception):
    """Raised by SIGALRM where a test or fixture is stuck; unittest records it as an error of
    that test or fixture and goes on. (An `except Exception` that swallows it only delays the
    end: the alarm comes again after CLEANUP_GRACE, and the parent's suite limit remains.)"""

    def __init__(self, what, seconds):
        super().__init__(f"{what} ran past its time limit of {seconds} s")
        self.seconds = seconds


def limit_of(test):
    method = getattr(test, getattr(test, "_testMethodName", ""), None)
    return getattr(method, "time_limit", None) or getattr(test, "time_limit", None) or TEST_LIMIT


def arm(seconds, what):
    def on_alarm(signum, frame):
        signal.alarm(CLEANUP_GRACE)  # for tearDown and cleanups that hang in turn
        raise TestTimeout(what, seconds)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)


def emit(events, **doc):
    events.write(json.dumps(doc) + "\n")
    events.flush()


def failure(err):
    """What an error or failure (exc_info) of a test says: "failed", or why it did."""
    if isinstance(err[1], TestTimeout):
        return f"ran past its time limit of {err[1].seconds} s"
    return "failed"


class TimedResult(unittest.TextTestResult):
    """Arms the alarm per test and writes the events (see the module's docstring)."""

    def __init__(self, events, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.events = events
        self.current = None  # the running test's id; None between tests (fixtures)

    def startTest(self, test):
        self.current, self.outcome, self.t0 = test.id(), "passed", time.monotonic()
        emit(self.events, start=self.current)
        arm(limit_of(test), self.current)
        super().startTest(test)

    def stopTest(self, test):
        super().stopTest(test)
        emit(self.events, test=self.current, outcome=self.outcome,
             seconds=round(time.monotonic() - self.t0, 1))
        arm(TEST_LIMIT, f"the fixtures after {self.current}")
        self.current = None

    def mark(self, test, outcome):
        """outcome: "skipped", "failed" or why the test failed; the first failure stays."""
        if self.current is None:  # an error of setUpClass, tearDownModule...: no test runs
            emit(self.events, fixture=test.id(), outcome=outcome)
        elif self.outcome in ("passed", "skipped"):
            self.outcome = outcome

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.mark(test, failure(err))

    def addError(self, test, err):
        super().addError(test, err)
        self.mark(test, failure(err))

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self.mark(test, failure(err))

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.mark(test, "failed")

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.mark(test, "skipped")


def main():
    module_file, events_file = sys.argv[1], sys.argv[2]
    sys.stdout.reconfigure(line_buffering=True)  # all of it shown, even if killed at the limit
    sys.path.insert(0, os.path.dirname(os.path.abspath(module_file)))
    name = os.path.splitext(os.path.basename(module_file))[0]
    with open(events_file, "a", encoding="utf-8") as events:
        arm(TEST_LIMIT, f"{name} before its first test")
        suite = unittest.defaultTestLoader.loadTestsFromName(name)
        emit(events, planned=suite.countTestCases())
        runner = unittest.TextTestRunner(
            stream=sys.stdout, verbosity=2,
            resultclass=lambda *a, **kw: TimedResult(events, *a, **kw))
        runner.run(suite)
        signal.alarm(0)
        emit(events, done=True)


if __name__ == "__main__":
    main()
