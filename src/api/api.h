/*
 * api.h - the MAA-shaped REST API: routing and handlers.
 *
 * Handlers decode a request, call one domain function and encode the answer
 * (docs/internals/style.md §11). The route table (router.c) is the single list of what
 * attestd serves; later issues add routes and the permission each needs.
 *
 * Providers are reached at /providers/{name}/... and the default provider
 * also at /. The provider set can be replaced at run time (SIGHUP); each
 * request holds a reference to the set it started with.
 */
#ifndef ATT_API_API_H
#define ATT_API_API_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/rbac.h"
#include "evidence/evidence.h"
#include "http/server.h"
#include "provider/provider.h"
#include "store/store.h"

/* What a reload replaces, reference counted: requests in flight keep the set they started with. */
struct att_api_snapshot {
    struct att_provider_set *providers;
    struct att_issuers *issuers; /* trusted external token issuers (one reference) */
    unsigned refs;
};

struct att_auth;
struct att_collateral;
struct att_collateral_scopes;
struct att_amd_collateral;
struct att_tpm_source;
struct att_issuers;
struct att_policy_cache;
struct att_keyring;
struct att_audit;

/* The readiness probe: a thread that asks the store once a second (health.c). */
struct att_api_probe {
    pthread_t thread;
    bool running;
    bool stop;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    _Atomic int64_t store_ok_ms;    /* att_time_mono_ms() of the store's last answer; 0: none */
    _Atomic int expired_collateral; /* stored collateral items past their nextUpdate */
    unsigned ticks;                 /* the probe's passes, to count collateral every few */
};

struct att_api {
    pthread_mutex_t lock;
    struct att_api_snapshot *current;
    struct att_store *store;
    struct att_auth *auth;       /* attestd's access tokens (not owned) */
    struct att_backoff *backoff; /* brute-force backoff (not owned; NULL = off) */
    struct att_keyring *keyring; /* seals policy versions (not owned) */
    /* Whether tokens can be signed now (the key process has a worker), for /readyz; NULL:
     * always (the keys are in this process). */
    bool (*signing_ok)(void *arg);
    void *signing_arg;
    struct att_policy_cache *policy_cache; /* parsed policies in force (not owned) */
    struct att_collateral *collateral;     /* Intel collateral (not owned; NULL: none) */
    /* Intel collateral of providers with trust anchors of their own (not owned; NULL: none,
     * and such providers cannot attest Intel evidence) */
    struct att_collateral_scopes *collateral_scopes;
    /* public_network_access: demo providers refuse to attest (docs/internals/demo.md) */
    bool public_network_access;
    struct att_amd_collateral *amd;   /* AMD SEV-SNP collateral (not owned; NULL: none) */
    const struct att_tpm_source *tpm; /* TPM AK roots and challenges (not owned; NULL: none) */
    int64_t collateral_grace;         /* seconds past nextUpdate collateral may be used */
    int64_t attest_token_lifetime;    /* seconds; 0 = ATT_ATTEST_TOKEN_LIFETIME */
    int64_t test_verify_time;         /* 0: verify evidence at the wall clock (test builds only) */
    struct att_audit *audit;          /* the audit trail (not owned; NULL: none, unit tests) */
    struct att_http_server *http; /* the main listeners, for their load (not owned; may be NULL) */
    int64_t started_at;           /* Unix time the daemon started */
    struct att_api_probe probe;
};

#define ATT_API_MAX_PARAMS 2
/*
 * Seconds a policy-management answer's token (PolicyResult) lives at most: the caller reads it
 * at once. Never longer than attestation tokens, so that those bound how long a retired
 * signing key stays published.
 */
#define ATT_API_RESULT_TOKEN_LIFETIME 3600

/* What a handler gets. */
struct att_api_call {
    const struct att_http_request *req;
    const struct att_provider_set *providers;
    const struct att_provider *provider; /* NULL on provider-less routes */
    struct att_api *api;
    /* NULL on public routes; on /readyz, the caller when it is an authenticated Reader */
    const struct att_identity *who;
    /* The "{...}" parts of the route's path, in order (percent-decoded, never empty). */
    struct att_bytes params[ATT_API_MAX_PARAMS];
    const struct att_evidence_type *evidence; /* on /attest/<type> routes */
    /* On routes that change state: what the handler notes for the audit record (an object,
     * att_api_audit_note); NULL elsewhere. */
    json_t *audit_detail;
};

/* Takes ownership of `providers` and of one reference to `issuers`, also on failure. */
att_err att_api_init(struct att_api *api, struct att_store *store, struct att_auth *auth,
                     struct att_provider_set *providers, struct att_issuers *issuers) ATT_WUR;
void att_api_cleanup(struct att_api *api);
/*
 * Install a new provider set and issuer registry (taking ownership of both, also on failure;
 * `issuers` NULL keeps the current registry). The old ones are freed when their last request
 * ends.
 */
att_err att_api_swap(struct att_api *api, struct att_provider_set *providers,
                     struct att_issuers *issuers) ATT_WUR;

/*
 * Start the readiness probe: the store is asked now, then once a second on a thread of its
 * own, so that an anonymous GET /readyz, answered on an event loop, reads the result and never
 * waits for the store (which may be locked by another process for its busy timeout).
 * att_api_probe_stop (also called by att_api_cleanup) ends it.
 */
