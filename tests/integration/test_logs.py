"""Service logs, black-box (docs/config.md, "Logging"): a log file reopened on SIGHUP (as
logrotate expects), the log sent to a syslog socket (a real datagram socket bound here, as
/dev/log is), a debug level with content, one JSON stream on stderr, and one request id in the
answer's header, its error body, its log lines and its audit records.
"""
import json
import os
import re
import shutil
import signal
import socket
import stat
import threading
import time
import unittest

import harness as h

SYSLOG_LINE = re.compile(r"^<(\d+)>attestd\[(\d+)\]: (\{.*\})$")


def wait_for(predicate, timeout=15.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def assert_only_first_run_notice(test, d):
    """With the log elsewhere, the terminal gets only the first run's notice (plain text)."""
    with open(d.stderr_path, encoding="utf-8") as f:
        test.assertEqual(f.read(), "attestd: first run: Owner credentials written to "
                                   f"{d.data}/bootstrap-owner.json (mode 0600)\n")


class LogFileTest(unittest.TestCase):
    def setUp(self):
        self.d = h.Daemon(start=False)
        self.log = os.path.join(self.d.tmp, "attestd.log")
        self.d.write_config(f"log_file = {self.log}\n")
        self.d.logs = self.read_log  # the harness waits for "attestd ready" in the log
        self.d.start()

    def tearDown(self):
        self.d.cleanup()

    def read_log(self):
        try:
            if not stat.S_ISREG(os.stat(self.log).st_mode):
                return ""  # a FIFO a test put there: opening it would block
            with open(self.log, encoding="utf-8") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def test_fifo_at_the_path_on_sighup(self):
        """Attack 15 F8: a FIFO put where the file was is not opened (that would block the
        signal thread): the old file is kept and says why."""
        os.rename(self.log, self.log + ".1")
        os.mkfifo(self.log, 0o600)
        self.d.signal(signal.SIGHUP)
        with open(self.log + ".1", encoding="utf-8") as f:
            wait_for(lambda: "cannot reopen the log file" in (f.seek(0) or f.read()),
                     what="the error in the old file")
        status, _, _ = self.d.request("GET", "/healthz")
        self.assertEqual(status, 200)
        with open(self.log + ".1", encoding="utf-8") as f:
            line = next(json.loads(x) for x in f if "cannot reopen" in x)
        self.assertEqual(line["error"], "not a regular file")
        os.unlink(self.log)  # so that the harness's own checks read a file again
        os.rename(self.log + ".1", self.log)

    def test_reopened_on_sighup(self):
        status, headers, _ = self.d.request("GET", "/healthz")
        self.assertEqual(status, 200)
        first = headers["x-ms-request-id"]
        os.rename(self.log, self.log + ".1")  # what logrotate does
        self.d.signal(signal.SIGHUP)
        wait_for(lambda: "reopened the log file" in self.read_log(), what="the new log file")
        status, headers, _ = self.d.request("GET", "/healthz")
        second = headers["x-ms-request-id"]
        wait_for(lambda: second in self.read_log(), what="the request in the new file")
        with open(self.log + ".1", encoding="utf-8") as f:
            old = f.read()
        self.assertIn(first, old)
        self.assertNotIn(second, old)
        self.assertNotIn(first, self.read_log())
        self.assertEqual(os.stat(self.log).st_mode & 0o777, 0o600)
        for line in self.read_log().splitlines():
            json.loads(line)
        assert_only_first_run_notice(self, self.d)


class LogFileRefusedTest(unittest.TestCase):
    """A log file that is a link or a FIFO (attack 15 F8): a link would redirect the lines, and
    opening a FIFO blocks until someone reads it (SIGTERM then waits too)."""

    def setUp(self):
        self.tmp, self.data = h.new_data_dir()

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start_with(self, path):
        conf = os.path.join(self.tmp, "attestd.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(f"log_file = {path}\n")
        return h.run_attestd(["--config", conf, "--data-dir", self.data, "--listen",
                              f"127.0.0.1:{h.free_port()}"], timeout=30)

    def test_link_refused(self):
        target = os.path.join(self.tmp, "elsewhere.log")
        link = os.path.join(self.tmp, "attestd.log")
        os.symlink(target, link)
        proc = self.start_with(link)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn(f"attestd: log_file {link}: cannot open: a symbolic link (name the file "
                      "itself)", proc.stderr)
        self.assertFalse(os.path.exists(target))

    def test_fifo_refused(self):
        fifo = os.path.join(self.tmp, "attestd.log")
        os.mkfifo(fifo, 0o600)
        proc = self.start_with(fifo)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn(f"attestd: log_file {fifo}: cannot open: not a regular file", proc.stderr)


class SyslogTest(unittest.TestCase):
    def setUp(self):
        self.d = h.Daemon(start=False)
        self.sock_path = os.path.join(self.d.tmp, "log.sock")
        self.datagrams = []
        self.bind()
        self.start_reading()
        self.d.write_config(f"log_output = syslog\nsyslog_socket = {self.sock_path}\n"
                            "log_level = debug\n")
        self.d.logs = lambda: "\n".join(SYSLOG_LINE.match(d).group(3)
                                        for d in list(self.datagrams) if SYSLOG_LINE.match(d))
        self.d.start()

    def tearDown(self):
        self.d.cleanup()
        self.stop_reading()
        self.sock.close()

    def bind(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.sock_path)
        self.sock.settimeout(0.2)

    def start_reading(self):
        self.stop = False
        self.thread = threading.Thread(target=self.receive, daemon=True)
        self.thread.start()

    def stop_reading(self):
        self.stop = True
        self.thread.join(timeout=5)

    def receive(self):
        while not self.stop:
            try:
                self.datagrams.append(self.sock.recv(65536).decode("utf-8"))
            except socket.timeout:
                continue
            except OSError:
                return

    def events(self):
        return [json.loads(m.group(3)) for m in map(SYSLOG_LINE.match, list(self.datagrams)) if m]

    def test_lines_are_syslog_datagrams(self):
        status, headers, _ = self.d.request("GET", "/no/such/route")
        self.assertEqual(status, 404)
        rid = headers["x-ms-request-id"]
        wait_for(lambda: any(e.get("request_id") == rid and e["msg"] == "request"
                             for e in self.events()), what="the request's line")
        # attestd's own lines, and its key supervisor's and worker's, each with its own pid
        supervisor = h.only_child(self.d.proc.pid)
        ours = {self.d.proc.pid, supervisor, *h.children_of(supervisor)}
        for d in list(self.datagrams):
            m = SYSLOG_LINE.match(d)
            self.assertIsNotNone(m, d)
            self.assertIn(int(m.group(2)), ours, d)
            level = json.loads(m.group(3))["level"]
            # facility daemon (3): debug 31, info 30, warn 28, error 27
            self.assertEqual(int(m.group(1)), {"debug": 31, "info": 30, "warn": 28,
                                               "error": 27}[level], d)
        assert_only_first_run_notice(self, self.d)

    def test_receiver_not_reading(self):
        """Attack 15 F1: a receiver that stops reading (its queue holds ten datagrams) must not
        stop the service: lines are dropped, counted, and the count is told when it reads
        again."""
        self.stop_reading()
        started = time.monotonic()
        for _ in range(40):
            status, _, _ = self.d.request("GET", "/no/such/route")  # one log line each
            self.assertEqual(status, 404)
        status, _, _ = self.d.request("GET", "/healthz")
        self.assertEqual(status, 200)
        self.assertLess(time.monotonic() - started, 20)
        while True:  # what the queue held
            try:
                self.datagrams.append(self.sock.recv(65536).decode("utf-8"))
            except socket.timeout:
                break
        self.start_reading()
        status, headers, _ = self.d.request("GET", "/no/such/route")
        rid = headers["x-ms-request-id"]
        wait_for(lambda: any(e.get("request_id") == rid for e in self.events()),
                 what="lines again")
        wait_for(lambda: any(e["msg"].startswith("log lines dropped") for e in self.events()),
                 what="the count of dropped lines")
        dropped = [e for e in self.events() if e["msg"].startswith("log lines dropped")]
        self.assertEqual(len(dropped), 1, dropped)
        self.assertGreaterEqual(dropped[0]["dropped"], 20)
        self.d.stop()  # SIGTERM is not held up either

    def test_receiver_restarted(self):
        """Attack 15 F5: syslogd restarted (a new socket at the same path): the lines go to
        the new one, without a restart of attestd."""
        self.stop_reading()
        self.sock.close()
        os.unlink(self.sock_path)
        status, _, _ = self.d.request("GET", "/no/such/route")  # lost: nobody listens
        self.bind()
        self.start_reading()

        def arrives():
            status, headers, _ = self.d.request("GET", "/no/such/route")
            rid = headers["x-ms-request-id"]
            time.sleep(0.2)
            return any(e.get("request_id") == rid for e in self.events())
        wait_for(arrives, what="lines on the new socket")

    def test_debug_has_content(self):
        token = h.owner_token(self.d)
        status, headers, _ = self.d.request(
            "GET", "/policies/SgxEnclave?api-version=2020-10-01",
            headers={"Authorization": "Bearer " + token})
        self.assertEqual(status, 200)
        rid = headers["x-ms-request-id"]
        wait_for(lambda: any(e["msg"] == "routed" and e.get("request_id") == rid
                             for e in self.events()), what="the routing line")
        routed = next(e for e in self.events() if e["msg"] == "routed"
                      and e.get("request_id") == rid)
        self.assertEqual((routed["level"], routed["route"], routed["provider"],
                          routed["permission"], routed["pool"]),
                         ("debug", "GetPolicy", "default", "read", True))


class RequestIdTest(unittest.TestCase):
    """One id across the answer's header, its error body, the log and the audit trail."""

    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def test_one_id_everywhere(self):
        token = h.owner_token(self.d)
        status, headers, body = self.d.request(
            "PUT", "/policies/SgxEnclave?api-version=2020-10-01", body=b"not a jws",
            headers={"Authorization": "Bearer " + token, "Content-Type": "text/plain"})
        self.assertEqual(status, 400, body)
        rid = headers["x-ms-request-id"]
        self.assertEqual(json.loads(body)["error"]["requestId"], rid)
        wait_for(lambda: any(e.get("request_id") == rid and e["msg"] == "request"
                             for e in self.d.log_events()), what="the log line")
        status, _, doc = self.d.get_json("/attestd/audit?action=policy.set&limit=1000",
                                         headers={"Authorization": "Bearer " + token})
        self.assertEqual(status, 200)
        self.assertEqual([r["resultType"] for r in doc["records"] if r["correlationId"] == rid],
                         ["attempt", "failure"])

    def test_errors_made_by_the_server_carry_it_too(self):
        # Refused before any handler: an unknown method, a 405, a malformed request line.
        for method, path in (("PATCH", "/certs"), ("DELETE", "/certs")):
            status, headers, body = self.d.request(method, path)
            self.assertIn(status, (405, 501))
            self.assertEqual(json.loads(body)["error"]["requestId"], headers["x-ms-request-id"])

    def test_stderr_is_one_json_stream(self):
        # The first run's Owner credentials notice included: every line is JSON.
        lines = [line for line in self.d.logs().splitlines() if line.strip()]
        self.assertTrue(lines)
        for line in lines:
            json.loads(line)
        self.assertTrue(any(json.loads(line)["msg"].startswith("created the bootstrap owner")
                            for line in lines))


if __name__ == "__main__":
    unittest.main()
