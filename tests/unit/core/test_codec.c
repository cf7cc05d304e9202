/* Unit tests for src/core/codec.c: RFC 4648 vectors, strictness, bad alphabet and padding. */
#include <openssl/evp.h>

#include "att_test.h"

#include <string.h>

#include "core/codec.h"

struct vec {
    const char *raw;
    const char *b64;
    const char *b64url;
};

/* RFC 4648 §10 test vectors (base64url has no padding). */
static const struct vec vectors[] = {
    {"", "", ""},
    {"f", "Zg==", "Zg"},
    {"fo", "Zm8=", "Zm8"},
    {"foo", "Zm9v", "Zm9v"},
    {"foob", "Zm9vYg==", "Zm9vYg"},
    {"fooba", "Zm9vYmE=", "Zm9vYmE"},
    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
};

static void test_rfc4648_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        struct att_buf b;
        att_buf_init(&b, 1024);
        EXPECT_OK(att_b64_encode(vectors[i].raw, strlen(vectors[i].raw), &b));
        assert_string_equal(att_buf_cstr(&b), vectors[i].b64);
        att_buf_reset(&b);
        EXPECT_OK(att_b64url_encode(vectors[i].raw, strlen(vectors[i].raw), &b));
        assert_string_equal(att_buf_cstr(&b), vectors[i].b64url);
        att_buf_reset(&b);
        EXPECT_OK(att_b64_decode(vectors[i].b64, strlen(vectors[i].b64), &b));
        assert_string_equal(att_buf_cstr(&b), vectors[i].raw);
        att_buf_reset(&b);
        EXPECT_OK(att_b64url_decode(vectors[i].b64url, strlen(vectors[i].b64url), &b));
        assert_string_equal(att_buf_cstr(&b), vectors[i].raw);
        att_buf_cleanup(&b);
    }
}

static void test_url_alphabet(void **state)
{
    (void)state;
    const uint8_t raw[] = {0xfb, 0xff, 0xbf};
    struct att_buf b;
    att_buf_init(&b, 64);
    EXPECT_OK(att_b64url_encode(raw, sizeof(raw), &b));
    assert_string_equal(att_buf_cstr(&b), "-_-_");
    att_buf_reset(&b);
    EXPECT_OK(att_b64_encode(raw, sizeof(raw), &b));
    assert_string_equal(att_buf_cstr(&b), "+/+/");
    att_buf_reset(&b);
    EXPECT_ERR(att_b64url_decode("+/+/", 4, &b), ATT_ERR_ENCODING);
    EXPECT_ERR(att_b64_decode("-_-_", 4, &b), ATT_ERR_ENCODING);
    assert_int_equal(b.len, 0);
    att_buf_cleanup(&b);
}

static void test_b64url_rejects(void **state)
{
    (void)state;
    static const char *bad[] = {
        "Zg==",         /* padding is not allowed in base64url (RFC 7515 §2) */
        "Zm8=",   "Z",  /* 4k+1 symbols cannot encode whole bytes */
        "Zm9vY",  "Zh", /* non-zero unused bits: not canonical */
        "Zm9",          /* 'Zm9' -> unused bits of '9' non-zero */
        "Zm 9v",        /* whitespace */
        "Zm9v\n", "Zm9*", "Zm9v=", "\xc3\xa9xx",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct att_buf b;
        att_buf_init(&b, 64);
        EXPECT_OK(att_buf_puts(&b, "keep"));
        att_err rc = att_b64url_decode(bad[i], strlen(bad[i]), &b);
        if (rc != ATT_ERR_ENCODING) {
            fail_msg("input '%s': expected ATT_ERR_ENCODING, got %s", bad[i], att_err_name(rc));
        }
        /* Output untouched on failure. */
        assert_string_equal(att_buf_cstr(&b), "keep");
        att_buf_cleanup(&b);
    }
}

static void test_b64_rejects(void **state)
{
    (void)state;
    static const char *bad[] = {
        "Zg",                            /* missing padding */
        "Zg=",                           /* short padding */
        "Zg===",                         /* too much */
        "====",      "Z===",     "Zh==", /* non-canonical */
        "Zm9=",      "Zg==Zg==",         /* padding in the middle */
        "Zm9v YmFy",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct att_buf b;
        att_buf_init(&b, 64);
        att_err rc = att_b64_decode(bad[i], strlen(bad[i]), &b);
        if (rc != ATT_ERR_ENCODING) {
            fail_msg("input '%s': expected ATT_ERR_ENCODING, got %s", bad[i], att_err_name(rc));
        }
        assert_int_equal(b.len, 0);
        att_buf_cleanup(&b);
    }
}

static void test_all_bytes_round_trip(void **state)
{
    (void)state;
    uint8_t raw[256];
    for (size_t i = 0; i < sizeof(raw); i++) {
        raw[i] = (uint8_t)i;
    }
    for (size_t n = 0; n <= sizeof(raw); n += 1) {
        struct att_buf enc;
        struct att_buf dec;
        att_buf_init(&enc, 4096);
        att_buf_init(&dec, 4096);
        EXPECT_OK(att_b64url_encode(raw, n, &enc));
        EXPECT_OK(att_b64url_decode((const char *)enc.data, enc.len, &dec));
        assert_int_equal(dec.len, n);
        assert_true(n == 0 || memcmp(dec.data, raw, n) == 0);
        att_buf_reset(&enc);
        att_buf_reset(&dec);
        EXPECT_OK(att_hex_encode(raw, n, &enc));
        EXPECT_OK(att_hex_decode((const char *)enc.data, enc.len, &dec));
        assert_true(n == 0 || memcmp(dec.data, raw, n) == 0);
        att_buf_cleanup(&enc);
        att_buf_cleanup(&dec);
    }
}

