/*
 * assertion.c - private_key_jwt client assertions (see assertion.h).
 *
 * Input: client_assertion values from any network caller, untrusted. The compact JWS is
 * split and decoded by src/token/jws.c only (bounded reader, duplicate header keys refused);
 * the payload is JSON read by jansson with duplicate keys refused. Principals and their
 * certificates come from the store (registered by an operator).
 *
 * Layers, top to bottom: the replay cache (a bounded table behind one mutex, in the style of
 * backoff.c), the pure claim checks, and att_assertion_verify, which coordinates them.
 */
#include "auth/assertion.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rd.h"
#include "token/jwk.h"
#include "token/jws.h"

#define REPLAY_SLOTS_MAX ((size_t)1 << 20)
#define REPLAY_KEY_LEN 32
/* NumericDate values above 9999-12-31T23:59:59Z are refused, so sums cannot overflow. */
#define TIME_MAX ((int64_t)253402300799)

/* =====================================================================
 * Replay cache
 * ===================================================================== */

struct replay_slot {
    uint8_t key[REPLAY_KEY_LEN];                  /* SHA-256(client_id || 0x00 || jti) */
    char client[ATT_ASSERTION_CLIENT_ID_MAX + 1]; /* whose entry (cut) */
    int64_t until;                                /* remembered through this second */
    bool used;
};

struct att_replay {
    pthread_mutex_t lock;
    size_t n;
    size_t per_client;
    struct replay_slot *slots;
};

att_err att_replay_new(size_t slots, size_t per_client, struct att_replay **out)
{
    ATT_ENSURE(out != NULL && slots > 0 && slots <= REPLAY_SLOTS_MAX, ATT_ERR_ARG);
    ATT_ENSURE(per_client > 0 && per_client <= slots, ATT_ERR_ARG);
    struct att_replay *r = calloc(1, sizeof(*r));
    ATT_ENSURE(r != NULL, ATT_ERR_NOMEM);
    r->slots = calloc(slots, sizeof(r->slots[0]));
    if (r->slots == NULL) {
        free(r);
        return ATT_ERR_NOMEM;
    }
    r->n = slots;
    r->per_client = per_client;
    pthread_mutex_init(&r->lock, NULL);
    *out = r;
    return ATT_OK;
}

void att_replay_free(struct att_replay *r)
{
    if (r != NULL) {
        pthread_mutex_destroy(&r->lock);
        free(r->slots);
        free(r);
    }
}

/* The client id ends at its NUL, so no (client, jti) pair hashes like another. */
static att_err replay_key(const char *client_id, const uint8_t *jti, size_t jti_len,
                          uint8_t out[REPLAY_KEY_LEN])
{
    att_err rc = ATT_ERR_CRYPTO;
    unsigned int n = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ATT_CHECK(md != NULL, ATT_ERR_NOMEM);
    ATT_CHECK(EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
                  EVP_DigestUpdate(md, client_id, strlen(client_id) + 1) == 1 &&
                  EVP_DigestUpdate(md, jti, jti_len) == 1 && EVP_DigestFinal_ex(md, out, &n) == 1 &&
                  n == REPLAY_KEY_LEN,
              ATT_ERR_CRYPTO);
    rc = ATT_OK;
out:
    EVP_MD_CTX_free(md);
    return rc;
}