att_err att_api_probe_start(struct att_api *api) ATT_WUR;
void att_api_probe_stop(struct att_api *api);

/* The att_http_handler: route and answer one request. */
void att_api_handle(void *arg, const struct att_http_request *req, struct att_http_response *resp);
/*
 * The att_http_light_fn: true for requests answered from memory without waiting (health and
 * metadata, /readyz without credentials, requests no route takes), which the server answers on
 * its event loop; everything else runs on the job pool.
 */
bool att_api_is_light(void *arg, const struct att_http_request *req);

/* ---- handlers (metadata.c, health.c) ---- */
void att_api_get_certs(const struct att_api_call *call, struct att_http_response *resp);

/*
 * Answer a failure of ours: 503 "ServiceUnavailable" ("WHAT: the reason") when `rc` is a
 * passing outage (the key process restarting, a locked store, a token that does not answer),
 * else 500 "InternalServerError" with WHAT.
 */
void att_api_fail(struct att_http_response *resp, att_err rc, const char *what);
void att_api_get_openid(const struct att_api_call *call, struct att_http_response *resp);
void att_api_healthz(const struct att_api_call *call, struct att_http_response *resp);
void att_api_readyz(const struct att_api_call *call, struct att_http_response *resp);
void att_api_oauth_token(const struct att_api_call *call, struct att_http_response *resp);
void att_api_whoami(const struct att_api_call *call, struct att_http_response *resp);
void att_api_roles_list(const struct att_api_call *call, struct att_http_response *resp);
void att_api_roles_add(const struct att_api_call *call, struct att_http_response *resp);
void att_api_roles_remove(const struct att_api_call *call, struct att_http_response *resp);
/* attest.c: POST /attest/<type> for every evidence type of the registry (call->evidence) */
void att_api_attest(const struct att_api_call *call, struct att_http_response *resp);
/* POST /attest/Tpm: MAA's TPM attestation protocol (attest_tpm.c). */
void att_api_attest_tpm(const struct att_api_call *call, struct att_http_response *resp);
/* POST /attest/TpmQuote:challenge: a sealed, single-use challenge for the provider. */
void att_api_tpm_challenge(const struct att_api_call *call, struct att_http_response *resp);
/* policies.c */
void att_api_policy_get(const struct att_api_call *call, struct att_http_response *resp);
void att_api_policy_set(const struct att_api_call *call, struct att_http_response *resp);
void att_api_policy_reset(const struct att_api_call *call, struct att_http_response *resp);
void att_api_certificates_get(const struct att_api_call *call, struct att_http_response *resp);
void att_api_certificates_add(const struct att_api_call *call, struct att_http_response *resp);
void att_api_certificates_remove(const struct att_api_call *call, struct att_http_response *resp);
void att_api_policy_versions(const struct att_api_call *call, struct att_http_response *resp);
void att_api_policy_version(const struct att_api_call *call, struct att_http_response *resp);
void att_api_policy_rollback(const struct att_api_call *call, struct att_http_response *resp);

/* ---- audit (audit.c; docs/operations.md, "Audit trail") ---- */

/* Add `value` (stolen) to the audit record of the change being made; no-op off change routes. */
void att_api_audit_note(const struct att_api_call *call, const char *key, json_t *value);
/* Before a change: its "attempt" record, durable; false (answered 503) when it cannot be. */
bool att_api_audit_change_begin(const struct att_api_call *call, const char *action,
                                struct att_http_response *resp);
/* After a change: its outcome record, with the handler's notes and the status. */
void att_api_audit_change_end(const struct att_api_call *call, const char *action,
                              const struct att_http_response *resp);
/*
 * An attestation's outcome ("success", "denied" by policy, "failure"): `detail` stolen. A
 * token of a provider that fails closed is held until the record is durable (a 503 if not).
 */
void att_api_audit_attestation(const struct att_api_call *call, const char *type,
                               const char *outcome, json_t *detail, struct att_http_response *resp);
/* A refused caller: category ATT_AUDIT_AUTHN (bad credential) or ATT_AUDIT_AUTHZ (no role). */
void att_api_audit_refusal(struct att_api *api, const struct att_http_request *req,
                           const char *category, const char *route, const char *scope,
                           const struct att_identity *who, const char *reason);
/* GET /attestd/audit: a page of records, filtered (Reader). */
void att_api_audit_list(const struct att_api_call *call, struct att_http_response *resp);

/* ---- metrics (metrics.c; docs/operations.md, "Monitoring") ---- */

/* GET /metrics on the main listeners (Reader). */
void att_api_metrics(const struct att_api_call *call, struct att_http_response *resp);
/* The att_http_handler of the metrics listener (arg: the struct att_api): GET /metrics only,
 * no authentication. */
void att_api_metrics_handle(void *arg, const struct att_http_request *req,
                            struct att_http_response *resp);

/*
 * The route table as JSON: [{"name","method","path","permission","providerScoped",
 * "apiVersion": "ignored"|"optional"|"required"}...] (paths are templates: "{type}"), for
 * `attestctl routes`, the role x route test matrix and the OpenAPI test. A deprecated alias is
 * an entry of its own after its route's, with the same name and "successor": the route's path.
 * Caller frees with free().
 */
char *att_api_routes_json(void);

#endif
