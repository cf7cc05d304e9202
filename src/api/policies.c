/*
 * policies.c - MAA's policy management routes (docs/reference/maa-policy.md §4) and attestd's
 * policy history.
 *
 *   GET  /policies/{type}                              read    PolicyResult with x-ms-policy
 *   PUT  /policies/{type}                              write   text/plain JWS -> "Updated"
 *   POST /policies/{type}:reset                        write   JWS, empty payload -> "Removed"
 *   GET  /certificates                                 read    x-ms-policy-certificates
 *   POST /certificates:add, /certificates:remove       write   JSON string (or raw) JWS
 *   GET  /attestd/policies/{type}/versions             read    the history (beyond MAA), paged
 *   GET  /attestd/policies/{type}/versions/{version}   read    one version with its text
 *   POST /attestd/policies/{type}/versions/{version}:rollback  write (signed in Isolated mode)
 *
 * MAA's answers are {"token": JWT} signed by the provider (the official clients verify them
 * against /certs); the history routes answer plain JSON.
 */
#include "api/api.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "policy/policy.h"
#include "attest/attest.h"
#include "policymgmt/cache.h"
#include "policymgmt/manage.h"
#include "x509/chain.h"

static void send_json(struct att_http_response *resp, int status, json_t *doc)
{
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (text == NULL || att_http_response_json(resp, status, text, strlen(text)) != ATT_OK) {
        att_http_error(resp, 500, "InternalServerError", "cannot encode the answer");
    }
    free(text);
    json_decref(doc);
}

/* {"token": JWT(claims)} signed by the provider. Takes `claims`. */
static void send_token(const struct att_api_call *call, json_t *claims,
                       struct att_http_response *resp)
{
    struct att_buf token;
    att_buf_init(&token, ATT_JWS_MAX);
    int64_t lifetime = call->api->attest_token_lifetime > 0 ? call->api->attest_token_lifetime
                                                            : ATT_ATTEST_TOKEN_LIFETIME;
    if (lifetime > ATT_API_RESULT_TOKEN_LIFETIME) {
        lifetime = ATT_API_RESULT_TOKEN_LIFETIME;
    }
    att_err rc = claims != NULL ? att_provider_issue_token(call->providers, call->provider, claims,
                                                           att_time_now(), lifetime, &token)
                                : ATT_ERR_NOMEM;
    json_decref(claims);
    if (rc != ATT_OK) {
        att_buf_cleanup(&token);
        att_api_fail(resp, rc, "cannot sign the result token");
        return;
    }
    send_json(resp, 200, json_pack("{s:s}", "token", att_buf_cstr(&token)));
    att_buf_cleanup(&token);
}

/* The {type} of the path, canonical ("SgxEnclave", ...); 400 when unknown. */
static const char *path_type(const struct att_api_call *call, struct att_http_response *resp)
{
    enum att_policy_type t;
    const char *type =
        att_policy_type_parse((const char *)call->params[0].ptr, call->params[0].len, &t) == ATT_OK
            ? att_policy_type_name(t)
            : NULL;
    if (type == NULL) {
        att_http_error(resp, 400, "InvalidParameter",
                       "unknown attestation type; one of SgxEnclave, OpenEnclave, SevSnpVm, TdxVm, "
                       "Tpm, AzureGuest");
    }
    return type;
}

static void actor_of(const struct att_api_call *call, struct att_policy_actor *a)
{
    a->subject = call->who != NULL ? call->who->subject : "";
    a->name = call->who != NULL ? call->who->name : "";
    a->peer = call->req->peer_text;
}

static void log_change(const struct att_api_call *call, const char *what, const char *type,
                       const struct att_policy_state *s, const char *refused)
{
    att_log(refused != NULL ? ATT_LOG_WARN : ATT_LOG_INFO, "policy change", "request_id",
            json_string(call->req->request_id), "provider", json_string(call->provider->rec.name),
            "type", type != NULL ? json_string(type) : NULL, "action", json_string(what), "version",
            refused == NULL ? json_integer(s->version) : NULL, "policy_hash",
            refused == NULL && s->hash[0] != 0 ? json_string(s->hash) : NULL, "principal",
            json_string(call->who->subject), "peer", json_string(call->req->peer_text), "refused",
            refused != NULL ? json_string(refused) : NULL, NULL);
    if (type != NULL) {
        att_api_audit_note(call, "attestationType", json_string(type));
    }
    /* A refusal's message may quote the policy's text: the record keeps its code alone (the
     * outcome record's "error"), the log the message. */
    if (refused == NULL) {
        att_api_audit_note(call, "version", json_integer(s->version));
        att_api_audit_note(call, "policyHash", s->hash[0] != 0 ? json_string(s->hash) : NULL);
    }
}

