"""Challenges across providers: a TpmQuote challenge and a /attest/Tpm service_context issued by
provider "default" presented to provider "tenant-a" (and back), and tenant-a's challenge on
its own AzureGuest route. Each must be ATT_ERR_CHALLENGE_INVALID (AES-GCM additional data names
the provider and purpose), never accepted."""
from common import *
from maa import MaaClient

e = Env()
try:
    e.d.attestctl("provider", "create", "tenant-a", "--alg", "ES256")
    e.d.reload()
    m = SoftMachine()
    ak = SoftAK("ecc")
    cert = e.cert_for(ak)
    P = "/providers/tenant-a"
    s, _, data = e.d.request("POST", P + "/attest/TpmQuote:challenge")
    assert s == 200, data
    a = json.loads(data)
    ch, n = e.challenge()
    st, doc, dt = post(e.d, P + "/attest/TpmQuote", m.body(ak, n, cert=cert, challenge=ch))
    check(st == 400 and inner(doc) == "ATT_ERR_CHALLENGE_INVALID", f"default's challenge on tenant-a: {describe(st, doc, dt)}",
          f"default's challenge on tenant-a: {describe(st, doc, dt)}")
    an = bytes.fromhex(a["nonce"])
    st, doc, dt = post(e.d, "/attest/TpmQuote", m.body(ak, an, cert=cert, challenge=a["challenge"]))
    check(st == 400 and inner(doc) == "ATT_ERR_CHALLENGE_INVALID", f"tenant-a's challenge on default: {describe(st, doc, dt)}",
          f"tenant-a's challenge on default: {describe(st, doc, dt)}")
    st, doc, dt = post(e.d, P + "/attest/TpmQuote", m.body(ak, an, cert=cert, challenge=a["challenge"]))
    check(st == 200, "tenant-a's challenge on tenant-a: 200", f"tenant-a's own challenge: {describe(st, doc, dt)}")
    c = MaaClient(e, m, ak, cert)
    chm, ctx = c.init()
    body = {"data": b64u(json.dumps({"payload": c.request(c.payload(chm, ctx))}).encode())}
    st, doc, dt = post(e.d, P + "/attest/Tpm?api-version=2022-08-01", body)
    check(st == 400 and inner(doc) == "ATT_ERR_CHALLENGE_INVALID", f"default's service_context on tenant-a: {describe(st, doc, dt)}",
          f"default's service_context on tenant-a: {describe(st, doc, dt)}")
finally:
    e.close(); finish(e.d)
