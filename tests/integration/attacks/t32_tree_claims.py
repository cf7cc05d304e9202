"""events/pcrs claims as trees: text must be compact JSON; pcrs read-only (no issue of anything
derived from it, including via add + claim=, AppendString, JmesPath, JsonToClaimValue of a member)."""
import json
from common import *
env = Env()
d = env.d
def run(issuance, auth=""):
    st, body = put_policy(d, permissive(extra_auth=auth, issuance=issuance))
    if st != 200:
        return st, {"put": body[:200]}, 0
    m = SoftMachine()
    log = AgileLog(m)
    log.add(4, 0x80000003, b"\x01" * 40)
    log.add(4, 4, b"\0\0\0\0")
    log.add(7, 0x80000001, b"caf\xc3\xa9/\"x\"")
    return attest(env, SoftAK(kind="ecc"), None, machine=m, log=log.data)
try:
    s, doc, dt = run('c:[type=="events"] => issue(type="ev", value=c.value); '
                     'c:[type=="events"] => issue(type="evq", value=JmesPath(c.value, "@"));')
    if s == 200:
        cl = claims(doc)
        ev = cl.get("ev")
        compact = json.dumps(json.loads(ev), separators=(",", ":"), ensure_ascii=False)
        check(ev == compact, "events text compact", f"events text not compact: {ev[:200]!r}")
        print("  events == JmesPath(@):", ev == cl.get("evq"))
    else:
        finding(f"issue events: {describe(s, doc, dt)}")
    s, doc, dt = run('c:[type=="events"] => issue(type="ev", value=AppendString(c.value, "")); '
                     'c:[type=="events"] => issue(type="len", value=JmesPath(c.value, "length(Events)"));')
    check(s == 200 and claims(doc).get("len") == "3", "AppendString/JmesPath on events ok",
          f"AppendString/JmesPath on events: {describe(s, doc, dt)} {claims(doc).get('len') if s==200 else ''}")
    # condition on value of tree claims
    s, doc, dt = run('c:[type=="events"] && p:[type=="pcrs"] && x:[type=="aikPubHash", value!=c.value] && '
                     'y:[type=="aikPubHash", value!=p.value] => issue(type="ok", value=true); '
                     'c:[type=="pcrs", value=="x"] => issue(type="bad", value=true);')
    check(s == 200 and claims(doc).get("ok") is True and "bad" not in claims(doc), "conditions on tree values",
          f"conditions on tree values: {describe(s, doc, dt)}")
    ro = {
        "issue pcrs": 'c:[type=="pcrs"] => issue(type="x", value=c.value);',
        "issue AppendString(pcrs)": 'c:[type=="pcrs"] => issue(type="x", value=AppendString("a", c.value));',
        "issue JmesPath(pcrs)": 'c:[type=="pcrs"] => issue(type="x", value=JmesPath(c.value, "PCRs[0].Index"));',
        "issue JsonToClaimValue(JmesPath(pcrs))": 'c:[type=="pcrs"] => issue(type="x", value=JsonToClaimValue(JmesPath(c.value, "PCRs[0].Index")));',
        "add+claim=": 'c:[type=="pcrs"] => add(type="y", value=c.value); c:[type=="y"] => issue(claim=c);',
        "add+issue(value)": 'c:[type=="pcrs"] => add(type="y", value=JmesPath(c.value, "PCRs[1].Digests.SHA256")); c:[type=="y"] => issue(type="z", value=c.value);',
        "issueproperty pcrs": 'c:[type=="pcrs"] => issueproperty(type="x", value=c.value);',
        "JmesPath query from pcrs": 'c:[type=="pcrs"] => issue(type="x", value=JmesPath("{\\"a\\":1}", AppendString("a", JmesPath(c.value, "PCRs[0].Index"))));',
        "claim=pcrs": 'c:[type=="pcrs"] => issue(claim=c);',
    }
    for name, rule in ro.items():
        s, doc, dt = run(rule)
        check(s == 400 and inner(doc) == "ATT_ERR_POLICY_EVAL", f"read-only: {name} refused",
              f"read-only: {name}: {describe(s, doc, dt)} {claims(doc) if s == 200 else ''}")
    # type derived from pcrs (value not derived)
    s, doc, dt = run('c:[type=="pcrs"] => issue(type=JmesPath(c.value, "PCRs[0].Digests.SHA256"), value="v");')
    check(s == 400 and inner(doc) == "ATT_ERR_POLICY_EVAL", "type derived from pcrs refused",
          f"issue with a type derived from pcrs: {describe(s, doc, dt)}")
    s, doc, dt = run('c:[type=="pcrs"] => issue(type="x", value=JsonToClaimValue(c.value));')
    check(s == 400, "JsonToClaimValue(pcrs) refused", f"JsonToClaimValue(pcrs): {describe(s, doc, dt)}")
finally:
    finish(d); env.close()