/* Answer a refused change: 400 with MAA's code, or 500 for our own failures. */
static void refused(const struct att_api_call *call, const char *what, const char *type, att_err rc,
                    const struct att_policy_refusal *why, struct att_http_response *resp)
{
    if (why->code != NULL) {
        log_change(call, what, type, NULL, why->message);
        att_http_error(resp, 400, why->code, why->message);
        return;
    }
    log_change(call, what, type, NULL, att_err_name(rc));
    att_api_fail(resp, rc, "cannot store the policy change");
}

/* Attestations on this node use the new policy at once (others within the cache's lifetime). */
static void forget_policy(const struct att_api_call *call, const char *type)
{
    if (call->api->policy_cache != NULL) {
        att_policy_cache_invalidate(call->api->policy_cache, call->provider->rec.name, type);
    }
}

static json_t *policy_result(const char *result, const struct att_policy_state *s)
{
    json_t *claims =
        json_pack("{s:s,s:s,s:s%}", "x-ms-policy-result", result, "x-ms-policy-token-hash",
                  s->token_hash, "x-ms-policy", (const char *)s->jws.data, s->jws.len);
    if (claims != NULL && s->signer != NULL) {
        json_object_set_new(claims, "x-ms-policy-signer", att_policy_signer_jwk(s->signer));
    }
    return claims;
}

void att_api_policy_get(const struct att_api_call *call, struct att_http_response *resp)
{
    const char *type = path_type(call, resp);
    struct att_policy_state s;
    if (type == NULL) {
        return;
    }
    att_policy_state_init(&s);
    att_err rc =
        att_policy_get(call->api->store, call->api->keyring, &call->provider->rec, type, 0, &s);
    if (rc != ATT_OK) {
        att_policy_state_cleanup(&s);
        att_api_fail(resp, rc, "cannot read the policy");
        return;
    }
    json_t *claims = json_pack("{s:s%}", "x-ms-policy", (const char *)s.jws.data, s.jws.len);
    if (claims != NULL && s.signer != NULL) {
        json_object_set_new(claims, "x-ms-policy-signer", att_policy_signer_jwk(s.signer));
    }
    att_policy_state_cleanup(&s);
    send_token(call, claims, resp);
}

static void change_policy(const struct att_api_call *call, bool reset,
                          struct att_http_response *resp)
{
    const char *type = path_type(call, resp);
    struct att_policy_state s;
    struct att_policy_refusal why = {NULL, ""};
    struct att_policy_actor actor;
    if (type == NULL) {
        return;
    }
    actor_of(call, &actor);
    att_policy_state_init(&s);
    const char *body = (const char *)call->req->body;
    size_t len = call->req->body_len;
    att_err rc = reset
                     ? att_policy_reset(call->api->store, call->api->keyring, &call->provider->rec,
                                        type, body, len, &actor, att_time_now(), &s, &why)
                     : att_policy_set(call->api->store, call->api->keyring, &call->provider->rec,
                                      type, body, len, &actor, att_time_now(), &s, &why);
    if (rc != ATT_OK) {
        refused(call, reset ? "reset" : "set", type, rc, &why, resp);
    } else {
        log_change(call, reset ? "reset" : "set", type, &s, NULL);
        forget_policy(call, type);
        json_t *claims = policy_result(reset ? "Removed" : "Updated", &s);
        if (reset && claims != NULL) {
            json_object_del(claims, "x-ms-policy"); /* MAA answers a reset without it */
        }
        send_token(call, claims, resp);
    }
    att_policy_state_cleanup(&s);
}

void att_api_policy_set(const struct att_api_call *call, struct att_http_response *resp)
{
    change_policy(call, false, resp);
}

void att_api_policy_reset(const struct att_api_call *call, struct att_http_response *resp)
{
    change_policy(call, true, resp);
}

/* ---- signers ---- */

static att_err add_signer_key(const struct att_signer_rec *r, void *arg)
{
    json_t *keys = arg;
    struct att_buf b64;
    att_buf_init(&b64, 64 * 1024);
    att_err rc = att_b64_encode(r->cert_der.data, r->cert_der.len, &b64);
    const unsigned char *p = r->cert_der.data;
    X509 *cert = rc == ATT_OK ? d2i_X509(NULL, &p, (long)r->cert_der.len) : NULL;
    json_t *jwk = cert != NULL ? att_policy_signer_jwk(cert) : NULL;
    if (jwk != NULL) {
        json_object_set_new(jwk, "kid", json_string(r->sha1));
        rc = json_array_append_new(keys, jwk) == 0 ? ATT_OK : ATT_ERR_NOMEM;
    } else if (rc == ATT_OK) {
        rc = ATT_ERR_STORE; /* a stored certificate that does not parse */
    }
    X509_free(cert);
    att_buf_cleanup(&b64);
    return rc;
}

