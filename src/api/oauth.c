/*
 * oauth.c - POST /oauth2/token: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4).
 *
 * Client authentication: client_secret_basic (Authorization: Basic, RFC 6749 §2.3.1, with
 * form-urlencoded id and secret) or client_secret_post (client_id and client_secret in the
 * body); using both is refused (§2.3). Errors use OAuth's shape {"error", "error_description"}
 * (§5.2), not MAA's. Every decision is logged with client id and peer, never the secret.
 */
#include "api/api.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "auth/access.h"
#include "auth/backoff.h"
#include "auth/principal.h"
#include "core/codec.h"
#include "core/log.h"
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

/* Keys of the backoff table: the source address and the claimed client id. */
static void backoff_keys(const struct att_http_request *req, const char *client_id,
                         char ip_key[ATT_BACKOFF_KEY_MAX], char client_key[ATT_BACKOFF_KEY_MAX])
{
    att_backoff_addr_key(req->peer, ip_key);
    snprintf(client_key, ATT_BACKOFF_KEY_MAX, "client:%s", client_id);
}

static bool too_many(const struct att_api_call *call, const char *ip_key, const char *client_key,
                     int64_t now, struct att_http_response *resp, bool bearer_used)
{
    unsigned retry = 0;
    if (!att_backoff_blocked(call->api->backoff, ip_key, now, &retry) &&
        (client_key[7] == 0 || !att_backoff_blocked(call->api->backoff, client_key, now, &retry))) {
        return false;
    }
    char value[16];
    snprintf(value, sizeof(value), "%u", retry > 0 ? retry : 1);
    /* RFC 6749 §5.2 has no throttling code; invalid_client with 429 and Retry-After. */
    oauth_error(resp, 429, "invalid_client", "too many failed authentication attempts; retry later",
                bearer_used);
    att_ignore_err(att_http_response_header(resp, "Retry-After", value));
    return true;
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

static void log_decision(const struct att_http_request *req, const char *client_id,
                         const char *result, att_err reason)
{
    att_log(reason == ATT_OK ? ATT_LOG_INFO : ATT_LOG_WARN, "token request", "request_id",
            json_string(req->request_id), "peer", json_string(req->peer_text), "client_id",
            client_id[0] != 0 ? json_string(client_id) : NULL, "result", json_string(result),
            "reason", reason != ATT_OK ? json_string(att_err_name(reason)) : NULL, NULL);
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
    if (basic && post_secret != NULL) {
        oauth_error(resp, 400, "invalid_request", "use one client authentication method",
                    bearer_used);
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
    char ip_key[ATT_BACKOFF_KEY_MAX];
    char client_key[ATT_BACKOFF_KEY_MAX];
    int64_t now = att_time_now();
    backoff_keys(req, client_id, ip_key, client_key);
    if (too_many(call, ip_key, client_key, now, resp, bearer_used)) {
        log_decision(req, client_id, "throttled", ATT_ERR_CREDENTIALS);
        goto out;
    }
    if (!have) {
        att_backoff_fail(call->api->backoff, ip_key, now);
        log_decision(req, client_id, "refused", ATT_ERR_CREDENTIALS);
        oauth_error(resp, 401, "invalid_client", "client authentication is missing or malformed",
                    bearer_used);
        goto out;
    }
    struct att_principal_rec p;
    att_err rc = att_principal_authenticate(call->api->store, client_id, (const char *)secret.data,
                                            secret.len, now, req->peer_text, &p);
    if (rc != ATT_OK) {
        att_backoff_fail(call->api->backoff, ip_key, now);
        att_backoff_fail(call->api->backoff, client_key, now);
        log_decision(req, client_id, "refused", rc);
        oauth_error(resp, 401, "invalid_client", "client authentication failed", bearer_used);
        goto out;
    }
    /* Only the client's own count: one good credential must not wipe an address's failures. */
    att_backoff_success(call->api->backoff, client_key);
    struct att_buf token;
    att_buf_init(&token, ATT_ACCESS_MAX_TOKEN);
    rc = att_auth_issue(call->api->auth, &p, now, &token);
    json_t *doc = rc == ATT_OK
                      ? json_pack("{s:s,s:s,s:i}", "access_token", att_buf_cstr(&token),
                                  "token_type", "Bearer", "expires_in", ATT_ACCESS_LIFETIME)
                      : NULL;
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (text == NULL || att_http_response_json(resp, 200, text, strlen(text)) != ATT_OK) {
        att_http_error(resp, 500, "InternalServerError", "cannot issue the token");
    } else {
        /* RFC 6749 §5.1: tokens must not be cached. */
        att_ignore_err(att_http_response_header(resp, "Cache-Control", "no-store"));
        att_ignore_err(att_http_response_header(resp, "Pragma", "no-cache"));
        log_decision(req, client_id, "issued", ATT_OK);
    }
    free(text);
    json_decref(doc);
    att_buf_cleanup(&token);
out:
    att_form_cleanup(&form);
    att_buf_cleanup(&secret);
}
