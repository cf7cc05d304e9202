"""Only AzureGuest with a certified EncKeyPub seals. A SevSnpVm token whose runtimeData JSON names
a key 'TpmEphemeralEncryptionKey' (it lands in the token's top-level x-ms-runtime.keys), an
AzureGuest request with a nonce whose HCL runtime data or ClientPayload names such a key: all
must be answered with a plain JWS (not sealed to a key nobody certified, not 500)."""
from sealed_common import *

e = None
try:
    victim = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_numbers()
    tek = {"kid": "TpmEphemeralEncryptionKey", "kty": "RSA", "key_ops": ["encrypt"],
           "n": b64u(victim.n.to_bytes(256, "big")), "e": b64u(victim.e.to_bytes(3, "big"))}
    e = Env(extra_keys=[tek])
    # SevSnpVm, runtime data = the same JSON (bound by the report)
    body = {"report": b64u(json.dumps(e.pki.proof()).encode()),
            "runtimeData": {"data": b64u(e.runtime), "dataType": "JSON"}}
    st, doc, dt = post(e.d, "/attest/SevSnpVm?api-version=2022-08-01", body)
    if st == 200:
        tok = doc["token"]
        check(tok.count(".") == 2, "SevSnpVm with TpmEphemeralEncryptionKey in runtimeData: plain JWS",
              "SevSnpVm token sealed")
        cl = h.decode_jwt(tok)[1]
        kids = [k.get("kid") for k in cl.get("x-ms-runtime", {}).get("keys", [])]
        print("INFO    SevSnpVm x-ms-runtime kids:", kids)
    else:
        finding(f"SevSnpVm baseline refused: {describe(st, doc, dt)}")
    # AzureGuest with nonce, no EncKey: HCL runtime data names TpmEphemeralEncryptionKey
    nonce = b"\xcd" * 16
    b = e.body(extra=nonce, enc=False)
    b["nonce"] = nonce.hex()
    st, doc, dt = e.post(b)
    check(st == 200 and doc["token"].count(".") == 2,
          f"AzureGuest, nonce, HCL keys name TpmEphemeralEncryptionKey: plain JWS",
          f"AzureGuest nonce/HCL key: {describe(st, doc, dt)} {str(doc)[:80]}")
    if st == 200:
        cl = h.decode_jwt(doc["token"])[1]
        check("keys" not in cl.get("x-ms-runtime", {}), "top-level x-ms-runtime has no keys",
              f"top-level x-ms-runtime keys: {cl['x-ms-runtime']}")
    # ClientPayload naming the key
    d = e.doc(extra=nonce, enc=False)
    d["ClientPayload"] = {"keys": [tek], "kid": "TpmEphemeralEncryptionKey"}
    b = e.body(d)
    b["nonce"] = nonce.hex()
    st, doc, dt = e.post(b)
    check(st == 200 and doc["token"].count(".") == 2, "ClientPayload.keys with TpmEphemeralEncryptionKey: plain JWS",
          f"ClientPayload keys: {describe(st, doc, dt)} {str(doc)[:80]}")
    # sealed request: the token must be sealed to EncKeyPub, not the HCL runtime's TEK
    st, doc, dt = e.post(e.body())
    if st == 200:
        try:
            _, _, jws = unseal(doc["token"], e.enc.key)
            ok("sealed request: sealed to EncKeyPub (not the runtime data's TpmEphemeralEncryptionKey)")
        except Exception as x:
            finding(f"sealed request not sealed to EncKeyPub: {x}")
    else:
        finding(f"sealed baseline refused: {describe(st, doc, dt)}")
    # TpmQuote / other types are not sealed: checked in code (seals_answer only in azure.c)
    import subprocess
    out = subprocess.run(["grep", "-rn", "seals_answer = true", os.path.join(c.WT, "src")], capture_output=True, text=True).stdout
    check(out.count("\n") == 1 and "azure.c" in out, "only azure.c sets seals_answer", f"seals_answer set in: {out}")
finally:
    finish(e.d if e else None)
