/*
 * Unit tests for src/collateral/bundle.c: every bundle in tests/fixtures/dcap parsed (CRLs are
 * DER CRLs equal to the roots/ copies, chains and documents byte for byte, signatures verify over
 * the documents), written back and read again, PEM CRLs accepted, and the refusals: truncation,
 * missing members, wrong types, bad hex or PEM, caps, duplicate names.
 */
#include "coll_test.h"

#include <openssl/x509.h>

#include "collateral/bundle.h"
#include "evidence/intel/tcbinfo.h"

#define SGX01 "dcap/sgx/sgx01_dcapqvl_collateral.json"
#define TDX04 "dcap/tdx/tdx04_gotdx_collateral_50806f_2023-06_bundle.json"

static const char *const members[9] = {
    "pck_crl_issuer_chain",     "root_ca_crl", "pck_crl",
    "tcb_info_issuer_chain",    "tcb_info",    "tcb_info_signature",
    "qe_identity_issuer_chain", "qe_identity", "qe_identity_signature",
};

static void parse_ok(const char *text, size_t n, struct att_dcap_bundle *b)
{
    char msg[256];
    att_err rc = att_dcap_bundle_parse(text, n, b, msg, sizeof(msg));
    if (rc != ATT_OK) {
        fail_msg("bundle: %s: %s", att_err_name(rc), msg);
    }
}

static void expect_fail(const char *text, size_t n, att_err code, const char *want)
{
    struct att_dcap_bundle b;
    char msg[256] = "";
    memset(&b, 0x5a, sizeof(b));
    att_err rc = att_dcap_bundle_parse(text, n, &b, msg, sizeof(msg));
    if (rc != code) {
        fail_msg("expected %s, got %s (%s)", att_err_name(code), att_err_name(rc), msg);
    }
    /* written only on success */
    assert_int_equal(b.tcb_info_signature[0], 0x5a);
    assert_int_equal(b.tcb_info.len, (size_t)0x5a5a5a5a5a5a5a5aULL);
    if (want != NULL && strcmp(msg, want) != 0) {
        fail_msg("message \"%s\", expected \"%s\"", msg, want);
    }
}

static bool same(const struct att_buf *a, const void *p, size_t n)
{
    return a->len == n && (n == 0 || memcmp(a->data, p, n) == 0);
}

static bool buf_eq(const struct att_buf *a, const struct att_buf *b)
{
    return same(a, b->data, b->len);
}

static void assert_bundles_equal(const struct att_dcap_bundle *a, const struct att_dcap_bundle *b)
{
    assert_true(buf_eq(&a->pck_crl_issuer_chain, &b->pck_crl_issuer_chain));
    assert_true(buf_eq(&a->root_ca_crl, &b->root_ca_crl));
    assert_true(buf_eq(&a->pck_crl, &b->pck_crl));
    assert_true(buf_eq(&a->tcb_info_issuer_chain, &b->tcb_info_issuer_chain));
    assert_true(buf_eq(&a->tcb_info, &b->tcb_info));
    assert_memory_equal(a->tcb_info_signature, b->tcb_info_signature, 64);
    assert_true(buf_eq(&a->qe_identity_issuer_chain, &b->qe_identity_issuer_chain));
    assert_true(buf_eq(&a->qe_identity, &b->qe_identity));
    assert_memory_equal(a->qe_identity_signature, b->qe_identity_signature, 64);
}

/* A DER CRL that OpenSSL reads back to exactly its own length. */
static void assert_der_crl(const struct att_buf *der)
{
    const unsigned char *p = der->data;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)der->len);
    assert_non_null(crl);
    assert_ptr_equal(p, der->data + der->len);
    X509_CRL_free(crl);
}

