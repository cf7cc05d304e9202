/*
 * provider.h - attestation providers: tenants with their own issuer URL and
 * token signing key (docs/internals/design.md "Words").
 *
 * Creating a provider generates its key (RSA-2048/RS256 by default, as MAA;
 * P-256/ES256 on request), a self-signed certificate naming the issuer URL,
 * and stores the private key only sealed (table "signing_keys", record id =
 * kid). Loading opens every key into a fresh att_signer and pre-renders the
 * provider's metadata documents (/certs JWKS, OpenID configuration), so
 * serving them costs nothing.
 *
 * A loaded att_provider_set is immutable and may be shared by threads.
 */
#ifndef ATT_PROVIDER_PROVIDER_H
#define ATT_PROVIDER_PROVIDER_H

#include <jansson.h>
#include <openssl/x509.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "provider/schedule.h"
#include "signer/signer.h"
#include "store/store.h"
#include "token/jws.h"

#define ATT_DEFAULT_PROVIDER "default"
#define ATT_PROVIDERS_MAX 256
#define ATT_CERT_DAYS 3650

struct att_keyring;

/* One published key of a provider. */
struct att_provider_key {
    char kid[ATT_KID_MAX + 1];
    struct att_key_times times;
    struct att_jws_header token_header; /* {"alg","kid","jku","typ"} of its tokens, encoded */
};

struct att_provider {
    struct att_provider_rec rec;
    enum att_jws_alg alg;
    struct att_provider_key keys[ATT_PROVIDER_KEYS_MAX]; /* the store's order (schedule.h) */
    size_t n_keys;
    struct att_buf jwks;   /* {"keys":[...]}: every key of keys[] */
    struct att_buf openid; /* OpenID provider metadata */
    /* The highest index of keys[] this set has signed with: a clock set back never brings a
     * retired key back (in the set's own array; the only thing in a set that changes). */
    _Atomic size_t *floor;
};

struct att_provider_set {
    struct att_provider *items;
    _Atomic size_t *floors; /* one per item (att_provider.floor) */
    size_t n;
    struct att_signer *signer;
};

/* Names: 1-63 characters of [a-z0-9-], starting with a letter or digit. */
att_err att_provider_name_check(const char *name) ATT_WUR;
/* Issuer URLs: https://, no trailing slash, no query or fragment, <= ATT_URL_MAX. */
att_err att_provider_issuer_check(const char *issuer) ATT_WUR;

/*
 * Create provider `name` with a new signing key, in one transaction.
 * ATT_ERR_EXISTS when the name is taken.
 */
att_err att_provider_create(struct att_store *store, struct att_keyring *kr, const char *name,
                            const char *issuer, enum att_jws_alg alg, bool is_default,
                            int64_t now) ATT_WUR;

/*
 * The same, for an Isolated provider (docs/reference/maa-policy.md §4.1) when `n_signers` > 0: its
 * policy and signers can then only be changed by JWS signed by one of `signers` (each a CA
 * certificate valid at `now`, or the whole creation fails). n_signers 0 makes an AAD provider.
 */
att_err att_provider_create_isolated(struct att_store *store, struct att_keyring *kr,
                                     const char *name, const char *issuer, enum att_jws_alg alg,
                                     bool is_default, int64_t now, X509 *const *signers,
                                     size_t n_signers) ATT_WUR;

/* What a provider may have beyond a name, an issuer and a key (att_provider_create_ex). */
struct att_provider_extra {
    X509 *const *signers; /* an Isolated provider's policy signers (see above), or NULL */
    size_t n_signers;
    /* PEM text of DCAP trust anchors of its own (at most ATT_PROVIDER_TRUST_PEM_MAX bytes, up
     * to ATT_DCAP_MAX_ANCHORS self-signed CAs), or NULL for the daemon's dcap_trust_anchors.
     * Its quotes are then judged only under these, with collateral of their scope
     * (src/collateral/scopes.h; docs/internals/demo.md). */
    const char *dcap_trust_pem;
    /* A demo provider (`attestctl demo`): needs dcap_trust_pem, is never the default, refuses
     * to attest while public network access is on, and marks every token (ATT_DEMO_CLAIM). */
    bool demo;
};

