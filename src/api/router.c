/*
 * router.c - the route table and request routing.
 *
 * Input: a parsed request (path already percent-decoded and free of dot
 * segments). Routing is on literal strings: MAA's ":reset", ":add" are part
 * of the last segment (docs/reference/maa-api.md §1.2).
 */
#include "api/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "auth/access.h"
#include "auth/backoff.h"
#include "auth/bearer.h"
#include "auth/issuers.h"
#include "core/log.h"
#include "core/log_summary.h"
#include "core/timeutil.h"
#include "evidence/azure/azure.h"
#include "evidence/sgx/sgx.h"
#include "evidence/snp/snp.h"
#include "evidence/tdx/tdx.h"
#include "evidence/tpm/tpm.h"

#include <openssl/evp.h>

/* Whether a route takes the api-version query parameter (docs/reference/maa-api.md §1.1). */
enum version_rule {
    VERSION_IGNORED,  /* attestd-specific routes */
    VERSION_OPTIONAL, /* /certs and OpenID metadata: SDKs send none */
    VERSION_REQUIRED,
};

/*
 * Where a route's handler runs (docs/internals/http.md, "Job pool"): on the job pool unless it
 * is cheap and never waits, so that health and metadata answer while the pool is saturated.
 */
enum weight {
    HEAVY,           /* verifies, evaluates, hashes, fetches or checks credentials: the pool */
    LIGHT,           /* answers from memory: the event loop */
    LIGHT_ANONYMOUS, /* the event loop when the caller brings no credential to check */
};

struct route {
    enum att_http_method method;
    const char *path; /* relative to the provider's base */
    const char *name; /* for logs */
    enum version_rule version;
    bool root_only;     /* not under /providers/{name} */
    enum att_perm perm; /* what the caller must hold (src/auth/rbac.h) */
    void (*handler)(const struct att_api_call *call, struct att_http_response *resp);
    enum weight weight;
    const struct att_evidence_type *evidence; /* /attest/<type> routes: the type they serve */
    const char *audit; /* routes that change state: the audit action ("policy.set") */
    /* An older path that still serves this route until the next release, a literal path at the
     * root: the same handler, permission and audit action, its answers marked deprecated and
     * naming `path` as the successor (docs/identity.md, "Deprecated paths"). */
    const char *alias;
};

