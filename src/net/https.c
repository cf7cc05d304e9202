/*
 * https.c - GET over HTTPS with libcurl, with the rules of https.h.
 *
 * Input trust: the body and the header lines are untrusted bytes from the network; this file
 * only caps and copies them. Callers parse them (e.g. att_jwks_parse, src/collateral/fetch.c).
 */
#include "net/https.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/timeutil.h"

att_err att_https_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? ATT_OK : ATT_ERR_INTERNAL;
}

void att_https_global_cleanup(void)
{
    curl_global_cleanup();
}

struct sink {
    struct att_buf *out;
    size_t max;
    size_t got;
    bool too_large;
    bool keep_head; /* past max: keep the first max bytes, drop the rest (not an error) */
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct sink *s = arg;
    size_t n = size * nmemb; /* curl guarantees size == 1 */
    if (n > s->max - s->got && s->keep_head) {
        size_t keep = s->max - s->got; /* the head is kept, the rest read and dropped */
        s->got = s->max;
        return keep == 0 || att_buf_put(s->out, ptr, keep) == ATT_OK ? n : 0;
    }
    if (n > s->max - s->got) {
        s->too_large = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (att_buf_put(s->out, ptr, n) != ATT_OK) {
        s->too_large = true;
        return 0;
    }
    s->got += n;
    return n;
}

/*
 * Header lines, one per call (curl passes each complete line, CR LF included). A status line
 * starts a new response block: only the final response's block is kept, but every byte counts
 * towards the cap, so a run of interim responses cannot go on for ever.
 */
struct head_sink {
    struct att_buf block; /* the current response's header lines */
    size_t got;
    bool too_large;
};

static size_t on_header(char *ptr, size_t size, size_t nitems, void *arg)
{
    struct head_sink *h = arg;
    size_t n = size * nitems; /* curl guarantees size == 1 */
    if (n > ATT_HTTPS_MAX_HEADERS - h->got) {
        h->too_large = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    h->got += n;
    if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
        att_buf_reset(&h->block); /* a new response: forget the interim one */
    }
    if (att_buf_put(&h->block, ptr, n) != ATT_OK) {
        h->too_large = true;
        return 0;
    }
    return n;
}

/* "Name: value" with a name free of white space, and no CR, LF or other controls anywhere. */
static bool req_header_ok(const char *h)
{
    size_t n = strnlen(h, ATT_HTTPS_MAX_REQ_HEADER + 1);
    if (n == 0 || n > ATT_HTTPS_MAX_REQ_HEADER) {
        return false;
    }
    bool in_name = true;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)h[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
            return false; /* CR and LF included: no header injection */
        }
        if (in_name && ch == ':') {
            if (i == 0) {
                return false;
            }
            in_name = false;
        } else if (in_name && (ch == ' ' || ch == '\t')) {
            return false;
        }
    }
    return !in_name;
}

/* The request headers as a curl list; ATT_ERR_ARG for a malformed one. */
static att_err header_list(const char *const *req_headers, struct curl_slist **out)
{
    struct curl_slist *list = NULL;
    *out = NULL;
    if (req_headers == NULL) {
        return ATT_OK;
    }
    for (size_t i = 0; req_headers[i] != NULL; i++) {
        if (i >= ATT_HTTPS_MAX_REQ_HEADERS || !req_header_ok(req_headers[i])) {
            curl_slist_free_all(list);
            return ATT_ERR_ARG;
        }
        struct curl_slist *next = curl_slist_append(list, req_headers[i]);
        if (next == NULL) {
            curl_slist_free_all(list);
            return ATT_ERR_NOMEM;
        }
        list = next;
    }
    *out = list;
    return ATT_OK;
}

__attribute__((format(printf, 3, 4))) static void say(char *detail, size_t len, const char *fmt,
                                                      ...)
{
    if (detail != NULL && len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, len, fmt, ap);
        va_end(ap);
    }
}

static _Thread_local atomic_bool *abort_flag;

void att_https_set_abort_flag(atomic_bool *flag)
{
    abort_flag = flag;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return atomic_load((atomic_bool *)arg) ? 1 : 0; /* non-zero: abort the transfer */
}

