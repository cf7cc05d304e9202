/*
 * Unit tests for src/auth/secret.c: generation, hashing round trip, a known answer for the
 * stored format, the KDF call against RFC 7914 §12, and every malformed or out-of-bounds
 * stored string with its specific code. Each scrypt at the default cost takes ~0.3 s under
 * ASan, so the hashes here are few (about 12) and most use ln=10.
 */
#include "att_test.h"

#include <stdbool.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "auth/secret.h"
#include "core/buf.h"
#include "core/codec.h"

/*
 * Known answer for our stored format: password "correct horse battery staple", salt
 * 00 01 .. 0f, N = 2^10, r = 8, p = 1, 32 bytes (Python hashlib.scrypt, OpenSSL 3).
 */
#define KAT_PASSWORD "correct horse battery staple"
#define KAT_SALT "AAECAwQFBgcICQoLDA0ODw"
#define KAT_HASH "mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU"
#define KAT_ENCODED "$scrypt$ln=10,r=8,p=1$" KAT_SALT "$" KAT_HASH

/* The same hash with one bit flipped in its last full byte. */
#define KAT_HASH_FLIPPED "mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRV"

static bool is_b64url(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

static void test_generate(void **state)
{
    (void)state;
    char a[ATT_SECRET_TEXT_LEN + 1];
    char b[ATT_SECRET_TEXT_LEN + 1];

    EXPECT_OK(att_secret_generate(a));
    EXPECT_OK(att_secret_generate(b));
    assert_int_equal(strlen(a), ATT_SECRET_TEXT_LEN);
    assert_int_equal(strlen(b), ATT_SECRET_TEXT_LEN);
    for (size_t i = 0; i < ATT_SECRET_TEXT_LEN; i++) {
        assert_true(is_b64url(a[i]));
        assert_true(is_b64url(b[i]));
    }
    assert_string_not_equal(a, b);
    /* 32 bytes decode back from the 43 characters. */
    struct att_buf raw;
    att_buf_init(&raw, 64);
    EXPECT_OK(att_b64url_decode(a, strlen(a), &raw));
    assert_int_equal(raw.len, 32);
    att_buf_cleanup(&raw);
}

/* Round trip at the default cost; wrong, truncated, empty and over-long secrets fail. */
static void test_round_trip(void **state)
{
    (void)state;
    char secret[ATT_SECRET_TEXT_LEN + 1];
    char enc[ATT_SECRET_HASH_MAX + 1];
    char enc2[ATT_SECRET_HASH_MAX + 1];

    EXPECT_OK(att_secret_generate(secret));
    EXPECT_OK(att_secret_hash(secret, strlen(secret), enc, sizeof(enc)));
    assert_int_equal(strncmp(enc, "$scrypt$ln=15,r=8,p=1$", 22), 0);
    /* 22 + 22 (salt) + 1 + 43 (hash) */
    assert_int_equal(strlen(enc), 88);
    assert_null(strchr(enc + 22, '=')); /* no base64 padding */
    EXPECT_OK(att_secret_verify(secret, strlen(secret), enc));

    char wrong[ATT_SECRET_TEXT_LEN + 1];
    (void)snprintf(wrong, sizeof(wrong), "%s", secret);
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    EXPECT_ERR(att_secret_verify(wrong, strlen(wrong), enc), ATT_ERR_CREDENTIALS);
    EXPECT_ERR(att_secret_verify(secret, strlen(secret) - 1, enc), ATT_ERR_CREDENTIALS);
    EXPECT_ERR(att_secret_verify("", 0, enc), ATT_ERR_CREDENTIALS);

    /* Over-long secrets are refused without work. */
    static char big[2048];
    memset(big, 'a', sizeof(big) - 1);
    EXPECT_ERR(att_secret_verify(big, strlen(big), enc), ATT_ERR_CREDENTIALS);

    /* A fresh salt each time. */
    EXPECT_OK(att_secret_hash(secret, strlen(secret), enc2, sizeof(enc2)));
    assert_string_not_equal(enc, enc2);
}

static void test_hash_arguments(void **state)
{
    (void)state;
    char small[ATT_SECRET_HASH_MAX];
    char enc[ATT_SECRET_HASH_MAX + 1];

    memset(small, 'x', sizeof(small));
    EXPECT_ERR(att_secret_hash("abc", 3, small, sizeof(small)), ATT_ERR_ARG);
    EXPECT_ERR(att_secret_hash("abc", 3, NULL, 200), ATT_ERR_ARG);
    EXPECT_ERR(att_secret_hash(NULL, 3, enc, sizeof(enc)), ATT_ERR_ARG);
    EXPECT_ERR(att_secret_verify(NULL, 3, KAT_ENCODED), ATT_ERR_ARG);
    EXPECT_ERR(att_secret_verify("abc", 3, NULL), ATT_ERR_ARG);
    /* Out-parameter untouched on failure. */
    assert_int_equal(small[0], 'x');
}

/* Our parse and KDF call agree with an independent computation of the stored form. */
static void test_known_answer(void **state)
{
    (void)state;
    EXPECT_OK(att_secret_verify(KAT_PASSWORD, strlen(KAT_PASSWORD), KAT_ENCODED));
    EXPECT_ERR(att_secret_verify("correct horse battery stapler", 29, KAT_ENCODED),
               ATT_ERR_CREDENTIALS);
    EXPECT_ERR(att_secret_verify(KAT_PASSWORD, strlen(KAT_PASSWORD),
                                 "$scrypt$ln=10,r=8,p=1$" KAT_SALT "$" KAT_HASH_FLIPPED),
               ATT_ERR_PARSE); /* non-zero unused bits: not canonical */
    EXPECT_ERR(att_secret_verify(KAT_PASSWORD, strlen(KAT_PASSWORD),
                                 "$scrypt$ln=10,r=8,p=1$" KAT_SALT
                                 "$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRQ"),
               ATT_ERR_CREDENTIALS); /* last byte differs */
    /* The same password with different parameters gives a different hash. */
    EXPECT_ERR(att_secret_verify(KAT_PASSWORD, strlen(KAT_PASSWORD),
                                 "$scrypt$ln=11,r=8,p=1$" KAT_SALT "$" KAT_HASH),
               ATT_ERR_CREDENTIALS);
    EXPECT_ERR(att_secret_verify(KAT_PASSWORD, strlen(KAT_PASSWORD),
                                 "$scrypt$ln=10,r=8,p=2$" KAT_SALT "$" KAT_HASH),
               ATT_ERR_CREDENTIALS);
}

/*
 * RFC 7914 §12, second vector: scrypt (P="password", S="NaCl", N=1024, r=8, p=16, dkLen=64).
 * p = 16 is over our bound, so this checks the EVP_KDF parameters secret.c uses directly.
 */
static void test_rfc7914_vector(void **state)
{
    (void)state;
    static const uint8_t expect[64] = {
        0xfd, 0xba, 0xbe, 0x1c, 0x9d, 0x34, 0x72, 0x00, 0x78, 0x56, 0xe7, 0x19, 0x0d,
        0x01, 0xe9, 0xfe, 0x7c, 0x6a, 0xd7, 0xcb, 0xc8, 0x23, 0x78, 0x30, 0xe7, 0x73,
        0x76, 0x63, 0x4b, 0x37, 0x31, 0x62, 0x2e, 0xaf, 0x30, 0xd9, 0x2e, 0x22, 0xa3,
        0x88, 0x6f, 0xf1, 0x09, 0x27, 0x9d, 0x98, 0x30, 0xda, 0xc7, 0x27, 0xaf, 0xb9,
        0x4a, 0x83, 0xee, 0x6d, 0x83, 0x60, 0xcb, 0xdf, 0xa2, 0xcc, 0x06, 0x40,
    };
    char password[] = "password";
    char salt[] = "NaCl";
    uint64_t n = 1024;
    uint32_t r = 8;
    uint32_t p = 16;
    uint64_t maxmem = 128 * (uint64_t)r * (n + 2) + 128 * (uint64_t)r * p + (1 << 20);
    uint8_t out[64];
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, password, 8),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt, 4),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
        OSSL_PARAM_construct_end(),
    };
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
    assert_non_null(kdf);
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    assert_non_null(ctx);
    assert_int_equal(EVP_KDF_derive(ctx, out, sizeof(out), params), 1);
    assert_memory_equal(out, expect, sizeof(expect));
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
}

