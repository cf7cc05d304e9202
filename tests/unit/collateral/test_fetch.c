/*
 * Unit tests for src/collateral/fetch.c without a network: header lines (att_pcs_header_value),
 * Retry-After in all its forms (att_pcs_retry_after), CRL bodies as DER, PEM and hex
 * (att_pcs_crl_der), and whole answers turned into items (att_pcs_response_parse) from the real
 * PCS responses and bundles in tests/fixtures/dcap, plus the fetches' argument checks (which
 * refuse before any transfer). One test runs real fetches against tests/integration/pcs_server.py
 * (a child process serving the fixture bundles over TLS with a throwaway CA); it is skipped when
 * python3 or openssl cannot be run.
 */
#include "coll_test.h"
#include "standin.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collateral/fetch.h"
#include "collateral/pcs.h"
#include "core/codec.h"
#include "net/https.h"

#define SGX_BUNDLE "dcap/sgx/collateral_00606a000000_2025-08_bundle.json"
#define RAW_TCB "dcap/sgx/raw_tcbinfo_sgx_00606a000000_2025-08.json"
#define RAW_QE "dcap/sgx/raw_qeidentity_sgx_2025-08.json"
#define RAW_PCK_CRL "dcap/sgx/raw_pck_platform_crl_2025-08.der"
#define TDX_BUNDLE "dcap/tdx/collateral_00806f050000_2025-10_bundle.json"

/* 1994-11-06T08:49:37Z, the RFC's example date. */
#define RFC_DATE 784111777

static struct att_bytes view(const char *s)
{
    struct att_bytes b = {(const uint8_t *)s, strlen(s)};
    return b;
}

static void expect_header(const char *headers, const char *name, const char *want)
{
    struct att_bytes v = {NULL, 0};
    EXPECT_OK(att_pcs_header_value(view(headers), name, &v));
    assert_int_equal(v.len, strlen(want));
    if (v.len > 0) {
        assert_memory_equal(v.ptr, want, v.len);
    }
}

/* ---- header lines ------------------------------------------------------------------------ */

static void test_header_value(void **state)
{
    (void)state;
    struct att_bytes v = {NULL, 0};
    const char *h = "HTTP/1.1 200 OK\r\n"
                    "Content-Type: application/json\r\n"
                    "TCB-Info-Issuer-Chain:   abc%20def \t\r\n"
                    "request-id: 1\r\n"
                    "Empty:\r\n"
                    "\r\n";
    expect_header(h, "TCB-Info-Issuer-Chain", "abc%20def");
    expect_header(h, "tcb-info-issuer-chain", "abc%20def"); /* names ignore case */
    expect_header(h, "TCB-INFO-ISSUER-CHAIN", "abc%20def");
    expect_header(h, "Request-ID", "1");
    expect_header(h, "Empty", "");
    EXPECT_ERR(att_pcs_header_value(view(h), "TCB-Info", &v), ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_pcs_header_value(view(h), "SGX-TCB-Info-Issuer-Chain", &v), ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_pcs_header_value(view(h), "Content-Type: application/json", &v),
               ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_pcs_header_value(view(""), "Retry-After", &v), ATT_ERR_NOT_FOUND);

    /* LF-only line ends, and a last line without one (HTTP/2 status line). */
    expect_header("HTTP/2 429\nretry-after: 30\nx: y", "Retry-After", "30");
    expect_header("HTTP/2 429\nx: y\nretry-after: 30", "Retry-After", "30");
    /* The status line's reason phrase is not a field, even with a colon in it. */
    EXPECT_ERR(att_pcs_header_value(view("HTTP/1.1 503 Retry-After: 5\r\n\r\n"), "Retry-After", &v),
               ATT_ERR_NOT_FOUND);
    /* A space before the colon makes another name (RFC 9110 §5.1 forbids it anyway). */
    EXPECT_ERR(
        att_pcs_header_value(view("HTTP/1.1 200 OK\r\nRetry-After : 5\r\n"), "Retry-After", &v),
        ATT_ERR_NOT_FOUND);
    /* Without a status line the first line is a field like the others. */
    expect_header("Retry-After: 5\r\n", "Retry-After", "5");
}

static void test_header_ambiguous(void **state)
{
    (void)state;
    struct att_bytes v = {NULL, 0};
    /* Twice: which chain would be the right one? */
    EXPECT_ERR(att_pcs_header_value(view("HTTP/1.1 200 OK\r\nSGX-PCK-CRL-Issuer-Chain: a\r\n"
                                         "sgx-pck-crl-issuer-chain: b\r\n\r\n"),
                                    "SGX-PCK-CRL-Issuer-Chain", &v),
               ATT_ERR_COLLATERAL_FORMAT);
    /* Folded onto a second line (obs-fold). */
    EXPECT_ERR(att_pcs_header_value(view("HTTP/1.1 200 OK\r\nSGX-PCK-CRL-Issuer-Chain: a\r\n"
                                         " b\r\n\r\n"),
                                    "SGX-PCK-CRL-Issuer-Chain", &v),
               ATT_ERR_COLLATERAL_FORMAT);
    EXPECT_ERR(att_pcs_header_value(view("HTTP/1.1 200 OK\r\nRetry-After: 1\r\n\t2\r\n"),
                                    "Retry-After", &v),
               ATT_ERR_COLLATERAL_FORMAT);
    /* A folded line of another field does not matter. */
    expect_header("HTTP/1.1 200 OK\r\nX-Other: a\r\n b\r\nRetry-After: 3\r\n", "Retry-After", "3");
    EXPECT_ERR(att_pcs_header_value(view("HTTP/1.1 200 OK\r\n"), NULL, &v), ATT_ERR_ARG);
    EXPECT_ERR(att_pcs_header_value(view("HTTP/1.1 200 OK\r\n"), "x", NULL), ATT_ERR_ARG);
}

