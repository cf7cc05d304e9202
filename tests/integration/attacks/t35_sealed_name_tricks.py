"""Certify names that are not EncKeyPub's name: other nameAlg, handle names, names over the
TPM2B (size included), trailing bytes, TPMT without size, truncated names. AK-signed throughout
(the signer is honest about what it certified; the check is whether attestd seals to the key the
certify names)."""
from sealed_common import *

e = None
try:
    e = Env()
    C = "ATT_ERR_HCL_ENC_KEY"
    k = e.enc

    def signed(cert):
        return {"EncKeyCertifyInfo": cert, "EncKeyCertifyInfoSignature": e.sign(cert)}
    # certified: SHA-1 name of the same area, EncKeyPub says nameAlg SHA-256
    expect_refusal(e, "certify names SHA-1 name, key nameAlg SHA-256",
                   e.body(**signed(certify_bytes(k.name(ALG_SHA1)))), C)
    expect_refusal(e, "certify names SHA-384 name", e.body(**signed(certify_bytes(k.name(0xC)))), C)
    expect_refusal(e, "certify names a handle (4 bytes)", e.body(**signed(certify_bytes(b"\x80\x00\x00\x01"))), C)
    expect_refusal(e, "certify names empty name", e.body(**signed(certify_bytes(b""))), C)
    expect_refusal(e, "certify names H(TPM2B) (size included)",
                   e.body(**signed(certify_bytes(b"\x00\x0b" + hashlib.sha256(k.public).digest()))), C)
    expect_refusal(e, "certify names name truncated to 33 bytes",
                   e.body(**signed(certify_bytes(k.name()[:33]))), C)
    expect_refusal(e, "certify names name + 1 byte", e.body(**signed(certify_bytes(k.name() + b"\0"))), C)
    # the genuine certify, but EncKeyPub altered
    expect_refusal(e, "EncKeyPub TPM2B + trailing byte", e.body(EncKeyPub=k.public + b"\0"), C)
    expect_refusal(e, "EncKeyPub TPM2B with size+1", e.body(EncKeyPub=struct.pack(">H", len(k.area) + 1) + k.area + b"\0"), C)
    expect_refusal(e, "EncKeyPub TPM2B with size-1", e.body(EncKeyPub=struct.pack(">H", len(k.area) - 1) + k.area), C)
    expect_refusal(e, "EncKeyPub truncated", e.body(EncKeyPub=k.public[:-1]), C)
    # TPMT_PUBLIC without the size: same object, same name -> acceptable, the key is the same
    st, doc, dt = e.post(e.body(EncKeyPub=k.area))
    if st == 200:
        _, _, jws = unseal(doc["token"], k.key)
        ok("TPMT_PUBLIC without size = same key, sealed to it")
    else:
        check(st == 400 and inner(doc) == C, f"TPMT_PUBLIC without size refused: {describe(st, doc, dt)}",
              f"TPMT_PUBLIC without size: {describe(st, doc, dt)}")
    # the SHA-1 named key, properly certified under its SHA-1 name: the same key -> fine
    k1 = EncKey(name_alg=ALG_SHA1)
    cert = certify_bytes(k1.name(ALG_SHA1))
    st, doc, dt = e.post(e.body(EncKeyPub=k1.public, **signed(cert)))
    if st == 200:
        unseal(doc["token"], k1.key)
        ok("SHA-1 nameAlg key certified under its SHA-1 name: sealed to it")
    else:
        ok(f"SHA-1 nameAlg key refused: {describe(st, doc, dt)}")
    # the certify's qualifiedName / signer are not checked: must not matter, sealing holds
    st, doc, dt = e.post(e.body(**signed(certify_bytes(k.name(), qname=b"\x40\x00\x00\x07", signer=b""))))
    check(st in (200, 400), f"odd qualifiedName/signer: {describe(st, doc, dt)}", f"odd qname: {describe(st, doc, dt)}")
    # a non-canonical name alg in EncKeyPub (SHA3 / unknown)
    area = rsa_area(k.n, 2048, name_alg=0x27)
    expect_refusal(e, "EncKeyPub nameAlg SHA3-256 (0x27)", e.body(EncKeyPub=tpm2b(area), **signed(
        certify_bytes(b"\x00\x27" + hashlib.sha3_256(area).digest()))), C)
    area = rsa_area(k.n, 2048, name_alg=ALG_NULL)
    expect_refusal(e, "EncKeyPub nameAlg NULL, certify names TPM_ALG_NULL", e.body(EncKeyPub=tpm2b(area), **signed(
        certify_bytes(b"\x00\x10"))), C)
    # certify with wrong magic / type / trailing bytes
    expect_refusal(e, "certify magic wrong", e.body(**signed(certify_bytes(k.name(), magic=0xFF544348))), C)
    expect_refusal(e, "certify type QUOTE", e.body(**signed(certify_bytes(k.name(), typ=0x8018))), C)
    expect_refusal(e, "certify type CREATION", e.body(**signed(certify_bytes(k.name(), typ=0x801A))), C)
    expect_refusal(e, "certify with trailing byte", e.body(**signed(certify_bytes(k.name()) + b"\0")), C)
    expect_refusal(e, "certify as TPM2B (size prefixed)", e.body(**signed(tpm2b(certify_bytes(k.name())))), C)
finally:
    finish(e.d if e else None)
