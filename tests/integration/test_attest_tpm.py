"""TPM 2.0 attestation through POST /attest/TpmQuote against a real software TPM (swtpm, driven by
tpm2-tools; tests/integration/swtpm.py): an EK and an AK are created, PCRs are extended with
events the test also writes into a TCG log, the AK's certificate is issued by a test CA that the
daemon trusts (tpm_ak_roots), and the quote answers a challenge from the daemon.

Accepted: the whole chain, with the token's measurements (Secure Boot, boot application, kernel
command line, quoted PCRs) and MAA's incoming claims seen by a policy. Refused, each with its own
code: a wrong nonce, a challenge used twice or forged, a PCR extended after the log was written,
an altered log event, a quote signed by another key, a signing key that is not an AK, an AK
certificate from an untrusted CA (require_valid_aik_cert), a quote leaving out a PCR the policy
requires (required_pcr_mask).
"""
import base64
import hashlib
import json
import os
import shutil
import tempfile
import unittest

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import harness as h
import swtpm

CMDLINE = "root=/dev/vda1 ro quiet"
BOOT_APP = hashlib.sha256(b"shimx64.efi").digest()
# `pcrs` is read-only (docs/reference/maa-policy.md §3.4): its values steer rules, never issue.
POLICY_JSON_CLAIMS = """version=1.2;
configurationrules{ => issueproperty(type="require_valid_aik_cert", value=false); };
authorizationrules{ => permit(); };
issuancerules{
  c:[type=="aikValidated"] => issue(type="ak-ok", value=c.value);
  c:[type=="secureBootEnabled"] => issue(type="sb", value=c.value);
  c:[type=="events", issuer=="AttestationService"] => issue(type="ipl-count",
      value=JsonToClaimValue(JmesPath(c.value, "length(Events[?EventTypeString == 'EV_IPL'])")));
  c:[type=="pcrs", issuer=="AttestationService"] => add(type="pcr8",
      value=JmesPath(c.value, "PCRs[?Index == `8`].Digests.SHA256 | @[0] == '%s'"));
  [type=="pcr8", value=="true"] => issue(type="pcr8-matches", value=true);
};
"""
NEEDS_PCR_24 = """version=1.2;
configurationrules{ => issueproperty(type="required_pcr_mask", value=16777215); };
authorizationrules{ => permit(); };
issuancerules{};
"""


class TpmMachine:
    """What both classes attest: a swtpm with an AK, a boot that extended PCRs 4, 7 and 8 as its
    log says, the AK's certificate from a CA the daemon trusts (and one from a CA it does not)."""

    @staticmethod
    def start(cls, prefix):
        cls.tmp = tempfile.mkdtemp(prefix=prefix)
        cls.tpm = swtpm.Swtpm(cls.tmp)
        cls.ak_pub, cls.ak_pem = cls.tpm.create_ak()
        cls.log = swtpm.EventLog(cls.tpm)
        cls.log.secure_boot(True)
        cls.log.boot_app(BOOT_APP)
        cls.log.kernel_cmdline(CMDLINE)
        ak_key = serialization.load_pem_public_key(cls.ak_pem)
        ca_key, ca_cert = swtpm.make_ak_ca("attestd test TPM CA")
        cls.ak_cert = swtpm.issue_ak_cert(ca_key, ca_cert, ak_key)
        other_key, other_cert = swtpm.make_ak_ca("untrusted TPM CA")
        cls.untrusted_ak_cert = swtpm.issue_ak_cert(other_key, other_cert, ak_key)
        roots = os.path.join(cls.tmp, "ak_roots.pem")
        with open(roots, "wb") as f:
            f.write(ca_cert.public_bytes(serialization.Encoding.PEM))
        cls.d = h.Daemon(config="tpm_ak_roots = %s\n" % roots)

    @staticmethod
    def stop(cls):
        cls.d.cleanup()
        cls.tpm.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)


