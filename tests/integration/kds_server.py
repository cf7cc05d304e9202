#!/usr/bin/env python3
"""A small AMD KDS stand-in for tests (docs/reference/amd-sev-snp.md §6.7): HTTPS, threaded, stdlib only.

It serves fixtures on the paths of AMD's service (https://kdsintf.amd.com):

  GET /vcek/v1/{Milan,Genoa,Turin}/{hwid}?blSPL=B&teeSPL=T&snpSPL=S&ucodeSPL=U[&fmcSPL=F]
                                          the VCEK, DER (application/pkix-cert)
  GET /{vcek,vlek}/v1/{product}/cert_chain   ASK (or ASVK) then ARK, PEM (application/x-pem-file)
  GET /{vcek,vlek}/v1/{product}/crl          the ARK's CRL, DER (application/pkix-crl)

Anything it has no fixture for, an unknown product or path, and a VCEK asked for under /vlek
(which nobody can download) answer 404. A malformed VCEK request answers 400: hwid not the
lower-case hex of the product's hardware ID (64 bytes; 8 on Turin), or an SPL that is missing,
repeated, not a decimal 0-255, or not the product's (fmcSPL is Turin's only). That is stricter
than AMD's service, which takes a missing SPL as 0: a client that leaves one out is caught.

Fixtures: --config FILE (repeatable), JSON mapping request paths, with the query for a VCEK,
to files relative to FILE; the order of the query's parameters does not matter:

  {"/vcek/v1/Milan/<128 hex>?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115": "vcek_milan.der",
   "/vcek/v1/Milan/cert_chain": "cert_chain_milan.pem", "/vcek/v1/Milan/crl": "crl.der"}

--dir DIR (repeatable) is --config DIR/kds.json. tests/fixtures/snp/kds holds such a set.

--rate-limit N/s (or N/m): beyond N requests in any second (minute), answer 429 with
Retry-After: the seconds until the window has room again, the way the KDS throttles a client
that asks too often. Refused requests are counted in /__stats ("rate_limited") and not in the
window. Test controls (/__stats, /__fail with status, count, retry_after, path and delay,
/__reset, which also empties the window): https_standin.py, shared with pcs_server.py.

TLS: --cert/--key (PEM), or --tls-dir DIR to make a throwaway CA (DIR/ca.pem, for the client)
and a certificate for 127.0.0.1. --port 0 picks a free port. The first line on stdout is the
port number; SIGTERM stops the server with exit code 0.

From a test, KdsServer (below) runs this file as a child process:

    kds = KdsServer(tmpdir, dirs=[fixtures], rate_limit="5/s").start()  # kds.base_url, ca_file
    kds.fail(429, count=2, retry_after=30); kds.stats()["by_path"]; kds.stop()
"""
import argparse
import collections
import json
import math
import os
import re
import sys
import threading
import time
import urllib.parse

from https_standin import (ChildServer, StandInHandler, TlsServer, add_common_args, serve,
                           tls_context)

# §6.7: product names and the hardware ID's length in bytes (§6.1: Turin uses 8 of CHIP_ID).
PRODUCTS = {"Milan": 64, "Genoa": 64, "Turin": 8}
SPLS = ("blSPL", "teeSPL", "snpSPL", "ucodeSPL")
SPL_RE = re.compile(r"^[0-9]{1,3}$")
PATH_RE = re.compile(r"^/(vcek|vlek)/v1/([^/]+)/([^/]+)$")
CTYPES = {"vcek": "application/pkix-cert", "cert_chain": "application/x-pem-file",
          "crl": "application/pkix-crl"}


class BadRequest(Exception):
    pass


def item_key(path, query):
    """The fixture key of a request: ("cert_chain" | "crl", kind, product) or ("vcek", product,
    hwid, sorted SPLs); None for a path the KDS does not serve. BadRequest for a malformed VCEK
    request."""
    m = PATH_RE.match(path)
    if not m or m.group(2) not in PRODUCTS:
        return None
    kind, product, last = m.groups()
    if last in ("cert_chain", "crl"):
        return (last, kind, product)
    if kind != "vcek":
        return None
    if not re.fullmatch("[0-9a-f]{%d}" % (2 * PRODUCTS[product]), last):
        raise BadRequest("hwid: %d lower-case hex digits" % (2 * PRODUCTS[product]))
    try:
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise BadRequest("query") from None
    want = SPLS + (("fmcSPL",) if product == "Turin" else ())
    spl = {}
    for name, value in pairs:
        if name not in want or name in spl or not SPL_RE.match(value) or int(value) > 255:
            raise BadRequest("parameter %s" % name)
        spl[name] = int(value)
    if len(spl) != len(want):
        raise BadRequest("missing: %s" % ", ".join(n for n in want if n not in spl))
    return ("vcek", product, last, tuple(sorted(spl.items())))


