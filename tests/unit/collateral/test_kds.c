/*
 * Unit tests for src/collateral/kds.c without a network: products, the URLs of the three
 * products (Turin with fmcSPL and an 8-byte hwid, lower-case hex), every status and Retry-After
 * form of an answer, and the framing checks on VCEK, cert_chain and CRL bodies, on the real KDS
 * answers in tests/fixtures/snp/kds (README there) and on mutations of them; plus the fetches'
 * argument checks. One test fetches from tests/integration/kds_server.py (a child process
 * serving those fixtures over TLS), with the VCEK request built from the snp02 report's
 * CHIP_ID and REPORTED_TCB; it is skipped when python3 or openssl cannot be run.
 */
#include "coll_test.h"
#include "standin.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collateral/fetch.h"
#include "collateral/kds.h"
#include "core/codec.h"
#include "evidence/snp/report.h"
#include "net/https.h"

#define KDS_DIR "snp/kds"
#define VCEK_MILAN KDS_DIR "/vcek_milan_snp02.der"
#define VCEK_TURIN KDS_DIR "/vcek_turin.der"
#define CHAIN_MILAN KDS_DIR "/cert_chain_milan.pem"
#define CHAIN_TURIN KDS_DIR "/cert_chain_turin.pem"
#define CRL_TEST KDS_DIR "/crl_testonly.der"
#define SNP02 "snp/snp02_virtee_milan_report.hex"

#define MILAN_HWID                                                                                 \
    "d49554ec717f4e5b0fe6b143bcf0405bd7ae304727edf46603f2a76aef6a3abc"                             \
    "15d7af38db757039029f0efacfd08e244324884738c72b082e2f87a44d541eb6"
#define TURIN_HWID "1e550a8ee5cf9f4d"

/* 1994-11-06T08:49:37Z, RFC 9110's example date. */
#define RFC_DATE 784111777

static const enum att_kds_kind all_kinds[] = {ATT_KDS_VCEK, ATT_KDS_CERT_CHAIN, ATT_KDS_CRL};

/* ---- products and URLs -------------------------------------------------------------------- */

static void test_products(void **state)
{
    (void)state;
    assert_true(att_kds_product_known("Milan"));
    assert_true(att_kds_product_known("Genoa"));
    assert_true(att_kds_product_known("Turin"));
    assert_int_equal(att_kds_hwid_len("Milan"), 64);
    assert_int_equal(att_kds_hwid_len("Genoa"), 64);
    assert_int_equal(att_kds_hwid_len("Turin"), 8);
    static const char *const unknown[] = {"milan", "MILAN",  "Milan ", "Milan-B0",  "Siena",
                                          "Rome",  "Naples", "",       "Milan/../x"};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        assert_false(att_kds_product_known(unknown[i]));
        assert_int_equal(att_kds_hwid_len(unknown[i]), 0);
    }
    assert_false(att_kds_product_known(NULL));
}

/* The URL of a VCEK request as a C string (test-side, freed by the caller's buffer). */
static void expect_vcek_url(const char *base, const char *product, const uint8_t *hwid,
                            size_t hwid_len, const struct att_kds_tcb *tcb, const char *want)
{
    struct att_buf url;
    att_buf_init(&url, 4096);
    EXPECT_OK(att_kds_vcek_url(base, product, hwid, hwid_len, tcb, &url));
    assert_string_equal(att_buf_cstr(&url), want);
    att_buf_cleanup(&url);
}

static void expect_vcek_url_err(const char *base, const char *product, const uint8_t *hwid,
                                size_t hwid_len, const struct att_kds_tcb *tcb)
{
    struct att_buf url;
    att_buf_init(&url, 4096);
    EXPECT_OK(att_buf_puts(&url, "kept"));
    EXPECT_ERR(att_kds_vcek_url(base, product, hwid, hwid_len, tcb, &url), ATT_ERR_ARG);
    assert_string_equal(att_buf_cstr(&url), "kept"); /* left as it was */
    att_buf_cleanup(&url);
}

