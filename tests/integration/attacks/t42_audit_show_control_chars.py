"""`attestctl audit show` (docs/operations.md, "Audit trail": one readable line per record)
prints the record's columns as they are. A refused token request is recorded with the client id
it claimed, and that id is whatever an anonymous client put in the form (up to 63 bytes, any
valid UTF-8, control characters included): a newline starts a forged line of the operator's
view ("#999 ... change policy.set success who=bootstrap-owner ..."), and ESC sequences reach
the operator's terminal (clear lines, recolour, move the cursor over real records).

One request to POST /oauth2/token with such a client_id, then `attestctl audit show`.
Expected: one line per record and no control character in the output (escaped or replaced)."""
import re
import urllib.parse
from common import *

d = None
try:
    d = h.Daemon("")
    claimed = b"x\n#999 forged change policy.set success\x1b[2K\x1b[1A"
    assert len(claimed) < 64
    body = (b"grant_type=client_credentials&client_secret=s&client_id=" +
            urllib.parse.quote_from_bytes(claimed).encode())
    status, _, _ = d.request("POST", "/oauth2/token", body=body,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 401, status
    time.sleep(0.5)  # the refusal's record is written without holding the answer
    records = [json.loads(line) for line in d.attestctl("audit", "export").stdout.splitlines()]
    assert any(r["identity"]["id"] == claimed.decode() for r in records), "recorded as claimed"
    out = d.attestctl("audit", "show").stdout
    lines = out.split("\n")[:-1]
    controls = sorted({c for c in out if ord(c) < 0x20 and c != "\n"} | {c for c in out if c == "\x7f"})
    print(f"  {len(records)} records, {len(lines)} lines of `attestctl audit show`")
    seqs = [r["seq"] for r in records]
    starts = [int(m.group(1)) if (m := re.match(r"^#(\d+) ", l)) else None for l in lines]
    check(starts == seqs, "one line per record",
          f"`attestctl audit show` printed {len(lines)} lines for {len(records)} records: an "
          f"anonymous client's client_id forged a line: "
          f"{[l for l, s in zip(lines, starts) if s not in seqs or starts.count(s) > 1 or s is None]!r}")
    check(not controls, "no control characters in the output",
          f"`attestctl audit show` wrote control characters {controls!r} from an anonymous "
          "client's client_id to the operator's terminal (ESC sequences)")
finally:
    finish(d)
