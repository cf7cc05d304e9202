"""HTTP/1.1 behaviour of attestd: limits, framing errors, error shape, keep-alive, pipelining,
timeouts, allow-list, connection limit and draining on SIGTERM."""
import json
import select
import shutil
import signal
import socket
import ssl
import time
import unittest

import harness as h

GET_HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def raw_exchange(d, data, timeout=10.0):
    """Send raw bytes over TLS and read until the server closes; the parsed responses."""
    with d.tls_socket(timeout=timeout) as s:
        s.sendall(data)
        return h.parse_responses(h.read_until_eof(s, timeout))


def raw_one(d, data, timeout=10.0):
    """Send raw bytes and read exactly one response (the connection may stay open)."""
    with d.tls_socket(timeout=timeout) as s:
        s.sendall(data)
        with s.makefile("rb") as f:
            return h.read_response(f)


def wait_app_data(s, timeout):
    """Wait up to timeout for application data on a TLS socket (TLS 1.3 session tickets make
    the raw socket readable without any); returns the bytes read, b"" if none (or at EOF)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return b""
        r, _, _ = select.select([s], [], [], left)
        if not r:
            return b""
        s.setblocking(False)
        try:
            return s.recv(65536)
        except ssl.SSLWantReadError:
            continue
        except (ssl.SSLError, OSError):
            return b""
        finally:
            s.setblocking(True)


class HttpErrorsMixin:
    def assert_error(self, resp, status, code):
        self.assertIsNotNone(resp, "no response")
        st, headers, body = resp
        self.assertEqual(st, status, body)
        self.assertEqual(h.error_of(body)[0], code)
        self.assertEqual(headers["x-ms-error-code"], code)
        self.assertRegex(headers["x-ms-request-id"], h.UUID_RE)
        self.assertEqual(headers["content-type"], "application/json; charset=utf-8")


class HttpDefaultsTest(HttpErrorsMixin, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    # ---- error shape and routing ----

    def test_unknown_route_404_in_maa_shape(self):
        status, headers, body = self.d.request("GET", "/no/such/route")
        self.assertEqual(status, 404)
        self.assertEqual(json.loads(body), {"error": {"code": "NotFound",
                                                      "message": "no such route",
                                                      "requestId": headers["x-ms-request-id"]}})
        self.assertEqual(headers["x-ms-error-code"], "NotFound")
        self.assertRegex(headers["x-ms-request-id"], h.UUID_RE)
        self.assertEqual(headers["Content-Type"], "application/json; charset=utf-8")

    def test_request_ids_are_unique_uuid4(self):
        ids = set()
        for path in ("/healthz", "/certs", "/nope", "/healthz"):
            _, headers, _ = self.d.request("GET", path)
            rid = headers["x-ms-request-id"]
            self.assertRegex(rid, h.UUID_RE)
            self.assertEqual(rid[14], "4", "version 4 UUID")
            self.assertIn(rid[19], "89ab", "RFC 9562 variant")
            ids.add(rid)
        self.assertEqual(len(ids), 4)
        # The access log carries the same ids (it may lag the answer by a moment).
        deadline = time.monotonic() + 5
        while True:
            logged = {e["request_id"] for e in self.d.log_events() if e.get("msg") == "request"}
            if ids <= logged or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertLessEqual(ids, logged)

    def test_wrong_method_405_with_allow(self):
        for method, path in (("POST", "/certs"), ("DELETE", "/.well-known/openid-configuration"),
                             ("PUT", "/providers/default/certs"), ("POST", "/healthz")):
            with self.subTest(method=method, path=path):
                status, headers, body = self.d.request(method, path, body=b"" if method != "DELETE"
                                                       else None)
                self.assertEqual(status, 405)
                self.assertEqual(h.error_of(body)[0], "MethodNotAllowed")
                self.assertEqual(headers["x-ms-error-code"], "MethodNotAllowed")
                self.assertEqual(headers["Allow"], "GET")

    def test_unknown_method_501(self):
        resp = raw_one(self.d, b"BREW /certs HTTP/1.1\r\nHost: a\r\n\r\n")
        self.assert_error(resp, 501, "NotImplemented")

    # ---- body limit ----

    def test_oversize_content_length_413_before_body(self):
        t0 = time.monotonic()
        resps = raw_exchange(self.d, b"POST /certs HTTP/1.1\r\nHost: a\r\nContent-Type: "
                                     b"application/json\r\nContent-Length: 300000\r\n\r\n")
        self.assertLess(time.monotonic() - t0, 5.0, "answered without waiting for the body")
        self.assertEqual(len(resps), 1)
        self.assert_error(resps[0], 413, "PayloadTooLarge")
        self.assertEqual(resps[0][1]["connection"], "close")

    def test_absurd_content_length_413(self):
        resps = raw_exchange(self.d, b"POST /certs HTTP/1.1\r\nHost: a\r\n"
                                     b"Content-Length: 99999999999999999999\r\n\r\n")
        self.assertEqual(len(resps), 1)
        self.assert_error(resps[0], 413, "PayloadTooLarge")

    def test_bad_content_length_400(self):
        for value in (b"12abc", b"-1", b"1, 1"):
            with self.subTest(value=value):
                resps = raw_exchange(self.d, b"POST /certs HTTP/1.1\r\nHost: a\r\n"
                                             b"Content-Length: " + value + b"\r\n\r\n")
                self.assertEqual(len(resps), 1)
                self.assert_error(resps[0], 400, "InvalidParameter")
        resps = raw_exchange(self.d, b"POST /certs HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
                                     b"Content-Length: 1\r\n\r\nx")
        self.assert_error(resps[0], 400, "InvalidParameter")

    # ---- framing errors over a raw socket ----

    def test_malformed_request_line_400(self):
        for line in (b"GARBAGE\r\n\r\n", b"GET  /certs HTTP/1.1\r\nHost: a\r\n\r\n",
                     b"GET certs HTTP/1.1\r\nHost: a\r\n\r\n", b"GET /certs HTTP/1.1 x\r\n\r\n",
                     b"GET /certs\r\nHost: a\r\n\r\n"):
            with self.subTest(line=line):
                resps = raw_exchange(self.d, line)
                self.assertEqual(len(resps), 1, "one answer, then the connection is closed")
                self.assert_error(resps[0], 400, "InvalidParameter")
                self.assertEqual(resps[0][1]["connection"], "close")

    def test_bare_lf_and_folding_400(self):
        for data in (b"GET /certs HTTP/1.1\nHost: a\r\n\r\n",
                     b"GET /certs HTTP/1.1\r\nHost: a\nX-A: 1\r\n\r\n",
                     b"GET /certs HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  folded\r\n\r\n",
                     b"GET /certs HTTP/1.1\r\nHost : a\r\n\r\n"):
            with self.subTest(data=data):
                resps = raw_exchange(self.d, data)
                self.assertEqual(len(resps), 1)
                self.assert_error(resps[0], 400, "InvalidParameter")

    def test_head_ended_by_bare_lfs_400_at_once(self):
        """A head using only LF is refused as soon as it ends, not after read_timeout; so is one
        whose last line ends in a bare LF before the final CRLF, or holds a bare CR (security
        reviews: `\\n\\r\\n` and `\\r\\r\\n` waited for the read timeout)."""
        for data in (b"GET /certs HTTP/1.1\nHost: a\n\n", b"GET /certs HTTP/1.1\nHost: a\n\r\n",
                     b"GET /certs HTTP/1.1\r\nHost: a\n\r\n", b"GET /certs HTTP/1.1\r\r\n"):
            with self.subTest(data=data):
                t0 = time.monotonic()
                resps = raw_exchange(self.d, data)
                self.assertLess(time.monotonic() - t0, 3.0)
                self.assertEqual(len(resps), 1)
                self.assert_error(resps[0], 400, "InvalidParameter")
                self.assertRegex(json.loads(resps[0][2])["error"]["message"],
                                 "CRLF|not terminated by an empty line")

    def test_bad_query_400_and_daemon_survives(self):
        """A query refused by the parser once left the head half-built and crashed the access
        log; the answer must be a 400 and the daemon must go on serving."""
        many = b"&".join(b"a%d=b" % i for i in range(40))
        for target in (b"/certs?a=%zz", b"/certs?a=1&b=%4", b"/certs?" + many):
            with self.subTest(target=target):
                resps = raw_exchange(self.d, b"GET " + target + b" HTTP/1.1\r\nHost: a\r\n\r\n")
                self.assertEqual(len(resps), 1)
                self.assert_error(resps[0], 400, "InvalidParameter")
        self.assertEqual(raw_one(self.d, GET_HEALTHZ)[0], 200)
        self.assertTrue(self.d.running())

    def test_error_after_head_request_on_same_connection(self):
        """Nothing of a HEAD request may carry over to the next request's answer."""
        with self.d.tls_socket() as s:
            s.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = s.recv(4096)
                self.assertTrue(chunk)
                head += chunk
            self.assertTrue(head.startswith(b"HTTP/1.1 200 "))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: " + b"x" * 20000)
            with s.makefile("rb") as f:
                status, headers, body = h.read_response(f)
        self.assertEqual(status, 431)
        self.assertEqual(h.error_of(body)[0], "RequestHeaderFieldsTooLarge")
        self.assertEqual(int(headers["content-length"]), len(body))
        last = [e for e in self.d.log_events() if e.get("status") == 431][-1]
        self.assertNotIn("method", last)  # not the HEAD of the previous request

    def test_dot_segments_and_encoded_slash_400(self):
        for path in (b"/providers/../certs", b"/./certs", b"/providers%2Fdefault/certs"):
            with self.subTest(path=path):
                resps = raw_exchange(self.d, b"GET " + path + b" HTTP/1.1\r\nHost: a\r\n\r\n")
                self.assertEqual(len(resps), 1)
                self.assert_error(resps[0], 400, "InvalidParameter")

    def test_http_version_505(self):
        resps = raw_exchange(self.d, b"GET /certs HTTP/2.0\r\nHost: a\r\n\r\n")
        self.assertEqual(len(resps), 1)
        self.assert_error(resps[0], 505, "HttpVersionNotSupported")

    def test_header_section_too_large_431(self):
        big = b"X-Filler: " + b"a" * 20000 + b"\r\n"
        resps = raw_exchange(self.d, b"GET /certs HTTP/1.1\r\nHost: a\r\n" + big + b"\r\n")
        self.assertEqual(len(resps), 1)
        self.assert_error(resps[0], 431, "RequestHeaderFieldsTooLarge")

    def test_unterminated_head_over_limit_431(self):
        # No end of head at all: the server must stop buffering at max_header_size.
        with self.d.tls_socket() as s:
            s.sendall(b"GET /certs HTTP/1.1\r\nHost: a\r\nX-Filler: " + b"a" * 20000)
            resps = h.parse_responses(h.read_until_eof(s))
        self.assertEqual(len(resps), 1)
        self.assert_error(resps[0], 431, "RequestHeaderFieldsTooLarge")

    def test_transfer_encoding_chunked_501(self):
        resps = raw_exchange(self.d, b"POST /certs HTTP/1.1\r\nHost: a\r\n"
                                     b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        self.assertEqual(len(resps), 1)
        self.assert_error(resps[0], 501, "NotImplemented")
        self.assertEqual(resps[0][1]["connection"], "close")

    def test_transfer_encoding_with_content_length_400(self):
        resps = raw_exchange(self.d, b"POST /certs HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                                     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        self.assertEqual(len(resps), 1)
        self.assert_error(resps[0], 400, "InvalidParameter")

    def test_missing_host_400(self):
        resps = raw_exchange(self.d, b"GET /healthz HTTP/1.1\r\n\r\n")
        self.assertEqual(len(resps), 1)
        self.assert_error(resps[0], 400, "InvalidParameter")
        resps = raw_exchange(self.d, b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
        self.assertEqual(len(resps), 1)
        self.assert_error(resps[0], 400, "InvalidParameter")

    def test_http10_without_host_is_served_and_closed(self):
        resps = raw_exchange(self.d, b"GET /healthz HTTP/1.0\r\n\r\n")
        self.assertEqual(len(resps), 1)
        status, headers, body = resps[0]
        self.assertEqual((status, body), (200, b'{"status":"ok"}'))
        self.assertEqual(headers["connection"], "close")

    # ---- connection reuse ----

    def test_keep_alive_two_requests_one_connection(self):
        conn = self.d.connection()
        try:
            status, headers, body = self.d.request("GET", "/healthz", conn=conn)
            self.assertEqual((status, body), (200, b'{"status":"ok"}'))
            self.assertIsNone(headers["Connection"])
            sock = conn.sock
            self.assertIsNotNone(sock)
            # An error answered by the router keeps the connection too.
            status, _, _ = self.d.request("GET", "/nope", conn=conn)
            self.assertEqual(status, 404)
            status, _, doc = self.d.request("GET", "/readyz", conn=conn)
            self.assertEqual(status, 200)
            self.assertIs(conn.sock, sock, "the same connection served every request")
        finally:
            conn.close()

    def test_http10_keep_alive(self):
        with self.d.tls_socket() as s, s.makefile("rb") as f:
            for _ in range(2):
                s.sendall(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                status, headers, body = h.read_response(f)
                self.assertEqual((status, body), (200, b'{"status":"ok"}'))
                self.assertEqual(headers["connection"], "keep-alive")

    def test_pipelined_requests_in_one_write(self):
        data = (b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
                b"GET /nope HTTP/1.1\r\nHost: a\r\n\r\n"
                b"GET /readyz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        resps = raw_exchange(self.d, data)
        self.assertEqual([r[0] for r in resps], [200, 404, 200])
        self.assertEqual(resps[0][2], b'{"status":"ok"}')
        self.assertEqual(h.error_of(resps[1][2])[0], "NotFound")
        self.assertEqual(json.loads(resps[2][2])["status"], "ready")
        self.assertEqual(resps[2][1]["connection"], "close")
        self.assertEqual(len({r[1]["x-ms-request-id"] for r in resps}), 3)

    def half_closed_exchange(self, data):
        """Send `data`, then end our side as TLS 1.3 allows (close_notify, then a TCP FIN) and
        read until the daemon closes: what a client that half-closes after its requests gets."""
        ctx = self.d.ssl_context()
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = ctx.wrap_bio(inc, out, server_hostname="127.0.0.1")
        with socket.create_connection(("127.0.0.1", self.d.port), timeout=10) as s:
            def flush():
                pending = out.read()
                if pending:
                    s.sendall(pending)
            while True:
                try:
                    tls.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    flush()
                    chunk = s.recv(65536)
                    if not chunk:
                        raise AssertionError("the daemon closed during the TLS handshake")
                    inc.write(chunk)
            flush()
            tls.write(data)
            try:
                tls.unwrap()  # sends our close_notify; the daemon's comes later
            except ssl.SSLWantReadError:
                pass
            flush()
            s.shutdown(socket.SHUT_WR)
            got = b""
            while True:
                chunk = s.recv(65536)
                if chunk:
                    inc.write(chunk)
                else:
                    inc.write_eof()
                try:
                    while True:
                        data = tls.read(65536)
                        if not data:
                            # The daemon's close_notify: Python 3.11.2 (Debian 12) returns b""
                            # here, later versions raise SSLZeroReturnError.
                            return got
                        got += data
                except ssl.SSLWantReadError:
                    pass
                except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                    return got
                if not chunk:
                    return got

    def test_half_closed_client_gets_its_answers(self):
        # Answers drain while reading stays on, so the client's close_notify can arrive before
        # they are out: it must not cost the client what it asked for. (A bare TCP FIN without
        # close_notify is a truncation to OpenSSL: fatal, nothing more can be sent.)
        data = (b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n" * 3 +
                b"POST /attest/SgxEnclave?api-version=2020-10-01 HTTP/1.1\r\nHost: a\r\n"
                b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
        resps = h.parse_responses(self.half_closed_exchange(data))
        self.assertEqual([r[0] for r in resps], [200, 200, 200, 400])
        self.assertEqual(resps[0][2], b'{"status":"ok"}')
        self.assertEqual(h.error_of(resps[3][2])[0], "InvalidParameter")

    def test_connection_close_honoured(self):
        resps = raw_exchange(self.d, b"GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close"
                                     b"\r\n\r\nGET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        self.assertEqual(len(resps), 1, "nothing is answered after Connection: close")
        self.assertEqual(resps[0][1]["connection"], "close")

    def test_expect_100_continue(self):
        with self.d.tls_socket() as s, s.makefile("rb") as f:
            s.sendall(b"POST /certs HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n"
                      b"Expect: 100-continue\r\n\r\n")
            self.assertEqual(f.readline(), b"HTTP/1.1 100 Continue\r\n")
            self.assertEqual(f.readline(), b"\r\n")
            s.sendall(b"abcd")
            status, headers, body = h.read_response(f)
            self.assertEqual(status, 405)
            self.assertEqual(h.error_of(body)[0], "MethodNotAllowed")


class SmallBodyLimitTest(HttpErrorsMixin, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon(config="max_body_size = 2k")

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def post(self, n):
        return raw_exchange(self.d, b"POST /certs HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
                                    b"Content-Length: %d\r\n\r\n" % n + b"x" * n)

    def test_body_over_limit_413(self):
        resps = self.post(3000)
        self.assertEqual(len(resps), 1)
        self.assert_error(resps[0], 413, "PayloadTooLarge")

    def test_body_one_over_limit_413(self):
        resps = self.post(2049)
        self.assertEqual(len(resps), 1)
        self.assert_error(resps[0], 413, "PayloadTooLarge")

    def test_body_at_limit_reaches_router(self):
        resps = self.post(2048)
        self.assertEqual(len(resps), 1)
        self.assert_error(resps[0], 405, "MethodNotAllowed")

    def test_large_unread_body_answered_not_reset(self):
        """The server refuses at the head and never reads the body; it discards what the
        client still sends for a moment, so a client that writes its whole body before
        reading gets the 413 rather than a connection reset."""
        status, headers, body = self.d.request("POST", "/certs", body=b"x" * 1_000_000,
                                               headers={"Content-Type": "application/json"})
        self.assertEqual(status, 413)
        self.assertEqual(h.error_of(body)[0], "PayloadTooLarge")

    def test_http_client_post_over_limit(self):
        status, headers, body = self.d.request("POST", "/certs", body=b"{}" * 1500,
                                               headers={"Content-Type": "application/json"})
        self.assertEqual(status, 413)
        self.assertEqual(h.error_of(body)[0], "PayloadTooLarge")


class TimeoutTest(HttpErrorsMixin, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon(config="read_timeout = 1\nrequest_timeout = 2")

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def test_silent_client_cut_after_read_timeout(self):
        with self.d.tls_socket() as s:
            t0 = time.monotonic()
            s.sendall(b"GET /healthz HTTP/1.1\r\nHo")
            data = h.read_until_eof(s, timeout=10)
            elapsed = time.monotonic() - t0
        self.assertGreaterEqual(elapsed, 0.8)
        self.assertLess(elapsed, 3.0, "cut off after read_timeout = 1")
        resps = h.parse_responses(data)
        self.assertEqual(len(resps), 1)
        self.assert_error(resps[0], 408, "RequestTimeout")
        self.assertEqual(resps[0][1]["connection"], "close")

    def test_silent_body_cut_after_read_timeout(self):
        with self.d.tls_socket() as s:
            t0 = time.monotonic()
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
            data = h.read_until_eof(s, timeout=10)
            elapsed = time.monotonic() - t0
        self.assertLess(elapsed, 3.0)
        resps = h.parse_responses(data)
        self.assertEqual(len(resps), 1)
        self.assert_error(resps[0], 408, "RequestTimeout")

    def test_trickling_client_cut_after_request_timeout(self):
        """Slowloris: a byte every 0.4 s never trips read_timeout, but request_timeout = 2 does."""
        head = b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Slow: " + b"z" * 100
        with self.d.tls_socket() as s:
            t0 = time.monotonic()
            data = b""
            for i in range(len(head)):
                try:
                    s.sendall(head[i:i + 1])
                except (ssl.SSLError, OSError):
                    break
                data = wait_app_data(s, 0.4)
                if data or time.monotonic() - t0 > 8:
                    break
            data += h.read_until_eof(s, timeout=10)
            elapsed = time.monotonic() - t0
        self.assertGreaterEqual(elapsed, 1.8, "read_timeout must not fire while bytes arrive")
        self.assertLess(elapsed, 3.5, "cut off after request_timeout = 2")
        resps = h.parse_responses(data)
        self.assertEqual(len(resps), 1)
        self.assert_error(resps[0], 408, "RequestTimeout")

    def test_fast_request_still_served(self):
        self.assertEqual(self.d.request("GET", "/healthz")[0], 200)


class AllowedNetworksTest(HttpErrorsMixin, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.outside = h.Daemon(config="allowed_networks = 10.0.0.0/8")
        try:
            cls.inside = h.Daemon(config="allowed_networks = 10.0.0.0/8, 127.0.0.0/8")
        except BaseException:
            cls.outside.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.outside.cleanup()
        finally:
            cls.inside.cleanup()

    def test_peer_outside_allowed_networks_closed_at_accept(self):
        # Security review: a refused peer took a connection slot and got a full TLS handshake
        # before its 403. Now the socket is closed at accept: no handshake, no slot.
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", self.outside.port), timeout=10) as raw:
                with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
                    self.outside.ssl_context().wrap_socket(raw, server_hostname="127.0.0.1")
        self.outside.wait_log("connection refused: outside allowed_networks", peer="127.0.0.1")
        self.assertEqual([e for e in self.outside.log_events() if e.get("msg") == "request"], [])

    def test_peer_inside_allowed_networks_200(self):
        status, _, body = self.inside.request("GET", "/healthz")
        self.assertEqual((status, body), (200, b'{"status":"ok"}'))
        self.assertEqual(self.inside.request("GET", "/certs")[0], 200)


class MaxConnectionsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # One event loop: idle connections are reclaimed per loop.
        cls.d = h.Daemon(config="max_connections = 2\nthreads = 1")

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def try_connect(self, first=GET_HEALTHZ):
        """A TLS connection that sent `first` (and, for a whole request, got its answer), or
        the exception that stopped it."""
        try:
            s = self.d.tls_socket(timeout=5)
        except (ssl.SSLError, OSError) as e:
            return e
        try:
            s.sendall(first)
            if first != GET_HEALTHZ:
                return s
            f = s.makefile("rb")
            resp = h.read_response(f)
            f.close()
            if resp is None:
                s.close()
                return ConnectionError("closed before answering")
            self.assertEqual(resp[0], 200)
            return s
        except (ssl.SSLError, OSError) as e:
            s.close()
            return e

    def test_third_connection_closed_while_both_are_busy(self):
        partial = b"GET /healthz HTTP/1.1\r\nHost: a\r\n"  # a request under way
        a = self.try_connect(partial)
        b = self.try_connect(partial)
        try:
            self.assertIsInstance(a, ssl.SSLSocket, a)
            self.assertIsInstance(b, ssl.SSLSocket, b)
            time.sleep(0.3)  # the daemon has read the partial requests
            c = self.try_connect()
            if isinstance(c, ssl.SSLSocket):
                c.close()
                self.fail("a third simultaneous connection was served")
            self.d.wait_log("connection refused: max_connections reached", max_connections=2)
            # The first two are still served.
            for s in (a, b):
                s.sendall(b"\r\n")
                with s.makefile("rb") as f:
                    self.assertEqual(h.read_response(f)[0], 200)
        finally:
            for s in (a, b):
                if isinstance(s, ssl.SSLSocket):
                    s.close()
        # Once they are gone, new connections are accepted again.
        deadline = time.monotonic() + 10
        while True:
            c = self.try_connect()
            if isinstance(c, ssl.SSLSocket):
                c.close()
                break
            self.assertLess(time.monotonic(), deadline, f"slot never freed: {c!r}")
            time.sleep(0.1)

    def test_idle_connection_reclaimed_for_a_new_one(self):
        # Outside review, round 2: connections that only hold a slot kept everyone out. At the
        # limit, the connection idle the longest makes room (as nginx drains keep-alives).
        a = self.try_connect()
        time.sleep(0.2)
        b = self.try_connect()
        try:
            self.assertIsInstance(a, ssl.SSLSocket, a)
            self.assertIsInstance(b, ssl.SSLSocket, b)
            c = self.try_connect()
            self.assertIsInstance(c, ssl.SSLSocket, c)  # served
            c.close()
            a.settimeout(5)
            self.assertIn(a.recv(1), (b"",))  # the oldest idle one was closed
            b.sendall(GET_HEALTHZ)  # the other one is still served
            with b.makefile("rb") as f:
                self.assertEqual(h.read_response(f)[0], 200)
            self.d.wait_log("idle connection closed to make room: max_connections reached",
                            max_connections=2)
        finally:
            for s in (a, b):
                if isinstance(s, ssl.SSLSocket):
                    s.close()


class FileLimitTest(unittest.TestCase):
    """With few descriptors, max_connections is lowered below the open-file limit, so
    connecting cannot exhaust descriptors (where accept() would fail in a loop)."""

    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon(config="max_connections_per_address = 0\nlog_summary_interval = 1\n"
                                "threads = 2", nofile=200)

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def test_max_connections_lowered_and_flood_survived(self):
        ev = self.d.wait_log("max_connections lowered to fit the open-file limit")[0]
        self.assertEqual(ev["open_file_limit"], 200)
        # the reserve, hand-offs, sockets closing, and per loop: epoll, wake-up pipe (2) and a
        # socket being refused (4), the parked sockets (ATT_HTTP_PARKED, 4), the listener
        self.assertEqual(ev["using"], 200 - 64 - 16 - 16 - 2 * (4 + 4 + 1))
        socks = []
        t0 = time.monotonic()
        try:
            for _ in range(170):
                socks.append(socket.create_connection(("127.0.0.1", self.d.port), timeout=5))
            time.sleep(1.0)
            # Idle connections beyond the limit make room for new ones; the first such event
            # is logged in full, the rest counted in summary lines. The summaries come once a
            # second (log_summary_interval = 1), so under a slow sanitizer the count may be
            # spread over several, and a second without one forgets the key (its next event is
            # logged in full again): wait until the count adds up.
            closed, counted = self.d.wait_counted(
                "idle connection closed to make room: max_connections reached", 170 - ev["using"])
            full = [e for e in closed if "repeats" not in e]
            self.assertLessEqual(len(full), 1 + int(time.monotonic() - t0), closed)
            self.assertGreaterEqual(counted, 170 - ev["using"], closed)
            failed = [e for e in self.d.log_events() if e.get("msg") == "accept failed"]
            self.assertEqual(failed, [])
        finally:
            for s in socks:
                s.close()
        time.sleep(0.5)
        self.assertEqual(raw_one(self.d, GET_HEALTHZ)[0], 200)


class ShutdownTest(unittest.TestCase):
    def setUp(self):
        self.d = h.Daemon()
        self.addCleanup(self.d.cleanup)

    def drain_with(self, first, rest):
        s = self.d.tls_socket()
        try:
            s.sendall(first)
            time.sleep(0.3)  # let the server buffer the partial request
            self.d.signal(signal.SIGTERM)
            self.d.wait_log("draining")
            time.sleep(0.5)
            self.assertTrue(self.d.running(), "attestd exited with a request in flight")
            s.sendall(rest)
            resps = h.parse_responses(h.read_until_eof(s))
        finally:
            s.close()
        self.assertEqual(len(resps), 1)
        status, headers, body = resps[0]
        self.assertEqual((status, body), (200, b'{"status":"ok"}'))
        self.assertEqual(headers["connection"], "close")
        self.d.proc.wait(timeout=15)
        self.assertEqual(self.d.stop(), 0)
        self.assertEqual(self.d.wait_log("stopped")[0]["connections_cut"], 0)

    def test_sigterm_waits_for_request_head_in_flight(self):
        self.drain_with(b"GET /healthz HTTP/1.1\r\nHost: a\r\n", b"\r\n")

    def test_sigterm_waits_for_request_body_in_flight(self):
        self.drain_with(b"GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nabc",
                        b"def")

    def test_sigterm_does_not_wait_for_idle_connections(self):
        conn = self.d.connection()
        try:
            self.assertEqual(self.d.request("GET", "/healthz", conn=conn)[0], 200)
            t0 = time.monotonic()
            self.d.signal(signal.SIGTERM)
            self.d.proc.wait(timeout=10)
            self.assertLess(time.monotonic() - t0, 5.0)
        finally:
            conn.close()
        self.assertEqual(self.d.stop(), 0)
        self.assertEqual(self.d.wait_log("stopped")[0]["connections_cut"], 0)


class CloseThenSigtermTest(unittest.TestCase):
    def test_sigterm_right_after_client_close(self):
        """A client closes its keep-alive connection and SIGTERM follows at once.

        Regression test: connections use deferred callbacks, so the EOF handling of the
        connection the client just closed may still be queued when the loop stops; the server
        must run that queue before freeing its event bases, or the bufferevent, its SSL object
        and buffers leak and LeakSanitizer turns the exit code into -6. The race hit about 8
        runs in 10 before the fix, hence four fresh daemons.
        """
        for attempt in range(4):
            d = h.Daemon()
            try:
                with d.tls_socket() as s:
                    s.sendall(GET_HEALTHZ)
                    with s.makefile("rb") as f:
                        self.assertEqual(h.read_response(f)[0], 200)
                d.signal(signal.SIGTERM)
                d.proc.wait(timeout=15)
                d.stop(settle=0)  # asserts exit code 0 and no LeakSanitizer report
            finally:
                d.kill()
                shutil.rmtree(d.tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
