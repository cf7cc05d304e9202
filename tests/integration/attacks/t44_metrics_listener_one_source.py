"""metrics_listen (docs/operations.md, "Monitoring") serves /metrics to anyone who can reach it,
with max_connections 64 of its own but the main listener's max_connections_per_address (128 by
default): one source can hold every slot. The main listener's rule - "so one source cannot take
every slot" (docs/config.md, max_connections_per_address) - does not hold here. From one
address, 64 connections that trickle a request head (a byte every few seconds: slow-loris)
keep the metrics listener full for request_timeout (30 s), and again each time they reconnect:
Prometheus, from any other address, cannot scrape meanwhile (`up` 0, every alert on attestd's
metrics blind).

Attacker: 127.0.0.1, as many slow connections as the listener takes. Victim: 127.0.0.2.
Expected: the victim's scrape answered 200 (a per-source cap below the listener's own)."""
import socket
import ssl
from common import *

d = None
held = []


def tls(port, source):
    raw = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
    try:
        return d.ssl_context().wrap_socket(raw, server_hostname="127.0.0.1")
    except BaseException:
        raw.close()
        raise


def scrape(port, source):
    try:
        s = tls(port, source)
    except (OSError, ssl.SSLError) as e:
        return f"connection refused ({type(e).__name__})"
    try:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        r = h.read_response(s.makefile("rb"))
        return r[0] if r else "no answer"
    except (OSError, ssl.SSLError, AssertionError) as e:
        return f"no answer ({type(e).__name__})"
    finally:
        s.close()


try:
    mport = h.free_port()
    d = h.Daemon(f"metrics_listen = 127.0.0.1:{mport}\n")
    assert scrape(mport, "127.0.0.2") == 200
    for _ in range(80):
        try:
            s = tls(mport, "127.0.0.1")
            s.sendall(b"GET /metrics HTTP/1.1\r\nX-Slow: ")
            held.append(s)
        except (OSError, ssl.SSLError):
            break
    time.sleep(0.5)
    first = scrape(mport, "127.0.0.2")
    time.sleep(5)
    for s in held:  # still sending: not idle, never timed out by read_timeout
        try:
            s.sendall(b"a")
        except (OSError, ssl.SSLError):
            pass
    second = scrape(mport, "127.0.0.2")
    print(f"  127.0.0.1 holds {len(held)} slow connections; scrapes from 127.0.0.2: {first!r}, "
          f"5 s later {second!r}")
    check(first == 200 and second == 200, "another source still scrapes",
          f"one source holding {len(held)} slow connections shuts every other source out of the "
          f"metrics listener (scrapes: {first!r}, {second!r}): its per-source cap is the main "
          "listener's 128, above the listener's own 64 slots")
finally:
    for s in held:
        s.close()
    finish(d)