/* Every prefix of a header block is read without going past it (ASan watches). */
static void test_header_truncated(void **state)
{
    (void)state;
    const char *h = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 120\r\n"
                    "SGX-Enclave-Identity-Issuer-Chain: %2D%2D%2D\r\n\r\n";
    size_t n = strlen(h);
    for (size_t i = 0; i <= n; i++) {
        uint8_t *copy = malloc(i + 1);
        assert_non_null(copy);
        memcpy(copy, h, i);
        struct att_bytes b = {copy, i};
        struct att_bytes v = {NULL, 0};
        att_err rc = att_pcs_header_value(b, "Retry-After", &v);
        assert_true(rc == ATT_OK || rc == ATT_ERR_NOT_FOUND);
        rc = att_pcs_header_value(b, "SGX-Enclave-Identity-Issuer-Chain", &v);
        assert_true(rc == ATT_OK || rc == ATT_ERR_NOT_FOUND);
        free(copy);
    }
}

/* ---- Retry-After ------------------------------------------------------------------------- */

static int64_t retry(const char *value, int64_t now)
{
    int64_t s = -1;
    EXPECT_OK(att_pcs_retry_after(view(value), now, &s));
    return s;
}

static void test_retry_after_seconds(void **state)
{
    (void)state;
    assert_int_equal(retry("120", 0), 120);
    assert_int_equal(retry("0", 0), 0);
    assert_int_equal(retry(" 7 ", 0), 7);
    assert_int_equal(retry("0042", 0), 42);
    assert_int_equal(retry("86400", 0), ATT_PCS_RETRY_AFTER_CAP);
    assert_int_equal(retry("86401", 0), ATT_PCS_RETRY_AFTER_CAP);
    assert_int_equal(retry("99999999999999999999999999999999999999", 0), ATT_PCS_RETRY_AFTER_CAP);
}

static void test_retry_after_dates(void **state)
{
    (void)state;
    /* RFC 9110 §5.6.7's three forms of one instant. */
    assert_int_equal(retry("Sun, 06 Nov 1994 08:49:37 GMT", RFC_DATE - 60), 60);
    assert_int_equal(retry("Sunday, 06-Nov-94 08:49:37 GMT", RFC_DATE - 60), 60);
    assert_int_equal(retry("Sun Nov  6 08:49:37 1994", RFC_DATE - 60), 60);
    assert_int_equal(retry("Wed Nov 16 08:49:37 1994", RFC_DATE + 10 * 86400 - 30), 30);
    /* In the past or now: no wait. Far ahead: the cap. */
    assert_int_equal(retry("Sun, 06 Nov 1994 08:49:37 GMT", RFC_DATE), 0);
    assert_int_equal(retry("Sun, 06 Nov 1994 08:49:37 GMT", RFC_DATE + 3600), 0);
    assert_int_equal(retry("Sun, 06 Nov 1994 08:49:37 GMT", RFC_DATE - 2 * 86400),
                     ATT_PCS_RETRY_AFTER_CAP);
    /* 2025-08-15T05:08:18Z as an IMF-fixdate, 90 s ahead. */
    assert_int_equal(retry("Fri, 15 Aug 2025 05:08:18 GMT", 1755234498 - 90), 90);
    /* Two-digit years: at most 50 years ahead, else the century before. */
    assert_int_equal(retry("Friday, 15-Aug-25 05:08:18 GMT", 1755234498 - 90), 90);
    assert_int_equal(retry("Monday, 01-Jan-74 00:00:00 GMT", 1755234498), 86400 /* 2074: cap */);
    assert_int_equal(retry("Monday, 01-Jan-76 00:00:00 GMT", 1755234498), 0 /* 1976 */);
}

static void test_retry_after_bad(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "   ",
        "-1",
        "+5",
        "1.5",
        "5s",
        "0x10",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "sun, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 nov 1994 08:49:37 GMT",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT x",
        "Sun,06 Nov 1994 08:49:37 GMT",
        "Sunday, 06 Nov 1994 08:49:37 GMT",
        "Sun, 31 Feb 1994 08:49:37 GMT", /* no such day */
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:60:00 GMT",
        "Sun, 06 Nov 1994 08:49:60 GMT", /* no leap second */
        "Sun, 06-Nov-94 08:49:37 GMT",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sun Nov 6 08:49:37 1994",
        "Sun Nov  6 08:49:37 94",
        "Sun Nov  6 08:49:37 1994 GMT",
        "2025-08-15T05:08:18Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t s = -7;
        att_err rc = att_pcs_retry_after(view(bad[i]), RFC_DATE, &s);
        if (rc != ATT_ERR_PARSE) {
            fail_msg("\"%s\": expected ATT_ERR_PARSE, got %s", bad[i], att_err_name(rc));
        }
        assert_int_equal(s, -7);
    }
}

/* ---- CRL bodies --------------------------------------------------------------------------- */

static void expect_crl(const void *body, size_t n, const struct att_buf *want)
{
    struct att_buf der;
    char msg[160] = "";
    att_buf_init(&der, ATT_PCS_MAX_CRL);
    struct att_bytes b = {body, n};
    att_err rc = att_pcs_crl_der(b, &der, msg, sizeof(msg));
    if (rc != ATT_OK) {
        fail_msg("att_pcs_crl_der: %s (%s)", att_err_name(rc), msg);
    }
    assert_int_equal(der.len, want->len);
    assert_memory_equal(der.data, want->data, der.len);
    att_buf_cleanup(&der);
}

static void expect_crl_err(const void *body, size_t n, att_err code)
{
    struct att_buf der;
    att_buf_init(&der, 2 * ATT_PCS_MAX_CRL);
    EXPECT_OK(att_buf_puts(&der, "kept"));
    struct att_bytes b = {body, n};
    EXPECT_ERR(att_pcs_crl_der(b, &der, NULL, 0), code);
    assert_string_equal(att_buf_cstr(&der), "kept"); /* left as it was */
    att_buf_cleanup(&der);
}

/* `der` as PEM with lines of `width` characters and line ends `eol`. */
static void to_pem(const struct att_buf *der, size_t width, const char *eol, struct att_buf *pem)
{
    struct att_buf b64;
    att_buf_init(&b64, 4 * ATT_PCS_MAX_CRL);
    EXPECT_OK(att_b64_encode(der->data, der->len, &b64));
    att_buf_init(pem, 8 * ATT_PCS_MAX_CRL);
    EXPECT_OK(att_buf_printf(pem, "-----BEGIN X509 CRL-----%s", eol));
    for (size_t i = 0; i < b64.len; i += width) {
        size_t n = b64.len - i < width ? b64.len - i : width;
        EXPECT_OK(att_buf_put(pem, b64.data + i, n));
        EXPECT_OK(att_buf_puts(pem, eol));
    }
    EXPECT_OK(att_buf_printf(pem, "-----END X509 CRL-----%s", eol));
    att_buf_cleanup(&b64);
}

