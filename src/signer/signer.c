/*
 * signer.c - the key table and the only code that signs with a private key.
 *
 * Input: key ids and messages from our own token builder (trusted callers);
 * keys from the keyring at start-up. Nothing here parses untrusted bytes
 * except the DER ECDSA signature OpenSSL itself just produced.
 *
 * Algorithms (RFC 7518 §3.1): RS256 = RSASSA-PKCS1-v1_5 with SHA-256
 * (§3.3), ES256 = ECDSA P-256 with SHA-256 (§3.4), whose JOSE signature is
 * the 64-byte R||S concatenation, not the DER ECDSA-Sig-Value OpenSSL emits.
 */
#include "signer/signer.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/x509.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/mem.h"
#include "crypto/ecdsa.h"
#include "seal/keyring.h"
#include "seal/pkcs11.h"
#include "x509/selfsigned.h"

struct signer_key {
    char kid[ATT_KID_MAX + 1];
    enum att_jws_alg alg;
    EVP_PKEY *key;         /* a software key, or NULL for one in a token: */
    struct att_p11 *token; /* a reference; the key never leaves it */
    unsigned long handle;  /* its private-key object */
    /* Or in the key process (src/keyd): signed through the remote keyring's operations. */
    const struct att_keyring_remote *remote;
};

struct att_signer {
    pthread_mutex_t lock;
    size_t n;
    struct signer_key keys[ATT_SIGNER_MAX_KEYS];
};

att_err att_signer_new(struct att_signer **out)
{
    ATT_ENSURE(out != NULL, ATT_ERR_ARG);
    struct att_signer *s = calloc(1, sizeof(*s));
    ATT_ENSURE(s != NULL, ATT_ERR_NOMEM);
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        return ATT_ERR_INTERNAL;
    }
    *out = s;
    return ATT_OK;
}

void att_signer_free(struct att_signer *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        EVP_PKEY_free(s->keys[i].key); /* OpenSSL clears private key material */
        att_p11_release(s->keys[i].token);
    }
    pthread_mutex_destroy(&s->lock);
    att_freezero(s, sizeof(*s));
}

att_err att_signer_generate(enum att_jws_alg alg, EVP_PKEY **out)
{
    ATT_ENSURE(out != NULL, ATT_ERR_ARG);
    EVP_PKEY *key = NULL;
    switch (alg) {
    case ATT_JWS_RS256:
        /* RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used". */
        key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        break;
    case ATT_JWS_ES256: key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"); break;
    case ATT_JWS_NONE:
    default: return ATT_ERR_ARG;
    }
    if (key == NULL) {
        ERR_clear_error();
        return ATT_ERR_CRYPTO;
    }
    *out = key;
    return ATT_OK;
}

static bool kid_ok(const char *kid)
{
    if (kid == NULL) {
        return false;
    }
    size_t n = strnlen(kid, ATT_KID_MAX + 1);
    return n > 0 && n <= ATT_KID_MAX;
}

/* Index of `kid`, or s->n when absent. Caller holds the lock. */
static size_t find(const struct att_signer *s, const char *kid)
{
    size_t i = 0;
    while (i < s->n && strcmp(s->keys[i].kid, kid) != 0) {
        i++;
    }
    return i;
}