static void test_vcek_url(void **state)
{
    (void)state;
    uint8_t chip[64];
    uint8_t turin[8];
    coll_unhex(MILAN_HWID, chip, sizeof(chip));
    coll_unhex(TURIN_HWID, turin, sizeof(turin));
    const struct att_kds_tcb tcb = {.fmc = 7, .bl = 3, .tee = 0, .snp = 8, .ucode = 115};

    /* The KDS's host by default; SPLs in decimal; no fmcSPL off Turin. */
    expect_vcek_url(NULL, "Milan", chip, 64, &tcb,
                    "https://kdsintf.amd.com/vcek/v1/Milan/" MILAN_HWID
                    "?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115");
    expect_vcek_url("", "Genoa", chip, 64, &tcb,
                    "https://kdsintf.amd.com/vcek/v1/Genoa/" MILAN_HWID
                    "?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115");
    /* Turin: 8 bytes of hwid and fmcSPL. */
    expect_vcek_url(NULL, "Turin", turin, 8, &tcb,
                    "https://kdsintf.amd.com/vcek/v1/Turin/" TURIN_HWID
                    "?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115&fmcSPL=7");
    /* Hex in lower case only, every byte value; SPLs up to 255. */
    uint8_t ramp[64];
    char ramp_hex[129];
    for (size_t i = 0; i < 64; i++) {
        ramp[i] = (uint8_t)(0xC0 + i);
        snprintf(ramp_hex + 2 * i, 3, "%02x", ramp[i]);
    }
    const struct att_kds_tcb top = {255, 255, 255, 255, 255};
    char want[512];
    snprintf(want, sizeof(want),
             "https://mirror.example:8443/vcek/v1/Milan/%s"
             "?blSPL=255&teeSPL=255&snpSPL=255&ucodeSPL=255",
             ramp_hex);
    expect_vcek_url("https://mirror.example:8443//", "Milan", ramp, 64, &top, want);
    assert_null(strpbrk(want + strlen("https://mirror.example:8443/vcek/v1/Milan/"), "ABCDEF"));
    expect_vcek_url("https://mirror.example/", "Turin", ramp, 8, &top,
                    "https://mirror.example/vcek/v1/Turin/c0c1c2c3c4c5c6c7"
                    "?blSPL=255&teeSPL=255&snpSPL=255&ucodeSPL=255&fmcSPL=255");

    /* Refusals. */
    expect_vcek_url_err(NULL, "Siena", chip, 64, &tcb);
    expect_vcek_url_err(NULL, "milan", chip, 64, &tcb);
    expect_vcek_url_err(NULL, NULL, chip, 64, &tcb);
    expect_vcek_url_err(NULL, "Milan", chip, 8, &tcb); /* Turin's length */
    expect_vcek_url_err(NULL, "Genoa", chip, 63, &tcb);
    expect_vcek_url_err(NULL, "Turin", chip, 64, &tcb); /* all of CHIP_ID: no */
    expect_vcek_url_err(NULL, "Turin", turin, 7, &tcb);
    expect_vcek_url_err(NULL, "Milan", chip, 0, &tcb);
    expect_vcek_url_err(NULL, "Milan", NULL, 64, &tcb);
    expect_vcek_url_err(NULL, "Milan", chip, 64, NULL);
    uint8_t zero[64] = {0}; /* MASK_CHIP_KEY: CHIP_ID is zero */
    expect_vcek_url_err(NULL, "Milan", zero, 64, &tcb);
    expect_vcek_url_err(NULL, "Turin", zero, 8, &tcb);
    expect_vcek_url_err("http://kdsintf.amd.com", "Milan", chip, 64, &tcb);
    expect_vcek_url_err("kdsintf.amd.com", "Milan", chip, 64, &tcb);
    expect_vcek_url_err("https://", "Milan", chip, 64, &tcb);
    expect_vcek_url_err("https:///", "Milan", chip, 64, &tcb);
    char *long_base = malloc(ATT_KDS_URL_MAX + 2);
    assert_non_null(long_base);
    memset(long_base, 'a', ATT_KDS_URL_MAX + 1);
    memcpy(long_base, "https://", 8);
    long_base[ATT_KDS_URL_MAX + 1] = '\0';
    expect_vcek_url_err(long_base, "Milan", chip, 64, &tcb);
    long_base[ATT_KDS_URL_MAX] = '\0'; /* exactly the longest */
    struct att_buf url;
    att_buf_init(&url, 4096);
    EXPECT_OK(att_kds_vcek_url(long_base, "Milan", chip, 64, &tcb, &url));
    att_buf_cleanup(&url);
    free(long_base);
    EXPECT_ERR(att_kds_vcek_url(NULL, "Milan", chip, 64, &tcb, NULL), ATT_ERR_ARG);
    /* url's own cap. */
    att_buf_init(&url, 16);
    EXPECT_ERR(att_kds_vcek_url(NULL, "Milan", chip, 64, &tcb, &url), ATT_ERR_TOO_LARGE);
    assert_int_equal(url.len, 0);
    att_buf_cleanup(&url);
}

static void test_ca_url(void **state)
{
    (void)state;
    static const char *const products[] = {"Milan", "Genoa", "Turin"};
    struct att_buf url;
    char want[128];
    for (size_t p = 0; p < 3; p++) {
        for (int vlek = 0; vlek < 2; vlek++) {
            for (int crl = 0; crl < 2; crl++) {
                att_buf_init(&url, 4096);
                EXPECT_OK(att_kds_ca_url(NULL, products[p], vlek != 0,
                                         crl ? ATT_KDS_CRL : ATT_KDS_CERT_CHAIN, &url));
                snprintf(want, sizeof(want), "https://kdsintf.amd.com/%s/v1/%s/%s",
                         vlek ? "vlek" : "vcek", products[p], crl ? "crl" : "cert_chain");
                assert_string_equal(att_buf_cstr(&url), want);
                att_buf_cleanup(&url);
            }
        }
    }
    att_buf_init(&url, 4096);
    EXPECT_OK(att_kds_ca_url("https://127.0.0.1:4443/", "Turin", false, ATT_KDS_CRL, &url));
    assert_string_equal(att_buf_cstr(&url), "https://127.0.0.1:4443/vcek/v1/Turin/crl");
    att_buf_reset(&url);
    EXPECT_OK(att_buf_puts(&url, "kept"));
    EXPECT_ERR(att_kds_ca_url(NULL, "Milan", false, ATT_KDS_VCEK, &url), ATT_ERR_ARG);
    EXPECT_ERR(att_kds_ca_url(NULL, "Milan", false, (enum att_kds_kind)7, &url), ATT_ERR_ARG);
    EXPECT_ERR(att_kds_ca_url(NULL, "Bergamo", false, ATT_KDS_CRL, &url), ATT_ERR_ARG);
    EXPECT_ERR(att_kds_ca_url(NULL, NULL, true, ATT_KDS_CERT_CHAIN, &url), ATT_ERR_ARG);
    EXPECT_ERR(att_kds_ca_url("http://x", "Milan", true, ATT_KDS_CERT_CHAIN, &url), ATT_ERR_ARG);
    EXPECT_ERR(att_kds_ca_url(NULL, "Milan", true, ATT_KDS_CERT_CHAIN, NULL), ATT_ERR_ARG);
    assert_string_equal(att_buf_cstr(&url), "kept");
    att_buf_cleanup(&url);
}

