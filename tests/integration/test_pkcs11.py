"""The key-encryption key in a PKCS#11 token, black-box, against SoftHSM 2 (Debian softhsm2):
initialise a token, make the KEK in it with `attestctl kek generate --pkcs11`, rotate a running
service's KEK from its file into the token, run attestd with `kek_pkcs11` and no key file,
attest and verify the tokens with /certs, then rotate back out of the token into a new file.
Refusals name their cause: a wrong PIN, no such token, no such key, a key that exists already,
a PIN file others can read. Token signing keys (signing_keys_pkcs11) sign in the token; a token
that stops answering gives 503s until it is back, then a new key worker opens it again.
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import harness as h
import test_attest_testpki as tp

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"

API = "?api-version=2020-10-01"


class SoftHsm:
    """A SoftHSM configuration of its own (SOFTHSM2_CONF) with one initialised token."""

    def __init__(self, tmp, label="attestd", pin="1234"):
        self.dir = os.path.join(tmp, "softhsm")
        os.makedirs(os.path.join(self.dir, "tokens"))
        self.conf = os.path.join(self.dir, "softhsm2.conf")
        with open(self.conf, "w", encoding="ascii") as f:
            f.write(f"directories.tokendir = {self.dir}/tokens\nobjectstore.backend = file\n"
                    "log.level = ERROR\n")
        os.environ["SOFTHSM2_CONF"] = self.conf  # attestd and attestctl inherit it
        subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label,
                        "--pin", pin, "--so-pin", "87654321"], check=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.pin_file = os.path.join(self.dir, "pin")
        fd = os.open(self.pin_file, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(pin + "\n")

    def uri(self, token="attestd", obj="attestd-kek", pin_file=None):
        return (f"pkcs11:token={token};object={obj};type=secret-key"
                f"?module-path={SOFTHSM_MODULE}&pin-source=file:{pin_file or self.pin_file}")


class SoftHsmDaemonTest(unittest.TestCase):
    """A SoftHSM token (TOKEN) and a daemon with test-PKI evidence and CONFIG (which may use
    {uri}, the token's URI without an object)."""
    time_limit = 240
    TOKEN = "attestd"
    CONFIG = ""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="attestd-pkcs11-")
        cls.saved_conf = os.environ.get("SOFTHSM2_CONF")
        cls.hsm = SoftHsm(cls.tmp, label=cls.TOKEN)
        cls.uri = (f"pkcs11:token={cls.TOKEN}?module-path={SOFTHSM_MODULE}"
                   f"&pin-source=file:{cls.hsm.pin_file}")
        cls.quote, bundle, root = tp.make_evidence(
            os.path.join(cls.tmp, "ev"), "--report-data", tp.report_data_for(tp.RUNTIME_JSON))
        cls.base_config = f"dcap_trust_anchors = {root}\n"
        cls.d = tp.start_daemon(root, bundle, cls.CONFIG.format(uri=cls.uri))

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        if cls.saved_conf is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = cls.saved_conf
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def attest(self, prefix=""):
        """A token of an attestation and its verified claims, with /certs of that moment."""
        token = tp.attest_token(self.d, self.quote, prefix)
        return token, h.verify_jws(token, self.d.get_json(prefix + "/certs")[2])[1]


