/*
 * test_signer.c - unit tests for src/signer/signer.c.
 *
 * Signatures are checked with plain OpenSSL calls, independently of the
 * JWS verifier: RS256 with EVP_DigestVerify (PKCS#1 v1.5), ES256 after
 * converting the JOSE R||S form back to DER (RFC 7518 §3.4).
 */
#include "att_test.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <string.h>

#include "core/buf.h"
#include "seal/keyring.h"
#include "seal/seal.h"
#include "signer/signer.h"
#include "store/store.h"

static const char msg[] = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UifQ";

/* Plain OpenSSL check of a JOSE signature; returns 1 when valid. */
static int openssl_verify(EVP_PKEY *key, bool es256, const uint8_t *sig, size_t sig_len)
{
    unsigned char *der = NULL;
    int der_len = 0;
    const unsigned char *s = sig;
    size_t s_len = sig_len;
    if (es256) {
        if (sig_len != 64) {
            return 0;
        }
        ECDSA_SIG *e = ECDSA_SIG_new();
        assert_non_null(e);
        assert_int_equal(ECDSA_SIG_set0(e, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL)),
                         1);
        der_len = i2d_ECDSA_SIG(e, &der);
        ECDSA_SIG_free(e);
        assert_true(der_len > 0);
        s = der;
        s_len = (size_t)der_len;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    assert_int_equal(EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, key), 1);
    if (!es256) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING), 1);
    }
    int ok = EVP_DigestVerify(md, s, s_len, (const unsigned char *)msg, strlen(msg));
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    return ok;
}

static void test_new_free(void **state)
{
    (void)state;
    struct att_signer *s = NULL;
    EXPECT_OK(att_signer_new(&s));
    assert_non_null(s);
    att_signer_free(s);
    att_signer_free(NULL);
    EXPECT_ERR(att_signer_new(NULL), ATT_ERR_ARG);
}

static void test_generate(void **state)
{
    (void)state;
    EVP_PKEY *rsa = NULL;
    EVP_PKEY *ec = NULL;
    EVP_PKEY *none = NULL;
    enum att_jws_alg alg = ATT_JWS_NONE;

    EXPECT_OK(att_signer_generate(ATT_JWS_RS256, &rsa));
    assert_true(EVP_PKEY_is_a(rsa, "RSA"));
    assert_int_equal(EVP_PKEY_get_bits(rsa), 2048);
    EXPECT_OK(att_jws_alg_for_key(rsa, &alg));
    assert_int_equal(alg, ATT_JWS_RS256);

    EXPECT_OK(att_signer_generate(ATT_JWS_ES256, &ec));
    EXPECT_OK(att_jws_alg_for_key(ec, &alg));
    assert_int_equal(alg, ATT_JWS_ES256);

    EXPECT_ERR(att_signer_generate(ATT_JWS_NONE, &none), ATT_ERR_ARG);
    assert_null(none);
    EXPECT_ERR(att_signer_generate((enum att_jws_alg)42, &none), ATT_ERR_ARG);
    EXPECT_ERR(att_signer_generate(ATT_JWS_ES256, NULL), ATT_ERR_ARG);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
}