/* The one list of what attestd serves, and who may call it. */
static const struct route routes[] = {
    {ATT_HTTP_GET, "/certs", "GetCerts", VERSION_OPTIONAL, false, ATT_PERM_PUBLIC,
     att_api_get_certs, LIGHT, NULL, NULL, NULL},
    {ATT_HTTP_GET, "/.well-known/openid-configuration", "GetOpenIdMetadata", VERSION_OPTIONAL,
     false, ATT_PERM_PUBLIC, att_api_get_openid, LIGHT, NULL, NULL, NULL},
    {ATT_HTTP_GET, "/healthz", "Healthz", VERSION_IGNORED, true, ATT_PERM_PUBLIC, att_api_healthz,
     LIGHT, NULL, NULL, NULL},
    /* Status for everyone; the detail for an authenticated Reader (whose token is checked). */
    {ATT_HTTP_GET, "/readyz", "Readyz", VERSION_IGNORED, true, ATT_PERM_PUBLIC, att_api_readyz,
     LIGHT_ANONYMOUS, NULL, NULL, NULL},
    {ATT_HTTP_POST, "/oauth2/token", "OAuthToken", VERSION_IGNORED, true, ATT_PERM_PUBLIC,
     att_api_oauth_token, HEAVY, NULL, NULL, NULL},
    /* attestd's own routes are under /attestd/; identity and roles were under /admin/, which
       stays as an alias until the next release (docs/identity.md, "Deprecated paths"). */
    {ATT_HTTP_GET, "/attestd/whoami", "WhoAmI", VERSION_IGNORED, true, ATT_PERM_AUTHENTICATED,
     att_api_whoami, HEAVY, NULL, NULL, "/admin/whoami"},
    {ATT_HTTP_GET, "/attestd/roleAssignments", "ListRoleAssignments", VERSION_IGNORED, true,
     ATT_PERM_ADMIN, att_api_roles_list, HEAVY, NULL, NULL, "/admin/roleAssignments"},
    {ATT_HTTP_POST, "/attestd/roleAssignments", "AddRoleAssignment", VERSION_IGNORED, true,
     ATT_PERM_ADMIN, att_api_roles_add, HEAVY, NULL, "role.add", "/admin/roleAssignments"},
    {ATT_HTTP_POST, "/attestd/roleAssignments:remove", "RemoveRoleAssignment", VERSION_IGNORED,
     true, ATT_PERM_ADMIN, att_api_roles_remove, HEAVY, NULL, "role.remove",
     "/admin/roleAssignments:remove"},
    /* Attestation (docs/reference/maa-api.md §1.2): public unless the provider sets
       attest_requires_auth. */
    {ATT_HTTP_POST, "/attest/SgxEnclave", "AttestSgxEnclave", VERSION_REQUIRED, false,
     ATT_PERM_ATTEST, att_api_attest, HEAVY, &att_evidence_sgx, NULL, NULL},
    {ATT_HTTP_POST, "/attest/OpenEnclave", "AttestOpenEnclave", VERSION_REQUIRED, false,
     ATT_PERM_ATTEST, att_api_attest, HEAVY, &att_evidence_open_enclave, NULL, NULL},
    {ATT_HTTP_POST, "/attest/SevSnpVm", "AttestSevSnpVm", VERSION_REQUIRED, false, ATT_PERM_ATTEST,
     att_api_attest, HEAVY, &att_evidence_snp, NULL, NULL},
    {ATT_HTTP_POST, "/attest/TdxVm", "AttestTdxVm", VERSION_REQUIRED, false, ATT_PERM_ATTEST,
     att_api_attest, HEAVY, &att_evidence_tdx, NULL, NULL},
    /* Azure confidential VMs (docs/attestation.md "AzureGuest"). Microsoft's clients send
       api-version 2020-10-01, so no version is refused. */
    {ATT_HTTP_POST, "/attest/AzureGuest", "AttestAzureGuest", VERSION_REQUIRED, false,
     ATT_PERM_ATTEST, att_api_attest, HEAVY, &att_evidence_azure_guest, NULL, NULL},
    /* MAA's TPM protocol (docs/reference/maa-tpm-protocol.md): two rounds, TpmQuote evidence. */
    {ATT_HTTP_POST, "/attest/Tpm", "AttestTpm", VERSION_REQUIRED, false, ATT_PERM_ATTEST,
     att_api_attest_tpm, HEAVY, &att_evidence_tpm_quote, NULL, NULL},
    /* TPM quotes in attestd's JSON form (docs/attestation.md "TPM"), and their challenges. */
    {ATT_HTTP_POST, "/attest/TpmQuote", "AttestTpmQuote", VERSION_IGNORED, false, ATT_PERM_ATTEST,
     att_api_attest, HEAVY, &att_evidence_tpm_quote, NULL, NULL},
    {ATT_HTTP_POST, "/attest/TpmQuote:challenge", "TpmQuoteChallenge", VERSION_IGNORED, false,
     ATT_PERM_ATTEST, att_api_tpm_challenge, HEAVY, NULL, NULL, NULL},
    /* Policy management (docs/reference/maa-policy.md §4; roles §5: Reader reads, Contributor
       changes). */
    {ATT_HTTP_GET, "/policies/{type}", "GetPolicy", VERSION_REQUIRED, false, ATT_PERM_READ,
     att_api_policy_get, HEAVY, NULL, NULL, NULL},
    {ATT_HTTP_PUT, "/policies/{type}", "SetPolicy", VERSION_REQUIRED, false, ATT_PERM_WRITE,
     att_api_policy_set, HEAVY, NULL, "policy.set", NULL},
    {ATT_HTTP_POST, "/policies/{type}:reset", "ResetPolicy", VERSION_REQUIRED, false,
     ATT_PERM_WRITE, att_api_policy_reset, HEAVY, NULL, "policy.reset", NULL},
    {ATT_HTTP_GET, "/certificates", "GetPolicyCertificates", VERSION_REQUIRED, false, ATT_PERM_READ,
     att_api_certificates_get, HEAVY, NULL, NULL, NULL},
    {ATT_HTTP_POST, "/certificates:add", "AddPolicyCertificate", VERSION_REQUIRED, false,
     ATT_PERM_WRITE, att_api_certificates_add, HEAVY, NULL, "signer.add", NULL},
    {ATT_HTTP_POST, "/certificates:remove", "RemovePolicyCertificate", VERSION_REQUIRED, false,
     ATT_PERM_WRITE, att_api_certificates_remove, HEAVY, NULL, "signer.remove", NULL},
    /* Prometheus metrics (docs/operations.md, "Monitoring"). */
    {ATT_HTTP_GET, "/metrics", "GetMetrics", VERSION_IGNORED, true, ATT_PERM_READ, att_api_metrics,
     HEAVY, NULL, NULL, NULL},
    /* The audit trail (docs/operations.md, "Audit trail"). */
    {ATT_HTTP_GET, "/attestd/audit", "ListAuditRecords", VERSION_IGNORED, true, ATT_PERM_READ,
     att_api_audit_list, HEAVY, NULL, NULL, NULL},
    /* Policy history (attestd's own, not MAA's). */
    {ATT_HTTP_GET, "/attestd/policies/{type}/versions", "ListPolicyVersions", VERSION_IGNORED,
     false, ATT_PERM_READ, att_api_policy_versions, HEAVY, NULL, NULL, NULL},
    {ATT_HTTP_GET, "/attestd/policies/{type}/versions/{version}", "GetPolicyVersion",
     VERSION_IGNORED, false, ATT_PERM_READ, att_api_policy_version, HEAVY, NULL, NULL, NULL},
    {ATT_HTTP_POST, "/attestd/policies/{type}/versions/{version}:rollback", "RollbackPolicy",
     VERSION_IGNORED, false, ATT_PERM_WRITE, att_api_policy_rollback, HEAVY, NULL,
     "policy.rollback", NULL},
};