att_err att_replay_use(struct att_replay *r, const char *client_id, const uint8_t *jti,
                       size_t jti_len, int64_t until, int64_t now)
{
    uint8_t key[REPLAY_KEY_LEN];
    char client[ATT_ASSERTION_CLIENT_ID_MAX + 1];
    ATT_ENSURE(r != NULL && client_id != NULL && (jti != NULL || jti_len == 0), ATT_ERR_ARG);
    ATT_TRY(replay_key(client_id, jti, jti_len, key));
    snprintf(client, sizeof(client), "%s", client_id);

    att_err rc = ATT_OK;
    size_t held = 0; /* unexpired entries of this client */
    struct replay_slot *free_slot = NULL;
    struct replay_slot *expired = NULL; /* the one that expired first */
    pthread_mutex_lock(&r->lock);
    /*
     * One pass finds a replay, the client's share, a free slot and the oldest expired entry;
     * the table is small.
     */
    for (size_t i = 0; i < r->n; i++) {
        struct replay_slot *s = &r->slots[i];
        if (!s->used) {
            free_slot = free_slot != NULL ? free_slot : s;
        } else if (s->until < now) {
            expired = expired == NULL || s->until < expired->until ? s : expired;
        } else if (memcmp(s->key, key, sizeof(key)) == 0) {
            rc = ATT_ERR_TOKEN_REPLAY;
            break;
        } else if (strcmp(s->client, client) == 0) {
            held++;
        }
    }
    struct replay_slot *slot = free_slot != NULL ? free_slot : expired;
    /* Every entry may still be replayed: forgetting one would let it through. */
    if (rc == ATT_OK && held >= r->per_client) {
        rc = ATT_ERR_REPLAY_CLIENT_QUOTA;
    } else if (rc == ATT_OK && slot == NULL) {
        rc = ATT_ERR_REPLAY_CACHE_FULL;
    }
    if (rc == ATT_OK) {
        memcpy(slot->key, key, sizeof(key));
        memcpy(slot->client, client, sizeof(client));
        slot->until = until;
        slot->used = true;
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

/* =====================================================================
 * Claims (pure)
 * ===================================================================== */

/* Is `v` a JSON string equal to `want`, byte for byte (an embedded NUL never matches)? */
static bool str_is(const json_t *v, const char *want)
{
    const char *s = json_string_value(v);
    return s != NULL && json_string_length(v) == strlen(want) && strcmp(s, want) == 0;
}

/*
 * RFC 7519 §4.1.3: "each principal intended to process the JWT MUST identify itself with a
 * value in the audience claim"; "the "aud" value is an array of case-sensitive strings" or
 * "a single case-sensitive string".
 */
static att_err check_audience(const json_t *aud, const char *issuer, const char *endpoint)
{
    ATT_ENSURE(aud != NULL, ATT_ERR_TOKEN_AUDIENCE);
    if (json_is_string(aud)) {
        ATT_ENSURE(str_is(aud, endpoint) || str_is(aud, issuer), ATT_ERR_TOKEN_AUDIENCE);
        return ATT_OK;
    }
    ATT_ENSURE(json_is_array(aud), ATT_ERR_TOKEN_CLAIMS);
    bool hit = false;
    for (size_t i = 0; i < json_array_size(aud); i++) {
        const json_t *item = json_array_get(aud, i);
        ATT_ENSURE(json_is_string(item), ATT_ERR_TOKEN_CLAIMS);
        hit = hit || str_is(item, endpoint) || str_is(item, issuer);
    }
    ATT_ENSURE(hit, ATT_ERR_TOKEN_AUDIENCE);
    return ATT_OK;
}

/* An optional NumericDate (RFC 7519 §2), integers only, 0..TIME_MAX. */
static att_err time_claim(const json_t *claims, const char *name, bool *present, int64_t *out)
{
    const json_t *v = json_object_get(claims, name);
    *present = v != NULL;
    if (v == NULL) {
        return ATT_OK;
    }
    ATT_ENSURE(json_is_integer(v), ATT_ERR_TOKEN_CLAIMS);
    json_int_t t = json_integer_value(v);
    ATT_ENSURE(t >= 0 && t <= TIME_MAX, ATT_ERR_TOKEN_CLAIMS);
    *out = (int64_t)t;
    return ATT_OK;
}

/*
 * RFC 7523 §3 item 4: "The JWT MUST contain an "exp" (expiration time) claim that limits the
 * time window during which the JWT can be used." Items 5 and 6: "nbf" and "iat" are
 * optional. The lifetime counts from "iat", else "nbf", else now.
 */
static att_err check_times(const json_t *claims, int64_t now, int64_t *exp_out)
{
    int64_t exp = 0;
    int64_t nbf = 0;
    int64_t iat = 0;
    bool has_exp = false;
    bool has_nbf = false;
    bool has_iat = false;
    ATT_ENSURE(now >= 0 && now <= TIME_MAX, ATT_ERR_ARG);
    ATT_TRY(time_claim(claims, "exp", &has_exp, &exp));
    ATT_TRY(time_claim(claims, "nbf", &has_nbf, &nbf));
    ATT_TRY(time_claim(claims, "iat", &has_iat, &iat));
    ATT_ENSURE(has_exp, ATT_ERR_TOKEN_CLAIMS);
    ATT_ENSURE(now <= exp + ATT_ASSERTION_LEEWAY, ATT_ERR_TOKEN_EXPIRED);
    ATT_ENSURE(!has_nbf || nbf <= now + ATT_ASSERTION_LEEWAY, ATT_ERR_TOKEN_NOT_YET_VALID);
    ATT_ENSURE(!has_iat || iat <= now + ATT_ASSERTION_LEEWAY, ATT_ERR_TOKEN_NOT_YET_VALID);
    if (has_iat || has_nbf) {
        int64_t start = has_iat ? iat : nbf;
        ATT_ENSURE(exp > start && exp - start <= ATT_ASSERTION_MAX_LIFETIME,
                   ATT_ERR_TOKEN_LIFETIME);
    } else {
        ATT_ENSURE(exp - now <= ATT_ASSERTION_MAX_LIFETIME, ATT_ERR_TOKEN_LIFETIME);
    }
    *exp_out = exp;
    return ATT_OK;
}

att_err att_assertion_check_claims(const uint8_t *payload, size_t len, const char *client_id,
                                   const char *issuer, const char *token_endpoint, int64_t now,
                                   struct att_assertion_claims *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    json_t *claims = NULL;
    json_error_t jerr;
    struct att_assertion_claims c;

    memset(&c, 0, sizeof(c));
    ATT_CHECK((payload != NULL || len == 0) && client_id != NULL && issuer != NULL &&
                  token_endpoint != NULL && out != NULL,
              ATT_ERR_ARG);
    ATT_CHECK(len <= ATT_ASSERTION_MAX, ATT_ERR_TOO_LARGE);
    claims = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES, &jerr);
    ATT_CHECK(json_is_object(claims), ATT_ERR_JSON);
    /* RFC 7523 §3 item 1, for client authentication: "the "iss" ... MUST be the client_id". */
    ATT_CHECK(str_is(json_object_get(claims, "iss"), client_id), ATT_ERR_TOKEN_ISSUER);
    /* Item 2.B: "For client authentication, the subject MUST be the "client_id"". */
    ATT_CHECK(str_is(json_object_get(claims, "sub"), client_id), ATT_ERR_TOKEN_SUBJECT);
    ATT_GUARD(check_audience(json_object_get(claims, "aud"), issuer, token_endpoint));
    ATT_GUARD(check_times(claims, now, &c.exp));
    /*
     * Item 7: "The JWT MAY contain a "jti" (JWT ID) claim"; OIDC Core §9 makes it REQUIRED
     * for private_key_jwt and says it "MUST only be used once", which the caller enforces.
     */
    const json_t *jti = json_object_get(claims, "jti");
    ATT_CHECK(json_is_string(jti), ATT_ERR_TOKEN_CLAIMS);
    size_t jti_len = json_string_length(jti);
    ATT_CHECK(jti_len >= 1 && jti_len <= sizeof(c.jti), ATT_ERR_TOKEN_CLAIMS);
    struct att_rd r;
    att_rd_init(&r, json_string_value(jti), jti_len);
    ATT_GUARD(att_rd_copy(&r, c.jti, jti_len));
    c.jti_len = jti_len;
    *out = c;
    rc = ATT_OK;
out:
    json_decref(claims);
    return rc;
}

/* =====================================================================
 * Verification (coordinator)
 * ===================================================================== */

/* The payload of a decoded JWS as a JSON object (duplicate keys refused), or NULL. */
static json_t *payload_object(const struct att_jws *jws)
{
    json_error_t jerr;
    json_t *v = json_loadb((const char *)jws->payload.data, jws->payload.len,
                           JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

/* A usable claimed id: a string of 1..cap-1 bytes without NUL. */
static bool id_fits(const json_t *v, size_t cap)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    return s != NULL && n >= 1 && n < cap && strlen(s) == n;
}

att_err att_assertion_claimed_client(const char *assertion, size_t len,
                                     char out[ATT_ASSERTION_CLIENT_ID_MAX + 1])
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_jws jws = {0};
    json_t *claims = NULL;

    ATT_CHECK(out != NULL, ATT_ERR_ARG);
    ATT_CHECK(len <= ATT_ASSERTION_MAX, ATT_ERR_TOO_LARGE);
    ATT_GUARD(att_jws_decode_unverified(assertion, len, &jws));
    claims = payload_object(&jws);
    ATT_CHECK(claims != NULL, ATT_ERR_JSON);
    const json_t *v = json_object_get(claims, "sub");
    if (!id_fits(v, ATT_ASSERTION_CLIENT_ID_MAX + 1)) {
        v = json_object_get(claims, "iss");
    }
    ATT_CHECK(id_fits(v, ATT_ASSERTION_CLIENT_ID_MAX + 1), ATT_ERR_TOKEN_SUBJECT);
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    rc = ATT_OK;
out:
    json_decref(claims);
    att_jws_cleanup(&jws);
    return rc;
}

/* The header's "alg", before any key is chosen: "none" and unknown names (HMAC) end here. */
static att_err requested_alg(const json_t *header, enum att_jws_alg *out)
{
    const char *name = json_string_value(json_object_get(header, "alg"));
    enum att_jws_alg alg = ATT_JWS_NONE;
    ATT_ENSURE(name != NULL, ATT_ERR_ALG_UNSUPPORTED);
    ATT_TRY(att_jws_alg_parse(name, &alg));
    ATT_ENSURE(alg != ATT_JWS_NONE, ATT_ERR_ALG_NONE);
    *out = alg;
    return ATT_OK;
}

/*
 * Everything that can be checked without a key or the store: the compact JWS, the algorithm
 * asked for, a signature at all (RFC 7515 appendix A.5: an unsecured JWS has an empty one;
 * with a real "alg" named it is just as unsigned), no "crit" (RFC 7515 §4.1.11), a JSON object as
 * payload, and "iss", "sub" and the client_id parameter naming one client. These claims are
 * unverified; they only choose the key, and are checked again on the verified payload. On
 * success *peek and *claims belong to the caller.
 */
static att_err parse_unverified(const char *assertion, size_t len, const char *client_id,
                                struct att_jws *peek, enum att_jws_alg *requested, json_t **claims)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_buf sig;
    json_t *c = NULL;

    att_buf_init(&sig, ATT_ASSERTION_MAX);
    ATT_CHECK(len <= ATT_ASSERTION_MAX, ATT_ERR_TOO_LARGE);
    ATT_GUARD(att_jws_decode_unverified_flags(assertion, len, 0, peek, &sig));
    ATT_GUARD(requested_alg(peek->header, requested));
    ATT_CHECK(sig.len > 0, ATT_ERR_SIGNATURE);
    ATT_CHECK(json_object_get(peek->header, "crit") == NULL, ATT_ERR_JWS_CRIT);
    c = payload_object(peek);
    ATT_CHECK(c != NULL, ATT_ERR_JSON);
    const json_t *sub = json_object_get(c, "sub");
    const char *sub_text = json_string_value(sub);
    ATT_CHECK(sub_text != NULL, ATT_ERR_TOKEN_SUBJECT);
    ATT_CHECK(str_is(json_object_get(c, "iss"), sub_text), ATT_ERR_TOKEN_ISSUER);
    /* RFC 7521 §4.2: a client_id parameter, when present, identifies the same client. */
    ATT_CHECK(client_id == NULL || str_is(sub, client_id), ATT_ERR_TOKEN_SUBJECT);
    *claims = c;
    c = NULL;
    rc = ATT_OK;
out:
    json_decref(c);
    att_buf_cleanup(&sig);
    if (rc != ATT_OK) {
        att_jws_cleanup(peek);
    }
    return rc;
}

