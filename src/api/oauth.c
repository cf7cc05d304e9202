/*
 * oauth.c - POST /oauth2/token: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4).
 *
 * Client authentication: client_secret_basic (Authorization: Basic, RFC 6749 §2.3.1, with
 * form-urlencoded id and secret), client_secret_post (client_id and client_secret in the
 * body), or private_key_jwt (client_assertion_type and client_assertion in the body, RFC 7523
 * §2.2, OpenID Connect Core §9; src/auth/assertion.h). Using more than one is refused (§2.3).
 * Errors use OAuth's shape {"error", "error_description"} (§5.2), not MAA's. Every decision
 * is logged with client id, method and peer, never the secret or the assertion (at most the
 * first 8 bytes of its SHA-256); refusals and throttling that repeat are summarised
 * (src/core/log_summary.h). Brute-force backoff follows src/auth/backoff.h.
 */
#include "api/api.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "metrics/metrics.h"
#include "auth/access.h"
#include "auth/assertion.h"
#include "auth/backoff.h"
#include "auth/principal.h"
#include "core/codec.h"
#include "core/log.h"
#include "core/log_summary.h"
#include "core/timeutil.h"
#include "http/form.h"

#define CLIENT_ID_MAX 64
#define SECRET_MAX 256

/*
 * `bearer_used`: the client sent "Authorization: Bearer" (RFC 6749 §5.2: a 401 names the
 * scheme the client used; otherwise it names the one we support, Basic).
 */
static void oauth_error(struct att_http_response *resp, int status, const char *error,
                        const char *description, bool bearer_used)
{
    json_t *doc = json_pack("{s:s,s:s}", "error", error, "error_description", description);
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    att_buf_reset(&resp->headers);
    if (text == NULL || att_http_response_json(resp, status, text, strlen(text)) != ATT_OK) {
        att_http_error(resp, 500, "InternalServerError", "cannot encode the error");
    }
    resp->error_code = error;
    att_ignore_err(att_http_response_header(resp, "Cache-Control", "no-store"));
    if (status == 401) {
        att_ignore_err(att_http_response_header(resp, "WWW-Authenticate",
                                                bearer_used ? "Bearer realm=\"attestd\""
                                                            : "Basic realm=\"attestd\""));
    }
    free(text);
    json_decref(doc);
}

/* Does `client_id` name a principal? A store error counts as yes: the check then reports it. */
static bool principal_exists(const struct att_api_call *call, const char *client_id)
{
    struct att_principal_rec p;
    return att_store_principal_get(call->api->store, client_id, &p) != ATT_ERR_NOT_FOUND;
}

/* 429 with Retry-After: too many failures (RFC 6585 §4). */
static void throttle(struct att_http_response *resp, unsigned retry, bool bearer_used)
{
    char value[16];
    snprintf(value, sizeof(value), "%u", retry > 0 ? retry : 1);
    /* RFC 6749 §5.2 has no throttling code; invalid_client with 429 and Retry-After. */
    oauth_error(resp, 429, "invalid_client", "too many failed authentication attempts; retry later",
                bearer_used);
    att_ignore_err(att_http_response_header(resp, "Retry-After", value));
}

/*
 * Backoff before any credential is checked (src/auth/backoff.h), for an attempt naming
 * `client_id` (NULL: none usable; `keys` made from the same): a blocked (source, client) pair
 * is refused; a blocked source only what no valid caller sends: no usable client id, or one
 * that names no principal. Credentials for a principal that exists are checked, so a valid
 * one is not refused because others failed from the same address.
 */
static bool too_many(const struct att_api_call *call, const struct att_backoff_keys *keys,
                     const char *client_id, int64_t now, struct att_http_response *resp,
                     bool bearer_used)
{
    struct att_backoff *b = call->api->backoff;
    unsigned retry = 0;
    bool blocked = client_id != NULL && att_backoff_pair_blocked(b, keys->pair, now, &retry);
    if (!blocked && att_backoff_source_blocked(b, keys->source, now, &retry)) {
        blocked = client_id == NULL || !principal_exists(call, client_id);
    }
    if (blocked) {
        throttle(resp, retry, bearer_used);
    }
    return blocked;
}

/*
 * Count a failed attempt and answer it: 401 with `description`, or 429 when the backoff has
 * no room to count it (src/auth/backoff.h: it fails closed). `principal` says whether the
 * client id names a principal whose credential was checked: only then does the failure count
 * against the (source, client) pair and the client; anything else counts against the source.
 * True when it answered 429.
 */
