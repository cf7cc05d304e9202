"""EncKey* members of wrong JSON types and sizes, partial sets, and their combination with a nonce
or a challenge. Every refusal must be 400 in MAA's shape with a precise innererror."""
from sealed_common import *

e = None
try:
    e = Env()
    F, C = "ATT_ERR_HCL_FORMAT", "ATT_ERR_HCL_ENC_KEY"
    names = ("EncKeyPub", "EncKeyCertifyInfo", "EncKeyCertifyInfoSignature")
    for m in names:
        for what, v in (("number", 5), ("null", None), ("array", [b64(b"x")]), ("object", {}),
                        ("true", True), ("not base64", "!!!*"), ("empty string", "")):
            d = e.doc()
            d["TpmInfo"][m] = v
            st, doc, dt = e.post(e.body(d))
            if m == "EncKeyPub" and v is None:
                want = (F,)
            elif what == "empty string":
                want = (C, F)
            else:
                want = (F,)
            check(st == 400 and inner(doc) in want, f"{m}={what}: {describe(st, doc, dt)}",
                  f"{m}={what}: expected 400 {want}, got {describe(st, doc, dt)}")
    # huge strings (3 MB of base64 = ~2.2 MB) : raise max_body_size? default 256 KB -> 413 expected
    st, doc, dt = e.post(e.body(EncKeyPub=b"\1" * 60000))
    check(st == 400 and inner(doc) == C, f"EncKeyPub 60 KB: {describe(st, doc, dt)}",
          f"EncKeyPub 60 KB: {describe(st, doc, dt)}")
    st, doc, dt = e.post(e.body(EncKeyCertifyInfo=b"\1" * 60000))
    check(st == 400 and inner(doc) == C, f"EncKeyCertifyInfo 60 KB: {describe(st, doc, dt)}",
          f"EncKeyCertifyInfo 60 KB: {describe(st, doc, dt)}")
    # partial sets, no nonce: malformed (all three, or none)
    import itertools
    for r in (1, 2):
        for keep in itertools.combinations(names, r):
            drop = [n for n in names if n not in keep]
            st, doc, dt = e.post(e.body(drop=drop))
            want = F
            check(st == 400 and inner(doc) == want, f"only {keep}, no nonce: {describe(st, doc, dt)}",
                  f"only {keep}, no nonce: expected 400 {want}, got {describe(st, doc, dt)}")
    # partial sets WITH a nonce: all three, or none (a certification alone is refused too)
    nonce = b"\xab" * 16
    for keep in (("EncKeyCertifyInfo",), ("EncKeyCertifyInfoSignature",),
                 ("EncKeyCertifyInfo", "EncKeyCertifyInfoSignature")):
        drop = [n for n in names if n not in keep]
        b = e.body(extra=nonce, drop=drop)
        b["nonce"] = nonce.hex()
        expect_refusal(e, f"only {keep} + nonce", b, "ATT_ERR_HCL_FORMAT")
    # nonce and EncKey together: the quote carries the nonce -> 200, sealed, nonce claim
    b = e.body(extra=nonce)
    b["nonce"] = nonce.hex()
    st, doc, dt = e.post(b)
    if st == 200:
        _, _, jws = unseal(doc["token"], e.enc.key)
        cl = h.decode_jwt(jws)[1]
        check(cl.get("nonce") == nonce.hex(), "nonce + EncKey: sealed, nonce claim", f"nonce claim {cl.get('nonce')}")
    else:
        finding(f"nonce + EncKey (quote carries nonce) refused: {describe(st, doc, dt)}")
    # nonce in body but quote has none, with EncKey: must be refused (token would echo an unbound nonce)
    b = e.body()
    b["nonce"] = nonce.hex()
    expect_refusal(e, "EncKey + nonce the quote does not carry", b, "ATT_ERR_TPM_NONCE")
    # a challenge with an EncKey: quote without it -> refused; quote with it -> ok (sealed)
    st, cdoc, _ = post(e.d, "/attest/TpmQuote:challenge", {})
    chal = (cdoc or {}).get("challenge")
    if chal:
        b = e.body()
        b["challenge"] = chal
        st, doc, dt = e.post(b)
        check(st == 400 and inner(doc) in ("ATT_ERR_TPM_NONCE", "ATT_ERR_CHALLENGE_INVALID"),
              f"EncKey + challenge the quote does not carry: {describe(st, doc, dt)}",
              f"EncKey + challenge the quote does not carry: {describe(st, doc, dt)}")
        b = e.body()
        b["challenge"] = "AAAA"
        expect_refusal(e, "EncKey + junk challenge", b, "ATT_ERR_CHALLENGE_INVALID")
        b = e.body()
        b["challenge"] = 5
        expect_refusal(e, "EncKey + numeric challenge", b, "ATT_ERR_CHALLENGE_INVALID")
    else:
        print("NOTE    no challenge issued:", st, cdoc)
    # EncKeyPub key alone with certify of null JSON: both null
    d = e.doc()
    d["TpmInfo"]["EncKeyCertifyInfo"] = None
    d["TpmInfo"]["EncKeyCertifyInfoSignature"] = None
    expect_refusal(e, "EncKeyPub + null certify/sig", e.body(d), F)
    # TpmInfo.EncKeyPub lower-case / different case: ignored -> nonce needed
    d = e.doc(enc=False)
    d["TpmInfo"]["encKeyPub"] = b64(e.enc.public)
    expect_refusal(e, "encKeyPub (case) only", e.body(d), "ATT_ERR_TPM_NONCE")
    # EncKey with runtimeData in the body -> HCL_FORMAT
    b = e.body()
    b["runtimeData"] = {"data": b64u(b"{}"), "dataType": "JSON"}
    expect_refusal(e, "EncKey + runtimeData", b, F)
    # draft policy with EncKey: unsigned token, must still be sealed (or refused)
    b = e.body()
    b["draftPolicyForAttestation"] = "version=1.0; authorizationrules{=> permit();}; issuancerules{};"
    st, doc, dt = e.post(b)
    if st == 200:
        check(doc["token"].count(".") == 0, "draft policy answer is sealed too", "draft policy answer NOT sealed")
    else:
        ok(f"draft policy: {describe(st, doc, dt)}")
finally:
    finish(e.d if e else None)