static void test_real_bundles(void **state)
{
    (void)state;
    for (size_t i = 0; i < COLL_N_BUNDLES; i++) {
        struct att_buf text;
        struct att_dcap_bundle b;
        coll_load(coll_bundles[i], &text);
        parse_ok((const char *)text.data, text.len, &b);

        assert_der_crl(&b.root_ca_crl);
        assert_der_crl(&b.pck_crl);
        /* the PEM and document members, byte for byte as jansson decodes them */
        static const size_t text_members[] = {0, 3, 4, 6, 7};
        const struct att_buf *bufs[] = {&b.pck_crl_issuer_chain,     NULL,          NULL,
                                        &b.tcb_info_issuer_chain,    &b.tcb_info,   NULL,
                                        &b.qe_identity_issuer_chain, &b.qe_identity};
        for (size_t k = 0; k < sizeof(text_members) / sizeof(text_members[0]); k++) {
            size_t m = text_members[k], n = 0;
            char *want = coll_bundle_member(coll_bundles[i], members[m], &n);
            assert_true(same(bufs[m], want, n));
            free(want);
        }
        assert_true(strncmp((const char *)b.tcb_info_issuer_chain.data,
                            "-----BEGIN CERTIFICATE-----", 27) == 0);
        /* the signatures are Intel's over the exact document text */
        if (!coll_tcb_sig_ok(b.tcb_info.data, b.tcb_info.len, b.tcb_info_signature)) {
            fail_msg("%s: TCB info signature does not verify", coll_bundles[i]);
        }
        if (!coll_tcb_sig_ok(b.qe_identity.data, b.qe_identity.len, b.qe_identity_signature)) {
            fail_msg("%s: QE identity signature does not verify", coll_bundles[i]);
        }
        /* the documents parse */
        struct att_tcb_info *t = NULL;
        char msg[256];
        EXPECT_OK(att_tcb_info_parse((const char *)b.tcb_info.data, b.tcb_info.len, &t, msg,
                                     sizeof(msg)));
        att_tcb_info_free(t);

        /* written back and read again: equal */
        struct att_buf out;
        struct att_dcap_bundle again;
        att_buf_init(&out, ATT_BUNDLE_MAX_JSON);
        EXPECT_OK(att_dcap_bundle_to_json(&b, &out));
        parse_ok((const char *)out.data, out.len, &again);
        assert_bundles_equal(&b, &again);
        att_dcap_bundle_cleanup(&again);
        att_buf_cleanup(&out);

        att_dcap_bundle_cleanup(&b);
        att_dcap_bundle_cleanup(&b); /* idempotent */
        att_buf_cleanup(&text);
    }
    att_dcap_bundle_cleanup(NULL);
}

/* CRLs and chains equal the copies in roots/ that MANIFEST.md names as their sources. */
static void test_known_contents(void **state)
{
    (void)state;
    static const struct {
        const char *bundle;
        const char *root_crl;
        const char *tcb_chain;
        const char *pck_chain;
    } known[] = {
        {SGX01, "dcap/roots/intel_root_ca_crl_2025-03.der", NULL,
         "dcap/roots/intel_pck_processor_ca_chain.pem"},
        {"dcap/tdx/tdx01_dcapqvl_collateral.json", "dcap/roots/intel_root_ca_crl_2025-03.der",
         "dcap/roots/intel_tcb_signing_chain_2025.pem",
         "dcap/roots/intel_pck_platform_ca_chain.pem"},
        {TDX04, "dcap/roots/intel_root_ca_crl_2023-04.der",
         "dcap/roots/intel_tcb_signing_chain_2018.pem", NULL},
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        struct att_buf text, want;
        struct att_dcap_bundle b;
        coll_load(known[i].bundle, &text);
        parse_ok((const char *)text.data, text.len, &b);
        coll_load(known[i].root_crl, &want);
        assert_true(buf_eq(&b.root_ca_crl, &want));
        att_buf_cleanup(&want);
        if (known[i].tcb_chain != NULL) {
            coll_load(known[i].tcb_chain, &want);
            assert_true(buf_eq(&b.tcb_info_issuer_chain, &want));
            assert_true(buf_eq(&b.qe_identity_issuer_chain, &want));
            att_buf_cleanup(&want);
        }
        if (known[i].pck_chain != NULL) {
            coll_load(known[i].pck_chain, &want);
            assert_true(buf_eq(&b.pck_crl_issuer_chain, &want));
            att_buf_cleanup(&want);
        }
        att_dcap_bundle_cleanup(&b);
        att_buf_cleanup(&text);
    }
    /* the 00606a bundle's PCK CRL is raw_pck_platform_crl_2025-08.der */
    struct att_buf text, want;
    struct att_dcap_bundle b;
    coll_load("dcap/sgx/collateral_00606a000000_2025-08_bundle.json", &text);
    parse_ok((const char *)text.data, text.len, &b);
    coll_load("dcap/sgx/raw_pck_platform_crl_2025-08.der", &want);
    assert_true(buf_eq(&b.pck_crl, &want));
    att_buf_cleanup(&want);
    att_dcap_bundle_cleanup(&b);
    att_buf_cleanup(&text);
}

