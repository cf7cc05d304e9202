/*
 * Unit tests for src/collateral/pcs.c: the signed span of every raw PCS response in
 * tests/fixtures/dcap verifies with the Intel TCB Signing key (so the span is exact), equals the
 * text the bundles carry, survives reformatting and tricky strings around it, and the refusals;
 * the percent-encoded issuer-chain header of go-tdx-guest decodes to the PEM chain it came from.
 */
#include "coll_test.h"

#include "collateral/pcs.h"

struct raw {
    const char *file;
    const char *key;
    const char *bundle; /* a bundle assembled from this response, NULL: none */
    const char *member; /* "tcb_info" or "qe_identity" */
};

static const struct raw raws[] = {
    {"dcap/sgx/raw_tcbinfo_sgx_00606a000000_2025-08.json", "tcbInfo",
     "dcap/sgx/collateral_00606a000000_2025-08_bundle.json", "tcb_info"},
    {"dcap/sgx/raw_qeidentity_sgx_2025-08.json", "enclaveIdentity",
     "dcap/sgx/collateral_00606a000000_2025-08_bundle.json", "qe_identity"},
    {"dcap/tdx/raw_tcbinfo_tdx_00806f050000_2025-10.json", "tcbInfo",
     "dcap/tdx/collateral_00806f050000_2025-10_bundle.json", "tcb_info"},
    {"dcap/tdx/raw_qeidentity_tdqe_2025-10.json", "enclaveIdentity",
     "dcap/tdx/collateral_00806f050000_2025-10_bundle.json", "qe_identity"},
    {"dcap/tdx/raw_gotdx_sample_tcbInfo_response", "tcbInfo",
     "dcap/tdx/tdx04_gotdx_collateral_50806f_2023-06_bundle.json", "tcb_info"},
    {"dcap/tdx/raw_gotdx_sample_qeIdentity_response", "enclaveIdentity",
     "dcap/tdx/tdx04_gotdx_collateral_50806f_2023-06_bundle.json", "qe_identity"},
    {"dcap/tdx/raw_gotdx_sample_tcbinfo_response_v5", "tcbInfo",
     "dcap/tdx/tdx05_gotdx_collateral_90c06f_2026-02_bundle.json", "tcb_info"},
};
#define N_RAWS (sizeof(raws) / sizeof(raws[0]))
#define LIT(s) s, strlen(s)

static void body_ok(const char *text, size_t len, const char *key, struct att_bytes *body,
                    uint8_t sig[64])
{
    char msg[256];
    att_err rc = att_pcs_signed_body(text, len, key, body, sig, msg, sizeof(msg));
    if (rc != ATT_OK) {
        fail_msg("signed body: %s: %s", att_err_name(rc), msg);
    }
}

static void body_fail(const char *text, size_t len, const char *key, att_err code, const char *want)
{
    struct att_bytes body = {(const uint8_t *)"sentinel", 8};
    uint8_t sig[64];
    char msg[256] = "";
    memset(sig, 0x5a, sizeof(sig));
    att_err rc = att_pcs_signed_body(text, len, key, &body, sig, msg, sizeof(msg));
    if (rc != code) {
        fail_msg("expected %s, got %s (%s)", att_err_name(code), att_err_name(rc), msg);
    }
    assert_int_equal(body.len, 8); /* written only on success */
    assert_int_equal(sig[0], 0x5a);
    assert_int_equal(sig[63], 0x5a);
    if (want != NULL && strcmp(msg, want) != 0) {
        fail_msg("message \"%s\", expected \"%s\"", msg, want);
    }
}

static void test_real_responses(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_RAWS; i++) {
        struct att_buf raw;
        struct att_bytes body;
        uint8_t sig[64];
        coll_load(raws[i].file, &raw);
        body_ok((const char *)raw.data, raw.len, raws[i].key, &body, sig);

        /* a view into the input, from '{' to its '}' */
        assert_true(body.ptr > raw.data && body.ptr + body.len < raw.data + raw.len);
        assert_int_equal(body.ptr[0], '{');
        assert_int_equal(body.ptr[body.len - 1], '}');
        /* what Intel signed: verifies with the TCB Signing key ... */
        if (!coll_tcb_sig_ok(body.ptr, body.len, sig)) {
            fail_msg("%s: signature does not verify over the span", raws[i].file);
        }
        /* ... and not one byte more or less */
        assert_false(coll_tcb_sig_ok(body.ptr, body.len - 1, sig));
        assert_false(coll_tcb_sig_ok(body.ptr - 1, body.len + 1, sig));
        /* the bundle made from this response carries the same bytes */
        size_t n = 0;
        char *doc = coll_bundle_member(raws[i].bundle, raws[i].member, &n);
        assert_int_equal(n, body.len);
        assert_memory_equal(doc, body.ptr, n);
        free(doc);
        /* and its signature */
        char sigkey[64];
        snprintf(sigkey, sizeof(sigkey), "%s_signature", raws[i].member);
        char *hex = coll_bundle_member(raws[i].bundle, sigkey, &n);
        uint8_t want[64];
        coll_unhex(hex, want, sizeof(want));
        assert_memory_equal(sig, want, 64);
        free(hex);
        /* asking for the other document's key finds nothing */
        body_fail((const char *)raw.data, raw.len,
                  strcmp(raws[i].key, "tcbInfo") == 0 ? "enclaveIdentity" : "tcbInfo",
                  ATT_ERR_COLLATERAL_FORMAT, NULL);
        att_buf_cleanup(&raw);
    }
}