/* The largest memory and lane count within the bounds run (maxmem is high enough). */
static void test_bounds_edges_run(void **state)
{
    (void)state;
    /* ln=12, r=32, p=4: the most lanes and block size; 2x the default work. */
    EXPECT_ERR(att_secret_verify("x", 1, "$scrypt$ln=12,r=32,p=4$" KAT_SALT "$" KAT_HASH),
               ATT_ERR_CREDENTIALS);
    /* ln=10, r=1, p=1: the cheapest accepted. */
    EXPECT_ERR(att_secret_verify("x", 1, "$scrypt$ln=10,r=1,p=1$" KAT_SALT "$" KAT_HASH),
               ATT_ERR_CREDENTIALS);
}

struct bad_case {
    const char *encoded;
    att_err want;
};

#define SALT_HASH "$" KAT_SALT "$" KAT_HASH

/* None of these reaches the KDF: parsing and bounds come first. */
static void test_malformed(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        /* missing parts */
        {"", ATT_ERR_PARSE},
        {"$", ATT_ERR_PARSE},
        {"$scrypt", ATT_ERR_PARSE},
        {"$scrypt$", ATT_ERR_PARSE},
        {"$scrypt$ln=10,r=8,p=1", ATT_ERR_PARSE},
        {"$scrypt$ln=10,r=8,p=1$" KAT_SALT, ATT_ERR_PARSE},
        {"$scrypt$ln=10,r=8,p=1$" KAT_SALT "$", ATT_ERR_PARSE},
        {"$scrypt$ln=10,r=8$" KAT_SALT "$" KAT_HASH, ATT_ERR_PARSE},
        {"$scrypt$$" KAT_SALT "$" KAT_HASH, ATT_ERR_PARSE},
        {"$scrypt$ln=10,r=8,p=1$$" KAT_HASH, ATT_ERR_PARSE},
        /* wrong framing or identifier */
        {"scrypt$ln=10,r=8,p=1" SALT_HASH, ATT_ERR_PARSE},
        {"x$scrypt$ln=10,r=8,p=1" SALT_HASH, ATT_ERR_PARSE},
        {"$argon2id$ln=10,r=8,p=1" SALT_HASH, ATT_ERR_PARSE},
        {"$SCRYPT$ln=10,r=8,p=1" SALT_HASH, ATT_ERR_PARSE},
        {"$scrypt$v=1$ln=10,r=8,p=1" SALT_HASH, ATT_ERR_PARSE},
        /* parameters: order, names, syntax */
        {"$scrypt$r=8,ln=10,p=1" SALT_HASH, ATT_ERR_PARSE},
        {"$scrypt$ln=10,p=1,r=8" SALT_HASH, ATT_ERR_PARSE},
        {"$scrypt$n=10,r=8,p=1" SALT_HASH, ATT_ERR_PARSE},
        {"$scrypt$ln=10,r=8,p=1,x=1" SALT_HASH, ATT_ERR_PARSE},
        {"$scrypt$ln=10,r=8,p=1," SALT_HASH, ATT_ERR_PARSE},
        {"$scrypt$ln=,r=8,p=1" SALT_HASH, ATT_ERR_PARSE},
        {"$scrypt$ln=1a,r=8,p=1" SALT_HASH, ATT_ERR_PARSE},
        {"$scrypt$ln=-1,r=8,p=1" SALT_HASH, ATT_ERR_PARSE},
        {"$scrypt$ln=+10,r=8,p=1" SALT_HASH, ATT_ERR_PARSE},
        {"$scrypt$ln=010,r=8,p=1" SALT_HASH, ATT_ERR_PARSE},
        {"$scrypt$ln= 10,r=8,p=1" SALT_HASH, ATT_ERR_PARSE},
        {"$scrypt$ln=10,r=8,p=1 " SALT_HASH, ATT_ERR_PARSE},
        {"$scrypt$ln10,r=8,p=1" SALT_HASH, ATT_ERR_PARSE},
        /* bad base64: alphabet, padding, non-canonical bits */
        {"$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0OD-$" KAT_HASH, ATT_ERR_PARSE},
        {"$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0OD*$" KAT_HASH, ATT_ERR_PARSE},
        {"$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw==$" KAT_HASH, ATT_ERR_PARSE},
        {"$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0OD=$" KAT_HASH, ATT_ERR_PARSE},
        {"$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODx$" KAT_HASH, ATT_ERR_PARSE},
        {"$scrypt$ln=10,r=8,p=1$" KAT_SALT "$" KAT_HASH "=", ATT_ERR_PARSE},
        {"$scrypt$ln=10,r=8,p=1$" KAT_SALT "$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S_AXJlRU",
         ATT_ERR_PARSE},
        /* wrong lengths: 15- and 17-byte salt, 31- and 33-byte hash */
        {"$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0O$" KAT_HASH, ATT_ERR_PARSE},
        {"$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODxA$" KAT_HASH, ATT_ERR_PARSE},
        {"$scrypt$ln=10,r=8,p=1$" KAT_SALT "$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlQ",
         ATT_ERR_PARSE},
        {"$scrypt$ln=10,r=8,p=1$" KAT_SALT "$mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRUA",
         ATT_ERR_PARSE},
        /* trailing garbage */
        {"$scrypt$ln=10,r=8,p=1" SALT_HASH "$", ATT_ERR_PARSE},
        {"$scrypt$ln=10,r=8,p=1" SALT_HASH "$x", ATT_ERR_PARSE},
        {"$scrypt$ln=10,r=8,p=1" SALT_HASH " ", ATT_ERR_PARSE},
        {"$scrypt$ln=10,r=8,p=1" SALT_HASH "\n", ATT_ERR_PARSE},
        /* out of bounds: each parameter, and the products */
        {"$scrypt$ln=9,r=8,p=1" SALT_HASH, ATT_ERR_VALIDATE},
        {"$scrypt$ln=21,r=8,p=1" SALT_HASH, ATT_ERR_VALIDATE},
        {"$scrypt$ln=30,r=8,p=1" SALT_HASH, ATT_ERR_VALIDATE},
        {"$scrypt$ln=64,r=8,p=1" SALT_HASH, ATT_ERR_VALIDATE},
        {"$scrypt$ln=99999999999999999999999,r=8,p=1" SALT_HASH, ATT_ERR_VALIDATE},
        {"$scrypt$ln=0,r=8,p=1" SALT_HASH, ATT_ERR_VALIDATE},
        {"$scrypt$ln=10,r=0,p=1" SALT_HASH, ATT_ERR_VALIDATE},
        {"$scrypt$ln=10,r=33,p=1" SALT_HASH, ATT_ERR_VALIDATE},
        {"$scrypt$ln=10,r=8,p=0" SALT_HASH, ATT_ERR_VALIDATE},
        {"$scrypt$ln=10,r=8,p=5" SALT_HASH, ATT_ERR_VALIDATE},
        {"$scrypt$ln=10,r=8,p=9" SALT_HASH, ATT_ERR_VALIDATE},
        {"$scrypt$ln=20,r=32,p=4" SALT_HASH, ATT_ERR_VALIDATE},
        {"$scrypt$ln=20,r=8,p=1" SALT_HASH, ATT_ERR_VALIDATE},
        {"$scrypt$ln=18,r=8,p=4" SALT_HASH, ATT_ERR_VALIDATE},
        /* syntax is judged before bounds */
        {"$scrypt$ln=30,r=8,p=1$" KAT_SALT "$", ATT_ERR_PARSE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        att_err rc = att_secret_verify(KAT_PASSWORD, strlen(KAT_PASSWORD), cases[i].encoded);
        if (rc != cases[i].want) {
            fail_msg("case %zu \"%s\": expected %s, got %s", i, cases[i].encoded,
                     att_err_name(cases[i].want), att_err_name(rc));
        }
    }
}