static void test_crl_forms(void **state)
{
    (void)state;
    struct att_buf der, text;
    coll_load(RAW_PCK_CRL, &der);
    assert_true(der.len > 100);

    expect_crl(der.data, der.len, &der);

    to_pem(&der, 64, "\n", &text);
    expect_crl(text.data, text.len, &der);
    att_buf_cleanup(&text);
    to_pem(&der, 76, "\r\n", &text);
    expect_crl(text.data, text.len, &der);
    att_buf_cleanup(&text);
    to_pem(&der, 1u << 20, "", &text); /* one line */
    expect_crl(text.data, text.len, &der);
    att_buf_cleanup(&text);

    att_buf_init(&text, 4 * ATT_PCS_MAX_CRL);
    EXPECT_OK(att_hex_encode(der.data, der.len, &text));
    expect_crl(text.data, text.len, &der);
    EXPECT_OK(att_buf_puts(&text, "\r\n"));
    expect_crl(text.data, text.len, &der);
    for (size_t i = 0; i < text.len; i++) { /* upper case too */
        if (text.data[i] >= 'a' && text.data[i] <= 'f') {
            text.data[i] = (uint8_t)(text.data[i] - 'a' + 'A');
        }
    }
    expect_crl(text.data, text.len, &der);
    att_buf_cleanup(&text);

    /* The Root CA CRL of a bundle, hex as dcap-qvl keeps it. */
    size_t n = 0;
    char *hex = coll_bundle_member(SGX_BUNDLE, "root_ca_crl", &n);
    struct att_buf root;
    att_buf_init(&root, ATT_PCS_MAX_CRL);
    EXPECT_OK(att_hex_decode(hex, n, &root));
    expect_crl(hex, n, &root);
    expect_crl(root.data, root.len, &root);
    free(hex);
    att_buf_cleanup(&root);
    att_buf_cleanup(&der);
}

static void test_crl_bad(void **state)
{
    (void)state;
    struct att_buf der, text;
    coll_load(RAW_PCK_CRL, &der);

    expect_crl_err("", 0, ATT_ERR_COLLATERAL_FORMAT);
    expect_crl_err(" \r\n", 3, ATT_ERR_COLLATERAL_FORMAT);
    expect_crl_err("not a crl", 9, ATT_ERR_COLLATERAL_FORMAT);
    /* DER that is not one definite, minimal SEQUENCE spanning the body. */
    expect_crl_err("\x30", 1, ATT_ERR_COLLATERAL_FORMAT);
    expect_crl_err("\x30\x03\x02\x01", 4, ATT_ERR_COLLATERAL_FORMAT);         /* short */
    expect_crl_err("\x30\x02\x05\x00\x00", 5, ATT_ERR_COLLATERAL_FORMAT);     /* trailing */
    expect_crl_err("\x30\x80\x05\x00\x00\x00", 6, ATT_ERR_COLLATERAL_FORMAT); /* indefinite */
    expect_crl_err("\x30\x81\x02\x05\x00", 5, ATT_ERR_COLLATERAL_FORMAT);     /* not minimal */
    expect_crl_err("\x30\x82\x00\x82", 4, ATT_ERR_COLLATERAL_FORMAT);         /* leading zero */
    expect_crl_err("\x30\x85\x01\x00\x00\x00\x00", 7, ATT_ERR_COLLATERAL_FORMAT);
    expect_crl_err("\x31\x02\x05\x00", 4, ATT_ERR_COLLATERAL_FORMAT); /* a SET, as hex below */
    expect_crl_err("31020500", 8, ATT_ERR_COLLATERAL_FORMAT);
    expect_crl_err("3002050", 7, ATT_ERR_COLLATERAL_FORMAT);      /* odd hex */
    expect_crl_err("30 02 05 00", 11, ATT_ERR_COLLATERAL_FORMAT); /* spaced hex */
    expect_crl_err("3002050g", 8, ATT_ERR_COLLATERAL_FORMAT);
    /* Every truncation of the real CRL. */
    for (size_t i = 0; i < der.len; i++) {
        expect_crl_err(der.data, i, ATT_ERR_COLLATERAL_FORMAT);
    }

    /* PEM of the wrong kind, broken base64, text after the end, no end. */
    to_pem(&der, 64, "\n", &text);
    const char *p = att_buf_cstr(&text);
    char *other = malloc(text.len + 64);
    assert_non_null(other);
    snprintf(other, text.len + 64, "-----BEGIN CERTIFICATE-----\n%s",
             p + strlen("-----BEGIN X509 CRL-----\n"));
    expect_crl_err(other, strlen(other), ATT_ERR_COLLATERAL_FORMAT);
    snprintf(other, text.len + 64, "%sextra\n", p);
    expect_crl_err(other, strlen(other), ATT_ERR_COLLATERAL_FORMAT);
    snprintf(other, text.len + 64, "%s%s", p, p); /* two CRLs */
    expect_crl_err(other, strlen(other), ATT_ERR_COLLATERAL_FORMAT);
    snprintf(other, text.len + 64, "%s", p);
    other[40] = '*';
    expect_crl_err(other, strlen(other), ATT_ERR_COLLATERAL_FORMAT);
    snprintf(other, text.len + 64, "%s", p);
    other[strlen(other) - strlen("-----END X509 CRL-----\n")] = '\0';
    expect_crl_err(other, strlen(other), ATT_ERR_COLLATERAL_FORMAT);
    snprintf(other, text.len + 64, "%s", p);
    other[30] = '='; /* padding in the middle */
    expect_crl_err(other, strlen(other), ATT_ERR_COLLATERAL_FORMAT);
    free(other);
    att_buf_cleanup(&text);

    /* Too large: a SEQUENCE of ATT_PCS_MAX_CRL + 1 bytes, as DER and as hex. */
    size_t big = ATT_PCS_MAX_CRL + 1;
    uint8_t *seq = calloc(1, big);
    assert_non_null(seq);
    seq[0] = 0x30;
    seq[1] = 0x83;
    size_t content = big - 5;
    seq[2] = (uint8_t)(content >> 16);
    seq[3] = (uint8_t)(content >> 8);
    seq[4] = (uint8_t)content;
    expect_crl_err(seq, big, ATT_ERR_TOO_LARGE);
    att_buf_init(&text, 4 * ATT_PCS_MAX_CRL);
    EXPECT_OK(att_hex_encode(seq, big, &text));
    expect_crl_err(text.data, text.len, ATT_ERR_TOO_LARGE);
    att_buf_cleanup(&text);
    free(seq);
    att_buf_cleanup(&der);
}