/* api-version values of MAA's published specs (docs/reference/maa-api.md §1.1). */
static const char *const api_versions[] = {
    "2018-09-01-preview", "2020-10-01", "2022-08-01", "2022-09-01-preview", "2025-06-01",
};

static bool version_known(struct att_bytes v)
{
    for (size_t i = 0; i < sizeof(api_versions) / sizeof(api_versions[0]); i++) {
        if (att_bytes_eq_str(v, api_versions[i])) {
            return true;
        }
    }
    return false;
}

att_err att_api_init(struct att_api *api, struct att_store *store, struct att_auth *auth,
                     struct att_provider_set *providers, struct att_issuers *issuers)
{
    memset(api, 0, sizeof(*api));
    api->current = calloc(1, sizeof(*api->current));
    if (api->current == NULL) {
        att_provider_set_free(providers);
        att_issuers_free(issuers);
        return ATT_ERR_NOMEM;
    }
    api->current->providers = providers;
    api->current->issuers = issuers;
    api->current->refs = 1;
    api->store = store;
    api->auth = auth;
    pthread_mutex_init(&api->lock, NULL);
    return ATT_OK;
}

static void snapshot_release(struct att_api *api, struct att_api_snapshot *snap)
{
    pthread_mutex_lock(&api->lock);
    bool last = --snap->refs == 0;
    pthread_mutex_unlock(&api->lock);
    if (last) {
        att_provider_set_free(snap->providers);
        att_issuers_free(snap->issuers);
        free(snap);
    }
}

static struct att_api_snapshot *snapshot_acquire(struct att_api *api)
{
    pthread_mutex_lock(&api->lock);
    struct att_api_snapshot *snap = api->current;
    snap->refs++;
    pthread_mutex_unlock(&api->lock);
    return snap;
}

void att_api_cleanup(struct att_api *api)
{
    att_api_probe_stop(api);
    if (api->current != NULL) {
        snapshot_release(api, api->current);
        api->current = NULL;
    }
    pthread_mutex_destroy(&api->lock);
}

att_err att_api_swap(struct att_api *api, struct att_provider_set *providers,
                     struct att_issuers *issuers)
{
    struct att_api_snapshot *snap = calloc(1, sizeof(*snap));
    if (snap == NULL) {
        att_provider_set_free(providers);
        att_issuers_free(issuers);
        return ATT_ERR_NOMEM;
    }
    snap->providers = providers;
    snap->refs = 1;
    pthread_mutex_lock(&api->lock);
    struct att_api_snapshot *old = api->current;
    snap->issuers = issuers != NULL ? issuers : att_issuers_retain(old->issuers);
    api->current = snap;
    pthread_mutex_unlock(&api->lock);
    snapshot_release(api, old);
    return ATT_OK;
}

