/*
 * manage.h - policy management with MAA's semantics (docs/reference/maa-policy.md §4), plus
 * history.
 *
 * Per provider and attestation type, the policy in force is the newest version in the store,
 * or the type's built-in default when there is none or the newest is a reset. Every set, reset
 * and rollback is a new version: the JWS exactly as uploaded (sealed at rest: table
 * "policy_versions", record id = the version's id), its policy hash, the signer, the caller,
 * the time and the source address. A version is never changed; the provider's retention
 * (policy_history_keep) deletes the oldest when a version is stored.
 *
 * Replays (docs/policies.md, "Replayed signed requests"): a signed request carrying binding
 * claims (binding.h) is accepted once, on its provider and type, within its window; a provider
 * may require them. An unbound signed set applied before and since superseded is refused
 * (rollback is the way back); re-sending the signed policy in force changes nothing.
 *
 * Trust models (§4.1): AAD - a Contributor may upload unsigned policies (a signed one is
 * checked and its signer recorded). Isolated - every set, reset, rollback and signer change
 * must be a JWS whose x5c leaf is a currently trusted signer of the provider; RBAC applies too.
 */
#ifndef ATT_POLICYMGMT_MANAGE_H
#define ATT_POLICYMGMT_MANAGE_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "policymgmt/envelope.h"
#include "store/store.h"

#define ATT_POLICY_MAX_SIGNERS 64 /* trusted signer certificates per provider */

struct att_keyring;

/* Who asks for a change (for the history). */
struct att_policy_actor {
    const char *subject; /* principal id or external subject */
    const char *name;    /* principal name or issuer name */
    const char *peer;    /* source address */
};

/* A policy as it stands (or one version of it). Release with att_policy_state_cleanup. */
struct att_policy_state {
    int64_t version;     /* 0: the built-in default, never set */
    char action[12];     /* "default", "set", "reset" or "rollback" */
    bool is_default;     /* the text in force is the type's default */
    struct att_buf text; /* the policy text */
    struct att_buf jws;  /* the stored JWS (MAA's x-ms-policy); unsigned for defaults */
    X509 *signer;        /* the signer of that JWS, or NULL */
    char hash[64];       /* x-ms-policy-hash of the text */
    char token_hash[64]; /* x-ms-policy-token-hash of the request (set/reset only) */
    struct att_policy_version_rec rec; /* the history row (version > 0) */
};

void att_policy_state_init(struct att_policy_state *s);
void att_policy_state_cleanup(struct att_policy_state *s);

/* Why a change was refused, for the HTTP answer: MAA's error code and a message. */
struct att_policy_refusal {
    const char *code; /* "PolicyParsingError", "PolicyEvaluationError", "InvalidOperation", ... */
    char message[512];
};

/* The policy in force (version 0 = newest, else that version). ATT_ERR_NOT_FOUND: no such. */
att_err att_policy_get(struct att_store *store, struct att_keyring *kr,
                       const struct att_provider_rec *provider, const char *type, int64_t version,
                       struct att_policy_state *out) ATT_WUR;

/*
 * PUT /policies/{type}: `jws` as sent. On success *out is the new state (with token_hash), or
 * the state in force when `jws` is the signed policy already in force. Refusals (ATT_ERR_* with
 * *why filled): the envelope's errors, ATT_ERR_POLICY_* for a policy that does not parse,
 * ATT_ERR_SIGNER_UNTRUSTED / ATT_ERR_STATE (unsigned in Isolated mode; an unbound signed set
 * superseded since it was applied), the binding errors of att_binding_check,
 * ATT_ERR_TOKEN_REPLAY (a bound request seen before).
 */
att_err att_policy_set(struct att_store *store, struct att_keyring *kr,
                       const struct att_provider_rec *provider, const char *type, const char *jws,
                       size_t len, const struct att_policy_actor *actor, int64_t now,
                       struct att_policy_state *out, struct att_policy_refusal *why) ATT_WUR;

/* POST /policies/{type}:reset: a JWS with an empty payload. */
att_err att_policy_reset(struct att_store *store, struct att_keyring *kr,
                         const struct att_provider_rec *provider, const char *type, const char *jws,
                         size_t len, const struct att_policy_actor *actor, int64_t now,
                         struct att_policy_state *out, struct att_policy_refusal *why) ATT_WUR;

/*
 * Make version `version` the policy in force again, as a new version (action "rollback").
 * In Isolated mode `jws` must be a JWS of a trusted signer whose payload is
 * {"policyRollback": {"provider": name, "attestationType": type, "version": version},
 * "iat": seconds} with an iat of the last 10 minutes; in AAD mode `jws` may be
 * NULL. ATT_ERR_NOT_FOUND when the version does not exist.
 */
att_err att_policy_rollback(struct att_store *store, struct att_keyring *kr,
                            const struct att_provider_rec *provider, const char *type,
                            int64_t version, const char *jws, size_t len,
                            const struct att_policy_actor *actor, int64_t now,
                            struct att_policy_state *out, struct att_policy_refusal *why) ATT_WUR;

/* The history, oldest first: versions numbered above `after`, at most `limit` (0 = all). */
att_err att_policy_history(struct att_store *store, const char *provider, const char *type,
                           int64_t after, int64_t limit, att_store_policy_version_cb cb,
                           void *arg) ATT_WUR;

/* ---- signers (Isolated mode, §4.4) ---- */

/* Trusted signer certificates of a provider, in the order they were added. */
att_err att_signers_list(struct att_store *store, const char *provider, att_store_signer_cb cb,
                         void *arg) ATT_WUR;

/*
 * POST /certificates:add or :remove with the JWS (its quotes already removed). *thumbprint is
 * the SHA-1 of the certificate (40 upper-case hex). ATT_ERR_STATE: not an Isolated provider, or
 * removing the last signer; ATT_ERR_NOT_FOUND: no certificate claim.
 */
att_err att_signers_change(struct att_store *store, const struct att_provider_rec *provider,
                           bool add, const char *jws, size_t len, int64_t now, char thumbprint[41],
                           struct att_policy_refusal *why) ATT_WUR;

/* Add a trusted signer directly (attestctl provider create --isolated --signer). */
att_err att_signers_add_cert(struct att_store *store, const char *provider, X509 *cert,
                             int64_t now) ATT_WUR;

#endif