@unittest.skipUnless(swtpm.available(), "swtpm and tpm2-tools are not installed")
class TpmQuoteTest(unittest.TestCase):
    time_limit = 300

    @classmethod
    def setUpClass(cls):
        TpmMachine.start(cls, "attestd-tpm-")

    @classmethod
    def tearDownClass(cls):
        TpmMachine.stop(cls)

    def challenge(self):
        status, _, data = self.d.request("POST", "/attest/TpmQuote:challenge")
        self.assertEqual(status, 200, data)
        doc = json.loads(data)
        self.assertEqual(len(bytes.fromhex(doc["nonce"])), 32)
        return doc["challenge"], bytes.fromhex(doc["nonce"])

    def body(self, challenge, nonce, key="ak", ak_pub=None, cert=True, log=None, pcrs=range(24)):
        msg, sig = self.tpm.quote(nonce, key=key, pcrs=pcrs)
        doc = {"quote": h.b64url_encode(msg), "signature": h.b64url_encode(sig),
               "akPublic": h.b64url_encode(ak_pub or self.ak_pub),
               "pcrs": {"sha256": self.tpm.pcrs()},
               "eventLog": h.b64url_encode(log if log is not None else self.log.data),
               "challenge": challenge}
        if cert:
            doc["akCertificate"] = h.b64url_encode(cert if isinstance(cert, bytes)
                                                   else self.ak_cert)
        return doc

    def post(self, body):
        return h.post_json(self.d, "/attest/TpmQuote", body)

    def refused(self, body, inner):
        return h.refusal(self, *self.post(body), inner)

    def set_policy(self, text):
        """PUT /policies/Tpm (unsigned: the provider's AAD mode); None resets it."""
        token = h.owner_token(self.d)
        path = "/policies/Tpm" + (":reset" if text is None else "") + "?api-version=2020-10-01"
        status, _, body = self.d.request("POST" if text is None else "PUT", path,
                                         body=h.unsigned_policy_jws(text).encode(),
                                         headers={"Authorization": "Bearer " + token,
                                                  "Content-Type": "text/plain"})
        self.assertEqual(status, 200, body)

    def test_1_accepted(self):
        challenge, nonce = self.challenge()
        status, doc = self.post(self.body(challenge, nonce))
        self.assertEqual(status, 200, doc)
        c = h.verify_jws(doc["token"], self.d.get_json("/certs")[2])[1]
        self.assertEqual(c["x-ms-attestation-type"], "tpm")
        self.assertIs(c["x-ms-tpm-ak-validated"], True)
        self.assertIs(c["x-ms-tpm-secureboot"], True)
        self.assertEqual(c["x-ms-tpm-boot-apps"], [BOOT_APP.hex()])
        self.assertEqual(c["x-ms-tpm-kernel-cmdline"], CMDLINE)
        self.assertEqual(c["x-ms-tpm-eventlog-pcrs"], [4, 7, 8])
        self.assertEqual(c["x-ms-tpm-pcrs"]["SHA256"]["8"], self.tpm.pcrs()["8"])
        self.assertEqual(len(c["x-ms-tpm-pcrs"]["SHA256"]), 24)
        spki = h.pem_to_der(self.ak_pem.decode())
        self.assertEqual(c["x-ms-tpm-ak-pub-hash"],
                         base64.b64encode(hashlib.sha256(spki).digest()).decode())
        # the policy-only claims never reach the token
        for name in ("events", "pcrs", "aikValidated"):
            self.assertNotIn(name, c)
        h.assert_claims_supported(self, self.d, c)
        # the same challenge again
        msg = self.refused(self.body(challenge, nonce), "ATT_ERR_CHALLENGE_USED")
        self.assertIn("used before", msg)

    def test_2_policy_sees_maa_claims(self):
        self.set_policy(POLICY_JSON_CLAIMS % self.tpm.pcrs()["8"])
        self.addCleanup(self.set_policy, None)
        challenge, nonce = self.challenge()
        status, doc = self.post(self.body(challenge, nonce, cert=False))
        self.assertEqual(status, 200, doc)
        c = h.decode_jwt(doc["token"])[1]
        self.assertIs(c["ak-ok"], False)
        self.assertIs(c["sb"], True)
        self.assertEqual(c["ipl-count"], 1)
        self.assertIs(c["pcr8-matches"], True)

    def test_3_freshness(self):
        challenge, nonce = self.challenge()
        msg = self.refused(self.body(challenge, b"\x01" * 32), "ATT_ERR_TPM_NONCE")
        self.assertIn("extraData", msg)
        forged = challenge[:-2] + ("A" if challenge[-2] != "A" else "B") + challenge[-1]
        self.refused(self.body(forged, nonce), "ATT_ERR_CHALLENGE_INVALID")
        # the caller's own nonce instead of a challenge, echoed for the relying party
        body = self.body(None, b"\x5a" * 16)
        del body["challenge"]
        body["nonce"] = "5a" * 16
        status, doc = self.post(body)
        self.assertEqual(status, 200, doc)
        self.assertEqual(h.decode_jwt(doc["token"])[1]["nonce"], "5a" * 16)
        del body["nonce"]
        self.refused(body, "ATT_ERR_TPM_NONCE")

    def test_4_log_must_replay(self):
        challenge, nonce = self.challenge()
        # an event altered in the log: its digest no longer replays
        altered = bytearray(self.log.data)
        i = altered.find(BOOT_APP)
        altered[i] ^= 1
        msg = self.refused(self.body(challenge, nonce, log=bytes(altered)),
                           "ATT_ERR_EVENTLOG_REPLAY")
        self.assertIn("PCR 4 (SHA256)", msg)

    def test_5_keys(self):
        challenge, nonce = self.challenge()
        # a quote by another AK, presented with the first AK's public key
        self.tpm.create_ak("ak2")
        self.refused(self.body(challenge, nonce, key="ak2"), "ATT_ERR_TPM_SIGNATURE")
        # a signing key that is not restricted: not an AK
        plain = self.tpm.create_signing_key()
        challenge, nonce = self.challenge()
        msg = self.refused(self.body(challenge, nonce, key="plain", ak_pub=plain, cert=False),
                           "ATT_ERR_TPM_AK_ATTRIBUTES")
        self.assertIn("restricted is clear", msg)
        # an AK certificate from a CA the daemon does not trust (default policy: required)
        challenge, nonce = self.challenge()
        msg = self.refused(self.body(challenge, nonce, cert=self.untrusted_ak_cert),
                           "ATT_ERR_TPM_AK_UNTRUSTED")
        self.assertIn("require_valid_aik_cert", msg)
        # ... or none at all
        challenge, nonce = self.challenge()
        self.refused(self.body(challenge, nonce, cert=False), "ATT_ERR_TPM_AK_UNTRUSTED")

    def test_6_required_pcrs(self):
        self.set_policy(NEEDS_PCR_24)
        self.addCleanup(self.set_policy, None)
        challenge, nonce = self.challenge()
        msg = self.refused(self.body(challenge, nonce, pcrs=range(16)), "ATT_ERR_TPM_PCR_MISSING")
        self.assertIn("PCR 16", msg)

    def test_6b_offline(self):
        """attestctl verify tpm (the body with its own nonce) and attestctl eventlog show."""
        nonce = b"\x42" * 20
        body = self.body(None, nonce)
        del body["challenge"]
        body["nonce"] = nonce.hex()
        path = os.path.join(self.tmp, "body.json")
        with open(path, "w") as f:
            json.dump(body, f)
        roots = os.path.join(self.tmp, "ak_roots.pem")
        p = self.d.attestctl("verify", "tpm", "--quote", path, "--trust", roots, use_config=False)
        c = json.loads(p.stdout)
        self.assertIs(c["x-ms-tpm-ak-validated"], True)
        self.assertEqual(c["x-ms-tpm-kernel-cmdline"], CMDLINE)
        # without the CA the default policy wants: refused with the reason
        p = self.d.attestctl("verify", "tpm", "--quote", path, check=False, use_config=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("ATT_ERR_TPM_AK_UNTRUSTED", p.stderr)
        log = os.path.join(self.tmp, "log.bin")
        with open(log, "wb") as f:
            f.write(self.log.data)
        p = self.d.attestctl("eventlog", "show", log, use_config=False)
        self.assertIn("crypto-agile log, 5 events, digests: SHA256", p.stdout)
        self.assertIn("EV_EFI_VARIABLE_DRIVER_CONFIG", p.stdout)
        self.assertIn('"UnicodeName":"SecureBoot"', p.stdout)
        self.assertIn('kernel_cmdline: ' + CMDLINE, p.stdout)
        self.assertIn("PCR  8  " + self.tpm.pcrs()["8"], p.stdout)
        p = self.d.attestctl("eventlog", "show", self.tmp, check=False, use_config=False)
        self.assertEqual(p.returncode, 1)

    def test_7_pcr_extended_after_log(self):
        # runs last: PCR 8 moves on without a log entry
        self.tpm.extend(8, hashlib.sha256(b"unlogged").digest())
        challenge, nonce = self.challenge()
        msg = self.refused(self.body(challenge, nonce), "ATT_ERR_EVENTLOG_REPLAY")
        self.assertIn("PCR 8 (SHA256)", msg)


def rsa_jwk(public_key):
    n = public_key.public_numbers()
    return {"kty": "RSA", "n": h.b64url_encode(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big")),
            "e": h.b64url_encode(n.e.to_bytes((n.e.bit_length() + 7) // 8, "big"))}


def jws_ps256(key, header, payload_text):
    signing_input = (h.b64url_encode(json.dumps(header).encode()) + "." +
                     h.b64url_encode(payload_text.encode()))
    sig = key.sign(signing_input.encode(),
                   padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                   hashes.SHA256())
    return signing_input + "." + h.b64url_encode(sig)


@unittest.skipUnless(swtpm.available(), "swtpm and tpm2-tools are not installed")
class MaaTpmProtocolTest(unittest.TestCase):
    """POST /attest/Tpm as MAA's TPM attestation protocol describes it (version 2 requests,
    docs/reference/maa-tpm-protocol.md), spoken by a client written from that description."""
    time_limit = 300
    API = "?api-version=2022-08-01"

    @classmethod
    def setUpClass(cls):
        TpmMachine.start(cls, "attestd-maa-tpm-")
        cls.request_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @classmethod
    def tearDownClass(cls):
        TpmMachine.stop(cls)

    def call(self, payload):
        data = h.b64url_encode(json.dumps({"payload": payload}).encode())
        status, _, body = self.d.request("POST", "/attest/Tpm" + self.API,
                                         body=json.dumps({"data": data}).encode(),
                                         headers={"Content-Type": "application/json"})
        doc = json.loads(body) if body else None
        if status == 200:
            return status, json.loads(h.b64url_decode(doc["data"]))["payload"]
        return status, doc

    def init(self):
        status, p = self.call({"type": "aikcert"})
        self.assertEqual(status, 200, p)
        return p["challenge"], p["service_context"]

    def request(self, challenge, context, jwk_text=None, bound_text=None, signer=None,
                typ="attReqV2"):
        """The round-2 request: the quote binds SHA-256(jwk text || 0 || challenge)."""
        jwk_text = jwk_text or json.dumps(rsa_jwk(self.request_key.public_key()))
        nonce = hashlib.sha256((bound_text or jwk_text).encode() + b"\0" +
                               h.b64url_decode(challenge)).digest()
        msg, sig = self.tpm.quote(nonce)
        pcrs = self.tpm.pcrs()
        attestation = {
            "logs": [{"type": "TCG", "log": h.b64url_encode(self.log.data)}],
            "aik_cert": h.b64url_encode(self.ak_cert),
            "aik_pub": rsa_jwk(serialization.load_pem_public_key(self.ak_pem)),
            "pcrs": [{"algorithm": 11, "values": [
                {"index": int(i), "digest": h.b64url_encode(bytes.fromhex(v))}
                for i, v in pcrs.items()]}],
            "quote": h.b64url_encode(msg), "signature": h.b64url_encode(sig)}
        # built as text, so that the JWK's bytes are exactly those the quote binds
        payload = ('{"att_type":"basic","att_data":{"rp_id":"https://rp.example",'
                   '"rp_data":"AQIDBA","challenge":"%s","service_context":"%s",'
                   '"request_key":{"jwk":%s,"info":{"tpm_quote":{"hash_alg":"sha-256"}}},'
                   '"tpm_att_data":{"current_attestation":%s}}}' %
                   (challenge, context, jwk_text, json.dumps(attestation)))
        return {"request": jws_ps256(signer or self.request_key, {"alg": "PS256", "typ": typ},
                                     payload)}

    def refused(self, payload, inner):
        return h.refusal(self, *self.call(payload), inner)

    def test_two_rounds(self):
        challenge, context = self.init()
        self.assertEqual(len(h.b64url_decode(challenge)), 32)
        # the JWK written with other spacing than the client's own text: the bytes count
        jwk_text = json.dumps(rsa_jwk(self.request_key.public_key()), indent=1)
        status, p = self.call(self.request(challenge, context, jwk_text=jwk_text))
        self.assertEqual(status, 200, p)
        c = h.verify_jws(p["report"], self.d.get_json("/certs")[2])[1]
        self.assertEqual(c["x-ms-attestation-type"], "tpm")
        self.assertEqual(c["rp_data"], "AQIDBA")
        self.assertEqual(c["cnf"]["jwk"], rsa_jwk(self.request_key.public_key()))
        self.assertIs(c["x-ms-tpm-ak-validated"], True)
        self.assertEqual(c["x-ms-tpm-kernel-cmdline"], CMDLINE)
        h.assert_claims_supported(self, self.d, c)
        # the same context again
        self.refused(self.request(challenge, context), "ATT_ERR_CHALLENGE_USED")

    def test_refusals(self):
        challenge, context = self.init()
        jwk = json.dumps(rsa_jwk(self.request_key.public_key()))
        # the quote bound to other bytes of the same JWK
        self.refused(self.request(challenge, context, jwk_text=jwk,
                                  bound_text=json.dumps(json.loads(jwk), indent=2)),
                     "ATT_ERR_TPM_NONCE")
        # the JWS signed by another key than its request key
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        msg = self.refused(self.request(challenge, context, signer=other), "ATT_ERR_TPM_PROTOCOL")
        self.assertIn("does not verify with request_key.jwk", msg)
        # a challenge that is not the context's
        other_challenge, _ = self.init()
        self.refused(self.request(other_challenge, context), "ATT_ERR_CHALLENGE_INVALID")
        # a context of another purpose (a TpmQuote challenge) does not open here
        status, _, data = self.d.request("POST", "/attest/TpmQuote:challenge")
        self.refused(self.request(challenge, json.loads(data)["challenge"]),
                     "ATT_ERR_CHALLENGE_INVALID")
        # version 1 requests and unknown messages
        msg = self.refused(self.request(challenge, context, typ="attReq"), "ATT_ERR_TPM_PROTOCOL")
        self.assertIn("attReqV2", msg)
        self.refused({"type": "ekcert"}, "ATT_ERR_TPM_PROTOCOL")
        status, _, body = self.d.request("POST", "/attest/Tpm" + self.API, body=b'{"data":"!"}',
                                         headers={"Content-Type": "application/json"})
        self.assertEqual(status, 400, body)


if __name__ == "__main__":
    unittest.main()