/*
 * Split "/providers/{name}/rest" into the provider and "/rest".
 * Paths without the prefix belong to the default provider.
 */
static bool split_provider(struct att_bytes path, struct att_bytes *name, struct att_bytes *rest)
{
    static const char prefix[] = "/providers/";
    struct att_rd r;
    struct att_bytes head;
    att_rd_init(&r, path.ptr, path.len);
    if (att_rd_bytes(&r, sizeof(prefix) - 1, &head) != ATT_OK || !att_bytes_eq_str(head, prefix)) {
        return false;
    }
    struct att_rd after = r;
    if (att_rd_until(&after, '/', name) != ATT_OK) {
        att_rd_rest(&r, name); /* "/providers/NAME": no route under it */
        rest->ptr = NULL;
        rest->len = 0;
        return true;
    }
    /* The rest keeps its leading '/': it starts where the name ends. */
    att_ignore_err(att_bytes_slice(path, att_rd_offset(&r) + name->len,
                                   path.len - att_rd_offset(&r) - name->len, rest));
    return true;
}

/* ---- authentication and authorisation ---- */

static void unauthorized(struct att_http_response *resp, const char *error, const char *message)
{
    char challenge[256];
    att_http_error(resp, 401, "Unauthorized", message);
    if (error != NULL) {
        /* RFC 6750 §3: say what was wrong with the token. */
        snprintf(challenge, sizeof(challenge),
                 "Bearer realm=\"attestd\", error=\"%s\", error_description=\"%s\"", error,
                 message);
    } else {
        snprintf(challenge, sizeof(challenge), "Bearer realm=\"attestd\"");
    }
    att_ignore_err(att_http_response_header(resp, "WWW-Authenticate", challenge));
}