def load_config(path, items):
    base = os.path.dirname(os.path.abspath(path))
    with open(path, encoding="utf-8") as f:
        cfg = json.load(f)
    for target, name in cfg.items():
        url = urllib.parse.urlsplit(target)
        key = item_key(url.path, url.query)  # BadRequest: the file is wrong
        if key is None:
            raise ValueError("%s: the KDS has no such path: %s" % (path, target))
        with open(os.path.join(base, name), "rb") as f:
            items[key] = f.read()


class RateLimiter:
    """At most n requests in any `window` seconds."""

    def __init__(self, n, window):
        self.n, self.window = n, window
        self.lock = threading.Lock()
        self.times = collections.deque()

    def admit(self, now):
        """0 when the request may go on, else the seconds to wait (at least 1)."""
        with self.lock:
            while self.times and self.times[0] <= now - self.window:
                self.times.popleft()
            if len(self.times) >= self.n:
                return max(1, math.ceil(self.times[0] + self.window - now))
            self.times.append(now)
            return 0

    def reset(self):
        with self.lock:
            self.times.clear()


def rate_limit(text):
    m = re.fullmatch(r"([1-9][0-9]*)/([sm])", text)
    if not m:
        raise argparse.ArgumentTypeError("N/s or N/m")
    return RateLimiter(int(m.group(1)), 1.0 if m.group(2) == "s" else 60.0)


class Handler(StandInHandler):
    server_version = "kds-test-server/1"

    def gate(self, url):
        srv = self.server
        wait = srv.limiter.admit(time.monotonic()) if srv.limiter else 0
        if wait == 0:
            return False
        with srv.state.lock:
            srv.limited += 1
        self.send(429, b"Too Many Requests", {"Retry-After": str(wait)}, "text/plain")
        return True

    def serve(self, url):
        try:
            key = item_key(url.path, url.query)
        except BadRequest as e:
            return self.send(400, str(e).encode(), None, "text/plain")
        body = self.server.items.get(key) if key else None
        if body is None:
            return self.send(404, b"Not Found", None, "text/plain")
        return self.send(200, body, None, CTYPES[key[0]])


class Server(TlsServer):
    def __init__(self, addr, ctx, items, limiter, verbose):
        super().__init__(addr, Handler, ctx, verbose, "kds_server")
        self.items, self.limiter, self.limited = items, limiter, 0

    def stats(self):
        s = self.state.stats()
        with self.state.lock:
            s["rate_limited"] = self.limited
        return s

    def reset(self):
        self.state.reset()
        with self.state.lock:
            self.limited = 0
        if self.limiter:
            self.limiter.reset()


class KdsServer(ChildServer):
    """This server as a child process, for tests (https_standin.ChildServer)."""

    script = os.path.abspath(__file__)
    name = "kds_server"

    def __init__(self, directory, dirs=(), configs=(), rate_limit=None):
        args = []
        for d in dirs:
            args += ["--dir", d]
        for c in configs:
            args += ["--config", c]
        if rate_limit:
            args += ["--rate-limit", rate_limit]
        super().__init__(directory, args)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", action="append", default=[])
    ap.add_argument("--config", action="append", default=[])
    ap.add_argument("--rate-limit", type=rate_limit, help="N/s or N/m")
    add_common_args(ap)
    a = ap.parse_args(argv)

    items = {}
    try:
        for path in [os.path.join(d, "kds.json") for d in a.dir] + a.config:
            load_config(path, items)
    except (OSError, ValueError, BadRequest) as e:
        ap.error("fixtures: %s" % e)
    ctx = tls_context(ap, a, "attestd test KDS CA")
    return serve(Server((a.host, a.port), ctx, items, a.rate_limit, a.verbose))


if __name__ == "__main__":
    sys.exit(main())