/* ---- answers ------------------------------------------------------------------------------ */

/* A header block: status line, Content-Type, `extra` lines. */
static void make_headers(struct att_buf *h, long status, const char *extra)
{
    att_buf_init(h, 65536);
    EXPECT_OK(
        att_buf_printf(h, "HTTP/1.1 %ld X\r\nContent-Type: application/octet-stream\r\n", status));
    EXPECT_OK(att_buf_puts(h, extra != NULL ? extra : ""));
    EXPECT_OK(att_buf_puts(h, "\r\n"));
}

static void buf_of(struct att_buf *b, const void *p, size_t n)
{
    att_buf_init(b, 4 * ATT_KDS_MAX_CRL);
    EXPECT_OK(att_buf_put(b, p, n));
}

/* The answer is accepted and out->body is `want`. */
static void expect_body(enum att_kds_kind kind, const struct att_buf *body,
                        const struct att_buf *want)
{
    struct att_kds_item it;
    struct att_buf headers;
    char msg[200] = "";
    make_headers(&headers, 200, NULL);
    att_kds_item_init(&it);
    EXPECT_OK(att_buf_puts(&it.body, "old content is replaced"));
    att_err rc = att_kds_response_parse(kind, 200, body, &headers, RFC_DATE, &it, msg, sizeof(msg));
    if (rc != ATT_OK) {
        fail_msg("%s: %s", att_err_name(rc), msg);
    }
    assert_int_equal(it.body.len, want->len);
    assert_memory_equal(it.body.data, want->data, want->len);
    assert_int_equal(it.retry_after, 0);
    att_kds_item_cleanup(&it);
    att_buf_cleanup(&headers);
}

/* The answer is refused with `code`, and out is untouched. */
static void expect_body_err(enum att_kds_kind kind, const void *p, size_t n, att_err code)
{
    struct att_kds_item it;
    struct att_buf body;
    char msg[200] = "";
    buf_of(&body, p, n);
    att_kds_item_init(&it);
    EXPECT_OK(att_buf_puts(&it.body, "kept"));
    att_err rc = att_kds_response_parse(kind, 200, &body, NULL, RFC_DATE, &it, msg, sizeof(msg));
    if (rc != code) {
        fail_msg("kind %d, %zu bytes: expected %s, got %s (%s)", (int)kind, n, att_err_name(code),
                 att_err_name(rc), msg);
    }
    assert_true(msg[0] != '\0');
    assert_null(strchr(msg, '\n'));
    assert_string_equal(att_buf_cstr(&it.body), "kept");
    att_kds_item_cleanup(&it);
    att_buf_cleanup(&body);
}

static void test_status(void **state)
{
    (void)state;
    struct att_buf body, headers;
    struct att_kds_item it;
    coll_load(VCEK_MILAN, &body);

    static const struct {
        long status;
        const char *extra;
        att_err want;
        int64_t retry; /* -1: left alone */
    } cases[] = {
        {404, "", ATT_ERR_NOT_FOUND, -1},
        {404, "Retry-After: 30\r\n", ATT_ERR_NOT_FOUND, -1},
        /* 429: Retry-After in seconds or as an HTTP-date, capped; absent or unreadable: the
         * default, so a throttled caller still backs off. */
        {429, "Retry-After: 30\r\n", ATT_ERR_FETCH, 30},
        {429, "retry-after:  7 \r\n", ATT_ERR_FETCH, 7},
        {429, "Retry-After: 0\r\n", ATT_ERR_FETCH, 0},
        {429, "Retry-After: Sun, 06 Nov 1994 08:50:37 GMT\r\n", ATT_ERR_FETCH, 60},
        {429, "Retry-After: Sunday, 06-Nov-94 08:51:37 GMT\r\n", ATT_ERR_FETCH, 120},
        {429, "Retry-After: Sun Nov  6 08:49:47 1994\r\n", ATT_ERR_FETCH, 10},
        {429, "Retry-After: Sun, 06 Nov 1994 08:00:00 GMT\r\n", ATT_ERR_FETCH, 0}, /* past */
        {429, "Retry-After: 1000000\r\n", ATT_ERR_FETCH, ATT_PCS_RETRY_AFTER_CAP},
        {429, "", ATT_ERR_FETCH, ATT_KDS_RETRY_AFTER_DEFAULT},
        {429, "Retry-After: soon\r\n", ATT_ERR_FETCH, ATT_KDS_RETRY_AFTER_DEFAULT},
        {429, "Retry-After: -5\r\n", ATT_ERR_FETCH, ATT_KDS_RETRY_AFTER_DEFAULT},
        {429, "Retry-After: 1\r\nRetry-After: 2\r\n", ATT_ERR_FETCH, ATT_KDS_RETRY_AFTER_DEFAULT},
        /* 503: Retry-After when given, else the caller's own backoff. */
        {503, "Retry-After: 5\r\n", ATT_ERR_FETCH, 5},
        {503, "", ATT_ERR_FETCH, 0},
        {503, "Retry-After: later\r\n", ATT_ERR_FETCH, 0},
        /* Anything else is a failed fetch, whatever it says. */
        {500, "Retry-After: 30\r\n", ATT_ERR_FETCH, -1},
        {502, "", ATT_ERR_FETCH, -1},
        {400, "", ATT_ERR_FETCH, -1},
        {401, "", ATT_ERR_FETCH, -1},
        {403, "", ATT_ERR_FETCH, -1},
        {302, "Location: https://elsewhere.example/\r\n", ATT_ERR_FETCH, -1},
        {204, "", ATT_ERR_FETCH, -1},
        {201, "", ATT_ERR_FETCH, -1},
        {100, "", ATT_ERR_FETCH, -1},
    };
    for (size_t k = 0; k < 3; k++) {
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            char msg[200] = "";
            make_headers(&headers, cases[i].status, cases[i].extra);
            att_kds_item_init(&it);
            EXPECT_OK(att_buf_puts(&it.body, "kept"));
            it.retry_after = -1;
            att_err rc = att_kds_response_parse(all_kinds[k], cases[i].status, &body, &headers,
                                                RFC_DATE, &it, msg, sizeof(msg));
            if (rc != cases[i].want || it.retry_after != cases[i].retry) {
                fail_msg("case %zu (%ld): %s, retry_after %lld (%s)", i, cases[i].status,
                         att_err_name(rc), (long long)it.retry_after, msg);
            }
            assert_non_null(strstr(msg, "HTTP status"));
            assert_string_equal(att_buf_cstr(&it.body), "kept");
            att_kds_item_cleanup(&it);
            att_buf_cleanup(&headers);
        }
    }
    /* No header block at all. */
    att_kds_item_init(&it);
    EXPECT_ERR(att_kds_response_parse(ATT_KDS_VCEK, 429, &body, NULL, 0, &it, NULL, 0),
               ATT_ERR_FETCH);
    assert_int_equal(it.retry_after, ATT_KDS_RETRY_AFTER_DEFAULT);
    EXPECT_ERR(att_kds_response_parse(ATT_KDS_VCEK, 503, &body, NULL, 0, &it, NULL, 0),
               ATT_ERR_FETCH);
    assert_int_equal(it.retry_after, 0);

    /* Arguments. */
    EXPECT_ERR(att_kds_response_parse((enum att_kds_kind)3, 200, &body, NULL, 0, &it, NULL, 0),
               ATT_ERR_ARG);
    EXPECT_ERR(att_kds_response_parse((enum att_kds_kind) - 1, 200, &body, NULL, 0, &it, NULL, 0),
               ATT_ERR_ARG);
    EXPECT_ERR(att_kds_response_parse(ATT_KDS_VCEK, 200, NULL, NULL, 0, &it, NULL, 0), ATT_ERR_ARG);
    EXPECT_ERR(att_kds_response_parse(ATT_KDS_VCEK, 200, &body, NULL, 0, NULL, NULL, 0),
               ATT_ERR_ARG);
    att_kds_item_cleanup(&it);
    att_kds_item_cleanup(NULL);
    att_buf_cleanup(&body);
}

