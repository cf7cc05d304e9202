"""Black-box test harness for attestd: start the real daemon, talk HTTPS to it, check JWS.

Everything here uses the Python standard library and the `openssl` command line only.
The build directory comes from ATTESTD_BUILD (set by tests/run_tests.py); it defaults to
build-asan in the repository.

Daemon life: Daemon(config=...) makes a temporary data dir (scripts/dev-setup.sh: CA, server
certificate, KEK), writes a config file, starts `attestd`, and waits for "attestd ready".
stop() sends SIGTERM and asserts exit code 0 and a sanitizer-clean stderr; cleanup() also removes
the data dir. Always stop daemons you start (setUpClass/tearDownClass or addCleanup).
"""
import base64
import json
import os
import re
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import http.client

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.abspath(os.environ.get("ATTESTD_BUILD") or os.path.join(ROOT, "build-asan"))
ATTESTD = os.path.join(BUILD, "attestd")
ATTESTCTL = os.path.join(BUILD, "attestctl")
DEV_SETUP = os.path.join(ROOT, "scripts", "dev-setup.sh")
JS_DIR = os.path.join(ROOT, "tests", "integration", "js")
# The Node.js the setup installs (Debian's nodejs, scripts/deps.sh), not whichever `node` the
# PATH finds first. ATTESTD_TEST_NODE names another one, to check the scripts against it.
NODE = os.environ.get("ATTESTD_TEST_NODE") or "/usr/bin/node"

SAN_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
    "TSAN_OPTIONS": "halt_on_error=1:second_deadlock_stack=1",
}
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer",
                     "ERROR: UndefinedBehaviorSanitizer", "WARNING: ThreadSanitizer")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 45.0


def project_version():
    with open(os.path.join(ROOT, "meson.build"), encoding="utf-8") as f:
        m = re.search(r"version\s*:\s*'([^']+)'", f.read())
    return m.group(1)


def san_env(extra=None):
    env = dict(os.environ)
    env.pop("ATTESTD_KEK", None)  # the daemon prefers this variable over kek_file
    env.update(SAN_ENV)
    if extra:
        env.update(extra)
    return env


def sanitizer_problems(text):
    """The sanitizer report markers found in `text` (empty list when clean)."""
    return [m for m in SANITIZER_MARKERS if m in text]