/* ---- whole answers ------------------------------------------------------------------------ */

/* RFC 3986 percent-encoding of everything but unreserved characters, as Intel's PCS does. */
static void pct_encode(const char *s, size_t n, struct att_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            EXPECT_OK(att_buf_putc(out, ch));
        } else {
            EXPECT_OK(att_buf_printf(out, "%%%02X", ch));
        }
    }
}

/* A header block: status line, one chain header `name` with `pem` encoded (if name), `extra`. */
static void make_headers(struct att_buf *h, long status, const char *name, const char *pem,
                         const char *extra)
{
    att_buf_init(h, ATT_PCS_MAX_CHAIN_PEM * 4);
    EXPECT_OK(att_buf_printf(h, "HTTP/1.1 %ld X\r\nContent-Type: application/json\r\n", status));
    if (name != NULL) {
        EXPECT_OK(att_buf_printf(h, "%s: ", name));
        pct_encode(pem, strlen(pem), h);
        EXPECT_OK(att_buf_puts(h, "\r\n"));
    }
    EXPECT_OK(att_buf_puts(h, extra != NULL ? extra : ""));
    EXPECT_OK(att_buf_puts(h, "\r\n"));
}

static void expect_parse_err(enum att_pcs_kind kind, long status, const struct att_buf *body,
                             const struct att_buf *headers, att_err code)
{
    struct att_pcs_item it;
    char msg[200] = "";
    att_pcs_item_init(&it);
    att_err rc =
        att_pcs_response_parse(kind, status, body, headers, RFC_DATE, &it, msg, sizeof(msg));
    if (rc != code) {
        fail_msg("expected %s, got %s (%s)", att_err_name(code), att_err_name(rc), msg);
    }
    assert_int_equal(it.body.len, 0);
    assert_int_equal(it.issuer_chain.len, 0);
    assert_false(it.has_signature);
    att_pcs_item_cleanup(&it);
}

static void test_parse_tcb_info(void **state)
{
    (void)state;
    struct att_buf body, headers;
    struct att_pcs_item it;
    size_t n = 0, sn = 0;
    char msg[200] = "";
    char *chain = coll_bundle_member(SGX_BUNDLE, "tcb_info_issuer_chain", &n);
    char *doc = coll_bundle_member(SGX_BUNDLE, "tcb_info", &n);
    char *sig_hex = coll_bundle_member(SGX_BUNDLE, "tcb_info_signature", &sn);
    uint8_t sig[64];
    coll_unhex(sig_hex, sig, sizeof(sig));
    coll_load(RAW_TCB, &body);

    static const char *const names[] = {"TCB-Info-Issuer-Chain", "SGX-TCB-Info-Issuer-Chain",
                                        "tcb-info-issuer-chain"};
    for (size_t i = 0; i < 3; i++) {
        make_headers(&headers, 200, names[i], chain, "x-ms-request-id: 1\r\n");
        att_pcs_item_init(&it);
        it.retry_after = 99;
        att_err rc = att_pcs_response_parse(ATT_PCS_TCB_INFO, 200, &body, &headers, 0, &it, msg,
                                            sizeof(msg));
        if (rc != ATT_OK) {
            fail_msg("%s: %s", att_err_name(rc), msg);
        }
        /* The signed span is the bundle's document, byte for byte, and Intel's key signed it. */
        assert_int_equal(it.body.len, strlen(doc));
        assert_memory_equal(it.body.data, doc, it.body.len);
        assert_true(it.has_signature);
        assert_memory_equal(it.signature, sig, 64);
        assert_true(coll_tcb_sig_ok(it.body.data, it.body.len, it.signature));
        assert_string_equal(att_buf_cstr(&it.issuer_chain), chain);
        assert_int_equal(it.retry_after, 0); /* an answer, not a refusal */
        att_pcs_item_cleanup(&it);
        att_buf_cleanup(&headers);
    }

    /* The chain header is required, once, and must decode. */
    make_headers(&headers, 200, NULL, NULL, NULL);
    expect_parse_err(ATT_PCS_TCB_INFO, 200, &body, &headers, ATT_ERR_COLLATERAL_FORMAT);
    expect_parse_err(ATT_PCS_TCB_INFO, 200, &body, NULL, ATT_ERR_COLLATERAL_FORMAT);
    att_buf_cleanup(&headers);
    make_headers(&headers, 200, "SGX-Enclave-Identity-Issuer-Chain", chain, NULL);
    expect_parse_err(ATT_PCS_TCB_INFO, 200, &body, &headers, ATT_ERR_COLLATERAL_FORMAT);
    att_buf_cleanup(&headers);
    make_headers(&headers, 200, "TCB-Info-Issuer-Chain", chain, "TCB-Info-Issuer-Chain: x\r\n");
    expect_parse_err(ATT_PCS_TCB_INFO, 200, &body, &headers, ATT_ERR_COLLATERAL_FORMAT);
    att_buf_cleanup(&headers);
    make_headers(&headers, 200, NULL, NULL, "TCB-Info-Issuer-Chain: %2G\r\n");
    expect_parse_err(ATT_PCS_TCB_INFO, 200, &body, &headers, ATT_ERR_COLLATERAL_FORMAT);
    att_buf_cleanup(&headers);
    make_headers(&headers, 200, NULL, NULL, "TCB-Info-Issuer-Chain: %00\r\n");
    expect_parse_err(ATT_PCS_TCB_INFO, 200, &body, &headers, ATT_ERR_COLLATERAL_FORMAT);
    att_buf_cleanup(&headers);
    make_headers(&headers, 200, NULL, NULL, "TCB-Info-Issuer-Chain:\r\n");
    expect_parse_err(ATT_PCS_TCB_INFO, 200, &body, &headers, ATT_ERR_COLLATERAL_FORMAT);
    att_buf_cleanup(&headers);

    /* Bodies that are not a signed TCB info response. */
    make_headers(&headers, 200, "TCB-Info-Issuer-Chain", chain, NULL);
    struct att_buf bad;
    static const char *const bad_bodies[] = {
        "",
        "{}",
        "not json",
        "{\"tcbInfo\":{\"id\":\"SGX\"}}",
        "{\"tcbInfo\":{},\"signature\":\"00\"}",
        "{\"enclaveIdentity\":{},\"signature\":\"" /* 128 hex */
        "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "000000000000000000000000000000000000000000000000\"}",
    };
    for (size_t i = 0; i < sizeof(bad_bodies) / sizeof(bad_bodies[0]); i++) {
        att_buf_init(&bad, 4096);
        EXPECT_OK(att_buf_put(&bad, bad_bodies[i], strlen(bad_bodies[i])));
        expect_parse_err(ATT_PCS_TCB_INFO, 200, &bad, &headers, ATT_ERR_COLLATERAL_FORMAT);
        att_buf_cleanup(&bad);
    }
    /* The QE identity response is not a TCB info response. */
    coll_load(RAW_QE, &bad);
    expect_parse_err(ATT_PCS_TCB_INFO, 200, &bad, &headers, ATT_ERR_COLLATERAL_FORMAT);
    att_buf_cleanup(&bad);
    att_buf_cleanup(&headers);

    free(chain);
    free(doc);
    free(sig_hex);
    att_buf_cleanup(&body);
}

