#!/usr/bin/python3
"""A real PostgreSQL server for the tests: Debian's `postgresql` binaries, a cluster made with
initdb in a temporary directory and run with pg_ctl, no system service.

Used two ways:
- tests/run_tests.py starts one for the whole run and hands its address to every test in
  ATTESTD_TEST_PG (postgresql://USER@127.0.0.1:PORT, no database); the unit tests' store fixture
  (tests/unit/store_fixture.h) creates a database of its own per test in it.
- black-box tests that stop and start PostgreSQL (tests/integration/test_scaleout.py) start a
  server of their own with Server().

PostgreSQL refuses to run as root; when the tests run as root the server runs as the
`postgres` user the package creates. `python3 tests/pg_server.py start DIR` / `stop DIR` run one
from a shell (scripts/pg-dev.sh).
"""
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time

SUPERUSER = "attestd_test"


def bin_dir():
    """The newest installed server's binaries, or None."""
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"),
                  key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return os.path.dirname(dirs[-1]) if dirs else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_as_user():
    """(uid, gid) to run the server as, or None to run it as ourselves (not root)."""
    if os.geteuid() != 0:
        return None
    pw = pwd.getpwnam("postgres")
    return pw.pw_uid, pw.pw_gid


def unavailable_reason():
    """Why no server can run here, or None. Only one reason is accepted as a skip: a root
    directory other users cannot search (a chroot made with mktemp -d), where no process but
    root's can reach any file; everything else is a failure of the setup."""
    if bin_dir() is None:
        return None  # missing binaries are a failure (scripts/deps.sh --test installs them)
    if os.geteuid() == 0 and (os.stat("/").st_mode & 0o001) == 0:
        return "the root directory is not searchable by other users, so no PostgreSQL can run"
    return None


class Server:
    """One PostgreSQL cluster in its own directory, on 127.0.0.1:port, trust authentication for
    local connections (only this machine's test processes can reach it)."""

    def __init__(self, directory=None, port=None):
        self.bin = bin_dir()
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed (scripts/deps.sh --test)")
        self.owned_dir = directory is None
        self.dir = directory or tempfile.mkdtemp(prefix="attestd-pg-")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "server.log")
        port_file = os.path.join(self.dir, "port")
        if port is None and os.path.exists(port_file):
            with open(port_file) as f:
                port = int(f.read())
        self.port = port or free_port()
        self.ids = run_as_user()

    @property
    def url(self):
        """The server's address, no database: append /NAME."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}"

    def _run(self, argv, check=True, timeout=60):
        def demote():
            if self.ids is not None:
                os.setgid(self.ids[1])
                os.setgroups([])
                os.setuid(self.ids[0])
        return subprocess.run(argv, preexec_fn=demote, check=check, timeout=timeout,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"})

    def init(self):
        if self.ids is not None:
            os.chown(self.dir, *self.ids)
        os.chmod(self.dir, 0o700)
        with open(os.path.join(self.dir, "port"), "w") as f:
            f.write(str(self.port))
        self._run([os.path.join(self.bin, "initdb"), "-D", self.data, "-U", SUPERUSER,
                   "--auth=trust", "--encoding=UTF8", "--no-sync"])
        # Fast and disposable: nothing here needs to survive a power loss.
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write(f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                    f"unix_socket_directories = '{self.dir}'\nfsync = off\n"
                    "full_page_writes = off\nsynchronous_commit = off\nmax_connections = 300\n"
                    "shared_buffers = 32MB\n")
        return self

    def enable_tls(self):
        """TLS on, with a certificate for 127.0.0.1 from a CA of its own (self.ca: its PEM),
        for clients that verify the server (sslmode=verify-full). Before start()."""
        self.ca = os.path.join(self.dir, "ca.pem")
        ca_key = os.path.join(self.dir, "ca.key")
        key, csr = os.path.join(self.data, "server.key"), os.path.join(self.dir, "server.csr")
        crt = os.path.join(self.data, "server.crt")
        run = lambda *a: subprocess.run(["openssl", *a], check=True, timeout=60,  # noqa: E731
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", ca_key, "-out", self.ca, "-days", "2", "-subj", "/CN=pg test CA")
        run("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
        ext = os.path.join(self.dir, "san.ext")
        with open(ext, "w") as f:
            f.write("subjectAltName = IP:127.0.0.1\n")
        run("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", ca_key, "-CAcreateserial",
            "-out", crt, "-days", "2", "-extfile", ext)
        os.chmod(key, 0o600)
        if self.ids is not None:
            for p in (key, crt):
                os.chown(p, *self.ids)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("ssl = on\n")
        return self

    def start(self):
        self._run([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l", self.log, "-w",
                   "-t", "60", "start"], timeout=90)
        return self

    def stop(self, mode="fast"):
        self._run([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", mode, "-w", "-t",
                   "60", "stop"], check=False, timeout=90)

    def psql(self, sql, db="postgres"):
        """Run SQL as the superuser; returns its output (unaligned, tuples only)."""
        out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d",
                              f"{self.url}/{db}", "-c", sql], check=True, timeout=60,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return out.stdout.strip()

    def create_database(self, name):
        self.psql(f'CREATE DATABASE "{name}"')
        return f"{self.url}/{name}"

    def destroy(self):
        self.stop("immediate")
        if self.owned_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


def start_for_run():
    """The run's server, or (None, reason) when none can run here."""
    reason = unavailable_reason()
    if reason:
        return None, reason
    server = Server().init().start()
    return server, None


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        print("usage: tests/pg_server.py start|stop DIR", file=sys.stderr)
        return 2
    directory = os.path.abspath(sys.argv[2])
    if sys.argv[1] == "start":
        os.makedirs(directory, exist_ok=True)
        server = Server(directory)
        if not os.path.exists(server.data):
            server.init()
        server.start()
        print(server.url)
    else:
        server = Server(directory)
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