static bool count_failure(const struct att_api_call *call, const struct att_backoff_keys *keys,
                          bool principal, int64_t now, const char *description,
                          struct att_http_response *resp, bool bearer_used)
{
    struct att_backoff *b = call->api->backoff;
    unsigned retry = 0;
    enum att_backoff_count c = principal ? att_backoff_credential_failed(b, keys, now, &retry)
                                         : att_backoff_fail(b, keys->source, now, &retry);
    if (c == ATT_BACKOFF_NO_ROOM) {
        throttle(resp, retry, bearer_used);
        return true;
    }
    oauth_error(resp, 401, "invalid_client", description, bearer_used);
    return false;
}

static bool copy_view(struct att_bytes v, char *out, size_t cap)
{
    if (v.len == 0 || v.len >= cap) {
        return false;
    }
    memcpy(out, v.ptr, v.len);
    out[v.len] = 0;
    return true;
}

/* "Basic " base64(urlencode(id) ":" urlencode(secret)) into id and secret. */
static bool parse_basic(struct att_bytes header, char *id, size_t id_cap, struct att_buf *secret)
{
    struct att_bytes scheme;
    struct att_bytes cred;
    struct att_buf raw;
    struct att_buf dec_id;
    bool ok = false;
    if (att_bytes_slice(header, 0, 6, &scheme) != ATT_OK ||
        !att_bytes_eq_str_nocase(scheme, "basic ") ||
        att_bytes_slice(header, 6, header.len - 6, &cred) != ATT_OK) {
        return false;
    }
    cred = att_bytes_trim(cred);
    att_buf_init_secret(&raw, 1024);
    att_buf_init(&dec_id, CLIENT_ID_MAX);
    struct att_rd r;
    struct att_bytes id_part;
    struct att_bytes secret_part;
    if (att_b64_decode((const char *)cred.ptr, cred.len, &raw) == ATT_OK) {
        att_rd_init(&r, raw.data, raw.len);
        if (att_rd_until(&r, ':', &id_part) == ATT_OK) {
            att_rd_rest(&r, &secret_part);
            ok = att_form_decode(id_part, &dec_id) == ATT_OK &&
                 att_form_decode(secret_part, secret) == ATT_OK && dec_id.len > 0 &&
                 dec_id.len < id_cap;
            if (ok) {
                memcpy(id, dec_id.data, dec_id.len + 1);
            }
        }
    }
    att_buf_cleanup(&raw);
    att_buf_cleanup(&dec_id);
    return ok;
}

/* An assertion is never logged: only the first 8 bytes of its SHA-256, in hex. */
static void fingerprint(struct att_bytes v, char out[17])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t d[32];
    if (EVP_Digest(v.ptr, v.len, d, NULL, EVP_sha256(), NULL) != 1) {
        memset(d, 0, sizeof(d));
    }
    for (size_t i = 0; i < 8; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[16] = 0;
}

/* How the client authenticated (or tried to). */
struct attempt {
    const char *method;    /* "client_secret_basic", "client_secret_post", "private_key_jwt" */
    char assertion_fp[17]; /* fingerprint of the client_assertion; "" for the other methods */
    /* private_key_jwt: the client id the assertion names (unverified), for the audit record */
    char claimed[ATT_ASSERTION_CLIENT_ID_MAX + 1];
};

/*
 * One line per decision, except that refusals repeat at an attacker's pace: those are logged
 * the first time per (result, source, client id, reason) and then counted (log_summary.h).
 */
static void log_decision(const struct att_http_request *req, const char *client_id,
                         const struct attempt *how, const char *result, att_err reason)
{
    if (reason != ATT_OK) {
        char source[ATT_BACKOFF_KEY_MAX];
        char key[ATT_LOG_SUMMARY_KEY_MAX];
        att_backoff_addr_key(req->peer, source);
        if (strcmp(result, "throttled") == 0) {
            /* Counted per source: a blocked source may try any client id. */
            snprintf(key, sizeof(key), "token throttled %s", source);
        } else {
            snprintf(key, sizeof(key), "token %s %s %s %s", result, source, client_id,
                     att_err_name(reason));
        }
        if (!att_log_summary_admit(ATT_LOG_WARN, "token request", key, att_time_now())) {
            return;
        }
    }
    att_log(reason == ATT_OK ? ATT_LOG_INFO : ATT_LOG_WARN, "token request", "request_id",
            json_string(req->request_id), "peer", json_string(req->peer_text), "client_id",
            client_id[0] != 0 ? json_string(client_id) : NULL, "method",
            how->method != NULL ? json_string(how->method) : NULL, "assertion",
            how->assertion_fp[0] != 0 ? json_string(how->assertion_fp) : NULL, "result",
            json_string(result), "reason",
            reason != ATT_OK ? json_string(att_err_name(reason)) : NULL, NULL);
}

