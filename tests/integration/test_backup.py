"""Backup and restore, black-box (docs/operations.md "Backup and restore").

The restore drill: build state in a running daemon (two providers, one Isolated with signed
policies and a history, principals with roles), `attestctl backup create` while it runs, stop,
wipe the data directory, `attestctl restore` into it, start again, and check that /certs and
kids, policy hashes and history, signers, roles and logins are the same, that tokens issued
before the wipe still verify and that attestation works. Then the refusals: a non-empty
directory, a tampered or truncated archive, the wrong passphrase or key-encryption key - each
refused with its own message, writing nothing.
"""
import hashlib
import json
import os
import shutil
import sqlite3
import struct
import tempfile
import time
import unittest

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import harness as h
import test_attest_testpki as tp

API = "?api-version=2020-10-01"
V1 = "version=1.0;\nauthorizationrules{\n=> permit();\n};\nissuancerules{};\n"
V2 = ("version=1.0;\nauthorizationrules{\n=> permit();\n};\nissuancerules{\n"
      "=> issue(type=\"tier\", value=2);\n};\n")
ISO = "iso"


def read_archive(path, key):
    """The payload entries of an archive made with key file `key` (docs/internals/backup.md)."""
    with open(path, "rb") as f:
        data = f.read()
    header = data[:60]
    (payload_len,) = struct.unpack(">Q", header[52:60])
    body = data[60:60 + 12 + payload_len + 16]
    payload = AESGCM(key).decrypt(body[:12], body[12:], header)
    entries, i = {}, 0
    while i < len(payload):
        n = payload[i]
        name = payload[i + 1:i + 1 + n].decode()
        (size,) = struct.unpack(">Q", payload[i + 1 + n:i + 9 + n])
        entries[name] = payload[i + 9 + n:i + 9 + n + size]
        i += 9 + n + size
    return entries


def write_archive(path, key, entries, schema, signer):
    """An archive as attestctl writes one, signed by `signer` (make_cert's key, PEM, DER)."""
    payload = b"".join(bytes([len(n)]) + n.encode() + struct.pack(">Q", len(d)) + d
                       for n, d in entries.items())
    key_id = hashlib.sha256(b"attestd/backup-key/v1\0" + key).digest()[:8]
    header = (b"ATTBKUP\0" + struct.pack(">H", 1) + bytes([2, 0, 0, 0, 0, 0]) +
              struct.pack(">IQ", schema, int(time.time())) + b"\0" * 16 + key_id +
              struct.pack(">Q", len(payload)))
    nonce = os.urandom(12)
    body = nonce + AESGCM(key).encrypt(nonce, payload, header)
    cert = signer[2]
    digest = hashlib.sha256(header + body + cert).hexdigest().encode()
    kid = h.b64url_encode(hashlib.sha256(cert).digest())
    jws = h.sign_jws(signer[0], {"alg": "ES256", "typ": "attestd-backup", "kid": kid},
                     digest).encode()
    with open(path, "wb") as f:
        f.write(header + body + struct.pack(">H", len(cert)) + cert +
                struct.pack(">H", len(jws)) + jws)


def key_bytes(path):
    with open(path, encoding="ascii") as f:
        return bytes.fromhex(f.read().strip())


