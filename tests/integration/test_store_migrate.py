"""attestctl store migrate, black-box (issue 18: "attestctl store migrate --from sqlite:PATH
--to postgresql://... to move an existing installation").

An attestd on SQLite is given some of everything the store keeps: providers with settings,
rotated signing keys, an Isolated provider with a signer and a bound signed policy change,
policy histories with a rollback and with versions retention pruned, principals with two
secrets, a certificate and a disabled one, role assignments, imported SGX collateral and an
audit checkpoint. It is stopped, its store copied into a new PostgreSQL database, and an
attestd started on that database with the same data directory (KEK, audit trail) must serve
the same keys, policies and histories, authenticate the same principals, list the same
collateral, attest the real SGX sample and refuse the signed request it had applied.

Refusals: a target that is not empty (left unchanged), URLs that hold a password or are not
postgresql://, a missing source, a source of an older schema (left unmigrated), and a failure
halfway (a database account without INSERT on one table) that leaves the target empty.

Needs the test run's PostgreSQL server (ATTESTD_TEST_PG, started by tests/run_tests.py).
"""
import hashlib
import json
import socket
import os
import shutil
import sqlite3
import subprocess
import time
import unittest

import harness as h
from test_attest_sgx import SGX01_BUNDLE, SGX01_QUOTE, SGX01_VERIFY_AT, read_evidence

PG = os.environ.get("ATTESTD_TEST_PG", "")
API = "?api-version=2020-10-01"
CONFIG = "auth_max_failures = 0\naudit_checkpoint_interval = 1"
V1 = "version=1.0;\nauthorizationrules{\n=> permit();\n};\nissuancerules{};\n"
V2 = ("version=1.0;\nauthorizationrules{\n=> permit();\n};\nissuancerules{\n"
      "=> issue(type=\"tier\", value=2);\n};\n")
TABLES = ["providers", "signing_keys", "data_keys", "auth_keys", "principals",
          "principal_secrets", "role_assignments", "policy_versions", "policy_requests",
          "policy_signers", "collateral", "audit_checkpoint"]
SKIP = "ATTESTD_TEST_PG is not set: no PostgreSQL server to migrate into (tests/run_tests.py " \
       "starts one)"


def psql(sql, db="postgres"):
    """Run SQL as the test server's superuser; its output, unaligned, tuples only."""
    out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d",
                          f"{PG}/{db}", "-c", sql], check=True, timeout=60,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return out.stdout.strip()


_databases = []


def new_database(tag):
    """A new, empty database of its own on the run's server: its URL."""
    name = f"migrate_{os.getpid()}_{len(_databases)}_{tag}"
    psql(f'CREATE DATABASE "{name}"')
    _databases.append(name)
    return f"{PG}/{name}"


def drop_databases():
    while _databases:
        psql(f'DROP DATABASE IF EXISTS "{_databases.pop()}" WITH (FORCE)')


def target_counts(url):
    """Rows per table in the database at url (as the superuser, whoever the URL names)."""
    db = url.rsplit("/", 1)[1]
    if psql(f"SELECT to_regclass('public.providers') IS NOT NULL", db=db) != "t":
        return {t: 0 for t in TABLES}  # not even a schema yet
    return {t: int(psql(f"SELECT COUNT(*) FROM {t}", db=db)) for t in TABLES}


def source_counts(path):
    """Rows per table of an SQLite store no process has open (immutable: nothing is written)."""
    db = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        db.close()


def source_rows_raw(path):
    """Every row of every table of an SQLite store no process has open, each value as hex of
    its bytes (integers as numbers), a sorted list per table; and each table's columns with
    their declared types, to ask PostgreSQL for the same."""
    db = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    rows, columns = {}, {}
    try:
        for t in TABLES:
            columns[t] = [(c[1], c[2]) for c in db.execute(f"PRAGMA table_info({t})")]
            names = ", ".join(name for name, _ in columns[t])
            rows[t] = sorted("|".join("" if v is None else str(v) if isinstance(v, int) else
                                      (v if isinstance(v, bytes) else v.encode()).hex()
                                      for v in row)
                             for row in db.execute(f"SELECT {names} FROM {t}"))
    finally:
        db.close()
    return rows, columns