static void test_hex(void **state)
{
    (void)state;
    struct att_buf b;
    att_buf_init(&b, 64);
    EXPECT_OK(att_hex_encode("\x00\xab\xff", 3, &b));
    assert_string_equal(att_buf_cstr(&b), "00abff");
    att_buf_reset(&b);
    EXPECT_OK(att_hex_decode("00ABff", 6, &b));
    assert_int_equal(b.len, 3);
    assert_int_equal(b.data[1], 0xab);
    att_buf_reset(&b);
    EXPECT_ERR(att_hex_decode("abc", 3, &b), ATT_ERR_ENCODING);
    EXPECT_ERR(att_hex_decode("0g", 2, &b), ATT_ERR_ENCODING);
    EXPECT_ERR(att_hex_decode("0x00", 4, &b), ATT_ERR_ENCODING);
    EXPECT_ERR(att_hex_decode(" 0", 2, &b), ATT_ERR_ENCODING);
    assert_int_equal(b.len, 0);
    att_buf_cleanup(&b);
}

static void test_output_cap(void **state)
{
    (void)state;
    struct att_buf b;
    att_buf_init(&b, 7);
    EXPECT_ERR(att_b64url_encode("foobar", 6, &b), ATT_ERR_TOO_LARGE);
    att_buf_cleanup(&b);
    att_buf_init(&b, 2);
    EXPECT_ERR(att_hex_decode("aabbcc", 6, &b), ATT_ERR_TOO_LARGE);
    att_buf_cleanup(&b);
}

/*
 * Against OpenSSL's encoder, at every length up to several encoder and decoder chunks (768
 * input bytes, 1024 symbols), so chunk seams and final partial groups are all crossed.
 */
static void test_against_openssl(void **state)
{
    (void)state;
    static uint8_t raw[3100];
    static unsigned char want[4200];
    for (size_t i = 0; i < sizeof(raw); i++) {
        raw[i] = (uint8_t)(i * 131 + (i >> 3));
    }
    for (size_t n = 0; n <= sizeof(raw); n += (n < 80 ? 1 : 7)) {
        struct att_buf enc;
        struct att_buf dec;
        int wlen = EVP_EncodeBlock(want, raw, (int)n);
        att_buf_init(&enc, 8192);
        att_buf_init(&dec, 8192);
        EXPECT_OK(att_b64_encode(raw, n, &enc));
        assert_int_equal(enc.len, (size_t)wlen);
        assert_memory_equal(enc.data, want, (size_t)wlen);
        EXPECT_OK(att_b64_decode((const char *)enc.data, enc.len, &dec));
        assert_int_equal(dec.len, n);
        assert_true(n == 0 || memcmp(dec.data, raw, n) == 0);
        /* base64url: the same symbols but '-' and '_', no padding. */
        att_buf_reset(&enc);
        att_buf_reset(&dec);
        EXPECT_OK(att_b64url_encode(raw, n, &enc));
        size_t unpadded = (size_t)wlen;
        while (unpadded > 0 && want[unpadded - 1] == '=') {
            unpadded--;
        }
        assert_int_equal(enc.len, unpadded);
        for (size_t i = 0; i < unpadded; i++) {
            char c = (char)want[i] == '+' ? '-' : (char)want[i] == '/' ? '_' : (char)want[i];
            assert_int_equal(enc.data[i], c);
        }
        EXPECT_OK(att_b64url_decode((const char *)enc.data, enc.len, &dec));
        assert_int_equal(dec.len, n);
        assert_true(n == 0 || memcmp(dec.data, raw, n) == 0);
        att_buf_cleanup(&enc);
        att_buf_cleanup(&dec);
    }
}

/* One bad symbol anywhere in a long text (any chunk, any place in a group) is refused. */
static void test_bad_symbol_everywhere(void **state)
{
    (void)state;
    static uint8_t raw[2300];
    for (size_t i = 0; i < sizeof(raw); i++) {
        raw[i] = (uint8_t)(i * 7);
    }
    struct att_buf enc;
    att_buf_init(&enc, 8192);
    EXPECT_OK(att_b64url_encode(raw, sizeof(raw), &enc));
    for (size_t at = 0; at < enc.len; at++) {
        struct att_buf dec;
        uint8_t keep = enc.data[at];
        enc.data[at] = (at % 3 == 0) ? '=' : (at % 3 == 1) ? '+' : 0x80;
        att_buf_init(&dec, 8192);
        EXPECT_OK(att_buf_puts(&dec, "keep"));
        EXPECT_ERR(att_b64url_decode((const char *)enc.data, enc.len, &dec), ATT_ERR_ENCODING);
        assert_string_equal(att_buf_cstr(&dec), "keep");
        att_buf_cleanup(&dec);
        enc.data[at] = keep;
    }
    att_buf_cleanup(&enc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),
        cmocka_unit_test(test_url_alphabet),
        cmocka_unit_test(test_b64url_rejects),
        cmocka_unit_test(test_b64_rejects),
        cmocka_unit_test(test_all_bytes_round_trip),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_output_cap),
        cmocka_unit_test(test_against_openssl),
        cmocka_unit_test(test_bad_symbol_everywhere),
    };
    return cmocka_run_group_tests_name("core_codec", tests, NULL, NULL);
}
