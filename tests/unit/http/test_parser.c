/* Unit tests for src/http/parser.c: valid heads, every refusal with its status, truncation. */
#include "att_test.h"

#include <string.h>

#include "http/request.h"

static const struct att_http_limits limits = {16384, 262144};

static att_err parse(const char *text, struct att_http_head *h, struct att_http_parse_error *e)
{
    att_http_head_init(h);
    return att_http_head_parse((const uint8_t *)text, strlen(text), &limits, h, e);
}

static void test_valid_get(void **state)
{
    (void)state;
    struct att_http_head h;
    struct att_http_parse_error e;
    EXPECT_OK(parse("GET /providers/p1/certs?api-version=2020-10-01&x=%41b HTTP/1.1\r\n"
                    "Host: 127.0.0.1\r\nAccept:  application/json \r\n\r\n",
                    &h, &e));
    assert_int_equal(h.method, ATT_HTTP_GET);
    assert_true(att_bytes_eq_str(h.path, "/providers/p1/certs"));
    assert_int_equal(h.n_query, 2);
    const struct att_bytes *v = att_http_query_get(&h, "api-version");
    assert_non_null(v);
    assert_true(att_bytes_eq_str(*v, "2020-10-01"));
    assert_true(att_bytes_eq_str(*att_http_query_get(&h, "x"), "Ab"));
    assert_true(att_bytes_eq_str(*att_http_header_get(&h, "ACCEPT"), "application/json"));
    assert_true(h.keep_alive);
    assert_false(h.has_content_length);
    att_http_head_cleanup(&h);
}

static void test_post_with_body_and_colon_path(void **state)
{
    (void)state;
    struct att_http_head h;
    struct att_http_parse_error e;
    EXPECT_OK(parse("POST /policies/SgxEnclave:reset HTTP/1.1\r\nHost: x\r\n"
                    "Content-Length: 42\r\nConnection: close\r\nExpect: 100-continue\r\n\r\n",
                    &h, &e));
    assert_int_equal(h.method, ATT_HTTP_POST);
    assert_true(att_bytes_eq_str(h.path, "/policies/SgxEnclave:reset"));
    assert_true(h.has_content_length);
    assert_int_equal(h.content_length, 42);
    assert_false(h.keep_alive);
    assert_true(h.expect_continue);
    att_http_head_cleanup(&h);
}

static void test_http10_keep_alive(void **state)
{
    (void)state;
    struct att_http_head h;
    struct att_http_parse_error e;
    EXPECT_OK(parse("GET / HTTP/1.0\r\n\r\n", &h, &e));
    assert_false(h.keep_alive);
    att_http_head_cleanup(&h);
    EXPECT_OK(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &h, &e));
    assert_true(h.keep_alive);
    att_http_head_cleanup(&h);
}

struct bad_case {
    const char *text;
    int status;
    const char *message;
};

