"""GET /certs and OpenID metadata for several providers, and tokens that verify against them
with nothing but what /certs serves (openssl, and the npm `jose` package)."""
import base64
import json
import time
import unittest

import harness as h

PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
API_VERSIONS = (None, "2020-10-01", "2025-06-01")
# claims_supported of the OpenID metadata, exactly and in order (src/attest/claims.c,
# att_attest_claims_supported): the claims attestd itself sets for every evidence type, then those
# the default policies issue. The attestation tests check real tokens against it
# (harness.assert_claims_supported).
CLAIMS_SUPPORTED = [
    # the registered claims (RFC 7519 §4.1)
    "iss", "iat", "nbf", "exp", "jti",
    # those the steps every type shares set
    "x-ms-runtime", "x-ms-inittime", "x-ms-policy-hash", "x-ms-policy-signer",
    # SgxEnclave and OpenEnclave (and x-ms-sgx-tcbidentifier, from the policy's property)
    "x-ms-attestation-type", "x-ms-ver", "x-ms-sgx-is-debuggable", "x-ms-sgx-mrenclave",
    "x-ms-sgx-mrsigner", "x-ms-sgx-product-id", "x-ms-sgx-svn", "x-ms-sgx-report-data",
    "x-ms-sgx-config-id", "x-ms-sgx-config-svn", "x-ms-sgx-isv-extended-product-id",
    "x-ms-sgx-isv-family-id", "x-ms-sgx-tcb-status", "x-ms-sgx-advisory-ids",
    "x-ms-sgx-tcb-evaluation-data-number", "x-ms-sgx-fmspc", "x-ms-sgx-collateral",
    "maa-attestationcollateral", "x-ms-sgx-ehd", "maa-ehd", "aas-ehd", "nonce",
    "x-ms-sgx-tcbidentifier",
    # SevSnpVm
    "x-ms-sevsnpvm-authorkeydigest", "x-ms-sevsnpvm-familyId", "x-ms-sevsnpvm-hostdata",
    "x-ms-sevsnpvm-idkeydigest", "x-ms-sevsnpvm-imageId", "x-ms-sevsnpvm-launchmeasurement",
    "x-ms-sevsnpvm-reportdata", "x-ms-sevsnpvm-reportid", "x-ms-sevsnpvm-chipid",
    "x-ms-sevsnpvm-is-debuggable", "x-ms-sevsnpvm-migration-allowed", "x-ms-sevsnpvm-smt-allowed",
    "x-ms-sevsnpvm-single-socket", "x-ms-sevsnpvm-guestsvn", "x-ms-sevsnpvm-vmpl",
    "x-ms-sevsnpvm-abi-major", "x-ms-sevsnpvm-abi-minor", "x-ms-sevsnpvm-report-version",
    "x-ms-sevsnpvm-launch-mit-vector", "x-ms-sevsnpvm-current-mit-vector",
    "x-ms-sevsnpvm-bootloader-svn", "x-ms-sevsnpvm-tee-svn", "x-ms-sevsnpvm-snpfw-svn",
    "x-ms-sevsnpvm-microcode-svn", "x-ms-sevsnpvm-fmc-svn",
    "x-ms-sevsnpvm-currenttcb-bootloader-svn", "x-ms-sevsnpvm-currenttcb-tee-svn",
    "x-ms-sevsnpvm-currenttcb-snpfw-svn", "x-ms-sevsnpvm-currenttcb-microcode-svn",
    "x-ms-sevsnpvm-currenttcb-fmc-svn", "x-ms-sevsnpvm-committedtcb-bootloader-svn",
    "x-ms-sevsnpvm-committedtcb-tee-svn", "x-ms-sevsnpvm-committedtcb-snpfw-svn",
    "x-ms-sevsnpvm-committedtcb-microcode-svn", "x-ms-sevsnpvm-committedtcb-fmc-svn",
    "x-ms-sevsnpvm-launchtcb-bootloader-svn", "x-ms-sevsnpvm-launchtcb-tee-svn",
    "x-ms-sevsnpvm-launchtcb-snpfw-svn", "x-ms-sevsnpvm-launchtcb-microcode-svn",
    "x-ms-sevsnpvm-launchtcb-fmc-svn", "x-ms-sevsnpvm-product", "x-ms-sevsnpvm-signing-key",
    "x-ms-sevsnpvm-csp-id",
    # TdxVm
    "eat_profile", "dbgstat", "intuse", "tdx_mrsignerseam", "tdx_mrseam", "tdx_mrtd", "tdx_rtmr0",
    "tdx_rtmr1", "tdx_rtmr2", "tdx_rtmr3", "tdx_mrconfigid", "tdx_mrowner", "tdx_mrownerconfig",
    "tdx_report_data", "tdx_seam_attributes", "tdx_tee_tcb_svn", "tdx_xfam", "tdx_td_attributes",
    "tdx_seamsvn", "tdx_td_attributes_debug", "tdx_td_attributes_key_locker",
    "tdx_td_attributes_perfmon", "tdx_td_attributes_protection_keys",
    "tdx_td_attributes_septve_disable", "tdx_tee_tcb_svn2", "tdx_mrservicetd",
    "attester_tcb_status", "attester_advisory_ids", "x-ms-tdx-tcb-evaluation-data-number",
    "x-ms-tdx-fmspc",
    # TpmQuote, and cnf and rp_data of /attest/Tpm
    "x-ms-tpm-ak-validated", "x-ms-tpm-ak-pub-hash", "x-ms-tpm-pcrs", "x-ms-tpm-eventlog-pcrs",
    "x-ms-tpm-secureboot", "x-ms-tpm-boot-apps", "x-ms-tpm-kernel-cmdline", "x-ms-tpm-freshness",
    "cnf", "rp_data",
    # AzureGuest
    "secureboot", "x-ms-azurevm-ostype", "x-ms-azurevm-osdistro", "x-ms-azurevm-osbuild",
    "x-ms-azurevm-is-windows", "x-ms-azurevm-osversion-major", "x-ms-azurevm-osversion-minor",
    "x-ms-azurevm-attestation-protocol-ver", "x-ms-azurevm-vmid", "x-ms-azurevm-attested-pcrs",
    "x-ms-isolation-tee",
    # what the default policies issue (SgxEnclave, SevSnpVm, TdxVm)
    "is-debuggable", "sgx-mrsigner", "sgx-mrenclave", "product-id", "svn", "tee",
    "x-ms-compliance-status", "sevsnpvm-launchmeasurement", "sevsnpvm-hostdata",
    "sevsnpvm-idkeydigest", "sevsnpvm-authorkeydigest", "sevsnpvm-familyId", "sevsnpvm-imageId",
    "sevsnpvm-guestsvn", "sevsnpvm-vmpl", "tdx-mrtd", "tdx-rtmr0", "tdx-rtmr1", "tdx-rtmr2",
    "tdx-rtmr3", "tdx-mrconfigid", "tdx-mrowner", "tdx-mrownerconfig", "tdx-mrseam", "tdx-seamsvn",
]


