"""attestd and its service manager (docs/operations.md, "Signals"; docs/install.md): systemd's
notification protocol (READY=1 with MAINPID once it serves, RELOADING=1 and READY=1 around a
SIGHUP, WATCHDOG=1 at half of WATCHDOG_USEC, STOPPING=1 when it drains), spoken by attestd's
own process only, and the PID file."""
import os
import signal
import socket
import tempfile
import unittest

import harness as h


class NotifyTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="attestd-notify-")
        self.path = os.path.join(self.tmp, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(30)
        self.addCleanup(self.sock.close)
        self.pid_file = os.path.join(self.tmp, "attestd.pid")

    def next_state(self):
        return self.sock.recv(4096).decode()

    def test_lifecycle(self):
        d = h.Daemon(config=f"pid_file = {self.pid_file}\n",
                     env={"NOTIFY_SOCKET": self.path, "WATCHDOG_USEC": "2000000"})
        self.addCleanup(d.cleanup)
        states = [self.next_state()]
        while not states[-1].startswith("READY=1"):
            self.assertNotEqual(states[-1], "STOPPING=1")
            states.append(self.next_state())
        ready = dict(line.split("=", 1) for line in states[-1].splitlines())
        self.assertEqual(ready["MAINPID"], str(d.proc.pid))
        self.assertEqual(ready["STATUS"], f"serving {d.base_url}")
        with open(self.pid_file, encoding="ascii") as f:
            self.assertEqual(f.read(), f"{d.proc.pid}\n")
        # the watchdog, at half of its interval (2 s)
        self.assertEqual(self.next_state(), "WATCHDOG=1")
        # the key processes were not given the socket: only attestd speaks for the service
        for pid in h.children_of(d.proc.pid):
            with open(f"/proc/{pid}/environ", "rb") as f:
                self.assertNotIn(b"NOTIFY_SOCKET", f.read())
        os.kill(d.proc.pid, signal.SIGHUP)
        seen = [self.next_state() for _ in range(3)]
        reloads = [s for s in seen if s.startswith("RELOADING=1")]
        self.assertEqual(len(reloads), 1, seen)
        self.assertRegex(reloads[0], r"^RELOADING=1\nMONOTONIC_USEC=\d+$")
        self.assertIn("READY=1", seen[seen.index(reloads[0]) + 1:])
        d.stop()
        rest = []
        self.sock.settimeout(2)
        try:
            while True:
                rest.append(self.next_state())
        except socket.timeout:
            pass
        self.assertIn("STOPPING=1", rest)
        self.assertFalse(os.path.exists(self.pid_file), "the PID file is removed at the end")

    def test_without_a_service_manager(self):
        # no NOTIFY_SOCKET: nothing sent, the daemon serves as ever
        d = h.Daemon()
        self.addCleanup(d.cleanup)
        self.assertEqual(d.request("GET", "/healthz")[0], 200)

    def test_pid_file_that_cannot_be_written(self):
        d = h.Daemon(config=f"pid_file = {self.tmp}/no/such/dir/attestd.pid\n", start=False)
        self.addCleanup(d.cleanup)
        proc = h.run_attestd(["--config", d.config_path, "--data-dir", d.data])
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(h.startup_failure(proc),
                         f"pid_file: {self.tmp}/no/such/dir/attestd.pid: No such file or directory")


if __name__ == "__main__":
    unittest.main()