def free_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def new_data_dir():
    """A fresh temporary data dir prepared by scripts/dev-setup.sh."""
    d = tempfile.mkdtemp(prefix="attestd-it-")
    data = os.path.join(d, "data")
    subprocess.run([DEV_SETUP, data, ATTESTCTL], check=True, env=san_env(),
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    return d, data


def run_attestd(args, timeout=60):
    """Run attestd to completion (for start-up failures, --help, --version)."""
    proc = subprocess.run([ATTESTD] + list(args), env=san_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout)
    return proc


def startup_failure(proc):
    """"STEP: DETAIL" of the "cannot start" line of a failed start; every line on stderr must
    be one JSON object (the log is one JSON stream when it goes to stderr)."""
    failure = None
    for line in proc.stderr.splitlines():
        if not line.strip():
            continue
        bad = sanitizer_problems(line)
        if bad:
            continue  # the sanitizer's own report; assert_clean-style checks catch it
        try:
            doc = json.loads(line)
        except ValueError:
            raise AssertionError(f"a line on stderr that is not JSON: {line!r}") from None
        if doc.get("msg") == "cannot start":
            failure = f"{doc['step']}: {doc['detail']}"
    if failure is None:
        raise AssertionError(f"no 'cannot start' line:\n{proc.stderr}")
    return failure


class Daemon:
    """One attestd process with its own data directory.

    config: extra config file text (lines "key = value"); the harness appends one
            "listen = ADDR" line per listen address so attestctl (same --config) derives the
            same public_url as the daemon.
    listen: list of addresses; default ["127.0.0.1:<free port>"].
    """

    def __init__(self, config="", listen=None, start=True, data=None, nofile=None, env=None):
        if data is None:
            self.tmp, self.data = new_data_dir()
        else:
            self.tmp, self.data = data
        self.port = free_port()
        self.listen = listen if listen is not None else [f"127.0.0.1:{self.port}"]
        if listen is not None:
            self.port = int(listen[0].rsplit(":", 1)[1])
        self.config_path = os.path.join(self.tmp, "attestd.conf")
        self.write_config(config)
        self.ca = os.path.join(self.data, "tls", "ca.pem")
        self.nofile = nofile  # RLIMIT_NOFILE (soft = hard) for the daemon, or None
        self.env = env  # extra environment of the daemon (e.g. ATTESTD_TEST_VERIFY_TIME)
        self.proc = None
        self.stderr_path = None
        self.returncode = None
        self._runs = 0
        if start:
            try:
                self.start()
            except BaseException:
                shutil.rmtree(self.tmp, ignore_errors=True)
                raise

    # ---- configuration and process ----

    def write_config(self, config=""):
        text = config.strip("\n")
        lines = [text] if text else []
        lines += [f"listen = {a}" for a in self.listen]
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")

    @property
    def base_url(self):
        return f"https://127.0.0.1:{self.port}"

    def start(self, timeout=START_TIMEOUT):
        assert self.proc is None, "already running"
        self._runs += 1
        self.stderr_path = os.path.join(self.tmp, f"stderr.{self._runs}.log")
        args = [ATTESTD, "--config", self.config_path, "--data-dir", self.data]
        for a in self.listen:
            args += ["--listen", a]
        self._stderr_file = open(self.stderr_path, "wb")
        limit = None
        if self.nofile is not None:
            n = self.nofile
            limit = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))  # noqa: E731
        self.proc = subprocess.Popen(args, env=san_env(self.env), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self._stderr_file,
                                     preexec_fn=limit)
        self.returncode = None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if '"msg":"attestd ready"' in self.logs():
                return
            if self.proc.poll() is not None:
                self._reap()
                raise RuntimeError(f"attestd exited with {self.returncode} during start-up:\n"
                                   f"{self.logs()}")
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"attestd not ready within {timeout}s:\n{self.logs()}")

    def _reap(self):
        self.returncode = self.proc.wait()
        self._stderr_file.close()
        self.proc = None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def logs(self):
        if self.stderr_path is None or not os.path.exists(self.stderr_path):
            return ""
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_events(self):
        """The JSON log lines on stderr, parsed (other lines skipped)."""
        out = []
        for line in self.logs().splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def wait_log(self, msg, count=1, timeout=15.0, **fields):
        """Wait until at least `count` log events with this msg (and fields) exist; return them."""
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.log_events() if e.get("msg") == msg and
                     all(e.get(k) == v for k, v in fields.items())]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"no log {msg!r} {fields} x{count} within {timeout}s:\n"
                                     f"{self.logs()[-4000:]}")
            time.sleep(0.05)

    def wait_counted(self, msg, count, timeout=15.0):
        """Wait until the events with this msg, full lines (one each) and summary lines (their
        "repeats"), add up to `count`; they may be spread over several summaries (a slow
        sanitizer build). Returns (the lines, their sum) when they do or the time is up."""
        deadline = time.monotonic() + timeout
        while True:
            lines = [e for e in self.log_events() if e.get("msg") == msg]
            counted = sum(e.get("repeats", 1) for e in lines)
            if counted >= count or time.monotonic() > deadline:
                return lines, counted
            time.sleep(0.1)

    def reload(self, timeout=15.0):
        """SIGHUP and wait until the providers are reloaded."""
        n = len([e for e in self.log_events() if e.get("msg") == "reloaded providers"])
        self.signal(signal.SIGHUP)
        self.wait_log("reloaded providers", count=n + 1, timeout=timeout)

    def stop(self, timeout=STOP_TIMEOUT, settle=0):
        """SIGTERM; assert exit code 0 and no sanitizer report. Returns the exit code.

        settle: seconds to wait before the signal (0: a SIGTERM racing a client's close must
        be clean too; see test_http.CloseThenSigtermTest).
        """
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            time.sleep(settle)
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"attestd did not exit within {timeout}s of SIGTERM:\n"
                                 f"{self.logs()[-4000:]}")
        self._reap()
        self.check_clean_exit()
        return self.returncode

    def check_clean_exit(self):
        text = self.logs()
        bad = sanitizer_problems(text)
        if bad or self.returncode != 0:
            # Keep the whole log for inspection; show the start of the first report.
            kept = os.path.join(tempfile.gettempdir(),
                                f"attestd-failed-{os.getpid()}-{id(self):x}-{self._runs}.log")
            shutil.copyfile(self.stderr_path, kept)
            starts = [text.find(m) for m in SANITIZER_MARKERS if m in text]
            at = max(0, min(starts) - 200) if starts else max(0, len(text) - 6000)
            raise AssertionError(f"attestd exit code {self.returncode}, sanitizer markers {bad} "
                                 f"(full log: {kept}):\n{text[at:at + 8000]}")

    def kill(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self._reap()

    def cleanup(self):
        """Stop (asserting a clean exit) and remove the data dir, even when stop fails."""
        try:
            self.stop()
        finally:
            self.kill()
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- admin tool ----

    def attestctl(self, *args, check=True, use_config=True):
        cmd = [ATTESTCTL]
        if use_config:
            cmd += ["--config", self.config_path, "--data-dir", self.data]
        cmd += list(args)
        proc = subprocess.run(cmd, env=san_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=120)
        bad = sanitizer_problems(proc.stderr)
        if bad:
            raise AssertionError(f"attestctl {args}: sanitizer report {bad}:\n{proc.stderr}")
        if check and proc.returncode != 0:
            raise AssertionError(f"attestctl {args} exited {proc.returncode}:\n{proc.stderr}")
        return proc

    # ---- HTTPS ----

    def ssl_context(self):
        ctx = ssl.create_default_context(cafile=self.ca)
        return ctx

    def connection(self, timeout=15.0):
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ssl_context(),
                                           timeout=timeout)

    def request(self, method, path, body=None, headers=None, conn=None):
        """One request; returns (status, headers (case-insensitive HTTPMessage), body bytes)."""
        own = conn is None
        if own:
            conn = self.connection()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, resp.headers, data
        finally:
            if own:
                conn.close()

    def get_json(self, path, **kw):
        status, headers, body = self.request("GET", path, **kw)
        return status, headers, json.loads(body) if body else None

    def tls_socket(self, timeout=15.0):
        """A raw TLS socket to the daemon (handshake done)."""
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        try:
            return self.ssl_context().wrap_socket(raw, server_hostname="127.0.0.1")
        except BaseException:
            raw.close()
            raise


