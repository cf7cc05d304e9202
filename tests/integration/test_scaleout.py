"""Several attestd nodes on one PostgreSQL store (docs/operations.md "Scale-out"), black-box.

Each test class makes a database of its own on the run's PostgreSQL server (tests/pg_server.py,
ATTESTD_TEST_PG) and starts real nodes on it, each with a data directory of its own and the
same key-encryption key. What they show: state made on one node is used by the others; a
change made through one node is in force on another within a second (the change feed); nodes
starting together on an empty store agree on its first provider, keys and owner; one node leads
the cluster-wide jobs and another takes over when it dies; each node keeps its own audit
checkpoint.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import harness as h

sys.path.insert(0, os.path.join(h.ROOT, "tests"))
import pg_server  # noqa: E402

SERVER = os.environ.get("ATTESTD_TEST_PG")
API = "?api-version=2020-10-01"
SGX01_VERIFY_AT = 1750334171 + 3600  # inside the sample's collateral window (test_attest_sgx)
FIX = os.path.join(h.ROOT, "tests", "fixtures", "dcap", "sgx")
SGX01_QUOTE = os.path.join(FIX, "sgx01_dcapqvl_quote.bin")
SGX01_BUNDLE = os.path.join(FIX, "sgx01_dcapqvl_collateral.json")
PUBLIC_URL = "https://attest.cluster.example"
BOOTSTRAP_LOCK = 0x6174746573746402  # ATT_LOCK_BOOTSTRAP (src/store/store.h)
ISSUE_CLAIM = '=> issue(type="x-scaleout", value="{}");'


def create_database(tag):
    name = f"scale_{tag}_{os.getpid()}_{int(time.monotonic() * 1000) % 100000}"
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", f"{SERVER}/postgres",
                    "-c", f'CREATE DATABASE "{name}"'], check=True, timeout=60,
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return f"{SERVER}/{name}"


def psql(url, sql):
    out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url,
                          "-c", sql], check=True, timeout=60, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    return out.stdout.strip()


def node(url, name, kek_from=None, start=True, extra=""):
    """A node on store `url`; its KEK copied from node `kek_from` (all nodes share one)."""
    # One public_url for the cluster, as behind a load balancer: every node's tokens (access
    # tokens included) carry the same issuer.
    d = h.Daemon(config=f"store = {url}\nnode_name = {name}\npublic_url = {PUBLIC_URL}\n{extra}",
                 env={"ATTESTD_TEST_VERIFY_TIME": str(SGX01_VERIFY_AT)}, start=False)
    if kek_from is not None:
        shutil.copyfile(os.path.join(kek_from.data, "kek.key"), os.path.join(d.data, "kek.key"))
    if start:
        try:
            d.start()
        except BaseException:
            shutil.rmtree(d.tmp, ignore_errors=True)
            raise
    return d


def attest(d, quote):
    body = json.dumps({"quote": h.b64url_encode(quote)}).encode()
    status, _, answer = d.request("POST", "/attest/SgxEnclave" + API, body,
                                  {"Content-Type": "application/json"})
    return status, json.loads(answer) if answer else {}


def claims(answer):
    return h.decode_jwt(answer["token"])[1]


def policy(value):
    """An unsigned AAD policy that permits and issues x-scaleout = value."""
    return ("version=1.0;\nauthorizationrules{\n=> permit();\n};\nissuancerules{\n"
            + ISSUE_CLAIM.format(value) + "\n};\n")


def quote():
    with open(SGX01_QUOTE, "rb") as f:
        return f.read()


@unittest.skipUnless(SERVER, "no PostgreSQL test server (ATTESTD_TEST_PG): see tests/pg_server.py")
class TwoNodesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.url = create_database("two")
        cls.a = node(cls.url, "node-a")
        try:
            cls.b = node(cls.url, "node-b", kek_from=cls.a)
        except BaseException:
            cls.a.cleanup()
            raise
        cls.a.attestctl("collateral", "import", SGX01_BUNDLE, "--allow-expired")
        cls.owner = {"Authorization": "Bearer " + h.owner_token(cls.a)}

    @classmethod
    def tearDownClass(cls):
        cls.b.cleanup()
        cls.a.cleanup()

    def test_state_is_shared(self):
        """Both nodes serve the same default provider and signing keys, and attest with the
        collateral imported through one of them."""
        ka = {k["kid"] for k in self.a.get_json("/certs")[2]["keys"]}
        kb = {k["kid"] for k in self.b.get_json("/certs")[2]["keys"]}
        self.assertEqual(ka, kb)
        self.assertTrue(ka)
        for d in (self.a, self.b):
            status, answer = attest(d, quote())
            self.assertEqual(status, 200, answer)
            self.assertEqual(claims(answer)["x-ms-sgx-is-debuggable"], False)

    def test_owner_token_from_one_node_works_on_the_other(self):
        """Access tokens are signed with the one auth key the nodes share."""
        status, _, body = self.b.request("GET", "/attestd/roleAssignments", headers=self.owner)
        self.assertEqual(status, 200, body)

    def test_policy_change_reaches_the_other_node_within_a_second(self):
        """A policy set through node A is in force on node B within a second."""
        value = f"v{time.monotonic_ns()}"
        status, body = h.put_policy(self.a, policy(value), self.owner)
        self.assertEqual(status, 200, body)
        changed_at = time.monotonic()
        seen = None
        while time.monotonic() - changed_at < 3:
            status, answer = attest(self.b, quote())
            self.assertEqual(status, 200, answer)
            seen = claims(answer).get("x-scaleout")
            if seen == value:
                break
            time.sleep(0.02)
        took = time.monotonic() - changed_at
        self.assertEqual(seen, value)
        self.assertLess(took, 1.0, f"the change took {took:.3f} s to reach node B")
        self.assertTrue(any(e.get("msg") == "cluster: loaded the providers another node changed"
                            for e in self.b.log_events()))

    def test_checkpoints_are_per_node(self):
        """Each node keeps its own audit checkpoint row, under its node_name."""
        deadline = time.monotonic() + 90
        nodes = set()
        while time.monotonic() < deadline and nodes != {"node-a", "node-b"}:
            nodes = set(psql(self.url, "SELECT node FROM audit_checkpoint").split())
            time.sleep(0.5)
        self.assertEqual(nodes, {"node-a", "node-b"})


@unittest.skipUnless(SERVER, "no PostgreSQL test server (ATTESTD_TEST_PG): see tests/pg_server.py")
class StartTogetherTest(unittest.TestCase):
    def test_nodes_starting_together_agree(self):
        """Three nodes started at once on an empty store make one default provider, one auth
        key and one bootstrap owner between them (ATT_LOCK_BOOTSTRAP)."""
        url = create_database("together")
        first = node(url, "n1", start=False)
        nodes = [first] + [node(url, f"n{i}", kek_from=first, start=False) for i in (2, 3)]
        try:
            for d in nodes:  # start all, then wait for all
                d._runs += 1
                d.stderr_path = os.path.join(d.tmp, f"stderr.{d._runs}.log")
                d._stderr_file = open(d.stderr_path, "wb")
                d.proc = subprocess.Popen(
                    [h.ATTESTD, "--config", d.config_path, "--data-dir", d.data] +
                    [x for a in d.listen for x in ("--listen", a)],
                    env=h.san_env(d.env), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=d._stderr_file)
            for d in nodes:
                d.wait_log("attestd ready", timeout=120)
            self.assertEqual(psql(url, "SELECT COUNT(*) FROM providers"), "1")
            self.assertEqual(psql(url, "SELECT COUNT(*) FROM auth_keys"), "1")
            self.assertEqual(psql(url, "SELECT COUNT(*) FROM principals"), "1")
            kids = [{k["kid"] for k in d.get_json("/certs")[2]["keys"]} for d in nodes]
            self.assertEqual(kids[0], kids[1])
            self.assertEqual(kids[0], kids[2])
        finally:
            for d in nodes:
                try:
                    d.cleanup()
                except AssertionError as e:  # the others are still stopped and removed
                    failure = e
            if "failure" in locals():
                raise failure


@unittest.skipUnless(SERVER, "no PostgreSQL test server (ATTESTD_TEST_PG): see tests/pg_server.py")
class LeaderTest(unittest.TestCase):
    def leads(self, d):
        return [e for e in d.log_events() if e.get("msg") == "cluster: this node now leads a job"]

    def test_one_leader_and_failover(self):
        """One node leads the rotation of keys and the collateral refresh; when it is killed,
        the other takes both over at its next look (every 10 s), as the database releases the
        dead node's locks."""
        url = create_database("leader")
        a = node(url, "lead-a", extra="key_process = disabled")
        b = node(url, "lead-b", kek_from=a, extra="key_process = disabled")
        try:
            a.wait_log("cluster: this node now leads a job", count=2, timeout=30)
            time.sleep(11)  # b has looked at least once meanwhile
            self.assertEqual(len(self.leads(b)), 0, "two nodes lead the same jobs")
            a.kill()  # kill -9: its connections drop, PostgreSQL frees its locks
            b.wait_log("cluster: this node now leads a job", count=2, timeout=40)
            jobs = {e["job"] for e in self.leads(b)}
            self.assertEqual(jobs, {"signing-key rotation", "upstream collateral refresh"})
        finally:
            b.cleanup()
            a.kill()
            shutil.rmtree(a.tmp, ignore_errors=True)