/*
 * att_provider_create_isolated with `extra` (may be NULL). Errors beyond its own: the anchors'
 * parse errors (att_dcap_trust_from_pem), ATT_ERR_TOO_LARGE (anchors over
 * ATT_PROVIDER_TRUST_PEM_MAX bytes), ATT_ERR_ARG (a demo without anchors, or the default).
 */
att_err att_provider_create_ex(struct att_store *store, struct att_keyring *kr, const char *name,
                               const char *issuer, enum att_jws_alg alg, bool is_default,
                               int64_t now, const struct att_provider_extra *extra) ATT_WUR;

/*
 * The collateral scope of trust anchors `pem` (their att_dcap_trust_id, 64 hex digits), as the
 * store files their items. Errors: ATT_ERR_ARG (empty), ATT_ERR_TOO_LARGE, the parse errors of
 * att_dcap_trust_from_pem (`msg` says which).
 */
att_err att_provider_trust_scope(const char *pem, char scope[ATT_COLLATERAL_SCOPE_LEN + 1],
                                 char *msg, size_t msg_len) ATT_WUR;

/* The claim every token of a demo provider carries (true), and the notice of its metadata. */
#define ATT_DEMO_CLAIM "x-attestd-demo"
#define ATT_DEMO_NOTICE                                                                            \
    "DEMO provider: it trusts a test root made on this machine, so its tokens prove nothing "      \
    "about real hardware. Never rely on them."

/* Add the claims every token of `p` carries whatever signs it (ATT_DEMO_CLAIM for a demo). */
att_err att_provider_mark_claims(const struct att_provider *p, json_t *claims) ATT_WUR;

/* Create the default provider when the store has none. *created says whether it did. */
att_err att_provider_ensure_default(struct att_store *store, struct att_keyring *kr,
                                    const char *issuer, enum att_jws_alg alg, int64_t now,
                                    bool *created) ATT_WUR;

/*
 * Delete a provider and its keys (their pairs in a token too, best effort), and the collateral
 * of its own trust anchors unless another provider trusts them too (best effort). The default
 * provider cannot be deleted (ATT_ERR_STATE).
 */
att_err att_provider_delete(struct att_store *store, struct att_keyring *kr,
                            const char *name) ATT_WUR;
/*
 * Carry each provider's signing floor from the set it replaces (by kid), so that a reload does
 * not let a clock set back bring a retired key back.
 */
void att_provider_set_carry_floors(struct att_provider_set *next,
                                   const struct att_provider_set *prev);

/*
 * Make a new signing key for provider `name` that signs from now + `lead` (seconds): it is
 * published at once (after the daemon's next look at the store, within ATT_KEY_CHECK_INTERVAL)
 * and the current key keeps signing until then. ATT_ERR_NOT_FOUND for no such provider,
 * ATT_ERR_STATE when a key is already waiting, ATT_ERR_TOO_LARGE when the provider has
 * ATT_PROVIDER_KEYS_MAX keys (retired keys go when their tokens have expired). `token_lifetime`
 * is the new key's initial token_lifetime (0: raised by the first signer). With `lead` 0 while a
 * key waits, that key (published already) signs from now instead, and *was_waiting (may be
 * NULL) says so: the emergency rotation of a key no longer trusted.
 */
att_err att_provider_rotate_key(struct att_store *store, struct att_keyring *kr, const char *name,
                                int64_t now, int64_t lead, int64_t token_lifetime,
                                char kid[ATT_KID_MAX + 1], int64_t *activate_at,
                                bool *was_waiting) ATT_WUR;

/* What att_provider_keys_upkeep did, reported one change at a time (for the audit trail). */
struct att_key_event {
    enum { ATT_KEY_EVENT_MADE, ATT_KEY_EVENT_DESTROYED } kind;
    const char *provider;
    char kid[ATT_KID_MAX + 1];
    int64_t at; /* MADE: when it starts signing; DESTROYED: when it became due */
};
typedef void (*att_key_event_cb)(const struct att_key_event *e, void *arg);

