/*
 * principal.c - service principals: creation, secret rotation and client authentication.
 *
 * Input trust: client ids and secrets come from the network (untrusted); names, lifetimes
 * and secret ids come from an operator; records come from the store. Secrets are never
 * logged or kept: nothing here logs at all, the callers log the decisions.
 *
 * Timing: a well-formed client id costs ATT_PRINCIPAL_MAX_ACTIVE_SECRETS (two) scrypt runs
 * whether it names a principal with one secret, one with two, or nobody (att_secret_burn
 * makes up the difference), so timing tells neither which ids exist nor how many secrets a
 * principal has. A principal with expired-but-unrevoked secrets beyond that costs one more run
 * per such secret (capped at MAX_TRIED). An id that is not a UUID is refused at once: no
 * principal can have one (we issue only UUIDs, a public format), so that reveals nothing.
 */
#include "auth/principal.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "core/buf.h"
#include "core/codec.h"
#include "core/mem.h"

#define UUID_LEN 36
#define UUID_RAW 16
#define SECRET_ID_RAW 16
/* Most secrets one authentication tries: 2 active plus a few expired, unrevoked ones. */
#define MAX_TRIED 8

void att_new_secret_wipe(struct att_new_secret *s)
{
    if (s != NULL) {
        att_wipe(s, sizeof(*s));
    }
}

att_err att_principal_name_check(const char *name)
{
    ATT_ENSURE(name != NULL, ATT_ERR_ARG);
    size_t n = strnlen(name, ATT_PRINCIPAL_NAME_MAX + 1);
    ATT_ENSURE(n >= 1 && n <= ATT_PRINCIPAL_NAME_MAX, ATT_ERR_ARG);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        bool punct = c == '.' || c == '_' || c == '-';
        ATT_ENSURE(alnum || (punct && i > 0), ATT_ERR_ARG);
    }
    return ATT_OK;
}

/* ---- identifiers ---- */

static bool is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* RFC 9562 §4: 8-4-4-4-12 hex digits; we issue and accept lowercase only. */
bool att_principal_id_well_formed(const char *s)
{
    if (s == NULL || strnlen(s, UUID_LEN + 1) != UUID_LEN) {
        return false;
    }
    for (size_t i = 0; i < UUID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_lower_hex(s[i])) {
            return false;
        }
    }
    return true;
}

/*
 * RFC 9562 §5.4: "UUIDv4 is meant for generating UUIDs from truly random or pseudorandom
 * numbers." The version (0b0100) goes in the high nibble of octet 6 and the variant (0b10)
 * in the high bits of octet 8 (§4.1, §4.2); the other 122 bits are random.
 */
static att_err new_uuid(char out[UUID_LEN + 1])
{
    att_err rc = ATT_ERR_INTERNAL;
    uint8_t raw[UUID_RAW];
    struct att_buf hex;

    att_buf_init(&hex, 2 * UUID_RAW);
    ATT_CHECK(RAND_bytes(raw, sizeof(raw)) == 1, ATT_ERR_CRYPTO);
    raw[6] = (uint8_t)((raw[6] & 0x0f) | 0x40);
    raw[8] = (uint8_t)((raw[8] & 0x3f) | 0x80);
    ATT_GUARD(att_hex_encode(raw, sizeof(raw), &hex));
    ATT_CHECK(hex.len == 2 * UUID_RAW, ATT_ERR_INTERNAL);
    const char *h = att_buf_cstr(&hex);
    (void)snprintf(out, UUID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16,
                   h + 20);
    rc = ATT_OK;
out:
    att_buf_cleanup(&hex);
    return rc;
}

static att_err new_secret_id(char out[33])
{
    att_err rc = ATT_ERR_INTERNAL;
    uint8_t raw[SECRET_ID_RAW];
    struct att_buf hex;

    att_buf_init(&hex, 2 * SECRET_ID_RAW);
    ATT_CHECK(RAND_bytes(raw, sizeof(raw)) == 1, ATT_ERR_CRYPTO);
    ATT_GUARD(att_hex_encode(raw, sizeof(raw), &hex));
    (void)snprintf(out, 33, "%s", att_buf_cstr(&hex));
    rc = ATT_OK;
out:
    att_buf_cleanup(&hex);
    return rc;
}