# ---- raw HTTP/1.1 over a socket ----

def read_response(f):
    """Read one HTTP/1.1 response from a binary file object; (status, headers, body).

    Returns None at a clean EOF before the status line. Headers: dict of lowercased name to value
    (last one wins) plus "_list" with all (name, value) pairs.
    """
    line = f.readline(65536)
    if not line:
        return None
    m = re.match(rb"^HTTP/1\.1 (\d{3}) [^\r\n]*\r\n$", line)
    if not m:
        raise AssertionError(f"bad status line {line!r}")
    status = int(m.group(1))
    headers = {}
    pairs = []
    while True:
        h = f.readline(65536)
        if h in (b"\r\n", b""):
            break
        name, _, value = h.decode("latin-1").partition(":")
        pairs.append((name.strip(), value.strip()))
        headers[name.strip().lower()] = value.strip()
    headers["_list"] = pairs
    n = int(headers.get("content-length", "0"))
    body = f.read(n) if n else b""
    if len(body) != n:
        raise AssertionError(f"short body: {len(body)} of {n} bytes")
    return status, headers, body


def read_until_eof(sock, timeout=10.0):
    """Read everything until the peer closes (or an error ends the connection); a peer that has
    not closed within `timeout` seconds in all fails the test (TimeoutError)."""
    deadline = time.monotonic() + timeout
    chunks = []
    try:
        while True:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            b = sock.recv(65536)
            if not b:
                break
            chunks.append(b)
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        pass
    return b"".join(chunks)


