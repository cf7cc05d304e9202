"""The audit trail, black-box (docs/operations.md, "Audit trail").

One daemon with fresh SGX evidence from the test PKI. Every change, refused caller and
attestation must be one record (a change: a durable "attempt", then its outcome) carrying the
request id of its answer; GET /attestd/audit and `attestctl audit show|export` filter them;
`attestctl audit verify` accepts the trail as written and names the first bad record after a
deletion, an edit, a reordering or a cut tail. With the audit database locked by another
process (the "audit store made unwritable"), a policy change and an attestestctl change are
refused and change nothing, and a fail-closed provider withholds its token (503) while a
fail-open one answers.
"""
import json
import os
import shutil
import sqlite3
import tempfile
import time
import unittest

import harness as h
from test_attest_testpki import make_evidence, report_data_for, start_daemon

API = "?api-version=2020-10-01"
RUNTIME = b'{"purpose":"audit test"}'
POLICY = "version=1.0;authorizationrules{=> permit();};issuancerules{};"
POLICY_2 = "version=1.0;authorizationrules{=> permit();};issuancerules{=> issue(type=\"t\", value=2);};"


class AuditTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="attestd-audit-")
        cls.quote, bundle, root = make_evidence(os.path.join(cls.tmp, "pki"), "--report-data",
                                                report_data_for(RUNTIME))
        cls.d = start_daemon(root, bundle, "audit_checkpoint_interval = 1\n"
                                           "audit_busy_timeout = 300\n")
        cls.token = h.owner_token(cls.d)
        cls.audit_db = os.path.join(cls.d.data, "audit.db")

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- helpers ----

    def auth(self, token=None):
        return {"Authorization": "Bearer " + (token or self.token)}

    def records(self, **query):
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        status, _, doc = self.d.get_json("/attestd/audit" + ("?" + qs if qs else ""),
                                         headers=self.auth())
        self.assertEqual(status, 200, doc)
        return doc["records"]

    def by_request(self, rid, count=None):
        """The records of request `rid`; with `count`, waits until there are that many (a
        refusal's record is written without holding its answer)."""
        deadline = time.time() + 10
        while True:
            recs = [r for r in self.records(limit=1000, after=self.last_seq_before)
                    if r["correlationId"] == rid]
            if count is None or len(recs) >= count or time.time() > deadline:
                return recs
            time.sleep(0.05)

    def setUp(self):
        recs = self.records(limit=1000)
        while len(recs) == 1000:
            recs = self.records(limit=1000, after=recs[-1]["seq"])
        self.last_seq_before = recs[-1]["seq"] if recs else 0

    def put_policy(self, text, token=None):
        body = h.unsigned_policy_jws(text).encode()
        return self.d.request("PUT", "/policies/SgxEnclave" + API, body=body,
                              headers={**self.auth(token), "Content-Type": "text/plain"})

    def policy_state(self):
        """The SGX policy in force and the whole history, as attestctl prints them."""
        return (self.d.attestctl("policy", "show", "SgxEnclave").stdout,
                self.d.attestctl("policy", "history", "SgxEnclave").stdout)

    def attest(self, provider=None):
        prefix = f"/providers/{provider}" if provider else ""
        body = json.dumps({"quote": h.b64url_encode(self.quote),
                           "runtimeData": {"data": h.b64url_encode(RUNTIME),
                                           "dataType": "Binary"}}).encode()
        return self.d.request("POST", prefix + "/attest/SgxEnclave" + API, body=body,
                              headers={"Content-Type": "application/json"})

    def verify(self):
        p = self.d.attestctl("audit", "verify", check=False)
        self.assertIn(p.returncode, (0, 3), p.stderr)
        return p.returncode, json.loads(p.stdout)

    def wait_checkpoint(self):
        """Until a checkpoint covers everything written so far (the interval is 1 s)."""
        deadline = time.time() + 10
        while time.time() < deadline:
            recs = self.records(limit=1000, after=self.last_seq_before)
            if recs and recs[-1]["operationName"] == "audit.checkpoint":
                return recs[-1]
            time.sleep(0.2)
        self.fail("no checkpoint within 10 s")

    class Locked:
        """Hold the audit database's write lock from another process (a SIEM agent, a copy)."""

        def __init__(self, path):
            self.path = path

        def __enter__(self):
            self.conn = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            self.conn.execute("BEGIN EXCLUSIVE")
            return self

        def __exit__(self, *exc):
            self.conn.execute("ROLLBACK")
            self.conn.close()

    # ---- what is recorded ----

    def test_policy_change_is_attempt_then_outcome(self):
        status, headers, body = self.put_policy(POLICY_2)
        self.assertEqual(status, 200, body)
        rid = headers["x-ms-request-id"]
        recs = self.by_request(rid)
        self.assertEqual([(r["category"], r["operationName"], r["resultType"]) for r in recs],
                         [("change", "policy.set", "attempt"), ("change", "policy.set", "success")])
        self.assertEqual(recs[0]["identity"]["name"], "bootstrap-owner")
        self.assertEqual(recs[0]["callerIpAddress"], "127.0.0.1")
        self.assertEqual(recs[0]["provider"], "default")
        props = recs[1]["properties"]
        self.assertEqual(props["status"], 200)
        self.assertEqual(props["attestationType"], "SgxEnclave")
        self.assertEqual(props["policyHash"], h.policy_hash(POLICY_2))
        self.assertIsInstance(props["version"], int)
        for r in recs:  # never the policy text, the JWS or the bearer token
            self.assertNotIn("issuancerules", json.dumps(r))
            self.assertNotIn(self.token[:40], json.dumps(r))

    def test_role_changes_through_the_new_path_and_its_alias_are_recorded_alike(self):
        """POST /attestd/roleAssignments and its deprecated alias /admin/roleAssignments are
        one route: the same audit action (role.add, role.remove) and the same details."""
        name = "audit-alias-" + h.uuid4()[:8]
        subject = json.loads(self.d.attestctl("principal", "create", name).stdout)["client_id"]
        seen = {}
        for prefix in ("/attestd", "/admin"):
            with self.subTest(prefix=prefix):
                role = "Attester" if prefix == "/attestd" else "AttestationReader"
                status, headers, body = self.d.request(
                    "POST", prefix + "/roleAssignments",
                    body=json.dumps({"subjectKind": "principal", "subject": subject,
                                     "role": role, "provider": "default"}).encode(),
                    headers={**self.auth(), "Content-Type": "application/json"})
                self.assertEqual(status, 201, body)
                created = json.loads(body)
                added = self.by_request(headers["x-ms-request-id"])
                status, headers, body = self.d.request(
                    "POST", prefix + "/roleAssignments:remove",
                    body=json.dumps({"id": created["id"]}).encode(),
                    headers={**self.auth(), "Content-Type": "application/json"})
                self.assertEqual(status, 200, body)
                removed = self.by_request(headers["x-ms-request-id"])
                got = [(r["category"], r["operationName"], r["resultType"]) for r in
                       added + removed]
                self.assertEqual(got, [("change", "role.add", "attempt"),
                                       ("change", "role.add", "success"),
                                       ("change", "role.remove", "attempt"),
                                       ("change", "role.remove", "success")])
                self.assertEqual(added[1]["properties"]["assignment"], created)
                self.assertEqual(removed[1]["properties"]["assignmentId"], created["id"])
                seen[prefix] = [sorted(r["properties"]) for r in added + removed]
        self.assertEqual(seen["/attestd"], seen["/admin"])

    def test_refused_change_is_recorded_as_failure(self):
        status, headers, body = self.put_policy("version=1.0; nonsense")
        self.assertEqual(status, 400, body)
        recs = self.by_request(headers["x-ms-request-id"])
        self.assertEqual([r["resultType"] for r in recs], ["attempt", "failure"])
        self.assertEqual(recs[1]["properties"]["status"], 400)
        self.assertEqual(recs[1]["properties"]["error"], "PolicyParsingError")
        self.assertNotIn("nonsense", json.dumps(recs[1]))  # the policy's text is not recorded

    def test_bad_bearer_token_is_an_authentication_record(self):
        status, headers, _ = self.d.request("GET", "/attestd/roleAssignments",
                                            headers={"Authorization": "Bearer not.a.token"})
        self.assertEqual(status, 401)
        recs = self.by_request(headers["x-ms-request-id"], 1)
        self.assertEqual(len(recs), 1, recs)
        self.assertEqual((recs[0]["category"], recs[0]["resultType"]),
                         ("authentication", "denied"))
        self.assertEqual(recs[0]["properties"]["reason"], "ATT_ERR_ENCODING")
        self.assertNotIn("not.a.token", json.dumps(recs[0]))

    def test_failed_token_request_is_recorded_without_the_secret(self):
        secret = "wrong-secret-value-1234567890"
        body = (f"grant_type=client_credentials&client_id=00000000-0000-4000-8000-000000000000"
                f"&client_secret={secret}").encode()
        status, headers, _ = self.d.request(
            "POST", "/oauth2/token", body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 401)
        recs = self.by_request(headers["x-ms-request-id"], 1)
        self.assertEqual(len(recs), 1, recs)
        self.assertEqual((recs[0]["operationName"], recs[0]["resultType"]),
                         ("authentication.token", "denied"))
        self.assertEqual(recs[0]["identity"]["id"], "00000000-0000-4000-8000-000000000000")
        self.assertNotIn(secret, json.dumps(recs[0]))

    def test_forbidden_caller_is_an_authorization_record(self):
        created = json.loads(self.d.attestctl("principal", "create", "audit-attester").stdout)
        self.d.attestctl("role", "assign", "--role", "Attester", "--principal", "audit-attester")
        token = h.client_token(self.d, created["client_id"], created["client_secret"])
        status, headers, _ = self.put_policy(POLICY, token=token)
        self.assertEqual(status, 403)
        recs = self.by_request(headers["x-ms-request-id"], 1)
        self.assertEqual([(r["category"], r["resultType"]) for r in recs],
                         [("authorization", "denied")])
        self.assertEqual(recs[0]["identity"]["name"], "audit-attester")
        # An Attester cannot read the trail either; a Reader can.
        status, _, _ = self.d.request("GET", "/attestd/audit", headers=self.auth(token))
        self.assertEqual(status, 403)
        self.d.attestctl("role", "assign", "--role", "AttestationReader", "--principal",
                         "audit-attester")
        status, _, doc = self.d.get_json("/attestd/audit?limit=1", headers=self.auth(token))
        self.assertEqual(status, 200, doc)
        self.assertEqual(len(doc["records"]), 1)
        self.assertEqual(doc["nextAfter"], doc["records"][0]["seq"])

    def test_attestation_outcome_is_recorded(self):
        status, headers, body = self.attest()
        self.assertEqual(status, 200, body)
        claims = h.decode_jwt(json.loads(body)["token"])[1]
        recs = self.by_request(headers["x-ms-request-id"])
        self.assertEqual(len(recs), 1, recs)
        r = recs[0]
        self.assertEqual((r["category"], r["operationName"], r["resultType"]),
                         ("attestation", "attest.SgxEnclave", "success"))
        self.assertEqual(r["properties"]["policyHash"], claims["x-ms-policy-hash"])
        self.assertEqual(r["properties"]["verdict"], "permit")
        self.assertEqual(r["properties"]["tcbStatus"], claims["x-ms-sgx-tcb-status"]
                         if "x-ms-sgx-tcb-status" in claims else r["properties"]["tcbStatus"])
        self.assertNotIn(json.loads(body)["token"][:60], json.dumps(r))
        self.assertNotIn(h.b64url_encode(self.quote)[:60], json.dumps(r))
        # A refusal too, with its reason.
        status, headers, _ = self.d.request(
            "POST", "/attest/SgxEnclave" + API, body=b'{"quote": "AAAA"}',
            headers={"Content-Type": "application/json"})
        self.assertEqual(status, 400)
        recs = self.by_request(headers["x-ms-request-id"], 1)
        self.assertEqual([r["resultType"] for r in recs], ["failure"])
        self.assertTrue(recs[0]["properties"]["reason"].startswith("ATT_ERR_"), recs[0])

    def test_attestctl_changes_are_recorded_with_the_os_user(self):
        self.d.attestctl("provider", "create", "audit-cli")
        recs = [r for r in self.records(category="change", action="provider",
                                        after=self.last_seq_before)]
        self.assertEqual([(r["operationName"], r["resultType"]) for r in recs],
                         [("provider.create", "attempt"), ("provider.create", "success")])
        # (through the running attestd's admin socket, as the peer the kernel names)
        self.assertEqual(recs[0]["callerIpAddress"], "local:admin-socket")
        self.assertEqual(recs[0]["identity"]["id"], f"uid:{os.geteuid()}")
        self.assertEqual(recs[0]["properties"]["arguments"],
                         ["provider", "create", "audit-cli"])
        # Reads are not changes: nothing recorded.
        before = self.records(limit=1000, after=self.last_seq_before)
        self.d.attestctl("provider", "list")
        after = self.records(limit=1000, after=self.last_seq_before)
        self.assertEqual([r for r in after if r["callerIpAddress"].startswith("local:")],
                         [r for r in before if r["callerIpAddress"].startswith("local:")])
        # With --direct, attestctl writes the trail itself, as the user who ran it.
        self.d.attestctl("--direct", "provider", "delete", "audit-cli")
        recs = [r for r in self.records(category="change", action="provider.delete",
                                        after=self.last_seq_before)]
        self.assertEqual([(r["callerIpAddress"], r["resultType"]) for r in recs],
                         [("local:attestctl", "attempt"), ("local:attestctl", "success")])
        self.assertEqual(recs[0]["identity"]["id"], f"uid:{os.geteuid()}")

    # ---- reading ----

    def test_filters_and_export(self):
        self.put_policy(POLICY)
        recs = self.records(action="policy", after=self.last_seq_before)
        self.assertTrue(recs)
        self.assertTrue(all(r["operationName"].startswith("policy.") for r in recs))
        self.assertEqual(self.records(principal="no-such-principal"), [])
        self.assertTrue(all(r["identity"]["name"] == "bootstrap-owner"
                            for r in self.records(principal="bootstrap-owner")))
        future = self.records(since="2100-01-01T00:00:00Z")
        self.assertEqual(future, [])
        status, _, doc = self.d.get_json("/attestd/audit?since=yesterday", headers=self.auth())
        self.assertEqual(status, 400)
        self.assertEqual(doc["error"]["code"], "InvalidParameter")
        p = self.d.attestctl("audit", "export", "--action", "policy.set")
        lines = [json.loads(line) for line in p.stdout.splitlines()]
        self.assertTrue(lines)
        for line in lines:
            self.assertEqual(line["operationName"], "policy.set")
            self.assertRegex(line["hash"], r"^[0-9a-f]{64}$")
        p = self.d.attestctl("audit", "show", "--category", "change", "--limit", "2")
        self.assertEqual(len(p.stdout.splitlines()), 2)
        self.assertRegex(p.stdout.splitlines()[0], r"^#\d+ \d{4}-\d\d-\d\dT[\d:.]+Z change ")
        p = self.d.attestctl("audit", "show", "--bogus", "x", check=False)
        self.assertEqual(p.returncode, 2)

    # ---- fail closed ----

    def test_locked_audit_store_refuses_changes_and_changes_nothing(self):
        status, _, _ = self.put_policy(POLICY)
        self.assertEqual(status, 200)
        before = self.policy_state()
        with self.Locked(self.audit_db):
            status, headers, body = self.put_policy(POLICY_2)
            self.assertEqual(status, 503, body)
            self.assertEqual(headers["Retry-After"], "5")
            err = json.loads(body)["error"]
            self.assertEqual(err["innererror"]["code"], "ATT_ERR_AUDIT_UNAVAILABLE")
            self.assertEqual(err["message"],
                             "the change was not made: its audit record cannot be written")
            self.assertEqual(self.policy_state(), before)
            p = self.d.attestctl("provider", "create", "audit-locked", check=False)
            self.assertEqual(p.returncode, 1)
            self.assertIn("nothing was changed", p.stderr)
        self.assertEqual(self.policy_state(), before)
        p = self.d.attestctl("provider", "show", "audit-locked", check=False)
        self.assertNotEqual(p.returncode, 0)
        # Writable again: the change goes through.
        status, _, _ = self.put_policy(POLICY_2)
        self.assertEqual(status, 200)
        self.assertIn(h.policy_hash(POLICY_2), self.policy_state()[0])

    def test_locked_audit_store_withholds_tokens_unless_fail_open(self):
        self.d.attestctl("provider", "create", "audit-open")
        self.d.attestctl("provider", "set", "audit-open", "--audit-fail-open", "on")
        self.d.reload()
        with self.Locked(self.audit_db):
            status, _, body = self.attest()
            self.assertEqual(status, 503, body)
            self.assertIn("audit record", json.loads(body)["error"]["message"])
            self.assertNotIn(b"\"token\":", body)
            status, _, body = self.attest("audit-open")
            self.assertEqual(status, 200, body)
        status, _, body = self.attest()
        self.assertEqual(status, 200, body)



