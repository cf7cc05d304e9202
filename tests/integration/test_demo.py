"""The demo provider (`attestctl demo`, docs/internals/demo.md) and `make demo`, black-box.

A demo provider trusts a root CA made on this machine and nothing else; its collateral lives
under that root's scope in the store. Checked here: it attests at the wall clock (no test hook)
and marks every token and its metadata; its quotes are refused by a normal provider and real
quotes by it; its collateral for the same FMSPC as a real bundle neither replaces nor shadows
the real items (the store keeps both, the daemon's verification and `attestctl verify` use the
real one); public_network_access refuses both making one and attesting with one; deleting it
drops its collateral; and scripts/demo.sh (make demo) runs end to end against this build.
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import harness as h

FIX = os.path.join(h.ROOT, "tests", "fixtures", "dcap", "sgx")
SGX01_QUOTE = os.path.join(FIX, "sgx01_dcapqvl_quote.bin")
SGX01_BUNDLE = os.path.join(FIX, "sgx01_dcapqvl_collateral.json")
SGX01_FMSPC = "00A067110000"  # the real sample's platform: the demo takes the same on purpose
SGX01_VERIFY_AT = 1750334171 + 3600  # 2025-06-19T11:56:11Z, inside sgx01's collateral window
API = "?api-version=2022-08-01"
PROMTOOL = "/usr/bin/promtool"
PUBLIC_REFUSAL = ("attestctl demo: demo providers are refused while public_network_access is "
                  "enabled: a demo provider trusts a root made on this machine, and its tokens "
                  "prove nothing (docs/internals/demo.md)\n")


def make_demo(d, out, *args, check=True):
    """`attestctl demo OUT ARGS`; returns (the process, demo.json or None)."""
    proc = d.attestctl("demo", out, *args, check=check)
    summary = None
    if proc.returncode == 0:
        with open(os.path.join(out, "demo.json"), encoding="utf-8") as f:
            summary = json.load(f)
    return proc, summary


def attest(d, path, body):
    status, headers, data = d.request("POST", path + API, body=json.dumps(body).encode(),
                                      headers={"Content-Type": "application/json"})
    return status, headers, json.loads(data) if data else None


def default_scope_items(d):
    """The daemon's own collateral (no scope) as `collateral list` shows it."""
    rows = json.loads(d.attestctl("collateral", "list").stdout)
    return sorted((r["kind"], r["key"], r["issued"], r["nextUpdate"], r["source"])
                  for r in rows if "scope" not in r)