class KekInTokenTest(SoftHsmDaemonTest):
    def attest_and_verify(self):
        return self.attest()[1]

    def test_rotate_into_and_out_of_the_token(self):
        d, hsm = self.d, self.hsm
        uri = hsm.uri()
        out = d.attestctl("kek", "generate", "--pkcs11", uri).stdout
        self.assertRegex(out, r"kek id [0-9a-f]{16}")
        kids = [k["kid"] for k in d.get_json("/certs")[2]["keys"]]
        before = self.attest_and_verify()

        # Into the token: rewrap, switch the configuration, take the key file away.
        d.stop()
        d.attestctl("kek", "rotate", "--new-kek-pkcs11", uri)
        os.rename(os.path.join(d.data, "kek.key"), os.path.join(self.tmp, "old.kek"))
        d.write_config(self.base_config + f"kek_pkcs11 = {uri}\n")
        d.start()
        self.assertEqual([k["kid"] for k in d.get_json("/certs")[2]["keys"]], kids)
        claims = self.attest_and_verify()
        self.assertEqual(claims["x-ms-sgx-mrenclave"], before["x-ms-sgx-mrenclave"])
        d.attestctl("provider", "create", "in-token", "--alg", "ES256")  # seals under the token
        d.reload()
        self.assertEqual(d.get_json("/providers/in-token/certs")[0], 200)
        # The old key file no longer opens anything.
        d.stop()
        d.write_config(self.base_config + f"kek_file = {self.tmp}/old.kek\n")
        p = h.run_attestd(["--config", d.config_path, "--data-dir", d.data])
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("key-encryption key", h.startup_failure(p))

        # Out of the token into a new file.
        d.write_config(self.base_config + f"kek_pkcs11 = {uri}\n")
        new_file = os.path.join(self.tmp, "new.kek")
        d.attestctl("kek", "generate", new_file)
        out = d.attestctl("kek", "rotate", "--new-kek-file", new_file).stdout
        self.assertIn("now point kek_file at it", out)
        d.write_config(self.base_config + f"kek_file = {new_file}\n")
        d.start()
        self.attest_and_verify()
        self.assertEqual(d.get_json("/providers/in-token/certs")[0], 200)

    def test_refusals(self):
        d, hsm = self.d, self.hsm
        hsm_uri = hsm.uri(obj="refusal-kek")
        d.attestctl("kek", "generate", "--pkcs11", hsm_uri)
        wrong_pin = os.path.join(self.tmp, "wrong-pin")
        fd = os.open(wrong_pin, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("0000\n")
        open_pin = os.path.join(self.tmp, "open-pin")
        with open(open_pin, "w") as f:
            f.write("1234\n")
        os.chmod(open_pin, 0o644)
        for uri, words in (
                (hsm_uri, "the token has a key matching the URI already"),
                (hsm.uri(obj="refusal-kek", pin_file=wrong_pin), "C_Login failed (0xa0): wrong PIN"),
                (hsm.uri(token="nope", obj="x"), "no token matches the URI"),
                (hsm.uri(obj="refusal-kek", pin_file=open_pin),
                 "must be a regular file of this user with mode 0600 or 0400"),
                ("pkcs11:token=attestd;object=x", "the URI names no module"),
                ("pkcs11:token=attestd?module-path=" + SOFTHSM_MODULE + "&pin-source=file:" +
                 hsm.pin_file, "the URI names no key (object=LABEL or id=...)")):
            with self.subTest(uri=uri):
                p = d.attestctl("kek", "generate", "--pkcs11", uri, check=False)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn(words, p.stderr)
        # A PIN in the URI never appears in a message.
        p = d.attestctl("kek", "generate", "--pkcs11",
                        f"pkcs11:token=attestd;object=pin-test?module-path={SOFTHSM_MODULE}"
                        "&pin-value=SECRETPIN99", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("C_Login failed", p.stderr)
        self.assertNotIn("SECRETPIN99", p.stderr + p.stdout)
        # A PIN file written with CRLF works.
        crlf = os.path.join(self.tmp, "crlf-pin")
        fd = os.open(crlf, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("1234\r\n")
        d.attestctl("kek", "generate", "--pkcs11", hsm.uri(obj="crlf-kek", pin_file=crlf))
        # An AES-128 key in the token is not taken as the KEK.
        key128 = os.path.join(self.tmp, "aes128.key")
        with open(key128, "wb") as f:
            f.write(bytes(range(16)))  # 16 bytes: AES-128
        subprocess.run(["softhsm2-util", "--import", key128, "--aes", "--token", "attestd",
                        "--label", "aes128", "--id", "a128", "--pin", "1234"], check=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        p = d.attestctl("kek", "rotate", "--new-kek-pkcs11", hsm.uri(obj="aes128"), check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not an AES-256 key that stays in the token", p.stderr)
        # A daemon pointed at a key the token does not have does not start, and says why.
        cfg = os.path.join(self.tmp, "missing.conf")
        with open(cfg, "w") as f:
            f.write(self.base_config + f"kek_pkcs11 = {hsm.uri(obj='missing')}\n"
                    f"listen = 127.0.0.1:{h.free_port()}\n")
        p = h.run_attestd(["--config", cfg, "--data-dir", d.data])
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("no secret key in the token matches the URI", h.startup_failure(p))



class TokenSigningKeysTest(SoftHsmDaemonTest):
    """signing_keys_pkcs11: the provider keys attestd makes (the default provider's RS256 key
    at first start, an ES256 provider's by attestctl, a rotation's) are key pairs in the token;
    tokens they sign verify with /certs; without the token nothing can sign with them."""
    TOKEN = "signing"
    CONFIG = "signing_keys_pkcs11 = {uri}\n"

    def test_keys_in_the_token_sign(self):
        d = self.d
        token, _ = self.attest()
        self.assertEqual(h.split_jws(token)[0]["alg"], "RS256")
        d.attestctl("provider", "create", "tok-es", "--alg", "ES256")
        d.reload()
        token, _ = self.attest("/providers/tok-es")
        self.assertEqual(h.split_jws(token)[0]["alg"], "ES256")
        test_token = d.attestctl("token", "issue", "--provider", "tok-es").stdout.strip()
        h.verify_jws(test_token, d.get_json("/providers/tok-es/certs")[2])
        # A rotation makes the next key in the token too; it signs after its lead time.
        new = json.loads(d.attestctl("provider", "rotate-key", "tok-es", "--lead", "0").stdout)
        d.reload()
        token, _ = self.attest("/providers/tok-es")
        self.assertEqual(h.split_jws(token)[0]["kid"], new["kid"])
        # The store holds only references: without the token the keys cannot be loaded.
        p = h.run_attestd(["--config", self.no_token_config(), "--data-dir", d.data])
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("providers", h.startup_failure(p))

    def test_token_outage_then_back(self):
        """A token that stops answering (its storage gone): the worker says so, ends, and a
        new one is started once the token is back - a new process, a new session - while
        tokens get a 503 that names the token or the key process, and /certs is served."""
        d = self.d
        restarts = len([e for e in d.log_events() if e.get("msg") == "restarted the key worker"])
        self.attest()
        tokens = os.path.join(self.hsm.dir, "tokens")
        os.rename(tokens, tokens + ".away")
        try:
            status, _, body = self.attest_raw()
            self.assertEqual(status, 503, body)
            self.assertIn("the PKCS#11 token did not answer", json.loads(body)["error"]["message"])
            d.wait_log("cannot restart the key worker")
            status, _, body = self.attest_raw()
            self.assertEqual(status, 503, body)
            self.assertIn("did not answer; retry", json.loads(body)["error"]["message"])
            self.assertEqual(d.get_json("/certs")[0], 200)
        finally:
            os.rename(tokens + ".away", tokens)
        d.wait_log("restarted the key worker", count=restarts + 1)
        self.attest()

    def attest_raw(self):
        return self.d.request(
            "POST", "/attest/SgxEnclave" + API,
            body=json.dumps({"quote": h.b64url_encode(self.quote),
                             "runtimeData": {"data": h.b64url_encode(tp.RUNTIME_JSON),
                                             "dataType": "Binary"}}).encode(),
            headers={"Content-Type": "application/json"})

    def token_objects(self):
        return sum(len([f for f in files if f.endswith(".object")])
                   for _, _, files in os.walk(os.path.join(self.hsm.dir, "tokens")))

    def test_deleted_provider_leaves_no_key_pair(self):
        d = self.d
        before = self.token_objects()
        d.attestctl("provider", "create", "tok-gone", "--alg", "ES256")
        self.assertEqual(self.token_objects(), before + 2)  # a private and a public object
        p = d.attestctl("provider", "delete", "tok-gone")
        self.assertEqual(self.token_objects(), before, p.stderr)
        # A refused create (the name is taken) leaves none either.
        p = d.attestctl("provider", "create", "default", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(self.token_objects(), before)

    def test_restore_with_token_keys(self):
        d = self.d
        key = os.path.join(self.tmp, "backup.key")
        d.attestctl("kek", "generate", key)
        archive = os.path.join(self.tmp, "token.backup")
        d.attestctl("backup", "create", archive, "--key-file", key)
        kek = os.path.join(d.data, "kek.key")
        target = os.path.join(self.tmp, "restored")
        p = d.attestctl("restore", archive, "--data-dir", target, "--kek-file", kek,
                        "--key-file", key, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("give --signing-keys-pkcs11 URI", p.stderr)
        self.assertFalse(os.path.exists(target))
        d.attestctl("restore", archive, "--data-dir", target, "--kek-file", kek, "--key-file",
                    key, "--signing-keys-pkcs11", self.uri)
        self.assertTrue(os.path.isfile(os.path.join(target, "attestd.db")))

    def no_token_config(self):
        path = os.path.join(self.tmp, "no-token.conf")
        with open(self.d.config_path, encoding="utf-8") as f:
            lines = [line for line in f if not line.startswith("signing_keys_pkcs11")
                     and not line.startswith("listen")]
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(lines + [f"listen = 127.0.0.1:{h.free_port()}\n"])
        return path

    def test_wrong_token_refused_at_start(self):
        cfg = os.path.join(self.tmp, "wrong-token.conf")
        with open(cfg, "w", encoding="utf-8") as f:
            f.write(f"signing_keys_pkcs11 = pkcs11:token=absent?module-path={SOFTHSM_MODULE}"
                    f"&pin-source=file:{self.hsm.pin_file}\nlisten = 127.0.0.1:{h.free_port()}\n")
        p = h.run_attestd(["--config", cfg, "--data-dir", self.d.data])
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(h.startup_failure(p), "signing_keys_pkcs11: no token matches the URI")


if __name__ == "__main__":
    unittest.main()
