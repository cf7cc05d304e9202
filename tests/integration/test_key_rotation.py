"""Signing-key rotation, black-box (docs/operations.md "Signing-key rotation").

- Under load: the official @azure/attestation client attests without pause while
  `attestctl provider rotate-key` makes a new key. The new key is in /certs before any token
  carries its kid; tokens switch from the old kid to the new one once and for good, and
  policy-management answers switch with them; every token validates (fresh /certs each time
  and, at the end, all of them against the /certs of that moment); the old key stays published
  until its last token has expired (plus the leeway and one look), then it is destroyed, and
  both steps are in the audit trail.
- On a schedule: signing_key_rotation makes the next key by itself, published for the lead
  time before it signs.
- Refusals: a second rotation while a key waits, unknown providers, bad --lead values; none
  changes anything.
"""
import base64
import calendar
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

import harness as h
import test_attest_testpki as tp

API = "?api-version=2020-10-01"
LIFETIME = 60  # attest_token_lifetime: the smallest allowed, so retirement comes quickly
CHECK = 10     # ATT_KEY_CHECK_INTERVAL: how often attestd looks at the store's keys
LEAD = CHECK + 2  # longer than one look: the key is in /certs before it signs


def header_kid(token):
    return h.split_jws(token)[0]["kid"]


class Evidence:
    """SGX evidence from the test PKI, valid at the wall clock (test_attest_testpki.py)."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="attestd-rotation-")
        self.quote, self.bundle, self.root = tp.make_evidence(
            os.path.join(self.tmp, "base"), "--report-data", tp.report_data_for(tp.RUNTIME_JSON))

    def daemon(self, config):
        return tp.start_daemon(self.root, self.bundle, config)

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def kids_in_certs(d, prefix=""):
    """The kids in /certs of the provider at `prefix` ([] while it has no /certs)."""
    status, _, doc = d.get_json(prefix + "/certs")
    return [k["kid"] for k in doc["keys"]] if status == 200 else []


def keys_of(d, provider="default"):
    return json.loads(d.attestctl("provider", "show", provider).stdout)["keys"]


def utc_seconds(text):
    """Unix time of attestctl's "YYYY-MM-DDTHH:MM:SSZ"."""
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def wait_for(what, cond, timeout):
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.2)


class EvidenceDaemonTest(unittest.TestCase):
    """A daemon with configuration CONFIG and test-PKI evidence it accepts."""
    CONFIG = ""

    @classmethod
    def setUpClass(cls):
        cls.ev = Evidence()
        try:
            cls.d = cls.ev.daemon(cls.CONFIG)
        except BaseException:
            cls.ev.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        cls.ev.cleanup()


