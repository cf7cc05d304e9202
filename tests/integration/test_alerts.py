"""Alerts, black-box with real receivers (docs/operations.md, "Alerts").

One daemon with fresh SGX collateral from the test PKI, an HTTPS webhook receiver started here
(its own certificate, which the daemon trusts through alert_webhook_ca_file; every delivery's
HMAC is checked against the shared secret) and a syslog datagram socket. A policy change, a
burst of failed logins, collateral near its end and an audit trail that cannot be written must
each reach both receivers; one incident is one alert (duplicates counted, not resent); a failed
delivery is retried.
"""
import hashlib
import hmac
import http.server
import json
import os
import pwd
import shutil
import socket
import sqlite3
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

import harness as h
from test_attest_testpki import make_evidence, report_data_for, start_daemon

SECRET = b"webhook-shared-secret-for-tests-0123456789"
POLICY = "version=1.0;authorizationrules{=> permit();};issuancerules{};"


class Webhook:
    """An HTTPS server that records each POST, after checking its signature and timestamp."""

    def __init__(self, directory):
        self.cert = os.path.join(directory, "hook.pem")
        key = os.path.join(directory, "hook.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", self.cert,
                        "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                        "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        self.received = []  # (headers, alert)
        self.attempts = []  # (path, X-Attestd-Delivery, X-Attestd-Attempt) of every POST
        self.bad = []       # deliveries whose signature or timestamp was wrong
        self.fail_next = 0  # answer this many requests with 500
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.attempts.append((self.path, self.headers["X-Attestd-Delivery"],
                                      self.headers["X-Attestd-Attempt"]))
                if hook.fail_next > 0:
                    hook.fail_next -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                ts = self.headers["X-Attestd-Timestamp"]
                want = "sha256=" + hmac.new(SECRET, ts.encode() + b"." + body,
                                            hashlib.sha256).hexdigest()
                if not hmac.compare_digest(want, self.headers["X-Attestd-Signature"] or "") \
                        or abs(time.time() - int(ts)) > 60:
                    hook.bad.append(body)
                    self.send_response(401)
                    self.end_headers()
                    return
                hook.received.append((dict(self.headers), json.loads(body)))
                # A long answer is still a delivery (attack 15 F7: over 4 KiB it was retried).
                answer = b"x" * 65536
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, key)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Syslog:
    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.datagrams = []
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            try:
                self.datagrams.append(self.sock.recv(65536).decode())
            except socket.timeout:
                continue
            except OSError:
                return

    def alerts(self):
        out = []
        for d in list(self.datagrams):
            head, sep, rest = d.partition(": alert ")
            if sep:
                out.append((head, json.loads(rest)))
        return out

    def close(self):
        self.stop = True
        self.thread.join(timeout=5)
        self.sock.close()


