"""AzureGuest: the request's top-level runtimeData / initTimeData (MAA's common members) are
copied into the token (x-ms-runtime, x-ms-inittime) by src/attest/attest.c
(att_claims_bound_data) although nothing binds them: azure.c gives the TpmQuote step no runtime
data (the quote's extraData is the bare nonce) and the hardware report binds only the HCL runtime
data. A relying party reading x-ms-runtime (where MAA puts data the TEE vouches for, e.g. a key)
gets the attacker's JSON. Expected: refused, or bound (extraData = SHA-256(nonce || data)) as on
/attest/TpmQuote. Uses the real SNP CVM sample (tests/fixtures/azure) in trustee's shape."""
from common import *

API = "?api-version=2020-10-01"
NONCE = b"challenge".hex()
d = h.Daemon(config="amd_crl_check = disabled\n")
try:
    ev = {"hcl_report": b64u(read_fixture("snp05_azure_snp_vtpm_hcl_report.bin")),
          "tpm_quote": json.loads(read_fixture("snp05_azure_snp_vtpm_tpm_quote.json")),
          "vcek": b64u(read_fixture("snp05_azure_snp_vtpm_vcek_ask_ark.pem"))}
    info = b64u(json.dumps(ev).encode())
    st, doc, dt = post(d, "/attest/AzureGuest" + API, {"attestationInfo": info, "nonce": NONCE})
    check(st == 200, "control: sample accepted", f"control refused {describe(st, doc, dt)}")
    fake = {"keys": [{"kid": "TpmEphemeralEncryptionKey", "kty": "RSA", "e": "AQAB", "n": "attacker"}],
            "user-data": "41" * 64}
    body = {"attestationInfo": info, "nonce": NONCE,
            "runtimeData": {"data": b64u(json.dumps(fake).encode()), "dataType": "JSON"},
            "initTimeData": {"data": b64u(b'{"policy":"attacker"}'), "dataType": "JSON"}}
    st, doc, dt = post(d, "/attest/AzureGuest" + API, body)
    print("  runtimeData+initTimeData:", describe(st, doc, dt))
    if st == 200:
        c = h.decode_jwt(doc["token"])[1]
        print("  x-ms-runtime:", json.dumps(c.get("x-ms-runtime"))[:200])
        print("  x-ms-inittime:", json.dumps(c.get("x-ms-inittime"))[:200])
        check(c.get("x-ms-runtime") != fake,
              "runtimeData not echoed", "/attest/AzureGuest: unbound request runtimeData (JSON) issued as "
              "top-level x-ms-runtime in a signed azurevm token (src/attest/attest.c att_claims_bound_data "
              "+ src/evidence/azure/azure.c, tpm_req has no runtime)")
        check("x-ms-inittime" not in c, "initTimeData not echoed",
              "/attest/AzureGuest: unbound initTimeData issued as x-ms-inittime")
    else:
        ok(f"runtimeData refused ({inner(doc)})")
    # Binary runtime data: what happens?
    body = {"attestationInfo": info, "nonce": NONCE,
            "runtimeData": {"data": b64u(b"\x01\x02"), "dataType": "Binary"}}
    st, doc, dt = post(d, "/attest/AzureGuest" + API, body)
    print("  Binary runtimeData:", describe(st, doc, dt))
    check(st != 200, "binary runtimeData refused",
          "/attest/AzureGuest: Binary runtimeData accepted although not bound (silently ignored)")
finally:
    finish(d)