/* PEM text of a DER CRL. */
static char *crl_pem(const struct att_buf *der)
{
    const unsigned char *p = der->data;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)der->len);
    assert_non_null(crl);
    BIO *bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_X509_CRL(bio, crl), 1);
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    char *out = malloc((size_t)n + 1);
    assert_non_null(out);
    memcpy(out, data, (size_t)n);
    out[n] = 0;
    BIO_free(bio);
    X509_CRL_free(crl);
    return out;
}

static char *with_member(const char *base, size_t n, const char *key, json_t *v)
{
    return coll_mutate(base, n, "", key, v);
}

static void test_pem_crls(void **state)
{
    (void)state;
    struct att_buf text;
    struct att_dcap_bundle b, c;
    coll_load(SGX01, &text);
    parse_ok((const char *)text.data, text.len, &b);

    char *root_pem = crl_pem(&b.root_ca_crl);
    char *pck_pem = crl_pem(&b.pck_crl);
    char *doc =
        with_member((const char *)text.data, text.len, "root_ca_crl", json_string(root_pem));
    char *doc2 = with_member(doc, strlen(doc), "pck_crl", json_string(pck_pem));
    parse_ok(doc2, strlen(doc2), &c);
    assert_bundles_equal(&b, &c);
    att_dcap_bundle_cleanup(&c);
    free(doc);
    free(doc2);

    /* trailing whitespace is fine; anything else after the block is not */
    size_t pn = strlen(root_pem);
    char *v = malloc(pn + 64);
    assert_non_null(v);
    static const struct {
        const char *suffix;
        att_err code;
    } tails[] = {
        {"\n\n  \t\r\n", ATT_OK},
        {"x", ATT_ERR_ENCODING},
        {"-----BEGIN X509 CRL-----\n", ATT_ERR_ENCODING},
    };
    for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
        snprintf(v, pn + 64, "%s%s", root_pem, tails[i].suffix);
        doc = with_member((const char *)text.data, text.len, "root_ca_crl", json_string(v));
        if (tails[i].code == ATT_OK) {
            parse_ok(doc, strlen(doc), &c);
            assert_true(buf_eq(&c.root_ca_crl, &b.root_ca_crl));
            att_dcap_bundle_cleanup(&c);
        } else {
            expect_fail(doc, strlen(doc), tails[i].code, "root_ca_crl: not one PEM X509 CRL block");
        }
        free(doc);
    }
    /* a wrong label, a broken body, a certificate */
    snprintf(v, pn + 64, "%s", root_pem);
    char *end = strstr(v, "-----END X509 CRL-----");
    assert_non_null(end);
    memcpy(end, "-----END X509 CRX-----", 22);
    doc = with_member((const char *)text.data, text.len, "root_ca_crl", json_string(v));
    expect_fail(doc, strlen(doc), ATT_ERR_ENCODING, "root_ca_crl: not one PEM X509 CRL block");
    free(doc);
    snprintf(v, pn + 64, "%s", root_pem);
    v[40] = '*';
    doc = with_member((const char *)text.data, text.len, "root_ca_crl", json_string(v));
    expect_fail(doc, strlen(doc), ATT_ERR_ENCODING, NULL);
    free(doc);
    doc = with_member((const char *)text.data, text.len, "pck_crl",
                      json_string("-----BEGIN X509 CRL-----\n-----END X509 CRL-----\n"));
    expect_fail(doc, strlen(doc), ATT_ERR_ENCODING, "pck_crl: not one PEM X509 CRL block");
    free(doc);
    doc = with_member((const char *)text.data, text.len, "pck_crl",
                      json_string((const char *)b.pck_crl_issuer_chain.data));
    expect_fail(doc, strlen(doc), ATT_ERR_ENCODING, "pck_crl: neither hex nor a PEM X509 CRL");
    free(doc);
    /* leading space: not PEM (and not hex) */
    snprintf(v, pn + 64, " %s", root_pem);
    doc = with_member((const char *)text.data, text.len, "root_ca_crl", json_string(v));
    expect_fail(doc, strlen(doc), ATT_ERR_ENCODING, NULL);
    free(doc);

    free(v);
    free(root_pem);
    free(pck_pem);
    att_dcap_bundle_cleanup(&b);
    att_buf_cleanup(&text);
}

