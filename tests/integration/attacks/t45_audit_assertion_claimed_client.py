"""Audit trail (docs/operations.md, "Audit trail"): every token request answered 401 is
recorded "refused with the client id it claimed". For private_key_jwt (client_assertion) the
claimed client id is the assertion's iss/sub (or the client_id parameter); the service log
names it, but the audit record's identity.id is empty: att_api_oauth_token records its own
client_id variable, which only the secret-based methods fill. An attacker trying keys against a
principal that holds a certificate leaves records that do not say which principal was targeted
(the trail cannot be filtered by it: ?principal=<id> finds nothing).

One assertion for a real principal (with a registered certificate), signed by another key.
Expected: the record of the refusal carries the claimed client id."""
import urllib.parse
import uuid
from common import *

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
d = None
try:
    d = h.Daemon("")
    token = h.owner_token(d)
    pki = os.path.join(d.tmp, "pki")
    os.mkdir(pki)
    victim = json.loads(d.attestctl("principal", "create", "victim").stdout)["client_id"]
    key = h.new_signing_key(os.path.join(pki, "victim.key"), "p256")
    pem = os.path.join(pki, "victim.pem")
    h.openssl("req", "-new", "-x509", "-key", key, "-out", pem, "-days", "30", "-subj", "/CN=v")
    d.attestctl("principal", "cert", "victim", pem)
    stranger = h.new_signing_key(os.path.join(pki, "stranger.key"), "p256")
    issuer = h.decode_jwt(token)[1]["iss"]
    now = int(time.time())
    assertion = h.sign_jwt(stranger, "ES256", {"iss": victim, "sub": victim,
                                               "aud": issuer + "/oauth2/token", "iat": now,
                                               "exp": now + 120, "jti": str(uuid.uuid4())})
    body = urllib.parse.urlencode([("grant_type", "client_credentials"),
                                   ("client_assertion_type", JWT_BEARER),
                                   ("client_assertion", assertion)]).encode()
    status, headers, _ = d.request("POST", "/oauth2/token", body=body,
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 401, status
    rid = headers["x-ms-request-id"]
    time.sleep(0.5)  # the refusal's record is written without holding the answer
    logged = [e.get("client_id") for e in d.log_events()
              if e.get("request_id") == rid and e.get("msg") == "token request"]
    status, _, doc = d.get_json("/attestd/audit?limit=1000&category=authentication",
                                headers={"Authorization": "Bearer " + token})
    recs = [r for r in doc["records"] if r["correlationId"] == rid]
    assert len(recs) == 1, recs
    print(f"  service log client_id {logged}; audit record identity {recs[0]['identity']}")
    check(recs[0]["identity"]["id"] == victim, "the refusal names the claimed client",
          f"private_key_jwt refusal (wrong key for principal {victim}) recorded with identity "
          f"{recs[0]['identity']}: the claimed client id (in the service log: {logged}) is "
          "missing from the audit trail")
finally:
    finish(d)