/* The daemon's key settings (docs/config.md), in seconds. */
struct att_key_upkeep {
    int64_t rotation;       /* a key's signing period; 0 = rotation by hand only */
    int64_t lead;           /* a new key is published this long before it signs */
    int64_t leeway;         /* kept published this long past its last token's expiry */
    int64_t token_lifetime; /* of the daemon's tokens: a key it makes starts with it */
    /* Among nodes on one store only the one leading the job (ATT_LOCK_KEYS) makes and destroys
     * keys; on the others (follower) the look only notes the keys they sign with. */
    bool follower;
};

/*
 * One look at the store's keys (the daemon, every ATT_KEY_CHECK_INTERVAL): note the use of
 * `set`'s signing keys (att_provider_note_signing_keys; nothing else is done when that fails),
 * make the new keys whose scheduled rotation is due, destroy the retired keys whose tokens have all
 * expired (schedule.h), and set *changed when the store's providers or keys now differ from
 * `set`'s, so that the caller reloads (keys made or rotated by attestctl are seen this way, without
 * SIGHUP). Each change is reported to `cb`. A provider that fails is logged and the others are
 * still looked after, unless the store is locked (the look ends); the first error is
 * returned.
 */
att_err att_provider_keys_upkeep(struct att_store *store, struct att_keyring *kr,
                                 const struct att_provider_set *set,
                                 const struct att_key_upkeep *cfg, int64_t now, att_key_event_cb cb,
                                 void *arg, bool *changed) ATT_WUR;

/* Load every provider and open its keys. */
att_err att_provider_set_load(struct att_store *store, struct att_keyring *kr,
                              struct att_provider_set **out) ATT_WUR;
void att_provider_set_free(struct att_provider_set *set);
const struct att_provider *att_provider_set_find(const struct att_provider_set *set,
                                                 const char *name, size_t len);
const struct att_provider *att_provider_set_default(const struct att_provider_set *set);

/* The schedule times of a stored key. */
struct att_key_times att_provider_key_times(const struct att_key_rec *k);

/* The key of `p` that signs at `now` (schedule.h), never one retired before in this set. */
const struct att_provider_key *att_provider_signing_key(const struct att_provider *p, int64_t now);
/* The key a process that cannot know what attestd has published signs with (attestctl). */
const struct att_provider_key *att_provider_published_key(const struct att_provider *p,
                                                          int64_t now);
/*
 * Note in the store that the keys of `set` that sign at `now`, or will before the look after
 * next, may sign tokens of `lifetime` seconds until then (att_store_key_note_use). attestd does
 * this before it uses a set and at every look: a key is never destroyed while its tokens live,
 * even when the daemon could not load its successor for a while.
 */
att_err att_provider_note_signing_keys(struct att_store *store, const struct att_provider_set *set,
                                       int64_t now, int64_t lifetime) ATT_WUR;

/*
 * Sign `claims` as a JWT of provider `p` with its key of the moment: header
 * {"alg","kid","jku","typ":"JWT"} (docs/reference/maa-tokens.md §2.1), registered claims set by
 * att_claims_set_registered. `claims` is modified (registered claims added). The caller has
 * noted the key's use for tokens of `lifetime` (att_provider_note_signing_keys).
 */
att_err att_provider_issue_token(const struct att_provider_set *set, const struct att_provider *p,
                                 json_t *claims, int64_t now, int64_t lifetime,
                                 struct att_buf *out) ATT_WUR;
/* The same with a given key of `p`. */
att_err att_provider_issue_token_with(const struct att_provider_set *set,
                                      const struct att_provider *p,
                                      const struct att_provider_key *key, json_t *claims,
                                      int64_t now, int64_t lifetime, struct att_buf *out) ATT_WUR;
/*
 * att_provider_issue_token without the signature, for signing it asynchronously: the JWS
 * signing input (att_jws_signing_input) into `input`, and the kid to sign it with (owned by
 * `p`: copy it while `set` is in use).
 */
att_err att_provider_token_input(const struct att_provider_set *set, const struct att_provider *p,
                                 json_t *claims, int64_t now, int64_t lifetime,
                                 struct att_buf *input, const char **kid) ATT_WUR;

#endif