/* The same body inside other framing: reordered, spaced, with tricky strings around it. */
static void test_framing_variants(void **state)
{
    (void)state;
    struct att_buf raw;
    struct att_bytes body;
    uint8_t sig[64];
    coll_load(raws[0].file, &raw);
    body_ok((const char *)raw.data, raw.len, "tcbInfo", &body, sig);
    char sighex[129];
    for (size_t i = 0; i < 64; i++) {
        snprintf(sighex + 2 * i, 3, "%02X", sig[i]); /* upper case is accepted too */
    }
    /* prefix, signature, middle, body, suffix */
    static const char *const parts[][3] = {
        {"{\"signature\":\"", "\",\"tcbInfo\":", "}"},
        {" \r\n{ \"signature\" : \"", "\" ,\n\t\"tcbInfo\" :\n", "\n}\n "},
        {"{\"a\":\"}{\\\"tcbInfo\\\":{}\",\"signature\":\"",
         "\",\"b\":[{\"c\":\"]}\"}],\"tcbInfo\":",
         ",\"d\":\"\\\\\",\"e\":-1.5e3,\"f\":null,\"g\":true}"},
        {"{\"tcbInfoX\":{},\"signature\":\"", "\",\"tcbInf\":[],\"tcbInfo\":", ",\"x\":{}}"},
    };
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        size_t cap = body.len + 512;
        char *doc = malloc(cap);
        assert_non_null(doc);
        snprintf(doc, cap, "%s%s%s%.*s%s", parts[i][0], sighex, parts[i][1], (int)body.len,
                 (const char *)body.ptr, parts[i][2]);
        struct att_bytes b2;
        uint8_t sig2[64];
        body_ok(doc, strlen(doc), "tcbInfo", &b2, sig2);
        assert_int_equal(b2.len, body.len);
        assert_memory_equal(b2.ptr, body.ptr, body.len);
        assert_memory_equal(sig2, sig, 64);
        assert_true(coll_tcb_sig_ok(b2.ptr, b2.len, sig2));
        free(doc);
    }

    /* A body with braces, quotes and escapes inside its strings: the span still ends right. */
    char doc[512];
    snprintf(doc, sizeof(doc),
             "{\"tcbInfo\":{\"s\":\"}\\\"}\",\"t\":[\"{\",\"\\\\\"],\"u\":{\"v\":\"]\"}},"
             "\"signature\":\"%s\"}",
             sighex);
    body_ok(doc, strlen(doc), "tcbInfo", &body, sig);
    const char *want = "{\"s\":\"}\\\"}\",\"t\":[\"{\",\"\\\\\"],\"u\":{\"v\":\"]\"}}";
    assert_int_equal(body.len, strlen(want));
    assert_memory_equal(body.ptr, want, body.len);
    att_buf_cleanup(&raw);
}

