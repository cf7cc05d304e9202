/*
 * test_ecdsa.c - raw r || s signatures to DER: byte-identical to OpenSSL's i2d_ECDSA_SIG for
 * every shape of integer (leading zeros, top bit set, zero), and verification end to end.
 */
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "att_test.h"
#include "crypto/ecdsa.h"

/* What OpenSSL writes for the same r and s. */
static void same_as_openssl(const uint8_t *raw, size_t coord)
{
    uint8_t der[ATT_ECDSA_DER_MAX];
    size_t der_len = 0;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)coord, NULL);
    BIGNUM *s = BN_bin2bn(raw + coord, (int)coord, NULL);
    unsigned char *want = NULL;
    assert_true(sig != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(sig, r, s) == 1);
    int n = i2d_ECDSA_SIG(sig, &want);
    assert_true(n > 0);
    EXPECT_OK(att_ecdsa_raw_to_der(raw, 2 * coord, coord, der, &der_len));
    assert_int_equal(der_len, (size_t)n);
    assert_memory_equal(der, want, der_len);
    OPENSSL_free(want);
    ECDSA_SIG_free(sig);
}

static void test_integer_shapes(void **state)
{
    (void)state;
    static const size_t coords[] = {32, 48, 66};
    uint8_t raw[132];
    for (size_t c = 0; c < sizeof(coords) / sizeof(coords[0]); c++) {
        size_t coord = coords[c];
        /* zero, one, top bit set, leading zero bytes of every count, all ones */
        for (size_t lead = 0; lead <= coord; lead++) {
            for (int top = 0; top < 2; top++) {
                memset(raw, 0, sizeof(raw));
                for (size_t i = lead; i < coord; i++) {
                    raw[i] = (uint8_t)(i == lead ? (top ? 0x80 : 0x7f) : 0x5a);
                    raw[coord + i] = (uint8_t)(i == lead ? (top ? 0xff : 0x01) : 0xa5);
                }
                same_as_openssl(raw, coord);
            }
        }
        memset(raw, 0xff, 2 * coord);
        same_as_openssl(raw, coord);
    }
    srand(3);
    for (int round = 0; round < 2000; round++) {
        size_t coord = coords[round % 3];
        for (size_t i = 0; i < 2 * coord; i++) {
            raw[i] = (uint8_t)(rand() % 4 == 0 ? 0 : rand());
        }
        same_as_openssl(raw, coord);
    }
}

static void test_wrong_lengths(void **state)
{
    (void)state;
    uint8_t raw[140] = {1};
    uint8_t der[ATT_ECDSA_DER_MAX];
    size_t n = 0;
    EXPECT_ERR(att_ecdsa_raw_to_der(raw, 63, 32, der, &n), ATT_ERR_SIGNATURE);
    EXPECT_ERR(att_ecdsa_raw_to_der(raw, 65, 32, der, &n), ATT_ERR_SIGNATURE);
    EXPECT_ERR(att_ecdsa_raw_to_der(raw, 0, 0, der, &n), ATT_ERR_SIGNATURE);
    EXPECT_ERR(att_ecdsa_raw_to_der(raw, 134, 67, der, &n), ATT_ERR_SIGNATURE);
}

/* A real P-256 signature, converted to raw and back, verifies; a flipped bit does not. */
static void test_verify_raw(void **state)
{
    (void)state;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    static const char msg[] = "attestd";
    unsigned char der[80];
    size_t der_len = sizeof(der);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_true(key != NULL && md != NULL);
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
    assert_int_equal(EVP_DigestSign(md, der, &der_len, (const unsigned char *)msg, 7), 1);
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    assert_non_null(sig);
    uint8_t raw[64];
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32), 32);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32), 32);
    EXPECT_OK(att_ecdsa_verify_raw(key, raw, sizeof(raw), msg, 7));
    raw[40] ^= 1;
    EXPECT_ERR(att_ecdsa_verify_raw(key, raw, sizeof(raw), msg, 7), ATT_ERR_SIGNATURE);
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integer_shapes),
        cmocka_unit_test(test_wrong_lengths),
        cmocka_unit_test(test_verify_raw),
    };
    return cmocka_run_group_tests_name("crypto_ecdsa", tests, NULL, NULL);
}
