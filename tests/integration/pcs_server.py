#!/usr/bin/env python3
"""A small Intel PCS API v4 server for tests (docs/reference/intel-collateral.md §4.1): HTTPS, threaded, stdlib only.

It serves collateral fixtures on the paths of Intel's service (and of a PCCS):

  GET /{sgx,tdx}/certification/v4/tcb?fmspc=<12 hex>   {"tcbInfo":...,"signature":...}
                                                         + TCB-Info-Issuer-Chain
  GET /{sgx,tdx}/certification/v4/qe/identity           {"enclaveIdentity":...,"signature":...}
                                                         + SGX-Enclave-Identity-Issuer-Chain
  GET /sgx/certification/v4/pckcrl?ca=processor|platform[&encoding=der]
                                                         CRL (PEM unless encoding=der; hex text
                                                         with --crl-hex, as some PCCS do)
                                                         + SGX-PCK-CRL-Issuer-Chain
  GET /IntelSGXRootCA.der, /sgx/certification/v4/rootcacrl   Root CA CRL (DER; hex with --crl-hex)

Issuer-chain header values are the PEM percent-encoded like Intel's (every byte but the RFC 3986
unreserved ones). An unknown FMSPC, or an item with no fixture, answers 404.

Test controls (not counted):

  GET  /__stats      {"total": N, "by_path": {path: n}, "by_target": {path?query: n}}
  POST /__fail?status=429&count=K[&retry_after=N][&path=PREFIX]
                     the next K collateral requests (whose path starts with PREFIX, if given)
                     answer `status`, with Retry-After: N when given (a number or an HTTP-date)
  POST /__reset      counts and pending failures cleared

Fixtures come from any mix of:

  --bundle FILE      a dcap-qvl style bundle JSON (repeatable): tcb_info (text),
                     tcb_info_signature (hex), tcb_info_issuer_chain (PEM), the same for
                     qe_identity, pck_crl (hex DER) + pck_crl_issuer_chain, root_ca_crl (hex DER).
                     The PCS response is rebuilt as '{"tcbInfo":' + tcb_info + ',"signature":"'
                     + sig + '"}', so the signed span stays byte-exact. The TEE comes from the
                     documents' "id", the PCK CRL's CA from its issuer name.
  --dir DIR          files named: tcb_<fmspc>.json / tdx_tcb_<fmspc>.json (raw responses),
                     qe_identity.json / tdx_qe_identity.json, pckcrl_processor.der,
                     pckcrl_platform.der, rootcrl.der, and chains tcb_chain.pem,
                     qe_chain.pem, pck_crl_chain_processor.pem, pck_crl_chain_platform.pem
                     (missing chains: no header).
  --config FILE      JSON: {"tcb_info": [{"tee": "sgx", "fmspc": "...", "response": PATH,
                     "chain": PATH}], "qe_identity": [{"tee", "response", "chain"}],
                     "pck_crl": [{"ca", "crl", "chain"}], "root_crl": PATH}; paths relative to it.

TLS: --cert/--key (PEM), or --tls-dir DIR to make a throwaway CA (DIR/ca.pem, for the client)
and a certificate for 127.0.0.1 with the openssl command line. --port 0 picks a free port.
The first line on stdout is the port number; SIGTERM stops the server with exit code 0.
--require-key KEY answers 401 unless Ocp-Apim-Subscription-Key is KEY.

From a test, PcsServer (below) runs this file as a child process:

    pcs = PcsServer(tmpdir, bundles=[...]).start()   # pcs.base_url, pcs.ca_file
    pcs.fail(429, count=2, retry_after=30); pcs.stats()["by_path"]; pcs.stop()
"""
import argparse
import binascii
import http.client
import http.server
import json
import os
import re
import select
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse

FMSPC_RE = re.compile(r"^[0-9a-fA-F]{12}$")


def pct_encode(pem):
    """Percent-encode like Intel's PCS: every byte but A-Z a-z 0-9 - . _ ~."""
    return urllib.parse.quote(pem, safe="")


def read(path, mode="rb"):
    with open(path, mode) as f:
        return f.read()


def pem_from_der(der, label="X509 CRL"):
    b64 = binascii.b2a_base64(der, newline=False).decode("ascii")
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return ("-----BEGIN %s-----\n%s\n-----END %s-----\n" % (label, "\n".join(lines), label)).encode()