/*
 * A DER SEQUENCE of `total` bytes with its length in the fewest octets (test-side); not every
 * total has one (130: 128 content bytes need two length octets, 127 only one).
 */
static uint8_t *make_sequence(size_t total)
{
    uint8_t *p = calloc(1, total);
    assert_non_null(p);
    p[0] = 0x30;
    if (total - 2 < 0x80) {
        p[1] = (uint8_t)(total - 2);
    } else if (total - 3 >= 0x80 && total - 3 < 0x100) {
        p[1] = 0x81;
        p[2] = (uint8_t)(total - 3);
    } else {
        size_t n = total - 4;
        assert_true(n >= 0x100 && n < 0x10000);
        p[1] = 0x82;
        p[2] = (uint8_t)(n >> 8);
        p[3] = (uint8_t)n;
    }
    return p;
}

static void test_vcek_body(void **state)
{
    (void)state;
    struct att_buf milan, turin;
    coll_load(VCEK_MILAN, &milan);
    coll_load(VCEK_TURIN, &turin);

    /* The KDS's answers, as they are. */
    expect_body(ATT_KDS_VCEK, &milan, &milan);
    expect_body(ATT_KDS_VCEK, &turin, &turin);

    /* Empty, truncated at every offset, or with bytes after the SEQUENCE. */
    expect_body_err(ATT_KDS_VCEK, "", 0, ATT_ERR_COLLATERAL_FORMAT);
    for (size_t i = 1; i < milan.len; i++) {
        expect_body_err(ATT_KDS_VCEK, milan.data, i, ATT_ERR_COLLATERAL_FORMAT);
    }
    struct att_buf longer;
    buf_of(&longer, milan.data, milan.len);
    EXPECT_OK(att_buf_putc(&longer, 0x00));
    expect_body_err(ATT_KDS_VCEK, longer.data, longer.len, ATT_ERR_COLLATERAL_FORMAT);
    EXPECT_OK(att_buf_put(&longer, turin.data, turin.len)); /* two certificates */
    expect_body_err(ATT_KDS_VCEK, longer.data, longer.len, ATT_ERR_COLLATERAL_FORMAT);
    att_buf_cleanup(&longer);

    /* Not DER: PEM of the same certificate, text, a SET, indefinite or non-minimal lengths. */
    struct att_buf pem;
    att_buf_init(&pem, 8192);
    EXPECT_OK(att_buf_puts(&pem, "-----BEGIN CERTIFICATE-----\n"));
    EXPECT_OK(att_b64_encode(milan.data, milan.len, &pem));
    EXPECT_OK(att_buf_puts(&pem, "\n-----END CERTIFICATE-----\n"));
    expect_body_err(ATT_KDS_VCEK, pem.data, pem.len, ATT_ERR_COLLATERAL_FORMAT);
    att_buf_cleanup(&pem);
    expect_body_err(ATT_KDS_VCEK, "Not Found", 9, ATT_ERR_COLLATERAL_FORMAT);
    expect_body_err(ATT_KDS_VCEK, "\x31\x02\x05\x00", 4, ATT_ERR_COLLATERAL_FORMAT);
    expect_body_err(ATT_KDS_VCEK, "\x30\x80\x05\x00\x00\x00", 6, ATT_ERR_COLLATERAL_FORMAT);
    expect_body_err(ATT_KDS_VCEK, "\x30\x81\x02\x05\x00", 5, ATT_ERR_COLLATERAL_FORMAT);
    expect_body_err(ATT_KDS_VCEK, "\x30\x82\x00\x02\x05\x00", 6, ATT_ERR_COLLATERAL_FORMAT);
    expect_body_err(ATT_KDS_VCEK, "\x30\x83\x00\x00\x02\x05\x00", 7, ATT_ERR_COLLATERAL_FORMAT);
    expect_body_err(ATT_KDS_VCEK, "\x30\x84\x00\x00\x00\x02\x05\x00", 8, ATT_ERR_COLLATERAL_FORMAT);
    expect_body_err(ATT_KDS_VCEK, "\x3f\x30\x02\x05\x00", 5, ATT_ERR_COLLATERAL_FORMAT);
    /* The real VCEK with its length re-encoded in three octets. */
    struct att_buf wide;
    att_buf_init(&wide, 8192);
    EXPECT_OK(att_buf_put(&wide, "\x30\x83\x00", 3));
    EXPECT_OK(att_buf_put(&wide, milan.data + 2, milan.len - 2)); /* 30 82 LL LL ... */
    expect_body_err(ATT_KDS_VCEK, wide.data, wide.len, ATT_ERR_COLLATERAL_FORMAT);
    att_buf_cleanup(&wide);

    /* The cap: a SEQUENCE of exactly ATT_KDS_MAX_VCEK bytes passes the framing; one more is
     * too large; a short SEQUENCE is fine too (the certificate is parsed elsewhere). */
    uint8_t *seq = make_sequence(ATT_KDS_MAX_VCEK);
    struct att_buf b;
    buf_of(&b, seq, ATT_KDS_MAX_VCEK);
    expect_body(ATT_KDS_VCEK, &b, &b);
    att_buf_cleanup(&b);
    free(seq);
    seq = make_sequence(ATT_KDS_MAX_VCEK + 1);
    expect_body_err(ATT_KDS_VCEK, seq, ATT_KDS_MAX_VCEK + 1, ATT_ERR_TOO_LARGE);
    free(seq);
    static const size_t sizes[] = {2, 129, 131, 258, 260};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        seq = make_sequence(sizes[i]);
        buf_of(&b, seq, sizes[i]);
        expect_body(ATT_KDS_VCEK, &b, &b);
        att_buf_cleanup(&b);
        free(seq);
    }
    att_buf_cleanup(&turin);
    att_buf_cleanup(&milan);
}