def parse_responses(data):
    """Split raw bytes holding zero or more complete responses."""
    import io
    f = io.BytesIO(data)
    out = []
    while True:
        r = read_response(f)
        if r is None:
            return out
        out.append(r)


def uuid4():
    """A random client id that no principal has."""
    import uuid
    return str(uuid.uuid4())


def post_json(d, path, body):
    """POST a JSON body to daemon `d`: (status, decoded answer or None)."""
    status, _, data = d.request("POST", path, body=json.dumps(body).encode(),
                                headers={"Content-Type": "application/json"})
    return status, json.loads(data) if data else None


def refusal(test, status, doc, inner):
    """Assert a 400 in MAA's error shape whose innererror.code is `inner`; return its message."""
    test.assertEqual(status, 400, doc)
    test.assertEqual(doc["error"]["innererror"]["code"], inner, doc)
    return doc["error"]["message"]


def error_of(body):
    """The (code, message) of an MAA-shaped error body; asserts the exact shape."""
    doc = json.loads(body)
    if set(doc) != {"error"} or not isinstance(doc["error"], dict):
        raise AssertionError(f"not an MAA error body: {body!r}")
    err = doc["error"]
    if not isinstance(err.get("code"), str) or not isinstance(err.get("message"), str) \
            or not err["message"]:
        raise AssertionError(f"error without code/message strings: {body!r}")
    return err["code"], err["message"]


# ---- JOSE helpers ----

class VerifyError(Exception):
    pass


def b64url_decode(s):
    if isinstance(s, str):
        s = s.encode("ascii")
    if b"=" in s or re.search(rb"[^A-Za-z0-9_-]", s):
        raise VerifyError(f"not unpadded base64url: {s[:40]!r}")
    return base64.urlsafe_b64decode(s + b"=" * (-len(s) % 4))


