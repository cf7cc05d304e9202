"""TpmQuote challenges are recorded as used in tpm_bind (src/evidence/tpm/tpm.c), which runs
before the policy's appraisal: a quote that the policy then refuses (no valid AK certificate,
the default require_valid_aik_cert) still consumes its challenge and a slot of the node-wide
used-challenge table (ATT_CHALLENGE_MAX_USED = 65536 for 300 s, one "client" for every provider;
src/attest/challenge.c). An anonymous client with a software key (no certificate, no TPM) can
thus fill the table - 65536 refused requests in 5 minutes, ~220/s - after which every
challenge-based TPM / AzureGuest attestation of every provider fails with 503
ATT_ERR_REPLAY_CACHE_FULL. MAA's /attest/Tpm route records use only after success.
Also measured: the cost of a use as the table fills (att_replay_use scans all 65536 slots
linearly under one mutex). Expected: a refused attestation leaves the challenge unused."""
from common import *
import http.client

e = Env()
try:
    m = SoftMachine()
    ak = SoftAK("ecc")
    cert = e.cert_for(ak)
    ch, n = e.challenge()
    st, doc, dt = post(e.d, "/attest/TpmQuote", m.body(ak, n, challenge=ch))
    print("  no AK certificate:", describe(st, doc, dt))
    st, doc, dt = post(e.d, "/attest/TpmQuote", m.body(ak, n, cert=cert, challenge=ch))
    print("  same challenge, now with a valid certificate:", describe(st, doc, dt))
    check(st == 200, "refused request left the challenge unused",
          "/attest/TpmQuote: a request refused by the policy (ATT_ERR_TPM_AK_UNTRUSTED, no certificate) consumed "
          f"its challenge (retry -> {inner(doc)}); state change on a refused request, lets anonymous clients fill "
          "the node-wide 65536-entry used table (503 for everyone) - tpm_bind records use before appraisal")
    # MAA route control: a refused round 2 does not consume (checked in t08); here the rate needed
    conn = e.d.connection(timeout=60)
    N = 600
    t0 = time.monotonic()
    c0 = daemon_cpu(e.d)
    lat = []
    for i in range(N):
        s, _, data = e.d.request("POST", "/attest/TpmQuote:challenge", conn=conn)
        doc = json.loads(data)
        body = json.dumps(m.body(ak, bytes.fromhex(doc["nonce"]), challenge=doc["challenge"])).encode()
        t1 = time.monotonic()
        s, _, data = e.d.request("POST", "/attest/TpmQuote", body=body,
                                 headers={"Content-Type": "application/json"}, conn=conn)
        lat.append(time.monotonic() - t1)
        assert s == 400 and b"ATT_ERR_TPM_AK_UNTRUSTED" in data, data
    wall = time.monotonic() - t0
    cpu = daemon_cpu(e.d) - c0
    print(f"  {N} burned challenges in {wall:.1f} s ({N / wall:.0f}/s single client, ASan build); daemon CPU "
          f"{cpu * 1000 / N:.2f} ms per challenge+attempt; attempt latency first 50 {1000 * sum(lat[:50]) / 50:.1f} ms, "
          f"last 50 {1000 * sum(lat[-50:]) / 50:.1f} ms")
    print(f"  to fill 65536 slots within the 300 s TTL: {65536 / 300:.0f} attempts/s")
    conn.close()
finally:
    e.close(); finish(e.d)