static void test_refusals(void **state)
{
    (void)state;
    struct att_buf raw;
    struct att_bytes body;
    uint8_t sig[64];
    char sighex[129];
    char doc[1024];
    coll_load(raws[1].file, &raw);
    body_ok((const char *)raw.data, raw.len, "enclaveIdentity", &body, sig);
    for (size_t i = 0; i < 64; i++) {
        snprintf(sighex + 2 * i, 3, "%02x", sig[i]);
    }

    /* truncated at every offset */
    for (size_t cut = 0; cut < raw.len; cut++) {
        char *p = malloc(cut > 0 ? cut : 1);
        assert_non_null(p);
        memcpy(p, raw.data, cut);
        body_fail(p, cut, "enclaveIdentity", ATT_ERR_COLLATERAL_FORMAT, NULL);
        free(p);
    }
    /* shape */
    body_fail("[]", 2, "tcbInfo", ATT_ERR_COLLATERAL_FORMAT, "expected a JSON object");
    body_fail("", 0, "tcbInfo", ATT_ERR_COLLATERAL_FORMAT, NULL);
    body_fail(NULL, 0, "tcbInfo", ATT_ERR_COLLATERAL_FORMAT, NULL);
    snprintf(doc, sizeof(doc), "{\"signature\":\"%s\"}", sighex);
    body_fail(doc, strlen(doc), "tcbInfo", ATT_ERR_COLLATERAL_FORMAT, "tcbInfo: missing");
    snprintf(doc, sizeof(doc), "{\"tcbInfo\":[1],\"signature\":\"%s\"}", sighex);
    body_fail(doc, strlen(doc), "tcbInfo", ATT_ERR_COLLATERAL_FORMAT,
              "tcbInfo: expected an object");
    snprintf(doc, sizeof(doc), "{\"tcbInfo\":\"{}\",\"signature\":\"%s\"}", sighex);
    body_fail(doc, strlen(doc), "tcbInfo", ATT_ERR_COLLATERAL_FORMAT,
              "tcbInfo: expected an object");
    body_fail(LIT("{\"tcbInfo\":{}}"), "tcbInfo", ATT_ERR_COLLATERAL_FORMAT, "signature: missing");
    body_fail(LIT("{\"tcbInfo\":{},\"signature\":64}"), "tcbInfo", ATT_ERR_COLLATERAL_FORMAT,
              "signature: expected a string");
    body_fail(LIT("{\"tcbInfo\":{},\"signature\":\"abcd\"}"), "tcbInfo", ATT_ERR_COLLATERAL_FORMAT,
              "signature: expected 128 hex digits, found 4 characters");
    snprintf(doc, sizeof(doc), "{\"tcbInfo\":{},\"signature\":\"%s00\"}", sighex);
    body_fail(doc, strlen(doc), "tcbInfo", ATT_ERR_COLLATERAL_FORMAT,
              "signature: expected 128 hex digits, found 130 characters");
    char badhex[129];
    memcpy(badhex, sighex, sizeof(badhex));
    badhex[77] = 'g';
    snprintf(doc, sizeof(doc), "{\"tcbInfo\":{},\"signature\":\"%s\"}", badhex);
    body_fail(doc, strlen(doc), "tcbInfo", ATT_ERR_ENCODING, "signature: not hex");
    /* duplicates (jansson), escaped top-level names, trailing bytes */
    snprintf(doc, sizeof(doc), "{\"tcbInfo\":{},\"tcbInfo\":{\"a\":1},\"signature\":\"%s\"}",
             sighex);
    body_fail(doc, strlen(doc), "tcbInfo", ATT_ERR_COLLATERAL_FORMAT, NULL);
    snprintf(doc, sizeof(doc), "{\"tcb\\u0049nfo\":{},\"signature\":\"%s\"}", sighex);
    body_fail(doc, strlen(doc), "tcbInfo", ATT_ERR_COLLATERAL_FORMAT,
              "a top-level member name uses escapes");
    snprintf(doc, sizeof(doc), "{\"tcbInfo\":{},\"signature\":\"%s\"} {}", sighex);
    body_fail(doc, strlen(doc), "tcbInfo", ATT_ERR_COLLATERAL_FORMAT, NULL);
    snprintf(doc, sizeof(doc), "{\"tcbInfo\":{\"a\":{\"a\":1,\"a\":2}},\"signature\":\"%s\"}",
             sighex);
    body_fail(doc, strlen(doc), "tcbInfo", ATT_ERR_COLLATERAL_FORMAT, NULL);
    /* an escaped name below the top level is fine */
    snprintf(doc, sizeof(doc), "{\"tcbInfo\":{\"\\u0061\":1},\"signature\":\"%s\"}", sighex);
    body_ok(doc, strlen(doc), "tcbInfo", &body, sig);
    assert_int_equal(body.len, 12);
    /* caps: the response, and the body */
    size_t big = ATT_PCS_MAX_RESPONSE + 1;
    char *p = malloc(big);
    assert_non_null(p);
    memset(p, ' ', big);
    memcpy(p, raw.data, raw.len);
    body_ok(p, big - 1, "enclaveIdentity", &body, sig);
    body_fail(p, big, "enclaveIdentity", ATT_ERR_TOO_LARGE, NULL);
    /* {"x":"aaa..."} of ATT_COLLATERAL_MAX_DOC + 2 bytes */
    int k = snprintf(p, big, "{\"signature\":\"%s\",\"tcbInfo\":{\"x\":\"", sighex);
    memset(p + k, 'a', ATT_COLLATERAL_MAX_DOC);
    snprintf(p + k + ATT_COLLATERAL_MAX_DOC - 6, 4, "\"}}");
    body_fail(p, (size_t)k + ATT_COLLATERAL_MAX_DOC - 3, "tcbInfo", ATT_ERR_TOO_LARGE, NULL);
    snprintf(p + k + ATT_COLLATERAL_MAX_DOC - 8, 4, "\"}}");
    body_ok(p, (size_t)k + ATT_COLLATERAL_MAX_DOC - 5, "tcbInfo", &body, sig);
    assert_int_equal(body.len, ATT_COLLATERAL_MAX_DOC);
    free(p);
    /* arguments */
    EXPECT_ERR(att_pcs_signed_body((const char *)raw.data, raw.len, NULL, &body, sig, NULL, 0),
               ATT_ERR_ARG);
    EXPECT_ERR(att_pcs_signed_body((const char *)raw.data, raw.len, "tcbInfo", NULL, sig, NULL, 0),
               ATT_ERR_ARG);
    EXPECT_ERR(att_pcs_signed_body(NULL, 3, "tcbInfo", &body, sig, NULL, 0), ATT_ERR_ARG);
    att_buf_cleanup(&raw);
}