@unittest.skipIf(pg_server.unavailable_reason(), pg_server.unavailable_reason() or "")
class TlsStoreTest(unittest.TestCase):
    def test_tls_to_the_database(self):
        """store = postgresql://...?sslmode=verify-full&sslrootcert=CA: every connection of the
        node (pool, listener, key process) is TLS to a server it verified; a server whose
        certificate does not chain to that CA is refused at start."""
        pg = pg_server.Server().init().enable_tls().start()
        try:
            url = pg.create_database("tls")
            d = node(url + f"?sslmode=verify-full&sslrootcert={pg.ca}", "tls-a")
            try:
                status, answer = attest_after_import(d)
                self.assertEqual(status, 200, answer)
                out = pg.psql("SELECT COUNT(*), COUNT(*) FILTER (WHERE s.ssl) FROM pg_stat_ssl s"
                              " JOIN pg_stat_activity a USING (pid)"
                              " WHERE a.application_name = 'attestd'", "tls")
                total, tls = out.split("|")
                self.assertGreater(int(total), 0)
                self.assertEqual(total, tls)
            finally:
                d.cleanup()
            other = os.path.join(pg.dir, "other-ca.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                            os.path.join(pg.dir, "other.key"), "-out", other, "-days", "1",
                            "-subj", "/CN=other"], check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=60)
            bad = node(url + f"?sslmode=verify-full&sslrootcert={other}", "tls-b", start=False)
            try:
                with self.assertRaises(RuntimeError) as failed:
                    bad.start()
                self.assertIn("database cannot be reached", str(failed.exception))
            finally:
                bad.kill()
                shutil.rmtree(bad.tmp, ignore_errors=True)
        finally:
            pg.destroy()