att_err att_signer_add(struct att_signer *s, const char *kid, enum att_jws_alg alg, EVP_PKEY *key)
{
    att_err rc = ATT_ERR_INTERNAL;
    bool locked = false;
    enum att_jws_alg key_alg = ATT_JWS_NONE;
    struct signer_key *k = NULL;

    ATT_CHECK(s != NULL && key != NULL && kid_ok(kid), ATT_ERR_ARG);
    ATT_CHECK(alg == ATT_JWS_RS256 || alg == ATT_JWS_ES256, ATT_ERR_ALG_UNSUPPORTED);
    /* One key, one algorithm (RFC 8725 §3.1): the key must fit the pinned alg. */
    ATT_GUARD(att_jws_alg_for_key(key, &key_alg));
    ATT_CHECK(key_alg == alg, ATT_ERR_KEY_TYPE);

    ATT_CHECK(pthread_mutex_lock(&s->lock) == 0, ATT_ERR_INTERNAL);
    locked = true;
    ATT_CHECK(find(s, kid) == s->n, ATT_ERR_EXISTS);
    ATT_CHECK(s->n < ATT_SIGNER_MAX_KEYS, ATT_ERR_TOO_LARGE);
    k = &s->keys[s->n];
    memset(k, 0, sizeof(*k));
    (void)snprintf(k->kid, sizeof(k->kid), "%s", kid); /* kid_ok bounded the length */
    k->alg = alg;
    k->key = key;
    key = NULL;
    s->n++;
    rc = ATT_OK;
out:
    if (locked) {
        pthread_mutex_unlock(&s->lock);
    }
    EVP_PKEY_free(key); /* ownership was taken, also on failure */
    return rc;
}

/*
 * Look up `kid`. The returned key pointer stays valid until att_signer_free:
 * entries are never removed or moved.
 */
