/*
 * access.c - attestd's access tokens: issue and validate (see access.h).
 *
 * Input: bearer tokens from any network caller, untrusted; parsed by src/token/jws.c
 * (bounded reader, duplicate-key refusal) before any claim is read.
 */
#include "auth/access.h"

#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/assertion.h"
#include "seal/keyring.h"
#include "signer/signer.h"
#include "token/claims.h"
#include "token/jwk.h"
#include "token/jws.h"

#define AUTH_TABLE "auth_keys"
#define AUTH_CERT_DAYS 3650

struct att_auth {
    struct att_signer *signer;
    char kid[ATT_KID_MAX + 1];
    EVP_PKEY *pub; /* public half, for verification */
    char issuer[ATT_URL_MAX + 1];
    struct att_replay *replay; /* used private_key_jwt assertion ids */
};

static att_err create_key(struct att_store *store, struct att_keyring *kr, const char *issuer,
                          int64_t now)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_key_rec k;
    att_key_rec_init(&k);
    ATT_GUARD(att_signer_create_sealed(ATT_JWS_ES256, issuer, now, AUTH_CERT_DAYS, kr, AUTH_TABLE,
                                       k.kid, &k.cert_der, &k.sealed_key));
    snprintf(k.alg, sizeof(k.alg), "%s", "ES256");
    k.created_at = now;
    ATT_GUARD(att_store_auth_key_insert(store, &k));
    rc = ATT_OK;
out:
    if (rc != ATT_OK && k.sealed_key.len > 0) { /* a key pair made in a token goes too */
        att_ignore_err(
            att_signer_destroy_sealed(kr, AUTH_TABLE, k.kid, k.sealed_key.data, k.sealed_key.len));
    }
    att_key_rec_cleanup(&k);
    return rc;
}

struct load_ctx {
    struct att_auth *a;
    struct att_keyring *kr;
};

/* The newest key signs; older ones are not kept (tokens live 10 minutes). */
static att_err load_key(const struct att_key_rec *k, void *arg)
{
    struct load_ctx *ctx = arg;
    struct att_auth *a = ctx->a;
    att_err rc = ATT_ERR_INTERNAL;
    att_signer_free(a->signer);
    a->signer = NULL;
    ATT_GUARD(att_signer_new(&a->signer));
    /* The signer checks that the certificate is the sealed key's (ATT_ERR_KEY_MISMATCH). */
    ATT_GUARD(att_signer_add_sealed(a->signer, ctx->kr, AUTH_TABLE, k->kid, ATT_JWS_ES256,
                                    k->sealed_key.data, k->sealed_key.len, k->cert_der.data,
                                    k->cert_der.len));
    EVP_PKEY_free(a->pub);
    a->pub = NULL;
    ATT_GUARD(att_jwk_cert_pubkey(k->cert_der.data, k->cert_der.len, &a->pub));
    snprintf(a->kid, sizeof(a->kid), "%s", k->kid); /* the certificate's: checked above */
    rc = ATT_OK;
out:
    return rc;
}

static att_err count_key(const struct att_key_rec *k, void *arg)
{
    (void)k;
    (*(size_t *)arg)++;
    return ATT_OK;
}

att_err att_auth_new(struct att_store *store, struct att_keyring *kr, const char *issuer,
                     int64_t now, struct att_auth **out)
{
    att_err rc = ATT_ERR_INTERNAL;
    size_t n = 0;
    struct att_auth *a = calloc(1, sizeof(*a));
    ATT_ENSURE(a != NULL, ATT_ERR_NOMEM);
    ATT_CHECK(strlen(issuer) < sizeof(a->issuer), ATT_ERR_ARG);
    memcpy(a->issuer, issuer, strlen(issuer) + 1);
    ATT_GUARD(
        att_replay_new(ATT_ASSERTION_REPLAY_SLOTS, ATT_ASSERTION_REPLAY_PER_CLIENT, &a->replay));
    ATT_GUARD(att_store_auth_key_list(store, count_key, &n));
    if (n == 0) {
        ATT_GUARD(create_key(store, kr, issuer, now));
    }
    struct load_ctx ctx = {a, kr};
    ATT_GUARD(att_store_auth_key_list(store, load_key, &ctx));
    ATT_CHECK(a->kid[0] != 0, ATT_ERR_NOT_FOUND);
    *out = a;
    a = NULL;
    rc = ATT_OK;
out:
    att_auth_free(a);
    return rc;
}

void att_auth_free(struct att_auth *a)
{
    if (a == NULL) {
        return;
    }
    att_signer_free(a->signer);
    EVP_PKEY_free(a->pub);
    att_replay_free(a->replay);
    free(a);
}

struct att_signer *att_auth_signer(const struct att_auth *a)
{
    return a->signer;
}

const char *att_auth_issuer(const struct att_auth *a)
{
    return a->issuer;
}

struct att_replay *att_auth_replay(const struct att_auth *a)
{
    return a->replay;
}

att_err att_auth_issue(const struct att_auth *a, const struct att_principal_rec *p, int64_t now,
                       struct att_buf *token)
{
    att_err rc = ATT_ERR_NOMEM;
    char *payload = NULL;
    json_t *header = json_pack("{s:s}", "typ", "at+jwt");
    json_t *claims = json_pack("{s:s,s:s,s:s,s:s}", "aud", ATT_ACCESS_AUDIENCE, "sub", p->id,
                               "client_id", p->id, "name", p->name);
    ATT_CHECK(header != NULL && claims != NULL, ATT_ERR_NOMEM);
    ATT_GUARD(att_claims_set_registered(claims, a->issuer, now, ATT_ACCESS_LIFETIME));
    payload = json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER);
    ATT_CHECK(payload != NULL, ATT_ERR_NOMEM);
    ATT_GUARD(att_jws_sign(a->signer, a->kid, header, payload, strlen(payload), token));
    rc = ATT_OK;
