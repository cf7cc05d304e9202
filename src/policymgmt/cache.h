/*
 * cache.h - the policy in force per (provider, type), parsed once and shared by the
 * attestation requests that use it.
 *
 * Reading a policy from the store means unsealing, decoding the JWS and parsing the text;
 * an attestation must not pay that each time. An entry lives `ttl_ms` at most (so a change
 * made through another node, or attestctl, shows within that time) and is dropped at once when
 * this node changes the policy (att_policy_cache_invalidate) or the change feed says another
 * node did (att_policy_cache_clear). When the store does not answer, an expired entry is used
 * rather than failing: attestation goes on through a database outage. Entries are reference
 * counted: a request keeps the one it started with even if a change replaces it meanwhile.
 * Thread-safe.
 */
#ifndef ATT_POLICYMGMT_CACHE_H
#define ATT_POLICYMGMT_CACHE_H

#include <jansson.h>
#include <openssl/x509.h>
#include <stdint.h>

#include "core/err.h"
#include "policy/policy.h"
#include "store/store.h"

/*
 * How long a node cut off from its store may keep using the policy it holds: a policy
 * tightened meanwhile through another node is not enforced here until the store answers again,
 * so past this time attestation fails (503) rather than judge by a policy that old.
 */
#define ATT_POLICY_HELD_MAX_MS ((int64_t)300 * 1000)

struct att_keyring;
struct att_policy_cache;

struct att_cached_policy {
    struct att_policy *policy;
    char hash[ATT_POLICY_HASH_LEN + 1]; /* x-ms-policy-hash */
    json_t *signer_jwk;                 /* x-ms-policy-signer, or NULL */
    int64_t version;                    /* 0: the type's default */
    /* private */
    char provider[ATT_PROVIDER_NAME_MAX + 1];
    char type[16];
    int64_t loaded_ms;
    int refs;
};

att_err att_policy_cache_new(int64_t ttl_ms, struct att_policy_cache **out) ATT_WUR;
void att_policy_cache_free(struct att_policy_cache *c);

/* The policy in force at `now_ms` (monotonic); one reference for att_cached_policy_release. */
att_err att_policy_cache_get(struct att_policy_cache *c, struct att_store *store,
                             struct att_keyring *kr, const struct att_provider_rec *provider,
                             const char *type, int64_t now_ms,
                             struct att_cached_policy **out) ATT_WUR;
void att_cached_policy_release(struct att_cached_policy *p);

/* Forget (provider, type); type NULL forgets every type of the provider. */
/* Drop every entry (another node changed policies: the change feed, server/cluster.c). */
void att_policy_cache_clear(struct att_policy_cache *c);
void att_policy_cache_invalidate(struct att_policy_cache *c, const char *provider,
                                 const char *type);

/* A signer certificate as MAA's x-ms-policy-signer: a JWK {kty, x5c} (docs/reference/maa-tokens.md
 * §2.3). */
json_t *att_policy_signer_jwk(X509 *cert);

#endif
