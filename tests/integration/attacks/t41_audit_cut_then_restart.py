"""Audit trail (docs/operations.md, "Audit trail"): "The newest checkpoint is also kept in the
state database, so cutting records off the end of the trail is found too." It is, until attestd
restarts: at start-up the writer reads the head of whatever audit.db now holds, appends after
it, and its next checkpoint overwrites the state database's record of the old head. Whoever can
write audit.db (not the state database, not the keys) deletes the records they want gone - the
tail, or the whole file - and after the next restart (an upgrade, a reboot, a crash) plus one
checkpoint interval `attestctl audit verify` says ok: the deletion is no longer detectable.

Two variants, each on its own daemon: (A) the records from the first policy change on are
deleted; (B) audit.db (with -wal/-shm) is deleted. Before the restart verify reports the cut
(exit 3); after the restart and a checkpoint it must still report it (or attestd must refuse to
start on a trail that lost checkpointed records). Expected: the cut stays detectable."""
import os
import sqlite3
from common import *

API = "?api-version=2020-10-01"
POLICY = "version=1.0;authorizationrules{=> permit();};issuancerules{};"


def verify(d):
    p = d.attestctl("audit", "verify", check=False)
    try:
        return p.returncode, json.loads(p.stdout)
    except ValueError:
        return p.returncode, {"stdout": p.stdout, "stderr": p.stderr}


def trail_with_changes():
    d = h.Daemon("audit_checkpoint_interval = 1\n")
    token = h.owner_token(d)
    for _ in range(3):
        status, _, body = d.request("PUT", "/policies/SgxEnclave" + API,
                                    body=h.unsigned_policy_jws(POLICY).encode(),
                                    headers={"Authorization": "Bearer " + token,
                                             "Content-Type": "text/plain"})
        assert status == 200, body
    d.stop()  # the final checkpoint is written at the stop
    code, v = verify(d)
    assert code == 0, v
    return d


def restart_and_verify(d, tag):
    try:
        d.start()
    except RuntimeError as e:
        ok(f"{tag}: attestd refused to start on the cut trail ({str(e).splitlines()[-1][:160]})")
        return
    time.sleep(2.5)  # audit_checkpoint_interval = 1: a new checkpoint reaches the state database
    d.stop()
    code, v = verify(d)
    check(code == 3 and v.get("ok") is False,
          f"{tag}: still detected after a restart: {v.get('problem')}",
          f"{tag}: after one restart `attestctl audit verify` exits {code} with ok="
          f"{v.get('ok')} ({v.get('records')} records): the deletion is undetectable, the "
          "restarted writer continued from the cut and its checkpoint replaced the state "
          "database's record of the old head")


daemons = []
try:
    # (A) cut the tail: every record from the first policy change on
    d = trail_with_changes()
    daemons.append(d)
    db = os.path.join(d.data, "audit.db")
    conn = sqlite3.connect(db, isolation_level=None)
    rows = conn.execute("SELECT seq, action FROM audit_records ORDER BY seq").fetchall()
    cut = next(seq for seq, action in rows if action == "policy.set")
    conn.execute("DELETE FROM audit_records WHERE seq >= ?", (cut,))
    conn.close()
    code, v = verify(d)
    assert code == 3, ("the cut is detected before a restart", code, v)
    print(f"  (A) records {cut}..{rows[-1][0]} deleted; before a restart: {v.get('problem')}")
    restart_and_verify(d, "(A) tail cut")

    # (B) the whole file deleted
    d = trail_with_changes()
    daemons.append(d)
    db = os.path.join(d.data, "audit.db")
    for side in ("", "-wal", "-shm"):
        if os.path.exists(db + side):
            os.unlink(db + side)
    code, v = verify(d)
    assert code == 3, ("the deletion is detected before a restart", code, v)
    for side in ("", "-wal", "-shm"):  # verify opened (and so created) an empty trail
        if os.path.exists(db + side):
            os.unlink(db + side)
    print(f"  (B) audit.db deleted; before a restart: {v.get('problem')}")
    restart_and_verify(d, "(B) audit.db deleted")
finally:
    finish(*daemons)