/* ---- secrets ---- */

static bool secret_expired(const struct att_secret_rec *s, int64_t now)
{
    return s->expires_at != 0 && s->expires_at <= now;
}

static bool secret_active(const struct att_secret_rec *s, int64_t now)
{
    return s->revoked_at == 0 && !secret_expired(s, now);
}

/*
 * A new secret for `principal_id`: the text for the operator in *shown, the record (hash
 * only) in *rec. The slow hash happens here, before any transaction is opened.
 */
static att_err make_secret(const char *principal_id, int64_t now, int64_t lifetime,
                           struct att_secret_rec *rec, struct att_new_secret *shown)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_new_secret ns;
    struct att_secret_rec r;

    memset(&r, 0, sizeof(r));
    memset(&ns, 0, sizeof(ns));
    ATT_CHECK(now > 0 && lifetime >= 0 && lifetime <= INT64_MAX - now, ATT_ERR_ARG);
    ATT_GUARD(new_secret_id(ns.id));
    ATT_GUARD(att_secret_generate(ns.secret));
    ns.expires_at = lifetime == 0 ? 0 : now + lifetime;
    ATT_GUARD(att_secret_hash(ns.secret, ATT_SECRET_TEXT_LEN, r.hash, sizeof(r.hash)));
    (void)snprintf(r.id, sizeof(r.id), "%s", ns.id);
    (void)snprintf(r.principal_id, sizeof(r.principal_id), "%s", principal_id);
    r.created_at = now;
    r.expires_at = ns.expires_at;
    r.revoked_at = 0;
    *rec = r;
    *shown = ns;
    rc = ATT_OK;
out:
    att_new_secret_wipe(&ns);
    return rc;
}

/* The unrevoked secrets of one principal, at most MAX_TRIED, active ones kept first. */
struct secret_set {
    struct att_secret_rec items[MAX_TRIED];
    size_t n;
    size_t active;
    int64_t now;
};

static att_err collect_secret(const struct att_secret_rec *s, void *arg)
{
    struct secret_set *set = arg;

    if (s->revoked_at != 0) {
        return ATT_OK;
    }
    bool active = !secret_expired(s, set->now);
    if (active) {
        set->active++;
    }
    if (set->n < MAX_TRIED) {
        set->items[set->n++] = *s;
        return ATT_OK;
    }
    /* Full: an active secret displaces an expired one, so it is always tried. */
    for (size_t i = 0; active && i < set->n; i++) {
        if (secret_expired(&set->items[i], set->now)) {
            set->items[i] = *s;
            break;
        }
    }
    return ATT_OK;
}

static att_err load_secrets(struct att_store *store, const char *principal_id, int64_t now,
                            struct secret_set *set)
{
    memset(set, 0, sizeof(*set));
    set->now = now;
    return att_store_secret_list(store, principal_id, collect_secret, set);
}

/* ---- operations ---- */

att_err att_principal_create(struct att_store *store, const char *name, int64_t now,
                             int64_t lifetime, struct att_principal_rec *out,
                             struct att_new_secret *secret)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_principal_rec p;
    struct att_secret_rec rec;
    struct att_new_secret ns;
    struct att_store *tx = NULL;

    memset(&p, 0, sizeof(p));
    memset(&ns, 0, sizeof(ns));
    ATT_CHECK(store != NULL && out != NULL && secret != NULL, ATT_ERR_ARG);
    ATT_GUARD(att_principal_name_check(name));
    ATT_GUARD(new_uuid(p.id));
    (void)snprintf(p.name, sizeof(p.name), "%s", name);
    p.disabled = false;
    p.created_at = now;
    ATT_GUARD(make_secret(p.id, now, lifetime, &rec, &ns));

    /* The principal and its first secret stand or fall together. */
    ATT_GUARD(att_store_begin(store, &tx));
    ATT_GUARD(att_store_principal_insert(tx, &p));
    ATT_GUARD(att_store_secret_insert(tx, &rec));
    rc = att_store_commit(tx);
    tx = NULL; /* ended either way */
    ATT_GUARD(rc);
    *out = p;
    *secret = ns;
    rc = ATT_OK;
