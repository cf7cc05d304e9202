"""Replayed evidence (genuine quote + genuine certify of the genuine EncKeyPub, signed by
HCLAkPub) with the attacker's own EncKeyPub: every variant must be 400 ATT_ERR_HCL_ENC_KEY."""
from sealed_common import *

e = None
try:
    e = Env()
    st, doc, dt = e.post(e.body())
    check(st == 200, "genuine request sealed", f"genuine refused {describe(st, doc, dt)}")
    mine = EncKey()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    my_cert = certify_bytes(mine.name())
    quote_b64 = e.doc()["TpmInfo"]
    C = "ATT_ERR_HCL_ENC_KEY"
    expect_refusal(e, "own key, genuine certify+sig", e.body(EncKeyPub=mine.public), C)
    expect_refusal(e, "own key, own certify, genuine sig", e.body(EncKeyPub=mine.public, EncKeyCertifyInfo=my_cert), C)
    expect_refusal(e, "own key, own certify signed by other key",
                   e.body(EncKeyPub=mine.public, EncKeyCertifyInfo=my_cert,
                          EncKeyCertifyInfoSignature=e.sign(my_cert, other)), C)
    # the quote and its signature posing as the certification
    d = e.doc()
    d["TpmInfo"]["EncKeyCertifyInfo"] = d["TpmInfo"]["PcrQuote"]
    d["TpmInfo"]["EncKeyCertifyInfoSignature"] = d["TpmInfo"]["PcrSignature"]
    expect_refusal(e, "quote+quote signature as certify", e.body(d), C)
    # certify signature is a TPMT_SIGNATURE (header) rather than raw
    tsig = struct.pack(">HHH", 0x14, 0x0B, 256) + e.cert_sig
    st, doc, dt = e.post(e.body(EncKeyCertifyInfoSignature=tsig))
    check(st == 400, f"TPMT_SIGNATURE form refused: {describe(st, doc, dt)}",
          f"TPMT_SIGNATURE form: {describe(st, doc, dt)}")
    # genuine signature over a certify with a different (attacker) name but same length
    expect_refusal(e, "sig of genuine certify, certify altered", e.body(
        EncKeyPub=mine.public, EncKeyCertifyInfo=my_cert, EncKeyCertifyInfoSignature=e.cert_sig), C)
    # signature with SHA-1 / PSS by the AK (AK-signed but other scheme): should it pass? only RSASSA-SHA256
    pss = e.ak.key.sign(e.cert, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    expect_refusal(e, "RSAPSS signature of certify", e.body(EncKeyCertifyInfoSignature=pss), C)
    # signature left-padded / truncated
    expect_refusal(e, "signature with leading zero byte", e.body(EncKeyCertifyInfoSignature=b"\0" + e.cert_sig), C)
    expect_refusal(e, "signature truncated", e.body(EncKeyCertifyInfoSignature=e.cert_sig[:-1]), C)
    expect_refusal(e, "signature 513 bytes", e.body(EncKeyCertifyInfoSignature=b"\1" * 513), C)
    expect_refusal(e, "signature 65536 bytes", e.body(EncKeyCertifyInfoSignature=b"\1" * 65536), C)
    # genuine request still fine afterwards
    st, doc, dt = e.post(e.body())
    check(st == 200, "genuine request still sealed", f"genuine refused later {describe(st, doc, dt)}")
finally:
    finish(e.d if e else None)
