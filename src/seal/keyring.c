/*
 * keyring.c - the KEK plus a cache of unwrapped data keys (DEKs).
 *
 * Input trust: sealed blobs and wrapped DEKs come from the store (a file or
 * a database others may reach) and are untrusted until GCM authenticates
 * them; seal.c does the parsing. Key ids are public; keys never leave this
 * file except as a stack copy for one seal/open, wiped right after.
 *
 * Locking: one mutex guards the cache and the active DEK. A key is copied
 * out under the lock and used after unlocking, so a slow store call or a
 * large value does not hold other threads for longer than a lookup.
 *
 * Memory: the keyring (the KEK and every cached DEK) lives in pages that core
 * dumps leave out (att_key_memory_new); the stack copies made for one seal or
 * open are wiped right after.
 */
#include "seal/keyring.h"

#include "seal/pkcs11.h"

#include <pthread.h>
#include <stdio.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "store/store.h"

#define CACHE_CAP 256
#define DEK_ID_RAW 16 /* random bytes behind a 32-character hex id */
#define ROTATE_MAX ((size_t)1 << 20)

struct dek_key {
    uint8_t b[ATT_DEK_LEN];
};

struct cached_dek {
    char id[ATT_DEK_ID_LEN + 1];
    struct dek_key key;
};

struct att_keyring {
    struct att_store *store; /* borrowed: must outlive the keyring */
    struct att_kek kek;
    struct att_p11 *signing_token; /* where new signing keys are made (pkcs11.h), or NULL */
    bool is_remote;
    struct att_keyring_remote remote; /* when is_remote: no KEK, no data key here */
    pthread_mutex_t mu;
    char active_id[ATT_DEK_ID_LEN + 1]; /* "" until the first seal */
    size_t n;
    struct cached_dek cache[CACHE_CAP];
};

att_err att_keyring_new(struct att_store *store, const struct att_kek *kek,
                        struct att_keyring **out)
{
    ATT_ENSURE(store != NULL && kek != NULL && out != NULL, ATT_ERR_ARG);
    struct att_keyring *kr = att_key_memory_new(sizeof(*kr));
    ATT_ENSURE(kr != NULL, ATT_ERR_NOMEM);
    if (pthread_mutex_init(&kr->mu, NULL) != 0) {
        att_key_memory_free(kr, sizeof(*kr));
        return ATT_ERR_INTERNAL;
    }
    kr->store = store;
    att_kek_copy(&kr->kek, kek);
    *out = kr;
    return ATT_OK;
}

att_err att_keyring_new_remote(const struct att_keyring_remote *ops, struct att_keyring **out)
{
    ATT_ENSURE(ops != NULL && out != NULL, ATT_ERR_ARG);
    struct att_keyring *kr = att_key_memory_new(sizeof(*kr));
    ATT_ENSURE(kr != NULL, ATT_ERR_NOMEM);
    if (pthread_mutex_init(&kr->mu, NULL) != 0) {
        att_key_memory_free(kr, sizeof(*kr));
        return ATT_ERR_INTERNAL;
    }
    kr->is_remote = true;
    kr->remote = *ops;
    *out = kr;
    return ATT_OK;
}

const struct att_keyring_remote *att_keyring_remote_ops(const struct att_keyring *kr)
{
    return kr != NULL && kr->is_remote ? &kr->remote : NULL;
}

void att_keyring_free(struct att_keyring *kr)
{
    if (kr == NULL) {
        return;
    }
    (void)pthread_mutex_destroy(&kr->mu);
    att_kek_wipe(&kr->kek);
    att_p11_release(kr->signing_token);
    att_key_memory_free(kr, sizeof(*kr));
}

void att_keyring_set_signing_token(struct att_keyring *kr, struct att_p11 *token)
{
    if (token != NULL) {
        att_p11_ref(token);
    }
    att_p11_release(kr->signing_token);
    kr->signing_token = token;
}

att_err att_keyring_use_signing_token(struct att_keyring *kr, const char *uri, char *msg, size_t n)
{
    struct att_p11 *token = NULL;
    ATT_TRY(att_p11_open(uri, ATT_P11_SESSION, &token, msg, n));
    att_keyring_set_signing_token(kr, token);
    att_p11_release(token); /* the keyring holds its own reference */
    return ATT_OK;
}

struct att_p11 *att_keyring_signing_token(const struct att_keyring *kr)
{
    return kr->signing_token;
}

/* ---- cache (caller holds kr->mu) ----------------------------------------- */

static const struct cached_dek *cache_find(const struct att_keyring *kr, const char *id)
{
    for (size_t i = 0; i < kr->n; i++) {
        if (strcmp(kr->cache[i].id, id) == 0) {
            return &kr->cache[i];
        }
    }
    return NULL;
}

/* A full cache is not an error: the key is then unwrapped again next time. */
static void cache_add(struct att_keyring *kr, const char *id, const struct dek_key *key)
{
    if (kr->n >= CACHE_CAP || strlen(id) > ATT_DEK_ID_LEN) {
        return;
    }
    struct cached_dek *c = &kr->cache[kr->n++];
    (void)snprintf(c->id, sizeof(c->id), "%s", id);
    c->key = *key;
}

