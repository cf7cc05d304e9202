/*
 * parser.c - HTTP/1.1 request head parser.
 *
 * Input: network bytes from any client, untrusted. Read only through the
 * bounded reader. Strict on purpose (RFC 9112): CRLF line endings, no
 * obs-fold, no whitespace before the colon, one Content-Length, no
 * Transfer-Encoding (request smuggling lives in the lenient corners).
 * Error messages are constants and never echo input.
 */
#include "http/request.h"

#include <string.h>

void att_http_head_init(struct att_http_head *h)
{
    memset(h, 0, sizeof(*h));
    att_buf_init(&h->raw, 0);
    att_buf_init(&h->decoded, 0);
}

void att_http_head_cleanup(struct att_http_head *h)
{
    att_buf_cleanup(&h->raw);
    att_buf_cleanup(&h->decoded);
    memset(h, 0, sizeof(*h));
}

static att_err fail(struct att_http_parse_error *e, int status, const char *msg)
{
    e->status = status;
    e->message = msg;
    return ATT_ERR_PARSE;
}

/* RFC 9110 §5.6.2 tchar. */
static bool is_tchar(uint8_t c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool all(struct att_bytes b, bool (*pred)(uint8_t))
{
    struct att_rd r;
    att_rd_init(&r, b.ptr, b.len);
    uint8_t c;
    while (att_rd_u8(&r, &c) == ATT_OK) {
        if (!pred(c)) {
            return false;
        }
    }
    return true;
}

/* request-target bytes: visible ASCII (RFC 3986 allows no spaces or controls). */
static bool is_target_char(uint8_t c)
{
    return c > 0x20 && c < 0x7f;
}

/* field-value: VCHAR, obs-text, SP, HTAB (RFC 9110 §5.5); no CTLs, no NUL. */
static bool is_value_char(uint8_t c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* Read one line ending in CRLF; a bare LF or CR inside the line is refused. */
static att_err read_line(struct att_rd *r, struct att_bytes *line, struct att_http_parse_error *e)
{
    struct att_bytes raw;
    if (att_rd_until(r, '\n', &raw) != ATT_OK) {
        return fail(e, 400, "request head is not terminated by an empty line");
    }
    if (raw.len == 0 || raw.ptr[raw.len - 1] != '\r') {
        return fail(e, 400, "request head lines must end with CRLF");
    }
    line->ptr = raw.ptr;
    line->len = raw.len - 1;
    if (memchr(line->ptr, '\r', line->len) != NULL) {
        return fail(e, 400, "stray CR in request head");
    }
    return ATT_OK;
}

static const struct {
    const char *name;
    enum att_http_method m;
} methods[] = {
    {"GET", ATT_HTTP_GET},         {"HEAD", ATT_HTTP_HEAD},     {"POST", ATT_HTTP_POST},
    {"PUT", ATT_HTTP_PUT},         {"DELETE", ATT_HTTP_DELETE}, {"PATCH", ATT_HTTP_PATCH},
    {"OPTIONS", ATT_HTTP_OPTIONS},
};

const char *att_http_method_name(enum att_http_method m)
{
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (methods[i].m == m) {
            return methods[i].name;
        }
    }
    return "?";
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/*
 * Percent-decode `in` (RFC 3986 §2.1) onto `out`, returning the offset where
 * the decoded text starts. In a path, "%2F" and "%00" are refused: an encoded
 * separator or NUL would make the path mean two things.
 */
static att_err pct_decode(struct att_bytes in, bool is_path, struct att_buf *out, size_t *start,
                          struct att_http_parse_error *e)
{
    struct att_rd r;
    att_rd_init(&r, in.ptr, in.len);
    *start = out->len;
    uint8_t c;
    while (att_rd_u8(&r, &c) == ATT_OK) {
        if (c == '%') {
            uint8_t hx[2];
            if (att_rd_copy(&r, hx, 2) != ATT_OK || hexval(hx[0]) < 0 || hexval(hx[1]) < 0) {
                return fail(e, 400, "bad percent-encoding in request target");
            }
            c = (uint8_t)(hexval(hx[0]) << 4 | hexval(hx[1]));
            if (c == 0 || (is_path && c == '/')) {
                return fail(e, 400, "encoded '/' or NUL in request path");
            }
        }
        if (att_buf_putc(out, c) != ATT_OK) {
            return fail(e, 414, "request target too long");
        }
    }
    if (att_buf_putc(out, 0) != ATT_OK) {
        return fail(e, 414, "request target too long");
    }
    return ATT_OK;
}

/* Refuse "." and ".." segments: no client of ours needs them, and routers must not guess. */
static att_err check_segments(struct att_bytes path, struct att_http_parse_error *e)
{
    struct att_rd r;
    att_rd_init(&r, path.ptr, path.len);
    ATT_TRY(att_rd_skip(&r, 1)); /* leading '/' */
    size_t segments = 0;
    while (att_rd_left(&r) > 0) {
        struct att_bytes seg;
        if (att_rd_until(&r, '/', &seg) != ATT_OK) {
            att_rd_rest(&r, &seg);
        }
        if (att_bytes_eq_str(seg, ".") || att_bytes_eq_str(seg, "..")) {
            return fail(e, 400, "dot segments are not allowed in the request path");
        }
        if (++segments > ATT_HTTP_MAX_PATH_SEGMENTS) {
            return fail(e, 414, "request path has too many segments");
        }
    }
    return ATT_OK;
}

struct pending_param {
    size_t name_off, name_len, value_off, value_len;
};

static att_err parse_query(struct att_bytes query, struct att_http_head *h,
                           struct pending_param *pp, struct att_http_parse_error *e)
{
    struct att_rd r;
    att_rd_init(&r, query.ptr, query.len);
    while (att_rd_left(&r) > 0) {
        struct att_bytes pair;
        if (att_rd_until(&r, '&', &pair) != ATT_OK) {
            att_rd_rest(&r, &pair);
        }
        if (pair.len == 0) {
            continue;
        }
        if (h->n_query == ATT_HTTP_MAX_QUERY) {
            return fail(e, 400, "too many query parameters");
        }
        struct att_rd pr;
        struct att_bytes name;
        struct att_bytes value = {pair.ptr, 0};
        att_rd_init(&pr, pair.ptr, pair.len);
        if (att_rd_until(&pr, '=', &name) == ATT_OK) {
            att_rd_rest(&pr, &value);
        } else {
            att_rd_rest(&pr, &name);
        }
        struct pending_param *p = &pp[h->n_query++];
        size_t start;
        ATT_TRY(pct_decode(name, false, &h->decoded, &start, e));
        p->name_off = start;
        p->name_len = h->decoded.len - 1 - start;
        ATT_TRY(pct_decode(value, false, &h->decoded, &start, e));
        p->value_off = start;
        p->value_len = h->decoded.len - 1 - start;
    }
    return ATT_OK;
}

static att_err parse_request_line(struct att_bytes line, struct att_http_head *h,
                                  struct att_bytes *target, struct att_http_parse_error *e)
{
    struct att_rd r;
    struct att_bytes version;
    att_rd_init(&r, line.ptr, line.len);
    if (att_rd_until(&r, ' ', &h->method_name) != ATT_OK || h->method_name.len == 0 ||
        !all(h->method_name, is_tchar)) {
        return fail(e, 400, "malformed request line");
    }
    if (att_rd_until(&r, ' ', target) != ATT_OK || target->len == 0) {
        return fail(e, 400, "malformed request line");
    }
    att_rd_rest(&r, &version);
    if (target->len > ATT_HTTP_MAX_TARGET) {
        return fail(e, 414, "request target too long");
    }
    if (target->ptr[0] != '/' || !all(*target, is_target_char)) {
        return fail(e, 400, "request target must be an absolute path");
    }
    if (att_bytes_eq_str(version, "HTTP/1.1")) {
        h->version_minor = 1;
    } else if (att_bytes_eq_str(version, "HTTP/1.0")) {
        h->version_minor = 0;
    } else if (version.len == 8 && memcmp(version.ptr, "HTTP/", 5) == 0) {
        return fail(e, 505, "HTTP version not supported; use HTTP/1.1");
    } else {
        return fail(e, 400, "malformed request line");
    }
    h->method = ATT_HTTP_OTHER;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (att_bytes_eq_str(h->method_name, methods[i].name)) {
            h->method = methods[i].m;
        }
    }
    return ATT_OK;
}

static att_err parse_header_line(struct att_bytes line, struct att_http_head *h,
                                 struct att_http_parse_error *e)
{
    struct att_rd r;
    struct att_bytes name;
    struct att_bytes value;
    if (line.ptr[0] == ' ' || line.ptr[0] == '\t') {
        return fail(e, 400, "obsolete header line folding is not allowed");
    }
    att_rd_init(&r, line.ptr, line.len);
    if (att_rd_until(&r, ':', &name) != ATT_OK || name.len == 0 || !all(name, is_tchar)) {
        return fail(e, 400, "malformed header field");
    }
    att_rd_rest(&r, &value);
    value = att_bytes_trim(value);
    if (!all(value, is_value_char)) {
        return fail(e, 400, "control character in header value");
    }
    if (h->n_headers == ATT_HTTP_MAX_HEADERS) {
        return fail(e, 431, "too many header fields");
    }
    h->headers[h->n_headers].name = name;
    h->headers[h->n_headers].value = value;
    h->n_headers++;
    return ATT_OK;
}

static bool has_token(struct att_bytes list, const char *token)
{
    struct att_rd r;
    att_rd_init(&r, list.ptr, list.len);
    while (att_rd_left(&r) > 0) {
        struct att_bytes item;
        if (att_rd_until(&r, ',', &item) != ATT_OK) {
            att_rd_rest(&r, &item);
        }
        if (att_bytes_eq_str_nocase(att_bytes_trim(item), token)) {
            return true;
        }
    }
    return false;
}

static size_t count_headers(const struct att_http_head *h, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < h->n_headers; i++) {
        if (att_bytes_eq_str_nocase(h->headers[i].name, name)) {
            n++;
        }
    }
    return n;
}