class VerifyTest(unittest.TestCase):
    """`attestctl audit verify` on a trail an attacker edited (the daemon stopped, so the
    edits race nothing); each case starts from a copy of the same sound trail."""

    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon("audit_checkpoint_interval = 1\n")
        token = h.owner_token(cls.d)
        for text in (POLICY, POLICY_2, POLICY):
            status, _, _ = cls.d.request(
                "PUT", "/policies/SgxEnclave" + API, body=h.unsigned_policy_jws(text).encode(),
                headers={"Authorization": "Bearer " + token, "Content-Type": "text/plain"})
            assert status == 200, status
        cls.d.stop()  # the last checkpoint is written at the stop
        cls.db = os.path.join(cls.d.data, "audit.db")
        cls.pristine = cls.db + ".pristine"
        shutil.copyfile(cls.db, cls.pristine)

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def setUp(self):
        shutil.copyfile(self.pristine, self.db)
        for side in ("-wal", "-shm"):
            if os.path.exists(self.db + side):
                os.unlink(self.db + side)

    def rows(self):
        conn = sqlite3.connect(self.db)
        try:
            return conn.execute("SELECT seq, action, outcome FROM audit_records ORDER BY seq"
                                ).fetchall()
        finally:
            conn.close()

    def tamper(self, *statements):
        conn = sqlite3.connect(self.db, isolation_level=None)
        try:
            conn.execute("DROP TRIGGER IF EXISTS audit_records_append_only")
            for sql, args in statements:
                conn.execute(sql, args)
        finally:
            conn.close()

    def verify(self):
        p = self.d.attestctl("audit", "verify", check=False)
        self.assertIn(p.returncode, (0, 3), p.stderr)
        return p.returncode, json.loads(p.stdout)

    def victim(self):
        """The first policy.set outcome record: somewhere in the middle."""
        return next(seq for seq, action, outcome in self.rows()
                    if action == "policy.set" and outcome == "success")

    def test_sound_trail(self):
        code, v = self.verify()
        self.assertEqual(code, 0, v)
        rows = self.rows()
        self.assertEqual(v["records"], len(rows))
        self.assertEqual((v["firstSeq"], v["lastSeq"]), (1, rows[-1][0]))
        self.assertGreaterEqual(v["checkpoints"], 1)
        self.assertEqual(rows[-1][1], "audit.checkpoint")  # the stop's
        self.assertEqual(v["lastCheckpointCovers"], rows[-1][0] - 1)
        self.assertEqual([r[1] for r in rows[:2]], ["service.start", "principal.bootstrap"])
        self.assertIn("service.stop", [r[1] for r in rows])

    def test_deleted_record(self):
        n = self.victim()
        self.tamper(("DELETE FROM audit_records WHERE seq = ?", (n,)))
        code, v = self.verify()
        self.assertEqual((code, v["ok"], v["badRecord"]), (3, False, n + 1), v)
        self.assertEqual(v["problem"],
                         f"record {n + 1} follows record {n - 1}: the records between are missing")

    def test_altered_record(self):
        n = self.victim()
        self.tamper(("UPDATE audit_records SET body = replace(body, '\"status\":200', "
                     "'\"status\":400') WHERE seq = ?", (n,)))
        code, v = self.verify()
        self.assertEqual((code, v["badRecord"]), (3, n), v)
        self.assertEqual(v["problem"],
                         f"record {n} does not chain to record {n - 1}: one of them was altered")

    def test_altered_column(self):
        n = self.victim()
        self.tamper(("UPDATE audit_records SET principal_name = 'someone-else' WHERE seq = ?",
                     (n,)))
        code, v = self.verify()
        self.assertEqual((code, v["badRecord"]), (3, n), v)
        self.assertEqual(v["problem"], f"record {n}: its columns disagree with its content")

    def test_reordered_records(self):
        n = self.victim()
        self.tamper(("UPDATE audit_records SET seq = -1 WHERE seq = ?", (n,)),
                    ("UPDATE audit_records SET seq = ? WHERE seq = ?", (n, n + 1)),
                    ("UPDATE audit_records SET seq = ? WHERE seq = -1", (n + 1,)))
        code, v = self.verify()
        self.assertEqual((code, v["badRecord"]), (3, n), v)

    def test_rehashed_record_breaks_the_next(self):
        """An attacker who recomputes the edited record's hash still breaks its successor."""
        n = self.victim()
        conn = sqlite3.connect(self.db)
        seq_prev_hash = conn.execute("SELECT hash FROM audit_records WHERE seq = ?",
                                     (n - 1,)).fetchone()[0]
        body = conn.execute("SELECT body FROM audit_records WHERE seq = ?", (n,)).fetchone()[0]
        conn.close()
        import hashlib
        forged = body.replace('"status":200', '"status":201')
        digest = hashlib.sha256(b"attestd-audit-v1\0" + seq_prev_hash.encode() + b"\0" +
                                str(n).encode() + b"\0" + forged.encode()).hexdigest()
        self.tamper(("UPDATE audit_records SET body = ?, hash = ? WHERE seq = ?",
                     (forged, digest, n)))
        code, v = self.verify()
        self.assertEqual((code, v["badRecord"]), (3, n + 1), v)

    def test_cut_tail(self):
        rows = self.rows()
        cut = rows[-3][0]
        self.tamper(("DELETE FROM audit_records WHERE seq >= ?", (cut,)))
        code, v = self.verify()
        self.assertEqual(code, 3, v)
        self.assertEqual(v["problem"],
                         f"the trail ends at record {cut - 1}, but a checkpoint covered record "
                         f"{rows[-1][0] - 1}: records were removed from its end")

    def test_forged_checkpoint(self):
        last = self.rows()[-1][0]  # the stop's checkpoint
        conn = sqlite3.connect(self.db)
        body = conn.execute("SELECT body FROM audit_records WHERE seq = ?", (last,)).fetchone()[0]
        prev = conn.execute("SELECT hash FROM audit_records WHERE seq = ?",
                            (last - 1,)).fetchone()[0]
        conn.close()
        doc = json.loads(body)
        jws = doc["properties"]["jws"]
        head, payload, sig = jws.split(".")
        forged_sig = ("A" if sig[0] != "A" else "B") + sig[1:]
        doc["properties"]["jws"] = ".".join([head, payload, forged_sig])
        forged = json.dumps(doc, separators=(",", ":"))
        import hashlib
        digest = hashlib.sha256(b"attestd-audit-v1\0" + prev.encode() + b"\0" +
                                str(last).encode() + b"\0" + forged.encode()).hexdigest()
        self.tamper(("UPDATE audit_records SET body = ?, hash = ? WHERE seq = ?",
                     (forged, digest, last)))
        code, v = self.verify()
        self.assertEqual((code, v["badRecord"]), (3, last), v)
        self.assertEqual(v["problem"],
                         f"record {last}: a checkpoint whose signature or coverage is wrong")