/* Longer than any hash we write: refused before parsing, also when otherwise valid. */
static void test_overlong_encoded(void **state)
{
    (void)state;
    char enc[ATT_SECRET_HASH_MAX + 64];
    int n = snprintf(enc, sizeof(enc), "%s", KAT_ENCODED);
    memset(enc + n, 'A', sizeof(enc) - 1 - (size_t)n);
    enc[sizeof(enc) - 1] = '\0';
    EXPECT_ERR(att_secret_verify(KAT_PASSWORD, strlen(KAT_PASSWORD), enc), ATT_ERR_PARSE);
}

/* Every prefix of a valid string is malformed. */
static void test_truncations(void **state)
{
    (void)state;
    const char *full = KAT_ENCODED;
    char buf[ATT_SECRET_HASH_MAX + 1];
    for (size_t n = 0; n < strlen(full); n++) {
        (void)snprintf(buf, sizeof(buf), "%.*s", (int)n, full);
        att_err rc = att_secret_verify(KAT_PASSWORD, strlen(KAT_PASSWORD), buf);
        if (rc != ATT_ERR_PARSE) {
            fail_msg("prefix %zu: expected ATT_ERR_PARSE, got %s", n, att_err_name(rc));
        }
    }
}

static void test_burn(void **state)
{
    (void)state;
    att_secret_burn("anything", 8);
    att_secret_burn(NULL, 0);
    att_secret_burn(NULL, 5); /* treated as empty, no crash */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate),       cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_hash_arguments), cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_rfc7914_vector), cmocka_unit_test(test_bounds_edges_run),
        cmocka_unit_test(test_malformed),      cmocka_unit_test(test_overlong_encoded),
        cmocka_unit_test(test_truncations),    cmocka_unit_test(test_burn),
    };
    return cmocka_run_group_tests_name("auth_secret", tests, NULL, NULL);
}
