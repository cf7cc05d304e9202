"""`attestctl audit show|export --since|--until` take RFC 3339 or seconds since the epoch; a
number is multiplied by 1000 without a bound (parse_time_ms, src/admin/audit.c), so a large
one (9223372036854775807, or anything above 9.2e15) is a signed overflow: undefined behaviour,
which the sanitizer build reports and stops on. Expected: the value refused with the usage
error, or taken as "no records after/before it" - never a sanitizer report."""
import subprocess
from common import *

d = None
try:
    d = h.Daemon("")
    for flag in ("--since", "--until"):
        for value in ("9223372036854775807", "9300000000000000"):
            p = subprocess.run([h.ATTESTCTL, "--config", d.config_path, "--data-dir", d.data,
                                "audit", "export", flag, value], env=h.san_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               timeout=120)
            bad = h.sanitizer_problems(p.stderr)
            first = next((l for l in p.stderr.splitlines() if "runtime error" in l), "")
            check(not bad, f"audit export {flag} {value}: exit {p.returncode}, no sanitizer report",
                  f"audit export {flag} {value}: {first.strip()[:200]}")
finally:
    finish(d)