static void test_members(void **state)
{
    (void)state;
    struct att_buf text;
    coll_load(SGX01, &text);
    const char *base = (const char *)text.data;
    char want[128];

    for (size_t i = 0; i < 9; i++) {
        /* missing */
        char *doc = with_member(base, text.len, members[i], NULL);
        snprintf(want, sizeof(want), "%s: missing", members[i]);
        expect_fail(doc, strlen(doc), ATT_ERR_COLLATERAL_FORMAT, want);
        free(doc);
        /* wrong types */
        json_t *wrong[] = {json_integer(1), json_object(), json_null(), json_pack("[s]", "x")};
        for (size_t k = 0; k < 4; k++) {
            doc = with_member(base, text.len, members[i], wrong[k]);
            snprintf(want, sizeof(want), "%s: expected a string", members[i]);
            expect_fail(doc, strlen(doc), ATT_ERR_COLLATERAL_FORMAT, want);
            free(doc);
        }
        /* empty */
        doc = with_member(base, text.len, members[i], json_string(""));
        if (strstr(members[i], "signature") != NULL) {
            snprintf(want, sizeof(want), "%s: expected 128 hex digits, found 0 characters",
                     members[i]);
        } else {
            snprintf(want, sizeof(want), "%s: empty", members[i]);
        }
        expect_fail(doc, strlen(doc), ATT_ERR_COLLATERAL_FORMAT, want);
        free(doc);
    }
    /* hex members */
    size_t n = 0;
    char *crl = coll_bundle_member(SGX01, "root_ca_crl", &n);
    char *v = malloc(n + 8);
    assert_non_null(v);
    snprintf(v, n + 8, "0x%s", crl);
    char *doc = with_member(base, text.len, "root_ca_crl", json_string(v));
    expect_fail(doc, strlen(doc), ATT_ERR_ENCODING, "root_ca_crl: neither hex nor a PEM X509 CRL");
    free(doc);
    snprintf(v, n + 8, "%s0", crl);
    doc = with_member(base, text.len, "root_ca_crl", json_string(v));
    expect_fail(doc, strlen(doc), ATT_ERR_ENCODING, NULL);
    free(doc);
    snprintf(v, n + 8, "%s", crl);
    v[10] = 'q';
    doc = with_member(base, text.len, "pck_crl", json_string(v));
    expect_fail(doc, strlen(doc), ATT_ERR_ENCODING, "pck_crl: neither hex nor a PEM X509 CRL");
    free(doc);
    for (size_t i = 0; i < n; i++) { /* upper-case hex is the same CRL */
        v[i] = (char)(crl[i] >= 'a' && crl[i] <= 'f' ? crl[i] - 32 : crl[i]);
    }
    v[n] = 0;
    doc = with_member(base, text.len, "root_ca_crl", json_string(v));
    struct att_dcap_bundle b, c;
    parse_ok(doc, strlen(doc), &b);
    parse_ok(base, text.len, &c);
    assert_bundles_equal(&b, &c);
    att_dcap_bundle_cleanup(&b);
    att_dcap_bundle_cleanup(&c);
    free(doc);
    free(v);
    free(crl);

    /* signatures: exact length, hex only */
    doc = with_member(base, text.len, "tcb_info_signature", json_string("00"));
    expect_fail(doc, strlen(doc), ATT_ERR_COLLATERAL_FORMAT,
                "tcb_info_signature: expected 128 hex digits, found 2 characters");
    free(doc);
    char *sig = coll_bundle_member(SGX01, "qe_identity_signature", &n);
    assert_int_equal(n, 128);
    sig[127] = 'x';
    doc = with_member(base, text.len, "qe_identity_signature", json_string(sig));
    expect_fail(doc, strlen(doc), ATT_ERR_ENCODING, "qe_identity_signature: not hex");
    free(doc);
    free(sig);
    /* unknown members are ignored */
    doc = with_member(base, text.len, "pck_certificate_chain", json_string("x"));
    parse_ok(doc, strlen(doc), &b);
    att_dcap_bundle_cleanup(&b);
    free(doc);
    att_buf_cleanup(&text);
}