class DemoProviderTest(unittest.TestCase):
    """One daemon with the real sgx01 collateral and a demo provider of the same FMSPC."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="attestd-demo-test-")
        cls.out = os.path.join(cls.tmp, "evidence")
        cls.d = h.Daemon()
        try:
            got = json.loads(cls.d.attestctl("collateral", "import", SGX01_BUNDLE,
                                               "--allow-expired").stdout)
            assert got["imported"] == 4, got
            cls.real_before = default_scope_items(cls.d)
            cls.proc, cls.summary = make_demo(cls.d, cls.out, "--fmspc", SGX01_FMSPC)
            cls.d.reload()
            cls.jwks = cls.d.get_json("/providers/demo/certs")[2]
            with open(os.path.join(cls.out, "request.json"), encoding="utf-8") as f:
                cls.request = json.load(f)
        except BaseException:
            cls.d.cleanup()
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def demo_claims(self, body=None):
        status, _, doc = attest(self.d, "/providers/demo/attest/SgxEnclave", body or self.request)
        self.assertEqual(status, 200, doc)
        return h.verify_jws(doc["token"], self.jwks)

    def test_files_and_next_steps(self):
        issuer = self.d.base_url + "/providers/demo"
        self.assertEqual(self.summary["provider"], "demo")
        self.assertEqual(self.summary["issuer"], issuer)
        self.assertEqual(self.summary["attest_url"], issuer + "/attest/SgxEnclave" + API)
        self.assertEqual(self.summary["certs_url"], issuer + "/certs")
        self.assertIs(self.summary["runtime_json"], True)
        for name in ("quote.bin", "collateral.json", "root.pem", "runtime-data.json",
                     "request.json", "demo.json"):
            self.assertTrue(os.path.isfile(os.path.join(self.out, name)), name)
        with open(os.path.join(self.out, "root.pem"), encoding="utf-8") as f:
            self.assertNotIn("PRIVATE KEY", f.read())  # the root's key never leaves attestctl
        self.assertIn(f"Made demo provider 'demo' (issuer {issuer}).", self.proc.stdout)
        self.assertIn(f"--data-binary @{self.out}/request.json", self.proc.stdout)
        self.assertIn(f"--cacert {self.d.data}/tls/ca.pem", self.proc.stdout)
        show = json.loads(self.d.attestctl("provider", "show", "demo").stdout)
        self.assertIs(show["demo"], True)
        self.assertRegex(show["dcap_trust_scope"], r"^[0-9a-f]{64}$")
        self.assertFalse(show["default"])
        # Recorded in the audit trail as the provider change it is.
        audit = self.d.attestctl("audit", "show", "--action", "provider.create").stdout
        self.assertIn('{"arguments":["demo",', audit)

    def test_attests_and_marks_the_token(self):
        header, c = self.demo_claims()
        with open(os.path.join(self.out, "runtime-data.json"), "rb") as f:
            runtime = json.loads(f.read())
        self.assertEqual(header["alg"], "RS256")
        self.assertEqual(header["jku"], self.d.base_url + "/providers/demo/certs")
        self.assertIs(c["x-attestd-demo"], True)
        self.assertEqual(c["iss"], self.d.base_url + "/providers/demo")
        self.assertEqual(c["x-ms-runtime"], runtime)
        self.assertEqual(runtime["purpose"], "attestd demo")
        self.assertEqual(c["x-ms-sgx-tcb-status"], "UpToDate")
        self.assertEqual(c["x-ms-sgx-fmspc"].upper(), SGX01_FMSPC)
        self.assertIs(c["x-ms-sgx-is-debuggable"], False)
        # A draft policy's unsigned token is marked too, and a policy cannot unmark it.
        draft = ('version=1.2;authorizationrules{=> permit();};issuancerules{'
                 '=> issue(type="x-attestd-demo", value=false);};')
        status, _, doc = attest(self.d, "/providers/demo/attest/SgxEnclave",
                                dict(self.request, draftPolicyForAttestation=draft))
        self.assertEqual(status, 400, doc)
        self.assertEqual(doc["error"]["code"], "PolicyEvaluationError", doc)
        self.assertEqual(doc["error"]["innererror"]["code"], "ATT_ERR_POLICY_RESERVED_CLAIM")
        self.assertEqual(doc["error"]["message"], "policy evaluation failed: 1:74: issue(): "
                                                  "'x-attestd-demo' is a claim only the service "
                                                  "sets")
        draft = 'version=1.2;authorizationrules{=> permit();};issuancerules{};'
        status, _, doc = attest(self.d, "/providers/demo/attest/SgxEnclave",
                                dict(self.request, draftPolicyForAttestation=draft))
        self.assertEqual(status, 200, doc)
        header, c = h.decode_jwt(doc["token"])[:2]
        self.assertEqual(header["alg"], "none")
        self.assertIs(c["x-attestd-demo"], True)

    def test_metadata_says_demo(self):
        status, _, meta = self.d.get_json("/providers/demo/.well-known/openid-configuration")
        self.assertEqual(status, 200)
        self.assertIs(meta["x-attestd-demo"], True)
        self.assertIn("DEMO provider", meta["x-attestd-notice"])
        self.assertIn("x-attestd-demo", meta["claims_supported"])
        _, _, normal = self.d.get_json("/.well-known/openid-configuration")
        self.assertNotIn("x-attestd-demo", normal)
        self.assertNotIn("x-attestd-demo", normal["claims_supported"])

    def test_demo_quote_refused_by_a_normal_provider(self):
        self.d.attestctl("provider", "create", "plain")
        self.d.reload()
        for path in ("/attest/SgxEnclave", "/providers/plain/attest/SgxEnclave"):
            status, headers, doc = attest(self.d, path, self.request)
            self.assertEqual(status, 400, doc)
            self.assertEqual(doc["error"]["code"], "InvalidParameter")
            self.assertEqual(doc["error"]["innererror"]["code"], "ATT_ERR_ROOT_UNTRUSTED", doc)
            self.assertEqual(headers["x-ms-error-code"], "InvalidParameter")

    def test_real_quote_refused_by_the_demo_provider(self):
        with open(SGX01_QUOTE, "rb") as f:
            quote = f.read()
        status, _, doc = attest(self.d, "/providers/demo/attest/SgxEnclave",
                                {"quote": h.b64url_encode(quote)})
        self.assertEqual(status, 400, doc)
        self.assertEqual(doc["error"]["innererror"]["code"], "ATT_ERR_ROOT_UNTRUSTED", doc)

    def test_real_collateral_not_shadowed(self):
        # The store holds both: the real items untouched, the demo's under the root's scope.
        self.assertEqual(default_scope_items(self.d), self.real_before)
        self.assertIn(("tcb_info", "sgx:" + SGX01_FMSPC),
                      {(k, key) for k, key, *_ in self.real_before})
        scope = json.loads(self.d.attestctl("provider", "show", "demo").stdout)["dcap_trust_scope"]
        rows = json.loads(self.d.attestctl("collateral", "list").stdout)
        demo_rows = sorted((r["kind"], r["key"]) for r in rows if r.get("scope") == scope)
        self.assertEqual(demo_rows, [("pck_crl", "processor"), ("qe_identity", "sgx"),
                                     ("root_crl", ""), ("tcb_info", "sgx:" + SGX01_FMSPC)])
        self.assertEqual(len(rows), 8)
        # The offline verifier reads the store's real items: the real sample verifies.
        c = json.loads(self.d.attestctl("verify", "sgx", "--quote", SGX01_QUOTE, "--at",
                                        str(SGX01_VERIFY_AT)).stdout)
        self.assertEqual(c["x-ms-sgx-tcb-status"], "ConfigurationAndSWHardeningNeeded")
        self.assertNotIn("x-attestd-demo", c)


    def test_metrics_keep_the_scopes_apart(self):
        # Both Root CA CRLs have kind root_crl and key "": one series each, told by the scope.
        scope = json.loads(self.d.attestctl("provider", "show", "demo").stdout)["dcap_trust_scope"]
        status, _, body = self.d.request("GET", "/metrics",
                                         headers={"Authorization": "Bearer " +
                                                  h.owner_token(self.d)})
        self.assertEqual(status, 200)
        lines = [line.rsplit(" ", 1)[0] for line in body.decode().splitlines()
                 if line.startswith("attestd_collateral_expiry_seconds{")]
        self.assertEqual(len(lines), len(set(lines)), lines)
        self.assertIn('attestd_collateral_expiry_seconds{kind="root_crl",key=""}', lines)
        self.assertIn('attestd_collateral_expiry_seconds{kind="root_crl",key="",scope="%s"}'
                      % scope, lines)
        self.assertEqual(len(lines), 8)
        if os.access(PROMTOOL, os.X_OK):
            p = subprocess.run([PROMTOOL, "check", "metrics"], input=body.decode(),
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


class DemoScopeInTheDaemonTest(unittest.TestCase):
    """The daemon's own verification keeps using the real collateral of a shared FMSPC, and a
    deleted demo takes its collateral with it."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="attestd-demo-test-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def test_real_sample_still_attests_and_delete_drops_the_scope(self):
        d = h.Daemon()
        self.addCleanup(d.cleanup)
        d.attestctl("collateral", "import", SGX01_BUNDLE, "--allow-expired")
        make_demo(d, os.path.join(self.tmp, "a"), "--fmspc", SGX01_FMSPC)
        make_demo(d, os.path.join(self.tmp, "b"), "--fmspc", SGX01_FMSPC, "--name", "demo-b")
        d.reload()
        with open(os.path.join(self.tmp, "a", "request.json"), encoding="utf-8") as f:
            request = json.load(f)
        status, _, doc = attest(d, "/providers/demo/attest/SgxEnclave", request)
        self.assertEqual(status, 200, doc)  # the demo's items are cached in its scope now
        d.stop()
        # The same store, judged in sgx01's window by a test build: the default provider
        # attests the real sample with the real collateral, the demo's of the same FMSPC
        # notwithstanding; the demo's own evidence is not valid at that time.
        d.env = {"ATTESTD_TEST_VERIFY_TIME": str(SGX01_VERIFY_AT)}
        d.start()
        with open(SGX01_QUOTE, "rb") as f:
            quote = f.read()
        status, _, doc = attest(d, "/attest/SgxEnclave", {"quote": h.b64url_encode(quote)})
        self.assertEqual(status, 200, doc)
        c = h.verify_jws(doc["token"], d.get_json("/certs")[2])[1]
        self.assertEqual(c["x-ms-sgx-tcb-status"], "ConfigurationAndSWHardeningNeeded")
        self.assertEqual(c["x-ms-sgx-fmspc"].upper(), SGX01_FMSPC)
        status, _, doc = attest(d, "/providers/demo/attest/SgxEnclave", request)
        self.assertEqual(status, 400, doc)
        self.assertEqual(doc["error"]["innererror"]["code"], "ATT_ERR_COLLATERAL_NOT_YET_VALID",
                         doc)
        # Each demo has a root, and a scope, of its own; deleting one drops only its items.
        scope_a = json.loads(d.attestctl("provider", "show", "demo").stdout)["dcap_trust_scope"]
        scope_b = json.loads(d.attestctl("provider", "show", "demo-b").stdout)[
            "dcap_trust_scope"]
        self.assertNotEqual(scope_a, scope_b)
        d.attestctl("provider", "delete", "demo")
        rows = json.loads(d.attestctl("collateral", "list").stdout)
        self.assertEqual(sorted({r.get("scope", "") for r in rows}), ["", scope_b])
        self.assertEqual(len(rows), 8)

    def test_binary_runtime_data(self):
        # Runtime data that is not a JSON object goes as Binary and comes back as
        # x-ms-sgx-ehd; the quote binds exactly those bytes.
        data = b"\x00demo runtime data\xff"
        path = os.path.join(self.tmp, "rd.bin")
        with open(path, "wb") as f:
            f.write(data)
        d = h.Daemon()
        self.addCleanup(d.cleanup)
        out = os.path.join(self.tmp, "bin")
        _, summary = make_demo(d, out, "--runtime-data", path, "--name", "bin", "--alg", "ES256")
        self.assertIs(summary["runtime_json"], False)
        self.assertEqual(summary["runtime_data"], "runtime-data.bin")
        with open(os.path.join(out, "runtime-data.bin"), "rb") as f:
            self.assertEqual(f.read(), data)
        with open(os.path.join(out, "request.json"), encoding="utf-8") as f:
            request = json.load(f)
        self.assertEqual(request["runtimeData"], {"data": h.b64url_encode(data),
                                                  "dataType": "Binary"})
        d.reload()
        status, _, doc = attest(d, "/providers/bin/attest/SgxEnclave", request)
        self.assertEqual(status, 200, doc)
        header, c = h.verify_jws(doc["token"], d.get_json("/providers/bin/certs")[2])
        self.assertEqual(header["alg"], "ES256")
        self.assertEqual(c["x-ms-sgx-ehd"], h.b64url_encode(data))
        self.assertIs(c["x-attestd-demo"], True)
        # The same quote with other data is refused: the report data binds these bytes.
        status, _, doc = attest(d, "/providers/bin/attest/SgxEnclave",
                                dict(request, runtimeData={"data": h.b64url_encode(b"other"),
                                                           "dataType": "Binary"}))
        self.assertEqual(status, 400, doc)
        self.assertEqual(doc["error"]["innererror"]["code"], "ATT_ERR_RUNTIME_DATA_BINDING", doc)

    def test_refusals(self):
        d = h.Daemon(start=False)
        self.addCleanup(d.cleanup)
        out = os.path.join(self.tmp, "x")
        proc, _ = make_demo(d, out, "--fmspc", "00A06711", check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(proc.stderr,
                         "attestctl demo: --fmspc must be 12 hex digits, not '00A06711'\n")
        proc, _ = make_demo(d, out, "--name", "-bad", check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("'-bad' is not a valid provider name", proc.stderr)
        proc = d.attestctl("demo", check=False)
        self.assertEqual((proc.returncode, proc.stderr.splitlines()[0]),
                         (2, "attestctl demo: missing DIR"))
        self.assertTrue(proc.stderr.splitlines()[1].startswith("usage: attestctl demo DIR"))
        make_demo(d, out)
        proc, _ = make_demo(d, os.path.join(self.tmp, "y"), check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(proc.stderr, "attestctl demo: provider 'demo' already exists: delete it "
                                      "first (attestctl provider delete demo) or name another "
                                      "(--name)\n")
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "y")))
        rows = json.loads(d.attestctl("collateral", "list").stdout)
        self.assertEqual(len(rows), 4)  # the second demo left nothing behind