class RotationUnderLoadTest(EvidenceDaemonTest):
    time_limit = 300
    CONFIG = (f"attest_token_lifetime = {LIFETIME}\n"
              f"signing_key_lead_time = {LEAD}\n"
              "signing_key_retire_leeway = 0\n")

    def policy_answer_kid(self):
        status, _, doc = self.d.get_json("/policies/SgxEnclave" + API,
                                         headers={"Authorization": "Bearer " + self.owner})
        self.assertEqual(status, 200, doc)
        return header_kid(doc["token"])

    def watch_certs(self, seen, stop):
        """Note the time each kid first appears in /certs, until `stop` is set."""
        while not stop.is_set():
            now = time.time()
            for kid in kids_in_certs(self.d):
                seen.setdefault(kid, now)
            time.sleep(0.1)

    def test_rotation_under_load(self):
        d = self.d
        self.owner = h.owner_token(d)
        (old,) = kids_in_certs(d)
        self.assertEqual(self.policy_answer_kid(), old)
        self.assertEqual([(k["kid"], k["state"]) for k in keys_of(d)], [(old, "signing")])

        seen, stop = {}, threading.Event()
        watcher = threading.Thread(target=self.watch_certs, args=(seen, stop))
        watcher.start()
        env = dict(os.environ, NODE_EXTRA_CA_CERTS=d.ca)
        cmd = {"endpoint": d.base_url, "quote": base64.b64encode(self.ev.quote).decode(),
               "runTimeData": base64.b64encode(tp.RUNTIME_JSON).decode(),
               "seconds": 30, "pauseMs": 50}
        client = subprocess.Popen([h.NODE, os.path.join(h.JS_DIR, "rotation_client.mjs"),
                                   json.dumps(cmd)], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(3)
            made = json.loads(d.attestctl("provider", "rotate-key", "default").stdout)
            new = made["kid"]
            self.assertNotEqual(new, old)
            self.assertEqual(made["provider"], "default")
            states = {k["kid"]: k["state"] for k in keys_of(d)}
            self.assertEqual(states, {old: "signing", new: "waiting"})
            # attestd sees the new key within one look, without SIGHUP; then it signs.
            wait_for("new key published", lambda: new in kids_in_certs(d), CHECK + 5)
            wait_for("policy answers signed by the new key",
                     lambda: self.policy_answer_kid() == new, LEAD + 5)
            out, err = client.communicate(timeout=120)
        finally:
            if client.poll() is None:
                client.kill()
                client.communicate()
            stop.set()
            watcher.join()
        self.assertEqual(client.returncode, 0, err)
        lines = [json.loads(line) for line in out.splitlines()]
        final = lines.pop()
        errors = [line for line in lines if "error" in line]
        self.assertEqual(errors, [], "every attestation validates with fresh /certs")
        kids = [line["kid"] for line in lines]
        self.assertGreater(len(kids), 20)
        # One switch, for good: old ... old new ... new.
        switch = kids.index(new)
        self.assertEqual(set(kids[:switch]), {old})
        self.assertEqual(set(kids[switch:]), {new})
        self.assertGreater(switch, 0)
        # Published before it signed: no token of the new key is older than its publication.
        first_new_iat = min(line["iat"] for line in lines if line["kid"] == new)
        self.assertLess(int(seen[new]), first_new_iat)
        # Every token, before, during and after, still validates against /certs now.
        self.assertEqual(final["final"], [[]] * len(lines))
        self.assertEqual(sorted(final["published"]), sorted([old, new]))

        # The old key is retired, published until its last token (LIFETIME) has expired.
        keys = {k["kid"]: k for k in keys_of(d)}
        self.assertEqual(keys[old]["state"], "retired")
        self.assertEqual(keys[new]["state"], "signing")
        self.assertEqual(keys[old]["token_lifetime"], LIFETIME)
        stopped = utc_seconds(keys[old]["stopped_signing"])
        gone = utc_seconds(keys[old]["destroyed_after"])
        # Gone after its last possible token: the later of its stop and the last look that
        # noted it (at most two looks ahead), plus LIFETIME (leeway 0).
        self.assertGreaterEqual(gone - stopped, LIFETIME)
        self.assertLessEqual(gone - stopped, LIFETIME + 2 * CHECK)
        last_old_exp = max(line["iat"] for line in lines if line["kid"] == old) + LIFETIME
        self.assertGreaterEqual(gone, last_old_exp)
        self.assertIn(old, kids_in_certs(d))
        wait_for("old key destroyed", lambda: old not in kids_in_certs(d),
                 max(0, gone - time.time()) + CHECK + 15)
        self.assertGreaterEqual(time.time(), gone)
        self.assertEqual(kids_in_certs(d), [new])
        self.assertEqual([k["kid"] for k in keys_of(d)], [new])
        d.wait_log("destroyed a retired signing key (its tokens have all expired)", kid=old)

        recs = [json.loads(line) for line in
                d.attestctl("audit", "export", "--action", "provider.key").stdout.splitlines()]
        # attestctl's attempt names its arguments; its outcome follows it.
        rotations = [r for r in recs if r["operationName"] == "provider.key.rotate"]
        (i,) = [i for i, r in enumerate(rotations)
                if r["properties"].get("arguments") == ["provider", "rotate-key", "default"]]
        self.assertEqual(rotations[i]["resultType"], "attempt")
        self.assertEqual(rotations[i + 1]["resultType"], "success")
        destroyed = [r for r in recs if r["operationName"] == "provider.key.destroy"
                     and r["properties"]["provider"] == "default"]
        self.assertEqual([(r["properties"]["provider"], r["properties"]["kid"], r["resultType"])
                          for r in destroyed], [("default", old, "success")])

    def test_refusals(self):
        d = self.d
        before = keys_of(d, "default")
        for args, code, words in (
                (["nobody"], 1, "no provider named 'nobody'"),
                (["Bad_Name"], 1, "not a valid provider name"),
                (["default", "--lead", "-1"], 1, "--lead must be 0 to 2592000 seconds"),
                (["default", "--lead", "2592001"], 1, "--lead must be 0 to 2592000 seconds"),
                (["default", "--lead", "5s"], 1, "--lead must be 0 to 2592000 seconds"),
                (["default", "--lead"], 2, "usage"),
                (["default", "--later", "5"], 2, "usage")):
            with self.subTest(args=args):
                proc = d.attestctl("provider", "rotate-key", *args, check=False)
                self.assertEqual(proc.returncode, code, proc.stderr)
                self.assertIn(words, proc.stderr)
        self.assertEqual(keys_of(d, "default"), before)
        # A key already waiting: the second rotation is refused and changes nothing.
        d.attestctl("provider", "create", "tenant-r", "--alg", "ES256")
        d.attestctl("provider", "rotate-key", "tenant-r", "--lead", "3600")
        two = keys_of(d, "tenant-r")
        proc = d.attestctl("provider", "rotate-key", "tenant-r", check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("already has a key waiting to sign", proc.stderr)
        self.assertEqual(keys_of(d, "tenant-r"), two)
        self.assertEqual([k["state"] for k in two], ["signing", "waiting"])
        # The new provider and its waiting key are published without SIGHUP; the first signs.
        wait_for("tenant-r published",
                 lambda: len(kids_in_certs(d, "/providers/tenant-r")) == 2, CHECK + 5)
        # An emergency (--lead 0) while a key waits: that key, published already, signs now;
        # no other key is made.
        out = json.loads(d.attestctl("provider", "rotate-key", "tenant-r", "--lead", "0").stdout)
        self.assertIs(out["was_waiting"], True)
        self.assertEqual(out["kid"], two[1]["kid"])
        self.assertEqual([k["state"] for k in keys_of(d, "tenant-r")], ["retired", "signing"])

    def test_test_token_uses_a_published_key(self):
        # attestctl cannot know what attestd has loaded: a key made a moment ago (--lead 0) is
        # not used for a test token until attestd has had a look to publish it.
        d = self.d
        d.attestctl("provider", "create", "tenant-t", "--alg", "ES256")
        wait_for("tenant-t published", lambda: kids_in_certs(d, "/providers/tenant-t"),
                 CHECK + 5)
        (old,) = kids_in_certs(d, "/providers/tenant-t")
        new = json.loads(d.attestctl("provider", "rotate-key", "tenant-t", "--lead", "0")
                         .stdout)["kid"]
        token = d.attestctl("token", "issue", "--provider", "tenant-t").stdout.strip()
        self.assertEqual(header_kid(token), old)
        self.assertIn(header_kid(token), kids_in_certs(d, "/providers/tenant-t"))
        # The long-lived test token keeps only its own key alive longer.
        d.attestctl("token", "issue", "--provider", "tenant-t", "--lifetime", "40000")
        keys = {k["kid"]: k for k in keys_of(d, "tenant-t")}
        self.assertEqual(keys[old]["token_lifetime"], 40000)
        self.assertLess(keys[new]["token_lifetime"], 40000)
        self.assertTrue(all(k["token_lifetime"] < 40000 for k in keys_of(d, "default")))


class LockedStoreTest(EvidenceDaemonTest):
    """While attestd cannot write the store it keeps signing with the key it has, and that key
    stays published until the last token it signed has expired, even when its successor was
    made (--lead 0) before the lock: an outside attack found it destroyed too early."""
    time_limit = 300
    CONFIG = (f"attest_token_lifetime = {LIFETIME}\n"
              "signing_key_retire_leeway = 0\n")

    def test_old_key_outlives_its_tokens(self):
        import sqlite3
        d = self.d
        (old,) = kids_in_certs(d)
        db = sqlite3.connect(os.path.join(d.data, "attestd.db"), isolation_level=None)
        # --direct: the key is made behind attestd's back (through the admin socket attestd
        # would load it at once), so only a look finds it - and none succeeds.
        d.attestctl("--direct", "provider", "rotate-key", "default", "--lead", "0")
        db.execute("BEGIN IMMEDIATE")  # attestd can read, not write: no look succeeds
        tokens = []
        try:
            t_end = time.monotonic() + CHECK + 5  # at least one look fails
            while time.monotonic() < t_end:
                tokens.append(tp.attest_token(d, self.ev.quote))
                time.sleep(1)
        finally:
            db.execute("ROLLBACK")
            db.close()
        olds = [t for t in tokens if header_kid(t) == old]
        self.assertTrue(olds, "attestd kept signing with the key it had")
        last_exp = max(h.decode_jwt(t)[1]["exp"] for t in olds)
        # Until the last of them expires, the old key stays in /certs.
        while time.time() < last_exp - 2:
            self.assertIn(old, kids_in_certs(d))
            time.sleep(2)
        wait_for("the old key destroyed after its last token",
                 lambda: old not in kids_in_certs(d), 2 * CHECK + 30)


class ScheduledRotationTest(EvidenceDaemonTest):
    time_limit = 120
    # The shortest period these allow: 60 s tokens + 0 leeway + 2 looks (config.c).
    CONFIG = (f"attest_token_lifetime = {LIFETIME}\nsigning_key_retire_leeway = 0\n"
              "signing_key_rotation = 80\nsigning_key_lead_time = 5\n")

    def test_scheduled_rotation(self):
        # A provider whose key has signed for most of its period (its times set back in the
        # store, as if it had been running): the next look finds the rotation due.
        import sqlite3
        d = self.d
        d.attestctl("provider", "create", "sched", "--alg", "ES256")
        with sqlite3.connect(os.path.join(d.data, "attestd.db")) as db:
            db.execute("UPDATE signing_keys SET created_at = created_at - 76,"
                       " activate_at = activate_at - 76 WHERE provider = 'sched'")
        (first,) = [k["kid"] for k in keys_of(d, "sched")]
        made = d.wait_log("made a new signing key (scheduled rotation)", timeout=2 * CHECK + 5,
                          provider="sched")[0]
        new = made["kid"]
        keys = {k["kid"]: k for k in keys_of(d, "sched")}
        # Made when the first key's period (80 s) came within the lead time (5 s) of its end,
        # to sign 5 s later.
        self.assertEqual(utc_seconds(keys[new]["activates"]) - utc_seconds(keys[new]["created"]), 5)
        self.assertGreaterEqual(utc_seconds(keys[new]["created"]),
                                utc_seconds(keys[first]["activates"]) + 80 - 5)
        prefix = "/providers/sched"
        self.assertIn(new, kids_in_certs(d, prefix))

        def kid_now():
            return header_kid(tp.attest_token(d, self.ev.quote, prefix))
        if time.time() < utc_seconds(keys[new]["activates"]) - 1:
            self.assertEqual(kid_now(), first)  # published, not yet signing
        wait_for("the new key signs", lambda: kid_now() == new, 15)
        self.assertIn(first, kids_in_certs(d, prefix))  # its tokens are still valid
        recs = [json.loads(line) for line in
                d.attestctl("audit", "export", "--action", "provider.key.rotate").stdout.splitlines()]
        self.assertTrue(any(r["properties"]["kid"] == new and r["identity"]["name"] == "attestd"
                            for r in recs), recs)

if __name__ == "__main__":
    unittest.main()