static void test_add_and_lookup(void **state)
{
    (void)state;
    struct att_signer *s = NULL;
    EVP_PKEY *ec = NULL;
    EVP_PKEY *rsa = NULL;
    enum att_jws_alg alg = ATT_JWS_NONE;
    char long_kid[ATT_KID_MAX + 2];

    EXPECT_OK(att_signer_new(&s));
    EXPECT_OK(att_signer_generate(ATT_JWS_ES256, &ec));
    EXPECT_OK(att_signer_generate(ATT_JWS_RS256, &rsa));

    /* Bad arguments; the key is consumed every time (LeakSanitizer checks). */
    assert_int_equal(EVP_PKEY_up_ref(ec), 1);
    EXPECT_ERR(att_signer_add(s, "", ATT_JWS_ES256, ec), ATT_ERR_ARG);
    memset(long_kid, 'k', sizeof(long_kid) - 1);
    long_kid[sizeof(long_kid) - 1] = '\0';
    assert_int_equal(EVP_PKEY_up_ref(ec), 1);
    EXPECT_ERR(att_signer_add(s, long_kid, ATT_JWS_ES256, ec), ATT_ERR_ARG);
    assert_int_equal(EVP_PKEY_up_ref(ec), 1);
    EXPECT_ERR(att_signer_add(s, NULL, ATT_JWS_ES256, ec), ATT_ERR_ARG);
    assert_int_equal(EVP_PKEY_up_ref(ec), 1);
    EXPECT_ERR(att_signer_add(s, "ec", ATT_JWS_NONE, ec), ATT_ERR_ALG_UNSUPPORTED);
    assert_int_equal(EVP_PKEY_up_ref(ec), 1);
    EXPECT_ERR(att_signer_add(s, "ec", ATT_JWS_RS256, ec), ATT_ERR_KEY_TYPE);
    assert_int_equal(EVP_PKEY_up_ref(rsa), 1);
    EXPECT_ERR(att_signer_add(s, "rsa", ATT_JWS_ES256, rsa), ATT_ERR_KEY_TYPE);

    /* A kid of exactly ATT_KID_MAX characters is fine. */
    long_kid[ATT_KID_MAX] = '\0';
    assert_int_equal(EVP_PKEY_up_ref(ec), 1);
    EXPECT_OK(att_signer_add(s, long_kid, ATT_JWS_ES256, ec));
    EXPECT_OK(att_signer_add(s, "ec", ATT_JWS_ES256, ec));
    EXPECT_OK(att_signer_add(s, "rsa", ATT_JWS_RS256, rsa));
    EXPECT_OK(att_signer_alg(s, "ec", &alg));
    assert_int_equal(alg, ATT_JWS_ES256);
    EXPECT_OK(att_signer_alg(s, "rsa", &alg));
    assert_int_equal(alg, ATT_JWS_RS256);
    EXPECT_ERR(att_signer_alg(s, "nope", &alg), ATT_ERR_NOT_FOUND);
    assert_int_equal(alg, ATT_JWS_RS256); /* untouched on failure */

    /* A duplicate kid is refused and the new key freed. */
    EVP_PKEY *other = NULL;
    EXPECT_OK(att_signer_generate(ATT_JWS_ES256, &other));
    EXPECT_ERR(att_signer_add(s, "ec", ATT_JWS_ES256, other), ATT_ERR_EXISTS);
    EXPECT_ERR(att_signer_add(NULL, "x", ATT_JWS_ES256, NULL), ATT_ERR_ARG);
    att_signer_free(s);
}

static void test_small_rsa_refused(void **state)
{
    (void)state;
    struct att_signer *s = NULL;
    EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    assert_non_null(small);
    EXPECT_OK(att_signer_new(&s));
    /* RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used". */
    EXPECT_ERR(att_signer_add(s, "small", ATT_JWS_RS256, small), ATT_ERR_KEY_TYPE);
    att_signer_free(s);
}

static void test_table_full(void **state)
{
    (void)state;
    struct att_signer *s = NULL;
    EVP_PKEY *ec = NULL;
    char kid[16];
    EXPECT_OK(att_signer_new(&s));
    EXPECT_OK(att_signer_generate(ATT_JWS_ES256, &ec));
    for (int i = 0; i < ATT_SIGNER_MAX_KEYS; i++) {
        snprintf(kid, sizeof(kid), "k%d", i);
        assert_int_equal(EVP_PKEY_up_ref(ec), 1);
        EXPECT_OK(att_signer_add(s, kid, ATT_JWS_ES256, ec));
    }
    EXPECT_ERR(att_signer_add(s, "one-more", ATT_JWS_ES256, ec), ATT_ERR_TOO_LARGE);
    att_signer_free(s);
}