static void test_chain_body(void **state)
{
    (void)state;
    struct att_buf milan, turin, b;
    coll_load(CHAIN_MILAN, &milan);
    coll_load(CHAIN_TURIN, &turin);
    const char *m = att_buf_cstr(&milan);

    /* The KDS's answers, as they are (two blocks, LF line ends, no final LF). */
    expect_body(ATT_KDS_CERT_CHAIN, &milan, &milan);
    expect_body(ATT_KDS_CERT_CHAIN, &turin, &turin);

    /* CRLF line ends, a final line end, space around the markers, text between blocks. */
    att_buf_init(&b, ATT_KDS_MAX_CHAIN);
    for (const char *p = m; *p != '\0'; p++) {
        EXPECT_OK(*p == '\n' ? att_buf_puts(&b, "\r\n") : att_buf_putc(&b, (uint8_t)*p));
    }
    EXPECT_OK(att_buf_puts(&b, "\r\n"));
    expect_body(ATT_KDS_CERT_CHAIN, &b, &b);
    att_buf_cleanup(&b);
    att_buf_init(&b, ATT_KDS_MAX_CHAIN);
    EXPECT_OK(att_buf_printf(&b, "ASK\n  %s\t\n", m));
    expect_body(ATT_KDS_CERT_CHAIN, &b, &b);
    att_buf_cleanup(&b);

    /* One block is enough here (the verifier wants two). */
    const char *second = strstr(m + 1, "-----BEGIN");
    assert_non_null(second);
    buf_of(&b, m, (size_t)(second - m));
    expect_body(ATT_KDS_CERT_CHAIN, &b, &b);
    att_buf_cleanup(&b);
    buf_of(&b, second, strlen(second));
    expect_body(ATT_KDS_CERT_CHAIN, &b, &b);
    att_buf_cleanup(&b);

    /* No certificate at all. */
    expect_body_err(ATT_KDS_CERT_CHAIN, "", 0, ATT_ERR_COLLATERAL_FORMAT);
    expect_body_err(ATT_KDS_CERT_CHAIN, "\r\n", 2, ATT_ERR_COLLATERAL_FORMAT);
    expect_body_err(ATT_KDS_CERT_CHAIN, "Not Found", 9, ATT_ERR_COLLATERAL_FORMAT);
    expect_body_err(ATT_KDS_CERT_CHAIN, "-----BEGIN CERTIFICATE-----", 27,
                    ATT_ERR_COLLATERAL_FORMAT);
    expect_body_err(ATT_KDS_CERT_CHAIN, "-----END CERTIFICATE-----\n", 26,
                    ATT_ERR_COLLATERAL_FORMAT);
    /* The DER VCEK where PEM belongs. */
    struct att_buf der;
    coll_load(VCEK_MILAN, &der);
    expect_body_err(ATT_KDS_CERT_CHAIN, der.data, der.len, ATT_ERR_COLLATERAL_FORMAT);
    att_buf_cleanup(&der);

    /*
     * Every truncation of the chain. It passes when it keeps the first block whole and cuts
     * the second before its BEGIN marker is recognisable (up to "-----BEGIN ", whose space
     * is trimmed: text between blocks), or keeps both; it fails anywhere else.
     */
    size_t first_end = (size_t)(strstr(m, "-----END CERTIFICATE-----") - m) + 25;
    size_t second_begin = (size_t)(second - m);
    size_t second_end = (size_t)(strstr(second, "-----END CERTIFICATE-----") - m) + 25;
    for (size_t i = 0; i < milan.len; i++) {
        bool passes = (i >= first_end && i <= second_begin + 11) || i >= second_end;
        if (passes) {
            buf_of(&b, milan.data, i);
            expect_body(ATT_KDS_CERT_CHAIN, &b, &b);
            att_buf_cleanup(&b);
        } else {
            expect_body_err(ATT_KDS_CERT_CHAIN, milan.data, i, ATT_ERR_COLLATERAL_FORMAT);
        }
    }

    /* Bytes that are not text: NUL, DEL, 8-bit, VT, each spliced into the base64. */
    static const uint8_t bad[] = {0x00, 0x7f, 0x80, 0xff, 0x0b, 0x1b};
    for (size_t i = 0; i < sizeof(bad); i++) {
        buf_of(&b, milan.data, milan.len);
        b.data[100] = bad[i];
        expect_body_err(ATT_KDS_CERT_CHAIN, b.data, b.len, ATT_ERR_COLLATERAL_FORMAT);
        att_buf_cleanup(&b);
    }

    /* Blocks of another label, nested, or unbalanced. */
    static const char *const blocks[] = {
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END X509 CRL-----\n",
        "-----BEGIN CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\nAAAA\n",
        "-----BEGIN  CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    };
    for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
        att_buf_init(&b, ATT_KDS_MAX_CHAIN);
        EXPECT_OK(att_buf_printf(&b, "%s\n%s", m, blocks[i]));
        expect_body_err(ATT_KDS_CERT_CHAIN, b.data, b.len, ATT_ERR_COLLATERAL_FORMAT);
        att_buf_cleanup(&b);
    }

    /* The cap: exactly ATT_KDS_MAX_CHAIN bytes pass, one more is too large. */
    att_buf_init(&b, 2 * ATT_KDS_MAX_CHAIN);
    EXPECT_OK(att_buf_put(&b, milan.data, milan.len));
    while (b.len < ATT_KDS_MAX_CHAIN) {
        EXPECT_OK(att_buf_putc(&b, '\n'));
    }
    expect_body(ATT_KDS_CERT_CHAIN, &b, &b);
    EXPECT_OK(att_buf_putc(&b, '\n'));
    expect_body_err(ATT_KDS_CERT_CHAIN, b.data, b.len, ATT_ERR_TOO_LARGE);
    att_buf_cleanup(&b);

    att_buf_cleanup(&turin);
    att_buf_cleanup(&milan);
}