void att_api_certificates_get(const struct att_api_call *call, struct att_http_response *resp)
{
    json_t *keys = json_array();
    if (keys == NULL || att_signers_list(call->api->store, call->provider->rec.name, add_signer_key,
                                         keys) != ATT_OK) {
        json_decref(keys);
        att_http_error(resp, 500, "InternalServerError", "cannot read the policy signers");
        return;
    }
    send_token(call, json_pack("{s:{s:o}}", "x-ms-policy-certificates", "keys", keys), resp);
}

/* §4.4: the body is the JWS as a JSON string (what the SDKs send) or the raw JWS. */
static bool signer_body(const struct att_api_call *call, json_t **holder, const char **jws,
                        size_t *len)
{
    json_error_t jerr;
    *holder = NULL;
    *jws = (const char *)call->req->body;
    *len = call->req->body_len;
    if (*len > 0 && call->req->body[0] == '"') {
        *holder = json_loadb(*jws, *len, JSON_DECODE_ANY, &jerr);
        if (!json_is_string(*holder)) {
            json_decref(*holder);
            return false;
        }
        *jws = json_string_value(*holder);
        *len = json_string_length(*holder);
    }
    return true;
}

static void change_signers(const struct att_api_call *call, bool add,
                           struct att_http_response *resp)
{
    json_t *holder = NULL;
    const char *jws = NULL;
    size_t len = 0;
    char thumb[41] = "";
    struct att_policy_refusal why = {NULL, ""};
    if (!signer_body(call, &holder, &jws, &len)) {
        struct att_policy_refusal bad = {"InvalidOperation",
                                         "the body must be a JWS, or a JWS as a JSON string"};
        refused(call, add ? "signer add" : "signer remove", NULL, ATT_ERR_JSON, &bad, resp);
        return;
    }
    att_err rc = att_signers_change(call->api->store, &call->provider->rec, add, jws, len,
                                    att_time_now(), thumb, &why);
    json_decref(holder);
    const char *what = add ? "signer add" : "signer remove";
    if (rc != ATT_OK) {
        refused(call, what, NULL, rc, &why, resp);
        return;
    }
    att_log(ATT_LOG_INFO, "policy change", "request_id", json_string(call->req->request_id),
            "provider", json_string(call->provider->rec.name), "action", json_string(what),
            "thumbprint", json_string(thumb), "principal", json_string(call->who->subject), "peer",
            json_string(call->req->peer_text), NULL);
    att_api_audit_note(call, "thumbprint", json_string(thumb));
    send_token(call,
               json_pack("{s:s,s:s}", "x-ms-certificate-thumbprint", thumb,
                         "x-ms-policycertificates-result", add ? "IsPresent" : "IsAbsent"),
               resp);
}

void att_api_certificates_add(const struct att_api_call *call, struct att_http_response *resp)
{
    change_signers(call, true, resp);
}

void att_api_certificates_remove(const struct att_api_call *call, struct att_http_response *resp)
{
    change_signers(call, false, resp);
}

/* ---- history (attestd's own) ---- */

static json_t *version_json(const struct att_policy_version_rec *v)
{
    char created[32];
    att_time_format(v->created_at, created, sizeof(created));
    json_t *doc =
        json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s}", "version", (json_int_t)v->version, "action",
                  v->action, "created", created, "principal", v->principal, "principalName",
                  v->principal_name, "source", v->source, "policyHash", v->policy_hash);
    if (doc != NULL && v->signer_sha256[0] != 0) {
        json_object_set_new(doc, "signerSha256", json_string(v->signer_sha256));
    }
    if (doc != NULL && v->rollback_of != 0) {
        json_object_set_new(doc, "rollbackOf", json_integer(v->rollback_of));
    }
    return doc;
}

/*
 * Paging of the versions list, after the Microsoft REST API guidelines' "maxpagesize" and
 * "nextLink": a page holds the versions numbered above "after" (a stable cursor: numbers are
 * never reused, and retention removes only the oldest), oldest first.
 */
#define VERSIONS_PAGE_DEFAULT 100
#define VERSIONS_PAGE_MAX 1000

struct versions_page {
    json_t *arr;
    int64_t limit; /* versions in the page */
    int64_t last;  /* the number of the last one in it */
    bool more;     /* one more was read: another page follows */
};

static att_err collect_version(const struct att_policy_version_rec *v, void *arg)
{
    struct versions_page *page = arg;
    if ((int64_t)json_array_size(page->arr) == page->limit) {
        page->more = true;
        return ATT_OK;
    }
    json_t *doc = version_json(v);
    ATT_ENSURE(doc != NULL && json_array_append_new(page->arr, doc) == 0, ATT_ERR_NOMEM);
    page->last = v->version;
    return ATT_OK;
}