class DemoPublicNetworkTest(unittest.TestCase):
    """public_network_access = enabled: no demo provider is made, and one made before attests
    nothing."""

    def test_refused(self):
        tmp = tempfile.mkdtemp(prefix="attestd-demo-test-")
        self.addCleanup(shutil.rmtree, tmp, True)
        d = h.Daemon(config="public_network_access = enabled", start=False)
        self.addCleanup(d.cleanup)
        proc, _ = make_demo(d, os.path.join(tmp, "refused"), check=False)
        self.assertEqual((proc.returncode, proc.stderr), (1, PUBLIC_REFUSAL))
        self.assertFalse(os.path.exists(os.path.join(tmp, "refused")))
        self.assertEqual(json.loads(d.attestctl("provider", "list").stdout), [])
        # Made while the access was private, then the node goes public.
        d.write_config("")
        _, summary = make_demo(d, os.path.join(tmp, "made"))
        d.write_config("public_network_access = enabled")
        d.start()
        d.wait_log("a demo provider refuses every attestation while public_network_access is "
                   "enabled", provider="demo")
        with open(os.path.join(tmp, "made", "request.json"), encoding="utf-8") as f:
            request = json.load(f)
        status, headers, doc = attest(d, "/providers/demo/attest/SgxEnclave", request)
        self.assertEqual(status, 409, doc)
        self.assertEqual(doc["error"]["code"], "InvalidOperation")
        self.assertEqual(doc["error"]["innererror"]["code"], "ATT_ERR_DEMO_PUBLIC_NETWORK")
        self.assertEqual(doc["error"]["message"],
                         "provider 'demo' is a demo provider, which attests nothing while "
                         "public_network_access is enabled (docs/internals/demo.md)")
        self.assertEqual(headers["x-ms-error-code"], "InvalidOperation")
        self.assertEqual(summary["issuer"], d.base_url + "/providers/demo")