static void test_crl_body(void **state)
{
    (void)state;
    struct att_buf der, b;
    coll_load(CRL_TEST, &der);

    /* DER as the KDS sends it; PEM is taken too (att_pcs_crl_der) and gives the DER. */
    expect_body(ATT_KDS_CRL, &der, &der);
    att_buf_init(&b, 8192);
    EXPECT_OK(att_buf_puts(&b, "-----BEGIN X509 CRL-----\n"));
    EXPECT_OK(att_b64_encode(der.data, der.len, &b));
    EXPECT_OK(att_buf_puts(&b, "\n-----END X509 CRL-----\n"));
    expect_body(ATT_KDS_CRL, &b, &der);
    att_buf_cleanup(&b);

    /* Empty, truncated, trailing bytes, text. */
    expect_body_err(ATT_KDS_CRL, "", 0, ATT_ERR_COLLATERAL_FORMAT);
    for (size_t i = 1; i < der.len; i++) {
        expect_body_err(ATT_KDS_CRL, der.data, i, ATT_ERR_COLLATERAL_FORMAT);
    }
    buf_of(&b, der.data, der.len);
    EXPECT_OK(att_buf_putc(&b, 0x00));
    expect_body_err(ATT_KDS_CRL, b.data, b.len, ATT_ERR_COLLATERAL_FORMAT);
    att_buf_cleanup(&b);
    expect_body_err(ATT_KDS_CRL, "Not Found", 9, ATT_ERR_COLLATERAL_FORMAT);
    expect_body_err(ATT_KDS_CRL, "\x30\x80\x05\x00\x00\x00", 6, ATT_ERR_COLLATERAL_FORMAT);

    /* Over ATT_KDS_MAX_CRL: too large before any decoding. */
    uint8_t *big = calloc(1, ATT_KDS_MAX_CRL + 1);
    assert_non_null(big);
    big[0] = 0x30;
    big[1] = 0x83;
    big[2] = (uint8_t)((ATT_KDS_MAX_CRL - 4) >> 16);
    big[3] = (uint8_t)((ATT_KDS_MAX_CRL - 4) >> 8);
    big[4] = (uint8_t)(ATT_KDS_MAX_CRL - 4);
    expect_body_err(ATT_KDS_CRL, big, ATT_KDS_MAX_CRL + 1, ATT_ERR_TOO_LARGE);
    free(big);
    att_buf_cleanup(&der);
}

/* ---- fetch arguments (refused before any transfer) ---------------------------------------- */

