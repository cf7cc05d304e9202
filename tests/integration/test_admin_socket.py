"""The admin socket (docs/operations.md, "Administering a running attestd";
docs/internals/admin-socket.md), black-box: attestctl's store commands run inside the running
attestd and take effect at once, files travel both ways, only root, attestd's user and members
of admin_group are served, and hostile or stuck peers cost nothing but their own connection."""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import unittest

import harness as h

API = "?api-version=2022-08-01"


def attest_status(d, provider):
    """The status of an anonymous attestation with a junk body: 401 when the provider wants a
    caller, 400 (the body) when it does not."""
    return d.request("POST", f"/providers/{provider}/attest/SgxEnclave" + API, body=b"{}",
                     headers={"Content-Type": "application/json"})[0]


def frame(payload):
    return struct.pack(">I", len(payload)) + payload


def request(*args, files=(), flags=0):
    body = b"ATTQ" + struct.pack(">III", 1, flags, len(args))
    for a in args:
        body += struct.pack(">I", len(a)) + a.encode()
    body += struct.pack(">I", len(files))
    for index, data in files:
        body += struct.pack(">III", index, 0, len(data)) + data
    return frame(body)


def read_answer(sock, greeted=False):
    """(status, stdout, stderr) of the answer after the greeting (already read: greeted)."""
    data = b"ATT1" if greeted else b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    assert data[:4] == b"ATT1", data[:16]
    (length,) = struct.unpack(">I", data[4:8])
    msg = data[8:8 + length]
    assert msg[:4] == b"ATTA", msg[:16]
    status, out_len = struct.unpack(">II", msg[4:12])
    out = msg[12:12 + out_len]
    (err_len,) = struct.unpack(">I", msg[12 + out_len:16 + out_len])
    err = msg[16 + out_len:16 + out_len + err_len]
    return status, out.decode(), err.decode()


class AdminSocketTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon()
        cls.sock = os.path.join(cls.d.data, "admin.sock")

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(self.sock)
        self.addCleanup(s.close)
        return s

    def test_socket_file(self):
        st = os.lstat(self.sock)
        self.assertEqual(oct(st.st_mode & 0o777), "0o660")
        self.assertEqual(st.st_uid, os.geteuid())

    def test_changes_apply_at_once(self):
        self.d.attestctl("provider", "create", "at-once")
        # no SIGHUP: the provider serves as soon as attestctl returns
        self.assertEqual(self.d.request("GET", "/providers/at-once/certs")[0], 200)
        self.assertEqual(attest_status(self.d, "at-once"), 400)
        self.d.attestctl("provider", "set", "at-once", "--attest-requires-auth", "on")
        self.assertEqual(attest_status(self.d, "at-once"), 401)
        self.d.attestctl("provider", "set", "at-once", "--attest-requires-auth", "off")
        self.assertEqual(attest_status(self.d, "at-once"), 400)
        self.d.attestctl("provider", "delete", "at-once")
        self.assertEqual(self.d.request("GET", "/providers/at-once/certs")[0], 404)

    def test_audited_as_the_peer(self):
        self.d.attestctl("provider", "create", "audited")
        lines = self.d.attestctl("audit", "show", "--action", "provider.create").stdout
        mine = [l for l in lines.splitlines() if '"audited"' in l]
        self.assertEqual(len(mine), 1, lines)
        self.assertIn("who=root(uid:0) from=local:admin-socket", mine[0])

    def test_direct_still_works(self):
        out = self.d.attestctl("--direct", "provider", "show", "default")
        self.assertEqual(json.loads(out.stdout)["name"], "default")

    def test_files_travel(self):
        tmp = tempfile.mkdtemp(prefix="attestd-admin-")
        self.addCleanup(shutil.rmtree, tmp, True)
        secret = os.path.join(tmp, "pass")
        with open(os.open(secret, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write("a passphrase for the admin socket test\n")
        archive = os.path.join(tmp, "b.bin")
        out = json.loads(self.d.attestctl("backup", "create", archive, "--passphrase-file",
                                          secret).stdout)
        self.assertEqual(out["format"], 1)
        self.assertEqual(oct(os.stat(archive).st_mode & 0o777), "0o600")
        verified = json.loads(self.d.attestctl("backup", "verify", archive, "--passphrase-file",
                                               secret, use_config=False).stdout)
        self.assertEqual(verified["counts"], out["counts"])
        # a secret file others may read is refused there as it is here, by the caller's name
        loose = os.path.join(tmp, "loose-pass")
        shutil.copy(secret, loose)
        os.chmod(loose, 0o644)
        p = self.d.attestctl("backup", "create", os.path.join(tmp, "c.bin"), "--passphrase-file",
                             loose, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"{loose}: must be a regular file of this user with mode 0600 or 0400",
                      p.stderr)
        self.assertFalse(os.path.exists(os.path.join(tmp, "c.bin")))
        # never over an existing file, and nothing is made then
        again = self.d.attestctl("backup", "create", archive, "--passphrase-file", secret,
                                 check=False)
        self.assertEqual(again.returncode, 1)
        self.assertIn(f"{archive}: File exists", again.stderr)
        # a missing input is named as missing, by the name the caller gave
        missing = self.d.attestctl("collateral", "import", os.path.join(tmp, "nope.json"),
                                   check=False)
        self.assertEqual(missing.returncode, 1)
        self.assertEqual(missing.stderr, f"attestctl collateral import: {tmp}/nope.json: "
                                         "ATT_ERR_NOT_FOUND: not found\n")
        # an error about an input names it as the caller did, not as attestd stored it
        bad = os.path.join(tmp, "bad.json")
        with open(bad, "w") as f:
            f.write("{}")
        failed = self.d.attestctl("collateral", "import", bad, check=False)
        self.assertEqual(failed.returncode, 1)
        self.assertTrue(failed.stderr.startswith(f"attestctl collateral import: {bad}: "),
                        failed.stderr)

    def test_usage_errors_come_back(self):
        p = self.d.attestctl("provider", "set", "default", "--bogus", "on", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stderr.splitlines()[0],
                         "attestctl provider set: unknown option --bogus")
        self.assertTrue(p.stderr.splitlines()[1].startswith("usage: attestctl provider set NAME"))

    def test_hostile_requests(self):
        cases = [
            b"garbage",                                    # shorter than a length
            struct.pack(">I", 0xFFFFFFFF) + b"x",          # over the cap
            frame(b"NOPE"),                                # wrong magic
            frame(b"ATTQ" + struct.pack(">III", 2, 0, 0) + struct.pack(">I", 0)),  # version
            frame(b"ATTQ" + struct.pack(">III", 1, 0, 65)),                         # argc cap
            frame(b"ATTQ" + struct.pack(">III", 1, 0, 1) + struct.pack(">I", 5000)),  # arg cap
            frame(b"ATTQ" + struct.pack(">III", 1, 0, 1) + struct.pack(">I", 3) + b"a\0b"
                  + struct.pack(">I", 0)),                  # NUL in an argument
        ]
        for raw in cases:
            with self.subTest(raw=raw[:24]):
                s = self.connect()
                s.sendall(raw)
                s.shutdown(socket.SHUT_WR)
                status, out, err = read_answer(s)
                self.assertEqual(status, 1)
                self.assertEqual(out, "")
                self.assertTrue(err.startswith("attestctl: attestd could not read the request"),
                                err)
        # a file where the command reads none; two for one name; one not carried (as if the
        # peer could not read it: the command finds none)
        for raw, why in ((request("provider", "show", "default", files=[(2, b"x")]),
                          "the request carries a file the command does not read"),
                         (request("collateral", "import", "x.json", files=[(2, b"{}"), (2, b"")]),
                          "the request carries a file the command does not read"),
                         (request("collateral", "import", "x.json"),
                          "attestctl collateral import: x.json: ATT_ERR_NOT_FOUND: not found")):
            s = self.connect()
            s.sendall(raw)
            status, _, err = read_answer(s)
            self.assertEqual(status, 1)
            self.assertIn(why, err)
        # the service is unharmed
        self.assertEqual(json.loads(self.d.attestctl("provider", "show", "default").stdout)
                         ["name"], "default")

    def test_local_commands_do_not_run_in_attestd(self):
        # Attack: kek generate, restore, verify... sent raw would act with attestd's rights on
        # paths of the peer's choosing (and kek rotate would load a PKCS#11 module it names).
        tmp = tempfile.mkdtemp(prefix="attestd-local-")
        self.addCleanup(shutil.rmtree, tmp, True)
        target = os.path.join(tmp, "x.key")
        for args in (("kek", "generate", target), ("help",), ("version",),
                     ("verify", "sgx", "--quote", target),
                     ("kek", "rotate", "--new-kek-pkcs11",
                      "pkcs11:object=x?module-path=" + os.path.join(tmp, "evil.so")),
                     ("restore", target, "--data-dir", tmp, "--kek-file", target),
                     # it would read a file and reach a database with attestd's rights
                     ("store", "migrate", "--from", "sqlite:" + target, "--to",
                      "postgresql://attestd@127.0.0.1/x")):
            with self.subTest(args=args):
                s = self.connect()
                s.sendall(request(*args))
                status, out, err = read_answer(s)
                s.close()  # (its child ends at once, not after its second of draining)
                self.assertEqual((status, out), (1, ""))
                self.assertEqual(err, "attestctl: the admin socket runs only commands on "
                                      f"attestd's state; '{args[0]}' runs where it is typed\n")
        self.assertEqual(os.listdir(tmp), [])

    def test_no_leftovers(self):
        # Attack: a peer that never reads the answer kept the child - and a copy of the
        # carried passphrase in the data directory - alive. Carried files live in memory now,
        # and what the command writes is gone before the answer is sent.
        secret = b"a passphrase that must never touch the disk\n"
        s = self.connect()
        s.sendall(request("backup", "create", "b.bin", "--passphrase-file", "p",
                          files=[(4, secret)]))
        self.assertEqual(s.recv(4), b"ATT1")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            left = [n for n in os.listdir(self.d.data) if n.startswith(".admin-")]
            if not left:
                break
            time.sleep(0.2)
        self.assertEqual(left, [])
        s.close()
        # what a crash left behind is removed when attestd starts again
        stale = os.path.join(self.d.data, ".admin-stale1")
        os.makedirs(os.path.join(stale, "dir2"))
        with open(os.path.join(stale, "dir2", "quote.bin"), "wb") as f:
            f.write(b"x")
        with open(os.path.join(stale, "out3"), "wb") as f:
            f.write(b"x")
        # attack: the sweep runs as root; links planted in the service user's data directory
        # must be removed, never followed (a root-owned victim stays whole)
        victim = tempfile.mkdtemp(prefix="attestd-victim-")
        self.addCleanup(shutil.rmtree, victim, True)
        with open(os.path.join(victim, "precious"), "w") as f:
            f.write("keep me")
        os.symlink(victim, os.path.join(self.d.data, ".admin-link"))
        os.makedirs(os.path.join(self.d.data, ".admin-inner"))
        os.symlink(victim, os.path.join(self.d.data, ".admin-inner", "dir1"))
        self.d.stop()
        self.d.start()
        self.assertFalse(os.path.exists(stale))
        self.assertFalse(os.path.lexists(os.path.join(self.d.data, ".admin-link")))
        self.assertFalse(os.path.exists(os.path.join(self.d.data, ".admin-inner")))
        self.assertEqual(os.listdir(victim), ["precious"])

    def test_outside_sigusr1_is_ignored(self):
        # Attack: attestd answered any SIGUSR1 with SIGUSR2, which ends a shell that sent it.
        p = subprocess.run(["bash", "-c", f"kill -USR1 {self.d.proc.pid}; sleep 2; echo alive"],
                           stdout=subprocess.PIPE, text=True, timeout=30)
        self.assertEqual((p.returncode, p.stdout), (0, "alive\n"))
        self.d.wait_log("ignored a SIGUSR1 that came from no admin command")

    def test_idle_peers_are_dropped(self):
        # Four idle peers take every child; a fifth is closed at once (attestctl says why), and
        # once the idle ones time out (10 s) commands run again. First the children of earlier
        # tests end (each reads what its peer still sends, for a second at most).
        sup = h.only_child(self.d.proc.pid)
        deadline = time.monotonic() + 15
        while len(h.children_of(sup)) > 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual(len(h.children_of(sup)), 1, "only the key worker")
        idle = [self.connect() for _ in range(4)]
        for s in idle:
            self.assertEqual(s.recv(4), b"ATT1")
        s = self.connect()
        self.assertEqual(s.recv(4), b"")
        p = self.d.attestctl("provider", "list", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("attestd closed the connection (it runs at most 4 commands at once; its "
                      "log says why)", p.stderr)
        deadline = time.monotonic() + 20
        while True:
            p = self.d.attestctl("provider", "list", check=False)
            if p.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual(p.returncode, 0, p.stderr)
        for s in idle:  # each was told why and closed
            status, _, err = read_answer(s, greeted=True)
            self.assertEqual(status, 1)
            self.assertTrue(err.startswith("attestctl: attestd could not read the request"), err)


class AdminSocketSlowPeerTest(unittest.TestCase):
    def test_request_deadline_is_absolute(self):
        # Attack: one byte every few seconds kept a child (of 4) for ever, the timeout being
        # per read. The whole request must come within 10 s.
        d = h.Daemon()
        self.addCleanup(d.cleanup)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(60)
        s.connect(os.path.join(d.data, "admin.sock"))
        self.addCleanup(s.close)
        self.assertEqual(s.recv(4), b"ATT1")
        raw = request("provider", "list")
        t0 = time.monotonic()
        try:
            for i in range(len(raw)):
                s.send(raw[i:i + 1])
                time.sleep(2)
                if time.monotonic() - t0 > 30:
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, _, err = read_answer(s, greeted=True)
        self.assertLess(time.monotonic() - t0, 20)
        self.assertEqual(status, 1)
        self.assertTrue(err.startswith("attestctl: attestd could not read the request "
                                       "(the input did not arrive in time)"), err)


@unittest.skipIf(h.nobody_cannot_run_here(), h.nobody_cannot_run_here())
class AdminSocketPeersTest(unittest.TestCase):
    """Peers other than root: the kernel's word for who they are decides."""

    def setUp(self):
        if shutil.which("setpriv") is None:
            self.skipTest("needs setpriv to connect as another user")
        self.tmp = tempfile.mkdtemp(prefix="attestd-peers-")
        os.chmod(self.tmp, 0o755)
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.sock = os.path.join(self.tmp, "admin.sock")

    def as_nobody(self, d, *args):
        return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                               h.ATTESTCTL, "--socket", self.sock] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=h.san_env(), timeout=60)

    def test_group_member_allowed_other_refused(self):
        d = h.Daemon(config=f"admin_socket = {self.sock}\nadmin_group = nogroup\n")
        self.addCleanup(d.cleanup)
        st = os.lstat(self.sock)
        self.assertEqual(st.st_gid, int(subprocess.check_output(["getent", "group", "nogroup"],
                                                                 text=True).split(":")[2]))
        p = self.as_nobody(d, "provider", "show", "default")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["name"], "default")

    def test_stranger_refused(self):
        d = h.Daemon(config=f"admin_socket = {self.sock}\n")
        self.addCleanup(d.cleanup)
        # the file's mode keeps strangers out...
        p = self.as_nobody(d, "provider", "list")
        self.assertEqual(p.returncode, 1)
        self.assertIn("Permission denied", p.stderr)
        # ...and so does the peer check, were the mode too open
        os.chmod(self.sock, 0o666)
        p = self.as_nobody(d, "provider", "list")
        self.assertEqual(p.returncode, 1)
        uid = int(subprocess.check_output(["id", "-u", "nobody"], text=True))
        self.assertEqual(p.stderr, f"attestctl: uid {uid} may not administer attestd (root and "
                                   "members of admin_group may)\n")
        # told at once: nothing of a stranger's is read (a slow stranger holds no child long)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        self.addCleanup(s.close)
        pid = os.fork()
        if pid == 0:  # connect as nobody, keep the socket open without sending anything
            try:
                os.setgid(65534)
                os.setuid(uid)
                s.connect(self.sock)
                data = b""
                while len(data) < 8:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                os._exit(0 if data[:4] == b"ATT1" and len(data) >= 8 else 1)
            except BaseException:
                os._exit(2)
        self.assertEqual(os.waitpid(pid, 0)[1], 0)

    def test_stopped_supervisor_is_reported(self):
        d = h.Daemon(config=f"admin_socket = {self.sock}\n")
        self.addCleanup(d.cleanup)
        sup = h.only_child(d.proc.pid)
        os.kill(sup, signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            p = d.attestctl("--socket", self.sock, "provider", "list", check=False)
            self.assertEqual(p.returncode, 1)
            self.assertIn("attestd did not take the connection within 10 s", p.stderr)
            self.assertLess(time.monotonic() - t0, 30)
        finally:
            os.kill(sup, signal.SIGCONT)


if __name__ == "__main__":
    unittest.main()
