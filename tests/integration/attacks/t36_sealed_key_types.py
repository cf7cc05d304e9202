"""EncKeyPub of every odd shape, each correctly certified by HCLAkPub (the attacker holds the AK
here, so this probes the key rules and the sealing code, not the certification): ECC, RSA
1024/3072/4096/8192, exponent 3/even/1/2^32-1, keyBits != modulus, sign+decrypt, restricted,
fixedTPM clear, decrypt clear, even modulus, modulus with a leading zero octet. Refusals must be
400 ATT_ERR_HCL_ENC_KEY; no 5xx; accepted keys must give an envelope their private key opens."""
from sealed_common import *

e = None
try:
    e = Env()
    C = "ATT_ERR_HCL_ENC_KEY"

    def with_area(area):
        cert = certify_bytes(name_of(area))
        return e.body(EncKeyPub=tpm2b(area), EncKeyCertifyInfo=cert, EncKeyCertifyInfoSignature=e.sign(cert))

    def accepted_or_refused(what, area, priv=None, must_refuse=False):
        st, doc, dt = e.post(with_area(area))
        if st == 200:
            if must_refuse:
                finding(f"{what}: accepted (200), expected {C}")
                return
            if priv is None:
                ok(f"{what}: accepted (sealed to a key only its certifier's side could hold; harmless)")
                return
            try:
                unseal(doc["token"], priv)
                ok(f"{what}: accepted, opens with its key [{dt*1000:.0f} ms]")
            except Exception as x:
                finding(f"{what}: 200 but envelope does not open: {x}")
        else:
            check(st == 400 and inner(doc) == C, f"{what}: {describe(st, doc, dt)}",
                  f"{what}: expected 400 {C} (or 200), got {describe(st, doc, dt)}")

    # ECC decryption key, P-256
    ek = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    parms = struct.pack(">HHHH", ALG_NULL, ALG_NULL, 0x0003, ALG_NULL)
    area = (struct.pack(">HHI", ALG_ECC, ALG_SHA256, ENC_ATTRS) + tpm2b(b"") + parms +
            tpm2b(ek.x.to_bytes(32, "big")) + tpm2b(ek.y.to_bytes(32, "big")))
    expect_refusal(e, "ECC P-256 decrypt key", with_area(area), C)
    for bits in (1024, 3072, 4096):
        k = EncKey(bits=bits)
        accepted_or_refused(f"RSA-{bits}", k.area, k.key, must_refuse=bits < 2048)
    # 8192: generating takes long; use a random odd 8192-bit number as modulus
    import random
    n8 = random.getrandbits(8192) | (1 << 8191) | 1
    expect_refusal(e, "RSA-8192 modulus", with_area(rsa_area(n8, 8192)), C)
    k3 = EncKey(e=3, tpm_exp=3)
    accepted_or_refused("RSA-2048 exponent 3", k3.area, k3.key)
    n = e.enc.n
    expect_refusal(e, "exponent 65536 (even)", with_area(rsa_area(n, 2048, 65536)), C)
    expect_refusal(e, "exponent 1", with_area(rsa_area(n, 2048, 1)), C)
    accepted_or_refused("exponent 2^32-1 (no private key known)", rsa_area(n, 2048, 0xFFFFFFFF))
    expect_refusal(e, "keyBits 2048, modulus 2047 bits", with_area(rsa_area(n >> 1 | 1, 2048)), C)
    expect_refusal(e, "keyBits 4096, 2048-bit modulus in 512 bytes", with_area(rsa_area(n, 4096, nbytes=512)), C)
    accepted_or_refused("modulus with a leading zero octet (257 bytes)", rsa_area(n, 2048, nbytes=257), e.enc.key)
    # attribute rules
    accepted_or_refused("sign|decrypt, unrestricted", rsa_area(n, 2048, attrs=ENC_ATTRS | SIGN), e.enc.key)
    expect_refusal(e, "restricted decrypt", with_area(rsa_area(n, 2048, attrs=ENC_ATTRS | RESTRICTED)), C)
    expect_refusal(e, "fixedTPM clear", with_area(rsa_area(n, 2048, attrs=ENC_ATTRS & ~FIXED_TPM)), C)
    expect_refusal(e, "decrypt clear (sign)", with_area(rsa_area(n, 2048, attrs=(ENC_ATTRS & ~DECRYPT) | SIGN)), C)
    # even modulus / modulus that is not an RSA modulus
    expect_refusal(e, "even 2048-bit modulus", with_area(rsa_area(n ^ 1, 2048)), C)
    expect_refusal(e, "modulus 2^2047", with_area(rsa_area(1 << 2047, 2048)), C)
    # all-ones modulus (odd, 2048 bits): sealing works mathematically; accept or refuse, not 5xx
    accepted_or_refused("modulus 2^2048-1 (odd, no private key)", rsa_area((1 << 2048) - 1, 2048))
    # RSA key with a scheme (RSAES / OAEP) set
    area = (struct.pack(">HHI", ALG_RSA, ALG_SHA256, ENC_ATTRS) + tpm2b(b"") +
            struct.pack(">HHHHI", ALG_NULL, 0x0017, 0x000B, 2048, 0) + tpm2b(n.to_bytes(256, "big")))
    accepted_or_refused("scheme OAEP-SHA256 (answer is PKCS#1 v1.5: the TPM would refuse to decrypt)", area,
                        e.enc.key)
    area = (struct.pack(">HHI", ALG_RSA, ALG_SHA256, ENC_ATTRS) + tpm2b(b"") +
            struct.pack(">HHHI", ALG_NULL, 0x0015, 2048, 0) + tpm2b(n.to_bytes(256, "big")))
    accepted_or_refused("scheme RSAES", area, e.enc.key)
finally:
    finish(e.d if e else None)