def target_rows_raw(url, columns):
    """The same rows as source_rows_raw reads them, from the PostgreSQL database at url."""
    name = url.rsplit("/", 1)[1]
    rows = {}
    for t, cols in columns.items():
        exprs = ", ".join(c if kind == "INTEGER" else f"encode({c}, 'hex')" if kind == "BLOB"
                          else f"encode(convert_to({c}, 'UTF8'), 'hex')" for c, kind in cols)
        out = psql(f"SELECT {exprs} FROM {t}", db=name)
        rows[t] = sorted(out.splitlines()) if out else []
    return rows


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def json_of(proc):
    return json.loads(proc.stdout)


@unittest.skipUnless(PG, SKIP)
class StoreMigrateTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon(config=CONFIG, env={"ATTESTD_TEST_VERIFY_TIME": str(SGX01_VERIFY_AT)})
        try:
            cls.populate()
            cls.before = cls.snapshot()
            cls.wait_for_checkpoint()
            cls.d.stop()
            cls.source = os.path.join(cls.d.data, "attestd.db")
            cls.source_rows = source_counts(cls.source)
            cls.source_hash = sha256_file(cls.source)
            cls.url = new_database("main")
            # The configuration still names the SQLite store: attestctl opens it as its own
            # and the copy reads it through that connection.
            cls.migrated = cls.d.attestctl("store", "migrate", "--from", f"sqlite:{cls.source}",
                                           "--to", cls.url)
            cls.hash_after = sha256_file(cls.source)
            # Both sides raw, before attestd on the copy writes its own (last uses, key use).
            cls.source_raw, columns = source_rows_raw(cls.source)
            cls.target_raw = target_rows_raw(cls.url, columns)
            cls.target_rows = target_counts(cls.url)
            cls.d.write_config(CONFIG + f"\nstore = {cls.url}")
            cls.d.start()
            cls.after = cls.snapshot()
        except BaseException:
            cls.d.cleanup()
            drop_databases()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.d.cleanup()
        finally:
            drop_databases()

    # ---- the installation ----

    @classmethod
    def owner_headers(cls):
        return {"Authorization": "Bearer " + h.owner_token(cls.d)}

    @classmethod
    def populate(cls):
        d = cls.d
        auth = cls.owner_headers()
        ctl = d.attestctl
        # default: SgxEnclave set twice then rolled back (3 versions, the third a rollback);
        # OpenEnclave set three times keeping 2 (versions 2 and 3 left: numbers with a gap).
        for text in (V1, V2):
            status, body = h.put_policy(d, text, auth)
            assert status == 200, body
        ctl("policy", "rollback", "SgxEnclave", "1")
        ctl("provider", "set", "default", "--policy-history-keep", "2")
        for text in (V1, V2, V1):
            status, body = h.put_policy(d, text, auth, "OpenEnclave")
            assert status == 200, body
        ctl("provider", "rotate-key", "default", "--lead", "3600")
        # iso: Isolated, every setting changed, one bound signed policy change applied.
        certs = os.path.join(d.tmp, "certs")
        os.makedirs(certs)
        key, cert, _ = h.make_cert(certs, "signer", "p256")
        ctl("provider", "create", "iso", "--isolated", "--signer", cert)
        ctl("provider", "set", "iso", "--collateral-grace", "3600", "--require-bound-requests",
            "on", "--audit-fail-open", "on", "--attest-requires-auth", "on")
        policy = os.path.join(d.tmp, "v2.txt")
        with open(policy, "w", encoding="utf-8") as f:
            f.write(V2)
        cls.signed = ctl("policy", "sign", "set", "SgxEnclave", policy, "--key", key, "--cert",
                         cert, "--audience", d.base_url + "/providers/iso",
                         use_config=False).stdout.strip()
        status, _, body = d.request("PUT", "/providers/iso/policies/SgxEnclave" + API,
                                    body=cls.signed.encode(),
                                    headers={**auth, "Content-Type": "text/plain"})
        assert status == 200, body
        # principals: svc with two secrets, a certificate and roles; old, disabled.
        cls.svc = json_of(ctl("principal", "create", "svc"))
        cls.svc2 = json_of(ctl("principal", "secret", "add", "svc"))
        _, leaf, _ = h.make_cert(certs, "svc", "p256", ext="leaf")
        ctl("principal", "cert", "svc", leaf)
        ctl("role", "assign", "--role", "Attester", "--principal", "svc", "--provider", "*")
        ctl("role", "assign", "--role", "AttestationReader", "--subject", "alice", "--issuer",
            "https://idp.example", "--provider", "iso")
        cls.old = json_of(ctl("principal", "create", "old"))
        ctl("principal", "disable", "old")
        h.client_token(d, cls.svc["client_id"], cls.svc["client_secret"])  # last use noted
        # collateral and an attestation with the real sample
        ctl("collateral", "import", SGX01_BUNDLE, "--allow-expired")
        cls.quote = read_evidence(SGX01_QUOTE)
        cls.token_before = cls.attest()

    @classmethod
    def attest(cls):
        status, _, body = cls.d.request("POST", "/attest/SgxEnclave" + API,
                                        body=json.dumps({"quote": h.b64url_encode(cls.quote)})
                                        .encode(),
                                        headers={"Content-Type": "application/json"})
        assert status == 200, body
        return json.loads(body)["token"]

    @classmethod
    def wait_for_checkpoint(cls):
        """Until the daemon (audit_checkpoint_interval = 1) has kept a checkpoint."""
        deadline = time.monotonic() + 20
        path = os.path.join(cls.d.data, "attestd.db")
        while time.monotonic() < deadline:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                if db.execute("SELECT COUNT(*) FROM audit_checkpoint").fetchone()[0] == 1:
                    return
            finally:
                db.close()
            time.sleep(0.2)
        raise AssertionError("no audit checkpoint kept within 20 s")

    @classmethod
    def snapshot(cls):
        """What attestd and attestctl show of the state (nothing that depends on the clock)."""
        def ctl(*args):
            return json_of(cls.d.attestctl(*args))
        snap = {
            "providers": ctl("provider", "list"),
            "default": ctl("provider", "show", "default"),
            "iso": ctl("provider", "show", "iso"),
            "sgx_history": ctl("policy", "history", "SgxEnclave"),
            "oe_history": ctl("policy", "history", "OpenEnclave"),
            "iso_history": ctl("policy", "history", "SgxEnclave", "--provider", "iso"),
            "sgx_in_force": ctl("policy", "show", "SgxEnclave"),
            "principals": ctl("principal", "list"),
            "svc": ctl("principal", "show", "svc"),
            "old": ctl("principal", "show", "old"),
            "roles": ctl("role", "list"),
            "collateral": [{k: v for k, v in item.items() if "age" not in k}
                           for item in ctl("collateral", "list")],
            "certs": cls.d.get_json("/certs")[2],
            "iso_certs": cls.d.get_json("/providers/iso/certs")[2],
        }
        return snap

    # ---- the copy ----

    def test_summary_counts_every_table(self):
        out = json_of(self.migrated)
        self.assertEqual(out["from"], f"sqlite:{self.source}")
        self.assertEqual(out["to"], self.url)
        self.assertIs(out["verified"], True)
        self.assertEqual([t["table"] for t in out["tables"]], TABLES)
        copied = {t["table"]: t["rows"] for t in out["tables"]}
        self.assertEqual(copied, self.source_rows)
        self.assertEqual(out["rows"], sum(self.source_rows.values()))
        # some of everything was there to copy
        for table in TABLES:
            with self.subTest(table=table):
                self.assertGreater(self.source_rows[table], 0)
        self.assertEqual(self.source_rows["providers"], 2)
        self.assertEqual(self.source_rows["principal_secrets"], 4)  # the bootstrap owner's too
        db = sqlite3.connect(f"file:{self.source}?immutable=1", uri=True)
        keks = sorted(r[0] for r in db.execute("SELECT DISTINCT kek_id FROM data_keys"))
        db.close()
        self.assertEqual(sorted(out["kek_ids"]), keks)

    def test_source_never_written(self):
        self.assertEqual(self.hash_after, self.source_hash)

    def test_target_holds_the_same_rows(self):
        self.assertEqual(self.target_rows, self.source_rows)

    def test_rows_are_byte_identical(self):
        """Every column of every row, sealed keys and wrapped data keys included; the audit
        checkpoint moves from the SQLite node ("") to the name this host's node has on
        PostgreSQL (<hostname>:<data_dir>, docs/operations.md)."""
        node = f"{socket.gethostname()}:{self.d.data}".encode().hex()
        for table in TABLES:
            with self.subTest(table=table):
                want = self.source_raw[table]
                if table == "audit_checkpoint":
                    want = [node + row for row in want]
                self.assertEqual(self.target_raw[table], want)
                self.assertEqual(len(self.target_raw[table]), self.source_rows[table])

    # ---- attestd on the copy ----

    def test_same_keys_published(self):
        kids = lambda jwks: sorted(k["kid"] for k in jwks["keys"])  # noqa: E731
        self.assertEqual(kids(self.after["certs"]), kids(self.before["certs"]))
        self.assertEqual(len(self.after["certs"]["keys"]), 2)  # the rotated key waits
        self.assertEqual(kids(self.after["iso_certs"]), kids(self.before["iso_certs"]))
        self.assertEqual(self.after["certs"], self.before["certs"])
        # a token issued before the move verifies with the keys served after it
        h.verify_jws(self.token_before, self.after["certs"])

    def test_same_providers_and_settings(self):
        for key in ("providers", "default", "iso"):
            with self.subTest(key=key):
                self.assertEqual(self.after[key], self.before[key])
        iso = self.after["iso"]
        self.assertEqual((iso["trust_model"], iso["collateral_grace"],
                          iso["require_bound_requests"], iso["audit_fail_open"],
                          iso["attest_requires_auth"], iso["issuer"]),
                         ("Isolated", 3600, True, True, True, self.d.base_url + "/providers/iso"))

    def test_same_policies_and_histories(self):
        for key in ("sgx_history", "oe_history", "iso_history", "sgx_in_force"):
            with self.subTest(key=key):
                self.assertEqual(self.after[key], self.before[key])
        self.assertEqual([(v["version"], v["action"], v.get("rollback_of"))
                          for v in self.after["sgx_history"]][2], (3, "rollback", 1))
        self.assertEqual([v["version"] for v in self.after["oe_history"]], [2, 3])
        self.assertEqual(self.after["sgx_in_force"]["policy"], V1)

    def test_history_goes_on_from_the_copied_numbers(self):
        status, body = h.put_policy(self.d, V2, self.owner_headers(), "OpenEnclave")
        self.assertEqual(status, 200, body)
        hist = json_of(self.d.attestctl("policy", "history", "OpenEnclave"))
        self.assertEqual([v["version"] for v in hist], [3, 4])  # keep 2: 2 goes, 4 comes
        # attestd works on the copy, not on the SQLite file still in its data directory
        name = self.url.rsplit("/", 1)[1]
        self.assertEqual(psql("SELECT version FROM policy_versions WHERE type = 'OpenEnclave'"
                              " ORDER BY version", db=name), "3\n4")
        self.assertEqual(sha256_file(self.source), self.source_hash)

    def test_applied_signed_request_stays_applied(self):
        status, _, body = self.d.request("PUT", "/providers/iso/policies/SgxEnclave" + API,
                                         body=self.signed.encode(),
                                         headers={**self.owner_headers(),
                                                  "Content-Type": "text/plain"})
        self.assertEqual(status, 400, body)
        self.assertIn("this signed request was applied already", h.error_of(body)[1])

    def test_principals_and_roles(self):
        for key in ("principals", "svc", "old", "roles"):
            with self.subTest(key=key):
                self.assertEqual(self.after[key], self.before[key])
        # both of svc's secrets still authenticate; the disabled principal still does not
        h.client_token(self.d, self.svc["client_id"], self.svc["client_secret"])
        h.client_token(self.d, self.svc2["client_id"], self.svc2["client_secret"])
        status, _, _ = self.d.request(
            "POST", "/oauth2/token",
            body=(f"grant_type=client_credentials&client_id={self.old['client_id']}"
                  f"&client_secret={self.old['client_secret']}").encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 401)

    def test_collateral_listed_identically(self):
        self.assertEqual(self.after["collateral"], self.before["collateral"])
        self.assertEqual(len(self.after["collateral"]), 4)

    def test_attestation_with_the_real_sample(self):
        token = self.attest()
        header, claims = h.verify_jws(token, self.after["certs"])
        _, before = h.verify_jws(self.token_before, self.before["certs"])
        self.assertEqual(header["kid"], h.split_jws(self.token_before)[0]["kid"])
        for claim in ("x-ms-policy-hash", "x-ms-sgx-mrenclave", "x-ms-sgx-tcb-status",
                      "x-ms-sgx-collateral", "iss"):
            with self.subTest(claim=claim):
                self.assertEqual(claims[claim], before[claim])
        self.assertEqual(claims["x-ms-policy-hash"], h.policy_hash(V1))

    def test_audit_checkpoint_and_trail(self):
        name = self.url.rsplit("/", 1)[1]
        db = sqlite3.connect(f"file:{self.source}?immutable=1", uri=True)
        seq, digest, jws, at = db.execute(
            "SELECT seq, hash, jws, created_at FROM audit_checkpoint").fetchone()
        db.close()
        self.assertGreater(seq, 0)
        # attestd started on the copy (it checks its trail holds the kept checkpoint) and may
        # have kept a newer one since; never an older one
        got = psql("SELECT seq FROM audit_checkpoint", db=name)
        self.assertGreaterEqual(int(got), seq)
        verdict = self.d.attestctl("audit", "verify")
        self.assertEqual(verdict.returncode, 0, verdict.stderr)
        records = [json.loads(line) for line in self.d.attestctl(
            "audit", "export", "--action", "store.migrate").stdout.splitlines()]
        # the first store.migrate records of this trail are the copy's: its attempt (with its
        # arguments) and its success
        self.assertEqual([r["resultType"] for r in records[:2]], ["attempt", "success"])
        self.assertEqual(records[0]["properties"]["arguments"],
                         ["store", "migrate", "--from", f"sqlite:{self.source}", "--to", self.url])

    # ---- refusals ----

    def migrate(self, *args, config=True):
        return self.d.attestctl("store", "migrate", *args, check=False, use_config=config)

    def test_refuses_a_target_that_is_not_empty(self):
        before = target_counts(self.url)
        p = self.migrate("--from", f"sqlite:{self.source}", "--to", self.url)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(p.stderr.splitlines()[-1],
                         "attestctl store migrate: --to: the database is not empty (providers: 2, "
                         f"signing_keys: {before['signing_keys']}, data_keys: "
                         f"{before['data_keys']}, auth_keys: {before['auth_keys']}, principals: 3, "
                         f"principal_secrets: {before['principal_secrets']}, role_assignments: "
                         f"{before['role_assignments']}, policy_versions: "
                         f"{before['policy_versions']}, policy_requests: "
                         f"{before['policy_requests']}, policy_signers: 1, collateral: "
                         f"{before['collateral']}, audit_checkpoint: 1); store migrate fills "
                         "only a new, empty database")
        self.assertEqual(target_counts(self.url), before)

    def test_refuses_bad_arguments(self):
        empty = new_database("args")
        host = PG.split("@", 1)[1]
        source = f"sqlite:{self.source}"
        cases = [
            (["--from", source, "--to", f"postgresql://attestd_test:hunter2@{host}/x"],
             "--to: the URL holds a password; put it in a passfile (passfile=PATH in the URL, "
             "or PGPASSFILE) or use a client certificate (sslcert, sslkey)"),
            (["--from", source, "--to", f"{empty}?password=hunter2"],
             "--to: the URL holds a password; put it in a passfile"),
            (["--from", source, "--to", "mysql://attestd_test@127.0.0.1/x"],
             "--to must be a postgresql:// URL (the database to fill)"),
            (["--from", source, "--to", self.source],
             "--to must be a postgresql:// URL (the database to fill)"),
            (["--from", self.source, "--to", empty],
             f"--from must be sqlite:PATH (the SQLite store to copy), not '{self.source}'"),
            (["--from", "sqlite:", "--to", empty],
             "--from must be sqlite:PATH (the SQLite store to copy), not 'sqlite:'"),
            (["--from", source], "needs --from sqlite:PATH and --to postgresql://..."),
            (["--to", empty], "needs --from sqlite:PATH and --to postgresql://..."),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                p = self.migrate(*args)
                self.assertEqual(p.returncode, 2, p.stderr)
                lines = p.stderr.splitlines()
                self.assertTrue(lines[0].startswith(f"attestctl store migrate: {message}"), lines)
                self.assertEqual(lines[1], "usage: attestctl store migrate --from sqlite:PATH "
                                           "--to postgresql://USER@HOST/DB")
                self.assertNotIn("hunter2", p.stderr)  # a URL is never repeated
        self.assertEqual(target_counts(empty), {t: 0 for t in TABLES})
        # usage errors are not attempts: none reached the audit trail, the password least
        trail = self.d.attestctl("audit", "export", "--action", "store.migrate").stdout
        self.assertNotIn("hunter2", trail)

    def test_missing_source(self):
        empty = new_database("missing")
        missing = os.path.join(self.d.tmp, "nothing-here.db")
        p = self.migrate("--from", f"sqlite:{missing}", "--to", empty)
        self.assertEqual((p.returncode, p.stderr),
                         (1, f"attestctl store migrate: --from: {missing}: No such file or "
                             "directory\n"))
        self.assertFalse(os.path.exists(missing))  # never created
        # ... also when it is the configured store, which attestctl would open (and make)
        fresh = os.path.join(self.d.tmp, "fresh")
        os.makedirs(fresh)
        subprocess.run([h.ATTESTCTL, "kek", "generate", os.path.join(fresh, "kek.key")],
                       check=True, env=h.san_env(), stdout=subprocess.PIPE, timeout=60)
        store = os.path.join(fresh, "attestd.db")
        p = subprocess.run([h.ATTESTCTL, "--data-dir", fresh, "store", "migrate", "--from",
                            f"sqlite:{store}", "--to", empty], env=h.san_env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
        self.assertEqual((p.returncode, p.stderr),
                         (1, f"attestctl store migrate: --from: {store}: No such file or "
                             "directory\n"))
        self.assertFalse(os.path.exists(store))
        p = self.migrate("--from", f"sqlite:{self.d.tmp}", "--to", empty)
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"--from: {self.d.tmp}: not a regular file", p.stderr)
        self.assertEqual(target_counts(empty), {t: 0 for t in TABLES})

    def test_unreachable_target(self):
        for url, why in [(f"{PG}/migrate_no_such_database", "ATT_ERR_STORE_UNAVAILABLE"),
                         (f"postgresql://attestd_test@127.0.0.1:{h.free_port()}/x",
                          "ATT_ERR_STORE_UNAVAILABLE")]:
            with self.subTest(url=url):
                p = self.migrate("--from", f"sqlite:{self.source}", "--to", url)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertEqual(p.stderr.splitlines()[-1],
                                 f"attestctl store migrate: --to: cannot open the database: "
                                 f"{why}: the database cannot be reached; nothing was changed")

    def test_refuses_an_older_source_and_leaves_it_so(self):
        old = os.path.join(self.d.tmp, "older.db")
        shutil.copyfile(self.source, old)
        os.chmod(old, 0o600)
        db = sqlite3.connect(old)
        db.execute("DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM "
                   "schema_migrations)")
        db.commit()
        latest = db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
        db.close()
        empty = new_database("older")
        p = self.migrate("--from", f"sqlite:{old}", "--to", empty)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(p.stderr.splitlines()[-1],
                         f"attestctl store migrate: --from: {old}: schema {latest}, older than "
                         f"this attestctl's ({latest + 1}): start this version's attestd on it "
                         "once (it upgrades the schema), stop it, then migrate")
        db = sqlite3.connect(f"file:{old}?immutable=1", uri=True)
        self.assertEqual(db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0],
                         latest)
        db.close()
        self.assertEqual(target_counts(empty), {t: 0 for t in TABLES})

    def tampered_copy(self, name, *statements):
        """A copy of the source (private to us, as a store must be) with statements run on it
        as someone editing the file by hand would (no foreign-key checks)."""
        path = os.path.join(self.d.tmp, name)
        shutil.copyfile(self.source, path)
        os.chmod(path, 0o600)
        db = sqlite3.connect(path)
        for sql in statements:
            db.execute(sql)
        db.commit()
        db.close()
        return path

    def test_tampered_source_copies_nothing(self):
        # a value the store's readers refuse (a flag of 2), in the second provider read
        bad_row = self.tampered_copy("bad-row.db", "UPDATE providers SET require_bound_requests"
                                                   " = 2 WHERE name = 'iso'")
        # a secret whose principal is gone: no list reaches it, the counts tell
        orphan = self.tampered_copy("orphan.db", "INSERT INTO principal_secrets(id, principal_id,"
                                                 " hash, created_at) VALUES ('%032d', 'gone',"
                                                 " 'x', 1)" % 7)
        for path, message in [
                (bad_row, "reading providers from the source: ATT_ERR_STORE: store error; the "
                          "target was left as it was"),
                (orphan, "principal_secrets holds 5 rows in the source, 4 were copied (rows the "
                         "store cannot reach, such as a secret whose principal is gone?); the "
                         "target was left as it was")]:
            with self.subTest(path=path):
                url = new_database("tampered")
                p = self.migrate("--from", f"sqlite:{path}", "--to", url)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertEqual(p.stderr.splitlines()[-1], f"attestctl store migrate: {message}")
                self.assertEqual(target_counts(url), {t: 0 for t in TABLES})

    def test_failure_halfway_leaves_the_target_empty(self):
        """A database account that may not write one table (a DBA's partial grant): the copy
        fails at that table, after others were written, and the target stays empty."""
        url = new_database("halfway")
        name = url.rsplit("/", 1)[1]
        role = f"migrate_limited_{os.getpid()}"
        # The schema first: the superuser copies an empty store (a new data directory's),
        # which makes the tables and writes no row.
        empty_dir = os.path.join(self.d.tmp, "empty")
        os.makedirs(empty_dir)
        ctl = [h.ATTESTCTL, "--data-dir", empty_dir]
        subprocess.run([h.ATTESTCTL, "kek", "generate", os.path.join(empty_dir, "kek.key")],
                       check=True, env=h.san_env(), stdout=subprocess.PIPE, timeout=60)
        subprocess.run(ctl + ["--direct", "provider", "list"], check=True, env=h.san_env(),
                       stdout=subprocess.PIPE, timeout=120)
        made = subprocess.run(ctl + ["store", "migrate", "--from",
                                     f"sqlite:{os.path.join(empty_dir, 'attestd.db')}", "--to",
                                     url], env=h.san_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=120)
        self.assertEqual(made.returncode, 0, made.stderr)
        self.assertEqual(json.loads(made.stdout)["rows"], 0)
        psql(f'CREATE ROLE "{role}" LOGIN')
        self.addCleanup(psql, f'DROP ROLE IF EXISTS "{role}"')
        self.addCleanup(psql, f'DROP OWNED BY "{role}"', db=name)
        psql(f'GRANT USAGE, CREATE ON SCHEMA public TO "{role}";'
             f'GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO "{role}";'
             # the change feed's triggers bump its counters in the writer's transaction
             f'GRANT UPDATE ON store_changes TO "{role}";'
             f'REVOKE INSERT ON collateral FROM "{role}"', db=name)
        limited = url.replace("attestd_test@", f"{role}@", 1)
        p = self.migrate("--from", f"sqlite:{self.source}", "--to", limited)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertRegex(p.stderr.splitlines()[-1],
                         r"^attestctl store migrate: writing collateral \S+ '\S*' into collateral: "
                         r"ATT_ERR_STORE: store error; the target was left as it was$")
        # tables before collateral were written (and rolled back): it failed halfway
        self.assertEqual(target_counts(url), {t: 0 for t in TABLES})


if __name__ == "__main__":
    unittest.main()