static att_err lookup(struct att_signer *s, const char *kid, struct signer_key *out)
{
    ATT_ENSURE(s != NULL && kid_ok(kid), ATT_ERR_ARG);
    ATT_ENSURE(pthread_mutex_lock(&s->lock) == 0, ATT_ERR_INTERNAL);
    size_t i = find(s, kid);
    att_err rc = ATT_ERR_NOT_FOUND;
    if (i < s->n) {
        *out = s->keys[i];
        rc = ATT_OK;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

att_err att_signer_alg(struct att_signer *s, const char *kid, enum att_jws_alg *out)
{
    ATT_ENSURE(out != NULL, ATT_ERR_ARG);
    struct signer_key k;
    ATT_TRY(lookup(s, kid, &k));
    *out = k.alg;
    return ATT_OK;
}

/*
 * DER ECDSA-Sig-Value (RFC 3279 §2.2.3: SEQUENCE { r INTEGER, s INTEGER })
 * to the JOSE form: "the R and S values ... each 32-octet ... concatenated
 * into a 64-octet sequence" (RFC 7518 §3.4). The DER comes from OpenSSL.
 */
static att_err ecdsa_der_to_raw(const uint8_t *der, size_t der_len, uint8_t raw[ATT_ES256_SIG_LEN])
{
    att_err rc = ATT_ERR_CRYPTO;
    const unsigned char *p = der;
    ECDSA_SIG *sig = NULL;
    unsigned char *re = NULL;
    int re_len = 0;
    const BIGNUM *r = NULL;
    const BIGNUM *s = NULL;

    ATT_CHECK(der_len <= 255, ATT_ERR_CRYPTO);
    sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    ATT_CHECK(sig != NULL, ATT_ERR_CRYPTO);
    /* Re-encode to prove the whole input was one canonical signature. */
    re_len = i2d_ECDSA_SIG(sig, &re);
    ATT_CHECK(re_len > 0 && (size_t)re_len == der_len, ATT_ERR_CRYPTO);
    ECDSA_SIG_get0(sig, &r, &s);
    ATT_CHECK(BN_bn2binpad(r, raw, ATT_ES256_COORD) == ATT_ES256_COORD, ATT_ERR_CRYPTO);
    ATT_CHECK(BN_bn2binpad(s, raw + ATT_ES256_COORD, ATT_ES256_COORD) == ATT_ES256_COORD,
              ATT_ERR_CRYPTO);
    rc = ATT_OK;
out:
    OPENSSL_free(re);
    ECDSA_SIG_free(sig);
    if (rc != ATT_OK) {
        ERR_clear_error();
    }
    return rc;
}

/* Sign with OpenSSL; `raw` receives the signature exactly as OpenSSL encodes it. */
static att_err digest_sign(EVP_PKEY *key, enum att_jws_alg alg, const void *msg, size_t len,
                           struct att_buf *raw)
{
    att_err rc = ATT_ERR_CRYPTO;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *buf = NULL;
    size_t sig_len = 0;

    ATT_CHECK(md != NULL, ATT_ERR_NOMEM);
    ATT_CHECK(EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, key) == 1, ATT_ERR_CRYPTO);
    if (alg == ATT_JWS_RS256) {
        /* RFC 7518 §3.3: RSASSA-PKCS1-v1_5, never PSS for RS256. */
        ATT_CHECK(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1, ATT_ERR_CRYPTO);
    }
    ATT_CHECK(EVP_DigestSign(md, NULL, &sig_len, msg, len) == 1, ATT_ERR_CRYPTO);
    buf = OPENSSL_malloc(sig_len);
    ATT_CHECK(buf != NULL, ATT_ERR_NOMEM);
    ATT_CHECK(EVP_DigestSign(md, buf, &sig_len, msg, len) == 1, ATT_ERR_CRYPTO);
    ATT_GUARD(att_buf_put(raw, buf, sig_len));
    rc = ATT_OK;
out:
    OPENSSL_free(buf);
    EVP_MD_CTX_free(md);
    if (rc != ATT_OK) {
        ERR_clear_error();
    }
    return rc;
}

att_err att_signer_sign(struct att_signer *s, const char *kid, const void *msg, size_t len,
                        struct att_buf *sig)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_buf raw;
    struct signer_key k;
    uint8_t rs[ATT_ES256_SIG_LEN];

    att_buf_init(&raw, 16 * 1024);
    ATT_CHECK(sig != NULL && (msg != NULL || len == 0), ATT_ERR_ARG);
    ATT_GUARD(lookup(s, kid, &k));
    if (k.remote != NULL) { /* the key process gives the JOSE form */
        ATT_GUARD(k.remote->sign(k.remote->arg, kid, msg != NULL ? msg : "", len, sig));
        rc = ATT_OK;
        goto out;
    }
    if (k.token != NULL) { /* the token gives the JOSE form itself (r | s for ES256) */
        ATT_GUARD(att_p11_sign(k.token, k.handle, k.alg == ATT_JWS_ES256, msg != NULL ? msg : "",
                               len, sig));
        rc = ATT_OK;
        goto out;
    }
    ATT_GUARD(digest_sign(k.key, k.alg, msg != NULL ? msg : "", len, &raw));
    switch (k.alg) {
    case ATT_JWS_RS256: ATT_GUARD(att_buf_put(sig, raw.data, raw.len)); break;
    case ATT_JWS_ES256:
        ATT_GUARD(ecdsa_der_to_raw(raw.data, raw.len, rs));
        ATT_GUARD(att_buf_put(sig, rs, sizeof(rs)));
        break;
    case ATT_JWS_NONE:
    default: ATT_CHECK(false, ATT_ERR_INTERNAL); /* att_signer_add admits no other alg */
    }
    rc = ATT_OK;
out:
    att_buf_cleanup(&raw);
    return rc;
}

void att_signer_sign_async(struct att_signer *s, const char *kid, const void *msg, size_t len,
                           att_signed_cb done, void *arg)
{
    struct signer_key k;
    if (lookup(s, kid, &k) == ATT_OK && k.remote != NULL && k.remote->sign_async != NULL) {
        k.remote->sign_async(k.remote->arg, kid, msg != NULL ? msg : "", len, done, arg);
        return;
    }
    struct att_buf sig;
    att_buf_init(&sig, 4096);
    att_err rc = att_signer_sign(s, kid, msg, len, &sig);
    done(arg, rc, rc == ATT_OK ? sig.data : NULL, rc == ATT_OK ? sig.len : 0);
    att_buf_cleanup(&sig);
}

/* =====================================================================
 * Keys at rest: PKCS#8 out (to be sealed by the caller) and back in
 * ===================================================================== */