static void test_fetch_arguments(void **state)
{
    (void)state;
    uint8_t chip[64];
    coll_unhex(MILAN_HWID, chip, sizeof(chip));
    const struct att_kds_tcb tcb = {0, 3, 0, 8, 115};
    struct att_kds_item it;
    char detail[200];
    att_kds_item_init(&it);
    EXPECT_OK(att_buf_puts(&it.body, "kept"));

    struct att_kds_client http = {"http://kdsintf.amd.com", NULL, 0};
    struct att_kds_client ok = {"https://127.0.0.1:1", NULL, 0};
    it.retry_after = 99;
    EXPECT_ERR(att_kds_fetch_vcek(&http, "Milan", chip, 64, &tcb, &it, detail, sizeof(detail)),
               ATT_ERR_ARG);
    assert_int_equal(it.retry_after, 0);
    assert_non_null(strstr(detail, "KDS"));
    EXPECT_ERR(att_kds_fetch_vcek(NULL, "Milan", chip, 64, &tcb, &it, detail, sizeof(detail)),
               ATT_ERR_ARG);
    EXPECT_ERR(att_kds_fetch_vcek(&ok, "Siena", chip, 64, &tcb, &it, detail, sizeof(detail)),
               ATT_ERR_ARG);
    EXPECT_ERR(att_kds_fetch_vcek(&ok, "Turin", chip, 64, &tcb, &it, NULL, 0), ATT_ERR_ARG);
    EXPECT_ERR(att_kds_fetch_vcek(&ok, "Milan", chip, 64, NULL, &it, detail, sizeof(detail)),
               ATT_ERR_ARG);
    EXPECT_ERR(att_kds_fetch_vcek(&ok, "Milan", chip, 64, &tcb, NULL, detail, sizeof(detail)),
               ATT_ERR_ARG);
    EXPECT_ERR(att_kds_fetch_cert_chain(&http, "Milan", false, &it, detail, sizeof(detail)),
               ATT_ERR_ARG);
    EXPECT_ERR(att_kds_fetch_cert_chain(&ok, "Rome", true, &it, detail, sizeof(detail)),
               ATT_ERR_ARG);
    EXPECT_ERR(att_kds_fetch_crl(NULL, "Milan", false, &it, detail, sizeof(detail)), ATT_ERR_ARG);
    EXPECT_ERR(att_kds_fetch_crl(&ok, "Genoa", true, NULL, detail, sizeof(detail)), ATT_ERR_ARG);
    /* Nothing listens on port 1: a failed transfer. */
    it.retry_after = 99;
    EXPECT_ERR(att_kds_fetch_crl(&ok, "Genoa", true, &it, detail, sizeof(detail)), ATT_ERR_FETCH);
    assert_int_equal(it.retry_after, 0);
    assert_string_equal(att_buf_cstr(&it.body), "kept");
    att_kds_item_cleanup(&it);
}

/* ---- real fetches against kds_server.py ----------------------------------------------------- */

