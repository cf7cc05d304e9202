/*
 * policies.h - policy management in the store: the history of each provider's policies, the
 * signed policy changes it has seen, and the trusted policy signer certificates of Isolated
 * providers: records and operations.
 *
 * Part of the store interface (store.h, which includes this header). What a policy says and
 * who may change it is src/policymgmt's; the store keeps sealed blobs and answers rows.
 */
#ifndef ATT_STORE_POLICIES_H
#define ATT_STORE_POLICIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "store/providers.h"

struct att_store;

/* One entry of a policy's history (policy management, migration 4). */
struct att_policy_version_rec {
    char id[33]; /* random; the sealing record id */
    char provider[ATT_PROVIDER_NAME_MAX + 1];
    char type[16];             /* "SgxEnclave", ... */
    int64_t version;           /* 1, 2, ... per provider and type */
    char action[12];           /* "set", "reset" or "rollback" */
    struct att_buf sealed_jws; /* the JWS as sent (table "policy_versions", id = id) */
    char policy_hash[44];   /* x-ms-policy-hash of the text in force; "" when it is the default */
    char signer_sha256[65]; /* hex SHA-256 of the signing certificate, or "" */
    char principal[256];
    char principal_name[64];
    char source[64];
    int64_t created_at;
    int64_t rollback_of; /* the version brought back, or 0 */
};

/*
 * A signed policy change a provider has seen (migration 7, table policy_requests), known by the
 * SHA-256 of its JWS signing input, per provider and scope (the attestation type of a set or
 * reset, "" for a signer change). Two kinds: a bound request is kept until `expires_at` (the
 * end of its acceptance window) so it works only once; an applied unbound set is kept for good
 * (expires_at 0) so it cannot be applied again once superseded.
 */
struct att_policy_request_rec {
    char provider[ATT_PROVIDER_NAME_MAX + 1];
    char scope[16];
    char digest[65];    /* hex SHA-256 of the JWS signing input, lower case */
    int64_t expires_at; /* 0 = kept for good */
    int64_t version;    /* the policy version it made, or 0 */
};

/* A trusted policy signer certificate of an Isolated provider. */
struct att_signer_rec {
    char provider[ATT_PROVIDER_NAME_MAX + 1];
    char sha256[65]; /* hex, lower case */
    char sha1[41];   /* MAA's thumbprint: hex, upper case */
    struct att_buf cert_der;
    int64_t created_at;
};

void att_policy_version_rec_init(struct att_policy_version_rec *v);
void att_policy_version_rec_cleanup(struct att_policy_version_rec *v);
void att_signer_rec_init(struct att_signer_rec *r);
void att_signer_rec_cleanup(struct att_signer_rec *r);

typedef att_err (*att_store_policy_version_cb)(const struct att_policy_version_rec *v, void *arg);
typedef att_err (*att_store_signer_cb)(const struct att_signer_rec *r, void *arg);

/*
 * Append a version: v->version is set to the next number for (provider, type), atomically.
 * With `req` (may be NULL) the same transaction records the request that made it
 * (req->version is set): a bound one (expires_at > 0) must be new, else ATT_ERR_TOKEN_REPLAY
 * and nothing is stored; an unbound one (expires_at 0) is recorded unless it is already. Records
 * whose expires_at passed v->created_at are pruned. `keep` > 0 then deletes the versions older
 * than the newest `keep` of (provider, type); the new one, in force, always stays.
 * ATT_ERR_EXISTS when v->id is taken; ATT_ERR_STORE_CONSTRAINT when the provider is absent.
 */
att_err att_store_policy_version_append(struct att_store *s, struct att_policy_version_rec *v,
                                        struct att_policy_request_rec *req, int64_t keep) ATT_WUR;
/* `version` 0 = the newest. ATT_ERR_NOT_FOUND when there is none. `out` must be initialised. */
att_err att_store_policy_version_get(struct att_store *s, const char *provider, const char *type,
                                     int64_t version, struct att_policy_version_rec *out) ATT_WUR;
/* Oldest first: the versions numbered above `after`, at most `limit` of them (0 = all). */
att_err att_store_policy_version_list(struct att_store *s, const char *provider, const char *type,
                                      int64_t after, int64_t limit, att_store_policy_version_cb cb,
                                      void *arg) ATT_WUR;
