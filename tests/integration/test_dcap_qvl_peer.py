"""Differential test: attestd's offline SGX verifier against the reference peer @phala/dcap-qvl.

ASSUMED CONTRACT of `attestctl verify sgx` (the attestd side; the test fails until it holds):

    attestctl verify sgx --quote FILE --collateral BUNDLE.json --at TIME
      FILE    raw quote (.bin) or hex text (.hex); BUNDLE in dcap-qvl's QuoteCollateralV3 layout;
      TIME    RFC 3339 UTC ("2025-06-19T11:56:11Z") or seconds since the epoch.
      accept: exit 0, stdout one JSON object with at least
              "x-ms-sgx-tcb-status": "<Intel TCB status>", "x-ms-sgx-advisory-ids": [...],
              "x-ms-sgx-is-debuggable": bool
      refuse: exit 1, first stderr line "error: ATT_ERR_<CODE>: <message>"
    Codes this file expects (src/core/err.c): ATT_ERR_COLLATERAL_EXPIRED (after the collateral
    window), ATT_ERR_QUOTE_SIGNATURE (quote body changed), ATT_ERR_COLLATERAL_NOT_YET_VALID
    (before a CRL's thisUpdate), ATT_ERR_PCK_CRL_INVALID (PCK CRL signature broken).
    attestctl is taken from the build dir the harness uses (ATTESTD_BUILD, default build-asan).

The peer runs through tests/integration/js/dcap_qvl_verify.mjs (version pinned exactly in
tests/integration/js/package.json; `npm ci` there, scripts/test.sh does it). For each sample and
time both verifiers run on the same files. Agreement cases: both accept with the same TCB status
and advisory-id set (and that verdict is the MANIFEST's), or both refuse. Deliberate differences
(D1..D3) are the rows of the "Deliberate differences" table in docs/verification.md; for those
the test asserts the documented outcome of each side instead of agreement.
Samples and windows: tests/fixtures/dcap/README.md (MANIFEST.md of the shared test data).
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import harness as h

FIX = os.path.join(h.ROOT, "tests", "fixtures", "dcap", "sgx")
SGX01 = os.path.join(FIX, "sgx01_dcapqvl_quote.bin")
SGX01_BUNDLE = os.path.join(FIX, "sgx01_dcapqvl_collateral.json")
SGX02 = os.path.join(FIX, "sgx02_automata_debug_quote.hex")
SGX03 = os.path.join(FIX, "sgx03_automata_godcap_quote.hex")
BUNDLE_00606A = os.path.join(FIX, "collateral_00606a000000_2025-08_bundle.json")

PEER_NAME = "@phala/dcap-qvl"
PEER_VERSION = "0.3.9"
PEER_CLI = os.path.join(h.JS_DIR, "dcap_qvl_verify.mjs")
DOC = os.path.join(h.ROOT, "docs", "verification.md")

# Inside the windows (window start + 1 h, as MANIFEST's peer results), and well after them
# (past any collateral_grace a provider may set, at most 30 days).
SGX01_AT = "2025-06-19T11:56:11Z"      # window 2025-06-19T10:56:11Z .. 2025-07-19T10:01:18Z
SGX01_AFTER = "2025-09-01T00:00:00Z"
B606A_AT = "2025-08-15T06:41:26Z"      # window 2025-08-15T05:41:26Z .. 2025-09-14T04:36:46Z
B606A_AFTER = "2025-11-01T00:00:00Z"
# After the 00606a TCB info's issueDate (05:08:18Z) and QE identity's (04:36:46Z) but before
# the PCK Platform CRL's thisUpdate (05:41:26Z), i.e. before the window starts.
B606A_BEFORE_CRL = "2025-08-15T05:20:00Z"

SGX01_VERDICT = ("ConfigurationAndSWHardeningNeeded", {"INTEL-SA-00289", "INTEL-SA-00615"})
SGX03_VERDICT = ("SWHardeningNeeded", {"INTEL-SA-00615"})
# sgx02 (debug enclave) as the peer rates its TCB once its debug refusal is skipped
# (docs/verification.md, D1): platform level 12.12.3.3… / PCE SVN 13, QE SVN 9 (UpToDate).
SGX02_VERDICT = ("OutOfDate",
                 {"INTEL-SA-00960", "INTEL-SA-00657", "INTEL-SA-00767", "INTEL-SA-00615"})

QUOTE_BODY_OFFSET = 0x70  # MRENCLAVE in the v3 report body: covered by the quote signature
ERR_LINE = re.compile(r"^error: (?:.*?: )??(ATT_ERR_[A-Z0-9_]+): ")


def read_quote(path):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".hex"):
        text = data.decode("ascii").strip().strip("\0").strip()
        data = bytes.fromhex(text[2:] if text[:2].lower() == "0x" else text)
    return data


class Peer:
    """@phala/dcap-qvl through dcap_qvl_verify.mjs: {"ok": True, "status", "advisory_ids"} or
    {"ok": False, "error"}."""

    @staticmethod
    def check_installed():
        h.require_node(PEER_NAME)
        pkg = os.path.join(h.JS_DIR, "node_modules", *PEER_NAME.split("/"), "package.json")
        with open(pkg, encoding="utf-8") as f:
            return json.load(f)["version"]

    @staticmethod
    def verify(quote, bundle, at, allow_debug=False):
        cmd = [h.NODE, PEER_CLI, "--quote", quote, "--collateral", bundle, "--at", at]
        if allow_debug:
            cmd.append("--allow-debug-enclave")
        proc = subprocess.run(cmd, cwd=h.JS_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=120)
        if proc.returncode != 0:
            raise AssertionError(f"peer {cmd} exited {proc.returncode}:\n{proc.stderr}")
        lines = proc.stdout.splitlines()
        if len(lines) != 1:
            raise AssertionError(f"peer printed {len(lines)} lines:\n{proc.stdout}")
        return json.loads(lines[0])


class Attestd:
    """attestctl verify sgx|tdx: ("accept", claims) or ("refuse", code, first stderr line)."""

    @staticmethod
    def verify(quote, bundle, at, kind="sgx"):
        cmd = [h.ATTESTCTL, "verify", kind, "--quote", quote, "--collateral", bundle, "--at", at]
        proc = subprocess.run(cmd, env=h.san_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=120)
        bad = h.sanitizer_problems(proc.stderr)
        if bad:
            raise AssertionError(f"attestctl: sanitizer report {bad}:\n{proc.stderr}")
        if proc.returncode == 0:
            return ("accept", json.loads(proc.stdout))
        if proc.returncode != 1:
            raise AssertionError(f"{cmd} exited {proc.returncode} (contract: 0 or 1):\n"
                                 f"{proc.stdout[-800:]}\n{proc.stderr[:800]}")
        first = proc.stderr.splitlines()[0] if proc.stderr else ""
        m = ERR_LINE.match(first)
        if m is None:
            raise AssertionError(f"attestctl refusal without 'error: ATT_ERR_...: ' line:\n"
                                 f"{proc.stderr}")
        return ("refuse", m.group(1), first)


class DcapQvlPeerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.peer_version = Peer.check_installed()
        cls.tmp = tempfile.mkdtemp(prefix="attestd-dcapqvl-")
        # Tampered inputs, written once: a quote-body byte flipped (sgx01, sgx03) and sgx01's
        # collateral with the last byte of the PCK CRL (its signature's s value) flipped.
        cls.tampered = {}
        for name, path in (("sgx01", SGX01), ("sgx03", SGX03)):
            q = bytearray(read_quote(path))
            q[QUOTE_BODY_OFFSET] ^= 0x01
            out = os.path.join(cls.tmp, f"{name}_tampered_quote.bin")
            with open(out, "wb") as f:
                f.write(q)
            cls.tampered[name] = out
        with open(SGX01_BUNDLE, encoding="utf-8") as f:
            bundle = json.load(f)
        crl = bytearray(bytes.fromhex(bundle["pck_crl"]))
        crl[-1] ^= 0x01
        bundle["pck_crl"] = crl.hex()
        cls.bad_crl_bundle = os.path.join(cls.tmp, "sgx01_bad_pck_crl_signature.json")
        with open(cls.bad_crl_bundle, "w", encoding="utf-8") as f:
            json.dump(bundle, f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- comparisons ----

    def both(self, quote, bundle, at):
        return Peer.verify(quote, bundle, at), Attestd.verify(quote, bundle, at)

    def assert_agree_accept(self, quote, bundle, at, verdict):
        peer, ours = self.both(quote, bundle, at)
        self.assertTrue(peer["ok"], f"peer refused: {peer}")
        self.assertEqual(ours[0], "accept", f"attestd refused, peer accepted {peer}: {ours}")
        claims = ours[1]
        self.assertEqual(claims["x-ms-sgx-tcb-status"], peer["status"])
        self.assertEqual(set(claims["x-ms-sgx-advisory-ids"]), set(peer["advisory_ids"]))
        self.assertEqual((peer["status"], set(peer["advisory_ids"])), verdict)  # MANIFEST
        return claims

    def assert_agree_refuse(self, quote, bundle, at, peer_error, code):
        peer, ours = self.both(quote, bundle, at)
        self.assertFalse(peer["ok"], f"peer accepted: {peer}")
        self.assertRegex(peer["error"], peer_error)
        self.assertEqual(ours[0], "refuse", f"attestd accepted, peer refused ({peer['error']})")
        self.assertEqual(ours[1], code, ours[2])

    # ---- the peer itself ----

    def test_peer_version_pinned(self):
        with open(os.path.join(h.JS_DIR, "package.json"), encoding="utf-8") as f:
            deps = json.load(f)["dependencies"]
        self.assertEqual(deps[PEER_NAME], PEER_VERSION)  # exact, no range
        self.assertEqual(self.peer_version, PEER_VERSION)

    def test_differences_are_documented(self):
        with open(DOC, encoding="utf-8") as f:
            doc = f.read()
        section = doc.split("## Deliberate differences", 1)
        self.assertEqual(len(section), 2, "docs/verification.md lacks '## Deliberate differences'")
        for row in ("D1", "D2", "D3", "D4", "D5", "D6"):
            self.assertRegex(section[1], rf"(?m)^\| {row} \|")

    # ---- agreement: inside the window ----

    def test_sgx01_in_window(self):
        c = self.assert_agree_accept(SGX01, SGX01_BUNDLE, SGX01_AT, SGX01_VERDICT)
        self.assertIs(c["x-ms-sgx-is-debuggable"], False)

    def test_sgx01_window_start_as_epoch_seconds(self):
        self.assert_agree_accept(SGX01, SGX01_BUNDLE, "1750334171", SGX01_VERDICT)  # 10:56:11Z

    def test_sgx03_in_window(self):
        c = self.assert_agree_accept(SGX03, BUNDLE_00606A, B606A_AT, SGX03_VERDICT)
        self.assertIs(c["x-ms-sgx-is-debuggable"], False)

    # ---- agreement: after the window ----

    def test_sgx01_after_window(self):
        self.assert_agree_refuse(SGX01, SGX01_BUNDLE, SGX01_AFTER, r"expired",
                                 "ATT_ERR_COLLATERAL_EXPIRED")

    def test_sgx02_after_window(self):
        self.assert_agree_refuse(SGX02, BUNDLE_00606A, B606A_AFTER, r"expired",
                                 "ATT_ERR_COLLATERAL_EXPIRED")

    def test_sgx03_after_window(self):
        self.assert_agree_refuse(SGX03, BUNDLE_00606A, B606A_AFTER, r"expired",
                                 "ATT_ERR_COLLATERAL_EXPIRED")

    # ---- agreement: quote body changed ----

    def test_sgx01_tampered_quote(self):
        self.assert_agree_refuse(self.tampered["sgx01"], SGX01_BUNDLE, SGX01_AT,
                                 r"signature is invalid", "ATT_ERR_QUOTE_SIGNATURE")

    def test_sgx03_tampered_quote(self):
        self.assert_agree_refuse(self.tampered["sgx03"], BUNDLE_00606A, B606A_AT,
                                 r"signature is invalid", "ATT_ERR_QUOTE_SIGNATURE")

    # ---- deliberate differences (docs/verification.md) ----

    def test_d1_sgx02_debug_enclave(self):
        """D1: the peer refuses debug enclaves; attestd (like MAA and Intel's QVL) verifies the
        quote, reports x-ms-sgx-is-debuggable = true and leaves refusal to the policy."""
        peer, ours = self.both(SGX02, BUNDLE_00606A, B606A_AT)
        self.assertEqual(peer, {"ok": False, "error": "Debug mode is enabled"})
        self.assertEqual(ours[0], "accept", ours)
        claims = ours[1]
        self.assertIs(claims["x-ms-sgx-is-debuggable"], True)
        # The TCB rating itself agrees with the peer once its debug check is skipped.
        lax = Peer.verify(SGX02, BUNDLE_00606A, B606A_AT, allow_debug=True)
        self.assertTrue(lax["ok"], lax)
        self.assertEqual((lax["status"], set(lax["advisory_ids"])), SGX02_VERDICT)
        self.assertEqual(claims["x-ms-sgx-tcb-status"], lax["status"])
        self.assertEqual(set(claims["x-ms-sgx-advisory-ids"]), set(lax["advisory_ids"]))

    def test_d2_sgx03_before_pck_crl_this_update(self):
        """D2: the peer ignores CRL validity dates; attestd refuses collateral not yet issued."""
        peer, ours = self.both(SGX03, BUNDLE_00606A, B606A_BEFORE_CRL)
        self.assertTrue(peer["ok"], peer)
        self.assertEqual((peer["status"], set(peer["advisory_ids"])), SGX03_VERDICT)
        self.assertEqual(ours[0], "refuse", ours)
        self.assertEqual(ours[1], "ATT_ERR_COLLATERAL_NOT_YET_VALID", ours[2])

    def test_d3_sgx01_pck_crl_signature_broken(self):
        """D3: the peer does not check CRL signatures; attestd refuses an unsigned PCK CRL."""
        peer, ours = self.both(SGX01, self.bad_crl_bundle, SGX01_AT)
        self.assertTrue(peer["ok"], peer)
        self.assertEqual((peer["status"], set(peer["advisory_ids"])), SGX01_VERDICT)
        self.assertEqual(ours[0], "refuse", ours)
        self.assertEqual(ours[1], "ATT_ERR_PCK_CRL_INVALID", ours[2])


# ---- TDX (v4 and v5): attestctl verify tdx against the same peer ----

TDX_DIR = os.path.join(h.ROOT, "tests", "fixtures", "dcap", "tdx")


def tdx(name):
    return os.path.join(TDX_DIR, name)


# (quote, bundle, time inside the bundle's window): tests/fixtures/dcap/tdx/README.md
TDX01 = (tdx("tdx01_dcapqvl_v4_quote.bin"), tdx("tdx01_dcapqvl_collateral.json"),
         "2025-06-20T00:00:00Z")
TDX02 = (tdx("tdx02_dcapqvl_v5_outdated_quote.bin"), tdx("tdx02_dcapqvl_outdated_collateral.json"),
         "2026-02-19T00:00:00Z")
TDX03 = (tdx("tdx03_dcapqvl_tappd_quote.hex"), tdx("tdx01_dcapqvl_collateral.json"),
         "2025-06-20T00:00:00Z")
TDX04 = (tdx("tdx04_gotdx_spr_e4_v4_quote.bin"),
         tdx("tdx04_gotdx_collateral_50806f_2023-06_bundle.json"), "2023-07-01T01:00:00Z")
TDX05 = (tdx("tdx05_gotdx_v5_quote.bin"), tdx("tdx05_gotdx_collateral_90c06f_2026-02_bundle.json"),
         "2026-02-05T00:00:00Z")
B00806F = tdx("collateral_00806f050000_2025-10_bundle.json")
TDX06 = (tdx("tdx06_automata_v4_quote_padded8000.hex"), B00806F, "2025-10-20T00:00:00Z")
TDX07 = (tdx("tdx07_gotdx_cos113_quote_padded8000.bin"), B00806F, "2025-10-20T00:00:00Z")
TDX08 = (tdx("tdx08_trustee_v4_quote.bin"),
         tdx("tdx08_trustee_collateral_00a06d080000_2025-10_bundle.json"), "2025-10-29T00:00:00Z")
TDX09 = (tdx("tdx09_automata_alibaba_v5_quote.bin"),
         tdx("collateral_90c06f000000_2025-06_bundle.json"), "2025-06-20T00:00:00Z")
TDX10 = (tdx("tdx10_azure_tdx_vtpm_td_quote.bin"), B00806F, "2025-10-20T00:00:00Z")
ADVISORIES_00806F = {"INTEL-SA-00960", "INTEL-SA-00982", "INTEL-SA-00986"}


class DcapQvlPeerTdxTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        Peer.check_installed()

    def both(self, case):
        quote, bundle, at = case
        return Peer.verify(quote, bundle, at), Attestd.verify(quote, bundle, at, kind="tdx")

    def assert_agree_accept(self, case, status, advisories):
        peer, ours = self.both(case)
        self.assertTrue(peer["ok"], f"peer refused: {peer}")
        self.assertEqual(ours[0], "accept", f"attestd refused, peer accepted {peer}: {ours}")
        self.assertEqual((peer["status"], set(peer["advisory_ids"])), (status, advisories))
        self.assertEqual(ours[1]["attester_tcb_status"], status)
        self.assertEqual(set(ours[1]["attester_advisory_ids"]), advisories)

    def assert_agree_refuse(self, case, peer_error, code):
        peer, ours = self.both(case)
        self.assertEqual(peer, {"ok": False, "error": peer_error})
        self.assertEqual(ours[0], "refuse", ours)
        self.assertEqual(ours[1], code, ours[2])

    def test_tdx01_v4_up_to_date(self):
        self.assert_agree_accept(TDX01, "UpToDate", set())

    def test_tdx05_v5_up_to_date(self):
        self.assert_agree_accept(TDX05, "UpToDate", set())

    def test_tdx06_out_of_date(self):
        self.assert_agree_accept(TDX06, "OutOfDate", ADVISORIES_00806F)

    def test_tdx08_out_of_date(self):
        self.assert_agree_accept(TDX08, "OutOfDate", set())

    def test_tdx02_tdx03_below_every_level(self):
        for case in (TDX02, TDX03):
            self.assert_agree_refuse(case, "No matching TCB level found",
                                     "ATT_ERR_TCB_NOT_SUPPORTED")

    def test_d4_tdx04_bytes_after_the_quote(self):
        """D4: tdx04 carries non-zero bytes after its declared end; attestd refuses them."""
        peer, ours = self.both(TDX04)
        self.assertEqual(peer, {"ok": False, "error": "No matching TCB level found"})
        self.assertEqual(ours[:2], ("refuse", "ATT_ERR_QUOTE_PADDING"), ours)

    def test_d5_module_identity_judges_the_module_svn(self):
        """D5: with a module major version, QVL judges TEE_TCB_SVN[0..1] by the module identity;
        the peer compares them with the TDX components of the platform levels."""
        peer, ours = self.both(TDX07)
        self.assertEqual((peer["status"], set(peer["advisory_ids"])),
                         ("OutOfDate", ADVISORIES_00806F))
        self.assertEqual(ours[0], "accept", ours)
        self.assertEqual(ours[1]["attester_tcb_status"], "UpToDate")
        peer, ours = self.both(TDX10)
        self.assertEqual(peer, {"ok": False, "error": "No matching TCB level found"})
        self.assertEqual(ours[0], "accept", ours)
        self.assertEqual(ours[1]["attester_tcb_status"], "OutOfDate")

    def test_d6_service_td_left_to_policy(self):
        """D6: a bound service TD (MRSERVICETD) is appraisal policy, as a debug enclave is (D1)."""
        peer, ours = self.both(TDX09)
        self.assertEqual(peer, {"ok": False, "error": "Invalid mr service td"})
        self.assertEqual(ours[0], "accept", ours)
        self.assertNotEqual(ours[1]["tdx_mrservicetd"], "00" * 48)


if __name__ == "__main__":
    unittest.main()