/* Message framing and connection semantics (RFC 9112 §6, §9; RFC 9110 §10.1.1). */
static att_err interpret_headers(struct att_http_head *h, const struct att_http_limits *lim,
                                 struct att_http_parse_error *e)
{
    if (count_headers(h, "transfer-encoding") > 0) {
        if (count_headers(h, "content-length") > 0) {
            return fail(e, 400, "both Transfer-Encoding and Content-Length");
        }
        return fail(e, 501, "Transfer-Encoding is not supported; send Content-Length");
    }
    if (count_headers(h, "content-length") > 1) {
        return fail(e, 400, "more than one Content-Length header");
    }
    const struct att_bytes *cl = att_http_header_get(h, "content-length");
    if (cl != NULL) {
        att_err rc = att_bytes_to_u64(*cl, UINT64_MAX, &h->content_length);
        if (rc == ATT_ERR_TOO_LARGE) {
            return fail(e, 413, "request body too large");
        }
        if (rc != ATT_OK) {
            return fail(e, 400, "Content-Length is not a decimal number");
        }
        if (h->content_length > lim->max_body_bytes) {
            return fail(e, 413, "request body too large");
        }
        h->has_content_length = true;
    }
    size_t hosts = count_headers(h, "host");
    if (hosts > 1 || (hosts == 0 && h->version_minor == 1)) {
        return fail(e, 400, "exactly one Host header is required");
    }
    const struct att_bytes *conn = att_http_header_get(h, "connection");
    if (h->version_minor == 1) {
        h->keep_alive = conn == NULL || !has_token(*conn, "close");
    } else {
        h->keep_alive = conn != NULL && has_token(*conn, "keep-alive");
    }
    const struct att_bytes *expect = att_http_header_get(h, "expect");
    if (expect != NULL) {
        if (!att_bytes_eq_str_nocase(*expect, "100-continue")) {
            return fail(e, 417, "unsupported expectation");
        }
        h->expect_continue = h->version_minor == 1;
    }
    return ATT_OK;
}

