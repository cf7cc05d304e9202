"""metrics_listen (docs/operations.md, "Monitoring") adds a listener with up to 64 connections
and a loop of its own, but the descriptors kept back from max_connections for the open-file
limit (usable_connections in src/server/daemon.c: 64 + the spares of the main loops) were not
raised for it. With a tight limit, the main listener's slots busy and the metrics listener's 64
connections held (anonymous: anyone who can reach it), a connect flood runs the daemon out of
descriptors again: "accept failed: Too many open files" - what the outside review's round 3
(g04, test_connections.DescriptorFloodTest) fixed for the main listener. Descriptors the
daemon needs for anything else (the stores, upstream fetches) are gone meanwhile.

Expected: no "accept failed" (the metrics listener's connections and loop counted in the
reserve, or the main listener's slots lowered for them)."""
import socket
import ssl
import threading
from common import *

d = None
held = []
try:
    mport = h.free_port()
    d = h.Daemon(config="threads = 4\nmax_connections_per_address = 0\nlog_summary_interval = 1\n"
                        f"metrics_listen = 127.0.0.1:{mport}\n", nofile=300)
    using = d.wait_log("max_connections lowered to fit the open-file limit")[0]["using"]

    def slow(port):
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        s = d.ssl_context().wrap_socket(raw, server_hostname="127.0.0.1")
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\n")  # a head never finished
        return s

    held += [slow(d.port) for _ in range(using)]  # every main slot busy
    for _ in range(64):  # the metrics listener's slots
        try:
            held.append(slow(mport))
        except (OSError, ssl.SSLError):
            break
    print(f"  main listener: {using} busy connections; metrics listener: {len(held) - using}; "
          f"daemon descriptors in use: {len(os.listdir(f'/proc/{d.proc.pid}/fd'))} of 300")

    def flood(source, stop_at):
        socks = []
        while time.monotonic() < stop_at:
            s = socket.socket()
            s.setblocking(False)
            s.bind((source, 0))
            s.connect_ex(("127.0.0.1", d.port))
            socks.append(s)
            if len(socks) > 200:
                for old in socks[:100]:
                    old.close()
                del socks[:100]
        for s in socks:
            s.close()

    stop_at = time.monotonic() + 3
    threads = [threading.Thread(target=flood, args=(f"127.0.1.{i}", stop_at)) for i in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(0.5)
    failed = [e for e in d.log_events() if e.get("msg") == "accept failed"]
    check(not failed, "no accept failure with the metrics listener's slots held",
          f"descriptors ran out: {failed[0] if failed else ''} ({len(failed)} such log lines): "
          "the metrics listener's connections are not in the descriptor reserve")
finally:
    for s in held:
        try:
            s.close()
        except OSError:
            pass
    finish(d)
