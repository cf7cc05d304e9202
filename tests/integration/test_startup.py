"""Start-up of attestd: flags, configuration errors, listen policy, the key-encryption key and
what the database holds."""
import json
import os
import re
import shutil
import subprocess
import unittest

import harness as h


def assert_clean(tc, proc):
    tc.assertEqual(h.sanitizer_problems(proc.stdout + proc.stderr), [], proc.stderr)


class CommandLineTest(unittest.TestCase):
    """One-shot runs that must end on their own."""

    @classmethod
    def setUpClass(cls):
        cls.tmp, cls.data = h.new_data_dir()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def write_conf(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_help(self):
        proc = h.run_attestd(["--help"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue(proc.stdout.startswith("usage: attestd "), proc.stdout)
        for flag in ("--config", "--listen", "--data-dir", "--help", "--version"):
            self.assertIn(flag, proc.stdout)
        self.assertEqual(proc.stderr, "")

    def test_version(self):
        proc = h.run_attestd(["--version"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, f"attestd {h.project_version()}\n")
        self.assertEqual(proc.stderr, "")

    def test_attestctl_version(self):
        """attestctl --version (issue 17: it was refused) and its version command agree."""
        for args in (["--version"], ["-V"], ["version"]):
            proc = subprocess.run([h.ATTESTCTL] + args, env=h.san_env(), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, timeout=60)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertEqual(proc.stdout, f"attestctl {h.project_version()}\n", args)
            self.assertEqual(proc.stderr, "")

    def test_unknown_flag_is_a_usage_error(self):
        proc = h.run_attestd(["--no-such-flag"])
        self.assertEqual(proc.returncode, 2)
        self.assertIn("usage: attestd", proc.stderr)
        assert_clean(self, proc)

    def test_unknown_config_key(self):
        path = self.write_conf("unknown.conf", "# attestd test config\n\n"
                               "listen = 127.0.0.1:1\nbogus_key = 1\nread_timeout = 5\n")
        proc = h.run_attestd(["--config", path, "--data-dir", self.data])
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertEqual(proc.stderr, f"attestd: {path}:4: unknown key 'bogus_key'\n")
        self.assertEqual(proc.stdout, "")

    def test_bad_config_values_name_the_line(self):
        cases = [
            ("max_body_size = lots", "max_body_size: expected a size"),
            ("max_body_size = 10", "max_body_size: expected a size"),  # below the 1024 minimum
            ("read_timeout = 0", "read_timeout: expected a whole number from 1 to 3600"),
            ("public_network_access = yes", "public_network_access: expected 'enabled' or "
                                            "'disabled'"),
            ("allowed_networks = 10.0.0.0/33", "allowed_networks: expected a comma-separated "
                                               "list of CIDR blocks"),
            ("public_url = http://example.test", "public_url: expected an https:// URL"),
            ("log_level = loud", "log_level: expected debug, info, warn or error"),
            ("this line has no equals sign", "expected 'key = value'"),
            ("threads = 2\nthreads = 3", "threads: set twice"),
        ]
        for i, (line, message) in enumerate(cases):
            with self.subTest(line=line):
                body = "# comment\n\nidle_timeout = 30\n" + line + "\n"
                lineno = 3 + line.count("\n") + 1
                path = self.write_conf(f"bad{i}.conf", body)
                proc = h.run_attestd(["--config", path, "--data-dir", self.data])
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertTrue(proc.stderr.startswith(f"attestd: {path}:{lineno}: {message}"),
                                proc.stderr)
                self.assertEqual(proc.stderr.count("\n"), 1, proc.stderr)

    def test_missing_config_file(self):
        path = os.path.join(self.tmp, "does-not-exist.conf")
        proc = h.run_attestd(["--config", path, "--data-dir", self.data])
        self.assertEqual(proc.returncode, 2)
        self.assertEqual(proc.stderr,
                         f"attestd: {path}: cannot open: No such file or directory\n")

    def test_non_loopback_listen_refused_by_default(self):
        for addr in (f"0.0.0.0:{h.free_port()}", f"[::]:{h.free_port()}"):
            with self.subTest(addr=addr):
                proc = h.run_attestd(["--data-dir", self.data, "--listen", addr])
                self.assertEqual(proc.returncode, 1, proc.stderr)
                self.assertIn("public network access is disabled", proc.stderr)
                self.assertIn(addr, proc.stderr)
                assert_clean(self, proc)
                self.assertNotIn('"msg":"attestd ready"', proc.stderr)

    def test_non_loopback_listen_in_config_refused_too(self):
        port = h.free_port()
        path = self.write_conf("public.conf", f"listen = 127.0.0.1:{h.free_port()}\n"
                                              f"listen = 0.0.0.0:{port}\n")
        proc = h.run_attestd(["--config", path, "--data-dir", self.data])
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn(f"0.0.0.0:{port}: public network access is disabled", proc.stderr)
        assert_clean(self, proc)

    def test_kek_file_readable_by_others_refused(self):
        tmp, data = h.new_data_dir()
        try:
            kek = os.path.join(data, "kek.key")
            os.chmod(kek, 0o644)
            proc = h.run_attestd(["--data-dir", data, "--listen", f"127.0.0.1:{h.free_port()}"])
            self.assertEqual(proc.returncode, 1, proc.stderr)
            self.assertIn(f"key-encryption key: {kek}: key file must be a regular file "
                          "owned by this user and not accessible by group or others (chmod 600)",
                          h.startup_failure(proc))
            assert_clean(self, proc)
            self.assertFalse(os.path.exists(os.path.join(data, "attestd.db")),
                             "nothing may be created before the KEK is accepted")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_missing_kek_file_refused(self):
        tmp, data = h.new_data_dir()
        try:
            os.unlink(os.path.join(data, "kek.key"))
            proc = h.run_attestd(["--data-dir", data, "--listen", f"127.0.0.1:{h.free_port()}"])
            self.assertEqual(proc.returncode, 1, proc.stderr)
            self.assertIn("cannot read the key-encryption key", proc.stderr)
            self.assertIn("attestctl kek generate", proc.stderr)
            assert_clean(self, proc)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class PublicNetworkAccessTest(unittest.TestCase):
    def test_enabled_allows_wildcard_listen(self):
        port = h.free_port("0.0.0.0")
        d = h.Daemon(config="public_network_access = enabled", listen=[f"0.0.0.0:{port}"])
        try:
            self.assertEqual(d.wait_log("listening")[0]["address"], f"0.0.0.0:{port}")
            status, _, body = d.request("GET", "/healthz")  # reached via 127.0.0.1
            self.assertEqual((status, body), (200, b'{"status":"ok"}'))
            ready = d.wait_log("attestd ready")[0]
            self.assertEqual(ready["public_url"], f"https://0.0.0.0:{port}")
        finally:
            d.cleanup()


# DER patterns of unencrypted private keys (PKCS#8 PrivateKeyInfo / RFC 8017 / RFC 5915).
PKCS8_RSA = bytes.fromhex("020100300d06092a864886f70d01010105000482")
PKCS8_EC = bytes.fromhex("020100301306072a8648ce3d020106082a8648ce3d030107")
EC_PRIV_P256 = re.compile(rb"\x02\x01\x01\x04\x20.{32}(?:\xa0\x0a\x06\x08\x2a\x86\x48\xce\x3d"
                          rb"\x03\x01\x07|\xa1\x44\x03\x42\x00\x04)", re.S)


class KeyStorageTest(unittest.TestCase):
    """Private keys are sealed under the KEK: not in the database in the clear, not usable
    without the right KEK, and a KEK rotation keeps every key."""

    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon()
        try:
            cls.d.attestctl("provider", "create", "ec", "--alg", "ES256")
            cls.d.reload()
        except BaseException:
            cls.d.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def db_bytes(self):
        out = b""
        for suffix in ("", "-wal", "-journal"):
            p = os.path.join(self.d.data, "attestd.db" + suffix)
            if os.path.exists(p):
                with open(p, "rb") as f:
                    out += f.read()
        return out

    def jwks(self, prefix=""):
        status, _, doc = self.d.get_json(prefix + "/certs")
        self.assertEqual(status, 200)
        return doc

    def assert_no_plaintext_keys(self, blob, rsa_jwk, ec_jwk):
        self.assertNotIn(b"PRIVATE KEY", blob)
        self.assertNotIn(PKCS8_RSA, blob)
        self.assertNotIn(PKCS8_EC, blob)
        # RSAPrivateKey: version 0 then the modulus, which we know from the JWK.
        n = h.b64url_decode(rsa_jwk["n"])
        self.assertNotIn(b"\x02\x01\x00\x02\x82\x01\x01\x00" + n[:64], blob)
        # ECPrivateKey (version 1, 32-byte secret, then curve or public point); and the EC key's
        # public point only ever inside a SubjectPublicKeyInfo, never inside an ECPrivateKey.
        self.assertIsNone(EC_PRIV_P256.search(blob), "an ECPrivateKey structure is in the DB")
        point = b"\x04" + h.b64url_decode(ec_jwk["x"]) + h.b64url_decode(ec_jwk["y"])
        self.assertNotIn(b"\x03\x42\x00" + point, blob.replace(
            b"\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07"
            b"\x03\x42\x00" + point, b""))

    def test_database_holds_no_plaintext_private_key(self):
        show = json.loads(self.d.attestctl("provider", "show", "default").stdout)
        kid = show["keys"][0]["kid"]
        rsa = self.jwks()["keys"][0]
        ec = self.jwks("/providers/ec")["keys"][0]
        self.assertEqual(rsa["kid"], kid)
        blob = self.db_bytes()
        # The scan looks at the right bytes: the public certificates are stored there.
        self.assertIn(h.cert_der_from_x5c(rsa["x5c"][0]), blob)
        self.assertIn(h.cert_der_from_x5c(ec["x5c"][0]), blob)
        self.assert_no_plaintext_keys(blob, rsa, ec)
        # The database and its WAL are not readable by others either.
        for suffix in ("", "-wal"):
            p = os.path.join(self.d.data, "attestd.db" + suffix)
            if os.path.exists(p):
                self.assertEqual(os.stat(p).st_mode & 0o077, 0, f"{p} is group/other accessible")

    def test_wrong_kek_refuses_to_start(self):
        other = os.path.join(self.d.tmp, "other.key")
        if not os.path.exists(other):
            self.d.attestctl("kek", "generate", other, use_config=False)
        conf = os.path.join(self.d.tmp, "other-kek.conf")
        with open(conf, "w") as f:
            f.write(f"kek_file = {other}\nlisten = 127.0.0.1:{h.free_port()}\n")
        # A second process on the same data dir with another KEK: it must not get to serving.
        proc = h.run_attestd(["--config", conf, "--data-dir", self.d.data])
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("key-encryption key", proc.stderr.splitlines()[-1])
        self.assertIn("providers: data key is wrapped by a different key-encryption key",
                      h.startup_failure(proc))
        self.assertNotIn('"msg":"attestd ready"', proc.stderr)
        assert_clean(self, proc)
        # attestctl with that KEK, on the store itself (--direct), cannot sign either.
        ctl = subprocess.run([h.ATTESTCTL, "--config", conf, "--data-dir", self.d.data,
                              "--direct", "token", "issue", "--provider", "default"], env=h.san_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             timeout=60)
        self.assertEqual(ctl.returncode, 1, ctl.stderr)
        self.assertEqual(ctl.stdout, "")
        self.assertIn("key-encryption key", ctl.stderr)
        # The running daemon is unaffected.
        self.assertEqual(self.d.request("GET", "/readyz")[0], 200)


class DatabaseLocksTest(unittest.TestCase):
    """SQLite tells processes that share a database apart by a POSIX read lock on the -shm
    file's "dead man switch" byte (128, os_unix.c): a process that finds no lock there takes
    itself for the only user and truncates the file. attestd checked the -wal and -shm files
    by opening and closing them after SQLite had them open, and a close drops every lock the
    process holds on the file: after a restart on an existing data directory (the WAL and
    -shm files open at that check) it held none, the next attestctl run truncated the -shm
    file under it, and its next commit died of SIGBUS (seen in test_policy_mgmt's restart)."""

    def dms_readers(self, path):
        """The processes holding a POSIX read lock on byte 128 of `path` (/proc/locks: the
        key worker holds one too, and F_GETLK would name only one holder)."""
        inode = os.stat(path).st_ino
        pids = set()
        with open("/proc/locks", encoding="ascii") as f:
            for line in f:
                fields = line.split()
                if fields[1:4] != ["POSIX", "ADVISORY", "READ"]:
                    continue
                start, end = int(fields[6]), fields[7]
                if int(fields[5].split(":")[2]) == inode and start <= 128 and \
                        (end == "EOF" or int(end) >= 128):
                    pids.add(int(fields[4]))
        return pids

    def test_locks_held_after_a_restart(self):
        d = h.Daemon()
        self.addCleanup(d.cleanup)
        h.owner_token(d)  # both databases written, their WAL files not empty
        d.stop()
        d.start()
        h.owner_token(d)
        for name in ("attestd.db-shm", "audit.db-shm"):
            self.assertIn(d.proc.pid, self.dms_readers(os.path.join(d.data, name)), name)
        # And attestctl beside it leaves its state sound: a change through it, then the
        # daemon commits again (a refused caller's record) and still answers.
        d.attestctl("provider", "create", "locks")
        status, _, _ = d.request("PUT", "/policies/SgxEnclave?api-version=2020-10-01", body=b"x")
        self.assertEqual(status, 401)
        status, _, _ = d.request("GET", "/healthz")
        self.assertEqual(status, 200)


class KekRotationTest(unittest.TestCase):
    def test_rotate_then_start_with_new_kek(self):
        d = h.Daemon()
        try:
            d.attestctl("provider", "create", "ec", "--alg", "ES256")
            d.reload()
            before = {p: d.get_json(p + "/certs")[2] for p in ("", "/providers/ec")}
            d.stop()

            new_kek = os.path.join(d.tmp, "new-kek.key")
            out = d.attestctl("kek", "generate", new_kek, use_config=False).stdout
            self.assertIn(new_kek, out)
            self.assertEqual(os.stat(new_kek).st_mode & 0o777, 0o600)
            rot = d.attestctl("kek", "rotate", "--new-kek-file", new_kek)
            self.assertRegex(rot.stdout, r"^rewrapped [1-9][0-9]* data key\(s\) under ")

            # The old KEK no longer opens the keys ...
            proc = h.run_attestd(["--config", d.config_path, "--data-dir", d.data])
            self.assertEqual(proc.returncode, 1, proc.stderr)
            self.assertIn("different key-encryption key", proc.stderr)
            assert_clean(self, proc)

            # ... the new one does, and the same keys are served.
            d.write_config(f"kek_file = {new_kek}")
            d.start()
            for prefix, doc in before.items():
                status, _, now = d.get_json(prefix + "/certs")
                self.assertEqual(status, 200)
                self.assertEqual(now, doc)
            token = d.attestctl("token", "issue", "--provider", "ec").stdout.strip()
            header, payload = h.verify_jws(token, before["/providers/ec"])
            self.assertEqual(header["kid"], before["/providers/ec"]["keys"][0]["kid"])
            self.assertEqual(payload["iss"], f"{d.base_url}/providers/ec")
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