out:
    free(payload);
    json_decref(header);
    json_decref(claims);
    return rc;
}

att_err att_auth_sign(const struct att_auth *a, const char *typ, const void *payload, size_t len,
                      struct att_buf *out)
{
    json_t *header = json_pack("{s:s}", "typ", typ);
    ATT_ENSURE(header != NULL, ATT_ERR_NOMEM);
    att_err rc = att_jws_sign(a->signer, a->kid, header, payload, len, out);
    json_decref(header);
    return rc;
}

/* RFC 7519 §4.1.4/§4.1.5, RFC 9068 §4: time checks with leeway and a lifetime cap. */
static att_err check_times(json_t *claims, int64_t now)
{
    json_t *exp = json_object_get(claims, "exp");
    json_t *nbf = json_object_get(claims, "nbf");
    json_t *iat = json_object_get(claims, "iat");
    ATT_ENSURE(json_is_integer(exp) && json_is_integer(iat), ATT_ERR_TOKEN_CLAIMS);
    ATT_ENSURE(nbf == NULL || json_is_integer(nbf), ATT_ERR_TOKEN_CLAIMS);
    int64_t e = json_integer_value(exp);
    int64_t i = json_integer_value(iat);
    int64_t n = nbf != NULL ? json_integer_value(nbf) : i;
    ATT_ENSURE(now <= e + ATT_ACCESS_LEEWAY, ATT_ERR_TOKEN_EXPIRED);
    ATT_ENSURE(now + ATT_ACCESS_LEEWAY >= n && now + ATT_ACCESS_LEEWAY >= i,
               ATT_ERR_TOKEN_NOT_YET_VALID);
    ATT_ENSURE(e - i <= ATT_ACCESS_LIFETIME && e > i, ATT_ERR_TOKEN_LIFETIME);
    return ATT_OK;
}

static att_err copy_claim(json_t *claims, const char *name, char *out, size_t cap)
{
    const char *v = json_string_value(json_object_get(claims, name));
    ATT_ENSURE(v != NULL && strlen(v) > 0 && strlen(v) < cap, ATT_ERR_TOKEN_CLAIMS);
    memcpy(out, v, strlen(v) + 1);
    return ATT_OK;
}

att_err att_auth_verify(const struct att_auth *a, struct att_store *store, const char *token,
                        size_t len, int64_t now, struct att_identity *who)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_jws peek = {0};
    struct att_jws jws = {0};
    json_t *claims = NULL;
    struct att_identity id;
    struct att_principal_rec p;

    memset(&id, 0, sizeof(id));
    ATT_CHECK(len <= ATT_ACCESS_MAX_TOKEN, ATT_ERR_TOO_LARGE);
    /* Choose the key by "kid" first; the algorithm is then the key's, not the token's. */
    ATT_GUARD(att_jws_decode_unverified(token, len, &peek));
    const char *kid = json_string_value(json_object_get(peek.header, "kid"));
    const char *alg = json_string_value(json_object_get(peek.header, "alg"));
    ATT_CHECK(alg == NULL || strcmp(alg, "none") != 0, ATT_ERR_ALG_NONE);
    ATT_CHECK(kid != NULL && strcmp(kid, a->kid) == 0, ATT_ERR_TOKEN_KID);
    ATT_GUARD(att_jws_verify(token, len, a->pub, ATT_JWS_ES256, &jws));
    /* RFC 9068 §4: only a token typed as an access token is one (no token-kind confusion). */
    const char *typ = json_string_value(json_object_get(jws.header, "typ"));
    ATT_CHECK(typ != NULL &&
                  (strcasecmp(typ, "at+jwt") == 0 || strcasecmp(typ, "application/at+jwt") == 0),
              ATT_ERR_TOKEN_CLAIMS);
    json_error_t jerr;
    claims =
        json_loadb((const char *)jws.payload.data, jws.payload.len, JSON_REJECT_DUPLICATES, &jerr);
    ATT_CHECK(json_is_object(claims), ATT_ERR_JSON);
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    ATT_CHECK(iss != NULL && strcmp(iss, a->issuer) == 0, ATT_ERR_TOKEN_ISSUER);
    const char *aud = json_string_value(json_object_get(claims, "aud"));
    ATT_CHECK(aud != NULL && strcmp(aud, ATT_ACCESS_AUDIENCE) == 0, ATT_ERR_TOKEN_AUDIENCE);
    ATT_GUARD(check_times(claims, now));
    ATT_GUARD(copy_claim(claims, "sub", id.subject, sizeof(id.subject)));
    const char *client_id = json_string_value(json_object_get(claims, "client_id"));
    ATT_CHECK(client_id != NULL && strcmp(client_id, id.subject) == 0, ATT_ERR_TOKEN_CLAIMS);
    rc = att_store_principal_get(store, id.subject, &p);
    ATT_CHECK(rc != ATT_ERR_NOT_FOUND, ATT_ERR_CREDENTIALS);
    ATT_GUARD(rc);
    ATT_CHECK(!p.disabled, ATT_ERR_PRINCIPAL_DISABLED);
    snprintf(id.kind, sizeof(id.kind), "%s", "principal");
    snprintf(id.name, sizeof(id.name), "%s", p.name);
    *who = id;
    rc = ATT_OK;
out:
    json_decref(claims);
    att_jws_cleanup(&peek);
    att_jws_cleanup(&jws);
    return rc;
}