static void sign_and_check(enum att_jws_alg alg, size_t expect_len)
{
    struct att_signer *s = NULL;
    EVP_PKEY *key = NULL;
    struct att_buf sig;
    att_buf_init(&sig, 4096);

    EXPECT_OK(att_signer_new(&s));
    EXPECT_OK(att_signer_generate(alg, &key));
    assert_int_equal(EVP_PKEY_up_ref(key), 1);
    EXPECT_OK(att_signer_add(s, "k", alg, key));
    EXPECT_OK(att_signer_sign(s, "k", msg, strlen(msg), &sig));
    assert_int_equal(sig.len, expect_len);
    assert_int_equal(openssl_verify(key, alg == ATT_JWS_ES256, sig.data, sig.len), 1);

    /* A modified signature does not verify. */
    sig.data[0] ^= 0x01;
    assert_int_not_equal(openssl_verify(key, alg == ATT_JWS_ES256, sig.data, sig.len), 1);

    /* Unknown kid: NOT_FOUND, sig untouched. */
    size_t before = sig.len;
    EXPECT_ERR(att_signer_sign(s, "other", msg, strlen(msg), &sig), ATT_ERR_NOT_FOUND);
    assert_int_equal(sig.len, before);
    EXPECT_ERR(att_signer_sign(s, "k", msg, strlen(msg), NULL), ATT_ERR_ARG);

    att_buf_cleanup(&sig);
    EVP_PKEY_free(key);
    att_signer_free(s);
}

static void test_sign_rs256(void **state)
{
    (void)state;
    sign_and_check(ATT_JWS_RS256, 256);
}

static void test_sign_es256(void **state)
{
    (void)state;
    sign_and_check(ATT_JWS_ES256, 64);
}

/* ES256 signatures are randomized: two signatures of one message differ. */
static void test_es256_randomized(void **state)
{
    (void)state;
    struct att_signer *s = NULL;
    EVP_PKEY *key = NULL;
    struct att_buf a;
    struct att_buf b;
    att_buf_init(&a, 128);
    att_buf_init(&b, 128);
    EXPECT_OK(att_signer_new(&s));
    EXPECT_OK(att_signer_generate(ATT_JWS_ES256, &key));
    EXPECT_OK(att_signer_add(s, "k", ATT_JWS_ES256, key));
    EXPECT_OK(att_signer_sign(s, "k", msg, strlen(msg), &a));
    EXPECT_OK(att_signer_sign(s, "k", msg, strlen(msg), &b));
    assert_memory_not_equal(a.data, b.data, 64);
    att_buf_cleanup(&a);
    att_buf_cleanup(&b);
    att_signer_free(s);
}

struct thread_arg {
    struct att_signer *s;
    EVP_PKEY *key;
    int ok;
};

static void *sign_many(void *p)
{
    struct thread_arg *t = p;
    for (int i = 0; i < 25; i++) {
        struct att_buf sig;
        att_buf_init(&sig, 128);
        if (att_signer_sign(t->s, "k", msg, strlen(msg), &sig) == ATT_OK &&
            openssl_verify(t->key, true, sig.data, sig.len) == 1) {
            t->ok++;
        }
        att_buf_cleanup(&sig);
    }
    return NULL;
}

