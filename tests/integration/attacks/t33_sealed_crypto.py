"""Baseline: a software vTPM (attacker-held AK named HCLAkPub, bound by a test SNP report) gets a
sealed answer; the envelope opens only with EncKeyPub's private key; fresh AES key and IV per
answer; AAD 'Transport Key'; 16-byte tag; inner key wrapped to the modulus size; the JWS verifies."""
from sealed_common import *

e = None
try:
    e = Env()
    tokens = []
    for i in range(4):
        st, doc, dt = e.post(e.body())
        if st != 200:
            finding(f"baseline refused: {describe(st, doc, dt)}")
            break
        tokens.append(doc["token"])
    if tokens:
        envs = []
        for t in tokens:
            check(t.count(".") == 0, "answer is not a bare JWS", "answer is a JWS (not sealed)")
            env, key, jws = unseal(t, e.enc.key)
            envs.append((env, key))
            p = env["EncryptionParams"]
            check(len(base64.b64decode(p["Iv"])) == 12 and len(base64.b64decode(env["AuthenticationData"])) == 16
                  and len(base64.b64decode(env["EncryptedInnerKey"])) == 256 and len(key) == 32,
                  "IV 12, tag 16, wrapped key 256, AES key 32 bytes", f"odd sizes: {p} {len(key)}")
            hdr, claims = h.verify_jws(jws, e.d.get_json("/certs")[2])[:2]
            keys = claims["x-ms-runtime"]["keys"]
            check(len(keys) == 1 and keys[0]["kid"] == "TpmEphemeralEncryptionKey"
                  and ub64(keys[0]["n"]) == e.enc.n.to_bytes(256, "big"),
                  "token names EncKeyPub", f"token keys {keys}")
            # wrong AAD must fail
            ct = base64.b64decode(env["Jwt"]) + base64.b64decode(env["AuthenticationData"])
            try:
                AESGCM(key).decrypt(base64.b64decode(p["Iv"]), ct, b"")
                finding("GCM opens without the AAD")
            except Exception:
                ok("GCM needs AAD 'Transport Key'")
        ivs = {env["EncryptionParams"]["Iv"] for env, _ in envs}
        ks = {k for _, k in envs}
        wraps = {env["EncryptedInnerKey"] for env, _ in envs}
        check(len(ivs) == len(envs) and len(ks) == len(envs) and len(wraps) == len(envs),
              "IV, AES key and wrapped key differ in every answer", "reuse across answers")
        # another key's holder cannot open it
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        try:
            unseal(tokens[0], other)
            finding("another RSA key opens the envelope")
        except Exception:
            ok("another RSA key cannot open the envelope")
finally:
    finish(e.d if e else None)