def wait_for(predicate, timeout=20.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class AlertsTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="attestd-alerts-")
        cls.hook = Webhook(cls.tmp)
        cls.syslog = Syslog(os.path.join(cls.tmp, "log.sock"))
        secret = os.path.join(cls.tmp, "hook.secret")
        with open(os.open(secret, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
            f.write(SECRET + b"\n")
        quote, bundle, root = make_evidence(os.path.join(cls.tmp, "pki"), "--report-data",
                                            report_data_for(b"x"))
        cls.d = start_daemon(root, bundle, f"""
alert_webhook_url = https://127.0.0.1:{cls.hook.port}/hook/s3cr3t-path/?token=s3cr3t-query
alert_webhook_ca_file = {cls.hook.cert}
alert_webhook_secret_file = {secret}
alert_syslog_socket = {cls.syslog.path}
alert_auth_failures = 3
alert_auth_window = 120
alert_check_interval = 1
alert_dedup_window = 3600
alert_collateral_warning = 31536000
audit_busy_timeout = 300
""")
        cls.token = h.owner_token(cls.d)

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        cls.hook.close()
        cls.syslog.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def hooked(self, rule, subject=None):
        return [a for _, a in self.hook.received
                if a["rule"] == rule and (subject is None or a["subject"] == subject)]

    def logged(self, rule, subject=None):
        return [(head, a) for head, a in self.syslog.alerts()
                if a["rule"] == rule and (subject is None or a["subject"] == subject)]

    def test_policy_change(self):
        body = h.unsigned_policy_jws(POLICY).encode()
        status, headers, _ = self.d.request(
            "PUT", "/policies/SgxEnclave?api-version=2020-10-01", body=body,
            headers={"Authorization": "Bearer " + self.token, "Content-Type": "text/plain"})
        self.assertEqual(status, 200)
        rid = headers["x-ms-request-id"]
        alert = wait_for(lambda: [a for a in self.hooked("security_change")
                                  if a["details"]["correlationId"] == rid], what="the alert")[0]
        self.assertEqual(alert["severity"], "warning")
        self.assertEqual(alert["subject"], "policy.set by bootstrap-owner")
        self.assertEqual(alert["summary"],
                         "policy.set by bootstrap-owner from 127.0.0.1 on provider default")
        self.assertEqual(alert["details"]["properties"]["policyHash"], h.policy_hash(POLICY))
        self.assertEqual(alert["host"], self.d.base_url)
        self.assertEqual(self.hook.bad, [])
        head, same = wait_for(lambda: [x for x in self.logged("security_change")
                                       if x[1]["id"] == alert["id"]], what="syslog")[0]
        self.assertEqual(head, f"<28>attestd[{self.d.proc.pid}]")
        self.assertEqual(same, alert)

    def test_each_change_is_an_alert(self):
        """Attack 15 F10: a harmless change must not cover the next one by the same principal
        for the dedup window: each change is delivered at once."""
        rids = []
        for text in (POLICY, POLICY.replace("permit()", "deny()")):
            status, headers, _ = self.d.request(
                "PUT", "/policies/SgxEnclave?api-version=2020-10-01",
                body=h.unsigned_policy_jws(text).encode(),
                headers={"Authorization": "Bearer " + self.token, "Content-Type": "text/plain"})
            self.assertEqual(status, 200)
            rids.append(headers["x-ms-request-id"])
        alerts = wait_for(lambda: (lambda got: got if len(got) == 2 else None)(
            [a for a in self.hooked("security_change") if a["details"]["correlationId"] in rids]),
            what="two alerts")
        self.assertEqual([a["count"] for a in alerts], [1, 1])

    def test_failed_login_burst_is_one_alert(self):
        def bad_login():
            body = (b"grant_type=client_credentials&client_id=00000000-0000-4000-8000-"
                    b"00000000000a&client_secret=nope")
            status, _, _ = self.d.request(
                "POST", "/oauth2/token", body=body,
                headers={"Content-Type": "application/x-www-form-urlencoded"})
            self.assertEqual(status, 401)
        for _ in range(3):
            bad_login()
        alert = wait_for(lambda: self.hooked("auth_failure_burst", "source 127.0.0.1"),
                         what="the burst alert")[0]
        self.assertEqual(alert["details"]["failures"], 3)
        self.assertEqual(alert["count"], 1)
        # More of the same incident within the dedup window: counted, not sent again.
        for _ in range(3):
            bad_login()
        time.sleep(3)
        self.assertEqual(len(self.hooked("auth_failure_burst", "source 127.0.0.1")), 1)
        self.assertEqual(len(self.logged("auth_failure_burst", "source 127.0.0.1")), 1)

    def test_collateral_near_its_end(self):
        kinds = {"tcb_info", "qe_identity", "pck_crl", "root_crl"}
        alerts = wait_for(lambda: (lambda got: got if {a["subject"].split(" ")[1] for a in got}
                                   >= kinds else None)(self.hooked("collateral_expiry")),
                          what="an alert for each collateral item")
        self.assertEqual(len(alerts), 4, alerts)
        self.assertTrue(all(a["severity"] == "warning" and a["details"]["secondsLeft"] > 0
                            for a in alerts))
        # Each alert is also an audit record; the metric Prometheus reads says the same.
        status, _, doc = self.d.get_json("/attestd/audit?category=alert&limit=1000",
                                         headers={"Authorization": "Bearer " + self.token})
        self.assertEqual(status, 200)
        ids = {r["properties"]["id"] for r in doc["records"]
               if r["operationName"] == "alert.collateral_expiry"}
        self.assertLessEqual({a["id"] for a in alerts}, ids)
        status, _, body = self.d.request("GET", "/metrics",
                                         headers={"Authorization": "Bearer " + self.token})
        expiries = [line for line in body.decode().splitlines()
                    if line.startswith("attestd_collateral_expiry_seconds{")]
        self.assertEqual(len(expiries), 4)

    def test_zy_audit_trail_failing(self):
        """Last but one: while the trail is locked, other tests' records would be lost."""
        conn = sqlite3.connect(os.path.join(self.d.data, "audit.db"), timeout=5,
                               isolation_level=None)
        try:
            conn.execute("BEGIN EXCLUSIVE")
            status, _, _ = self.d.request(
                "PUT", "/policies/SgxEnclave?api-version=2020-10-01",
                body=h.unsigned_policy_jws(POLICY).encode(),
                headers={"Authorization": "Bearer " + self.token, "Content-Type": "text/plain"})
            self.assertEqual(status, 503)
            alert = wait_for(lambda: self.hooked("audit_sink_failed"), what="the alert")[0]
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        self.assertEqual(alert["severity"], "critical")
        head, _ = wait_for(lambda: self.logged("audit_sink_failed"), what="syslog")[0]
        self.assertEqual(head, f"<26>attestd[{self.d.proc.pid}]")

    def test_webhook_retried(self):
        self.hook.fail_next = 1
        self.d.attestctl("provider", "create", "alerts-retry")
        me = pwd.getpwuid(os.geteuid()).pw_name
        alert = wait_for(lambda: self.hooked("security_change", f"provider.create by {me}"),
                         what="the retried delivery")
        headers = [hd for hd, a in self.hook.received if a["id"] == alert[0]["id"]][0]
        self.assertEqual(headers["X-Attestd-Attempt"], "2")
        self.assertEqual(headers["X-Attestd-Delivery"], alert[0]["id"])
        self.assertEqual([(p, a) for p, i, a in self.hook.attempts if i == alert[0]["id"]],
                         [("/hook/s3cr3t-path/?token=s3cr3t-query", "1"),
                          ("/hook/s3cr3t-path/?token=s3cr3t-query", "2")])
        # The failure is logged with the receiver's origin, not its path or query (attack 15
        # F6: a secret in the URL was logged with every failed attempt).
        failed = [e for e in self.d.log_events() if e["msg"] == "alert webhook failed"]
        self.assertEqual(len(failed), 1, failed)
        self.assertEqual((failed[0]["webhook"], failed[0]["status"]),
                         (f"https://127.0.0.1:{self.hook.port}", 500))
        self.assertNotIn("s3cr3t", self.d.logs())

    def test_zz_metrics_count_deliveries(self):
        status, _, body = self.d.request("GET", "/metrics",
                                         headers={"Authorization": "Bearer " + self.token})
        self.assertEqual(status, 200)
        text = body.decode()
        self.assertIn('attestd_alerts_total{rule="security_change",channel="webhook",'
                      'result="delivered"}', text)
        self.assertIn('attestd_alerts_total{rule="security_change",channel="syslog",'
                      'result="delivered"}', text)


class AlertConfigTest(unittest.TestCase):
    """Delivery settings that cannot work are refused at start (attack 15 F9), not found out
    at the first alert."""

    def setUp(self):
        self.tmp, self.data = h.new_data_dir()
        self.secret = os.path.join(self.tmp, "hook.secret")
        with open(os.open(self.secret, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
            f.write(SECRET)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def failure(self, config):
        conf = os.path.join(self.tmp, "attestd.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(config)
        proc = h.run_attestd(["--config", conf, "--data-dir", self.data, "--listen",
                              f"127.0.0.1:{h.free_port()}"])
        self.assertEqual(proc.returncode, 1, proc.stderr)
        return h.startup_failure(proc)

    def test_missing_ca_file(self):
        ca = os.path.join(self.tmp, "missing-ca.pem")
        self.assertEqual(self.failure(f"alert_webhook_url = https://127.0.0.1:9/hook\n"
                                      f"alert_webhook_secret_file = {self.secret}\n"
                                      f"alert_webhook_ca_file = {ca}\n"),
                         f"alerts: alert_webhook_ca_file {ca}: No such file or directory")

    def test_syslog_path_too_long(self):
        path = "/tmp/" + "s" * 120
        self.assertEqual(self.failure(f"alert_syslog_socket = {path}\n"),
                         f"alerts: alert_syslog_socket {path}: longer than a Unix socket path "
                         "(107 bytes)")


class WebhookDownTest(unittest.TestCase):
    """Attack 15 F2: a webhook that accepts connections and never answers. The log and syslog
    get every alert at once all the same; what the webhook's queue cannot hold is dropped,
    counted and reported (the report itself reaches the log and syslog); and the receiver does
    not hold the daemon's exit up."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="attestd-alerts-down-")
        self.hole = socket.socket()
        self.hole.bind(("127.0.0.1", 0))
        self.hole.listen(64)  # connections are accepted by the kernel and never served
        self.syslog = Syslog(os.path.join(self.tmp, "log.sock"))
        secret = os.path.join(self.tmp, "hook.secret")
        with open(os.open(secret, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
            f.write(SECRET)
        self.d = h.Daemon(config=f"""
alert_webhook_url = https://127.0.0.1:{self.hole.getsockname()[1]}/hook
alert_webhook_secret_file = {secret}
alert_syslog_socket = {self.syslog.path}
alert_queue = 2
alert_check_interval = 1
""")

    def tearDown(self):
        self.d.cleanup()
        self.syslog.close()
        self.hole.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def logged_alerts(self, rule):
        return [e["alert"] for e in self.d.log_events()
                if e["msg"] == "alert" and e["alert"]["rule"] == rule]

    def test_log_and_syslog_do_not_wait(self):
        names = [f"down-{i}" for i in range(6)]
        for name in names:
            self.d.attestctl("provider", "create", name)
        me = pwd.getpwuid(os.geteuid()).pw_name
        want = {f"provider.create by {me}"}
        logged = wait_for(lambda: (lambda got: got if len(got) == 6 else None)(
            self.logged_alerts("security_change")), timeout=15, what="six alerts in the log")
        self.assertEqual({a["subject"] for a in logged}, want)
        wait_for(lambda: len([a for _, a in self.syslog.alerts()
                              if a["rule"] == "security_change"]) == 6,
                 timeout=15, what="six alerts on syslog")
        overflow = wait_for(lambda: self.logged_alerts("alert_queue_overflow"), timeout=15,
                            what="the overflow alert")[0]
        self.assertEqual(overflow["severity"], "critical")
        self.assertGreaterEqual(overflow["details"]["dropped"], 1)
        wait_for(lambda: [a for _, a in self.syslog.alerts()
                          if a["rule"] == "alert_queue_overflow"], what="overflow on syslog")
        token = h.owner_token(self.d)
        status, _, body = self.d.request("GET", "/metrics",
                                         headers={"Authorization": "Bearer " + token})
        self.assertEqual(status, 200)
        self.assertIn('attestd_alerts_total{rule="security_change",channel="webhook",'
                      'result="dropped"}', body.decode())
        started = time.monotonic()
        self.d.stop()
        self.assertLess(time.monotonic() - started, 5)


if __name__ == "__main__":
    unittest.main()