/*
 * A failure of ours while checking credentials (the store busy or broken, memory, crypto) is
 * not the client's: it is not counted against the client or its address, and is answered 503
 * (retry) for a store that may come back, 500 otherwise. True when it answered.
 */
static bool refused_by_us(const struct att_http_request *req, const char *client_id,
                          const struct attempt *how, att_err rc, struct att_http_response *resp,
                          bool bearer_used)
{
    enum att_err_kind kind = att_err_kind(rc);
    if (kind != ATT_KIND_STORE && kind != ATT_KIND_IO && kind != ATT_KIND_INTERNAL) {
        return false;
    }
    log_decision(req, client_id, how, "unavailable", rc);
    if (kind == ATT_KIND_STORE) {
        oauth_error(resp, 503, "temporarily_unavailable",
                    "the credential store is busy; retry later", bearer_used);
        att_ignore_err(att_http_response_header(resp, "Retry-After", "1"));
    } else {
        oauth_error(resp, 500, "server_error", "the credentials could not be checked", bearer_used);
    }
    return true;
}

/* Answer 200 with a new access token for `p`. */
static void issue(const struct att_api_call *call, const struct att_principal_rec *p,
                  const struct attempt *how, int64_t now, struct att_http_response *resp)
{
    struct att_buf token;
    att_buf_init(&token, ATT_ACCESS_MAX_TOKEN);
    att_err rc = att_auth_issue(call->api->auth, p, now, &token);
    json_t *doc = rc == ATT_OK
                      ? json_pack("{s:s,s:s,s:i}", "access_token", att_buf_cstr(&token),
                                  "token_type", "Bearer", "expires_in", ATT_ACCESS_LIFETIME)
                      : NULL;
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (text == NULL || att_http_response_json(resp, 200, text, strlen(text)) != ATT_OK) {
        att_api_fail(resp, rc, "cannot issue the token");
    } else {
        /* RFC 6749 §5.1: tokens must not be cached. */
        att_ignore_err(att_http_response_header(resp, "Cache-Control", "no-store"));
        att_ignore_err(att_http_response_header(resp, "Pragma", "no-cache"));
        log_decision(call->req, p->id, how, "issued", ATT_OK);
    }
    free(text);
    json_decref(doc);
    att_buf_cleanup(&token);
}

/* ---- private_key_jwt ---- */

/*
 * The error_description of a refused assertion: what is wrong, in terms of the claims the
 * client controls. An unknown client and one without a certificate read the same, so
 * principals without a certificate cannot be found this way. (A principal with one answers
 * the signature check, which shows that it exists: client ids are random UUIDs, not secrets.)
 * The numbers below are those of assertion.h.
 */
_Static_assert(ATT_ASSERTION_MAX == 8192 && ATT_ASSERTION_MAX_LIFETIME == 600 &&
                   ATT_ASSERTION_JTI_MAX == 256,
               "update the error descriptions");