/* A header value as go-tdx-guest captured it from Intel's PCS (tests/fixtures/dcap/tdx). */
static void test_parse_captured_header(void **state)
{
    (void)state;
    struct att_buf body, value, want, headers;
    struct att_pcs_item it;
    char msg[200] = "";
    coll_load("dcap/tdx/raw_gotdx_sample_tcbInfo_response", &body);
    coll_load("dcap/tdx/raw_gotdx_tcbInfoIssuerChain_header.txt", &value);
    coll_load("dcap/roots/intel_tcb_signing_chain_2018.pem", &want);
    att_buf_init(&headers, 65536);
    EXPECT_OK(att_buf_puts(&headers, "HTTP/1.1 200 OK\r\ntcb-info-issuer-chain: "));
    EXPECT_OK(att_buf_put(&headers, value.data, value.len));
    EXPECT_OK(att_buf_puts(&headers, "\r\nTCB-Evaluation-Data-Number: 15\r\n\r\n"));
    att_pcs_item_init(&it);
    att_err rc =
        att_pcs_response_parse(ATT_PCS_TCB_INFO, 200, &body, &headers, 0, &it, msg, sizeof(msg));
    if (rc != ATT_OK) {
        fail_msg("%s: %s", att_err_name(rc), msg);
    }
    assert_int_equal(it.issuer_chain.len, want.len);
    assert_memory_equal(it.issuer_chain.data, want.data, want.len);
    att_pcs_item_cleanup(&it);
    att_buf_cleanup(&headers);
    att_buf_cleanup(&want);
    att_buf_cleanup(&value);
    att_buf_cleanup(&body);
}

static void test_parse_qe_identity(void **state)
{
    (void)state;
    struct att_buf body, headers;
    struct att_pcs_item it;
    size_t n = 0, sn = 0;
    char msg[200] = "";
    char *chain = coll_bundle_member(SGX_BUNDLE, "qe_identity_issuer_chain", &n);
    char *doc = coll_bundle_member(SGX_BUNDLE, "qe_identity", &n);
    char *sig_hex = coll_bundle_member(SGX_BUNDLE, "qe_identity_signature", &sn);
    uint8_t sig[64];
    coll_unhex(sig_hex, sig, sizeof(sig));
    coll_load(RAW_QE, &body);

    make_headers(&headers, 200, "SGX-Enclave-Identity-Issuer-Chain", chain, NULL);
    att_pcs_item_init(&it);
    EXPECT_OK(att_buf_puts(&it.body, "old content is replaced"));
    att_err rc =
        att_pcs_response_parse(ATT_PCS_QE_IDENTITY, 200, &body, &headers, 0, &it, msg, sizeof(msg));
    if (rc != ATT_OK) {
        fail_msg("%s: %s", att_err_name(rc), msg);
    }
    assert_int_equal(it.body.len, strlen(doc));
    assert_memory_equal(it.body.data, doc, it.body.len);
    assert_memory_equal(it.signature, sig, 64);
    assert_true(coll_tcb_sig_ok(it.body.data, it.body.len, it.signature));
    assert_string_equal(att_buf_cstr(&it.issuer_chain), chain);
    att_pcs_item_cleanup(&it);
    att_buf_cleanup(&headers);

    /* Only its own header name. */
    make_headers(&headers, 200, "TCB-Info-Issuer-Chain", chain, NULL);
    expect_parse_err(ATT_PCS_QE_IDENTITY, 200, &body, &headers, ATT_ERR_COLLATERAL_FORMAT);
    att_buf_cleanup(&headers);

    free(chain);
    free(doc);
    free(sig_hex);
    att_buf_cleanup(&body);
}

