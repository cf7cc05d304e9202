"""With max_body_size raised to 1 MiB (an operator setting), a ClientPayload that makes the JWS
exceed its cap (256 KiB): the refusal must be a 4xx in MAA's shape, not a 500."""
from sealed_common import *

e = None
try:
    e = Env(config="max_body_size = 1048576\n")
    nonce = b"\xee" * 16
    for pad in (150_000, 300_000):
        for sealed in (True, False):
            d = e.doc(extra=b"" if sealed else nonce, enc=sealed)
            d["ClientPayload"] = {"pad": "A" * pad}
            b = e.body(d)
            if not sealed:
                b["nonce"] = nonce.hex()
            st, doc, dt = e.post(b)
            tag = f"ClientPayload {pad} B, {'sealed' if sealed else 'nonce'}"
            if st == 200:
                if sealed:
                    unseal(doc["token"], e.enc.key)
                ok(f"{tag}: 200 (answer {len(doc['token'])} B)")
            else:
                check(400 <= st < 500 and inner(doc) is not None, f"{tag}: {describe(st, doc, dt)}",
                      f"{tag}: expected 200 or a 4xx with innererror, got {describe(st, doc, dt)}")
finally:
    finish(e.d if e else None)
