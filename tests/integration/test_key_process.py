"""The key process (key_process = enabled; docs/internals/key-process.md), black-box.

- No key in the network process: with the KEK and the store, the test opens every data key
  and private signing key itself (docs/internals/sealing.md), then reads the whole memory of
  the network-facing attestd through /proc/PID/mem and finds none of them - neither the KEK,
  nor a data key, nor a private scalar or prime in either byte order - while the same scan of
  the key process finds them (the scan works).
- Everything still works through it: attestation tokens verify with /certs, access tokens,
  policy set and get (sealed and opened there).
- A key process that dies is started again; a request meanwhile waits for it, or gets 503.
- Tokens are signed in batches (src/keyd/client.c): many clients at once each get a token
  that verifies and carries their own runtime data; a key process killed under that load
  costs some requests a 503 that says why, never a wrong or hung answer.
"""
import concurrent.futures
import json
import os
import shutil
import signal
import sqlite3
import tempfile
import time
import unittest

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import load_der_private_key

import harness as h
import test_attest_testpki as tp

API = "?api-version=2020-10-01"
REGION_MAX = 1 << 30  # sanitizer shadow reservations are terabytes of nothing


def supervisor_pid(d):
    """The key supervisor: attestd's one child."""
    return h.only_child(d.proc.pid)


def key_process_pid(d, timeout=15):
    """The key worker: the supervisor's one child (waiting for one to be started)."""
    deadline = time.monotonic() + timeout
    while True:
        kids = h.children_of(supervisor_pid(d))
        if len(kids) == 1 or time.monotonic() > deadline:
            assert len(kids) == 1, kids
            return kids[0]
        time.sleep(0.1)