static const struct bad_case bad[] = {
    {"GET /\r\nHost: x\r\n\r\n", 400, "malformed request line"},
    {"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed request line"},
    {"GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400, "malformed request line"},
    {"GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400, "request target must be an absolute path"},
    {"G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed request line"},
    {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "HTTP version not supported; use HTTP/1.1"},
    {"GET / HTTP/1.1\nHost: x\r\n\r\n", 400, "request head lines must end with CRLF"},
    {"GET / HTTP/1.1\r\nHost: x\r\r\n\r\n", 400, "stray CR in request head"},
    {"GET / HTTP/1.1\r\n\r\n", 400, "exactly one Host header is required"},
    {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "exactly one Host header is required"},
    {"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400,
     "obsolete header line folding is not allowed"},
    {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "malformed header field"},
    {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400, "malformed header field"},
    {"GET / HTTP/1.1\r\nHost: x\x01y\r\n\r\n", 400, "control character in header value"},
    {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", 400,
     "more than one Content-Length header"},
    {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400,
     "Content-Length is not a decimal number"},
    {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1e3\r\n\r\n", 400,
     "Content-Length is not a decimal number"},
    {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 262145\r\n\r\n", 413, "request body too large"},
    {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413,
     "request body too large"},
    {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 501,
     "Transfer-Encoding is not supported; send Content-Length"},
    {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400,
     "both Transfer-Encoding and Content-Length"},
    {"GET / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n", 417, "unsupported expectation"},
    {"GET /a/../certs HTTP/1.1\r\nHost: x\r\n\r\n", 400,
     "dot segments are not allowed in the request path"},
    {"GET /a/%2e%2e/certs HTTP/1.1\r\nHost: x\r\n\r\n", 400,
     "dot segments are not allowed in the request path"},
    {"GET /a%2Fb HTTP/1.1\r\nHost: x\r\n\r\n", 400, "encoded '/' or NUL in request path"},
    {"GET /a%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "encoded '/' or NUL in request path"},
    {"GET /a%4 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad percent-encoding in request target"},
    {"GET /a?x=%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad percent-encoding in request target"},
    {"GET /1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17 HTTP/1.1\r\nHost: x\r\n\r\n", 414,
     "request path has too many segments"},
    {"GET / HTTP/1.1\r\nHost: x\r\n", 400, "request head is not terminated by an empty line"},
    {"GET / HTTP/1.1\r\nHost: x\r\n\r\nX", 400, "bytes after the end of the request head"},
};

static void test_bad_heads(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct att_http_head h;
        struct att_http_parse_error e;
        att_err rc = parse(bad[i].text, &h, &e);
        if (rc == ATT_OK || e.status != bad[i].status || strcmp(e.message, bad[i].message) != 0) {
            fail_msg("case %zu: got %s %d '%s', want %d '%s'", i, att_err_name(rc), e.status,
                     rc == ATT_OK ? "" : e.message, bad[i].status, bad[i].message);
        }
        att_http_head_cleanup(&h);
    }
}

static void test_caps(void **state)
{
    (void)state;
    struct att_http_head h;
    struct att_http_parse_error e;
    char text[8192];
    size_t n = (size_t)snprintf(text, sizeof(text), "GET / HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < ATT_HTTP_MAX_HEADERS; i++) {
        n += (size_t)snprintf(text + n, sizeof(text) - n, "X-%d: y\r\n", i);
    }
    snprintf(text + n, sizeof(text) - n, "\r\n");
    assert_int_not_equal(parse(text, &h, &e), ATT_OK);
    assert_int_equal(e.status, 431);
    att_http_head_cleanup(&h);

    n = (size_t)snprintf(text, sizeof(text), "GET /?");
    for (int i = 0; i <= ATT_HTTP_MAX_QUERY; i++) {
        n += (size_t)snprintf(text + n, sizeof(text) - n, "a%d=b&", i);
    }
    snprintf(text + n, sizeof(text) - n, " HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_not_equal(parse(text, &h, &e), ATT_OK);
    assert_int_equal(e.status, 400);
    assert_string_equal(e.message, "too many query parameters");
    att_http_head_cleanup(&h);

    struct att_http_limits small = {32, 10};
    const char *head = "GET / HTTP/1.1\r\nHost: xxxxxxxxxxxxxxxx\r\n\r\n";
    att_http_head_init(&h);
    assert_int_not_equal(att_http_head_parse((const uint8_t *)head, strlen(head), &small, &h, &e),
                         ATT_OK);
    assert_int_equal(e.status, 431);
    att_http_head_cleanup(&h);
}

/* A refused head is still consistent: every view has its pointer (the access log reads them). */
static void test_refused_head_is_consistent(void **state)
{
    (void)state;
    static const char *heads[] = {
        "GET /certs?a=%zz HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /certs?a=1&b=%4 HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /a/../b?x=1 HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /a%2Fb HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /certs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
        struct att_http_head h;
        struct att_http_parse_error e;
        assert_int_not_equal(parse(heads[i], &h, &e), ATT_OK);
        assert_true(h.path.len == 0 || h.path.ptr != NULL);
        assert_true(h.method_name.len == 0 || h.method_name.ptr != NULL);
        for (size_t q = 0; q < h.n_query; q++) {
            assert_non_null(h.query[q].name.ptr);
        }
        att_http_head_cleanup(&h);
    }
}

/* A valid head cut at any point is refused, never read past. */
static void test_truncation_everywhere(void **state)
{
    (void)state;
    const char *full = "PUT /policies/SgxEnclave?api-version=2020-10-01 HTTP/1.1\r\nHost: x\r\n"
                       "Content-Length: 10\r\nAuthorization: Bearer abc\r\n\r\n";
    size_t n = strlen(full);
    for (size_t cut = 0; cut < n; cut++) {
        struct att_http_head h;
        struct att_http_parse_error e;
        att_http_head_init(&h);
        /* A heap copy of exactly `cut` bytes lets ASan catch any over-read. */
        uint8_t *copy = test_malloc(cut + 1);
        memcpy(copy, full, cut);
        assert_int_not_equal(att_http_head_parse(copy, cut, &limits, &h, &e), ATT_OK);
        assert_true(e.status >= 400 && e.status < 600);
        test_free(copy);
        att_http_head_cleanup(&h);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_get),
        cmocka_unit_test(test_post_with_body_and_colon_path),
        cmocka_unit_test(test_http10_keep_alive),
        cmocka_unit_test(test_bad_heads),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_refused_head_is_consistent),
        cmocka_unit_test(test_truncation_everywhere),
    };
    return cmocka_run_group_tests_name("http_parser", tests, NULL, NULL);
}