/*
 * Record a bound request that changes no policy version (a signer change): ATT_ERR_TOKEN_REPLAY
 * when it was recorded before. Records whose expires_at passed `now` are pruned first.
 */
att_err att_store_policy_request_claim(struct att_store *s, const struct att_policy_request_rec *r,
                                       int64_t now) ATT_WUR;
/* The record of (provider, scope, digest) into *out. ATT_ERR_NOT_FOUND when none. */
att_err att_store_policy_request_get(struct att_store *s, const char *provider, const char *scope,
                                     const char *digest,
                                     struct att_policy_request_rec *out) ATT_WUR;
/* Drop a record (a claimed request whose change then failed). ATT_ERR_NOT_FOUND when none. */
att_err att_store_policy_request_forget(struct att_store *s, const char *provider,
                                        const char *scope, const char *digest) ATT_WUR;
/* ATT_ERR_EXISTS when the provider has this certificate already. */
att_err att_store_signer_insert(struct att_store *s, const struct att_signer_rec *r) ATT_WUR;
/* ATT_ERR_NOT_FOUND when absent; ATT_ERR_STATE when it is the provider's last signer. */
att_err att_store_signer_delete(struct att_store *s, const char *provider,
                                const char *sha256) ATT_WUR;
/*
 * The signer certificate `sha256` of `provider` into `out` (initialised by the caller with
 * att_signer_rec_init; its previous content is released): one row by its key, for "is this
 * certificate a trusted signer?" on each signed policy change. ATT_ERR_NOT_FOUND when absent;
 * `out` is written only on success.
 */
att_err att_store_signer_get(struct att_store *s, const char *provider, const char *sha256,
                             struct att_signer_rec *out) ATT_WUR;
/* In the order they were added. */
att_err att_store_signer_list(struct att_store *s, const char *provider, att_store_signer_cb cb,
                              void *arg) ATT_WUR;

typedef att_err (*att_store_policy_request_cb)(const struct att_policy_request_rec *r, void *arg);
/*
 * Store version `v` exactly as given, its number and id included, with no retention pruning:
 * copying a history into another store (store migrate), where numbers must stay the ones
 * tokens, audit records and rollback_of name. Not for policy changes (they append).
 * ATT_ERR_EXISTS when v->id or (provider, type, version) is taken; ATT_ERR_STORE_CONSTRAINT
 * when the provider is absent; ATT_ERR_ARG for a version below 1.
 */
att_err att_store_policy_version_insert(struct att_store *s,
                                        const struct att_policy_version_rec *v) ATT_WUR;
/* Every version of every provider and type: by provider, then type, then version. */
att_err att_store_policy_version_scan(struct att_store *s, att_store_policy_version_cb cb,
                                      void *arg) ATT_WUR;
/*
 * Record a bound request that changes no policy version (a signer change): ATT_ERR_TOKEN_REPLAY
 * when it was recorded before. Records whose expires_at passed `now` are pruned first.
 */
att_err att_store_policy_request_claim(struct att_store *s, const struct att_policy_request_rec *r,
                                       int64_t now) ATT_WUR;
/* The record of (provider, scope, digest) into *out. ATT_ERR_NOT_FOUND when none. */
att_err att_store_policy_request_get(struct att_store *s, const char *provider, const char *scope,
                                     const char *digest,
                                     struct att_policy_request_rec *out) ATT_WUR;
/* Drop a record (a claimed request whose change then failed). ATT_ERR_NOT_FOUND when none. */
att_err att_store_policy_request_forget(struct att_store *s, const char *provider,
                                        const char *scope, const char *digest) ATT_WUR;
/*
 * Store record `r` exactly as given (expired or not, bound or not, its version as it is),
 * pruning nothing: copying the records into another store. ATT_ERR_EXISTS when (provider,
 * scope, digest) is recorded already; ATT_ERR_STORE_CONSTRAINT when the provider is absent.
 */
att_err att_store_policy_request_insert(struct att_store *s,
                                        const struct att_policy_request_rec *r) ATT_WUR;
/* Every record: by provider, then scope, then digest. */
att_err att_store_policy_request_list(struct att_store *s, att_store_policy_request_cb cb,
                                      void *arg) ATT_WUR;

#endif
