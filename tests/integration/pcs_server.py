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

Test controls (not counted; https_standin.py, shared with kds_server.py):

  GET  /__stats      {"total": N, "by_path": {path: n}, "by_target": {path?query: n}}
  POST /__fail?status=429&count=K[&retry_after=N][&path=PREFIX][&delay=S]
                     the next K collateral requests (whose path starts with PREFIX, if given)
                     wait S seconds, then answer `status`, with Retry-After: N when given (a
                     number or an HTTP-date)
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
import json
import os
import re
import sys
import urllib.parse

from https_standin import (ChildServer, StandInHandler, TlsServer, add_common_args, make_tls,
                           openssl, serve, tls_context)

__all__ = ["PcsServer", "make_tls", "openssl"]

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


class Handler(StandInHandler):
    server_version = "pcs-test-server/1"

    def chain_header(self, name, pem):
        return {name: pct_encode(pem)} if pem else {}

    def crl_body(self, der, want_der):
        if self.server.crl_hex:
            return der.hex().encode("ascii"), "text/plain"
        if want_der:
            return der, "application/pkix-crl"
        return pem_from_der(der), "application/x-pem-file"

    def gate(self, url):
        if self.server.api_key is not None and \
                self.headers.get("Ocp-Apim-Subscription-Key") != self.server.api_key:
            self.send(401, b'{"error":"subscription key"}')
            return True
        return False

    # ---- collateral ----
    def serve(self, url):
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


class Server(TlsServer):
    def __init__(self, addr, ctx, fixtures, api_key, crl_hex, verbose):
        super().__init__(addr, Handler, ctx, verbose, "pcs_server")
        self.fixtures, self.api_key, self.crl_hex = fixtures, api_key, crl_hex


class PcsServer(ChildServer):
    """This server as a child process, for tests (https_standin.ChildServer): start() waits
    for its port line; stop() sends SIGTERM and expects exit code 0. TLS comes from a
    throwaway CA in DIR/tls (ca_file)."""

    script = os.path.abspath(__file__)
    name = "pcs_server"

    def __init__(self, directory, bundles=(), dirs=(), config=None, require_key=None,
                 crl_hex=False):
        args = []
        for b in bundles:
            args += ["--bundle", b]
        for d in dirs:
            args += ["--dir", d]
        if config:
            args += ["--config", config]
        if require_key:
            args += ["--require-key", require_key]
        if crl_hex:
            args.append("--crl-hex")
        super().__init__(directory, args)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bundle", action="append", default=[])
    ap.add_argument("--dir", action="append", default=[])
    ap.add_argument("--config")
    ap.add_argument("--require-key")
    ap.add_argument("--crl-hex", action="store_true", help="CRLs as hex text, like some PCCS")
    add_common_args(ap)
    a = ap.parse_args(argv)

    fx = Fixtures()
    for d in a.dir:
        fx.add_dir(d)
    if a.config:
        fx.add_config(a.config)
    for b in a.bundle:
        fx.add_bundle(b)

    ctx = tls_context(ap, a, "attestd test PCS CA")
    return serve(Server((a.host, a.port), ctx, fx, a.require_key, a.crl_hex, a.verbose))


if __name__ == "__main__":
    sys.exit(main())
