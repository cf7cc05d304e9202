/*
 * test_sgx_quote.c - the DCAP quote parser and the Open Enclave header (src/evidence/intel/quote.c)
 * on the real samples, then on every truncation and on wrong values of each checked field.
 */
#include <time.h>

#include "dcap_fixtures.h"
#include "evidence/intel/quote.h"

static void hex_prefix(const uint8_t *p, const char *want)
{
    struct att_buf h;
    att_buf_init(&h, 256);
    EXPECT_OK(att_hex_encode(p, strlen(want) / 2, &h));
    assert_memory_equal(h.data, want, strlen(want));
    att_buf_cleanup(&h);
}

static void test_sgx01(void **state)
{
    (void)state;
    struct att_buf b;
    struct att_intel_quote q;
    char msg[256] = "";
    fixture_load("dcap/sgx/sgx01_dcapqvl_quote.bin", &b);
    EXPECT_OK(att_intel_quote_parse(b.data, b.len, ATT_INTEL_TEE_SGX, &q, msg, sizeof(msg)));
    assert_int_equal(q.header.version, 3);
    assert_int_equal(q.header.att_key_type, 2);
    assert_int_equal(q.header.tee_type, 0);
    assert_int_equal(q.body.isvprodid, 0);
    assert_int_equal(q.body.isvsvn, 0);
    assert_int_equal(q.body.flags & ATT_SGX_FLAGS_DEBUG, 0);
    hex_prefix(q.body.mrenclave, "33d8736d");
    hex_prefix(q.body.mrsigner, "815f42f1");
    assert_memory_equal(q.body.reportdata, "Hello, world!", 13);
    assert_int_equal(q.sig.qe_report.isvsvn, 10);
    assert_int_equal(q.sig.qe_report.isvprodid, 1);
    assert_int_equal(q.sig.qe_auth_data.len, 32);
    assert_int_equal(q.sig.cert_type, ATT_CERT_TYPE_PCK_CHAIN);
    assert_memory_equal(q.sig.pck_pem.ptr, "-----BEGIN CERTIFICATE-----", 27);
    assert_int_not_equal(q.sig.pck_pem.ptr[q.sig.pck_pem.len - 1], 0); /* the NUL is trimmed */
    assert_int_equal(q.bytes.len, b.len);
    assert_int_equal(q.padding, 0);
    assert_int_equal(q.signed_part.len, 432);
    att_buf_cleanup(&b);
}

static void test_sgx02_sgx03(void **state)
{
    (void)state;
    struct att_buf b;
    struct att_intel_quote q;
    fixture_load("dcap/sgx/sgx02_automata_debug_quote.hex", &b);
    assert_int_equal(b.len, 4734);
    EXPECT_OK(att_intel_quote_parse(b.data, b.len, ATT_INTEL_TEE_SGX, &q, NULL, 0));
    assert_int_not_equal(q.body.flags & ATT_SGX_FLAGS_DEBUG, 0);
    hex_prefix(q.body.mrenclave, "46049af7");
    hex_prefix(q.body.mrsigner, "ef69011f");
    assert_int_equal(q.body.isvsvn, 1);
    att_buf_cleanup(&b);

    fixture_load("dcap/sgx/sgx03_automata_godcap_quote.hex", &b);
    EXPECT_OK(att_intel_quote_parse(b.data, b.len, ATT_INTEL_TEE_SGX, &q, NULL, 0));
    assert_int_equal(q.body.flags & ATT_SGX_FLAGS_DEBUG, 0);
    hex_prefix(q.body.mrenclave, "3e7830a3");
    hex_prefix(q.body.mrsigner, "60d77782");
    att_buf_cleanup(&b);
}