att_err att_assertion_precheck(const char *assertion, size_t len, const char *client_id,
                               char out[ATT_ASSERTION_CLIENT_ID_MAX + 1])
{
    struct att_jws peek = {0};
    json_t *claims = NULL;
    enum att_jws_alg requested = ATT_JWS_NONE;

    ATT_ENSURE(out != NULL && (assertion != NULL || len == 0), ATT_ERR_ARG);
    ATT_TRY(parse_unverified(assertion, len, client_id, &peek, &requested, &claims));
    const json_t *sub = json_object_get(claims, "sub");
    /* A value that cannot be a client id names no client. */
    att_err rc = id_fits(sub, ATT_ASSERTION_CLIENT_ID_MAX + 1) ? ATT_OK : ATT_ERR_CREDENTIALS;
    if (rc == ATT_OK) {
        memcpy(out, json_string_value(sub), json_string_length(sub) + 1);
    }
    json_decref(claims);
    att_jws_cleanup(&peek);
    return rc;
}

/*
 * RFC 8725 §3.1: the key decides the algorithm. An RSA key verifies RS256 or PS256 (the
 * client may use either padding); a P-256 key only ES256, a P-384 key only ES384.
 */
static att_err pin_alg(EVP_PKEY *key, enum att_jws_alg requested, enum att_jws_alg *out)
{
    enum att_jws_alg alg = ATT_JWS_NONE;
    ATT_TRY(att_jws_alg_for_key(key, &alg));
    if (alg == ATT_JWS_RS256 && requested == ATT_JWS_PS256) {
        alg = ATT_JWS_PS256;
    }
    ATT_ENSURE(requested == alg, ATT_ERR_ALG_MISMATCH);
    *out = alg;
    return ATT_OK;
}

