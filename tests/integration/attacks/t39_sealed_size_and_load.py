"""Expensive or oversized work: a ClientPayload filling the body limit (the token grows past the
JWS cap: must be a 4xx, not a 500), sealed and unsealed; RSA-4096 keys with exponent 2^32-1;
8 sealed requests in parallel (latency and daemon CPU)."""
from sealed_common import *
import concurrent.futures

e = None
try:
    e = Env()
    nonce = b"\xee" * 16
    base_len = len(json.dumps(e.body()))
    for target in (200_000, 230_000, 250_000, 255_000):
        pad = int((target - base_len) * 3 / 4) - 40
        for sealed in (True, False):
            d = e.doc(extra=b"" if sealed else nonce, enc=sealed)
            d["ClientPayload"] = {"nonce": b64(b"n"), "pad": "A" * pad}
            b = e.body(d)
            if not sealed:
                b["nonce"] = nonce.hex()
            raw = len(json.dumps(b))
            st, doc, dt = e.post(b)
            tag = f"body {raw} B, {'sealed' if sealed else 'nonce'}"
            if st == 200:
                if sealed:
                    unseal(doc["token"], e.enc.key)
                ok(f"{tag}: 200 (token {len(doc['token'])} B)")
            else:
                check(400 <= st < 500, f"{tag}: {describe(st, doc, dt)}", f"{tag}: {describe(st, doc, dt)}")
    # RSA-4096 with e = 2^32-1 (the most public-key work the TPM rules allow), certified
    k = rsa.generate_private_key(public_exponent=65537, key_size=4096).public_key().public_numbers()
    area = rsa_area(k.n, 4096, 0xFFFFFFFF)
    cert = certify_bytes(name_of(area))
    heavy = e.body(EncKeyPub=tpm2b(area), EncKeyCertifyInfo=cert, EncKeyCertifyInfoSignature=e.sign(cert))
    st, doc, dt = e.post(heavy)
    check(st == 200 and dt < 2, f"RSA-4096 e=2^32-1: {describe(st, doc, dt)}", f"RSA-4096 e=2^32-1: {describe(st, doc, dt)}")
    # parallel: 8 x sealed (valid), 8 x refused (bad cert sig)
    bad = e.body(EncKeyCertifyInfoSignature=b"\1" * 256)
    cpu0 = c.daemon_cpu(e.d)
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        res = list(ex.map(lambda b: e.post(b), [heavy] * 8 + [bad] * 8))
    wall = time.monotonic() - t0
    cpu = c.daemon_cpu(e.d) - cpu0
    sts = [r[0] for r in res]
    check(sts == [200] * 8 + [400] * 8 and all(inner(r[1]) == "ATT_ERR_HCL_ENC_KEY" for r in res[8:]),
          f"16 parallel: statuses ok, wall {wall:.2f}s, daemon CPU {cpu:.2f}s",
          f"16 parallel: statuses {sts} wall {wall:.2f}s")
    check(cpu < 10, "CPU per request small (%.0f ms)" % (cpu / 16 * 1000), "CPU %.2fs for 16 requests" % cpu)
finally:
    finish(e.d if e else None)