/* A token is never logged: only the first 8 bytes of its SHA-256, in hex. */
static void fingerprint(const uint8_t *token, size_t len, char out[17])
{
    uint8_t d[32];
    static const char hex[] = "0123456789abcdef";
    if (EVP_Digest(token, len, d, NULL, EVP_sha256(), NULL) != 1) {
        memset(d, 0, sizeof(d));
    }
    for (size_t i = 0; i < 8; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[16] = 0;
}

static void log_decision(const struct att_http_request *req, const struct route *rt,
                         const char *scope, const struct att_identity *who, const char *result,
                         const char *reason, const char *token_fp)
{
    att_log(strcmp(result, "allowed") == 0 ? ATT_LOG_INFO : ATT_LOG_WARN, "authorization",
            "request_id", json_string(req->request_id), "peer", json_string(req->peer_text),
            "route", json_string(rt->name), "provider", scope[0] != 0 ? json_string(scope) : NULL,
            "principal", who != NULL && who->subject[0] != 0 ? json_string(who->subject) : NULL,
            "principal_name", who != NULL && who->name[0] != 0 ? json_string(who->name) : NULL,
            "issuer", who != NULL && who->issuer[0] != 0 ? json_string(who->issuer) : NULL,
            "permission", json_string(att_perm_name(rt->perm)), "result", json_string(result),
            "reason", reason != NULL ? json_string(reason) : NULL, "token",
            token_fp != NULL ? json_string(token_fp) : NULL, NULL);
}

/*
 * Mutual TLS: a verified client certificate registered to a principal identifies it
 * (for admin tooling that holds a certificate instead of a secret). One indexed lookup by the
 * certificate's SHA-256 (att_store_principal_get_by_cert), never a walk over all principals.
 */
static att_err identify_by_cert(struct att_api *api, const char *sha256, struct att_identity *who)
{
    struct att_principal_rec p;
    att_err rc = att_store_principal_get_by_cert(api->store, sha256, &p);
    /* Not registered (or not a hash the store could hold): the certificate names nobody. */
    ATT_ENSURE(rc != ATT_ERR_NOT_FOUND && rc != ATT_ERR_ARG, ATT_ERR_CREDENTIALS);
    ATT_TRY(rc);
    ATT_ENSURE(!p.disabled, ATT_ERR_PRINCIPAL_DISABLED);
    memset(who, 0, sizeof(*who));
    snprintf(who->kind, sizeof(who->kind), "%s", "principal");
    snprintf(who->subject, sizeof(who->subject), "%s", p.id);
    snprintf(who->name, sizeof(who->name), "%s", p.name);
    return ATT_OK;
}

/*
 * A refusal a caller can repeat at its own pace, logged through the summary: the first per
 * `result` and `summary_of` in full, then counts (src/core/log_summary.h).
 */
static void log_refusal(const struct att_http_request *req, const struct route *rt,
                        const char *scope, const struct att_identity *who, const char *result,
                        const char *reason, const char *token_fp, const char *summary_of,
                        int64_t now)
{
    char summary_key[ATT_LOG_SUMMARY_KEY_MAX];
    snprintf(summary_key, sizeof(summary_key), "authorization %s %s", result, summary_of);
    if (att_log_summary_admit(ATT_LOG_WARN, "authorization", summary_key, now)) {
        log_decision(req, rt, scope, who, result, reason, token_fp);
    }
}

/*
 * A failed authentication: 429 while the address is blocked (RFC 6585 §4), or when the
 * backoff has no room left to count the failure (it fails closed), else 401; the failure
 * counts towards a block. A valid credential is never blocked, so callers sharing an address
 * (NAT, a proxy) are not locked out by someone else's failures. Logged once per source, or
 * for 401 once per source, token and reason, then counted: with backoff on, a source gets N
 * of those per window, and the summary's own bounds hold across sources.
 */
static void refuse(struct att_api *api, const struct att_http_request *req, const struct route *rt,
                   const char *scope, const char *reason, const char *token_fp, const char *error,
                   const char *message, struct att_http_response *resp)
{
    char ip_key[ATT_BACKOFF_KEY_MAX];
    unsigned retry = 0;
    int64_t now = att_time_now();
    att_backoff_addr_key(req->peer, ip_key);
    bool throttled = att_backoff_source_blocked(api->backoff, ip_key, now, &retry) ||
                     att_backoff_fail(api->backoff, ip_key, now, &retry) == ATT_BACKOFF_NO_ROOM;
    if (throttled) {
        char value[16];
        snprintf(value, sizeof(value), "%u", retry > 0 ? retry : 1);
        log_refusal(req, rt, scope, NULL, "throttled", reason, token_fp, ip_key, now);
        att_http_error(resp, 429, "TooManyRequests",
                       "too many failed authentication attempts; retry later");
        att_ignore_err(att_http_response_header(resp, "Retry-After", value));
        return;
    }
    char attempt[ATT_LOG_SUMMARY_KEY_MAX];
    snprintf(attempt, sizeof(attempt), "%s %s %s", ip_key, token_fp != NULL ? token_fp : "-",
             reason);
    log_refusal(req, rt, scope, NULL, "unauthenticated", reason, token_fp, attempt, now);
    att_api_audit_refusal(api, req, ATT_AUDIT_AUTHN, rt->name, scope, NULL, reason);
    unauthorized(resp, error, message);
}

/*
 * A credential that could not be checked because the store failed (the database away, busy):
 * the server's fault, not the caller's, so 503 or 500, never counted as a failed attempt.
 */
static bool store_failed(att_err rc, struct att_http_response *resp)
{
    if (att_err_kind(rc) != ATT_KIND_STORE) {
        return false;
    }
    int status = att_err_http_status(rc);
    att_http_error(resp, status, status == 503 ? "ServiceUnavailable" : "InternalServerError",
                   att_err_str(rc));
    return true;
}

/* Who is calling: a bearer token (RFC 6750 §2.1), else a registered client certificate. */
static bool authenticate(struct att_api *api, const struct att_api_snapshot *snap,
                         const struct att_http_request *req, const struct route *rt,
                         const char *scope, struct att_identity *who, char fp[17],
                         struct att_http_response *resp)
{
    const struct att_bytes *h = att_http_header_get(req->head, "authorization");
    struct att_bytes scheme;
    struct att_bytes token;
    if (h == NULL && req->client_cert_sha256 != NULL && req->client_cert_sha256[0] != 0) {
        snprintf(fp, 17, "mtls");
        att_err rc = identify_by_cert(api, req->client_cert_sha256, who);
        if (rc != ATT_OK && store_failed(rc, resp)) {
            return false;
        }
        if (rc != ATT_OK) {
            refuse(api, req, rt, scope, att_err_name(rc), fp, NULL,
                   "the client certificate is not registered to an enabled principal", resp);
            return false;
        }
        return true;
    }
    if (h == NULL || att_bytes_slice(*h, 0, 7, &scheme) != ATT_OK ||
        !att_bytes_eq_str_nocase(scheme, "bearer ")) {
        refuse(api, req, rt, scope, "no bearer token", NULL, NULL, "a bearer token is required",
               resp);
        return false;
    }
    att_ignore_err(att_bytes_slice(*h, 7, h->len - 7, &token)); /* h->len >= 7 */
    token = att_bytes_trim(token);
    fingerprint(token.ptr, token.len, fp);
    att_err rc = att_bearer_verify(api->auth, snap->issuers, api->store, (const char *)token.ptr,
                                   token.len, att_time_now(), who);
    if (rc != ATT_OK && store_failed(rc, resp)) {
        return false;
    }
    if (rc != ATT_OK) {
        refuse(api, req, rt, scope, att_err_name(rc), fp, "invalid_token", att_err_str(rc), resp);
        return false;
    }
    return true;
}

/*
 * Who is calling and may they use this route here? Answers 401 (no or bad credential), 429
 * (too many failures from this address) or 403 (no role grants the permission) itself.
 */
static bool authorize(struct att_api *api, const struct att_api_snapshot *snap,
                      const struct att_http_request *req, const struct route *rt, const char *scope,
                      struct att_identity *who, struct att_http_response *resp)
{
    char fp[17] = "";
    if (!authenticate(api, snap, req, rt, scope, who, fp, resp)) {
        return false;
    }
    bool allowed = false;
    att_err rc = att_rbac_check(api->store, who, scope, rt->perm, &allowed);
    if (rc != ATT_OK) {
        log_decision(req, rt, scope, who, "error", att_err_name(rc), fp);
        if (!store_failed(rc, resp)) {
            att_http_error(resp, 500, "InternalServerError", "cannot read role assignments");
        }
        return false;
    }
    if (!allowed) {
        /* Per route, principal and token: a valid token can repeat this as fast as it likes. */
        char whom[ATT_LOG_SUMMARY_KEY_MAX];
        snprintf(whom, sizeof(whom), "%s %s %s", rt->name, fp, who->subject);
        log_refusal(req, rt, scope, who, "forbidden", "no role grants the permission", fp, whom,
                    att_time_now());
        att_api_audit_refusal(api, req, ATT_AUDIT_AUTHZ, rt->name, scope, who,
                              "no role grants the permission");
        att_http_error(resp, 403, "Forbidden",
                       "the caller has no role that grants this operation here");
        return false;
    }
    log_decision(req, rt, scope, who, "allowed", NULL, fp);
    return true;
}

static bool has_credentials(const struct att_http_request *req)
{
    return att_http_header_get(req->head, "authorization") != NULL ||
           (req->client_cert_sha256 != NULL && req->client_cert_sha256[0] != 0);
}

/* One entry of att_api_routes_json: the route, or (`alias`) its alias naming the successor. */
static json_t *route_json(const struct route *rt, bool alias)
{
    static const char *const version_rules[] = {"ignored", "optional", "required"};
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "name", rt->name, "method",
                          att_http_method_name(rt->method), "path", alias ? rt->alias : rt->path,
                          "permission", att_perm_name(rt->perm), "providerScoped",
                          !rt->root_only && !alias, "apiVersion", version_rules[rt->version]);
    if (o != NULL && alias) {
        json_object_set_new(o, "successor", json_string(rt->path));
    }
    return o;
}

