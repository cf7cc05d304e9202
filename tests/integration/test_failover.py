"""Failure tests with real parts (issue 18 §4): three attestd nodes on one PostgreSQL behind
HAProxy (Debian's haproxy), all started here, under steady attestation load through HAProxy.

- kill -9 one node: the requests in flight on it fail and are seen to fail (none hangs or goes
  missing); once HAProxy's health check has taken the node out (two failed checks 300 ms
  apart), no request fails;
- stop PostgreSQL for ten seconds: attestation keeps answering from what the nodes hold, a
  change gets 503 and writes nothing, /readyz stays 200 ("degraded"); when PostgreSQL is back,
  changes work again and reach every node, with nobody restarting anything.

The PostgreSQL server is this module's own (tests/pg_server.py), since it is stopped midway.
"""
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import harness as h
import test_scaleout as sc

sys.path.insert(0, os.path.join(h.ROOT, "tests"))
import pg_server  # noqa: E402

HAPROXY = shutil.which("haproxy", path="/usr/sbin:/usr/bin:/sbin:/bin")
CHECK_INTER_MS = 300
CHECK_FALL = 2
# A node is out once CHECK_FALL checks failed in a row: within (CHECK_FALL + 1) intervals of
# its death, plus a check's own time. Requests begun later must all succeed.
REMOVED_WITHIN_S = (CHECK_FALL + 1) * CHECK_INTER_MS / 1000 + 1.0

HAPROXY_CFG = """
global
    maxconn 2000
defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch
frontend attest
    bind 127.0.0.1:{port}
    default_backend nodes
backend nodes
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter {inter}ms fall {fall} rise 2 check check-ssl verify none
{servers}
"""