static const char *assertion_problem(att_err rc)
{
    switch (rc) {
    case ATT_ERR_TOO_LARGE: return "client_assertion is larger than 8192 bytes";
    case ATT_ERR_JWS_FORMAT:
    case ATT_ERR_ENCODING:
    case ATT_ERR_JSON:
        return "client_assertion is not a compact JWS with a JSON object as header and payload";
    case ATT_ERR_ALG_NONE: return "client_assertion must be signed: alg none is refused";
    case ATT_ERR_ALG_UNSUPPORTED:
        return "client_assertion alg must be RS256, PS256, ES256 or ES384 (HMAC is refused)";
    case ATT_ERR_ALG_MISMATCH:
        return "client_assertion alg does not fit the key of the registered certificate "
               "(RSA: RS256 or PS256; P-256: ES256; P-384: ES384)";
    case ATT_ERR_KEY_TYPE:
        return "the registered certificate's key cannot verify assertions (use RSA of at least "
               "2048 bits, P-256 or P-384)";
    case ATT_ERR_JWS_CRIT: return "client_assertion names a critical header extension";
    case ATT_ERR_SIGNATURE:
        return "client_assertion signature does not verify with the registered certificate";
    case ATT_ERR_TOKEN_ISSUER: return "client_assertion iss must be the client_id (and equal sub)";
    case ATT_ERR_TOKEN_SUBJECT:
        return "client_assertion sub must be the client_id (and equal iss and any client_id "
               "parameter)";
    case ATT_ERR_TOKEN_AUDIENCE:
        return "client_assertion aud must contain the token endpoint URL or the issuer URL";
    case ATT_ERR_TOKEN_EXPIRED: return "client_assertion has expired (exp)";
    case ATT_ERR_TOKEN_NOT_YET_VALID: return "client_assertion nbf or iat is in the future";
    case ATT_ERR_TOKEN_LIFETIME:
        return "client_assertion lifetime (exp minus iat, nbf or now) exceeds 600 seconds";
    case ATT_ERR_TOKEN_CLAIMS:
        return "client_assertion needs exp and a jti of 1-256 bytes, and claims of the right "
               "types (integer times, string or array aud)";
    case ATT_ERR_TOKEN_REPLAY:
        return "client_assertion jti was used before; sign a new assertion for every request";
    case ATT_ERR_CREDENTIALS:
    case ATT_ERR_NO_CLIENT_CERT: return "unknown client, or no certificate is registered to it";
    case ATT_ERR_PRINCIPAL_DISABLED: return "the client is disabled";
    default: return "client authentication failed";
    }
}

/*
 * RFC 7521 §4.2 and RFC 7523 §2.2. The client id used for the log and the backoff keys is the
 * one a well-formed assertion names (unverified; it is the verified one on success, *p).
 */
static bool authenticate_assertion(const struct att_api_call *call, const struct att_form *form,
                                   int64_t now, bool bearer_used, struct att_principal_rec *p,
                                   struct attempt *how, struct att_http_response *resp)
{
    const struct att_http_request *req = call->req;
    const struct att_bytes *type = att_form_get(form, "client_assertion_type");
    const struct att_bytes *value = att_form_get(form, "client_assertion");
    const struct att_bytes *post_id = att_form_get(form, "client_id");
    char client_id[ATT_ASSERTION_CLIENT_ID_MAX + 1] = "";
    char given_id[CLIENT_ID_MAX] = "";
    struct att_backoff_keys keys;
    char endpoint[ATT_URL_MAX + 32];

    if (type == NULL || value == NULL) {
        oauth_error(resp, 400, "invalid_request",
                    "client_assertion and client_assertion_type go together", bearer_used);
        return false;
    }
    if (!att_bytes_eq_str(*type, ATT_ASSERTION_TYPE)) {
        oauth_error(resp, 400, "invalid_request",
                    "client_assertion_type must be " ATT_ASSERTION_TYPE, bearer_used);
        return false;
    }
    fingerprint(*value, how->assertion_fp);
    bool id_ok = post_id == NULL || copy_view(*post_id, given_id, sizeof(given_id));
    att_err rc = id_ok ? att_assertion_precheck((const char *)value->ptr, value->len,
                                                post_id != NULL ? given_id : NULL, client_id)
                       : ATT_ERR_TOKEN_SUBJECT;
    snprintf(how->claimed, sizeof(how->claimed), "%s", client_id);
    /* Unsigned or malformed: refused before it can count against the client it names. */
    if (rc != ATT_OK) {
        if (att_assertion_claimed_client((const char *)value->ptr, value->len, client_id) !=
            ATT_OK) {
            snprintf(client_id, sizeof(client_id), "%s", given_id); /* for the log only */
        }
        snprintf(how->claimed, sizeof(how->claimed), "%s", client_id);
        att_backoff_keys_init(&keys, req->peer, NULL);
        if (too_many(call, &keys, NULL, now, resp, bearer_used)) {
            log_decision(req, client_id, how, "throttled", rc);
            return false;
        }
        bool full = count_failure(call, &keys, false, now,
                                  rc == ATT_ERR_SIGNATURE ? "client_assertion is not signed: its "
                                                            "signature part is empty"
                                                          : assertion_problem(rc),
                                  resp, bearer_used);
        log_decision(req, client_id, how, full ? "throttled" : "refused", rc);
        return false;
    }
    att_backoff_keys_init(&keys, req->peer, client_id);
    if (too_many(call, &keys, client_id, now, resp, bearer_used)) {
        log_decision(req, client_id, how, "throttled", ATT_ERR_CREDENTIALS);
        return false;
    }
    const char *issuer = att_auth_issuer(call->api->auth);
    snprintf(endpoint, sizeof(endpoint), "%s/oauth2/token", issuer);
    struct att_assertion_ctx ctx = {call->api->store, att_auth_replay(call->api->auth), issuer,
                                    endpoint};
    rc = att_assertion_verify(&ctx, (const char *)value->ptr, value->len,
                              post_id != NULL ? given_id : NULL, now, p);
    if (rc == ATT_OK) {
        rc = att_principal_record_use(call->api->store, p, now, req->peer_text);
    }
    if (rc == ATT_ERR_REPLAY_CACHE_FULL || rc == ATT_ERR_REPLAY_CLIENT_QUOTA) {
        /* A valid assertion: no backoff; it may retry once older assertions expire. */
        bool full = rc == ATT_ERR_REPLAY_CACHE_FULL;
        log_decision(req, client_id, how, full ? "unavailable" : "throttled", rc);
        oauth_error(resp, full ? 503 : 429, "temporarily_unavailable",
                    full ? "too many unexpired client assertions in use; retry later"
                         : "this client has too many unexpired assertions in use; retry later",
                    bearer_used);
        att_ignore_err(att_http_response_header(resp, "Retry-After", "60"));
    } else if (rc != ATT_OK && !refused_by_us(req, client_id, how, rc, resp, bearer_used)) {
        /* No such principal, or none that holds a key: nothing of a principal was checked. */
        bool principal = rc != ATT_ERR_CREDENTIALS && rc != ATT_ERR_NO_CLIENT_CERT;
        bool full =
            count_failure(call, &keys, principal, now, assertion_problem(rc), resp, bearer_used);
        log_decision(req, client_id, how, full ? "throttled" : "refused", rc);
    } else if (rc == ATT_OK) {
        att_backoff_success(call->api->backoff, keys.pair);
    }
    return rc == ATT_OK;
}