char *att_api_routes_json(void)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < sizeof(routes) / sizeof(routes[0]); i++) {
        json_array_append_new(arr, route_json(&routes[i], false));
        if (routes[i].alias != NULL) {
            json_array_append_new(arr, route_json(&routes[i], true));
        }
    }
    char *text = arr != NULL ? json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(arr);
    return text;
}

/*
 * Match `path` against a route template: literal bytes, and "{name}" placeholders that take one
 * non-empty run of bytes up to the next '/' or ':' (MAA's ":reset", ":add" follow a segment,
 * docs/reference/maa-api.md §1.2). Captures go to params[0..ATT_API_MAX_PARAMS).
 */
static bool match_template(const char *tmpl, struct att_bytes path,
                           struct att_bytes params[ATT_API_MAX_PARAMS])
{
    struct att_rd r;
    size_t n_params = 0;
    att_rd_init(&r, path.ptr, path.len);
    for (size_t i = 0; tmpl[i] != 0; i++) {
        uint8_t c = 0;
        if (tmpl[i] != '{') {
            if (att_rd_u8(&r, &c) != ATT_OK || c != (uint8_t)tmpl[i]) {
                return false;
            }
            continue;
        }
        while (tmpl[i] != '}') { /* our own constant text: always closed */
            i++;
        }
        size_t start = att_rd_offset(&r);
        while (att_rd_peek_u8(&r, &c) == ATT_OK && c != '/' && c != ':') {
            att_ignore_err(att_rd_skip(&r, 1)); /* peeked: one byte is there */
        }
        if (att_rd_offset(&r) == start || n_params == ATT_API_MAX_PARAMS ||
            att_bytes_slice(path, start, att_rd_offset(&r) - start, &params[n_params]) != ATT_OK) {
            return false;
        }
        n_params++;
    }
    return att_rd_left(&r) == 0;
}