class LossTest(unittest.TestCase):
    """Records cut off the trail: attestd refuses to start until the loss is acknowledged,
    which leaves it on record."""

    def test_refused_start_then_acknowledged(self):
        d = h.Daemon("audit_checkpoint_interval = 1\n")
        try:
            token = h.owner_token(d)
            status, _, _ = d.request(
                "PUT", "/policies/SgxEnclave" + API, body=h.unsigned_policy_jws(POLICY).encode(),
                headers={"Authorization": "Bearer " + token, "Content-Type": "text/plain"})
            self.assertEqual(status, 200)
            d.stop()
            db = os.path.join(d.data, "audit.db")
            for name in (db, db + "-wal", db + "-shm"):
                if os.path.exists(name):
                    os.unlink(name)
            with self.assertRaises(RuntimeError) as cm:
                d.start()
            self.assertIn(f"{db} does not hold record", str(cm.exception))
            self.assertIn("attestctl audit acknowledge-loss", str(cm.exception))
            out = json.loads(d.attestctl("audit", "acknowledge-loss").stdout)
            lost = out["acknowledged"]["seq"]
            d.start()
            code, v = d.attestctl("audit", "verify", check=False).returncode, None
            self.assertEqual(code, 0)
            recs = [json.loads(line) for line in
                    d.attestctl("audit", "export", "--action", "audit.loss").stdout.splitlines()]
            self.assertEqual([(r["resultType"], r["properties"].get("lostCheckpointSeq"))
                              for r in recs],
                             [("attempt", None), ("success", lost), ("success", None)])
            # Nothing lost now (whether or not a new checkpoint was kept meanwhile): refused.
            p = d.attestctl("audit", "acknowledge-loss", check=False)
            self.assertEqual(p.returncode, 1)
            self.assertIn("nothing to acknowledge", p.stderr)
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