/* PKCS#8 PrivateKeyInfo DER (RFC 5208 §5), appended to a secret buffer. */
static att_err encode_pkcs8(EVP_PKEY *key, struct att_buf *out)
{
    att_err rc = ATT_ERR_CRYPTO;
    unsigned char *der = NULL;
    size_t len = 0;
    OSSL_ENCODER_CTX *ectx =
        OSSL_ENCODER_CTX_new_for_pkey(key, EVP_PKEY_KEYPAIR, "DER", "PrivateKeyInfo", NULL);
    ATT_CHECK(out->secret, ATT_ERR_ARG);
    ATT_CHECK(ectx != NULL && OSSL_ENCODER_to_data(ectx, &der, &len) == 1, ATT_ERR_CRYPTO);
    ATT_GUARD(att_buf_put(out, der, len));
    rc = ATT_OK;
out:
    OPENSSL_clear_free(der, len);
    OSSL_ENCODER_CTX_free(ectx);
    ERR_clear_error();
    return rc;
}

att_err att_signer_create_key(enum att_jws_alg alg, const char *subject_cn, int64_t not_before,
                              int days, struct att_buf *pkcs8, struct att_buf *cert_der)
{
    EVP_PKEY *key = NULL;
    size_t pkcs8_len = pkcs8->len;
    size_t cert_len = cert_der->len;
    ATT_TRY(att_signer_generate(alg, &key));
    att_err rc = att_x509_self_signed(key, subject_cn, not_before, days, cert_der);
    if (rc == ATT_OK) {
        rc = encode_pkcs8(key, pkcs8);
    }
    if (rc != ATT_OK) {
        pkcs8->len = pkcs8_len; /* outputs untouched on failure */
        cert_der->len = cert_len;
    }
    EVP_PKEY_free(key);
    return rc;
}

att_err att_signer_add_pkcs8(struct att_signer *s, const char *kid, enum att_jws_alg alg,
                             const uint8_t *pkcs8, size_t pkcs8_len, const uint8_t *cert_der,
                             size_t cert_len)
{
    att_err rc = ATT_ERR_INTERNAL;
    const unsigned char *p = pkcs8;
    const unsigned char *c = cert_der;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;

    ATT_CHECK(pkcs8_len > 0 && pkcs8_len <= LONG_MAX && cert_len > 0 && cert_len <= LONG_MAX,
              ATT_ERR_ARG);
    key = d2i_AutoPrivateKey(NULL, &p, (long)pkcs8_len);
    ATT_CHECK(key != NULL && p == pkcs8 + pkcs8_len, ATT_ERR_PARSE);
    cert = d2i_X509(NULL, &c, (long)cert_len);
    ATT_CHECK(cert != NULL && c == cert_der + cert_len, ATT_ERR_PARSE);
    ATT_CHECK(EVP_PKEY_eq(X509_get0_pubkey(cert), key) == 1, ATT_ERR_KEY_MISMATCH);
    rc = att_signer_add(s, kid, alg, key);
    key = NULL; /* att_signer_add took it, also on failure */
out:
    EVP_PKEY_free(key);
    X509_free(cert);
    ERR_clear_error();
    return rc;
}

/* =====================================================================
 * Sealed keys: what the service uses (the key is in clear only in here)
 * ===================================================================== */

att_err att_signer_cert_kid(const uint8_t *cert_der, size_t cert_len, char kid[ATT_KID_MAX + 1])
{
    uint8_t digest[32];
    struct att_buf b;
    ATT_TRY(att_sha256(cert_der, cert_len, digest));
    att_buf_init(&b, ATT_KID_MAX);
    att_err rc = att_b64url_encode(digest, sizeof(digest), &b);
    if (rc == ATT_OK) {
        memcpy(kid, b.data, b.len + 1);
    }
    att_buf_cleanup(&b);
    return rc;
}

/* ---- keys in a PKCS#11 token (signing_keys_pkcs11) ---- */