/* Several threads sign with one key at once (run under TSan too). */
static void test_threads(void **state)
{
    (void)state;
    struct att_signer *s = NULL;
    EVP_PKEY *key = NULL;
    pthread_t th[4];
    struct thread_arg args[4];
    EXPECT_OK(att_signer_new(&s));
    EXPECT_OK(att_signer_generate(ATT_JWS_ES256, &key));
    assert_int_equal(EVP_PKEY_up_ref(key), 1);
    EXPECT_OK(att_signer_add(s, "k", ATT_JWS_ES256, key));
    for (int i = 0; i < 4; i++) {
        args[i] = (struct thread_arg){s, key, 0};
        assert_int_equal(pthread_create(&th[i], NULL, sign_many, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(args[i].ok, 25);
    }
    EVP_PKEY_free(key);
    att_signer_free(s);
}

/* Keys created inside the signer come back only as PKCS#8 + certificate, and load again. */
static void test_create_key_and_add_pkcs8(void **state)
{
    (void)state;
    static const enum att_jws_alg algs[] = {ATT_JWS_RS256, ATT_JWS_ES256};
    for (size_t i = 0; i < 2; i++) {
        struct att_signer *s = NULL;
        struct att_buf pkcs8;
        struct att_buf cert;
        struct att_buf sig;
        att_buf_init_secret(&pkcs8, 1 << 14);
        att_buf_init(&cert, 1 << 14);
        att_buf_init(&sig, 1024);
        EXPECT_OK(att_signer_create_key(algs[i], "https://attest.example", 1795000000, 30, &pkcs8,
                                        &cert));
        EXPECT_OK(att_signer_new(&s));
        EXPECT_OK(
            att_signer_add_pkcs8(s, "k1", algs[i], pkcs8.data, pkcs8.len, cert.data, cert.len));
        EXPECT_OK(att_signer_sign(s, "k1", msg, strlen(msg), &sig));
        const unsigned char *p = cert.data;
        X509 *x = d2i_X509(NULL, &p, (long)cert.len);
        assert_non_null(x);
        assert_int_equal(
            openssl_verify(X509_get0_pubkey(x), algs[i] == ATT_JWS_ES256, sig.data, sig.len), 1);
        /* The pinned algorithm must fit the key. */
        enum att_jws_alg other = algs[i] == ATT_JWS_RS256 ? ATT_JWS_ES256 : ATT_JWS_RS256;
        EXPECT_ERR(att_signer_add_pkcs8(s, "k2", other, pkcs8.data, pkcs8.len, cert.data, cert.len),
                   ATT_ERR_KEY_TYPE);
        /* Truncated key or certificate. */
        EXPECT_ERR(
            att_signer_add_pkcs8(s, "k3", algs[i], pkcs8.data, pkcs8.len - 1, cert.data, cert.len),
            ATT_ERR_PARSE);
        EXPECT_ERR(
            att_signer_add_pkcs8(s, "k3", algs[i], pkcs8.data, pkcs8.len, cert.data, cert.len - 1),
            ATT_ERR_PARSE);
        X509_free(x);
        att_signer_free(s);
        att_buf_cleanup(&pkcs8);
        att_buf_cleanup(&cert);
        att_buf_cleanup(&sig);
    }
}

/* A certificate of another key is refused: a swapped certificate is never published. */
static void test_add_pkcs8_certificate_mismatch(void **state)
{
    (void)state;
    struct att_signer *s = NULL;
    struct att_buf k1, c1, k2, c2;
    att_buf_init_secret(&k1, 1 << 14);
    att_buf_init_secret(&k2, 1 << 14);
    att_buf_init(&c1, 1 << 14);
    att_buf_init(&c2, 1 << 14);
    EXPECT_OK(att_signer_create_key(ATT_JWS_ES256, "https://a.example", 1795000000, 30, &k1, &c1));
    EXPECT_OK(att_signer_create_key(ATT_JWS_ES256, "https://a.example", 1795000000, 30, &k2, &c2));
    EXPECT_OK(att_signer_new(&s));
    EXPECT_ERR(att_signer_add_pkcs8(s, "k1", ATT_JWS_ES256, k1.data, k1.len, c2.data, c2.len),
               ATT_ERR_KEY_MISMATCH);
    struct att_buf sig;
    att_buf_init(&sig, 1024);
    EXPECT_ERR(att_signer_sign(s, "k1", msg, strlen(msg), &sig), ATT_ERR_NOT_FOUND);
    /* The private key must arrive in a secret buffer. */
    struct att_buf plain;
    att_buf_init(&plain, 1 << 14);
    EXPECT_ERR(
        att_signer_create_key(ATT_JWS_ES256, "https://a.example", 1795000000, 30, &plain, &c1),
        ATT_ERR_ARG);
    att_buf_cleanup(&plain);
    att_buf_cleanup(&sig);
    att_signer_free(s);
    att_buf_cleanup(&k1);
    att_buf_cleanup(&k2);
    att_buf_cleanup(&c1);
    att_buf_cleanup(&c2);
}

/*
 * Sealed keys, as the service creates and loads them: the key opens only as its own record of
 * its own table, under its own certificate; the kid is the certificate's.
 */
static void test_sealed_keys(void **state)
{
    (void)state;
    char dir[64], db[128];
    struct att_store *store = NULL;
    struct att_keyring *kr = NULL;
    struct att_kek kek;
    struct att_signer *s = NULL;
    char kid1[ATT_KID_MAX + 1], kid2[ATT_KID_MAX + 1], want[ATT_KID_MAX + 1];
    struct att_buf c1, c2, s1, s2, sig;
    att_test_mkdtemp("signer", dir, sizeof(dir));
    snprintf(db, sizeof(db), "%s/attestd.db", dir);
    EXPECT_OK(att_store_open_sqlite(db, &store));
    assert_int_equal(setenv("ATT_TEST_SIGNER_KEK",
                            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 1),
                     0);
    EXPECT_OK(att_kek_load_env("ATT_TEST_SIGNER_KEK", &kek));
    EXPECT_OK(att_keyring_new(store, &kek, &kr));
    att_kek_wipe(&kek);
    att_buf_init(&c1, 1 << 14);
    att_buf_init(&c2, 1 << 14);
    att_buf_init(&s1, 1 << 14);
    att_buf_init(&s2, 1 << 14);
    att_buf_init(&sig, 1024);
    EXPECT_OK(att_signer_create_sealed(ATT_JWS_ES256, "https://a.example", 1795000000, 30, kr,
                                       "signing_keys", kid1, &c1, &s1));
    EXPECT_OK(att_signer_create_sealed(ATT_JWS_RS256, "https://a.example", 1795000000, 30, kr,
                                       "signing_keys", kid2, &c2, &s2));
    EXPECT_OK(att_signer_cert_kid(c1.data, c1.len, want));
    assert_string_equal(kid1, want);
    assert_int_equal(strlen(kid1), 43);
    EXPECT_OK(att_signer_new(&s));
    /* Its own record, table and certificate: added and signing. */
    EXPECT_OK(att_signer_add_sealed(s, kr, "signing_keys", kid1, ATT_JWS_ES256, s1.data, s1.len,
                                    c1.data, c1.len));
    EXPECT_OK(att_signer_sign(s, kid1, msg, strlen(msg), &sig));
    const unsigned char *p = c1.data;
    X509 *x = d2i_X509(NULL, &p, (long)c1.len);
    assert_non_null(x);
    assert_int_equal(openssl_verify(X509_get0_pubkey(x), true, sig.data, sig.len), 1);
    X509_free(x);
    /* Another key's certificate under this kid: refused before anything opens. */
    EXPECT_ERR(att_signer_add_sealed(s, kr, "signing_keys", kid1, ATT_JWS_ES256, s1.data, s1.len,
                                     c2.data, c2.len),
               ATT_ERR_KEY_MISMATCH);
    /* This key's sealed bytes as the other key's record (its kid and certificate), or as a
     * record of another table: the seal does not open. */
    assert_int_not_equal(att_signer_add_sealed(s, kr, "signing_keys", kid2, ATT_JWS_RS256, s1.data,
                                               s1.len, c2.data, c2.len),
                         ATT_OK);
    assert_int_not_equal(att_signer_add_sealed(s, kr, "auth_keys", kid1, ATT_JWS_ES256, s1.data,
                                               s1.len, c1.data, c1.len),
                         ATT_OK);
    /* A bit flipped in the sealed key. */
    s2.data[s2.len / 2] ^= 1;
    assert_int_not_equal(att_signer_add_sealed(s, kr, "signing_keys", kid2, ATT_JWS_RS256, s2.data,
                                               s2.len, c2.data, c2.len),
                         ATT_OK);
    att_signer_free(s);
    att_buf_cleanup(&c1);
    att_buf_cleanup(&c2);
    att_buf_cleanup(&s1);
    att_buf_cleanup(&s2);
    att_buf_cleanup(&sig);
    att_keyring_free(kr);
    att_store_close(store);
    att_test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_free),
        cmocka_unit_test(test_generate),
        cmocka_unit_test(test_add_and_lookup),
        cmocka_unit_test(test_small_rsa_refused),
        cmocka_unit_test(test_table_full),
        cmocka_unit_test(test_sign_rs256),
        cmocka_unit_test(test_sign_es256),
        cmocka_unit_test(test_es256_randomized),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_create_key_and_add_pkcs8),
        cmocka_unit_test(test_add_pkcs8_certificate_mismatch),
        cmocka_unit_test(test_sealed_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