static void test_open_enclave(void **state)
{
    (void)state;
    struct att_buf b;
    struct att_bytes inner;
    struct att_intel_quote q;
    char msg[256] = "";
    fixture_load("dcap/openenclave/oe01_azure_sdk_oe_report_debug.bin", &b);
    EXPECT_OK(att_oe_report_unwrap(b.data, b.len, &inner, msg, sizeof(msg)));
    assert_int_equal(inner.len, 4584);
    assert_ptr_equal(inner.ptr, b.data + 16);
    EXPECT_OK(att_intel_quote_parse(inner.ptr, inner.len, ATT_INTEL_TEE_SGX, &q, msg, sizeof(msg)));
    hex_prefix(q.body.mrenclave, "292a1f4b");
    hex_prefix(q.body.mrsigner, "4aea5f9a");
    assert_int_equal(q.body.isvprodid, 1);
    assert_int_equal(q.body.isvsvn, 1);
    assert_int_not_equal(q.body.flags & ATT_SGX_FLAGS_DEBUG, 0);
    assert_int_equal(q.sig.qe_report.isvsvn, 5);

    /* The header's three checks, each with its message. */
    uint8_t *p = b.data;
    p[0] = 2;
    EXPECT_ERR(att_oe_report_unwrap(p, b.len, &inner, msg, sizeof(msg)), ATT_ERR_OE_HEADER);
    assert_string_equal(msg, "Open Enclave report header version 2 is not 1");
    p[0] = 1;
    p[4] = 1;
    EXPECT_ERR(att_oe_report_unwrap(p, b.len, &inner, msg, sizeof(msg)), ATT_ERR_OE_HEADER);
    assert_string_equal(msg, "Open Enclave report type 1 is not a remote report (2)");
    p[4] = 2;
    EXPECT_ERR(att_oe_report_unwrap(p, b.len - 1, &inner, msg, sizeof(msg)), ATT_ERR_OE_HEADER);
    assert_string_equal(msg,
                        "Open Enclave report size 4584 differs from the 4583 bytes that follow");
    for (size_t n = 0; n < 16; n++) {
        EXPECT_ERR(att_oe_report_unwrap(p, n, &inner, NULL, 0), ATT_ERR_TRUNCATED);
    }
    att_buf_cleanup(&b);
}

/* Every proper prefix of a real quote is refused with a message, never parsed. */
static void test_truncated_everywhere(void **state)
{
    (void)state;
    const char *files[] = {"dcap/sgx/sgx01_dcapqvl_quote.bin",
                           "dcap/sgx/sgx02_automata_debug_quote.hex"};
    for (size_t f = 0; f < 2; f++) {
        struct att_buf b;
        fixture_load(files[f], &b);
        for (size_t n = 0; n < b.len; n++) {
            struct att_intel_quote q;
            char msg[256] = "";
            /* A copy of exactly n bytes, so ASan sees any read past it. */
            uint8_t *cut = malloc(n > 0 ? n : 1);
            memcpy(cut, b.data, n);
            att_err rc = att_intel_quote_parse(cut, n, ATT_INTEL_TEE_SGX, &q, msg, sizeof(msg));
            free(cut);
            if (rc == ATT_OK) {
                fail_msg("%s cut at %zu parsed", files[f], n);
            }
            if (msg[0] == '\0') {
                fail_msg("%s cut at %zu: %s without a message", files[f], n, att_err_name(rc));
            }
        }
        att_buf_cleanup(&b);
    }
}

