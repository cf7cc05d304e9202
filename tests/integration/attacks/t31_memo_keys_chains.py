"""Memo confusion: a validated cert reused with another AK; AK areas differing only in attributes
(RSA and ECC) after a hit; akJwk with the same key; chain variations; trailing bytes; untrusted CA
with the same subject as the trusted one; malformed cert after a valid one."""
import datetime
from common import *
env = Env()
d = env.d
try:
    for kind in ("rsa", "ecc"):
        ak = SoftAK(kind=kind)
        c = env.cert_for(ak)
        s, doc, dt = attest(env, ak, c)
        check(s == 200, f"{kind}: valid attest", f"{kind}: valid attest failed {describe(s, doc, dt)}")
        other = SoftAK(kind=kind)
        s, doc, dt = attest(env, other, c)
        check(s == 400 and inner(doc) == "ATT_ERR_TPM_AK_MISMATCH", f"{kind}: cert with other AK refused",
              f"{kind}: cert with other AK: {describe(s, doc, dt)}")
        # same key, attributes differ: decrypt set / restricted clear / fixedTPM clear
        for bit, name in ((1 << 17, "decrypt set"), (None, "restricted clear"), (None, "fixedTPM clear")):
            bad = SoftAK(kind=kind)
            bad.key = ak.key
            attrs = AK_ATTRS
            if name == "decrypt set": attrs |= 1 << 17
            if name == "restricted clear": attrs &= ~(1 << 16)
            if name == "fixedTPM clear": attrs &= ~(1 << 1)
            area = bytearray(ak.area)
            area[4:8] = struct.pack(">I", attrs)
            bad.area = bytes(area); bad.public = tpm2b(bad.area)
            s, doc, dt = attest(env, bad, c)
            check(s == 400 and inner(doc) == "ATT_ERR_TPM_AK_ATTRIBUTES", f"{kind}: {name} refused after hit",
                  f"{kind}: {name} with memoized cert: {describe(s, doc, dt)}")
        # a second time the good one still works
        s, doc, dt = attest(env, ak, c)
        check(s == 200, f"{kind}: good again", f"{kind}: good again failed {describe(s, doc, dt)}")
    # trailing bytes after DER
    ak = SoftAK()
    c = env.cert_for(ak)
    s, doc, dt = attest(env, ak, c + b"\x00")
    check(s == 400, "trailing byte cert refused", f"trailing byte cert: {describe(s, doc, dt)}")
    attest(env, ak, c)
    s, doc, dt = attest(env, ak, c + b"\x00")
    check(s == 400, "trailing byte after memo refused", f"trailing byte after memo: {describe(s, doc, dt)}")
    # untrusted CA with the same subject, same AK key
    evil_key, evil_ca = swtpm.make_ak_ca("attack TPM CA")
    ec_ = swtpm.issue_ak_cert(evil_key, evil_ca, ak.key.public_key())
    s, doc, dt = attest(env, ak, ec_)
    check(s == 400 and inner(doc) == "ATT_ERR_TPM_AK_UNTRUSTED", "untrusted same-subject CA refused",
          f"untrusted same-subject CA: {describe(s, doc, dt)}")
    s, doc, dt = attest(env, ak, ec_, chain=[b64u(der(evil_ca))])
    check(s == 400 and inner(doc) == "ATT_ERR_TPM_AK_UNTRUSTED", "untrusted CA + its root in chain refused",
          f"untrusted CA + root in chain: {describe(s, doc, dt)}")
    # chain variations for an intermediate-issued leaf
    now = datetime.datetime.now(datetime.timezone.utc)
    ik = ec.generate_private_key(ec.SECP256R1())
    ic = der(cert(env.ca_key, env.ca_cert, ik.public_key(), cn="inter", ca=True))
    ic_obj = x509.load_der_x509_certificate(ic)
    ak4 = SoftAK()
    leaf = der(cert(ik, ic_obj, ak4.key.public_key()))
    s, doc, dt = attest(env, ak4, leaf)
    check(s == 400 and inner(doc) == "ATT_ERR_TPM_AK_UNTRUSTED", "missing intermediate refused",
          f"missing intermediate: {describe(s, doc, dt)}")
    s, doc, dt = attest(env, ak4, leaf, chain=[b64u(ic)])
    check(s == 200, "with intermediate ok", f"with intermediate: {describe(s, doc, dt)}")
    s, doc, dt = attest(env, ak4, leaf)
    check(s == 400 and inner(doc) == "ATT_ERR_TPM_AK_UNTRUSTED", "missing intermediate after memo refused",
          f"missing intermediate after memo: {describe(s, doc, dt)}")
    s, doc, dt = attest(env, ak4, leaf, chain=[b64u(der(env.ca_cert)), b64u(ic)])
    check(s == 200, "reordered chain w/ root ok", f"reordered chain: {describe(s, doc, dt)}")
    s, doc, dt = attest(env, ak4, leaf, chain=[b64u(ic), "AA"])
    check(s == 400 and inner(doc) == "ATT_ERR_TPM_FORMAT", "garbage extra element refused",
          f"garbage extra chain element: {describe(s, doc, dt)}")
    s, doc, dt = attest(env, ak4, leaf, chain=[b64u(ic + b"\x00")])
    check(s == 400 and inner(doc) == "ATT_ERR_TPM_FORMAT", "intermediate w/ trailing byte refused",
          f"intermediate w/ trailing byte: {describe(s, doc, dt)}")
    # leaf and intermediate concatenated into akCertificate (length split differs, same bytes)
    s, doc, dt = attest(env, ak4, leaf + ic, chain=[])
    check(s == 400, "concatenated cert refused", f"concatenated leaf+intermediate: {describe(s, doc, dt)}")
    # akJwk with the same key as a memoized cert (no attributes): MAA semantics -> cert decides
    body = SoftMachine().body(ak4, bytes.fromhex("ab" * 16), cert=leaf, nonce="ab" * 16)
    del body["akPublic"]; body["akJwk"] = ak4.jwk(); body["akCertificateChain"] = [b64u(ic)]
    s, doc, dt = post(d, "/attest/TpmQuote", body)
    print("akJwk with memoized cert:", describe(s, doc, dt))
finally:
    finish(d); env.close()