static void test_caps(void **state)
{
    (void)state;
    struct att_buf text;
    coll_load(SGX01, &text);
    const char *base = (const char *)text.data;
    struct att_dcap_bundle b;

    /* chains: 16 KiB */
    size_t max = ATT_BUNDLE_MAX_CHAIN_PEM;
    char *v = malloc(2 * (size_t)ATT_BUNDLE_MAX_CRL + 3);
    assert_non_null(v);
    memset(v, 'A', max + 1);
    v[max + 1] = 0;
    char *doc = with_member(base, text.len, "qe_identity_issuer_chain", json_string(v));
    expect_fail(doc, strlen(doc), ATT_ERR_TOO_LARGE,
                "qe_identity_issuer_chain: 16385 bytes, more than 16384");
    free(doc);
    v[max] = 0;
    doc = with_member(base, text.len, "qe_identity_issuer_chain", json_string(v));
    parse_ok(doc, strlen(doc), &b);
    assert_int_equal(b.qe_identity_issuer_chain.len, max);
    att_dcap_bundle_cleanup(&b);
    free(doc);

    /* documents: ATT_COLLATERAL_MAX_DOC */
    memset(v, ' ', ATT_COLLATERAL_MAX_DOC + 1);
    v[ATT_COLLATERAL_MAX_DOC + 1] = 0;
    doc = with_member(base, text.len, "tcb_info", json_string(v));
    expect_fail(doc, strlen(doc), ATT_ERR_TOO_LARGE, "tcb_info: 262145 bytes, more than 262144");
    free(doc);
    v[ATT_COLLATERAL_MAX_DOC] = 0;
    doc = with_member(base, text.len, "tcb_info", json_string(v));
    parse_ok(doc, strlen(doc), &b);
    assert_int_equal(b.tcb_info.len, ATT_COLLATERAL_MAX_DOC);
    att_dcap_bundle_cleanup(&b);
    free(doc);

    /* CRLs: 1 MiB of DER (2 MiB of hex) */
    size_t hex = 2 * (size_t)ATT_BUNDLE_MAX_CRL;
    memset(v, '0', hex + 2);
    v[hex + 2] = 0;
    doc = with_member(base, text.len, "pck_crl", json_string(v));
    expect_fail(doc, strlen(doc), ATT_ERR_TOO_LARGE, "pck_crl: 2097154 bytes, more than 2097152");
    free(doc);
    v[hex] = 0;
    doc = with_member(base, text.len, "pck_crl", json_string(v));
    parse_ok(doc, strlen(doc), &b);
    assert_int_equal(b.pck_crl.len, ATT_BUNDLE_MAX_CRL);
    att_dcap_bundle_cleanup(&b);
    free(doc);
    free(v);

    /* the whole text */
    size_t n = ATT_BUNDLE_MAX_JSON + 1;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, ' ', n);
    memcpy(big, base, text.len);
    parse_ok(big, n - 1, &b);
    att_dcap_bundle_cleanup(&b);
    expect_fail(big, n, ATT_ERR_TOO_LARGE, NULL);
    free(big);
    att_buf_cleanup(&text);
}