class Load:
    """Clients attesting through HAProxy, one new TLS connection per request (so every request
    is balanced again), each outcome recorded with its start and end time."""

    def __init__(self, port, ca_files, quote, clients=3):
        self.port = port
        self.ctx = ssl.create_default_context()
        for ca in ca_files:
            self.ctx.load_verify_locations(ca)
        self.body = json.dumps({"quote": h.b64url_encode(quote)}).encode()
        self.results = []  # (start, end, ok, detail)
        self.started = 0
        self.lock = threading.Lock()
        self.stop_flag = threading.Event()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(clients)]

    def one(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as raw:
            with self.ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.sendall(b"POST /attest/SgxEnclave?api-version=2020-10-01 HTTP/1.1\r\n"
                          b"Host: 127.0.0.1\r\nContent-Type: application/json\r\n"
                          b"Connection: close\r\nContent-Length: " +
                          str(len(self.body)).encode() + b"\r\n\r\n" + self.body)
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
        status = data.split(b" ", 2)[1] if data.startswith(b"HTTP/1.1 ") else b"none"
        return status == b"200", status.decode(errors="replace")

    def run(self):
        while not self.stop_flag.is_set():
            with self.lock:
                self.started += 1
            t0 = time.monotonic()
            try:
                ok, detail = self.one()
            except (OSError, ssl.SSLError) as e:
                ok, detail = False, type(e).__name__
            with self.lock:
                self.results.append((t0, time.monotonic(), ok, detail))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        for t in self.threads:
            t.join(timeout=15)

    def between(self, t0, t1):
        with self.lock:
            return [r for r in self.results if t0 <= r[0] < t1]


@unittest.skipUnless(HAPROXY, "HAProxy is not installed (scripts/deps.sh --test installs it)")
@unittest.skipIf(pg_server.unavailable_reason(), pg_server.unavailable_reason() or "")
class FailoverTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = pg_server.Server().init().start()
        cls.nodes = []
        cls.haproxy = None
        try:
            cls.url = cls.pg.create_database("failover")
            first = sc.node(cls.url, "fo-a")
            cls.nodes = [first] + [sc.node(cls.url, f"fo-{n}", kek_from=first) for n in "bc"]
            first.attestctl("collateral", "import", sc.SGX01_BUNDLE, "--allow-expired")
            cls.owner = {"Authorization": "Bearer " + h.owner_token(first)}
            cls.port = h.free_port()
            cls.tmp = tempfile.mkdtemp(prefix="attestd-haproxy-")
            servers = "\n".join(f"    server node{i} 127.0.0.1:{d.port}"
                                for i, d in enumerate(cls.nodes))
            cfg = os.path.join(cls.tmp, "haproxy.cfg")
            with open(cfg, "w") as f:
                f.write(HAPROXY_CFG.format(port=cls.port, inter=CHECK_INTER_MS, fall=CHECK_FALL,
                                           servers=servers))
            check = subprocess.run([HAPROXY, "-c", "-f", cfg], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, timeout=30)
            assert check.returncode == 0, check.stdout
            cls.haproxy_log = open(os.path.join(cls.tmp, "haproxy.log"), "wb")
            cls.haproxy = subprocess.Popen([HAPROXY, "-db", "-f", cfg], stdout=cls.haproxy_log,
                                           stderr=subprocess.STDOUT)
            cls.quote = sc.quote()
            cls.wait_all_up()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.haproxy is not None:
            cls.haproxy.kill()
            cls.haproxy.wait()
            cls.haproxy_log.close()
        for d in cls.nodes:
            if d.running():
                d.cleanup()
            else:
                d.kill()
                shutil.rmtree(d.tmp, ignore_errors=True)
        cls.pg.destroy()
        if hasattr(cls, "tmp"):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def wait_all_up(cls):
        """Until a burst of requests through HAProxy all succeed (every node checked up)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with Load(cls.port, [d.ca for d in cls.nodes], cls.quote) as load:
                time.sleep(1.0)
            if load.results and all(r[2] for r in load.results):
                return
        raise AssertionError("HAProxy does not pass requests to the nodes")

    def load(self):
        return Load(self.port, [d.ca for d in self.nodes], self.quote)

    def test_1_kill_a_node(self):
        victim = self.nodes[1]
        with self.load() as load:
            time.sleep(2.0)
            killed_at = time.monotonic()
            victim.kill()  # SIGKILL: no drain, connections cut
            time.sleep(REMOVED_WITHIN_S + 4.0)
            end = time.monotonic()
        self.assertEqual(load.started, len(load.results), "a request was never answered")
        before = load.between(0, killed_at - 0.5)
        self.assertTrue(before and all(r[2] for r in before), before[-5:])
        window = load.between(killed_at - 0.5, killed_at + REMOVED_WITHIN_S)
        after = load.between(killed_at + REMOVED_WITHIN_S, end)
        failed_after = [r for r in after if not r[2]]
        self.assertEqual(failed_after, [], "requests failed after the node was taken out")
        self.assertGreater(len(after), 20, "the two nodes left did not carry the load")
        # Every failure is one the client saw: a cut connection or an error status, at the kill.
        for r in window:
            if not r[2]:
                self.assertLess(r[0], killed_at + REMOVED_WITHIN_S)

    def test_2_database_outage(self):
        a, c = self.nodes[0], self.nodes[2]
        versions = lambda: int(self.pg.psql(  # noqa: E731
            "SELECT COUNT(*) FROM policy_versions", self.url.rsplit("/", 1)[1]))
        before = versions()
        with self.load() as load:
            time.sleep(1.0)
            self.pg.stop("fast")
            down_at = time.monotonic()
            try:
                time.sleep(1.0)
                # A change is refused (503) while the database is away.
                status, body = h.put_policy(a, sc.policy("during-outage"), self.owner)
                self.assertEqual(status, 503, body)
                self.assertEqual(h.error_of(body)[0], "ServiceUnavailable")
                # Still in rotation: ready, degraded (once the readiness probe has seen it).
                status, state = 0, None
                while state != "degraded" and time.monotonic() - down_at < 8:
                    status, _, ready = c.request("GET", "/readyz")
                    state = json.loads(ready)["status"]
                    time.sleep(0.2)
                self.assertEqual((status, state), (200, "degraded"))
                time.sleep(max(0.0, 10.0 - (time.monotonic() - down_at)))
            finally:
                self.pg.start()
            up_at = time.monotonic()
            time.sleep(1.0)
        during = load.between(down_at, up_at)
        self.assertGreater(len(during), 20)
        self.assertEqual([r for r in during if not r[2]], [],
                         "attestation failed while the database was away")
        self.assertEqual(versions(), before, "the refused change was written")
        # Back on its own: a change through A is in force on C soon after.
        deadline = time.monotonic() + 30
        while True:
            status, body = h.put_policy(a, sc.policy("after-outage"), self.owner)
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual(status, 200, body)
        self.assertEqual(versions(), before + 1)
        changed = time.monotonic()
        seen = None
        while time.monotonic() - changed < 5 and seen != "after-outage":
            status, answer = sc.attest(c, self.quote)
            seen = sc.claims(answer).get("x-scaleout") if status == 200 else None
            time.sleep(0.05)
        self.assertEqual(seen, "after-outage")

    def test_3_database_frozen(self):
        """PostgreSQL stops answering without closing anything (its processes paused: a dead
        host, a dropped network path, a storage stall): attestation goes on, the key process
        included, since no statement waits longer than its deadline."""
        pids = [int(p) for p in subprocess.run(
            ["pgrep", "-f", f"postgres.*{self.pg.dir}"], stdout=subprocess.PIPE, text=True,
            check=False).stdout.split()]
        pids += [int(p) for p in subprocess.run(
            ["pgrep", "-P", ",".join(str(p) for p in pids) or "0"], stdout=subprocess.PIPE,
            text=True, check=False).stdout.split()]
        self.assertTrue(pids)
        with self.load() as load:
            time.sleep(1.0)
            frozen_at = time.monotonic()
            for p in pids:
                os.kill(p, signal.SIGSTOP)
            try:
                time.sleep(15.0)  # a key look (every 10 s) meets the frozen database
            finally:
                for p in pids:
                    os.kill(p, signal.SIGCONT)
            thawed_at = time.monotonic()
            time.sleep(1.0)
        during = load.between(frozen_at, thawed_at)
        self.assertGreater(len(during), 10)
        self.assertEqual([r for r in during if not r[2]], [],
                         "attestation failed while the database did not answer")


if __name__ == "__main__":
    unittest.main()