/*
 * Does `rt` serve `rest` here, and through its alias? A root-only route is not under a provider,
 * and an alias is a path at the root only. Captures go to params.
 */
static bool route_match(const struct route *rt, struct att_bytes rest, bool under_provider,
                        struct att_bytes params[ATT_API_MAX_PARAMS], bool *via_alias)
{
    *via_alias = false;
    if (rt->root_only && under_provider) {
        return false;
    }
    if (match_template(rt->path, rest, params)) {
        return true;
    }
    *via_alias = rt->alias != NULL && !under_provider && match_template(rt->alias, rest, params);
    return *via_alias;
}

static void not_found(struct att_http_response *resp)
{
    att_http_error(resp, 404, "NotFound", "no such route");
}

static void route_request(struct att_api *api, const struct att_api_snapshot *snap,
                          const struct att_http_request *req, struct att_http_response *resp)
{
    const struct att_http_head *h = req->head;
    struct att_bytes name = {NULL, 0};
    struct att_bytes rest = h->path;
    bool under_provider = split_provider(h->path, &name, &rest);
    const struct att_provider *provider = NULL;

    if (under_provider) {
        provider = att_provider_set_find(snap->providers, (const char *)name.ptr, name.len);
        if (provider == NULL) {
            att_http_error(resp, 404, "NotFound", "no such attestation provider");
            return;
        }
    } else {
        provider = att_provider_set_default(snap->providers);
    }
    if (provider != NULL) {
        snprintf(resp->provider, sizeof(resp->provider), "%s", provider->rec.name);
    }

    enum att_http_method m = h->method == ATT_HTTP_HEAD ? ATT_HTTP_GET : h->method;
    const struct route *match = NULL;
    bool match_alias = false;
    struct att_bytes params[ATT_API_MAX_PARAMS];
    struct att_bytes found[ATT_API_MAX_PARAMS];
    char allow[64] = "";
    memset(found, 0, sizeof(found));
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const struct route *rt = &routes[i];
        bool via_alias = false;
        memset(params, 0, sizeof(params));
        if (!route_match(rt, rest, under_provider, params, &via_alias)) {
            continue;
        }
        if (rt->method == m) {
            match = rt;
            match_alias = via_alias;
            memcpy(found, params, sizeof(found));
        } else {
            size_t used = strlen(allow);
            snprintf(allow + used, sizeof(allow) - used, "%s%s", used > 0 ? ", " : "",
                     att_http_method_name(rt->method));
        }
    }
    if (match == NULL && allow[0] != 0) {
        att_http_error(resp, 405, "MethodNotAllowed", "this method is not allowed on this route");
        att_ignore_err(att_http_response_header(resp, "Allow", allow)); /* constant text */
        return;
    }
    if (match == NULL) {
        not_found(resp);
        return;
    }
    resp->route = match->name;
    if (match_alias) {
        resp->successor = match->path; /* every answer through the alias, refusals too */
    }
    if (att_log_enabled(ATT_LOG_DEBUG)) { /* builds no fields unless asked: the hot path */
        att_log(ATT_LOG_DEBUG, "routed", "request_id", json_string(req->request_id), "route",
                json_string(match->name), "provider",
                provider != NULL ? json_string(provider->rec.name) : NULL, "permission",
                json_string(att_perm_name(match->perm)), "pool",
                json_boolean(match->weight == HEAVY ||
                             (match->weight == LIGHT_ANONYMOUS && has_credentials(req))),
                NULL);
    }
    if (!match->root_only && provider == NULL) {
        att_http_error(resp, 404, "NotFound", "no default attestation provider");
        return;
    }
    const struct att_bytes *version = att_http_query_get(h, "api-version");
    if (match->version == VERSION_REQUIRED && version == NULL) {
        att_http_error(resp, 400, "InvalidParameter",
                       "the api-version query parameter is required");
        return;
    }
    if (match->version != VERSION_IGNORED && version != NULL && !version_known(*version)) {
        char msg[256] = "unsupported api-version; supported:";
        for (size_t i = 0; i < sizeof(api_versions) / sizeof(api_versions[0]); i++) {
            size_t used = strlen(msg);
            snprintf(msg + used, sizeof(msg) - used, "%s %s", i > 0 ? "," : "", api_versions[i]);
        }
        att_http_error(resp, 400, "InvalidParameter", msg);
        return;
    }
    struct att_identity who;
    struct att_api_call call = {req,  snap->providers, provider,        api,
                                NULL, {{NULL, 0}},     match->evidence, NULL};
    memcpy(call.params, found, sizeof(call.params));
    if (match->weight == LIGHT_ANONYMOUS && has_credentials(req)) {
        /* A public route with more to show an authenticated Reader of every provider. */
        char fp[17] = "";
        if (!authenticate(api, snap, req, match, "", &who, fp, resp)) {
            return;
        }
        bool reader = false;
        if (att_rbac_check(api->store, &who, "", ATT_PERM_READ, &reader) == ATT_OK && reader) {
            call.who = &who;
        }
    }
    /* Attesting is open unless the provider requires authentication (attest_requires_auth). */
    bool open =
        match->perm == ATT_PERM_PUBLIC ||
        (match->perm == ATT_PERM_ATTEST && provider != NULL && !provider->rec.attest_requires_auth);
    if (!open) {
        const char *scope = match->root_only || provider == NULL ? "" : provider->rec.name;
        if (!authorize(api, snap, req, match, scope, &who, resp)) {
            return;
        }
        call.who = &who;
    }
    if (match->audit == NULL) {
        match->handler(&call, resp);
        return;
    }
    /* A change: nothing is changed unless its audit record is durable first. */
    if (!att_api_audit_change_begin(&call, match->audit, resp)) {
        return;
    }
    call.audit_detail = json_object();
    match->handler(&call, resp);
    att_api_audit_change_end(&call, match->audit, resp);
    json_decref(call.audit_detail);
}