/*
 * The audit record of a token request: issued (the principal), or refused for its credentials
 * (the client id it claimed). Throttled and unavailable answers are not attempts: they are
 * counted in the log's summaries instead.
 */
static void audit_token_request(const struct att_api_call *call, const char *client_id,
                                const struct att_principal_rec *p, const struct attempt *how,
                                const struct att_http_response *resp)
{
    struct att_audit_event ev;
    if (call->api->audit == NULL ||
        (resp->status != 200 && resp->status != 400 && resp->status != 401)) {
        return;
    }
    bool issued = resp->status == 200;
    if (!issued) {
        att_metric_add(ATT_M_AUTH_FAILURES, "kind=\"token\"", 1);
    }
    memset(&ev, 0, sizeof(ev));
    ev.category = ATT_AUDIT_AUTHN;
    ev.action = "authentication.token";
    ev.outcome = issued ? "success" : "denied";
    ev.principal = issued ? p->id : how->claimed[0] != 0 ? how->claimed : client_id;
    ev.principal_name = issued ? p->name : "";
    ev.source = call->req->peer_text;
    ev.request_id = call->req->request_id;
    ev.detail = json_pack("{s:s,s:i}", "method", how->method != NULL ? how->method : "none",
                          "status", resp->status);
    if (!issued && ev.detail != NULL && resp->error_code != NULL) {
        json_object_set_new(ev.detail, "error", json_string(resp->error_code));
    }
    if (call->api->audit != NULL) {
        att_audit_submit(call->api->audit, &ev, NULL, NULL);
    } else {
        json_decref(ev.detail);
    }
}

