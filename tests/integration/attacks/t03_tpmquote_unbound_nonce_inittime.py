"""TpmQuote: members the token echoes without the quote binding them.
 1. "challenge" and "nonce" together: the challenge is what the quote binds, yet tpm_claims
    (src/evidence/tpm/tpm.c) issues the caller's "nonce" as the token's `nonce` claim; a relying
    party that handed out that nonce sees it "echoed" by a quote that never carried it.
 2. initTimeData (JSON): issued as x-ms-inittime; only runtimeData enters extraData (expect()).
Expected: nonce with a challenge refused (or not echoed); initTimeData refused or bound."""
from common import *

e = Env()
try:
    m = SoftMachine()
    ak = SoftAK()
    cert = e.cert_for(ak)
    ch, n = e.challenge()
    body = m.body(ak, n, cert=cert, challenge=ch, nonce="c0ffee" * 4)
    st, doc, dt = post(e.d, "/attest/TpmQuote", body)
    print("  challenge + foreign nonce:", describe(st, doc, dt))
    if st == 200:
        c = h.decode_jwt(doc["token"])[1]
        check(c.get("nonce") != "c0ffee" * 4, "nonce not echoed",
              f"/attest/TpmQuote: quote bound to the challenge, token says nonce={c.get('nonce')} (never in "
              "the quote); src/evidence/tpm/tpm.c tpm_claims echoes req->nonce whatever tpm_bind used")
    else:
        ok("challenge + nonce refused")
    # runtimeData is bound (control), initTimeData is not
    rt = b'{"k":"v"}'
    ch, n = e.challenge()
    extra = hashlib.sha256(n + rt).digest()
    body = m.body(ak, extra, cert=cert, challenge=ch)
    body["runtimeData"] = {"data": b64u(rt), "dataType": "JSON"}
    body["initTimeData"] = {"data": b64u(b'{"attacker":true}'), "dataType": "JSON"}
    st, doc, dt = post(e.d, "/attest/TpmQuote", body)
    print("  runtimeData bound + initTimeData:", describe(st, doc, dt))
    if st == 200:
        c = h.decode_jwt(doc["token"])[1]
        check(c.get("x-ms-runtime") == {"k": "v"}, "runtimeData bound and echoed", "runtimeData wrong")
        check("x-ms-inittime" not in c, "initTimeData not echoed",
              f"/attest/TpmQuote: unbound initTimeData issued as x-ms-inittime={c.get('x-ms-inittime')}")
    # runtimeData not bound into the quote: must be refused
    ch, n = e.challenge()
    body = m.body(ak, n, cert=cert, challenge=ch)
    body["runtimeData"] = {"data": b64u(rt), "dataType": "JSON"}
    st, doc, dt = post(e.d, "/attest/TpmQuote", body)
    check(st == 400 and inner(doc) == "ATT_ERR_TPM_NONCE", "unbound runtimeData refused (ATT_ERR_TPM_NONCE)",
          f"unbound runtimeData: {describe(st, doc, dt)}")
finally:
    e.close(); finish(e.d)