/*
 * What the sealed record of a token key holds instead of PKCS#8: this prefix and the hex
 * CKA_ID of its key pair. PKCS#8 DER starts with 0x30 (a SEQUENCE), so the two never mix.
 */
static const char token_ref_prefix[] = "attestd-pkcs11-key/v1:";
#define TOKEN_REF_LEN (sizeof(token_ref_prefix) - 1 + 2 * ATT_P11_ID_LEN)

struct token_key {
    struct att_p11 *token;
    unsigned long handle;
    bool ec;
};

/* The certificate's signature by the token key, in X.509's form (DER ECDSA-Sig-Value). */
static att_err token_sign_x509(void *arg, const uint8_t *tbs, size_t len, struct att_buf *sig)
{
    const struct token_key *t = arg;
    struct att_buf raw;
    att_buf_init(&raw, 1024);
    att_err rc = att_p11_sign(t->token, t->handle, t->ec, tbs, len, &raw);
    if (rc == ATT_OK && !t->ec) {
        rc = att_buf_put(sig, raw.data, raw.len);
    } else if (rc == ATT_OK) {
        ECDSA_SIG *es = ECDSA_SIG_new();
        BIGNUM *r = BN_bin2bn(raw.data, ATT_ES256_COORD, NULL);
        BIGNUM *sv = BN_bin2bn(raw.data + ATT_ES256_COORD, ATT_ES256_COORD, NULL);
        unsigned char *der = NULL;
        int der_len = -1;
        if (es != NULL && r != NULL && sv != NULL && ECDSA_SIG_set0(es, r, sv) == 1) {
            r = sv = NULL; /* owned by es now */
            der_len = i2d_ECDSA_SIG(es, &der);
        }
        rc = der_len > 0 ? att_buf_put(sig, der, (size_t)der_len) : ATT_ERR_CRYPTO;
        OPENSSL_free(der);
        BN_free(r);
        BN_free(sv);
        ECDSA_SIG_free(es);
    }
    att_buf_cleanup(&raw);
    return rc;
}

/* A new key pair in the token, its certificate, and the reference to seal. */
static att_err create_in_token(struct att_p11 *token, enum att_jws_alg alg, const char *subject_cn,
                               int64_t not_before, int days, struct att_buf *cert_der,
                               struct att_buf *ref)
{
    att_err rc = ATT_ERR_INTERNAL;
    uint8_t id[ATT_P11_ID_LEN];
    EVP_PKEY *pub = NULL, *again = NULL;
    struct token_key t = {token, 0, alg == ATT_JWS_ES256};
    ATT_CHECK(alg == ATT_JWS_ES256 || alg == ATT_JWS_RS256, ATT_ERR_ALG_UNSUPPORTED);
    ATT_CHECK(RAND_bytes(id, sizeof(id)) == 1, ATT_ERR_CRYPTO);
    ATT_GUARD(att_p11_keypair_generate(token, t.ec, id, &pub));
    ATT_GUARD(att_p11_keypair_find(token, t.ec, id, &t.handle, &again));
    ATT_GUARD(
        att_x509_self_signed_by(pub, subject_cn, not_before, days, token_sign_x509, &t, cert_der));
    ATT_GUARD(att_buf_puts(ref, token_ref_prefix));
    ATT_GUARD(att_hex_encode(id, sizeof(id), ref));
    rc = ATT_OK;
out:
    if (rc != ATT_OK && pub != NULL) {
        att_ignore_err(att_p11_keypair_destroy(token, id));
    }
    EVP_PKEY_free(pub);
    EVP_PKEY_free(again);
    return rc;
}