def private_file(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


class RestoreDrillTest(unittest.TestCase):
    time_limit = 240

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="attestd-backup-")
        cls.quote, bundle, root = tp.make_evidence(
            os.path.join(cls.tmp, "ev"), "--report-data", tp.report_data_for(tp.RUNTIME_JSON))
        cls.d = tp.start_daemon(root, bundle)
        try:
            cls.pass_file = private_file(os.path.join(cls.tmp, "pass"), "correct horse staple\n")
            cls.saved = os.path.join(cls.tmp, "saved")  # what an operator keeps apart
            os.makedirs(cls.saved)
            shutil.copy2(os.path.join(cls.d.data, "kek.key"), cls.saved)
            shutil.copytree(os.path.join(cls.d.data, "tls"), os.path.join(cls.saved, "tls"))
        except BaseException:
            cls.d.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- helpers ----

    def ctl(self, *args, check=True):
        return self.d.attestctl(*args, check=check)

    def put_policy(self, provider, text, signer):
        jws = self.ctl("policy", "sign", "set", "SgxEnclave", self.policy_file(text),
                       "--key", signer[0], "--cert", signer[1],
                       "--audience", f"{self.d.base_url}/providers/{provider}").stdout.strip()
        status, _, body = self.d.request("PUT", f"/providers/{provider}/policies/SgxEnclave" + API,
                                         body=jws.encode(),
                                         headers={**self.owner, "Content-Type": "text/plain"})
        self.assertEqual(status, 200, body)

    def policy_file(self, text):
        path = os.path.join(self.tmp, f"policy-{abs(hash(text))}.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def attest(self, prefix=""):
        return tp.attest_token(self.d, self.quote, prefix)

    def state(self):
        """What must survive: published keys, policies, signers, roles, principals."""
        out = {}
        for prefix in ("", "/providers/" + ISO):
            out["certs" + prefix] = self.d.get_json(prefix + "/certs")[2]
            status, _, body = self.d.request("GET", prefix + "/policies/SgxEnclave" + API,
                                             headers=self.owner)
            self.assertEqual(status, 200, body)
            claims = h.decode_jwt(json.loads(body)["token"])[1]
            out["policy" + prefix] = (claims["x-ms-policy"], claims.get("x-ms-policy-signer"))
        status, _, body = self.d.request("GET", f"/providers/{ISO}/certificates" + API,
                                         headers=self.owner)
        self.assertEqual(status, 200, body)
        out["signers"] = h.decode_jwt(json.loads(body)["token"])[1]["x-ms-policy-certificates"]
        out["history"] = json.loads(self.ctl("policy", "history", "SgxEnclave",
                                             "--provider", ISO).stdout)
        out["roles"] = json.loads(self.ctl("role", "list").stdout)
        out["principals"] = json.loads(self.ctl("principal", "list").stdout)
        out["providers"] = json.loads(self.ctl("provider", "list").stdout)
        return out

    # ---- the drill ----

    def test_restore_drill(self):
        d = self.d
        self.owner = {"Authorization": "Bearer " + h.owner_token(d)}
        signer = h.make_cert(self.tmp, "signer", "rsa")
        self.ctl("provider", "create", ISO, "--isolated", "--signer", signer[1])
        app = json.loads(self.ctl("principal", "create", "app").stdout)
        self.ctl("role", "assign", "--role", "AttestationReader", "--principal", "app",
                 "--provider", ISO)
        d.reload()
        self.put_policy(ISO, V1, signer)
        self.put_policy(ISO, V2, signer)
        app_token = h.client_token(d, app["client_id"], app["client_secret"])
        tokens = [self.attest(), self.attest("/providers/" + ISO)]
        before = self.state()
        self.assertEqual(len(before["history"]), 2)

        archive = os.path.join(self.tmp, "attestd.backup")
        made = json.loads(self.ctl("backup", "create", archive,
                                   "--passphrase-file", self.pass_file).stdout)
        self.assertEqual(made["counts"]["providers"], 2)
        self.assertEqual(made["schema"], 15)
        self.assertEqual(os.stat(archive).st_mode & 0o777, 0o600)
        checked = json.loads(self.ctl("backup", "verify", archive,
                                      "--passphrase-file", self.pass_file).stdout)
        self.assertEqual((checked["signature"], checked["contents"]), ("ok", "ok"))
        self.assertEqual(checked["signer_kid"], made["signer_kid"])
        # Never over an existing file.
        p = self.ctl("backup", "create", archive, "--passphrase-file", self.pass_file,
                     check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("File exists", p.stderr)

        # Wipe, restore, start.
        d.stop()
        old_trail = json.loads(self.ctl("audit", "verify").stdout)
        shutil.rmtree(d.data)
        os.makedirs(d.data, mode=0o700)  # an empty directory is fine
        done = json.loads(self.ctl("restore", archive, "--data-dir", d.data, "--kek-file",
                                   os.path.join(self.saved, "kek.key"),
                                   "--passphrase-file", self.pass_file).stdout)
        self.assertEqual(done["restored"], d.data)
        self.assertEqual(sorted(os.listdir(d.data)), ["attestd.db", "audit.db"])
        shutil.copy2(os.path.join(self.saved, "kek.key"), d.data)
        shutil.copytree(os.path.join(self.saved, "tls"), os.path.join(d.data, "tls"))
        d.start()

        after = self.state()
        for key in before:
            self.assertEqual(after[key], before[key], key)
        for token in tokens:
            prefix = "" if token is tokens[0] else "/providers/" + ISO
            h.verify_jws(token, after["certs" + prefix])
        # Logins: the old secret and even the access token from before the wipe.
        status, _, _ = d.request("GET", f"/providers/{ISO}/policies/SgxEnclave" + API,
                                 headers={"Authorization": "Bearer " + app_token})
        self.assertEqual(status, 200)
        h.client_token(d, app["client_id"], app["client_secret"])
        new = self.attest("/providers/" + ISO)
        claims = h.verify_jws(new, after["certs/providers/" + ISO])[1]
        self.assertEqual(claims["tier"], 2)  # the restored policy decides
        self.assertEqual(claims["x-ms-policy-hash"],
                         h.decode_jwt(tokens[1])[1]["x-ms-policy-hash"])
        # A new trail, whose first record names the archive and the old trail's end.
        first = json.loads(self.ctl("audit", "export", "--limit", "1").stdout.splitlines()[0])
        self.assertEqual(first["operationName"], "backup.restore")
        self.assertEqual(first["properties"]["backup"]["audit"]["head_seq"],
                         made["audit"]["head_seq"])
        self.assertLessEqual(made["audit"]["head_seq"], old_trail["lastSeq"])
        self.assertTrue(json.loads(self.ctl("audit", "verify").stdout)["ok"])

    # ---- refusals: each writes nothing ----

    def refuse(self, archive, words, target=None, kek=None, secret=None):
        target = target or os.path.join(self.tmp, "never")
        parent = os.path.dirname(target)
        listing = sorted(os.listdir(parent))
        p = self.ctl("restore", archive, "--data-dir", target,
                     "--kek-file", kek or os.path.join(self.saved, "kek.key"),
                     *(secret or ["--passphrase-file", self.pass_file]), check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(words, p.stderr)
        self.assertEqual(sorted(os.listdir(parent)), listing)  # no work directory left

    def test_refusals(self):
        archive = os.path.join(self.tmp, "refusals.backup")
        self.ctl("backup", "create", archive, "--passphrase-file", self.pass_file)
        with open(archive, "rb") as f:
            good = f.read()

        def variant(name, data):
            path = os.path.join(self.tmp, name)
            with open(path, "wb") as f:
                f.write(data)
            return path

        self.refuse(archive, "is not empty", target=self.d.data)
        mid = len(good) // 2
        self.refuse(variant("flipped", good[:mid] + bytes([good[mid] ^ 1]) + good[mid + 1:]),
                    "the signature does not verify")
        self.refuse(variant("truncated", good[:-10]), "truncated or malformed")
        self.refuse(variant("longer", good + b"\0"), "truncated or malformed")
        self.refuse(variant("empty", b""), "truncated or malformed")
        other = private_file(os.path.join(self.tmp, "other-pass"), "another passphrase\n")
        self.refuse(archive, "made with another passphrase or key file",
                    secret=["--passphrase-file", other])
        wrong_kek = os.path.join(self.tmp, "wrong.kek")
        self.ctl("kek", "generate", wrong_kek)
        self.refuse(archive, "the key-encryption key does not open the archive's keys",
                    kek=wrong_kek)
        for args, words in ((["backup", "verify", variant("v-flip", good[:-1] + b"x")],
                             "signature does not verify"),
                            (["restore", archive, "--data-dir", "x"], "needs --data-dir DIR and "
                             "--kek-file KEK"),
                            (["backup", "create", "y", "--key-file", "a", "--passphrase-file",
                              "b"], "either --passphrase-file or --key-file")):
            p = self.ctl(*args, check=False)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn(words, p.stderr)

    def test_key_file(self):
        key = os.path.join(self.tmp, "backup.key")
        self.ctl("kek", "generate", key)
        archive = os.path.join(self.tmp, "keyed.backup")
        self.ctl("backup", "create", archive, "--key-file", key)
        out = json.loads(self.ctl("backup", "verify", archive, "--key-file", key).stdout)
        self.assertEqual(out["contents"], "ok")
        p = self.ctl("backup", "verify", archive, "--passphrase-file", self.pass_file,
                     check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("the archive was made with a key file (--key-file)", p.stderr)
        other = os.path.join(self.tmp, "other.key")
        self.ctl("kek", "generate", other)
        p = self.ctl("backup", "verify", archive, "--key-file", other, check=False)
        self.assertIn("made with another passphrase or key file", p.stderr)
        # Without a secret only the signature is checked, and it says so.
        out = json.loads(self.ctl("backup", "verify", archive).stdout)
        self.assertTrue(out["signature"].startswith("ok for the certificate in the archive"))
        self.assertIn("not checked", out["contents"])
        # Verifying with the secret writes nothing anywhere near the archive.
        listing = sorted(os.listdir(self.tmp))
        self.ctl("backup", "verify", archive, "--key-file", key)
        self.assertEqual(sorted(os.listdir(self.tmp)), listing)

    # ---- attacks on backup and restore (kept from the outside review) ----

    def test_hostile_database_in_a_signed_archive(self):
        """An archive built with the backup secret but holding a database that is not
        attestd's (a trigger that would fire during the migration, a view, an extra table) or
        not signed by its own service: refused before anything is written, in moments."""
        key_file = os.path.join(self.tmp, "hostile.key")
        self.ctl("kek", "generate", key_file)
        key = key_bytes(key_file)
        real = os.path.join(self.tmp, "real.backup")
        self.ctl("backup", "create", real, "--key-file", key_file)
        entries = read_archive(real, key)
        signer = h.make_cert(self.tmp, "hostile-signer", "p256")
        for name, sql, words in (
                ("trigger", "CREATE VIEW loop AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
                 "SELECT x + 1 FROM c) SELECT x FROM c; CREATE TRIGGER t BEFORE UPDATE ON "
                 "signing_keys BEGIN SELECT count(*) FROM loop; END;",
                 "does not have attestd's schema"),
                ("view", "CREATE VIEW v AS SELECT 1", "does not have attestd's schema"),
                ("table", "CREATE TABLE extra(x)", "does not have attestd's schema"),
                ("newer", "INSERT INTO schema_migrations VALUES(99, 0)",
                 "has a schema newer than this program's"),
                ("signer", "", "signed by a key its own service does not have")):
            with self.subTest(name=name):
                db_path = os.path.join(self.tmp, f"hostile-{name}.db")
                with open(db_path, "wb") as f:
                    f.write(entries["attestd.db"])
                if sql:
                    with sqlite3.connect(db_path) as conn:
                        conn.executescript(sql)
                with open(db_path, "rb") as f:
                    db = f.read()
                archive = os.path.join(self.tmp, f"hostile-{name}.backup")
                write_archive(archive, key, {"manifest.json": entries["manifest.json"],
                                             "attestd.db": db}, 11, signer)
                t0 = time.monotonic()
                self.refuse(archive, words, secret=["--key-file", key_file])
                p = self.ctl("backup", "verify", archive, "--key-file", key_file, check=False)
                self.assertEqual(p.returncode, 1)
                self.assertIn(words, p.stderr)
                self.assertLess(time.monotonic() - t0, 30)

    def test_archive_must_be_a_regular_file(self):
        fifo = os.path.join(self.tmp, "fifo.backup")
        os.mkfifo(fifo)
        t0 = time.monotonic()
        p = self.ctl("backup", "verify", fifo, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not a regular file", p.stderr)
        self.refuse(fifo, "not a regular file")
        self.assertLess(time.monotonic() - t0, 30)

    def test_backup_create_is_audited(self):
        archive = os.path.join(self.tmp, "audited.backup")
        self.ctl("backup", "create", archive, "--passphrase-file", self.pass_file)
        recs = [json.loads(line) for line in
                self.ctl("audit", "export", "--action", "backup.create").stdout.splitlines()]
        self.assertEqual([r["resultType"] for r in recs][-2:], ["attempt", "success"])

    def test_crlf_passphrase_and_leftovers(self):
        crlf = private_file(os.path.join(self.tmp, "crlf-pass"), "correct horse staple\r\n")
        # A work directory an interrupted run left next to the database is removed.
        leftover = os.path.join(self.d.data, "attestd.db.backup-AbC123")
        os.makedirs(leftover, mode=0o700)
        with open(os.path.join(leftover, "attestd.db"), "wb") as f:
            f.write(b"a copy of the state")
        archive = os.path.join(self.tmp, "crlf.backup")
        p = self.ctl("backup", "create", archive, "--passphrase-file", crlf)
        self.assertFalse(os.path.exists(leftover))
        self.assertIn("left by an interrupted run", p.stderr)
        # The same passphrase typed with LF opens it.
        out = json.loads(self.ctl("backup", "verify", archive,
                                  "--passphrase-file", self.pass_file).stdout)
        self.assertEqual(out["contents"], "ok")

    def test_restore_target_forms(self):
        archive = os.path.join(self.tmp, "forms.backup")
        self.ctl("backup", "create", archive, "--passphrase-file", self.pass_file)
        kek = os.path.join(self.saved, "kek.key")
        # "DIR/" restores into DIR; an existing empty DIR keeps its mode.
        for target, mode in ((os.path.join(self.tmp, "slash") + "/", None),
                             (os.path.join(self.tmp, "kept"), 0o750)):
            if mode is not None:
                os.makedirs(target)
                os.chmod(target, mode)
            self.ctl("restore", archive, "--data-dir", target, "--kek-file", kek,
                     "--passphrase-file", self.pass_file)
            self.assertTrue(os.path.isfile(os.path.join(target, "attestd.db")))
            if mode is not None:
                self.assertEqual(os.stat(target).st_mode & 0o777, mode)


if __name__ == "__main__":
    unittest.main()