static void test_parse_crls(void **state)
{
    (void)state;
    struct att_buf der, body, headers;
    struct att_pcs_item it;
    size_t n = 0;
    char msg[200] = "";
    char *chain = coll_bundle_member(SGX_BUNDLE, "pck_crl_issuer_chain", &n);
    coll_load(RAW_PCK_CRL, &der);

    /* PCK CRL as DER and as hex, with its chain. */
    make_headers(&headers, 200, "SGX-PCK-CRL-Issuer-Chain", chain, NULL);
    att_buf_init(&body, 4 * ATT_PCS_MAX_CRL);
    EXPECT_OK(att_hex_encode(der.data, der.len, &body));
    const struct att_buf *bodies[] = {&der, &body};
    for (size_t i = 0; i < 2; i++) {
        att_pcs_item_init(&it);
        att_err rc = att_pcs_response_parse(ATT_PCS_PCK_CRL, 200, bodies[i], &headers, 0, &it, msg,
                                            sizeof(msg));
        if (rc != ATT_OK) {
            fail_msg("%s: %s", att_err_name(rc), msg);
        }
        assert_int_equal(it.body.len, der.len);
        assert_memory_equal(it.body.data, der.data, der.len);
        assert_false(it.has_signature);
        assert_string_equal(att_buf_cstr(&it.issuer_chain), chain);
        att_pcs_item_cleanup(&it);
    }
    att_buf_cleanup(&headers);
    /* The chain is required for a PCK CRL... */
    make_headers(&headers, 200, NULL, NULL, NULL);
    expect_parse_err(ATT_PCS_PCK_CRL, 200, &der, &headers, ATT_ERR_COLLATERAL_FORMAT);

    /* ...and not looked for with the Root CA CRL. */
    att_pcs_item_init(&it);
    EXPECT_OK(
        att_pcs_response_parse(ATT_PCS_ROOT_CRL, 200, &body, &headers, 0, &it, msg, sizeof(msg)));
    assert_int_equal(it.body.len, der.len);
    assert_int_equal(it.issuer_chain.len, 0);
    att_pcs_item_cleanup(&it);
    att_pcs_item_init(&it);
    EXPECT_OK(att_pcs_response_parse(ATT_PCS_ROOT_CRL, 200, &der, NULL, 0, &it, msg, sizeof(msg)));
    att_pcs_item_cleanup(&it);

    /* A JSON body where a CRL belongs. */
    struct att_buf json;
    coll_load(RAW_TCB, &json);
    expect_parse_err(ATT_PCS_ROOT_CRL, 200, &json, &headers, ATT_ERR_COLLATERAL_FORMAT);
    att_buf_cleanup(&json);

    att_buf_cleanup(&headers);
    att_buf_cleanup(&body);
    att_buf_cleanup(&der);
    free(chain);
}

static void test_parse_status(void **state)
{
    (void)state;
    struct att_buf body, headers;
    struct att_pcs_item it;
    coll_load(RAW_TCB, &body);

    /* 404: the service does not know the FMSPC. */
    make_headers(&headers, 404, NULL, NULL, NULL);
    expect_parse_err(ATT_PCS_TCB_INFO, 404, &body, &headers, ATT_ERR_NOT_FOUND);
    att_buf_cleanup(&headers);

    /* 429 and 503: Retry-After in seconds or as a date; still a failed fetch. */
    static const struct {
        long status;
        const char *extra;
        int64_t want;
    } cases[] = {
        {429, "Retry-After: 30\r\n", 30},
        {503, "retry-after: 5\r\n", 5},
        {429, "Retry-After: Sun, 06 Nov 1994 08:50:37 GMT\r\n", 60},
        {429, "Retry-After: 1000000\r\n", ATT_PCS_RETRY_AFTER_CAP},
        {429, "Retry-After: soon\r\n", 0},
        {429, "", 0},
        {429, "Retry-After: 1\r\nRetry-After: 2\r\n", 0}, /* ambiguous: ignored */
        {500, "Retry-After: 30\r\n", 0},                  /* only 429 and 503 */
        {302, "Location: https://elsewhere.example/\r\n", 0},
        {204, "", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char msg[200] = "";
        make_headers(&headers, cases[i].status, NULL, NULL, cases[i].extra);
        att_pcs_item_init(&it);
        it.retry_after = -1;
        EXPECT_ERR(att_pcs_response_parse(ATT_PCS_TCB_INFO, cases[i].status, &body, &headers,
                                          RFC_DATE, &it, msg, sizeof(msg)),
                   ATT_ERR_FETCH);
        if (cases[i].status == 429 || cases[i].status == 503) {
            assert_int_equal(it.retry_after, cases[i].want);
        } else {
            assert_int_equal(it.retry_after, -1);
        }
        assert_non_null(strstr(msg, "HTTP status"));
        assert_int_equal(it.body.len, 0);
        att_pcs_item_cleanup(&it);
        att_buf_cleanup(&headers);
    }
    att_buf_cleanup(&body);

    att_pcs_item_init(&it);
    EXPECT_ERR(att_pcs_response_parse((enum att_pcs_kind)9, 200, &body, NULL, 0, &it, NULL, 0),
               ATT_ERR_ARG);
    EXPECT_ERR(att_pcs_response_parse(ATT_PCS_ROOT_CRL, 200, NULL, NULL, 0, &it, NULL, 0),
               ATT_ERR_ARG);
    att_pcs_item_cleanup(&it);
    att_pcs_item_cleanup(NULL);
}

/* ---- fetch arguments (refused before any transfer) ---------------------------------------- */

static void test_fetch_arguments(void **state)
{
    (void)state;
    static const uint8_t fmspc[6] = {0x00, 0x60, 0x6a, 0x00, 0x00, 0x00};
    struct att_pcs_item it;
    char detail[200];
    att_pcs_item_init(&it);

    struct att_pcs_client none = {NULL, NULL, NULL, NULL, 0};
    struct att_pcs_client http = {"http://pcs.example", NULL, NULL, "http://pcs.example/root.der",
                                  0};
    struct att_pcs_client badkey = {"https://127.0.0.1:1", NULL, "key\r\nX-Injected: 1", NULL, 0};
    EXPECT_ERR(att_pcs_fetch_tcb_info(&none, false, fmspc, &it, detail, sizeof(detail)),
               ATT_ERR_ARG);
    EXPECT_ERR(att_pcs_fetch_tcb_info(&http, true, fmspc, &it, detail, sizeof(detail)),
               ATT_ERR_ARG);
    EXPECT_ERR(att_pcs_fetch_tcb_info(NULL, true, fmspc, &it, detail, sizeof(detail)), ATT_ERR_ARG);
    EXPECT_ERR(att_pcs_fetch_tcb_info(&http, true, NULL, &it, detail, sizeof(detail)), ATT_ERR_ARG);
    EXPECT_ERR(att_pcs_fetch_qe_identity(&none, false, &it, detail, sizeof(detail)), ATT_ERR_ARG);
    EXPECT_ERR(att_pcs_fetch_qe_identity(&http, false, &it, NULL, 0), ATT_ERR_ARG);
    EXPECT_ERR(att_pcs_fetch_pck_crl(&http, true, &it, detail, sizeof(detail)), ATT_ERR_ARG);
    EXPECT_ERR(att_pcs_fetch_pck_crl(&none, false, NULL, detail, sizeof(detail)), ATT_ERR_ARG);
    EXPECT_ERR(att_pcs_fetch_root_crl(&http, &it, detail, sizeof(detail)), ATT_ERR_ARG);
    EXPECT_ERR(att_pcs_fetch_root_crl(NULL, &it, detail, sizeof(detail)), ATT_ERR_ARG);
    /* An API key that would inject a header is refused, and never shown. */
    EXPECT_ERR(att_pcs_fetch_qe_identity(&badkey, false, &it, detail, sizeof(detail)), ATT_ERR_ARG);
    assert_null(strstr(detail, "key"));
    assert_int_equal(it.body.len, 0);
    assert_int_equal(it.retry_after, 0);
    att_pcs_item_cleanup(&it);
}

/* ---- real fetches against pcs_server.py ---------------------------------------------------- */

/*
 * Start pcs_server.py serving the SGX and TDX bundles, with `extra` (NULL-terminated, up to 4)
 * added to its arguments. false when it cannot run here.
 */
static bool pcs_start(struct standin *c, const char *const *extra)
{
    char b1[512], b2[512];
    snprintf(b1, sizeof(b1), "%s/%s", ATT_FIXTURES_DIR, SGX_BUNDLE);
    snprintf(b2, sizeof(b2), "%s/%s", ATT_FIXTURES_DIR, TDX_BUNDLE);
    const char *args[10] = {"--bundle", b1, "--bundle", b2};
    size_t n = 4;
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 9; i++) {
        args[n++] = extra[i];
    }
    args[n] = NULL;
    return standin_start(c, "pcs_server.py", args);
}

