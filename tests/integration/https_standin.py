"""What the HTTPS stand-ins of upstream services have in common (stdlib only): pcs_server.py
(Intel PCS) and kds_server.py (AMD KDS) are built from these pieces.

  make_tls(dir)       a throwaway CA (dir/ca.pem, for the client) and a certificate for
                      127.0.0.1, made with the openssl command line
  State               request counts and pending injected failures, shared by the threads
  StandInHandler      the test controls (GET /__stats, POST /__fail, POST /__reset), request
                      counting and failure injection; a subclass answers the service's own
                      requests in serve(url) and may refuse one first in gate(url)
  TlsServer           a threaded server doing each TLS handshake in the connection's thread
  add_common_args, tls_context, serve
                      --cert/--key or --tls-dir, --host, --port (0: any free port), --verbose;
                      the first line on stdout is the port; SIGTERM or SIGINT exits with 0
  ChildServer         a stand-in run as a child process by a test (start, stats, fail, reset,
                      stop)

Test controls (not counted as requests):

  GET  /__stats      {"total": N, "by_path": {path: n}, "by_target": {path?query: n}, ...}
  POST /__fail?status=429&count=K[&retry_after=N][&path=PREFIX][&delay=S]
                     the next K requests (whose path starts with PREFIX, if given) wait S
                     seconds, then answer `status`, with Retry-After: N when given (a number or
                     an HTTP-date)
  POST /__reset      counts and pending failures cleared
"""
import http.client
import http.server
import json
import os
import select
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, timeout=60)


def make_tls(d, ca_name="attestd test CA"):
    """A throwaway CA (d/ca.pem) and a server certificate for 127.0.0.1 (d/server.{pem,key})."""
    os.makedirs(d, exist_ok=True)
    ca, ca_key = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
    cert, key = os.path.join(d, "server.pem"), os.path.join(d, "server.key")
    csr, ext = os.path.join(d, "server.csr"), os.path.join(d, "server.ext")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-sha256", "-days", "2", "-keyout", ca_key, "-out", ca,
            "-subj", "/CN=" + ca_name,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-sha256", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    with open(ext, "w", encoding="utf-8") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
            "-days", "2", "-sha256", "-extfile", ext, "-out", cert)
    return cert, key


class State:
    """Request counts and pending failures, shared by the handler threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.by_path = {}
        self.by_target = {}
        self.total = 0
        self.fail = None  # dict(status, count, retry_after, path, delay)

    def count(self, path, target):
        with self.lock:
            self.total += 1
            self.by_path[path] = self.by_path.get(path, 0) + 1
            self.by_target[target] = self.by_target.get(target, 0) + 1

    def take_failure(self, path):
        with self.lock:
            f = self.fail
            if f is None or f["count"] <= 0 or not path.startswith(f["path"]):
                return None
            f["count"] -= 1
            if f["count"] == 0:
                self.fail = None
            return dict(f)

    def stats(self):
        with self.lock:
            return {"total": self.total, "by_path": dict(self.by_path),
                    "by_target": dict(self.by_target)}

    def reset(self):
        with self.lock:
            self.by_path, self.by_target, self.total, self.fail = {}, {}, 0, None


class StandInHandler(http.server.BaseHTTPRequestHandler):
    """Controls, counting and injected failures; subclasses implement serve(url)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet unless asked
        if self.server.verbose:
            sys.stderr.write("%s: %s\n" % (self.server.name, fmt % args))

    def send(self, status, body=b"", headers=None, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Request-ID", "%032x" % self.server.state.total)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def gate(self, url):
        """Refuse the request before anything else (True once answered)."""
        return False

    def serve(self, url):
        raise NotImplementedError

    def control(self, url):
        q = urllib.parse.parse_qs(url.query)
        st = self.server.state
        if self.command == "GET" and url.path == "/__stats":
            return self.send(200, json.dumps(self.server.stats()).encode())
        if self.command == "POST" and url.path == "/__fail":
            try:
                status = int(q.get("status", ["429"])[0])
                count = int(q.get("count", ["1"])[0])
                delay = float(q.get("delay", ["0"])[0])
            except ValueError:
                return self.send(400, b'{"error":"status, count and delay are numbers"}')
            with st.lock:
                st.fail = {"status": status, "count": count,
                           "retry_after": q.get("retry_after", [None])[0],
                           "path": q.get("path", [""])[0], "delay": delay}
            return self.send(200, b'{"ok":true}')
        if self.command == "POST" and url.path == "/__reset":
            self.server.reset()
            return self.send(200, b'{"ok":true}')
        return self.send(404, b'{"error":"unknown control"}')

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path.startswith("/__"):
            return self.control(url)
        st = self.server.state
        st.count(url.path, self.path)
        if self.gate(url):
            return None
        f = st.take_failure(url.path)
        if f is not None:
            time.sleep(f["delay"])  # a server that hangs before it fails
            h = {"Retry-After": f["retry_after"]} if f["retry_after"] is not None else {}
            return self.send(f["status"], b'{"error":"injected"}', h)
        return self.serve(url)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > 0:
            self.rfile.read(min(n, 65536))
        url = urllib.parse.urlsplit(self.path)
        if url.path.startswith("/__"):
            return self.control(url)
        return self.send(405, b"")


class TlsServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, handler, ctx, verbose, name):
        super().__init__(addr, handler)
        self.ctx, self.verbose, self.name = ctx, verbose, name
        self.state = State()

    def stats(self):
        return self.state.stats()

    def reset(self):
        self.state.reset()

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the connection's own thread, not in accept().
        try:
            tls = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            if self.verbose:
                sys.stderr.write("%s: TLS handshake failed: %s\n" % (self.name, e))
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)