class Fixtures:
    """What the server knows: responses and chains per item."""

    def __init__(self):
        self.tcb = {}       # (tee, fmspc lower) -> (body bytes, chain str or None)
        self.qe = {}        # tee -> (body bytes, chain str or None)
        self.pck_crl = {}   # "processor" | "platform" -> (der bytes, chain str or None)
        self.root_crl = None

    # ---- bundles ----
    def add_bundle(self, path):
        with open(path, encoding="utf-8") as f:
            b = json.load(f)
        if "tcb_info" in b:
            doc = json.loads(b["tcb_info"])
            tee = "tdx" if doc.get("id") == "TDX" else "sgx"
            body = ('{"tcbInfo":' + b["tcb_info"] + ',"signature":"' + b["tcb_info_signature"] +
                    '"}').encode("utf-8")
            self.tcb[(tee, doc["fmspc"].lower())] = (body, b.get("tcb_info_issuer_chain"))
        if "qe_identity" in b:
            doc = json.loads(b["qe_identity"])
            if doc.get("id") in ("QE", "TD_QE"):
                tee = "tdx" if doc["id"] == "TD_QE" else "sgx"
                body = ('{"enclaveIdentity":' + b["qe_identity"] + ',"signature":"' +
                        b["qe_identity_signature"] + '"}').encode("utf-8")
                self.qe[tee] = (body, b.get("qe_identity_issuer_chain"))
        if "pck_crl" in b:
            der = bytes.fromhex(b["pck_crl"])
            ca = "platform" if b"Platform CA" in der else "processor"
            self.pck_crl[ca] = (der, b.get("pck_crl_issuer_chain"))
        if "root_ca_crl" in b:
            self.root_crl = bytes.fromhex(b["root_ca_crl"])

    # ---- a directory ----
    def add_dir(self, d):
        def chain(name):
            p = os.path.join(d, name)
            return read(p, "r") if os.path.exists(p) else None

        for name in sorted(os.listdir(d)):
            m = re.match(r"^(tdx_)?tcb_([0-9a-fA-F]{12})\.json$", name)
            if m:
                tee = "tdx" if m.group(1) else "sgx"
                self.tcb[(tee, m.group(2).lower())] = (read(os.path.join(d, name)),
                                                       chain("tcb_chain.pem"))
        for tee, name in (("sgx", "qe_identity.json"), ("tdx", "tdx_qe_identity.json")):
            if os.path.exists(os.path.join(d, name)):
                self.qe[tee] = (read(os.path.join(d, name)), chain("qe_chain.pem"))
        for ca in ("processor", "platform"):
            p = os.path.join(d, "pckcrl_%s.der" % ca)
            if os.path.exists(p):
                self.pck_crl[ca] = (read(p), chain("pck_crl_chain_%s.pem" % ca))
        if os.path.exists(os.path.join(d, "rootcrl.der")):
            self.root_crl = read(os.path.join(d, "rootcrl.der"))

    # ---- a config file ----
    def add_config(self, path):
        base = os.path.dirname(os.path.abspath(path))
        with open(path, encoding="utf-8") as f:
            cfg = json.load(f)

        def at(p):
            return os.path.join(base, p)

        def chain(e):
            return read(at(e["chain"]), "r") if e.get("chain") else None

        for e in cfg.get("tcb_info", []):
            self.tcb[(e.get("tee", "sgx"), e["fmspc"].lower())] = (read(at(e["response"])),
                                                                   chain(e))
        for e in cfg.get("qe_identity", []):
            self.qe[e.get("tee", "sgx")] = (read(at(e["response"])), chain(e))
        for e in cfg.get("pck_crl", []):
            self.pck_crl[e["ca"]] = (read(at(e["crl"])), chain(e))
        if cfg.get("root_crl"):
            self.root_crl = read(at(cfg["root_crl"]))