static json_int_t stat_of(const struct standin *c, const char *path)
{
    return standin_stat(c, "by_path", path);
}

/* A fetched item against the bundle member `doc_key` (or hex DER `crl_key`) and chain. */
static void expect_item(const struct att_pcs_item *it, const char *bundle, const char *doc_key,
                        const char *crl_key, const char *chain_key)
{
    size_t n = 0;
    if (doc_key != NULL) {
        char *doc = coll_bundle_member(bundle, doc_key, &n);
        assert_int_equal(it->body.len, n);
        assert_memory_equal(it->body.data, doc, n);
        assert_true(it->has_signature);
        free(doc);
    } else {
        char *hex = coll_bundle_member(bundle, crl_key, &n);
        struct att_buf der;
        att_buf_init(&der, ATT_PCS_MAX_CRL);
        EXPECT_OK(att_hex_decode(hex, n, &der));
        assert_int_equal(it->body.len, der.len);
        assert_memory_equal(it->body.data, der.data, der.len);
        assert_false(it->has_signature);
        att_buf_cleanup(&der);
        free(hex);
    }
    if (chain_key != NULL) {
        char *chain = coll_bundle_member(bundle, chain_key, &n);
        assert_string_equal(att_buf_cstr(&it->issuer_chain), chain);
        free(chain);
    } else {
        assert_int_equal(it->issuer_chain.len, 0);
    }
    assert_int_equal(it->retry_after, 0);
}