def b64url_encode(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def _json_part(part, what):
    try:
        doc = json.loads(b64url_decode(part))
    except ValueError as e:
        raise VerifyError(f"JWS {what} is not base64url JSON: {e}") from None
    if not isinstance(doc, dict):
        raise VerifyError(f"JWS {what} is not a JSON object")
    return doc


def split_jws(token):
    """(header dict, payload part text, signing_input bytes, signature bytes)."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise VerifyError("a compact JWS has three parts")
    return (_json_part(parts[0], "header"), parts[1], f"{parts[0]}.{parts[1]}".encode("ascii"),
            b64url_decode(parts[2]))


def decode_jwt(token):
    """(header, payload, signing_input bytes, signature bytes); no verification."""
    header, payload_part, signing_input, sig = split_jws(token)
    return header, _json_part(payload_part, "payload"), signing_input, sig


def _der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def _tlv(tag, content):
    return bytes([tag]) + _der_len(len(content)) + content


def _der_uint(b):
    b = b.lstrip(b"\x00") or b"\x00"
    if b[0] & 0x80:
        b = b"\x00" + b
    return _tlv(0x02, b)


OID_RSA = bytes.fromhex("06092a864886f70d010101")
OID_EC = bytes.fromhex("06072a8648ce3d0201")
OID_P256 = bytes.fromhex("06082a8648ce3d030107")


def jwk_to_spki_der(jwk):
    """SubjectPublicKeyInfo DER built from the JWK's own members (n/e or crv/x/y)."""
    if jwk.get("kty") == "RSA":
        n, e = b64url_decode(jwk["n"]), b64url_decode(jwk["e"])
        rsa = _tlv(0x30, _der_uint(n) + _der_uint(e))
        return _tlv(0x30, _tlv(0x30, OID_RSA + b"\x05\x00") + _tlv(0x03, b"\x00" + rsa))
    if jwk.get("kty") == "EC":
        if jwk.get("crv") != "P-256":
            raise VerifyError(f"unsupported curve {jwk.get('crv')}")
        x, y = b64url_decode(jwk["x"]), b64url_decode(jwk["y"])
        if len(x) != 32 or len(y) != 32:
            raise VerifyError("P-256 coordinates must be 32 bytes")
        return _tlv(0x30, _tlv(0x30, OID_EC + OID_P256) + _tlv(0x03, b"\x00\x04" + x + y))
    raise VerifyError(f"unsupported kty {jwk.get('kty')}")


def der_to_pem(der, label):
    b = base64.b64encode(der).decode("ascii")
    lines = [b[i:i + 64] for i in range(0, len(b), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


def pem_to_der(pem):
    body = "".join(l for l in pem.strip().splitlines() if not l.startswith("-----"))
    return base64.b64decode(body)


def openssl(*args, input=None, check=True):
    proc = subprocess.run(["openssl"] + list(args), input=input, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60)
    if check and proc.returncode != 0:
        raise AssertionError(f"openssl {args} failed: {proc.stderr.decode(errors='replace')}")
    return proc


def cert_der_from_x5c(entry):
    return base64.b64decode(entry, validate=True)


def cert_spki_der(cert_der):
    out = openssl("x509", "-inform", "DER", "-noout", "-pubkey", input=cert_der)
    return pem_to_der(out.stdout.decode())


def cert_subject(cert_der):
    """'subject=CN=...' in RFC 2253 form."""
    out = openssl("x509", "-inform", "DER", "-noout", "-subject", "-nameopt", "RFC2253",
                  input=cert_der)
    return out.stdout.decode().strip()


def cert_serial(cert_der):
    out = openssl("x509", "-inform", "DER", "-noout", "-serial", input=cert_der)
    return out.stdout.decode().strip()


def ecdsa_raw_to_der(sig):
    """JWS ES256 signature R||S (64 bytes) to the DER ECDSA-Sig-Value openssl expects."""
    if len(sig) != 64:
        raise VerifyError(f"ES256 signature must be 64 bytes, got {len(sig)}")
    return _tlv(0x30, _der_uint(sig[:32]) + _der_uint(sig[32:]))


def verify_jws(token, jwks):
    """Verify a compact JWS using nothing but the JWKS document (a dict from GET /certs).

    The key is chosen by the header's kid; the public key is built from the JWK members and must
    equal the key in x5c[0]; the signature is checked by `openssl dgst`. Returns
    (header, payload); raises VerifyError when anything does not check out.
    """
    header, payload_part, signing_input, sig = split_jws(token)
    alg = header.get("alg")
    if alg not in ("RS256", "ES256"):
        raise VerifyError(f"unexpected alg {alg!r}")
    keys = [k for k in jwks.get("keys", []) if k.get("kid") == header.get("kid")]
    if len(keys) != 1:
        raise VerifyError(f"kid {header.get('kid')!r} matches {len(keys)} keys in the JWKS")
    jwk = keys[0]
    want_kty = "RSA" if alg == "RS256" else "EC"
    if jwk.get("kty") != want_kty or jwk.get("alg", alg) != alg:
        raise VerifyError(f"key {jwk.get('kid')} is {jwk.get('kty')}/{jwk.get('alg')}, token "
                          f"says {alg}")
    spki = jwk_to_spki_der(jwk)
    if jwk.get("x5c"):
        if cert_spki_der(cert_der_from_x5c(jwk["x5c"][0])) != spki:
            raise VerifyError("the JWK members and its x5c certificate hold different keys")
    if alg == "ES256":
        sig = ecdsa_raw_to_der(sig)
    with tempfile.TemporaryDirectory(prefix="attestd-jws-") as d:
        pub = os.path.join(d, "pub.pem")
        sigf = os.path.join(d, "sig.bin")
        data = os.path.join(d, "data.bin")
        with open(pub, "w") as f:
            f.write(der_to_pem(spki, "PUBLIC KEY"))
        with open(sigf, "wb") as f:
            f.write(sig)
        with open(data, "wb") as f:
            f.write(signing_input)
        proc = openssl("dgst", "-sha256", "-verify", pub, "-signature", sigf, data, check=False)
    if proc.returncode != 0 or b"Verified OK" not in proc.stdout:
        raise VerifyError(f"signature does not verify: {proc.stdout!r} {proc.stderr!r}")
    return header, _json_part(payload_part, "payload")


def require_node(*packages):
    """NODE and these npm packages (tests/integration/js) are part of the test set-up: missing
    means FAIL, not skip."""
    if not os.access(NODE, os.X_OK):
        raise AssertionError(f"{NODE} is missing: the JavaScript peers need Debian's nodejs "
                             "(scripts/deps.sh installs it)")
    for pkg in packages:
        if not os.path.isdir(os.path.join(JS_DIR, "node_modules", pkg)):
            raise AssertionError(f"tests/integration/js/node_modules/{pkg} is missing: run "
                                 "'cd tests/integration/js && npm ci' (scripts/test.sh does)")


def jose_verify(jwks_url, token, issuer, ca_file):
    """Verify with the npm `jose` package (tests/integration/js); returns the CompletedProcess."""
    require_node("jose")
    env = dict(os.environ, NODE_EXTRA_CA_CERTS=ca_file)
    return subprocess.run([NODE, os.path.join(JS_DIR, "verify_jwt.mjs"), jwks_url, token, issuer],
                          cwd=JS_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=60)


def tamper_payload(token):
    """The token with one payload claim value changed (the signature no longer matches)."""
    h, p, s = token.split(".")
    payload = json.loads(b64url_decode(p))
    payload["x-attestd-test-token"] = False if payload.get("x-attestd-test-token") else True
    payload["tampered"] = 1
    return f"{h}.{b64url_encode(json.dumps(payload, separators=(',', ':')).encode())}.{s}"


def flip_payload_char(token):
    """Flip one character in the middle of the payload part (still valid base64url)."""
    h, p, s = token.split(".")
    i = len(p) // 2
    c = p[i]
    repl = "A" if c != "A" else "B"
    return f"{h}.{p[:i]}{repl}{p[i + 1:]}.{s}"


# ---- signing tokens as an external issuer would (openssl CLI; no PyPI here) ----

def b64url_encode_json(doc):
    return b64url_encode(json.dumps(doc, separators=(",", ":")).encode())


def new_signing_key(path, kind):
    """A private key in PEM at `path`: kind "rsa" (2048 bits), "p256" or "p384"."""
    if kind == "rsa":
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path)
    else:
        curve = {"p256": "P-256", "p384": "P-384"}[kind]
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", f"ec_paramgen_curve:{curve}",
                "-out", path)
    return path


def public_jwk(key_path, kid, alg=None):
    """The public JWK of a key made by new_signing_key (RSA n/e, EC crv/x/y)."""
    text = openssl("pkey", "-in", key_path, "-noout", "-text").stdout.decode()
    jwk = {"kid": kid, "use": "sig"}
    if "ASN1 OID" in text or "NIST CURVE" in text:
        spki = pem_to_der(openssl("pkey", "-in", key_path, "-pubout").stdout.decode())
        size = 32 if "P-256" in text or "prime256v1" in text else 48
        point = spki[-(2 * size + 1):]
        assert point[0] == 4
        jwk.update(kty="EC", crv="P-256" if size == 32 else "P-384",
                   x=b64url_encode(point[1:1 + size]), y=b64url_encode(point[1 + size:]))
    else:
        modulus = openssl("rsa", "-in", key_path, "-noout", "-modulus").stdout.decode()
        n = bytes.fromhex(modulus.strip().split("=", 1)[1])
        jwk.update(kty="RSA", n=b64url_encode(n), e="AQAB")
    if alg is not None:
        jwk["alg"] = alg
    return jwk


def _der_read(b, i):
    tag, n = b[i], b[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(b[i:i + k], "big")
        i += k
    return tag, b[i:i + n], i + n


def ecdsa_der_to_raw(der, size):
    """openssl's DER ECDSA-Sig-Value to the JWS form R||S of `size`-byte halves."""
    _, seq, _ = _der_read(der, 0)
    _, r, j = _der_read(seq, 0)
    _, s, _ = _der_read(seq, j)
    return r.lstrip(b"\0").rjust(size, b"\0") + s.lstrip(b"\0").rjust(size, b"\0")


def sign_jwt(key_path, alg, claims, kid=None, header=None):
    """A compact JWS over `claims` signed with the key at `key_path` (RS256, PS256, ES256,
    ES384). `header` replaces the default {"alg", "kid", "typ": "JWT"} members it names."""
    head = {"alg": alg, "typ": "JWT"}
    if kid is not None:
        head["kid"] = kid
    head.update(header or {})
    signing_input = (b64url_encode_json(head) + "." + b64url_encode_json(claims)).encode()
    digest = "-sha384" if alg == "ES384" else "-sha256"
    args = ["dgst", digest, "-sign", key_path]
    if alg == "PS256":
        args += ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"]
    sig = openssl(*args, input=signing_input).stdout
    if alg in ("ES256", "ES384"):
        sig = ecdsa_der_to_raw(sig, 32 if alg == "ES256" else 48)
    return signing_input.decode() + "." + b64url_encode(sig)


# ---- certificates and JWS for policy management (test_policy_mgmt.py) ----

_CERT_CNF = """[ca]
default_ca = att_ca
[att_ca]
dir = {dir}
database = {dir}/index.txt
new_certs_dir = {dir}
serial = {dir}/serial
default_md = sha256
policy = att_policy
unique_subject = no
email_in_dn = no
copy_extensions = none
[att_policy]
commonName = supplied
[req]
distinguished_name = att_dn
prompt = no
[att_dn]
CN = unused
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[leaf_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
subjectKeyIdentifier = hash
[noca_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,keyCertSign,digitalSignature
subjectKeyIdentifier = hash
[nobc_ext]
keyUsage = critical,keyCertSign,digitalSignature
subjectKeyIdentifier = hash
"""


def asn1_time(t):
    """An `openssl ca -startdate/-enddate` value (GeneralizedTime, UTC) for epoch seconds t."""
    return time.strftime("%Y%m%d%H%M%SZ", time.gmtime(t))


def make_cert(directory, name, kind="rsa", ext="ca", issuer=None, not_before=None,
              not_after=None):
    """A key (new_signing_key kind) and an X.509 certificate with subject CN=name, made by
    `openssl ca` with exact validity dates (OpenSSL 3.0 has no x509 -not_before/-not_after).

    ext: "ca" (basicConstraints critical CA:TRUE), "leaf" (CA:FALSE), "noca" (CA:FALSE but
    keyCertSign) or "nobc" (no basicConstraints at all). issuer: (key_path, cert_path) of the
    issuing certificate, or None for a self-signed one. not_before / not_after: epoch seconds
    (default: an hour ago / two days from now). Returns (key_path, cert_pem_path, cert_der).
    """
    now = int(time.time())
    work = os.path.join(directory, f"{name}.ca")
    os.makedirs(work)
    open(os.path.join(work, "index.txt"), "w").close()
    with open(os.path.join(work, "serial"), "w") as f:
        f.write("01" + os.urandom(8).hex() + "\n")
    cnf = os.path.join(work, "openssl.cnf")
    with open(cnf, "w") as f:
        f.write(_CERT_CNF.format(dir=work))
    key = new_signing_key(os.path.join(directory, f"{name}.key"), kind)
    csr = os.path.join(work, "req.csr")
    openssl("req", "-new", "-config", cnf, "-key", key, "-subj", f"/CN={name}", "-out", csr)
    cert = os.path.join(directory, f"{name}.pem")
    args = ["ca", "-batch", "-notext", "-config", cnf, "-in", csr, "-out", cert,
            "-extensions", f"{ext}_ext",
            "-startdate", asn1_time(now - 3600 if not_before is None else not_before),
            "-enddate", asn1_time(now + 2 * 86400 if not_after is None else not_after)]
    if issuer is None:
        args += ["-selfsign", "-keyfile", key]
    else:
        args += ["-keyfile", issuer[0], "-cert", issuer[1]]
    openssl(*args)
    with open(cert, encoding="ascii") as f:
        der = pem_to_der(f.read())
    return key, cert, der


def sign_jws(key_path, header, payload, key_alg=None):
    """A compact JWS with exactly this protected header over the payload bytes as given (b""
    for an empty payload, as a signed policy reset has). The signature is RS256 or ES256 as
    key_alg says (default: the header's "alg"; differ to test an alg that does not fit)."""
    signing_input = (b64url_encode_json(header) + "." + b64url_encode(payload)).encode()
    sig = openssl("dgst", "-sha256", "-sign", key_path, input=signing_input).stdout
    if (key_alg or header.get("alg")) == "ES256":
        sig = ecdsa_der_to_raw(sig, 32)
    return signing_input.decode() + "." + b64url_encode(sig)


NONE_HEADER = "eyJhbGciOiJub25lIn0"  # b64url('{"alg":"none"}')


def assert_claims_supported(test, d, claims, prefix=""):
    """Every top-level claim of a token's `claims` (the service's, and a default policy's) is
    named in claims_supported of the provider's OpenID metadata."""
    status, _, doc = d.get_json(prefix + "/.well-known/openid-configuration")
    test.assertEqual(status, 200, doc)
    test.assertEqual(sorted(set(claims) - set(doc["claims_supported"])), [],
                     "claims of a token that claims_supported does not list")


def policy_hash(text):
    """x-ms-policy-hash: b64url(SHA-256(ASCII(b64url(UTF-8 text)))) (docs/reference/maa-tokens.md §2.3)."""
    import hashlib
    return b64url_encode(hashlib.sha256(b64url_encode(text.encode()).encode()).digest())


def unsigned_policy_jws(text):
    """An unsigned policy JWS (AAD providers); text None: the empty payload of a reset."""
    if text is None:
        return NONE_HEADER + ".."
    return (NONE_HEADER + "." +
            b64url_encode_json({"AttestationPolicy": b64url_encode(text.encode())}) + ".")


def owner_token(d):
    """An access token of the bootstrap Owner (credentials in the data dir)."""
    with open(os.path.join(d.data, "bootstrap-owner.json"), encoding="utf-8") as f:
        owner = json.load(f)
    return client_token(d, owner["client_id"], owner["client_secret"])


def client_token(d, client_id, secret):
    """An access token from POST /oauth2/token (client_credentials, client_secret_post)."""
    import urllib.parse
    body = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": client_id,
                                   "client_secret": secret}).encode()
    status, _, data = d.request("POST", "/oauth2/token", body=body,
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    if status != 200:
        raise AssertionError(f"token request for {client_id} failed: {status} {data!r}")
    return json.loads(data)["access_token"]


def children_of(pid):
    """The children of `pid`, read from /proc (a fresh Debian has no pgrep)."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces, so split after its ')'.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            kids.append(int(entry))
    return kids


def nobody_cannot_run_here():
    """Why tests that run a program as nobody cannot run here, or None: they need root, and a
    root directory others may search (a chroot made by mktemp -d has mode 0700: nobody reaches
    no file, not even the sanitizers' libraries)."""
    if os.geteuid() != 0:
        return "needs root to become nobody"
    if not os.stat("/").st_mode & 0o001:
        return ("nobody reaches no file here: the root directory is not searchable by others "
                f"(mode {os.stat('/').st_mode & 0o777:o})")
    return None


def only_child(pid):
    kids = children_of(pid)
    assert len(kids) == 1, kids
    return kids[0]


def put_policy(d, text, headers, policy_type="SgxEnclave"):
    """PUT an unsigned policy of `text` (a provider in AAD mode): (status, body)."""
    status, _, body = d.request("PUT", f"/policies/{policy_type}?api-version=2020-10-01",
                                body=unsigned_policy_jws(text).encode(),
                                headers={**headers, "Content-Type": "text/plain"})
    return status, body