out:
    if (tx != NULL) {
        /* The first error is the one reported; a failed rollback ends the transaction too. */
        att_ignore_err(att_store_rollback(tx));
    }
    att_new_secret_wipe(&ns);
    return rc;
}

att_err att_principal_secret_add(struct att_store *store, const char *principal_id, int64_t now,
                                 int64_t lifetime, struct att_new_secret *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_principal_rec p;
    struct att_secret_rec rec;
    struct att_new_secret ns;
    struct secret_set set;

    memset(&ns, 0, sizeof(ns));
    ATT_CHECK(store != NULL && principal_id != NULL && out != NULL, ATT_ERR_ARG);
    ATT_GUARD(att_store_principal_get(store, principal_id, &p));
    ATT_GUARD(load_secrets(store, p.id, now, &set));
    ATT_CHECK(set.active < ATT_PRINCIPAL_MAX_ACTIVE_SECRETS, ATT_ERR_STATE);
    ATT_GUARD(make_secret(p.id, now, lifetime, &rec, &ns));
    ATT_GUARD(att_store_secret_insert(store, &rec));
    *out = ns;
    rc = ATT_OK;
out:
    att_new_secret_wipe(&ns);
    return rc;
}

/* Finds one unrevoked secret of the principal by id (ids are compared openly: not secret). */
struct secret_find {
    const char *id;
    bool found;
};

static att_err find_secret(const struct att_secret_rec *s, void *arg)
{
    struct secret_find *f = arg;

    if (s->revoked_at == 0 && strcmp(s->id, f->id) == 0) {
        f->found = true;
    }
    return ATT_OK;
}

att_err att_principal_secret_revoke(struct att_store *store, const char *principal_id,
                                    const char *secret_id, int64_t now)
{
    struct secret_find f = {secret_id, false};

    ATT_ENSURE(store != NULL && principal_id != NULL && secret_id != NULL, ATT_ERR_ARG);
    /* revoked_at = 0 means "not revoked", so a revocation needs a real time. */
    ATT_ENSURE(now > 0, ATT_ERR_ARG);
    /* Expired secrets may be revoked too: that stops them being tried at all. */
    ATT_TRY(att_store_secret_list(store, principal_id, find_secret, &f));
    ATT_ENSURE(f.found, ATT_ERR_NOT_FOUND);
    return att_store_secret_revoke(store, secret_id, now);
}

/* ---- client certificates ---- */

/* RFC 5280 §4.1: exactly one Certificate covering all `len` bytes. */
static att_err check_cert_der(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x == NULL) {
        ERR_clear_error();
        return ATT_ERR_PARSE;
    }
    /* OpenSSL keeps the received encoding, so this is the length it consumed. */
    int used = i2d_X509(x, NULL);
    X509_free(x);
    ERR_clear_error();
    ATT_ENSURE(used > 0 && (size_t)used == len, ATT_ERR_TRAILING);
    return ATT_OK;
}