#define FETCH_OK(expr)                                                                             \
    do {                                                                                           \
        att_err fetch_rc_ = (expr);                                                                \
        if (fetch_rc_ != ATT_OK) {                                                                 \
            fail_msg("%s: %s (%s)", #expr, att_err_name(fetch_rc_), detail);                       \
        }                                                                                          \
    } while (0)

static void test_live_fetches(void **state)
{
    (void)state;
    static const uint8_t sgx_fmspc[6] = {0x00, 0x60, 0x6a, 0x00, 0x00, 0x00};
    static const uint8_t tdx_fmspc[6] = {0x00, 0x80, 0x6f, 0x05, 0x00, 0x00};
    static const uint8_t unknown[6] = {0x00, 0x60, 0x6a, 0x00, 0x00, 0x01};
    static const char *const extra[] = {"--require-key", "k-123", NULL};
    struct standin srv;
    struct att_pcs_item it;
    struct att_buf ignored;
    char detail[512] = "";
    char root_url[128];

    if (!pcs_start(&srv, extra)) {
        att_test_rmdir(srv.dir);
        skip();
    }
    snprintf(root_url, sizeof(root_url), "%s/IntelSGXRootCA.der", srv.base);
    struct att_pcs_client c = {srv.base, srv.ca, "k-123", root_url, 0};
    att_pcs_item_init(&it);

    FETCH_OK(att_pcs_fetch_tcb_info(&c, false, sgx_fmspc, &it, detail, sizeof(detail)));
    expect_item(&it, SGX_BUNDLE, "tcb_info", NULL, "tcb_info_issuer_chain");
    assert_true(coll_tcb_sig_ok(it.body.data, it.body.len, it.signature));
    FETCH_OK(att_pcs_fetch_tcb_info(&c, true, tdx_fmspc, &it, detail, sizeof(detail)));
    expect_item(&it, TDX_BUNDLE, "tcb_info", NULL, "tcb_info_issuer_chain");
    FETCH_OK(att_pcs_fetch_qe_identity(&c, false, &it, detail, sizeof(detail)));
    expect_item(&it, SGX_BUNDLE, "qe_identity", NULL, "qe_identity_issuer_chain");
    FETCH_OK(att_pcs_fetch_qe_identity(&c, true, &it, detail, sizeof(detail)));
    expect_item(&it, TDX_BUNDLE, "qe_identity", NULL, "qe_identity_issuer_chain");
    /* The later bundle's platform CRL (both are the platform CA's). */
    FETCH_OK(att_pcs_fetch_pck_crl(&c, true, &it, detail, sizeof(detail)));
    expect_item(&it, TDX_BUNDLE, NULL, "pck_crl", "pck_crl_issuer_chain");
    FETCH_OK(att_pcs_fetch_root_crl(&c, &it, detail, sizeof(detail)));
    expect_item(&it, TDX_BUNDLE, NULL, "root_ca_crl", NULL);

    /* Unknown items; a wrong TEE for the FMSPC is unknown too. */
    EXPECT_ERR(att_pcs_fetch_tcb_info(&c, false, unknown, &it, detail, sizeof(detail)),
               ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_pcs_fetch_tcb_info(&c, true, sgx_fmspc, &it, detail, sizeof(detail)),
               ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_pcs_fetch_pck_crl(&c, false, &it, detail, sizeof(detail)), ATT_ERR_NOT_FOUND);
    /* The last good item is still there. */
    expect_item(&it, TDX_BUNDLE, NULL, "root_ca_crl", NULL);

    /* Rate limited: Retry-After is reported, the next request goes through. */
    att_buf_init(&ignored, 65536);
    standin_control(&srv, true, "/__fail?status=429&count=2&retry_after=42", &ignored);
    EXPECT_ERR(att_pcs_fetch_qe_identity(&c, false, &it, detail, sizeof(detail)), ATT_ERR_FETCH);
    assert_int_equal(it.retry_after, 42);
    assert_non_null(strstr(detail, "429"));
    EXPECT_ERR(att_pcs_fetch_tcb_info(&c, false, sgx_fmspc, &it, detail, sizeof(detail)),
               ATT_ERR_FETCH);
    assert_int_equal(it.retry_after, 42);
    FETCH_OK(att_pcs_fetch_qe_identity(&c, false, &it, detail, sizeof(detail)));
    assert_int_equal(it.retry_after, 0);
    standin_control(&srv, true, "/__fail?status=503&count=1", &ignored);
    EXPECT_ERR(att_pcs_fetch_qe_identity(&c, false, &it, detail, sizeof(detail)), ATT_ERR_FETCH);
    assert_int_equal(it.retry_after, 0);
    standin_control(&srv, true, "/__fail?status=500&count=1&retry_after=9", &ignored);
    EXPECT_ERR(att_pcs_fetch_qe_identity(&c, false, &it, detail, sizeof(detail)), ATT_ERR_FETCH);
    assert_int_equal(it.retry_after, 0);
    att_buf_cleanup(&ignored);

    /* One request per fetch: SGX TCB info good, unknown and rate-limited; TDX good, wrong TEE. */
    assert_int_equal(stat_of(&srv, "/sgx/certification/v4/tcb"), 3);
    assert_int_equal(stat_of(&srv, "/tdx/certification/v4/tcb"), 2);
    assert_int_equal(stat_of(&srv, "/sgx/certification/v4/qe/identity"), 5);

    /* The key is sent (the server refuses requests without it) and never shown. */
    struct att_pcs_client nokey = {srv.base, srv.ca, NULL, root_url, 0};
    EXPECT_ERR(att_pcs_fetch_qe_identity(&nokey, false, &it, detail, sizeof(detail)),
               ATT_ERR_FETCH);
    assert_non_null(strstr(detail, "401"));
    struct att_pcs_client wrongkey = {srv.base, srv.ca, "k-999", root_url, 0};
    EXPECT_ERR(att_pcs_fetch_qe_identity(&wrongkey, false, &it, detail, sizeof(detail)),
               ATT_ERR_FETCH);
    assert_null(strstr(detail, "k-999"));

    /* TLS: the system's trust anchors do not know the test CA. */
    struct att_pcs_client untrusted = {srv.base, NULL, "k-123", root_url, 0};
    EXPECT_ERR(att_pcs_fetch_qe_identity(&untrusted, false, &it, detail, sizeof(detail)),
               ATT_ERR_FETCH);
    /* A trailing slash on the base is fine. */
    char slash[80];
    snprintf(slash, sizeof(slash), "%s/", srv.base);
    struct att_pcs_client with_slash = {slash, srv.ca, "k-123", root_url, 0};
    FETCH_OK(att_pcs_fetch_qe_identity(&with_slash, true, &it, detail, sizeof(detail)));

    att_pcs_item_cleanup(&it);
    standin_stop(&srv);
}

/* A PCCS that answers CRLs as hex text. */
static void test_live_hex_crls(void **state)
{
    (void)state;
    static const char *const extra[] = {"--crl-hex", NULL};
    struct standin srv;
    struct att_pcs_item it;
    char detail[512] = "";
    char root_url[128];

    if (!pcs_start(&srv, extra)) {
        att_test_rmdir(srv.dir);
        skip();
    }
    snprintf(root_url, sizeof(root_url), "%s/sgx/certification/v4/rootcacrl", srv.base);
    struct att_pcs_client c = {srv.base, srv.ca, NULL, root_url, 0};
    att_pcs_item_init(&it);
    FETCH_OK(att_pcs_fetch_pck_crl(&c, true, &it, detail, sizeof(detail)));
    expect_item(&it, TDX_BUNDLE, NULL, "pck_crl", "pck_crl_issuer_chain");
    FETCH_OK(att_pcs_fetch_root_crl(&c, &it, detail, sizeof(detail)));
    expect_item(&it, TDX_BUNDLE, NULL, "root_ca_crl", NULL);
    att_pcs_item_cleanup(&it);
    standin_stop(&srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_value),      cmocka_unit_test(test_header_ambiguous),
        cmocka_unit_test(test_header_truncated),  cmocka_unit_test(test_retry_after_seconds),
        cmocka_unit_test(test_retry_after_dates), cmocka_unit_test(test_retry_after_bad),
        cmocka_unit_test(test_crl_forms),         cmocka_unit_test(test_crl_bad),
        cmocka_unit_test(test_parse_tcb_info),    cmocka_unit_test(test_parse_captured_header),
        cmocka_unit_test(test_parse_qe_identity), cmocka_unit_test(test_parse_crls),
        cmocka_unit_test(test_parse_status),      cmocka_unit_test(test_fetch_arguments),
        cmocka_unit_test(test_live_fetches),      cmocka_unit_test(test_live_hex_crls),
    };
    if (att_https_global_init() != ATT_OK) {
        return 1;
    }
    int failed = cmocka_run_group_tests_name("collateral_fetch", tests, NULL, NULL);
    att_https_global_cleanup();
    return failed;
}