/* Unwrap a stored DEK record with our KEK. */
static att_err unwrap_rec(const struct att_kek *kek, const struct att_dek_rec *d,
                          struct dek_key *key)
{
    /* Ids are public fingerprints, so a plain comparison (and logging them) is
     * fine. Checking first turns "wrong key file" into a clear error instead
     * of SEAL_AUTH. */
    if (strcmp(d->kek_id, kek->id) != 0) {
        att_log(ATT_LOG_WARN, "seal: data key is wrapped by another key-encryption key", "dek_id",
                json_string(d->id), "dek_kek_id", json_string(d->kek_id), "loaded_kek_id",
                json_string(kek->id), NULL);
        return ATT_ERR_KEK_MISMATCH;
    }
    return att_dek_unwrap(kek, d->id, d->wrapped.data, d->wrapped.len, key->b);
}

/* Find DEK `id` in the cache or the store; copy it to *key. Caller holds kr->mu. */
static att_err get_dek(struct att_keyring *kr, const char *id, struct dek_key *key)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_dek_rec d;
    struct dek_key k;

    const struct cached_dek *c = cache_find(kr, id);
    if (c != NULL) {
        *key = c->key;
        return ATT_OK;
    }
    att_dek_rec_init(&d);
    ATT_GUARD(att_store_dek_get(kr->store, id, &d));
    ATT_GUARD(unwrap_rec(&kr->kek, &d, &k));
    cache_add(kr, id, &k);
    *key = k;
    rc = ATT_OK;
out:
    att_wipe(&k, sizeof(k));
    att_dek_rec_cleanup(&d);
    return rc;
}

/* Make, wrap and store a new active DEK. */
static att_err create_dek(struct att_keyring *kr, char id[ATT_DEK_ID_LEN + 1], struct dek_key *key)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_dek_rec d;
    struct att_buf hex;
    uint8_t raw_id[DEK_ID_RAW];
    struct dek_key k;

    att_dek_rec_init(&d);
    att_buf_init(&hex, 2 * DEK_ID_RAW);
    ATT_CHECK(RAND_bytes(raw_id, sizeof(raw_id)) == 1, ATT_ERR_CRYPTO);
    ATT_CHECK(RAND_bytes(k.b, sizeof(k.b)) == 1, ATT_ERR_CRYPTO);
    ATT_GUARD(att_hex_encode(raw_id, sizeof(raw_id), &hex));
    (void)snprintf(d.id, sizeof(d.id), "%s", att_buf_cstr(&hex));
    (void)snprintf(d.kek_id, sizeof(d.kek_id), "%s", kr->kek.id);
    d.active = true;
    d.created_at = att_time_now();
    ATT_GUARD(att_dek_wrap(&kr->kek, d.id, k.b, &d.wrapped));
    ATT_GUARD(att_store_dek_insert(kr->store, &d));
    (void)snprintf(id, ATT_DEK_ID_LEN + 1, "%s", d.id);
    *key = k;
    rc = ATT_OK;
out:
    att_wipe(&k, sizeof(k));
    att_buf_cleanup(&hex);
    att_dek_rec_cleanup(&d);
    return rc;
}

/*
 * The DEK new values are sealed under: remembered after the first lookup.
 * Another node may create its own active DEK concurrently; that is harmless,
 * because every blob names the DEK that sealed it.
 */
static att_err active_dek(struct att_keyring *kr, char id[ATT_DEK_ID_LEN + 1], struct dek_key *key)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_dek_rec d;
    struct dek_key k;

    att_dek_rec_init(&d);
    if (kr->active_id[0] != '\0') {
        ATT_GUARD(get_dek(kr, kr->active_id, key));
        (void)snprintf(id, ATT_DEK_ID_LEN + 1, "%s", kr->active_id);
        rc = ATT_OK;
        goto out;
    }
    rc = att_store_dek_get_active(kr->store, &d);
    if (rc == ATT_ERR_NOT_FOUND) {
        ATT_GUARD(create_dek(kr, kr->active_id, &k));
    } else {
        ATT_GUARD(rc);
        ATT_GUARD(unwrap_rec(&kr->kek, &d, &k));
        (void)snprintf(kr->active_id, sizeof(kr->active_id), "%s", d.id);
    }
    cache_add(kr, kr->active_id, &k);
    (void)snprintf(id, ATT_DEK_ID_LEN + 1, "%s", kr->active_id);
    *key = k;
    rc = ATT_OK;
out:
    att_wipe(&k, sizeof(k));
    att_dek_rec_cleanup(&d);
    return rc;
}

/* ---- public -------------------------------------------------------------- */

/* What a remote keyring may seal and open: policy texts (keyd.h). */
#define REMOTE_TABLE "policy_versions"

