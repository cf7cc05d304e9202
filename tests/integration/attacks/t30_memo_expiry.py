"""AK cert valid for a few seconds: first attest OK (memoized), after notAfter it must be refused
(default policy) and aikValidated false (permissive policy). Also: a cert whose notBefore is in the
future must not be accepted, and an intermediate that expires shortens the window."""
import datetime, time
from common import *
env = Env()
d = env.d
try:
    now = datetime.datetime.now(datetime.timezone.utc)
    ak = SoftAK()
    # X.509 has second resolution; cryptography truncates microseconds
    na = now + datetime.timedelta(seconds=4)
    c = der(cert(env.ca_key, env.ca_cert, ak.key.public_key(), na=na))
    s, doc, dt = attest(env, ak, c)
    check(s == 200 and claims(doc).get("x-ms-tpm-ak-validated") is True, "fresh short cert accepted",
          f"fresh short cert not accepted: {describe(s, doc, dt)}")
    # intermediate CA expiring soon, leaf long-lived
    ik = ec.generate_private_key(ec.SECP256R1())
    ic = cert(env.ca_key, env.ca_cert, ik.public_key(), cn="inter", na=now + datetime.timedelta(seconds=4), ca=True)
    ak2 = SoftAK(kind="ecc")
    leaf2 = der(cert(ik, ic, ak2.key.public_key(), na=now + datetime.timedelta(days=5)))
    s, doc, dt = attest(env, ak2, leaf2, chain=[b64u(der(ic))])
    check(s == 200 and claims(doc).get("x-ms-tpm-ak-validated") is True, "leaf via short intermediate accepted",
          f"leaf via short intermediate not accepted: {describe(s, doc, dt)}")
    while datetime.datetime.now(datetime.timezone.utc) < na + datetime.timedelta(seconds=2):
        time.sleep(0.5)
    s, doc, dt = attest(env, ak, c)
    check(s == 400 and inner(doc) == "ATT_ERR_TPM_AK_UNTRUSTED", "expired cert refused after memo",
          f"expired memoized cert: {describe(s, doc, dt)}")
    s, doc, dt = attest(env, ak2, leaf2, chain=[b64u(der(ic))])
    check(s == 400 and inner(doc) == "ATT_ERR_TPM_AK_UNTRUSTED", "expired intermediate refused after memo",
          f"expired memoized intermediate: {describe(s, doc, dt)}")
    print(message(doc))
    assert put_policy(d, permissive(issuance='c:[type=="aikValidated"] => issue(type="akv", value=c.value);'))[0] == 200
    s, doc, dt = attest(env, ak, c)
    check(s == 200 and claims(doc).get("akv") is False and claims(doc).get("x-ms-tpm-ak-validated") is False,
          "permissive: aikValidated false after expiry", f"permissive after expiry: {describe(s, doc, dt)} {claims(doc) if s==200 else ''}")
    # not yet valid
    ak3 = SoftAK()
    c3 = der(cert(env.ca_key, env.ca_cert, ak3.key.public_key(), nb=now + datetime.timedelta(days=1)))
    for i in range(2):
        s, doc, dt = attest(env, ak3, c3)
        check(s == 200 and claims(doc).get("akv") is False, f"not-yet-valid cert not validated ({i})",
              f"not-yet-valid cert: {describe(s, doc, dt)} {claims(doc).get('akv') if s==200 else ''}")
finally:
    finish(d); env.close()
