"""t18 through MAA's protocol (POST /attest/Tpm): the same forged log and a quote of SHA-1 0-23 +
SHA-256 PCR 23, with the policy reading MAA's incoming claim secureBootEnabled. Expected: the
policy does not see secureBootEnabled = true for a boot that measured SecureBoot=0."""
from common import *
from maa import MaaClient, rsa_jwk

EFI_GLOBAL = bytes.fromhex("61dfe48bca93d211aa0d00e098032b8c")


def sb_var(on):
    return EFI_GLOBAL + struct.pack("<QQ", 10, 1) + "SecureBoot".encode("utf-16-le") + (b"\x01" if on else b"\x00")


POLICY = """version=1.2;
authorizationrules{ => permit(); };
issuancerules{
  c:[type=="secureBootEnabled", issuer=="AttestationService"] => issue(type="policy-saw-secureboot", value=c.value);
};
"""
e = Env()
try:
    e.set_policy("Tpm", POLICY)
    ak = SoftAK()
    cert = e.cert_for(ak)
    m = SoftMachine(banks=(ALG_SHA1, ALG_SHA256))
    forged = AgileLog(SoftMachine(banks=(ALG_SHA1, ALG_SHA256)), algs=(ALG_SHA1, ALG_SHA256))
    for pcr, typ, real, fake in ((7, 0x80000001, sb_var(False), sb_var(True)), (7, 0x4, b"\0" * 4, b"\0" * 4)):
        d1, d256 = hashlib.sha1(real).digest(), hashlib.sha256(real).digest()
        m.extend(ALG_SHA1, pcr, d1); m.extend(ALG_SHA256, pcr, d256)
        forged.add(pcr, typ, fake, {ALG_SHA1: d1, ALG_SHA256: hashlib.sha256(fake).digest()}, extend=False)
    c = MaaClient(e, m, ak, cert, forged.data)
    ch, ctx = c.init()
    jwk_text = json.dumps(rsa_jwk(c.rk.public_key()))
    nonce = hashlib.sha256(jwk_text.encode() + b"\0" + ub64(ch)).digest()
    sel = ((ALG_SHA1, 0xFFFFFF), (ALG_SHA256, 1 << 23))
    q = quote_bytes(nonce, pcr_digest(m.pcr, sel), sel)
    pcrs = [{"algorithm": ALG_SHA1, "values": [{"index": i, "digest": b64u(v)} for i, v in m.pcr[ALG_SHA1].items()]},
            {"algorithm": ALG_SHA256, "values": [{"index": 23, "digest": b64u(m.pcr[ALG_SHA256][23])}]}]
    p = c.payload(ch, ctx, jwk_text=jwk_text, cur_override={"quote": b64u(q), "signature": b64u(ak.sign(q)), "pcrs": pcrs})
    st, doc, dt = e.tpm_call(c.request(p))
    claims = h.decode_jwt(doc["report"])[1] if st == 200 else {}
    print(f"  {st} {inner(doc) if st != 200 else ''} policy-saw-secureboot={claims.get('policy-saw-secureboot')} "
          f"x-ms-tpm-secureboot={claims.get('x-ms-tpm-secureboot')}")
    check(not (st == 200 and claims.get("policy-saw-secureboot") is True), "policy not fooled",
          "/attest/Tpm: forged log (SHA-1 digests genuine, SHA-256 digests of forged data, quote SHA-1 0-23 + SHA-256 23) -> "
          "200, policy sees secureBootEnabled=true and token x-ms-tpm-secureboot=true although SecureBoot=0 was measured")
finally:
    e.close(); finish(e.d)