class MakeDemoTest(unittest.TestCase):
    """scripts/demo.sh (what `make demo` runs on the release build) against this build."""
    time_limit = 300

    def run_demo(self, alg=None):
        tmp = tempfile.mkdtemp(prefix="attestd-make-demo-")
        self.addCleanup(shutil.rmtree, tmp, True)
        env = h.san_env({"TMPDIR": tmp, "ATTESTD_DEMO_KEEP": "1"})
        if alg is not None:
            env["ATTESTD_DEMO_ALG"] = alg
        proc = subprocess.run([os.path.join(h.ROOT, "scripts", "demo.sh"), h.BUILD], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=240)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        (kept,) = os.listdir(tmp)
        with open(os.path.join(tmp, kept, "attestd.out"), encoding="utf-8") as f:
            self.assertEqual(h.sanitizer_problems(f.read()), [])
        return proc.stdout

    def test_make_demo(self):
        out = self.run_demo()
        for step in ("==> 1. attestd on https://127.0.0.1:", "==> 2. attestctl demo",
                     "==> 3. attest over HTTPS with curl", "==> 4. attest with the official "
                     "client", "==> 5. verify the curl token's signature with openssl",
                     "==> demo OK"):
            self.assertIn(step, out)
        self.assertNotIn("https://127.0.0.1:8443", out)
        self.assertIn("x-attestd-demo: true", out)
        self.assertIn("Verified OK", out)
        self.assertIn("the RS256 signature verifies", out)
        self.assertRegex(out, r"demo: attestd \(pid \d+\) stopped")

    def test_make_demo_es256(self):
        out = self.run_demo("ES256")
        self.assertIn("a ES256 token", out)
        self.assertIn("the ES256 signature verifies", out)


if __name__ == "__main__":
    unittest.main()
