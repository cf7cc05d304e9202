"""Work amplification in the event log parser: att_tcg_log_parse calls only_padding() before
every record, and only_padding scans the whole rest of the log byte by byte (att_rd_u8, one call
per byte) while it is all zero. A legacy (SHA-1) log of all-zero records (PCR 0, type 0
EV_PREBOOT_CERT, zero digest, empty data: 32 bytes each) makes every scan run to the end (the last record's data is one non-zero byte):
O(n^2) byte reads. No TPM, key or certificate is needed: the log is parsed before any signature
is checked. Expected: parsing a log costs O(size)."""
from common import *

e = Env()
try:
    m = SoftMachine()
    ak = SoftAK()
    q = quote_bytes(b"\x11" * 32, b"\0" * 32)
    base = {"quote": b64u(q), "signature": b64u(ak.sign(q)), "akPublic": b64u(ak.public),
            "pcrs": m.pcrs_json(), "nonce": "11" * 32}

    def attempt(label, log):
        body = dict(base, eventLog=b64u(log))
        raw = json.dumps(body).encode()
        c0 = daemon_cpu(e.d)
        st, doc, dt = post(e.d, "/attest/TpmQuote", raw, timeout=600)
        cpu = daemon_cpu(e.d) - c0
        print(f"  {label}: body {len(raw)} B, log {len(log)} B -> {describe(st, doc, dt)}, daemon CPU {cpu:.2f} s")
        return st, cpu

    # control: a crypto-agile log of the same size (non-zero bytes in every record header)
    agile = AgileLog(m)
    while len(agile.data) < 180_000:
        agile.add(0, 0, b"", extend=False)
    st, cpu_agile = attempt("agile log, same size", agile.data)

    for size in (48_000, 96_000, 190_000):
        n = size // 32 - 1
        # n all-zero records, then one whose data is a single 0x01: every only_padding() scan
        # runs to that last byte before it answers "not padding"
        zeros = b"\0" * (32 * n) + legacy_event(0, 0, b"\0" * 20, b"\x01")
        st, cpu = attempt(f"legacy all-zero log {size // 1000} kB ({size // 32} records)", zeros)
        check(cpu < 1.0, f"legacy zero log {size} B costs {cpu:.2f} s CPU",
              f"/attest/TpmQuote: a {size}-byte all-zero legacy event log costs {cpu:.2f} s daemon CPU "
              f"(agile log of 180 kB: {cpu_agile:.2f} s); status {st}; quadratic only_padding() in "
              f"src/evidence/tpm/eventlog.c att_tcg_log_parse")
    check(e.d.running(), "daemon still up", "daemon died")
finally:
    e.close(); finish(e.d)