def add_common_args(ap):
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--tls-dir")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--verbose", action="store_true")


def tls_context(ap, a, ca_name):
    """The server's TLS context from --tls-dir (a new CA named ca_name) or --cert/--key."""
    if a.tls_dir:
        cert, key = make_tls(a.tls_dir, ca_name)
    elif a.cert and a.key:
        cert, key = a.cert, a.key
    else:
        ap.error("--cert and --key, or --tls-dir, are required")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx


def serve(srv):
    """Print the port, serve until SIGTERM or SIGINT, return 0."""
    def stop(*_):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.stdout.write("%d\n" % srv.server_address[1])
    sys.stdout.flush()
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        srv.server_close()
    return 0


class ChildServer:
    """A stand-in as a child process, for tests: start() waits for its port line; stop() sends
    SIGTERM and expects exit code 0. TLS comes from a throwaway CA in DIR/tls (ca_file).
    Subclasses set `script` (the stand-in's file) and `name`, and pass its arguments."""

    script = None
    name = "standin"

    def __init__(self, directory, args):
        self.directory = directory
        self.args = list(args)
        self.tls_dir = os.path.join(directory, "tls")
        self.ca_file = os.path.join(self.tls_dir, "ca.pem")
        self.proc = None
        self.port = None
        self.base_url = None
        self.stderr_path = os.path.join(directory, self.name + ".log")

    def start(self, timeout=30.0):
        assert self.proc is None, "already running"
        with open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, self.script, "--tls-dir", self.tls_dir, "--port", "0"] +
                self.args,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
        deadline = time.monotonic() + timeout
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            ready = select.select([self.proc.stdout], [], [], max(left, 0))[0] if left > 0 else []
            chunk = os.read(self.proc.stdout.fileno(), 64) if ready else b""
            if not chunk:
                self.kill()
                raise AssertionError("%s.py did not start:\n%s" % (self.name, self.logs()))
            line += chunk
        self.port = int(line)
        self.base_url = "https://127.0.0.1:%d" % self.port
        return self

    def logs(self):
        if not os.path.exists(self.stderr_path):
            return ""
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def request(self, method, path):
        """(status, headers, body) of one request, over TLS checked against ca_file."""
        ctx = ssl.create_default_context(cafile=self.ca_file)
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=15)
        try:
            conn.request(method, path)
            r = conn.getresponse()
            return r.status, r.headers, r.read()
        finally:
            conn.close()

    def _control(self, method, path):
        status, _, body = self.request(method, path)
        if status != 200:
            raise AssertionError("%s.py %s %s: %d" % (self.name, method, path, status))
        return json.loads(body)

    def stats(self):
        """{"total": N, "by_path": {...}, "by_target": {...}, ...}"""
        return self._control("GET", "/__stats")

    def fail(self, status=429, count=1, retry_after=None, path=None, delay=0):
        q = {"status": status, "count": count, "delay": delay}
        if retry_after is not None:
            q["retry_after"] = retry_after
        if path is not None:
            q["path"] = path
        return self._control("POST", "/__fail?" + urllib.parse.urlencode(q))

    def reset(self):
        return self._control("POST", "/__reset")

    def stop(self, timeout=15.0):
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("%s.py ignored SIGTERM" % self.name)
        self.proc.stdout.close()
        self.proc = None
        if rc != 0:
            raise AssertionError("%s.py exited with %d:\n%s" % (self.name, rc, self.logs()))
        return rc

    def kill(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc.stdout.close()
            self.proc = None