/* The principal the (unverified, consistent) claims name, with a certificate. */
static att_err find_client(const struct att_assertion_ctx *ctx, const json_t *claims,
                           struct att_principal_rec *p)
{
    const json_t *sub = json_object_get(claims, "sub");
    /* A value that cannot be a principal id names no principal. */
    ATT_ENSURE(id_fits(sub, sizeof(p->id)), ATT_ERR_CREDENTIALS);
    att_err rc = att_store_principal_get(ctx->store, json_string_value(sub), p);
    ATT_ENSURE(rc != ATT_ERR_NOT_FOUND, ATT_ERR_CREDENTIALS);
    ATT_TRY(rc);
    ATT_ENSURE(p->cert_der_len > 0, ATT_ERR_NO_CLIENT_CERT);
    return ATT_OK;
}

att_err att_assertion_verify(const struct att_assertion_ctx *ctx, const char *assertion, size_t len,
                             const char *client_id, int64_t now, struct att_principal_rec *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_jws peek = {0};
    struct att_jws jws = {0};
    json_t *unverified = NULL;
    EVP_PKEY *key = NULL;
    enum att_jws_alg requested = ATT_JWS_NONE;
    enum att_jws_alg pinned = ATT_JWS_NONE;
    struct att_principal_rec p;
    struct att_assertion_claims c;

    ATT_CHECK(ctx != NULL && ctx->store != NULL && ctx->replay != NULL && ctx->issuer != NULL &&
                  ctx->token_endpoint != NULL && out != NULL,
              ATT_ERR_ARG);
    ATT_CHECK(assertion != NULL || len == 0, ATT_ERR_ARG);

    /* Parse, unverified: the algorithm asked for and the client, to find the key. */
    ATT_GUARD(parse_unverified(assertion, len, client_id, &peek, &requested, &unverified));
    ATT_GUARD(find_client(ctx, unverified, &p));

    /* Verify with the registered certificate's key and the algorithm pinned to it. */
    ATT_GUARD(att_jwk_cert_pubkey(p.cert_der, p.cert_der_len, &key));
    ATT_GUARD(pin_alg(key, requested, &pinned));
    ATT_GUARD(att_jws_verify(assertion, len, key, pinned, &jws));

    /* Validate the signed claims; a disabled principal is told so only now. */
    ATT_GUARD(att_assertion_check_claims(jws.payload.data, jws.payload.len, p.id, ctx->issuer,
                                         ctx->token_endpoint, now, &c));
    ATT_CHECK(!p.disabled, ATT_ERR_PRINCIPAL_DISABLED);

    /* Last, so a refused assertion does not use up its jti: remembered while it could pass. */
    ATT_GUARD(
        att_replay_use(ctx->replay, p.id, c.jti, c.jti_len, c.exp + ATT_ASSERTION_LEEWAY, now));
    *out = p;
    rc = ATT_OK;
out:
    EVP_PKEY_free(key);
    json_decref(unverified);
    att_jws_cleanup(&peek);
    att_jws_cleanup(&jws);
    return rc;
}