/* The CKA_ID a sealed record names, when it is a token key's reference. */
static bool token_ref_id(const struct att_buf *opened, uint8_t id[ATT_P11_ID_LEN])
{
    size_t plen = sizeof(token_ref_prefix) - 1;
    struct att_buf raw;
    if (opened->len != TOKEN_REF_LEN || !att_ct_equal(opened->data, token_ref_prefix, plen)) {
        return false;
    }
    att_buf_init(&raw, 64);
    bool ok =
        att_hex_decode((const char *)opened->data + plen, 2 * ATT_P11_ID_LEN, &raw) == ATT_OK &&
        raw.len == ATT_P11_ID_LEN;
    if (ok) {
        memcpy(id, raw.data, ATT_P11_ID_LEN);
    }
    att_buf_cleanup(&raw);
    return ok;
}

/* Add the token key `id` under `kid`, after checking the certificate publishes its key. */
static att_err add_token_key(struct att_signer *s, struct att_p11 *token, const char *kid,
                             enum att_jws_alg alg, const uint8_t id[ATT_P11_ID_LEN],
                             const uint8_t *cert_der, size_t cert_len)
{
    att_err rc = ATT_ERR_INTERNAL;
    EVP_PKEY *pub = NULL;
    X509 *cert = NULL;
    unsigned long handle = 0;
    const unsigned char *c = cert_der;
    bool locked = false;
    ATT_CHECK(token != NULL, ATT_ERR_NOT_FOUND); /* signing_keys_pkcs11 is not set */
    ATT_CHECK(alg == ATT_JWS_ES256 || alg == ATT_JWS_RS256, ATT_ERR_ALG_UNSUPPORTED);
    ATT_GUARD(att_p11_keypair_find(token, alg == ATT_JWS_ES256, id, &handle, &pub));
    cert = d2i_X509(NULL, &c, (long)cert_len);
    ATT_CHECK(cert != NULL && c == cert_der + cert_len, ATT_ERR_PARSE);
    ATT_CHECK(EVP_PKEY_eq(X509_get0_pubkey(cert), pub) == 1, ATT_ERR_KEY_MISMATCH);
    ATT_CHECK(pthread_mutex_lock(&s->lock) == 0, ATT_ERR_INTERNAL);
    locked = true;
    ATT_CHECK(find(s, kid) == s->n, ATT_ERR_EXISTS);
    ATT_CHECK(s->n < ATT_SIGNER_MAX_KEYS, ATT_ERR_TOO_LARGE);
    struct signer_key *k = &s->keys[s->n];
    memset(k, 0, sizeof(*k));
    (void)snprintf(k->kid, sizeof(k->kid), "%s", kid);
    k->alg = alg;
    att_p11_ref(token);
    k->token = token;
    k->handle = handle;
    s->n++;
    rc = ATT_OK;
out:
    if (locked) {
        pthread_mutex_unlock(&s->lock);
    }
    EVP_PKEY_free(pub);
    X509_free(cert);
    ERR_clear_error();
    return rc;
}

