"""Connection slots are fair, black-box (security review, issue 11 §4).

The attacks replayed: one address holding idle connections until nobody else could connect;
addresses outside allowed_networks taking a slot and a full TLS handshake before their 403; a
silent TCP connection holding its slot for the whole request_timeout. A second loopback address
(127.0.0.2, bound as the client's source address) plays the innocent client: loopback
listeners accept it as a different peer.
"""
import socket
import ssl
import time
import unittest

import harness as h

GET_HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"


def tls_connect(d, source="127.0.0.1", timeout=10):
    raw = socket.create_connection(("127.0.0.1", d.port), timeout=timeout,
                                   source_address=(source, 0))
    try:
        return d.ssl_context().wrap_socket(raw, server_hostname="127.0.0.1")
    except BaseException:
        raw.close()
        raise


def healthz_from(d, source):
    with tls_connect(d, source) as s:
        s.sendall(GET_HEALTHZ)
        return h.read_until_eof(s, timeout=10)


def closed_by_peer(sock, within):
    """True when the daemon closes `sock` (EOF or reset) within `within` seconds."""
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, ssl.SSLError):
        return True
    except socket.timeout:
        return False


class PerAddressCapTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon(config="max_connections = 16\nmax_connections_per_address = 4")

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def test_one_address_cannot_take_every_slot(self):
        held, refused = [], 0
        try:
            for _ in range(20):  # more than max_connections, all idle, all from 127.0.0.1
                try:
                    held.append(tls_connect(self.d))
                except (ssl.SSLError, ConnectionError, OSError):
                    refused += 1
            # The handshake of a refused connection can succeed on our side before the close
            # arrives: count the connections the daemon actually keeps.
            kept = [s for s in held if not closed_by_peer(s, 0.5)]
            self.assertEqual(len(kept), 4)
            self.d.wait_log("connection refused: max_connections_per_address reached",
                            peer="127.0.0.1")
            # Another address is served meanwhile.
            self.assertIn(b" 200 ", healthz_from(self.d, "127.0.0.2"))
        finally:
            for s in held:
                s.close()
        # Once they are gone the first address may connect again.
        deadline = time.monotonic() + 10
        while True:
            try:
                self.assertIn(b" 200 ", healthz_from(self.d, "127.0.0.1"))
                break
            except (AssertionError, ssl.SSLError, ConnectionError, OSError):
                self.assertLess(time.monotonic(), deadline, "the slots were never given back")
                time.sleep(0.1)


class FewAddressesTest(unittest.TestCase):
    """Outside review, round 2: a few addresses, each within its cap, held every slot with bare
    TCP connections (no ClientHello) and a bystander was refused. At the limit the connection
    idle the longest is closed to make room."""

    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon(config="max_connections = 16\nmax_connections_per_address = 4\n"
                                "threads = 1\nlog_summary_interval = 1")

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def test_bystander_served_when_addresses_hold_every_slot(self):
        held = []
        try:
            for i in range(4):
                for _ in range(4):
                    held.append(socket.create_connection(("127.0.0.1", self.d.port), timeout=10,
                                                         source_address=(f"127.0.0.{2 + i}", 0)))
            time.sleep(0.3)
            for _ in range(3):
                self.assertIn(b" 200 ", healthz_from(self.d, "127.0.0.100"))
            closed = sum(1 for s in held if closed_by_peer(s, 0.2))
            self.assertGreaterEqual(closed, 1)
        finally:
            for s in held:
                s.close()


class ReclaimAcrossLoopsTest(unittest.TestCase):
    """At max_connections, the idle connection closed to make room may belong to another
    event loop than the one that accepted the new connection: that loop hands the new socket
    to the loop holding the idle one. (CI, TSan: a loop without connections of its own once
    refused a newcomer while another loop held only idle ones.)"""

    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon(config="max_connections = 1\nthreads = 4\nlog_summary_interval = 1")

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def test_newcomer_served_whichever_loop_accepts_it(self):
        # Which loop accepts a connection is up to the kernel; with four loops a newcomer
        # lands on another loop than the idle connection's most of the time.
        for _ in range(20):
            idle = socket.create_connection(("127.0.0.1", self.d.port), timeout=10)
            try:
                time.sleep(0.05)  # accepted: it holds the only slot
                self.assertIn(b" 200 ", healthz_from(self.d, "127.0.0.1"))
                self.assertTrue(closed_by_peer(idle, 5), "the idle connection was kept")
            finally:
                idle.close()
        refused = [e for e in self.d.log_events()
                   if e.get("msg") == "connection refused: max_connections reached"]
        self.assertEqual(refused, [])


class RefusedAtAcceptTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon(config="max_connections = 4\nallowed_networks = 127.0.0.2/32\n"
                                "log_summary_interval = 1")

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def test_outsiders_take_no_slot_and_no_handshake(self):
        outsiders = []
        try:
            for _ in range(12):  # three times max_connections, kept open from our side
                raw = socket.create_connection(("127.0.0.1", self.d.port), timeout=10)
                outsiders.append(raw)
            for raw in outsiders:
                self.assertTrue(closed_by_peer(raw, 5), "an outsider's connection was kept")
            self.assertIn(b" 200 ", healthz_from(self.d, "127.0.0.2"))
        finally:
            for raw in outsiders:
                raw.close()
        # One line for the first refusal, then counts: never a line per refused connection.
        msg = "connection refused: outside allowed_networks"
        self.d.wait_log(msg, repeat_key=f"{msg} 127.0.0.1")
        lines = [e for e in self.d.log_events() if e.get("msg") == msg]
        self.assertEqual([e["peer"] for e in lines if "repeats" not in e], ["127.0.0.1"])
        self.assertEqual(sum(e.get("repeats", 0) for e in lines), 11)
        requests = [e for e in self.d.log_events() if e.get("msg") == "request"]
        self.assertEqual({e["peer"] for e in requests}, {"127.0.0.2"})


class HandshakeTimeoutTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon(config="handshake_timeout = 1\nrequest_timeout = 60\nidle_timeout = 60")

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def test_silent_connection_closed_after_handshake_timeout(self):
        t0 = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.d.port), timeout=10) as raw:
            self.assertTrue(closed_by_peer(raw, 10))
        took = time.monotonic() - t0
        self.assertGreater(took, 0.8)
        self.assertLess(took, 5, "a silent connection kept its slot past handshake_timeout")

    def test_request_after_the_handshake_has_request_timeout(self):
        # handshake_timeout bounds the handshake only: a client that takes longer than that to
        # send its request afterwards is still served.
        with tls_connect(self.d) as s:
            time.sleep(1.5)
            s.sendall(GET_HEALTHZ)
            self.assertIn(b" 200 ", h.read_until_eof(s, timeout=10))


if __name__ == "__main__":
    unittest.main()