static void test_issuer_chain(void **state)
{
    (void)state;
    struct att_buf hdr, want, pem;
    coll_load("dcap/tdx/raw_gotdx_tcbInfoIssuerChain_header.txt", &hdr);
    coll_load("dcap/roots/intel_tcb_signing_chain_2018.pem", &want);
    att_buf_init(&pem, ATT_PCS_MAX_CHAIN_PEM);
    EXPECT_OK(att_pcs_issuer_chain_decode((const char *)hdr.data, hdr.len, &pem));
    assert_int_equal(pem.len, want.len);
    assert_memory_equal(pem.data, want.data, want.len);
    /* appends */
    EXPECT_OK(att_pcs_issuer_chain_decode("%41+b", 5, &pem));
    assert_int_equal(pem.len, want.len + 3);
    assert_memory_equal(pem.data + want.len, "A+b", 3);

    static const char *const bad[] = {"%",   "%4",  "%G1", "%4g",   "abc%0",
                                      "%00", "%7F", "%FF", "a\x01", "\x80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t before = pem.len;
        EXPECT_ERR(att_pcs_issuer_chain_decode(bad[i], strlen(bad[i]), &pem), ATT_ERR_ENCODING);
        assert_int_equal(pem.len, before);
    }
    EXPECT_ERR(att_pcs_issuer_chain_decode("", 0, &pem), ATT_ERR_ENCODING);
    EXPECT_OK(att_pcs_issuer_chain_decode("%0d%0A%09 ~", 11, &pem));

    /* caps: 16 KiB decoded, 48 KiB encoded */
    size_t n = 3 * ATT_PCS_MAX_CHAIN_PEM + 1;
    char *p = malloc(n);
    assert_non_null(p);
    for (size_t i = 0; i + 3 <= n; i += 3) {
        memcpy(p + i, "%41", 3);
    }
    p[n - 1] = 'A';
    struct att_buf out;
    att_buf_init(&out, 1 << 20);
    EXPECT_OK(att_pcs_issuer_chain_decode(p, n - 1, &out));
    assert_int_equal(out.len, ATT_PCS_MAX_CHAIN_PEM);
    EXPECT_ERR(att_pcs_issuer_chain_decode(p, n, &out), ATT_ERR_TOO_LARGE);
    memset(p, 'A', n);
    EXPECT_ERR(att_pcs_issuer_chain_decode(p, ATT_PCS_MAX_CHAIN_PEM + 1, &out), ATT_ERR_TOO_LARGE);
    assert_int_equal(out.len, ATT_PCS_MAX_CHAIN_PEM);
    /* the destination's own cap */
    struct att_buf small;
    att_buf_init(&small, 10);
    EXPECT_ERR(att_pcs_issuer_chain_decode((const char *)hdr.data, hdr.len, &small),
               ATT_ERR_TOO_LARGE);
    EXPECT_ERR(att_pcs_issuer_chain_decode(NULL, 1, &out), ATT_ERR_ARG);
    EXPECT_ERR(att_pcs_issuer_chain_decode("a", 1, NULL), ATT_ERR_ARG);
    att_buf_cleanup(&small);
    att_buf_cleanup(&out);
    free(p);
    att_buf_cleanup(&pem);
    att_buf_cleanup(&want);
    att_buf_cleanup(&hdr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_responses),
        cmocka_unit_test(test_framing_variants),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_issuer_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