/* An optional non-negative integer query parameter up to `max`; false when malformed. */
static bool query_int(const struct att_api_call *call, const char *name, uint64_t max,
                      uint64_t *out)
{
    const struct att_bytes *v = att_http_query_get(call->req->head, name);
    return v == NULL || att_bytes_to_u64(*v, max, out) == ATT_OK;
}

void att_api_policy_versions(const struct att_api_call *call, struct att_http_response *resp)
{
    const char *type = path_type(call, resp);
    uint64_t after = 0;
    uint64_t size = VERSIONS_PAGE_DEFAULT;
    if (type == NULL) {
        return;
    }
    if (!query_int(call, "maxpagesize", VERSIONS_PAGE_MAX, &size) || size == 0) {
        att_http_error(resp, 400, "InvalidParameter",
                       "maxpagesize must be an integer from 1 to 1000");
        return;
    }
    if (!query_int(call, "after", INT64_MAX, &after)) {
        att_http_error(resp, 400, "InvalidParameter",
                       "after must be a policy version number (0 or more)");
        return;
    }
    struct versions_page page = {json_array(), (int64_t)size, 0, false};
    /* One more than the page: whether another page follows. */
    if (page.arr == NULL ||
        att_policy_history(call->api->store, call->provider->rec.name, type, (int64_t)after,
                           page.limit + 1, collect_version, &page) != ATT_OK) {
        json_decref(page.arr);
        att_http_error(resp, 500, "InternalServerError", "cannot read the policy history");
        return;
    }
    json_t *doc = json_pack("{s:s,s:o}", "attestationType", type, "versions", page.arr);
    if (doc != NULL && page.more) {
        char next[ATT_URL_MAX + 128];
        snprintf(next, sizeof(next), "%s/attestd/policies/%s/versions?after=%lld&maxpagesize=%lld",
                 call->provider->rec.issuer, type, (long long)page.last, (long long)page.limit);
        json_object_set_new(doc, "nextLink", json_string(next));
    }
    send_json(resp, 200, doc);
}

static bool path_version(const struct att_api_call *call, int64_t *out,
                         struct att_http_response *resp)
{
    uint64_t v = 0;
    if (att_bytes_to_u64(call->params[1], INT64_MAX, &v) != ATT_OK || v == 0) {
        att_http_error(resp, 400, "InvalidParameter", "the version must be a positive integer");
        return false;
    }
    *out = (int64_t)v;
    return true;
}

static void send_state(const struct att_policy_state *s, int status, struct att_http_response *resp)
{
    json_t *doc = version_json(&s->rec);
    if (doc != NULL) {
        json_object_set_new(doc, "policyHash", json_string(s->hash));
        json_object_set_new(doc, "isDefault", json_boolean(s->is_default));
        json_object_set_new(doc, "policy", json_stringn((const char *)s->text.data, s->text.len));
        json_object_set_new(doc, "jws", json_stringn((const char *)s->jws.data, s->jws.len));
    }
    send_json(resp, status, doc);
}

void att_api_policy_version(const struct att_api_call *call, struct att_http_response *resp)
{
    const char *type = path_type(call, resp);
    int64_t version = 0;
    struct att_policy_state s;
    if (type == NULL || !path_version(call, &version, resp)) {
        return;
    }
    att_policy_state_init(&s);
    att_err rc = att_policy_get(call->api->store, call->api->keyring, &call->provider->rec, type,
                                version, &s);
    if (rc == ATT_ERR_NOT_FOUND) {
        att_http_error(resp, 404, "NotFound", "no such policy version");
    } else if (rc != ATT_OK) {
        att_http_error(resp, 500, "InternalServerError", "cannot read the policy version");
    } else {
        send_state(&s, 200, resp);
    }
    att_policy_state_cleanup(&s);
}

void att_api_policy_rollback(const struct att_api_call *call, struct att_http_response *resp)
{
    const char *type = path_type(call, resp);
    int64_t version = 0;
    struct att_policy_state s;
    struct att_policy_refusal why = {NULL, ""};
    struct att_policy_actor actor;
    if (type == NULL || !path_version(call, &version, resp)) {
        return;
    }
    actor_of(call, &actor);
    att_policy_state_init(&s);
    const char *body = call->req->body_len > 0 ? (const char *)call->req->body : NULL;
    att_err rc =
        att_policy_rollback(call->api->store, call->api->keyring, &call->provider->rec, type,
                            version, body, call->req->body_len, &actor, att_time_now(), &s, &why);
    if (rc == ATT_ERR_NOT_FOUND && why.code == NULL) {
        log_change(call, "rollback", type, NULL, "no such policy version");
        att_http_error(resp, 404, "NotFound", "no such policy version");
    } else if (rc != ATT_OK) {
        refused(call, "rollback", type, rc, &why, resp);
    } else {
        log_change(call, "rollback", type, &s, NULL);
        forget_policy(call, type);
        send_state(&s, 201, resp);
    }
    att_policy_state_cleanup(&s);
}