class State:
    """Request counts and pending failures, shared by the handler threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.by_path = {}
        self.by_target = {}
        self.total = 0
        self.fail = None  # dict(status, count, retry_after, path)

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


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pcs-test-server/1"

    def log_message(self, fmt, *args):  # quiet unless asked
        if self.server.verbose:
            sys.stderr.write("pcs_server: " + (fmt % args) + "\n")

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

    def chain_header(self, name, pem):
        return {name: pct_encode(pem)} if pem else {}

    def crl_body(self, der, want_der):
        if self.server.crl_hex:
            return der.hex().encode("ascii"), "text/plain"
        if want_der:
            return der, "application/pkix-crl"
        return pem_from_der(der), "application/x-pem-file"

    # ---- controls ----
    def control(self, url):
        q = urllib.parse.parse_qs(url.query)
        st = self.server.state
        if self.command == "GET" and url.path == "/__stats":
            return self.send(200, json.dumps(st.stats()).encode())
        if self.command == "POST" and url.path == "/__fail":
            try:
                status = int(q.get("status", ["429"])[0])
                count = int(q.get("count", ["1"])[0])
            except ValueError:
                return self.send(400, b'{"error":"status and count are numbers"}')
            with st.lock:
                st.fail = {"status": status, "count": count,
                           "retry_after": q.get("retry_after", [None])[0],
                           "path": q.get("path", [""])[0],
                           "delay": float(q.get("delay", ["0"])[0])}
            return self.send(200, b'{"ok":true}')
        if self.command == "POST" and url.path == "/__reset":
            st.reset()
            return self.send(200, b'{"ok":true}')
        return self.send(404, b'{"error":"unknown control"}')

    # ---- collateral ----
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path.startswith("/__"):
            return self.control(url)
        st = self.server.state
        st.count(url.path, self.path)
        if self.server.api_key is not None and \
                self.headers.get("Ocp-Apim-Subscription-Key") != self.server.api_key:
            return self.send(401, b'{"error":"subscription key"}')
        f = st.take_failure(url.path)
        if f is not None:
            time.sleep(f["delay"])  # a server that hangs before it fails
            h = {"Retry-After": f["retry_after"]} if f["retry_after"] is not None else {}
            return self.send(f["status"], b'{"error":"injected"}', h)

        q = urllib.parse.parse_qs(url.query)
        fx = self.server.fixtures
        m = re.match(r"^/(sgx|tdx)/certification/v4/(tcb|qe/identity)$", url.path)
        if m and m.group(2) == "tcb":
            fmspc = q.get("fmspc", [""])[0]
            if not FMSPC_RE.match(fmspc):
                return self.send(400, b'{"error":"fmspc"}')
            item = fx.tcb.get((m.group(1), fmspc.lower()))
            if item is None:
                return self.send(404, b"")
            return self.send(200, item[0], self.chain_header("TCB-Info-Issuer-Chain", item[1]))
        if m:
            item = fx.qe.get(m.group(1))
            if item is None:
                return self.send(404, b"")
            return self.send(200, item[0],
                             self.chain_header("SGX-Enclave-Identity-Issuer-Chain", item[1]))
        if url.path == "/sgx/certification/v4/pckcrl":
            ca = q.get("ca", [""])[0].lower()
            if ca not in ("processor", "platform"):
                return self.send(400, b'{"error":"ca"}')
            item = fx.pck_crl.get(ca)
            if item is None:
                return self.send(404, b"")
            body, ctype = self.crl_body(item[0], q.get("encoding", [""])[0] == "der")
            return self.send(200, body, self.chain_header("SGX-PCK-CRL-Issuer-Chain", item[1]),
                             ctype)
        if url.path in ("/IntelSGXRootCA.der", "/sgx/certification/v4/rootcacrl"):
            if fx.root_crl is None:
                return self.send(404, b"")
            body, ctype = self.crl_body(fx.root_crl, True)
            return self.send(200, body, None, ctype)
        return self.send(404, b"")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > 0:
            self.rfile.read(min(n, 65536))
        url = urllib.parse.urlsplit(self.path)
        if url.path.startswith("/__"):
            return self.control(url)
        return self.send(405, b"")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, ctx, fixtures, api_key, crl_hex, verbose):
        super().__init__(addr, Handler)
        self.ctx, self.fixtures, self.api_key = ctx, fixtures, api_key
        self.crl_hex, self.verbose = crl_hex, verbose
        self.state = State()

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the connection's own thread, not in accept().
        try:
            tls = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            if self.verbose:
                sys.stderr.write("pcs_server: TLS handshake failed: %s\n" % e)
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


class PcsServer:
    """This server as a child process, for tests: start() waits for its port line; stop() sends
    SIGTERM and expects exit code 0. TLS comes from a throwaway CA in DIR/tls (ca_file)."""

    def __init__(self, directory, bundles=(), dirs=(), config=None, require_key=None,
                 crl_hex=False):
        self.directory = directory
        self.args = []
        for b in bundles:
            self.args += ["--bundle", b]
        for d in dirs:
            self.args += ["--dir", d]
        if config:
            self.args += ["--config", config]
        if require_key:
            self.args += ["--require-key", require_key]
        if crl_hex:
            self.args.append("--crl-hex")
        self.tls_dir = os.path.join(directory, "tls")
        self.ca_file = os.path.join(self.tls_dir, "ca.pem")
        self.proc = None
        self.port = None
        self.base_url = None
        self.stderr_path = os.path.join(directory, "pcs_server.log")

    def start(self, timeout=30.0):
        assert self.proc is None, "already running"
        with open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "--tls-dir", self.tls_dir,
                 "--port", "0"] + self.args,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
        deadline = time.monotonic() + timeout
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            ready = select.select([self.proc.stdout], [], [], max(left, 0))[0] if left > 0 else []
            chunk = os.read(self.proc.stdout.fileno(), 64) if ready else b""
            if not chunk:
                self.kill()
                raise AssertionError("pcs_server.py did not start:\n" + self.logs())
            line += chunk
        self.port = int(line)
        self.base_url = "https://127.0.0.1:%d" % self.port
        return self

    def logs(self):
        if not os.path.exists(self.stderr_path):
            return ""
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def _request(self, method, path):
        ctx = ssl.create_default_context(cafile=self.ca_file)
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=15)
        try:
            conn.request(method, path)
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                raise AssertionError("pcs_server.py %s %s: %d" % (method, path, r.status))
            return json.loads(body)
        finally:
            conn.close()

    def stats(self):
        """{"total": N, "by_path": {...}, "by_target": {...}}"""
        return self._request("GET", "/__stats")

    def fail(self, status=429, count=1, retry_after=None, path=None, delay=0):
        q = {"status": status, "count": count, "delay": delay}
        if retry_after is not None:
            q["retry_after"] = retry_after
        if path is not None:
            q["path"] = path
        return self._request("POST", "/__fail?" + urllib.parse.urlencode(q))

    def reset(self):
        return self._request("POST", "/__reset")

    def stop(self, timeout=15.0):
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("pcs_server.py ignored SIGTERM")
        self.proc.stdout.close()
        self.proc = None
        if rc != 0:
            raise AssertionError("pcs_server.py exited with %d:\n%s" % (rc, self.logs()))
        return rc

    def kill(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc.stdout.close()
            self.proc = None


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, timeout=60)


def make_tls(d):
    """A throwaway CA (d/ca.pem) and a server certificate for 127.0.0.1 (d/server.{pem,key})."""
    os.makedirs(d, exist_ok=True)
    ca, ca_key = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
    cert, key = os.path.join(d, "server.pem"), os.path.join(d, "server.key")
    csr, ext = os.path.join(d, "server.csr"), os.path.join(d, "server.ext")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-sha256", "-days", "2", "-keyout", ca_key, "-out", ca,
            "-subj", "/CN=attestd test PCS CA",
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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bundle", action="append", default=[])
    ap.add_argument("--dir", action="append", default=[])
    ap.add_argument("--config")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--tls-dir")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--require-key")
    ap.add_argument("--crl-hex", action="store_true", help="CRLs as hex text, like some PCCS")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args(argv)

    fx = Fixtures()
    for d in a.dir:
        fx.add_dir(d)
    if a.config:
        fx.add_config(a.config)
    for b in a.bundle:
        fx.add_bundle(b)

    if a.tls_dir:
        cert, key = make_tls(a.tls_dir)
    elif a.cert and a.key:
        cert, key = a.cert, a.key
    else:
        ap.error("--cert and --key, or --tls-dir, are required")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)

    srv = Server((a.host, a.port), ctx, fx, a.require_key, a.crl_hex, a.verbose)

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


if __name__ == "__main__":
    sys.exit(main())