att_err att_http_head_parse(const uint8_t *p, size_t n, const struct att_http_limits *lim,
                            struct att_http_head *h, struct att_http_parse_error *err)
{
    struct pending_param pp[ATT_HTTP_MAX_QUERY];
    struct att_rd r;
    struct att_bytes line;
    struct att_bytes target;
    struct att_bytes path_raw;
    struct att_bytes query = {NULL, 0};
    size_t path_off;

    err->status = 400;
    err->message = "malformed request";
    if (n > lim->max_header_bytes) {
        return fail(err, 431, "request head too large");
    }
    /* Own copy of the head; the views below point into it and it never grows again. */
    h->raw.max = n;
    h->decoded.max = 2 * n + 2;
    if (att_buf_put(&h->raw, p, n) != ATT_OK || att_buf_reserve(&h->decoded, 2 * n + 2) != ATT_OK) {
        return fail(err, 500, "out of memory");
    }
    att_rd_init(&r, h->raw.data, h->raw.len);

    ATT_TRY(read_line(&r, &line, err));
    ATT_TRY(parse_request_line(line, h, &target, err));
    h->target = target;
    for (;;) {
        ATT_TRY(read_line(&r, &line, err));
        if (line.len == 0) {
            break;
        }
        ATT_TRY(parse_header_line(line, h, err));
    }
    if (att_rd_end(&r) != ATT_OK) {
        return fail(err, 400, "bytes after the end of the request head");
    }