/* A key the key process holds: only its kid and algorithm are known here. */
static att_err add_remote_key(struct att_signer *s, const struct att_keyring_remote *remote,
                              const char *kid, enum att_jws_alg alg)
{
    att_err rc = ATT_ERR_INTERNAL;
    ATT_ENSURE(alg == ATT_JWS_ES256 || alg == ATT_JWS_RS256, ATT_ERR_ALG_UNSUPPORTED);
    ATT_ENSURE(pthread_mutex_lock(&s->lock) == 0, ATT_ERR_INTERNAL);
    if (find(s, kid) != s->n) {
        rc = ATT_ERR_EXISTS;
    } else if (s->n == ATT_SIGNER_MAX_KEYS) {
        rc = ATT_ERR_TOO_LARGE;
    } else {
        struct signer_key *k = &s->keys[s->n++];
        memset(k, 0, sizeof(*k));
        (void)snprintf(k->kid, sizeof(k->kid), "%s", kid);
        k->alg = alg;
        k->remote = remote;
        rc = ATT_OK;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

att_err att_signer_destroy_sealed(struct att_keyring *kr, const char *table, const char *kid,
                                  const uint8_t *sealed, size_t sealed_len)
{
    struct att_buf opened;
    uint8_t id[ATT_P11_ID_LEN];
    att_buf_init_secret(&opened, 16384);
    ATT_ENSURE(att_keyring_remote_ops(kr) == NULL, ATT_ERR_STATE); /* destroyed in keyd */
    att_err rc = att_keyring_open(kr, table, kid, sealed, sealed_len, &opened);
    if (rc == ATT_OK && token_ref_id(&opened, id)) {
        struct att_p11 *token = att_keyring_signing_token(kr);
        rc = token != NULL ? att_p11_keypair_destroy(token, id) : ATT_ERR_NOT_FOUND;
    }
    att_buf_cleanup(&opened); /* a software key goes with its record */
    return rc;
}

att_err att_signer_create_sealed(enum att_jws_alg alg, const char *subject_cn, int64_t not_before,
                                 int days, struct att_keyring *kr, const char *table,
                                 char kid[ATT_KID_MAX + 1], struct att_buf *cert_der,
                                 struct att_buf *sealed)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_buf pkcs8;
    size_t cert_len = cert_der->len;
    att_buf_init_secret(&pkcs8, 16384);
    struct att_p11 *token = kr != NULL ? att_keyring_signing_token(kr) : NULL;
    ATT_CHECK(att_keyring_remote_ops(kr) == NULL, ATT_ERR_STATE); /* keys are made in keyd */
    if (token != NULL) {
        /* The record then holds the key pair's reference, sealed like a key. */
        ATT_GUARD(create_in_token(token, alg, subject_cn, not_before, days, cert_der, &pkcs8));
    } else {
        ATT_GUARD(att_signer_create_key(alg, subject_cn, not_before, days, &pkcs8, cert_der));
    }
    ATT_GUARD(att_signer_cert_kid(cert_der->data + cert_len, cert_der->len - cert_len, kid));
    /* The seal's additional data names the kid: the sealed key opens only as this record. */
    ATT_GUARD(att_keyring_seal(kr, table, kid, pkcs8.data, pkcs8.len, sealed));
    rc = ATT_OK;
out:
    if (rc != ATT_OK) {
        cert_der->len = cert_len;
    }
    att_buf_cleanup(&pkcs8);
    return rc;
}

att_err att_signer_add_sealed(struct att_signer *s, struct att_keyring *kr, const char *table,
                              const char *kid, enum att_jws_alg alg, const uint8_t *sealed,
                              size_t sealed_len, const uint8_t *cert_der, size_t cert_len)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_buf pkcs8;
    char want[ATT_KID_MAX + 1];
    att_buf_init_secret(&pkcs8, 16384);
    /*
     * The certificate is stored in clear: bind it to the sealed key. The kid is the hash of
     * the certificate and the sealed key's additional data names the kid, so a swapped
     * certificate fails here or in the public-key check of att_signer_add_pkcs8.
     */
    ATT_GUARD(att_signer_cert_kid(cert_der, cert_len, want));
    ATT_CHECK(strcmp(want, kid) == 0, ATT_ERR_KEY_MISMATCH);
    if (att_keyring_remote_ops(kr) != NULL) { /* the key process holds it, checked there */
        ATT_GUARD(add_remote_key(s, att_keyring_remote_ops(kr), kid, alg));
        rc = ATT_OK;
        goto out;
    }
    ATT_GUARD(att_keyring_open(kr, table, kid, sealed, sealed_len, &pkcs8));
    uint8_t id[ATT_P11_ID_LEN];
    if (token_ref_id(&pkcs8, id)) {
        ATT_GUARD(
            add_token_key(s, att_keyring_signing_token(kr), kid, alg, id, cert_der, cert_len));
    } else {
        ATT_GUARD(att_signer_add_pkcs8(s, kid, alg, pkcs8.data, pkcs8.len, cert_der, cert_len));
    }
    rc = ATT_OK;
out:
    att_buf_cleanup(&pkcs8);
    return rc;
}