void att_api_fail(struct att_http_response *resp, att_err rc, const char *what)
{
    if (att_err_http_status(rc) != 503) {
        att_http_error(resp, 500, "InternalServerError", what);
        return;
    }
    char msg[256];
    snprintf(msg, sizeof(msg), "%s: %s", what, att_err_str(rc));
    att_http_error(resp, 503, "ServiceUnavailable", msg);
}

bool att_api_is_light(void *arg, const struct att_http_request *req)
{
    (void)arg;
    const struct att_http_head *h = req->head;
    struct att_bytes name;
    struct att_bytes rest = h->path;
    struct att_bytes params[ATT_API_MAX_PARAMS];
    bool under_provider = split_provider(h->path, &name, &rest);
    enum att_http_method m = h->method == ATT_HTTP_HEAD ? ATT_HTTP_GET : h->method;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const struct route *rt = &routes[i];
        bool via_alias = false;
        if (rt->method == m && route_match(rt, rest, under_provider, params, &via_alias)) {
            return rt->weight == LIGHT || (rt->weight == LIGHT_ANONYMOUS && !has_credentials(req));
        }
    }
    return true; /* no route: 404 or 405 at once */
}

void att_api_handle(void *arg, const struct att_http_request *req, struct att_http_response *resp)
{
    struct att_api *api = arg;
    if (req->head->method == ATT_HTTP_OTHER) {
        att_http_error(resp, 501, "NotImplemented", "unknown HTTP method");
        return;
    }
    struct att_api_snapshot *snap = snapshot_acquire(api);
    route_request(api, snap, req, resp);
    snapshot_release(api, snap);
}