    struct att_rd tr;
    att_rd_init(&tr, target.ptr, target.len);
    if (att_rd_until(&tr, '?', &path_raw) == ATT_OK) {
        att_rd_rest(&tr, &query);
    } else {
        att_rd_rest(&tr, &path_raw);
    }
    ATT_TRY(pct_decode(path_raw, true, &h->decoded, &path_off, err));
    size_t path_len = h->decoded.len - 1 - path_off;
    if (parse_query(query, h, pp, err) != ATT_OK) {
        h->n_query = 0; /* their views were never set */
        return ATT_ERR_PARSE;
    }

    /*
     * The decoded buffer is complete: only now turn offsets into views, each pointer with its
     * length, so a head refused above never holds a length without its pointer.
     */
    h->path.ptr = h->decoded.data + path_off;
    h->path.len = path_len;
    for (size_t i = 0; i < h->n_query; i++) {
        h->query[i].name.ptr = h->decoded.data + pp[i].name_off;
        h->query[i].name.len = pp[i].name_len;
        h->query[i].value.ptr = h->decoded.data + pp[i].value_off;
        h->query[i].value.len = pp[i].value_len;
    }
    ATT_TRY(check_segments(h->path, err));
    return interpret_headers(h, lim, err);
}

const struct att_bytes *att_http_header_get(const struct att_http_head *h, const char *name)
{
    for (size_t i = 0; i < h->n_headers; i++) {
        if (att_bytes_eq_str_nocase(h->headers[i].name, name)) {
            return &h->headers[i].value;
        }
    }
    return NULL;
}

const struct att_bytes *att_http_query_get(const struct att_http_head *h, const char *name)
{
    for (size_t i = 0; i < h->n_query; i++) {
        if (att_bytes_eq_str(h->query[i].name, name)) {
            return &h->query[i].value;
        }
    }
    return NULL;
}
