"""Prometheus metrics, black-box (docs/operations.md, "Monitoring").

One daemon with fresh SGX evidence from the test PKI and a metrics listener. GET /metrics on
the main listener needs a Reader; the metrics listener (metrics_listen) serves it to anyone
and serves nothing else. The exposition must pass `promtool check metrics` (Debian's
prometheus package), counters must move with what the test does, and a real Prometheus
server, started here, must scrape attestd over TLS with a Reader's bearer token and answer a
query for a counter this test moved.
"""
import http.client
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

import harness as h
from test_attest_testpki import make_evidence, report_data_for, start_daemon

API = "?api-version=2020-10-01"
RUNTIME = b'{"purpose":"metrics test"}'
PROMTOOL = "/usr/bin/promtool"
PROMETHEUS = "/usr/bin/prometheus"


def samples(text, name):
    """{labels text: value} of metric `name` in an exposition."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^" + re.escape(name) + r"(\{[^}]*\})? (\S+)$", line)
        if m:
            out[m.group(1) or ""] = float(m.group(2))
    return out


class MetricsTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="attestd-metrics-")
        cls.quote, bundle, root = make_evidence(os.path.join(cls.tmp, "pki"), "--report-data",
                                                report_data_for(RUNTIME))
        cls.mport = h.free_port()
        cls.d = start_daemon(root, bundle, f"metrics_listen = 127.0.0.1:{cls.mport}\n")
        cls.token = h.owner_token(cls.d)

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def scrape(self, token=None):
        status, headers, body = self.d.request(
            "GET", "/metrics", headers={"Authorization": "Bearer " + (token or self.token)})
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
        return body.decode()

    def scrape_listener(self, path="/metrics"):
        conn = http.client.HTTPSConnection("127.0.0.1", self.mport,
                                          context=self.d.ssl_context(), timeout=15)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read().decode()
        finally:
            conn.close()

    def attest(self):
        body = json.dumps({"quote": h.b64url_encode(self.quote),
                           "runtimeData": {"data": h.b64url_encode(RUNTIME),
                                           "dataType": "Binary"}}).encode()
        status, _, data = self.d.request("POST", "/attest/SgxEnclave" + API, body=body,
                                         headers={"Content-Type": "application/json"})
        self.assertEqual(status, 200, data)

    def test_needs_a_reader_on_the_main_listener(self):
        status, _, _ = self.d.request("GET", "/metrics")
        self.assertEqual(status, 401)
        created = json.loads(self.d.attestctl("principal", "create", "metrics-attester").stdout)
        self.d.attestctl("role", "assign", "--role", "Attester", "--principal",
                         "metrics-attester")
        token = h.client_token(self.d, created["client_id"], created["client_secret"])
        status, _, _ = self.d.request("GET", "/metrics",
                                      headers={"Authorization": "Bearer " + token})
        self.assertEqual(status, 403)

    def test_promtool_accepts_the_exposition(self):
        self.attest()
        text = self.scrape()
        p = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(p.stdout + p.stderr, "")
        for name in ("attestd_http_requests_total", "attestd_http_request_duration_seconds",
                     "attestd_attestations_total", "attestd_policy_evaluation_duration_seconds",
                     "attestd_cache_lookups_total", "attestd_authentication_failures_total",
                     "attestd_audit_records_total", "attestd_audit_commit_duration_seconds",
                     "attestd_open_connections", "attestd_job_queue_depth",
                     "attestd_audit_queue_depth", "attestd_collateral_age_seconds",
                     "attestd_collateral_expiry_seconds", "attestd_build_info",
                     "attestd_upstream_fetches_total"):
            self.assertIn(f"# TYPE {name} ", text)

    def test_counters_move(self):
        key = '{type="SgxEnclave",result="success",tcb_status="UpToDate"}'
        before = samples(self.scrape(), "attestd_attestations_total").get(key, 0)
        for _ in range(3):
            self.attest()
        text = self.scrape()
        self.assertEqual(samples(text, "attestd_attestations_total")[key], before + 3)
        hits = samples(text, "attestd_cache_lookups_total")
        self.assertGreaterEqual(hits['{cache="policy",result="hit"}'], 2)
        self.assertGreaterEqual(hits['{cache="qe_report",result="hit"}'], 2)
        pol = samples(text, "attestd_policy_evaluation_duration_seconds_count")
        self.assertGreaterEqual(pol['{type="SgxEnclave"}'], 3)
        req = samples(text, "attestd_http_requests_total")
        self.assertGreaterEqual(req['{route="AttestSgxEnclave",status="200"}'], 3)
        # Four collateral items imported: an age and an expiry each, the TCB info named.
        ages = samples(text, "attestd_collateral_age_seconds")
        self.assertEqual(len(ages), 4, ages)
        self.assertTrue(any(k.startswith('{kind="tcb_info",key="sgx:') for k in ages), ages)
        self.assertTrue(all(v > 0 for v in samples(text,
                                                   "attestd_collateral_expiry_seconds").values()))
        self.assertEqual(samples(text, "attestd_build_info"),
                         {f'{{version="{h.project_version()}"}}': 1.0})
        # A refused caller is counted.
        failures = samples(text, "attestd_authentication_failures_total").get(
            '{kind="credential"}', 0)
        self.d.request("GET", "/metrics", headers={"Authorization": "Bearer x.y.z"})
        self.assertEqual(samples(self.scrape(), "attestd_authentication_failures_total")[
            '{kind="credential"}'], failures + 1)

    def test_metrics_listener_serves_only_metrics_without_authentication(self):
        status, text = self.scrape_listener()
        self.assertEqual(status, 200)
        self.assertIn("# TYPE attestd_attestations_total counter", text)
        status, body = self.scrape_listener("/attest/SgxEnclave")
        self.assertEqual(status, 404)
        self.assertEqual(json.loads(body)["error"]["message"], "this listener serves only /metrics")
        status, _ = self.scrape_listener("/certs")
        self.assertEqual(status, 404)

    def test_real_prometheus_scrapes_over_tls(self):
        self.attest()
        port = h.free_port()
        pdir = os.path.join(self.tmp, "prometheus")
        os.makedirs(pdir, exist_ok=True)
        token_file = os.path.join(pdir, "token")
        with open(token_file, "w", encoding="utf-8") as f:
            f.write(self.token)
        config = os.path.join(pdir, "prometheus.yml")
        with open(config, "w", encoding="utf-8") as f:
            f.write(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: attestd
    scheme: https
    metrics_path: /metrics
    tls_config:
      ca_file: {self.d.ca}
    authorization:
      type: Bearer
      credentials_file: {token_file}
    static_configs:
      - targets: ["127.0.0.1:{self.d.port}"]
""")
        log = open(os.path.join(pdir, "log"), "wb")
        proc = subprocess.Popen([PROMETHEUS, f"--config.file={config}",
                                 f"--storage.tsdb.path={os.path.join(pdir, 'data')}",
                                 f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            key = 'attestd_attestations_total{type="SgxEnclave",result="success"}'
            deadline = time.time() + 60
            before = None
            while time.time() < deadline:
                value = self.prom_query(port, f"sum({key})")
                if value is not None and before is None:
                    before = value
                    self.attest()
                    self.attest()
                elif value is not None and value >= before + 2:
                    break
                time.sleep(0.5)
            else:
                with open(os.path.join(pdir, "log"), encoding="utf-8", errors="replace") as f:
                    self.fail(f"Prometheus never saw the counter move (first {before}):\n"
                              + f.read()[-3000:])
            up = self.prom_query(port, 'up{job="attestd"}')
            self.assertEqual(up, 1.0)
            # The three events, as Prometheus reads them: a policy change, a burst of
            # failed logins, collateral and its time to expiry.
            status, _, _ = self.d.request(
                "PUT", "/policies/SgxEnclave" + API,
                body=h.unsigned_policy_jws("version=1.0;authorizationrules{=> permit();};"
                                           "issuancerules{};").encode(),
                headers={"Authorization": "Bearer " + self.token, "Content-Type": "text/plain"})
            self.assertEqual(status, 200)
            for _ in range(3):
                status, _, _ = self.d.request(
                    "POST", "/oauth2/token",
                    body=b"grant_type=client_credentials&client_id=00000000-0000-4000-8000-"
                         b"0000000000bb&client_secret=wrong",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
                self.assertEqual(status, 401)
            wait = time.time() + 30
            while time.time() < wait:
                changes = self.prom_query(
                    port, 'sum(attestd_http_requests_total{route="SetPolicy",status="200"})')
                failures = self.prom_query(
                    port, 'sum(attestd_authentication_failures_total{kind="token"})')
                if changes and failures and changes >= 1 and failures >= 3:
                    break
                time.sleep(0.5)
            else:
                self.fail(f"Prometheus did not see the change and the failed logins: "
                          f"{changes} {failures}")
            items = self.prom_query(port, "count(attestd_collateral_expiry_seconds)")
            self.assertEqual(items, 4.0)
            soonest = self.prom_query(port, "min(attestd_collateral_expiry_seconds)")
            self.assertGreater(soonest, 0)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()

    @staticmethod
    def prom_query(port, query):
        url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": query})
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                doc = json.load(r)
        except OSError:
            return None
        result = doc.get("data", {}).get("result", [])
        return float(result[0]["value"][1]) if result else None


if __name__ == "__main__":
    unittest.main()