att_err att_principal_set_cert(struct att_store *store, const char *principal_id,
                               const uint8_t *der, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t d[32];
    char sha[65] = "";

    ATT_ENSURE(store != NULL && principal_id != NULL && (der != NULL || len == 0), ATT_ERR_ARG);
    if (len > 0) {
        ATT_ENSURE(len <= ATT_PRINCIPAL_CERT_MAX, ATT_ERR_TOO_LARGE);
        ATT_TRY(check_cert_der(der, len));
        /* The hash of the DER: what X509_digest gives, and what mutual TLS compares. */
        ATT_ENSURE(EVP_Digest(der, len, d, NULL, EVP_sha256(), NULL) == 1, ATT_ERR_CRYPTO);
        for (size_t i = 0; i < sizeof(d); i++) {
            sha[2 * i] = hex[d[i] >> 4];
            sha[2 * i + 1] = hex[d[i] & 15];
        }
        sha[64] = '\0';
    }
    return att_store_principal_set_cert(store, principal_id, sha, der, len);
}

att_err att_principal_record_use(struct att_store *store, struct att_principal_rec *p, int64_t now,
                                 const char *peer)
{
    char from[sizeof(p->last_used_from)];

    ATT_ENSURE(store != NULL && p != NULL, ATT_ERR_ARG);
    (void)snprintf(from, sizeof(from), "%s", peer != NULL ? peer : "");
    ATT_TRY(att_store_principal_touch(store, p->id, now, from));
    p->last_used_at = now;
    (void)snprintf(p->last_used_from, sizeof(p->last_used_from), "%s", from);
    return ATT_OK;
}

/*
 * Spend scrypt runs up to the number a principal with two active secrets costs, so that
 * timing tells neither whether a client id exists nor how many secrets it has (a principal
 * with expired-but-unrevoked secrets beyond that costs one run more per such secret).
 */
static void burn_up_to(const char *secret, size_t len, size_t spent)
{
    for (size_t i = spent; i < ATT_PRINCIPAL_MAX_ACTIVE_SECRETS; i++) {
        att_secret_burn(secret, len);
    }
}

att_err att_principal_authenticate(struct att_store *store, const char *client_id,
                                   const char *secret, size_t secret_len, int64_t now,
                                   const char *peer, struct att_principal_rec *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_principal_rec p;
    struct secret_set set;
    bool matched_active = false;
    bool matched_expired = false;
    att_err stored_err = ATT_OK;

    ATT_CHECK(store != NULL && out != NULL && (secret != NULL || secret_len == 0), ATT_ERR_ARG);
    /* No principal has this id, and the format is public: no time to hide. */
    ATT_CHECK(att_principal_id_well_formed(client_id), ATT_ERR_CREDENTIALS);
    rc = att_store_principal_get(store, client_id, &p);
    if (rc == ATT_ERR_NOT_FOUND) {
        burn_up_to(secret, secret_len, 0);
        rc = ATT_ERR_CREDENTIALS;
        goto out;
    }
    ATT_GUARD(rc);
    ATT_GUARD(load_secrets(store, p.id, now, &set));
    burn_up_to(secret, secret_len, set.n); /* also when every secret is revoked */
    /* Every candidate is tried, so the time spent does not depend on which one matches. */
    for (size_t i = 0; i < set.n; i++) {
        att_err v = att_secret_verify(secret, secret_len, set.items[i].hash);
        if (v == ATT_OK) {
            if (secret_active(&set.items[i], now)) {
                matched_active = true;
            } else {
                matched_expired = true;
            }
        } else if (v != ATT_ERR_CREDENTIALS && stored_err == ATT_OK) {
            stored_err = v; /* a malformed stored hash or a crypto failure */
        }
    }
    if (!matched_active) {
        /*
         * An expired match first: the caller can tell the client to rotate. A bad stored
         * hash next, so a damaged row shows up as such rather than as a wrong secret.
         */
        rc = matched_expired        ? ATT_ERR_SECRET_EXPIRED
             : stored_err != ATT_OK ? stored_err
                                    : ATT_ERR_CREDENTIALS;
        goto out;
    }
    /* Only a caller holding a valid secret learns that the principal is disabled. */
    ATT_CHECK(!p.disabled, ATT_ERR_PRINCIPAL_DISABLED);
    ATT_GUARD(att_principal_record_use(store, &p, now, peer));
    *out = p;
    rc = ATT_OK;
out:
    return rc;
}