def attest_after_import(d):
    d.attestctl("collateral", "import", SGX01_BUNDLE, "--allow-expired")
    return attest(d, quote())


class StoreUrlTest(unittest.TestCase):
    def test_password_never_echoed(self):
        """A store URL that holds a password, or that libpq cannot parse around one, is refused
        without its text in the message (libpq's parse errors quote the URL)."""
        tmp = tempfile.mkdtemp(prefix="attestd-url-")
        try:
            for url in ["postgresql://u:hunter2@[::1/x", "postgresql://u:hunter2%zz@h/db",
                        "postgresql://h/db?password=hunter2%G1",
                        "postgresql://u:hunter2@h/db", "postgresql://h/db?sslpassword=hunter2"]:
                with self.subTest(url=url):
                    conf = os.path.join(tmp, "attestd.conf")
                    with open(conf, "w") as f:
                        f.write(f"store = {url}\n")
                    proc = h.run_attestd(["--config", conf, "--data-dir",
                                          os.path.join(tmp, "data")])
                    self.assertNotEqual(proc.returncode, 0)
                    self.assertNotIn("hunter2", proc.stderr + proc.stdout)
                    self.assertIn("store:", h.startup_failure(proc) if "cannot start" in
                                  proc.stderr else proc.stderr)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


@unittest.skipUnless(SERVER, "no PostgreSQL test server (ATTESTD_TEST_PG): see tests/pg_server.py")
class StuckStartTest(unittest.TestCase):
    def test_a_stuck_start_does_not_block_the_others(self):
        """A node that hangs while holding the bootstrap lock (a paused VM, a stuck HSM) does
        not keep another node from starting on a store that has its first provider, keys and
        owner already: the lock is taken only when something is still to be made."""
        url = create_database("stuck")
        a = node(url, "stuck-a")
        try:
            holder = subprocess.Popen(
                ["psql", "-X", "-q", "-d", url, "-c",
                 f"SELECT pg_advisory_lock({BOOTSTRAP_LOCK}); SELECT pg_sleep(120)"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                deadline = time.monotonic() + 10
                while psql(url, "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory'"
                                " AND granted") == "0" and time.monotonic() < deadline:
                    time.sleep(0.1)
                started = time.monotonic()
                b = node(url, "stuck-b", kek_from=a)
                self.assertLess(time.monotonic() - started, 50)
                b.cleanup()
            finally:
                holder.kill()
                holder.wait()
        finally:
            a.cleanup()


if __name__ == "__main__":
    unittest.main()