void att_api_oauth_token(const struct att_api_call *call, struct att_http_response *resp)
{
    const struct att_http_request *req = call->req;
    struct att_form form;
    struct att_buf secret;
    char client_id[CLIENT_ID_MAX] = "";
    const struct att_bytes *auth = att_http_header_get(req->head, "authorization");
    struct att_bytes scheme;
    bool bearer_used = auth != NULL && att_bytes_slice(*auth, 0, 7, &scheme) == ATT_OK &&
                       att_bytes_eq_str_nocase(scheme, "bearer ");
    bool basic = auth != NULL && !bearer_used;
    struct attempt how = {basic ? "client_secret_basic" : NULL, "", ""};
    struct att_principal_rec p;

    memset(&p, 0, sizeof(p));
    att_form_init(&form);
    att_buf_init_secret(&secret, SECRET_MAX);
    const struct att_bytes *ctype = att_http_header_get(req->head, "content-type");
    struct att_bytes media = {NULL, 0};
    if (ctype != NULL) {
        struct att_rd r;
        att_rd_init(&r, ctype->ptr, ctype->len);
        if (att_rd_until(&r, ';', &media) != ATT_OK) {
            media = *ctype;
        }
        media = att_bytes_trim(media);
    }
    if (!att_bytes_eq_str_nocase(media, "application/x-www-form-urlencoded")) {
        oauth_error(resp, 400, "invalid_request",
                    "the body must be application/x-www-form-urlencoded", bearer_used);
        goto out;
    }
    if (att_form_parse(req->body, req->body_len, &form) != ATT_OK) {
        oauth_error(resp, 400, "invalid_request",
                    "the form is malformed, too large or repeats a parameter", bearer_used);
        goto out;
    }
    const struct att_bytes *grant = att_form_get(&form, "grant_type");
    if (grant == NULL || !att_bytes_eq_str(*grant, "client_credentials")) {
        oauth_error(resp, 400, grant == NULL ? "invalid_request" : "unsupported_grant_type",
                    "grant_type must be client_credentials", bearer_used);
        goto out;
    }
    const struct att_bytes *post_id = att_form_get(&form, "client_id");
    const struct att_bytes *post_secret = att_form_get(&form, "client_secret");
    bool assertion = att_form_get(&form, "client_assertion") != NULL ||
                     att_form_get(&form, "client_assertion_type") != NULL;
    /* RFC 6749 §2.3: "The client MUST NOT use more than one authentication method". */
    if ((basic && post_secret != NULL) || (assertion && (basic || post_secret != NULL))) {
        oauth_error(resp, 400, "invalid_request", "use one client authentication method",
                    bearer_used);
        goto out;
    }
    int64_t now = att_time_now();
    if (!basic && post_secret != NULL) {
        how.method = "client_secret_post";
    }
    if (assertion) {
        how.method = "private_key_jwt";
        if (authenticate_assertion(call, &form, now, bearer_used, &p, &how, resp)) {
            issue(call, &p, &how, now, resp);
        }
        goto out;
    }
    bool have = false;
    if (basic) {
        have = parse_basic(*auth, client_id, sizeof(client_id), &secret);
        /* A client_id in the body must name the same client (RFC 6749 §3.2.1). */
        if (have && post_id != NULL &&
            (post_id->len != strlen(client_id) ||
             memcmp(post_id->ptr, client_id, post_id->len) != 0)) {
            oauth_error(resp, 400, "invalid_request",
                        "client_id in the body differs from the authenticated client", bearer_used);
            goto out;
        }
    } else if (post_id != NULL && post_secret != NULL) {
        have = copy_view(*post_id, client_id, sizeof(client_id)) &&
               att_buf_put(&secret, post_secret->ptr, post_secret->len) == ATT_OK;
    }
    struct att_backoff_keys keys;
    /* No principal has an id that is not a UUID: such an id is refused without a check. */
    bool well_formed = have && att_principal_id_well_formed(client_id);
    const char *named = well_formed ? client_id : NULL;
    att_backoff_keys_init(&keys, req->peer, named);
    if (too_many(call, &keys, named, now, resp, bearer_used)) {
        log_decision(req, client_id, &how, "throttled", ATT_ERR_CREDENTIALS);
        goto out;
    }
    if (!well_formed) {
        bool full = count_failure(call, &keys, false, now,
                                  have ? "client_id is not a client id of attestd (a lowercase "
                                         "UUID)"
                                       : "client authentication is missing or malformed",
                                  resp, bearer_used);
        log_decision(req, client_id, &how, full ? "throttled" : "refused", ATT_ERR_CREDENTIALS);
        goto out;
    }
    att_err rc = att_principal_authenticate(call->api->store, client_id, (const char *)secret.data,
                                            secret.len, now, req->peer_text, &p);
    if (rc != ATT_OK && refused_by_us(req, client_id, &how, rc, resp, bearer_used)) {
        goto out;
    }
    if (rc != ATT_OK) {
        /* A client id that names no principal counts against the source only. */
        bool principal = rc != ATT_ERR_CREDENTIALS || principal_exists(call, client_id);
        bool full = count_failure(call, &keys, principal, now, "client authentication failed", resp,
                                  bearer_used);
        log_decision(req, client_id, &how, full ? "throttled" : "refused", rc);
        goto out;
    }
    /* Only the pair's count: one good credential must not wipe an address's failures. */
    att_backoff_success(call->api->backoff, keys.pair);
    issue(call, &p, &how, now, resp);
out:
    audit_token_request(call, client_id, &p, &how, resp);
    att_form_cleanup(&form);
    att_buf_cleanup(&secret);
}
