"""Service logs, black-box (docs/config.md, "Logging"): a log file reopened on SIGHUP (as
logrotate expects), the log sent to a syslog socket (a real datagram socket bound here, as
/dev/log is), a debug level with content, one JSON stream on stderr, and one request id in the
answer's header, its error body, its log lines and its audit records.
"""
import json
import os
import re
import signal
import socket
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
            with open(self.log, encoding="utf-8") as f:
                return f.read()
        except FileNotFoundError:
            return ""

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


class SyslogTest(unittest.TestCase):
    def setUp(self):
        self.d = h.Daemon(start=False)
        self.sock_path = os.path.join(self.d.tmp, "log.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.sock_path)
        self.sock.settimeout(0.2)
        self.datagrams = []
        self.stop = False
        self.thread = threading.Thread(target=self.receive, daemon=True)
        self.thread.start()
        self.d.write_config(f"log_output = syslog\nsyslog_socket = {self.sock_path}\n"
                            "log_level = debug\n")
        self.d.logs = lambda: "\n".join(SYSLOG_LINE.match(d).group(3)
                                        for d in list(self.datagrams) if SYSLOG_LINE.match(d))
        self.d.start()

    def tearDown(self):
        self.d.cleanup()
        self.stop = True
        self.thread.join(timeout=5)
        self.sock.close()

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
        for d in list(self.datagrams):
            m = SYSLOG_LINE.match(d)
            self.assertIsNotNone(m, d)
            self.assertEqual(int(m.group(2)), self.d.proc.pid)
            level = json.loads(m.group(3))["level"]
            # facility daemon (3): debug 31, info 30, warn 28, error 27
            self.assertEqual(int(m.group(1)), {"debug": 31, "info": 30, "warn": 28,
                                               "error": 27}[level], d)
        assert_only_first_run_notice(self, self.d)

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