def secrets_of(data_dir):
    """The KEK, every data key and every private key number of the store, as bytes."""
    with open(os.path.join(data_dir, "kek.key"), encoding="ascii") as f:
        kek = bytes.fromhex(f.read().strip())
    db = sqlite3.connect(os.path.join(data_dir, "attestd.db"))
    deks = {}
    for dek_id, wrapped in db.execute("SELECT id, wrapped FROM data_keys"):
        aad = b"attestd/dek/v1\0" + dek_id.encode()
        deks[dek_id] = AESGCM(kek).decrypt(wrapped[:12], wrapped[12:], aad)
    numbers = []
    rows = [("signing_keys", kid, blob) for kid, blob in
            db.execute("SELECT kid, sealed_key FROM signing_keys")]
    rows += [("auth_keys", kid, blob) for kid, blob in
             db.execute("SELECT kid, sealed_key FROM auth_keys")]
    for table, kid, blob in rows:
        version, n = blob[0], blob[1]
        dek_id = blob[2:2 + n]
        nonce = blob[2 + n:14 + n]
        aad = (b"attestd/record/v1\0" + table.encode() + b"\0" + kid.encode() + b"\0" +
               bytes([version, n]) + dek_id)
        der = AESGCM(deks[dek_id.decode()]).decrypt(nonce, blob[14 + n:], aad)
        key = load_der_private_key(der, password=None)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            numbers.append(key.private_numbers().private_value.to_bytes(32, "big"))
        elif isinstance(key, rsa.RSAPrivateKey):
            p = key.private_numbers().p
            numbers.append(p.to_bytes((p.bit_length() + 7) // 8, "big"))
    db.close()
    return {"kek": [kek], "dek": list(deks.values()), "private": numbers}


def memory_of(pid):
    """Every readable mapping of process `pid` (each at most REGION_MAX bytes)."""
    chunks = []
    with open(f"/proc/{pid}/maps", encoding="ascii") as maps, \
            open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            if parts[1][0] != "r" or hi - lo > REGION_MAX or (len(parts) > 5 and
                                                              parts[5] == "[vvar]"):
                continue
            try:
                mem.seek(lo)
                chunks.append(mem.read(hi - lo))
            except OSError:
                continue
    return b"".join(chunks)


def found_in(memory, secrets):
    """Which kinds of secret appear in `memory`, in either byte order (OpenSSL keeps numbers
    as little-endian words)."""
    hits = set()
    for kind, values in secrets.items():
        for v in values:
            if v in memory or v[::-1] in memory:
                hits.add(kind)
    return hits


class KeyProcessTest(unittest.TestCase):
    time_limit = 240

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="attestd-keyd-")
        cls.quote, bundle, root = tp.make_evidence(
            os.path.join(cls.tmp, "ev"), "--report-data", tp.report_data_for(tp.RUNTIME_JSON))
        cls.d = tp.start_daemon(root, bundle, "key_process = enabled\n")

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_1_everything_works_through_it(self):
        d = self.d
        d.attestctl("provider", "create", "kp-es", "--alg", "ES256")
        d.reload()
        for prefix in ("", "/providers/kp-es"):
            token = tp.attest_token(d, self.quote, prefix)
            h.verify_jws(token, d.get_json(prefix + "/certs")[2])
        owner = {"Authorization": "Bearer " + h.owner_token(d)}
        text = "version=1.0;\nauthorizationrules{\n=> permit();\n};\nissuancerules{};\n"
        status, body = h.put_policy(d, text, owner)
        self.assertEqual(status, 200, body)
        status, _, body = d.request("GET", "/policies/SgxEnclave" + API, headers=owner)
        self.assertEqual(status, 200, body)
        claims = h.verify_jws(json.loads(body)["token"], d.get_json("/certs")[2])[1]
        stored = json.loads(h.b64url_decode(claims["x-ms-policy"].split(".")[1]))
        self.assertEqual(h.b64url_decode(stored["AttestationPolicy"]).decode(), text)

    def test_2_no_key_in_the_network_process(self):
        d = self.d
        tp.attest_token(d, self.quote)  # both processes have done their work once
        secrets = secrets_of(d.data)
        self.assertTrue(secrets["private"] and secrets["dek"])
        keyd = key_process_pid(d)
        self.assertEqual(found_in(memory_of(keyd), secrets), {"kek", "dek", "private"},
                         "the scan finds the keys where they are")
        self.assertEqual(found_in(memory_of(supervisor_pid(d)), secrets), set(),
                         "the supervisor holds no key")
        self.assertEqual(found_in(memory_of(d.proc.pid), secrets), set(),
                         "the network process holds no KEK, data key or private key")

    def test_3_restart(self):
        d = self.d
        old = key_process_pid(d)
        os.kill(old, signal.SIGKILL)
        # A request at once waits for the new key process, or is told to come back (503).
        status, _, body = d.request(
            "POST", "/attest/SgxEnclave" + API,
            body=json.dumps({"quote": h.b64url_encode(self.quote),
                             "runtimeData": {"data": h.b64url_encode(tp.RUNTIME_JSON),
                                             "dataType": "Binary"}}).encode(),
            headers={"Content-Type": "application/json"})
        self.assertIn(status, (200, 503), body)
        d.wait_log("restarted the key worker", timeout=15)
        self.assertNotEqual(key_process_pid(d), old)
        token = tp.attest_token(d, self.quote)
        h.verify_jws(token, d.get_json("/certs")[2])

    def test_6_signals_are_the_main_threads(self):
        """The pipeline thread blocks every signal: a SIGHUP or SIGTERM that comes while the
        main thread is busy (here, reloading) waits for it instead of killing attestd with the
        signal's default action on another thread."""
        d = self.d
        for _ in range(60):  # spread out, so that some come while a reload runs
            d.signal(signal.SIGHUP)
            time.sleep(0.005)
        time.sleep(2)
        self.assertTrue(d.running(), d.logs()[-2000:])
        self.assertEqual(d.request("GET", "/healthz")[0], 200)

    def test_7_a_locked_store_does_not_stall_signing(self):
        """While another process holds the store's write lock, the worker's look (which writes)
        gives up within a quarter second and tries again at the next, instead of keeping the
        signatures queued behind it waiting for the 5 s lock timeout."""
        d = self.d
        db = sqlite3.connect(os.path.join(d.data, "attestd.db"), isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        slowest = 0
        try:
            until = time.monotonic() + 12  # longer than the 10 s between looks
            while time.monotonic() < until:
                started = time.monotonic()
                tp.attest_token(d, self.quote)
                slowest = max(slowest, time.monotonic() - started)
                time.sleep(0.25)
        finally:
            db.execute("ROLLBACK")
            db.close()
        self.assertLess(slowest, 2, "an attestation waited for the look's lock")
        d.wait_log("the look at the signing keys failed; trying again")

    def attest_many(self, n, workers):
        """n attestations from `workers` clients at once, each with a nonce of its own:
        [(status, body, nonce)]."""
        def one(i):
            nonce = f"client-{i}"
            status, _, body = self.d.request(
                "POST", "/attest/SgxEnclave" + API,
                body=json.dumps({"quote": h.b64url_encode(self.quote),
                                 "runtimeData": {"data": h.b64url_encode(tp.RUNTIME_JSON),
                                                 "dataType": "Binary"},
                                 "nonce": nonce}).encode(),
                headers={"Content-Type": "application/json"})
            return status, body, nonce
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            return list(pool.map(one, range(n)))

    def check_token(self, body, nonce, jwks):
        claims = h.verify_jws(json.loads(body)["token"], jwks)[1]
        self.assertEqual(claims["nonce"], nonce, "each answer carries its own request's token")

    def test_4_batched_signing_under_load(self):
        jwks = self.d.get_json("/certs")[2]
        results = self.attest_many(160, 16)
        for status, body, nonce in results:
            self.assertEqual(status, 200, body)
            self.check_token(body, nonce, jwks)

    def test_5_killed_under_load(self):
        d = self.d
        jwks = d.get_json("/certs")[2]
        old = key_process_pid(d)
        killer = concurrent.futures.ThreadPoolExecutor(1)
        killer.submit(lambda: (time.sleep(0.3), os.kill(old, signal.SIGKILL)))
        results = self.attest_many(200, 16)
        killer.shutdown()
        statuses = [status for status, _, _ in results]
        self.assertEqual(set(statuses) - {200, 503}, set(), statuses)
        for status, body, nonce in results:
            if status == 200:
                self.check_token(body, nonce, jwks)
            else:
                error = json.loads(body)["error"]
                self.assertEqual(error["code"], "ServiceUnavailable", body)
                self.assertIn("key process", error["message"], body)
        d.wait_log("restarted the key worker", timeout=15)
        self.assertNotEqual(key_process_pid(d), old)
        for status, body, nonce in self.attest_many(32, 8):
            self.assertEqual(status, 200, body)
            self.check_token(body, nonce, jwks)


class WorkerRestartTest(unittest.TestCase):
    """The supervisor starts a new worker, which reads the KEK again: from the environment (the
    supervisor keeps it; the network process wiped it), and not at all while the KEK file is
    gone - tokens then get a prompt 503 that says why and metadata is still served - until it
    is back, with no restart of attestd."""
    time_limit = 150

    def start(self, env_kek):
        tmp = tempfile.mkdtemp(prefix="attestd-keyd-restart-")
        self.addCleanup(shutil.rmtree, tmp, True)
        self.quote, bundle, root = tp.make_evidence(
            os.path.join(tmp, "ev"), "--report-data", tp.report_data_for(tp.RUNTIME_JSON))
        d = h.Daemon(config=f"dcap_trust_anchors = {root}\nkey_process = enabled\n",
                     start=False)
        self.addCleanup(d.cleanup)
        if env_kek:
            with open(os.path.join(d.data, "kek.key"), encoding="ascii") as f:
                d.env = {"ATTESTD_KEK": f.read().strip()}
        d.attestctl("collateral", "import", bundle)
        d.start()
        h.verify_jws(tp.attest_token(d, self.quote), d.get_json("/certs")[2])
        return d

    def attest(self, d):
        return d.request(
            "POST", "/attest/SgxEnclave" + API,
            body=json.dumps({"quote": h.b64url_encode(self.quote),
                             "runtimeData": {"data": h.b64url_encode(tp.RUNTIME_JSON),
                                             "dataType": "Binary"}}).encode(),
            headers={"Content-Type": "application/json"})

    def test_kek_from_the_environment(self):
        d = self.start(env_kek=True)
        old = key_process_pid(d)
        os.kill(old, signal.SIGKILL)
        d.wait_log("restarted the key worker", timeout=15)
        self.assertNotEqual(key_process_pid(d), old)
        h.verify_jws(tp.attest_token(d, self.quote), d.get_json("/certs")[2])

    def test_kek_file_gone_for_a_while(self):
        d = self.start(env_kek=False)
        owner = {"Authorization": "Bearer " + h.owner_token(d)}  # signed while it can be
        kek = os.path.join(d.data, "kek.key")
        os.rename(kek, kek + ".away")
        os.kill(key_process_pid(d), signal.SIGKILL)
        d.wait_log("cannot restart the key worker", timeout=15)
        started = time.monotonic()
        status, _, body = self.attest(d)
        self.assertEqual(status, 503, body)
        error = json.loads(body)["error"]
        self.assertEqual(error["code"], "ServiceUnavailable", body)
        self.assertIn("key process", error["message"], body)
        self.assertLess(time.monotonic() - started, 10, "the wait for a key worker is bounded")
        self.assertEqual(d.get_json("/certs")[0], 200)
        self.assertEqual(d.get_json("/readyz")[0], 503, "a node that cannot sign is not ready")
        status, _, body = d.request("GET", "/policies/SgxEnclave" + API, headers=owner)
        self.assertEqual(status, 503, body)  # a passing outage, not a server error
        self.assertIn("key process", json.loads(body)["error"]["message"])
        os.rename(kek + ".away", kek)
        d.wait_log("restarted the key worker", timeout=15)
        status, _, body = self.attest(d)
        self.assertEqual(status, 200, body)
        self.assertEqual(d.get_json("/readyz")[0], 200)

    def test_supervisor_stuck_for_a_while(self):
        """A supervisor that does not answer for longer than the control socket's timeout:
        the request stays the one waited for (no others pile up to be answered late and end
        the workers handed out), and signing comes back once it runs again."""
        d = self.start(env_kek=False)
        sup = supervisor_pid(d)
        os.kill(sup, signal.SIGSTOP)
        try:
            os.kill(key_process_pid(d), signal.SIGKILL)
            time.sleep(12)
        finally:
            os.kill(sup, signal.SIGCONT)
        d.wait_log("restarted the key worker", timeout=20)
        time.sleep(3)  # a few ticks: the worker handed out must stay
        for _ in range(3):
            status, _, body = self.attest(d)
            self.assertEqual(status, 200, body)
        self.assertEqual(len([e for e in d.log_events()
                              if e.get("msg") == "restarted the key worker"]), 1)


if __name__ == "__main__":
    unittest.main()