def with_version(path, version):
    return path if version is None else f"{path}?api-version={version}"


class MetadataTest(unittest.TestCase):
    CUSTOM_ISSUER = "https://attest.example.test/tenant-a"

    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon()
        try:
            cls.d.attestctl("provider", "create", "ectest", "--alg", "ES256")
            cls.d.attestctl("provider", "create", "custom", "--issuer", cls.CUSTOM_ISSUER)
            cls.d.reload()
            base = cls.d.base_url
            # name -> (path prefix, issuer, alg, kty)
            cls.providers = {
                "default": ("", base, "RS256", "RSA"),
                "ectest": ("/providers/ectest", f"{base}/providers/ectest", "ES256", "EC"),
                "custom": ("/providers/custom", cls.CUSTOM_ISSUER, "RS256", "RSA"),
            }
            cls.shown = {n: json.loads(cls.d.attestctl("provider", "show", n).stdout)
                         for n in cls.providers}
        except BaseException:
            cls.d.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def jwks(self, name, version=None):
        prefix = self.providers[name][0]
        status, headers, body = self.d.request("GET", with_version(prefix + "/certs", version))
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["Content-Type"], "application/json; charset=utf-8")
        return json.loads(body)

    # ---- /certs ----

    def test_attestctl_reports_the_providers(self):
        for name, (_, issuer, alg, _) in self.providers.items():
            with self.subTest(provider=name):
                shown = self.shown[name]
                self.assertEqual(shown["name"], name)
                self.assertEqual(shown["issuer"], issuer)
                self.assertEqual(shown["signing_alg"], alg)
                self.assertEqual(shown["default"], name == "default")
                self.assertEqual(len(shown["keys"]), 1)
        listed = json.loads(self.d.attestctl("provider", "list").stdout)
        self.assertEqual(sorted(p["name"] for p in listed), ["custom", "default", "ectest"])

    def test_certs_same_document_with_and_without_api_version(self):
        for name, (prefix, _, _, _) in self.providers.items():
            bodies = set()
            for version in API_VERSIONS:
                with self.subTest(provider=name, version=version):
                    status, _, body = self.d.request("GET", with_version(prefix + "/certs",
                                                                         version))
                    self.assertEqual(status, 200, body)
                    bodies.add(body)
            self.assertEqual(len(bodies), 1, f"{name}: /certs differs between api-versions")
        # The default provider also under its own name.
        self.assertEqual(self.jwks("default"), self.d.get_json("/providers/default/certs")[2])

    def check_jwk_common(self, name, jwk):
        _, issuer, alg, kty = self.providers[name]
        self.assertEqual(jwk["kid"], self.shown[name]["keys"][0]["kid"])
        self.assertEqual(jwk["kty"], kty)
        self.assertEqual(jwk["alg"], alg)
        self.assertEqual(PRIVATE_JWK_MEMBERS & set(jwk), set(), "private key members in /certs")
        self.assertIsInstance(jwk["x5c"], list)
        self.assertGreaterEqual(len(jwk["x5c"]), 1)
        cert = base64.b64decode(jwk["x5c"][0], validate=True)  # standard base64, not b64url
        # The certificate holds exactly the key of the JWK members, and names the issuer.
        self.assertEqual(h.cert_spki_der(cert), h.jwk_to_spki_der(jwk))
        self.assertEqual(h.cert_subject(cert), f"subject=CN={issuer}")
        self.assertEqual(self.shown[name]["keys"][0]["certificate_sha256"],
                         h.openssl("dgst", "-sha256", "-r", input=cert).stdout.split()[0].decode())

    def test_rsa_jwks(self):
        for name in ("default", "custom"):
            with self.subTest(provider=name):
                doc = self.jwks(name)
                self.assertEqual(list(doc), ["keys"])
                self.assertEqual(len(doc["keys"]), 1)
                jwk = doc["keys"][0]
                self.check_jwk_common(name, jwk)
                self.assertEqual(jwk["e"], "AQAB")
                self.assertEqual(len(h.b64url_decode(jwk["n"])), 256)  # RSA-2048
                self.assertNotIn("crv", jwk)

    def test_ec_jwks(self):
        doc = self.jwks("ectest", "2020-10-01")
        self.assertEqual(len(doc["keys"]), 1)
        jwk = doc["keys"][0]
        self.check_jwk_common("ectest", jwk)
        self.assertEqual(jwk["crv"], "P-256")
        self.assertEqual(len(h.b64url_decode(jwk["x"])), 32)
        self.assertEqual(len(h.b64url_decode(jwk["y"])), 32)
        self.assertNotIn("n", jwk)

    def test_providers_have_distinct_keys(self):
        kids = {self.jwks(n)["keys"][0]["kid"] for n in self.providers}
        self.assertEqual(len(kids), 3)

    def test_head_certs(self):
        _, _, get_body = self.d.request("GET", "/certs")
        status, headers, body = self.d.request("HEAD", "/certs")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"")
        self.assertEqual(int(headers["Content-Length"]), len(get_body))

    # ---- OpenID metadata ----

    def test_openid_configuration(self):
        for name, (prefix, issuer, alg, _) in self.providers.items():
            for version in API_VERSIONS:
                with self.subTest(provider=name, version=version):
                    status, headers, doc = self.d.get_json(
                        with_version(prefix + "/.well-known/openid-configuration", version))
                    self.assertEqual(status, 200, doc)
                    self.assertEqual(headers["Content-Type"], "application/json; charset=utf-8")
                    self.assertEqual(doc["issuer"], issuer)
                    self.assertEqual(doc["jwks_uri"], issuer + "/certs")
                    self.assertIn(alg, doc["id_token_signing_alg_values_supported"])
                    self.assertIsInstance(doc["response_types_supported"], list)
                    self.assertEqual(doc["claims_supported"], CLAIMS_SUPPORTED)

    def test_unknown_api_version(self):
        for path in ("/certs", "/.well-known/openid-configuration", "/providers/ectest/certs",
                     "/providers/ectest/.well-known/openid-configuration"):
            for version in ("1999-01-01", "", "2020-10-01x"):
                with self.subTest(path=path, version=version):
                    status, headers, body = self.d.request("GET", f"{path}?api-version={version}")
                    self.assertEqual(status, 400, body)
                    self.assertEqual(h.error_of(body)[0], "InvalidParameter")
                    self.assertEqual(headers["x-ms-error-code"], "InvalidParameter")

    def test_unknown_provider(self):
        for path in ("/providers/nope/certs", "/providers/nope/.well-known/openid-configuration",
                     "/providers/ECTEST/certs"):
            with self.subTest(path=path):
                status, headers, body = self.d.request("GET", path)
                self.assertEqual(status, 404, body)
                self.assertEqual(h.error_of(body)[0], "NotFound")
                self.assertEqual(headers["x-ms-error-code"], "NotFound")
                self.assertRegex(headers["x-ms-request-id"], h.UUID_RE)

    def test_deleted_provider_disappears_on_reload(self):
        # Written behind attestd's back (--direct): served from the loaded set until SIGHUP.
        self.d.attestctl("--direct", "provider", "create", "temp", "--alg", "ES256")
        self.d.reload()
        self.assertEqual(self.d.request("GET", "/providers/temp/certs")[0], 200)
        self.d.attestctl("--direct", "provider", "delete", "temp")
        self.assertEqual(self.d.request("GET", "/providers/temp/certs")[0], 200,
                         "served from the loaded set until SIGHUP")
        self.d.reload()
        status, _, body = self.d.request("GET", "/providers/temp/certs")
        self.assertEqual(status, 404)
        self.assertEqual(h.error_of(body)[0], "NotFound")
        # Through the admin socket, both take effect before attestctl returns.
        self.d.attestctl("provider", "create", "temp2")
        self.assertEqual(self.d.request("GET", "/providers/temp2/certs")[0], 200)
        self.d.attestctl("provider", "delete", "temp2")
        self.assertEqual(self.d.request("GET", "/providers/temp2/certs")[0], 404)
        # The default provider cannot be deleted.
        proc = self.d.attestctl("provider", "delete", "default", check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("default provider cannot be deleted", proc.stderr)

    # ---- health ----

    def test_healthz(self):
        status, headers, body = self.d.request("GET", "/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(body, b'{"status":"ok"}')
        self.assertEqual(headers["Content-Type"], "application/json; charset=utf-8")
        self.assertRegex(headers["x-ms-request-id"], h.UUID_RE)

    def test_readyz(self):
        # Anyone gets the status; the detail (provider count, collateral) is for an
        # authenticated Reader of every provider (security review: it told anonymous
        # callers about the deployment).
        status, _, doc = self.d.get_json("/readyz")
        self.assertEqual((status, doc), (200, {"status": "ready"}))
        auth = {"Authorization": "Bearer " + h.owner_token(self.d)}
        status, _, doc = self.d.get_json("/readyz", headers=auth)
        self.assertEqual(status, 200)
        self.assertEqual(doc["status"], "ready")
        self.assertEqual(doc["checks"]["store"], "ok")
        self.assertEqual(doc["checks"]["keys"]["status"], "ok")
        self.assertEqual(doc["checks"]["keys"]["providers"], 3)
        self.assertEqual(doc["checks"]["collateral"], "ok")
        # a bad token is refused as anywhere else
        status, _, body = self.d.request("GET", "/readyz",
                                         headers={"Authorization": "Bearer x.y.z"})
        self.assertEqual(status, 401, body)

    def test_health_routes_are_root_only(self):
        for path in ("/providers/ectest/healthz", "/providers/default/readyz"):
            with self.subTest(path=path):
                status, _, body = self.d.request("GET", path)
                self.assertEqual(status, 404)
                self.assertEqual(h.error_of(body)[0], "NotFound")

    # ---- tokens ----

    def issue(self, name, claims=None):
        args = ["token", "issue", "--provider", name]
        if claims is not None:
            args += ["--claims", json.dumps(claims)]
        return self.d.attestctl(*args).stdout.strip()

    def test_tokens_verify_against_certs_with_openssl(self):
        for name, (prefix, issuer, alg, _) in self.providers.items():
            with self.subTest(provider=name):
                before = int(time.time())
                token = self.issue(name, {"nonce": "n-123", "x-test": {"a": [1, 2]}})
                jwks = self.jwks(name)
                header, payload = h.verify_jws(token, jwks)
                self.assertEqual(header["alg"], alg)
                self.assertEqual(header["kid"], jwks["keys"][0]["kid"])
                self.assertEqual(header["typ"], "JWT")
                self.assertEqual(header["jku"], issuer + "/certs")
                self.assertEqual(payload["iss"], issuer)
                self.assertEqual(payload["nonce"], "n-123")
                self.assertEqual(payload["x-test"], {"a": [1, 2]})
                self.assertIs(payload["x-attestd-test-token"], True)
                self.assertEqual(payload["exp"] - payload["iat"], 3600)
                self.assertLessEqual(payload["nbf"], payload["iat"])
                self.assertLessEqual(abs(payload["iat"] - before), 5)

    def test_token_does_not_verify_against_another_providers_keys(self):
        token = self.issue("ectest")
        for other in ("default", "custom"):
            with self.subTest(other=other):
                with self.assertRaises(h.VerifyError):
                    h.verify_jws(token, self.jwks(other))
        # Even with the kid forced to match, the other key does not verify the signature.
        rsa_a = self.issue("default")
        jwks_b = self.jwks("custom")
        header, _, _, _ = h.decode_jwt(rsa_a)
        forged = json.loads(json.dumps(jwks_b))
        forged["keys"][0]["kid"] = header["kid"]
        forged["keys"][0].pop("x5c")
        with self.assertRaisesRegex(h.VerifyError, "signature does not verify"):
            h.verify_jws(rsa_a, forged)

    def test_tampered_tokens_rejected_by_openssl(self):
        for name in self.providers:
            token = self.issue(name)
            jwks = self.jwks(name)
            for bad in (h.flip_payload_char(token), h.tamper_payload(token)):
                with self.subTest(provider=name, bad=bad[:30]):
                    with self.assertRaisesRegex(h.VerifyError, "signature does not verify"):
                        h.verify_jws(bad, jwks)

    def test_tokens_verify_with_jose(self):
        for name, (prefix, issuer, alg, _) in self.providers.items():
            with self.subTest(provider=name):
                token = self.issue(name, {"nonce": "jose-1"})
                url = f"{self.d.base_url}{prefix}/certs"
                proc = h.jose_verify(url, token, issuer, self.d.ca)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                out = json.loads(proc.stdout)
                self.assertEqual(out["header"]["alg"], alg)
                self.assertEqual(out["payload"]["iss"], issuer)
                self.assertEqual(out["payload"]["nonce"], "jose-1")
                self.assertEqual(out["payload"], h.decode_jwt(token)[1])

    def test_jose_rejects_tampered_and_wrong_issuer(self):
        token = self.issue("ectest")
        url = f"{self.d.base_url}/providers/ectest/certs"
        issuer = self.providers["ectest"][1]
        for bad in (h.flip_payload_char(token), h.tamper_payload(token)):
            with self.subTest(bad=bad[:30]):
                proc = h.jose_verify(url, bad, issuer, self.d.ca)
                self.assertEqual(proc.returncode, 1, proc.stdout)
                self.assertIn("ERR_JWS_SIGNATURE_VERIFICATION_FAILED", proc.stderr)
                self.assertEqual(proc.stdout, "")
        proc = h.jose_verify(url, token, self.d.base_url, self.d.ca)  # the default's issuer
        self.assertEqual(proc.returncode, 1)
        self.assertIn("ERR_JWT_CLAIM_VALIDATION_FAILED", proc.stderr)
        # The right token against the wrong provider's JWKS: no matching key.
        proc = h.jose_verify(f"{self.d.base_url}/certs", token, issuer, self.d.ca)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("ERR_JWKS_NO_MATCHING_KEY", proc.stderr)


if __name__ == "__main__":
    unittest.main()