/* One transfer: a GET, or a POST of `post` (post_len bytes) when post is not NULL. */
static att_err transfer(const char *url, const char *ca_file, const char *const *req_headers,
                        const void *post, size_t post_len, size_t max, bool keep_head, long timeout,
                        long *status, struct att_buf *body, struct att_buf *headers, char *detail,
                        size_t detail_len)
{
    say(detail, detail_len, "%s", "");
    if (url == NULL || status == NULL || body == NULL) {
        return ATT_ERR_ARG;
    }
    if (strncmp(url, "https://", 8) != 0) {
        say(detail, detail_len, "%s: only https URLs are fetched", url);
        return ATT_ERR_ARG;
    }
    /* The transfer also ends with the request that waits for it (att_deadline_cap_ms). */
    long total_ms =
        (long)att_deadline_cap_ms(1000L * (timeout > 0 ? timeout : ATT_HTTPS_TOTAL_TIMEOUT));
    if (total_ms <= 0) {
        say(detail, detail_len, "%s: not fetched: the request's deadline has passed", url);
        return ATT_ERR_FETCH;
    }
    struct curl_slist *hdrs = NULL;
    att_err rc = header_list(req_headers, &hdrs);
    if (rc != ATT_OK) {
        say(detail, detail_len, "%s: a request header is malformed", url);
        return rc;
    }
    CURL *c = curl_easy_init();
    if (c == NULL) {
        curl_slist_free_all(hdrs);
        return ATT_ERR_NOMEM;
    }
    struct sink s = {body, max, 0, false, keep_head};
    struct head_sink hs = {.got = 0, .too_large = false};
    att_buf_init(&hs.block, ATT_HTTPS_MAX_HEADERS);
    char curl_err[CURL_ERROR_SIZE] = "";
    long got_status = 0;
    CURLcode cc = CURLE_OK;
    /* Each option is set or the fetch is refused: a silently ignored rule is no rule. */
#define OPT(o, v)                                                                                  \
    if (cc == CURLE_OK) {                                                                          \
        cc = curl_easy_setopt(c, o, v);                                                            \
    }
    OPT(CURLOPT_URL, url);
    OPT(CURLOPT_PROTOCOLS_STR, "https");
    OPT(CURLOPT_REDIR_PROTOCOLS_STR, "https");
    OPT(CURLOPT_FOLLOWLOCATION, 0L);
    OPT(CURLOPT_SSL_VERIFYPEER, 1L);
    OPT(CURLOPT_SSL_VERIFYHOST, 2L);
    OPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    OPT(CURLOPT_NOSIGNAL, 1L); /* we run in worker threads */
    OPT(CURLOPT_CONNECTTIMEOUT_MS, total_ms < 1000L * ATT_HTTPS_CONNECT_TIMEOUT
                                       ? total_ms
                                       : 1000L * ATT_HTTPS_CONNECT_TIMEOUT);
    OPT(CURLOPT_TIMEOUT_MS, total_ms);
    OPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)(keep_head ? 0 : max)); /* 0: no limit */
    OPT(CURLOPT_WRITEFUNCTION, on_data);
    OPT(CURLOPT_WRITEDATA, &s);
    OPT(CURLOPT_HEADERFUNCTION, on_header);
    OPT(CURLOPT_HEADERDATA, &hs);
    OPT(CURLOPT_ERRORBUFFER, curl_err);
    OPT(CURLOPT_USERAGENT, "attestd/" ATT_VERSION);
    OPT(CURLOPT_ACCEPT_ENCODING, NULL); /* no compression: the cap is on the wire bytes */
    if (post != NULL) {
        OPT(CURLOPT_POSTFIELDS, post);
        OPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)post_len);
    }
    if (hdrs != NULL) {
        /* Ours go to the server only, never to a proxy's CONNECT (they may hold an API key). */
        OPT(CURLOPT_HEADEROPT, (long)CURLHEADER_SEPARATE);
        OPT(CURLOPT_HTTPHEADER, hdrs);
    }
    if (ca_file != NULL && ca_file[0] != 0) {
        OPT(CURLOPT_CAINFO, ca_file);
        OPT(CURLOPT_CAPATH, NULL);
    }
    if (abort_flag != NULL) {
        OPT(CURLOPT_XFERINFOFUNCTION, on_progress);
        OPT(CURLOPT_XFERINFODATA, abort_flag);
        OPT(CURLOPT_NOPROGRESS, 0L);
    }
#undef OPT
    if (cc == CURLE_OK) {
        cc = curl_easy_perform(c);
    }
    if (cc == CURLE_OK) {
        cc = curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &got_status);
    }
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    if (cc == CURLE_OK && headers != NULL &&
        att_buf_put(headers, hs.block.data, hs.block.len) != ATT_OK) {
        hs.too_large = true;
    }
    att_buf_cleanup(&hs.block);
    if (s.too_large || cc == CURLE_FILESIZE_EXCEEDED) {
        say(detail, detail_len, "%s: the answer is larger than %zu bytes", url, max);
        return ATT_ERR_TOO_LARGE;
    }
    if (hs.too_large) {
        say(detail, detail_len, "%s: the response headers are larger than %zu bytes", url,
            ATT_HTTPS_MAX_HEADERS);
        return ATT_ERR_TOO_LARGE;
    }
    if (cc != CURLE_OK) {
        say(detail, detail_len, "%s: %s", url,
            curl_err[0] != 0 ? curl_err : curl_easy_strerror(cc));
        return ATT_ERR_FETCH;
    }
    if (got_status < 100 || got_status > 599) {
        say(detail, detail_len, "%s: no valid HTTP status", url);
        return ATT_ERR_FETCH;
    }
    *status = got_status;
    return ATT_OK;
}

att_err att_https_get_ex(const char *url, const char *ca_file, const char *const *req_headers,
                         size_t max, long timeout, long *status, struct att_buf *body,
                         struct att_buf *headers, char *detail, size_t detail_len)
{
    return transfer(url, ca_file, req_headers, NULL, 0, max, false, timeout, status, body, headers,
                    detail, detail_len);
}

att_err att_https_post(const char *url, const char *ca_file, const char *const *req_headers,
                       const void *post, size_t post_len, long timeout, long *status,
                       struct att_buf *body, char *detail, size_t detail_len)
{
    if (post == NULL) {
        return ATT_ERR_ARG;
    }
    return transfer(url, ca_file, req_headers, post, post_len, body != NULL ? body->max : 0, true,
                    timeout, status, body, NULL, detail, detail_len);
}

att_err att_https_get(const char *url, const char *ca_file, size_t max, struct att_buf *out,
                      char *detail, size_t detail_len)
{
    long status = 0;
    ATT_TRY(att_https_get_ex(url, ca_file, NULL, max, 0, &status, out, NULL, detail, detail_len));
    if (status != 200) {
        say(detail, detail_len, "%s: HTTP status %ld", url, status);
        return ATT_ERR_FETCH;
    }
    return ATT_OK;
}
