/*
 * https.c - GET over HTTPS with libcurl, with the rules of https.h.
 *
 * Input trust: the body is untrusted bytes from the network; this file only caps and copies
 * it. Callers parse it (e.g. att_jwks_parse).
 */
#include "net/https.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct sink *s = arg;
    size_t n = size * nmemb; /* curl guarantees size == 1 */
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

att_err att_https_get(const char *url, const char *ca_file, size_t max, struct att_buf *out,
                      char *detail, size_t detail_len)
{
    say(detail, detail_len, "%s", "");
    if (strncmp(url, "https://", 8) != 0) {
        say(detail, detail_len, "%s: only https URLs are fetched", url);
        return ATT_ERR_ARG;
    }
    CURL *c = curl_easy_init();
    if (c == NULL) {
        return ATT_ERR_NOMEM;
    }
    struct sink s = {out, max, 0, false};
    char curl_err[CURL_ERROR_SIZE] = "";
    long status = 0;
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
    OPT(CURLOPT_CONNECTTIMEOUT, (long)ATT_HTTPS_CONNECT_TIMEOUT);
    OPT(CURLOPT_TIMEOUT, (long)ATT_HTTPS_TOTAL_TIMEOUT);
    OPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
    OPT(CURLOPT_WRITEFUNCTION, on_data);
    OPT(CURLOPT_WRITEDATA, &s);
    OPT(CURLOPT_ERRORBUFFER, curl_err);
    OPT(CURLOPT_USERAGENT, "attestd/" ATT_VERSION);
    OPT(CURLOPT_ACCEPT_ENCODING, NULL); /* no compression: the cap is on the wire bytes */
    if (ca_file != NULL && ca_file[0] != 0) {
        OPT(CURLOPT_CAINFO, ca_file);
        OPT(CURLOPT_CAPATH, NULL);
    }
#undef OPT
    if (cc == CURLE_OK) {
        cc = curl_easy_perform(c);
    }
    if (cc == CURLE_OK) {
        cc = curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_easy_cleanup(c);
    if (s.too_large || cc == CURLE_FILESIZE_EXCEEDED) {
        say(detail, detail_len, "%s: the answer is larger than %zu bytes", url, max);
        return ATT_ERR_TOO_LARGE;
    }
    if (cc != CURLE_OK) {
        say(detail, detail_len, "%s: %s", url,
            curl_err[0] != 0 ? curl_err : curl_easy_strerror(cc));
        return ATT_ERR_FETCH;
    }
    if (status != 200) {
        say(detail, detail_len, "%s: HTTP status %ld", url, status);
        return ATT_ERR_FETCH;
    }
    return ATT_OK;
}