#define FETCH_OK(expr)                                                                             \
    do {                                                                                           \
        att_err fetch_rc_ = (expr);                                                                \
        if (fetch_rc_ != ATT_OK) {                                                                 \
            fail_msg("%s: %s (%s)", #expr, att_err_name(fetch_rc_), detail);                       \
        }                                                                                          \
    } while (0)

static void expect_fixture_body(const struct att_buf *body, const char *rel)
{
    struct att_buf want;
    coll_load(rel, &want);
    assert_int_equal(body->len, want.len);
    assert_memory_equal(body->data, want.data, want.len);
    att_buf_cleanup(&want);
}

static void expect_fixture(const struct att_kds_item *it, const char *rel)
{
    expect_fixture_body(&it->body, rel);
    assert_int_equal(it->retry_after, 0);
}

/* The snp02 report (Milan): CHIP_ID and REPORTED_TCB as the VCEK request needs them. */
static void snp02_request(uint8_t chip[64], struct att_kds_tcb *tcb)
{
    struct att_buf hex, bin;
    struct att_snp_report rep;
    char msg[160];
    coll_load(SNP02, &hex);
    att_buf_init(&bin, 4096);
    EXPECT_OK(att_hex_decode((const char *)hex.data, hex.len, &bin));
    EXPECT_OK(att_snp_report_parse(bin.data, bin.len, &rep, msg, sizeof(msg)));
    /* A version 2 report has no CPUID fields; the fixture's README says Milan (§6.4). */
    assert_int_equal(rep.product, ATT_SNP_UNKNOWN);
    struct att_snp_tcb t = att_snp_tcb_decode(rep.reported_tcb, ATT_SNP_MILAN);
    memcpy(chip, rep.chip_id, 64);
    tcb->fmc = t.fmc;
    tcb->bl = t.bootloader;
    tcb->tee = t.tee;
    tcb->snp = t.snp;
    tcb->ucode = t.microcode;
    att_buf_cleanup(&bin);
    att_buf_cleanup(&hex);
}

static void test_live_fetches(void **state)
{
    (void)state;
    static const char *const args[] = {"--dir", ATT_FIXTURES_DIR "/" KDS_DIR, NULL};
    struct standin srv;
    struct att_kds_item it;
    struct att_buf ignored;
    struct att_kds_tcb tcb;
    uint8_t chip[64], turin[8];
    char detail[1024] = "";

    snp02_request(chip, &tcb);
    coll_unhex(TURIN_HWID, turin, sizeof(turin));
    const struct att_kds_tcb turin_tcb = {.fmc = 0, .bl = 0, .tee = 0, .snp = 0, .ucode = 9};
    if (!standin_start(&srv, "kds_server.py", args)) {
        att_test_rmdir(srv.dir);
        skip();
    }
    struct att_kds_client c = {srv.base, srv.ca, 0};
    att_kds_item_init(&it);

    FETCH_OK(att_kds_fetch_vcek(&c, "Milan", chip, 64, &tcb, &it, detail, sizeof(detail)));
    expect_fixture(&it, VCEK_MILAN);
    FETCH_OK(att_kds_fetch_vcek(&c, "Turin", turin, 8, &turin_tcb, &it, detail, sizeof(detail)));
    expect_fixture(&it, VCEK_TURIN);
    FETCH_OK(att_kds_fetch_cert_chain(&c, "Milan", false, &it, detail, sizeof(detail)));
    expect_fixture(&it, CHAIN_MILAN);
    FETCH_OK(att_kds_fetch_cert_chain(&c, "Turin", false, &it, detail, sizeof(detail)));
    expect_fixture(&it, CHAIN_TURIN);
    FETCH_OK(att_kds_fetch_crl(&c, "Milan", false, &it, detail, sizeof(detail)));
    expect_fixture(&it, CRL_TEST);

    /* Unknown items: another TCB, another product, the VLEK chain it has no fixture for. */
    tcb.ucode++;
    EXPECT_ERR(att_kds_fetch_vcek(&c, "Milan", chip, 64, &tcb, &it, detail, sizeof(detail)),
               ATT_ERR_NOT_FOUND);
    assert_non_null(strstr(detail, "404"));
    assert_non_null(strstr(detail, "ucodeSPL=116"));
    tcb.ucode--;
    EXPECT_ERR(att_kds_fetch_vcek(&c, "Genoa", chip, 64, &tcb, &it, detail, sizeof(detail)),
               ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_kds_fetch_cert_chain(&c, "Milan", true, &it, detail, sizeof(detail)),
               ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_kds_fetch_crl(&c, "Turin", false, &it, detail, sizeof(detail)),
               ATT_ERR_NOT_FOUND);
    expect_fixture(&it, CRL_TEST); /* the last good item is still there */

    /* Throttled: Retry-After as given, or the default when absent; 503 without one: 0. */
    att_buf_init(&ignored, 65536);
    standin_control(&srv, true, "/__fail?status=429&count=1&retry_after=42", &ignored);
    EXPECT_ERR(att_kds_fetch_cert_chain(&c, "Milan", false, &it, detail, sizeof(detail)),
               ATT_ERR_FETCH);
    assert_int_equal(it.retry_after, 42);
    assert_non_null(strstr(detail, "429"));
    standin_control(&srv, true, "/__fail?status=429&count=1", &ignored);
    EXPECT_ERR(att_kds_fetch_vcek(&c, "Milan", chip, 64, &tcb, &it, detail, sizeof(detail)),
               ATT_ERR_FETCH);
    assert_int_equal(it.retry_after, ATT_KDS_RETRY_AFTER_DEFAULT);
    standin_control(&srv, true, "/__fail?status=503&count=1", &ignored);
    EXPECT_ERR(att_kds_fetch_crl(&c, "Milan", false, &it, detail, sizeof(detail)), ATT_ERR_FETCH);
    assert_int_equal(it.retry_after, 0);
    FETCH_OK(att_kds_fetch_crl(&c, "Milan", false, &it, detail, sizeof(detail)));
    assert_int_equal(it.retry_after, 0);
    att_buf_cleanup(&ignored);

    /* One request per fetch. */
    assert_int_equal(standin_stat(&srv, "by_path", "/vcek/v1/Milan/" MILAN_HWID), 3);
    assert_int_equal(standin_stat(&srv, "by_path", "/vcek/v1/Milan/crl"), 3);
    assert_int_equal(standin_stat(&srv, "total", NULL), 13);

    /* TLS: the system's trust anchors do not know the test CA. */
    struct att_kds_client untrusted = {srv.base, NULL, 0};
    EXPECT_ERR(att_kds_fetch_crl(&untrusted, "Milan", false, &it, detail, sizeof(detail)),
               ATT_ERR_FETCH);
    att_kds_item_cleanup(&it);
    standin_stop(&srv);
}

/* The stand-in's rate limiter answers 429 with Retry-After, as the KDS does. */
static void test_live_rate_limit(void **state)
{
    (void)state;
    static const char *const args[] = {"--dir", ATT_FIXTURES_DIR "/" KDS_DIR, "--rate-limit", "2/m",
                                       NULL};
    struct standin srv;
    struct att_kds_item it;
    char detail[1024] = "";

    if (!standin_start(&srv, "kds_server.py", args)) {
        att_test_rmdir(srv.dir);
        skip();
    }
    struct att_kds_client c = {srv.base, srv.ca, 0};
    att_kds_item_init(&it);
    FETCH_OK(att_kds_fetch_cert_chain(&c, "Turin", false, &it, detail, sizeof(detail)));
    FETCH_OK(att_kds_fetch_cert_chain(&c, "Milan", false, &it, detail, sizeof(detail)));
    EXPECT_ERR(att_kds_fetch_cert_chain(&c, "Milan", false, &it, detail, sizeof(detail)),
               ATT_ERR_FETCH);
    assert_true(it.retry_after >= 1 && it.retry_after <= 60);
    expect_fixture_body(&it.body, CHAIN_MILAN); /* the last good one */
    assert_int_equal(standin_stat(&srv, "rate_limited", NULL), 1);
    att_kds_item_cleanup(&it);
    standin_stop(&srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_products),     cmocka_unit_test(test_vcek_url),
        cmocka_unit_test(test_ca_url),       cmocka_unit_test(test_status),
        cmocka_unit_test(test_vcek_body),    cmocka_unit_test(test_chain_body),
        cmocka_unit_test(test_crl_body),     cmocka_unit_test(test_fetch_arguments),
        cmocka_unit_test(test_live_fetches), cmocka_unit_test(test_live_rate_limit),
    };
    if (att_https_global_init() != ATT_OK) {
        return 1;
    }
    int failed = cmocka_run_group_tests_name("collateral_kds", tests, NULL, NULL);
    att_https_global_cleanup();
    return failed;
}