static void set_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void set_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* One wrong value per checked field, each with its own code and message. */
static void test_wrong_fields(void **state)
{
    (void)state;
    struct att_buf b;
    struct att_intel_quote q;
    char msg[256] = "";
    fixture_load("dcap/sgx/sgx01_dcapqvl_quote.bin", &b);
    uint8_t *p = b.data;

    set_u16(p, 2);
    EXPECT_ERR(att_intel_quote_parse(p, b.len, ATT_INTEL_TEE_SGX, &q, msg, sizeof(msg)),
               ATT_ERR_QUOTE_VERSION);
    assert_string_equal(msg, "quote version 2 is not supported (3, 4 or 5)");
    set_u16(p, 4);
    EXPECT_ERR(att_intel_quote_parse(p, b.len, ATT_INTEL_TEE_SGX, &q, msg, sizeof(msg)),
               ATT_ERR_QUOTE_VERSION);
    assert_string_equal(msg, "quote version 4 is not an SGX quote (3)");
    set_u16(p, 3);

    set_u16(p + 2, 3);
    EXPECT_ERR(att_intel_quote_parse(p, b.len, ATT_INTEL_TEE_SGX, &q, msg, sizeof(msg)),
               ATT_ERR_QUOTE_KEY_TYPE);
    assert_string_equal(msg, "attestation key type 3 is not ECDSA P-256 (2)");
    set_u16(p + 2, 2);

    set_u32(p + 4, 0x81);
    EXPECT_ERR(att_intel_quote_parse(p, b.len, ATT_INTEL_TEE_SGX, &q, msg, sizeof(msg)),
               ATT_ERR_QUOTE_TEE_TYPE);
    assert_string_equal(msg, "TEE type 0x00000081 is not valid in a version 3 quote");
    set_u32(p + 4, 0);

    p[0x0C] ^= 1;
    EXPECT_ERR(att_intel_quote_parse(p, b.len, ATT_INTEL_TEE_SGX, &q, msg, sizeof(msg)),
               ATT_ERR_QUOTE_QE_VENDOR);
    p[0x0C] ^= 1;

    /* Signature data length: longer than the quote, and shorter than its parts. */
    uint32_t sig_len = (uint32_t)(b.len - 0x1B4);
    set_u32(p + 0x1B0, sig_len + 1);
    EXPECT_ERR(att_intel_quote_parse(p, b.len, ATT_INTEL_TEE_SGX, &q, msg, sizeof(msg)),
               ATT_ERR_TRUNCATED);
    assert_string_equal(msg, "signature data length 4165 runs past the quote (4164 bytes left)");
    set_u32(p + 0x1B0, sig_len - 1);
    EXPECT_ERR(att_intel_quote_parse(p, b.len, ATT_INTEL_TEE_SGX, &q, msg, sizeof(msg)),
               ATT_ERR_TRUNCATED);
    set_u32(p + 0x1B0, sig_len);

    /* Certification data type (at S+0x242+N with N = 32). */
    size_t type_off = 0x1B4 + 0x242 + 32;
    set_u16(p + type_off, 3);
    EXPECT_ERR(att_intel_quote_parse(p, b.len, ATT_INTEL_TEE_SGX, &q, msg, sizeof(msg)),
               ATT_ERR_QUOTE_CERT_TYPE);
    assert_string_equal(msg, "PCK certification data type 3 is not supported (5: PCK chain)");
    set_u16(p + type_off, 5);
    EXPECT_OK(att_intel_quote_parse(p, b.len, ATT_INTEL_TEE_SGX, &q, msg, sizeof(msg)));
    att_buf_cleanup(&b);
}

/* Zero bytes after the declared end are padding (counted); anything else is refused. */
static void test_padding(void **state)
{
    (void)state;
    struct att_buf b;
    struct att_intel_quote q;
    char msg[256] = "";
    fixture_load("dcap/sgx/sgx01_dcapqvl_quote.bin", &b);
    size_t n = b.len;
    for (int i = 0; i < 70; i++) {
        EXPECT_OK(att_buf_putc(&b, 0));
    }
    EXPECT_OK(att_intel_quote_parse(b.data, b.len, ATT_INTEL_TEE_SGX, &q, msg, sizeof(msg)));
    assert_int_equal(q.padding, 70);
    assert_int_equal(q.bytes.len, n);
    b.data[n + 69] = 1;
    EXPECT_ERR(att_intel_quote_parse(b.data, b.len, ATT_INTEL_TEE_SGX, &q, msg, sizeof(msg)),
               ATT_ERR_QUOTE_PADDING);
    assert_string_equal(msg, "non-zero byte after the end of the quote at offset 4669");
    att_buf_cleanup(&b);
}

static void test_too_large(void **state)
{
    (void)state;
    struct att_intel_quote q;
    char msg[128];
    uint8_t *big = calloc(1, ATT_QUOTE_MAX_LEN + 1);
    EXPECT_ERR(
        att_intel_quote_parse(big, ATT_QUOTE_MAX_LEN + 1, ATT_INTEL_TEE_SGX, &q, msg, sizeof(msg)),
        ATT_ERR_TOO_LARGE);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgx01),        cmocka_unit_test(test_sgx02_sgx03),
        cmocka_unit_test(test_open_enclave), cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_wrong_fields), cmocka_unit_test(test_padding),
        cmocka_unit_test(test_too_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
