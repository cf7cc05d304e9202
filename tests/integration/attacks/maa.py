"""A client of MAA's TPM protocol (/attest/Tpm) over the software TPM of common.py."""
from common import *


def jws(key, header, payload_text, alg="PS256"):
    si = b64u(json.dumps(header).encode()) + "." + b64u(payload_text.encode())
    if alg == "PS256":
        sig = key.sign(si.encode(), padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    elif alg == "RS256":
        sig = key.sign(si.encode(), padding.PKCS1v15(), hashes.SHA256())
    elif alg == "none":
        sig = b""
    else:
        raise ValueError(alg)
    return si + "." + b64u(sig)


def rsa_jwk(pub):
    n = pub.public_numbers()
    return {"kty": "RSA", "n": b64u(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big")),
            "e": b64u(n.e.to_bytes((n.e.bit_length() + 7) // 8, "big"))}


class MaaClient:
    def __init__(self, env, machine, ak, cert=None, log=None):
        self.e, self.m, self.ak, self.cert, self.log = env, machine, ak, cert, log
        self.rk = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def init(self):
        st, p, dt = self.e.tpm_call({"type": "aikcert"})
        assert st == 200, p
        return p["challenge"], p["service_context"]

    def payload(self, challenge, context, jwk_text=None, bound_text=None, nonce=None,
                att_extra="", cur_override=None, att_data_prefix="", top_prefix=""):
        jwk_text = jwk_text or json.dumps(rsa_jwk(self.rk.public_key()))
        if nonce is None:
            nonce = hashlib.sha256((bound_text or jwk_text).encode() + b"\0" + base64.urlsafe_b64decode(challenge.rstrip("=") + "=" * (-len(challenge.rstrip("=")) % 4))).digest()
        sel = ((ALG_SHA256, 0xFFFFFF),)
        q = quote_bytes(nonce, pcr_digest(self.m.pcr, sel), sel)
        cur = {"aik_pub": self.ak.jwk(), "quote": b64u(q), "signature": b64u(self.ak.sign(q)),
               "pcrs": [{"algorithm": 11, "values": [{"index": i, "digest": b64u(v)}
                                                     for i, v in self.m.pcr[ALG_SHA256].items()]}]}
        if self.cert is not None:
            cur["aik_cert"] = b64u(self.cert)
        if self.log is not None:
            cur["logs"] = [{"type": "TCG", "log": b64u(self.log)}]
        if cur_override:
            cur.update(cur_override)
            cur = {k: v for k, v in cur.items() if v is not None}
        return ('{%s"att_type":"basic","att_data":{%s"rp_id":"https://rp.example","rp_data":"AQIDBA",'
                '"challenge":"%s","service_context":"%s",'
                '"request_key":{"jwk":%s,"info":{"tpm_quote":{"hash_alg":"sha-256"}}},'
                '"tpm_att_data":{"current_attestation":%s}%s}}' %
                (top_prefix, att_data_prefix, challenge, context, jwk_text, json.dumps(cur), att_extra))

    def request(self, payload_text, header=None, alg="PS256", signer=None):
        header = header if header is not None else {"alg": alg, "typ": "attReqV2"}
        return {"request": jws(signer or self.rk, header, payload_text, alg)}