static void test_framing(void **state)
{
    (void)state;
    struct att_buf text;
    coll_load(TDX04, &text);
    /* truncated at every offset */
    for (size_t cut = 0; cut < text.len; cut++) {
        char *p = malloc(cut > 0 ? cut : 1);
        assert_non_null(p);
        memcpy(p, text.data, cut);
        expect_fail(p, cut, ATT_ERR_COLLATERAL_FORMAT, NULL);
        free(p);
    }
    /* duplicate names */
    char *dup = malloc(text.len + 64);
    assert_non_null(dup);
    snprintf(dup, text.len + 64, "{\"pck_crl\":\"00\",%s", (const char *)text.data + 1);
    expect_fail(dup, strlen(dup), ATT_ERR_COLLATERAL_FORMAT, NULL);
    struct att_dcap_bundle b;
    char msg[256];
    EXPECT_ERR(att_dcap_bundle_parse(dup, strlen(dup), &b, msg, sizeof(msg)),
               ATT_ERR_COLLATERAL_FORMAT);
    assert_true(strncmp(msg, "duplicate member name (byte ", 28) == 0);
    free(dup);
    expect_fail("[]", 2, ATT_ERR_COLLATERAL_FORMAT, "expected a JSON object");
    expect_fail("{}", 2, ATT_ERR_COLLATERAL_FORMAT, "pck_crl_issuer_chain: missing");
    expect_fail(NULL, 0, ATT_ERR_COLLATERAL_FORMAT, NULL);
    EXPECT_ERR(att_dcap_bundle_parse((const char *)text.data, text.len, NULL, msg, sizeof(msg)),
               ATT_ERR_ARG);
    EXPECT_ERR(att_dcap_bundle_parse(NULL, 4, &b, msg, sizeof(msg)), ATT_ERR_ARG);
    att_buf_cleanup(&text);
}

static void test_to_json(void **state)
{
    (void)state;
    struct att_buf text, out;
    struct att_dcap_bundle b;
    coll_load(SGX01, &text);
    parse_ok((const char *)text.data, text.len, &b);

    /* the layout: members in order, lowercase hex, two-space indent */
    att_buf_init(&out, ATT_BUNDLE_MAX_JSON);
    EXPECT_OK(att_buf_put(&out, "prefix", 6));
    EXPECT_OK(att_dcap_bundle_to_json(&b, &out));
    const char *s = (const char *)out.data;
    assert_true(strncmp(s, "prefix{\n  \"pck_crl_issuer_chain\": \"-----BEGIN", 45) == 0);
    const char *last = s;
    for (size_t i = 0; i < 9; i++) {
        char key[64];
        snprintf(key, sizeof(key), "\"%s\":", members[i]);
        const char *at = strstr(s, key);
        assert_non_null(at);
        assert_true(at > last);
        last = at;
    }
    assert_non_null(strstr(s, "\"root_ca_crl\": \"308201203081c8020101"));
    assert_int_equal(s[out.len - 1], '\n');

    /* a too-small buffer: refused, contents kept */
    struct att_buf small;
    att_buf_init(&small, 1000);
    EXPECT_OK(att_buf_put(&small, "keep", 4));
    att_err rc = att_dcap_bundle_to_json(&b, &small);
    assert_int_equal(rc, ATT_ERR_TOO_LARGE);
    assert_int_equal(small.len, 4);
    att_buf_cleanup(&small);

    /* text members must be UTF-8 to be written as JSON */
    EXPECT_OK(att_buf_put(&b.qe_identity, "\xff", 1));
    att_buf_reset(&out);
    EXPECT_ERR(att_dcap_bundle_to_json(&b, &out), ATT_ERR_ENCODING);
    assert_int_equal(out.len, 0);
    EXPECT_ERR(att_dcap_bundle_to_json(NULL, &out), ATT_ERR_ARG);
    EXPECT_ERR(att_dcap_bundle_to_json(&b, NULL), ATT_ERR_ARG);

    att_buf_cleanup(&out);
    att_dcap_bundle_cleanup(&b);
    att_buf_cleanup(&text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_bundles), cmocka_unit_test(test_known_contents),
        cmocka_unit_test(test_pem_crls),     cmocka_unit_test(test_members),
        cmocka_unit_test(test_caps),         cmocka_unit_test(test_framing),
        cmocka_unit_test(test_to_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