att_err att_keyring_seal(struct att_keyring *kr, const char *table, const char *record_id,
                         const void *pt, size_t len, struct att_buf *out)
{
    ATT_ENSURE(kr != NULL && out != NULL, ATT_ERR_ARG);
    if (kr->is_remote) {
        ATT_ENSURE(strcmp(table, REMOTE_TABLE) == 0, ATT_ERR_STATE);
        return kr->remote.seal(kr->remote.arg, record_id, pt, len, out);
    }
    char id[ATT_DEK_ID_LEN + 1];
    struct dek_key key;

    ATT_ENSURE(pthread_mutex_lock(&kr->mu) == 0, ATT_ERR_INTERNAL);
    att_err rc = active_dek(kr, id, &key);
    (void)pthread_mutex_unlock(&kr->mu);
    if (rc == ATT_OK) {
        rc = att_seal(key.b, id, table, record_id, pt, len, out);
    }
    att_wipe(&key, sizeof(key));
    return rc;
}

att_err att_keyring_open(struct att_keyring *kr, const char *table, const char *record_id,
                         const uint8_t *blob, size_t len, struct att_buf *out)
{
    ATT_ENSURE(kr != NULL && out != NULL, ATT_ERR_ARG);
    if (kr->is_remote) {
        ATT_ENSURE(strcmp(table, REMOTE_TABLE) == 0, ATT_ERR_STATE);
        return kr->remote.open(kr->remote.arg, record_id, blob, len, out);
    }
    char id[ATT_DEK_ID_LEN + 1];
    struct dek_key key;

    ATT_TRY(att_seal_dek_id(blob, len, id));
    ATT_ENSURE(pthread_mutex_lock(&kr->mu) == 0, ATT_ERR_INTERNAL);
    att_err rc = get_dek(kr, id, &key);
    (void)pthread_mutex_unlock(&kr->mu);
    if (rc == ATT_OK) {
        rc = att_open(key.b, table, record_id, blob, len, out);
    }
    att_wipe(&key, sizeof(key));
    return rc;
}

/* ---- KEK rotation -------------------------------------------------------- */

/* Every DEK record, collected first so no statement is open while we update. */
struct dek_list {
    struct att_dek_rec *v;
    size_t n;
    size_t cap;
};

static att_err collect_dek(const struct att_dek_rec *d, void *arg)
{
    struct dek_list *l = arg;
    ATT_ENSURE(l->n < ROTATE_MAX, ATT_ERR_TOO_LARGE);
    if (l->n == l->cap) {
        size_t cap = l->cap > 0 ? l->cap * 2 : 16;
        struct att_dek_rec *v = realloc(l->v, cap * sizeof(*v));
        ATT_ENSURE(v != NULL, ATT_ERR_NOMEM);
        l->v = v;
        l->cap = cap;
    }
    struct att_dek_rec *c = &l->v[l->n];
    att_dek_rec_init(c);
    l->n++;
    (void)snprintf(c->id, sizeof(c->id), "%s", d->id);
    (void)snprintf(c->kek_id, sizeof(c->kek_id), "%s", d->kek_id);
    c->active = d->active;
    c->created_at = d->created_at;
    return att_buf_put(&c->wrapped, d->wrapped.data, d->wrapped.len);
}

static att_err rewrap_one(struct att_store *store, const struct att_kek *old_kek,
                          const struct att_kek *new_kek, const struct att_dek_rec *d)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct dek_key k;
    struct att_buf wrapped;

    att_buf_init(&wrapped, ATT_STORE_BLOB_MAX);
    ATT_GUARD(unwrap_rec(old_kek, d, &k));
    ATT_GUARD(att_dek_wrap(new_kek, d->id, k.b, &wrapped));
    ATT_GUARD(att_store_dek_rewrap(store, d->id, new_kek->id, wrapped.data, wrapped.len));
    rc = ATT_OK;
out:
    att_wipe(&k, sizeof(k));
    att_buf_cleanup(&wrapped);
    return rc;
}

att_err att_keyring_rotate_kek(struct att_store *store, const struct att_kek *old_kek,
                               const struct att_kek *new_kek, size_t *count)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct dek_list l = {NULL, 0, 0};
    struct att_store *tx = NULL;

    ATT_CHECK(store != NULL && old_kek != NULL && new_kek != NULL && count != NULL, ATT_ERR_ARG);
    ATT_GUARD(att_store_begin(store, &tx));
    ATT_GUARD(att_store_dek_list(tx, collect_dek, &l));
    for (size_t i = 0; i < l.n; i++) {
        ATT_GUARD(rewrap_one(tx, old_kek, new_kek, &l.v[i]));
    }
    rc = att_store_commit(tx);
    tx = NULL; /* ended either way */
    ATT_GUARD(rc);
    *count = l.n;
    rc = ATT_OK;
out:
    if (tx != NULL) {
        att_ignore_err(att_store_rollback(tx));
    }
    for (size_t i = 0; i < l.n; i++) {
        att_dek_rec_cleanup(&l.v[i]);
    }
    free(l.v);
    return rc;
}
