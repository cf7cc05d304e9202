/*
 * kds.c - the AMD KDS client (kds.h; docs/reference/amd-sev-snp.md §6.7): URLs, the handling
 * of each answer (status, Retry-After, the framing of the body) as pure functions of the bytes
 * received, and the transfers through att_https_get_ex.
 *
 * Input: HTTP status, header lines and bodies from the KDS or a mirror, untrusted. Everything
 * is read through the bounded reader. Nothing here parses a certificate or CRL or checks a
 * signature: the SEV-SNP verifier does, against the pinned ARK (§6.6, §6.8).
 */
#include "collateral/kds.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "collateral/fetch.h"
#include "core/codec.h"
#include "core/rd.h"
#include "core/timeutil.h"
#include "net/https.h"
#include "x509/der.h"
#include "metrics/metrics.h"

/* =====================================================================
 * Items and products
 * ===================================================================== */

void att_kds_item_init(struct att_kds_item *it)
{
    memset(it, 0, sizeof(*it));
    att_buf_init(&it->body, ATT_KDS_MAX_CRL);
}

void att_kds_item_cleanup(struct att_kds_item *it)
{
    if (it != NULL) {
        att_buf_cleanup(&it->body);
    }
}

/* §6.7: the product names in KDS paths; §6.1: Turin's hwid is the first 8 bytes of CHIP_ID. */
static const struct {
    const char *name;
    size_t hwid_len;
} products[] = {
    {"Milan", ATT_KDS_HWID_LEN},
    {"Genoa", ATT_KDS_HWID_LEN},
    {"Turin", ATT_KDS_HWID_LEN_TURIN},
};

size_t att_kds_hwid_len(const char *product)
{
    for (size_t i = 0; product != NULL && i < sizeof(products) / sizeof(products[0]); i++) {
        if (strcmp(product, products[i].name) == 0) {
            return products[i].hwid_len;
        }
    }
    return 0;
}

bool att_kds_product_known(const char *product)
{
    return att_kds_hwid_len(product) != 0;
}

static bool is_turin(const char *product)
{
    return att_kds_hwid_len(product) == ATT_KDS_HWID_LEN_TURIN;
}

/* =====================================================================
 * URLs
 * ===================================================================== */

/* The base without trailing slashes into url; NULL or "" is the default. */
static att_err put_base(const char *base, struct att_buf *url)
{
    if (base == NULL || base[0] == '\0') {
        base = ATT_KDS_DEFAULT_BASE_URL;
    }
    size_t n = strnlen(base, ATT_KDS_URL_MAX + 1);
    ATT_ENSURE(n <= ATT_KDS_URL_MAX && strncmp(base, "https://", 8) == 0, ATT_ERR_ARG);
    while (n > 8 && base[n - 1] == '/') {
        n--;
    }
    ATT_ENSURE(n > 8, ATT_ERR_ARG); /* a host is needed */
    return att_buf_put(url, base, n);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    struct att_rd r;
    uint8_t ch = 0;
    att_rd_init(&r, p, n);
    while (att_rd_u8(&r, &ch) == ATT_OK) {
        if (ch != 0) {
            return false;
        }
    }
    return true;
}

att_err att_kds_vcek_url(const char *base, const char *product, const uint8_t *hwid,
                         size_t hwid_len, const struct att_kds_tcb *tcb, struct att_buf *url)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_buf tmp;

    att_buf_init(&tmp, ATT_KDS_URL_MAX + 256);
    ATT_CHECK(url != NULL && tcb != NULL && hwid != NULL, ATT_ERR_ARG);
    size_t want = att_kds_hwid_len(product);
    ATT_CHECK(want != 0 && hwid_len == want && !all_zero(hwid, hwid_len), ATT_ERR_ARG);
    ATT_GUARD(put_base(base, &tmp));
    ATT_GUARD(att_buf_printf(&tmp, "/vcek/v1/%s/", product));
    ATT_GUARD(att_hex_encode(hwid, hwid_len, &tmp)); /* lower case, as §6.7 asks */
    ATT_GUARD(att_buf_printf(&tmp, "?blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u", tcb->bl, tcb->tee,
                             tcb->snp, tcb->ucode));
    if (is_turin(product)) {
        ATT_GUARD(att_buf_printf(&tmp, "&fmcSPL=%u", tcb->fmc));
    }
    ATT_GUARD(att_buf_put(url, tmp.data, tmp.len));
    rc = ATT_OK;
out:
    att_buf_cleanup(&tmp);
    return rc;
}

att_err att_kds_ca_url(const char *base, const char *product, bool vlek, enum att_kds_kind kind,
                       struct att_buf *url)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_buf tmp;

    att_buf_init(&tmp, ATT_KDS_URL_MAX + 256);
    ATT_CHECK(url != NULL && att_kds_product_known(product), ATT_ERR_ARG);
    ATT_CHECK(kind == ATT_KDS_CERT_CHAIN || kind == ATT_KDS_CRL, ATT_ERR_ARG);
    ATT_GUARD(put_base(base, &tmp));
    ATT_GUARD(att_buf_printf(&tmp, "/%s/v1/%s/%s", vlek ? "vlek" : "vcek", product,
                             kind == ATT_KDS_CRL ? "crl" : "cert_chain"));
    ATT_GUARD(att_buf_put(url, tmp.data, tmp.len));
    rc = ATT_OK;
out:
    att_buf_cleanup(&tmp);
    return rc;
}

/* =====================================================================
 * Bodies: framing only
 * ===================================================================== */

/* A VCEK: one DER SEQUENCE, definite and minimally encoded length, nothing after it. */
static att_err vcek_body(struct att_bytes b, char *msg, size_t msg_len)
{
    struct att_rd r;
    struct att_rd contents;

    if (b.len == 0) {
        return att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len, "VCEK: empty body");
    }
    if (b.len > ATT_KDS_MAX_VCEK) {
        return att_failf(ATT_ERR_TOO_LARGE, msg, msg_len, "VCEK: body of %zu bytes", b.len);
    }
    att_rd_init(&r, b.ptr, b.len);
    if (att_der_expect(&r, ATT_DER_SEQUENCE, &contents) != ATT_OK) {
        return att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len,
                         "VCEK: not a DER SEQUENCE of definite length");
    }
    if (att_rd_end(&r) != ATT_OK) {
        return att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len,
                         "VCEK: %zu bytes after the DER SEQUENCE", att_rd_left(&r));
    }
    /* X.690 §10.1: the fewest length octets; the contents fit in 8 KiB, so at most two. */
    size_t n = att_rd_left(&contents);
    size_t header = b.len - n;
    size_t minimal = n < 0x80 ? 2 : n < 0x100 ? 3 : 4;
    if (header != minimal) {
        return att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len,
                         "VCEK: DER length not minimally encoded");
    }
    return ATT_OK;
}

static bool starts_with(struct att_bytes b, const char *prefix)
{
    struct att_bytes head;
    return att_bytes_slice(b, 0, strlen(prefix), &head) == ATT_OK && att_bytes_eq_str(head, prefix);
}

/* b without one trailing CR. */
static struct att_bytes drop_cr(struct att_bytes b)
{
    struct att_bytes last;
    struct att_bytes rest;
    if (b.len > 0 && att_bytes_slice(b, b.len - 1, 1, &last) == ATT_OK &&
        att_bytes_eq_str(last, "\r") && att_bytes_slice(b, 0, b.len - 1, &rest) == ATT_OK) {
        return rest;
    }
    return b;
}

#define PEM_CERT_BEGIN "-----BEGIN CERTIFICATE-----"
#define PEM_CERT_END "-----END CERTIFICATE-----"

/*
 * A cert_chain answer: text with at least one complete certificate block and no block of
 * another label. The base64 and anything between blocks are left to the verifier's PEM reader.
 */
static att_err chain_body(struct att_bytes b, char *msg, size_t msg_len)
{
    struct att_rd r;
    uint8_t ch = 0;
    size_t blocks = 0;
    bool open = false;

    if (b.len > ATT_KDS_MAX_CHAIN) {
        return att_failf(ATT_ERR_TOO_LARGE, msg, msg_len, "cert_chain: body of %zu bytes", b.len);
    }
    att_rd_init(&r, b.ptr, b.len);
    while (att_rd_u8(&r, &ch) == ATT_OK) {
        if ((ch < 0x20 || ch > 0x7E) && ch != '\t' && ch != '\r' && ch != '\n') {
            return att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len,
                             "cert_chain: byte 0x%02x at offset %zu is not text", ch,
                             att_rd_offset(&r) - 1);
        }
    }
    att_rd_init(&r, b.ptr, b.len);
    while (att_rd_left(&r) > 0) {
        struct att_bytes line;
        if (att_rd_until(&r, '\n', &line) != ATT_OK) {
            att_rd_rest(&r, &line); /* a last line without its end */
        }
        line = att_bytes_trim(drop_cr(line)); /* spaces and tabs around do not matter */
        if (starts_with(line, "-----BEGIN ")) {
            if (open) {
                return att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len,
                                 "cert_chain: a PEM block without its end line");
            }
            if (!att_bytes_eq_str(line, PEM_CERT_BEGIN)) {
                return att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len,
                                 "cert_chain: a PEM block that is not a certificate");
            }
            open = true;
        } else if (starts_with(line, "-----END ")) {
            if (!open || !att_bytes_eq_str(line, PEM_CERT_END)) {
                return att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len,
                                 "cert_chain: an end line without its certificate");
            }
            open = false;
            blocks++;
        }
    }
    if (open) {
        return att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len,
                         "cert_chain: a PEM block without its end line");
    }
    if (blocks == 0) {
        return att_failf(ATT_ERR_COLLATERAL_FORMAT, msg, msg_len, "cert_chain: no PEM certificate");
    }
    return ATT_OK;
}

/* =====================================================================
 * Answers
 * ===================================================================== */

static const char *const kind_names[] = {
    [ATT_KDS_VCEK] = "VCEK",
    [ATT_KDS_CERT_CHAIN] = "cert_chain",
    [ATT_KDS_CRL] = "CRL",
};

static const size_t kind_caps[] = {
    [ATT_KDS_VCEK] = ATT_KDS_MAX_VCEK,
    [ATT_KDS_CERT_CHAIN] = ATT_KDS_MAX_CHAIN,
    [ATT_KDS_CRL] = ATT_KDS_MAX_CRL,
};

static att_err status_error(const char *what, long status, const struct att_buf *headers,
                            int64_t now, struct att_kds_item *out, char *msg, size_t msg_len)
{
    struct att_bytes hb = {headers != NULL ? headers->data : NULL,
                           headers != NULL ? headers->len : 0};
    struct att_bytes v;
    int64_t secs = 0;

    if (status == 404) {
        return att_failf(ATT_ERR_NOT_FOUND, msg, msg_len, "%s: HTTP status 404 (not known)", what);
    }
    if (status == 429 || status == 503) {
        /* §6.7: the KDS answers 429 to a client that asks too often; make it wait even when
         * the answer does not say how long. */
        out->retry_after = status == 429 ? ATT_KDS_RETRY_AFTER_DEFAULT : 0;
        if (att_pcs_header_value(hb, "Retry-After", &v) == ATT_OK &&
            att_pcs_retry_after(v, now, &secs) == ATT_OK) {
            out->retry_after = secs;
        }
        return att_failf(ATT_ERR_FETCH, msg, msg_len, "%s: HTTP status %ld (retry after %lld s)",
                         what, status, (long long)out->retry_after);
    }
    return att_failf(ATT_ERR_FETCH, msg, msg_len, "%s: HTTP status %ld", what, status);
}

att_err att_kds_response_parse(enum att_kds_kind kind, long status, const struct att_buf *body,
                               const struct att_buf *headers, int64_t now, struct att_kds_item *out,
                               char *msg, size_t msg_len)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_buf der;

    att_buf_init(&der, ATT_KDS_MAX_CRL);
    ATT_CHECK((unsigned)kind <= ATT_KDS_CRL && body != NULL && out != NULL, ATT_ERR_ARG);
    const char *what = kind_names[kind];
    if (status != 200) {
        rc = status_error(what, status, headers, now, out, msg, msg_len);
        goto out;
    }
    struct att_bytes b = {body->data, body->len};
    switch (kind) {
    case ATT_KDS_VCEK:
        ATT_GUARD(vcek_body(b, msg, msg_len));
        ATT_GUARD(att_buf_put(&der, b.ptr, b.len));
        break;
    case ATT_KDS_CERT_CHAIN:
        ATT_GUARD(chain_body(b, msg, msg_len));
        ATT_GUARD(att_buf_put(&der, b.ptr, b.len));
        break;
    case ATT_KDS_CRL: {
        char why[160] = "";
        if (b.len > kind_caps[kind]) {
            rc = att_failf(ATT_ERR_TOO_LARGE, msg, msg_len, "CRL: body of %zu bytes", b.len);
            goto out;
        }
        rc = att_pcs_crl_der(b, &der, why, sizeof(why));
        if (rc != ATT_OK) {
            rc = att_failf(rc, msg, msg_len, "CRL: %s", why);
            goto out;
        }
        break;
    }
    default: rc = ATT_ERR_ARG; goto out;
    }
    /* Written only now: hand the buffer over. */
    att_buf_cleanup(&out->body);
    out->body = der;
    att_buf_init(&der, ATT_KDS_MAX_CRL);
    rc = ATT_OK;
out:
    att_buf_cleanup(&der);
    return rc;
}

/* =====================================================================
 * Transfers
 * ===================================================================== */

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

/* GET url and turn the answer into an item of `kind`. */
static att_err fetch(const struct att_kds_client *c, const char *url, enum att_kds_kind kind,
                     struct att_kds_item *out, char *detail, size_t detail_len)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_buf body;
    struct att_buf headers;
    char why[256] = "";
    long status = 0;

    att_buf_init(&body, kind_caps[kind]);
    att_buf_init(&headers, ATT_HTTPS_MAX_HEADERS);
    ATT_GUARD(att_https_get_ex(url, c->ca_file, NULL, kind_caps[kind], c->timeout, &status, &body,
                               &headers, detail, detail_len));
    rc = att_kds_response_parse(kind, status, &body, &headers, att_time_now(), out, why,
                                sizeof(why));
    if (rc != ATT_OK) {
        say(detail, detail_len, "%s: %s", url, why);
    }
out:
    att_buf_cleanup(&headers);
    att_buf_cleanup(&body);
    att_metric_add(
        ATT_M_UPSTREAM_FETCHES,
        rc == ATT_OK ? "service=\"kds\",result=\"ok\"" : "service=\"kds\",result=\"error\"", 1);
    return rc;
}

att_err att_kds_fetch_vcek(const struct att_kds_client *c, const char *product, const uint8_t *hwid,
                           size_t hwid_len, const struct att_kds_tcb *tcb, struct att_kds_item *out,
                           char *detail, size_t detail_len)
{
    struct att_buf url;
    att_buf_init(&url, ATT_KDS_URL_MAX + 256);
    say(detail, detail_len, "%s", "");
    if (out != NULL) {
        out->retry_after = 0;
    }
    att_err rc = c == NULL || out == NULL
                     ? ATT_ERR_ARG
                     : att_kds_vcek_url(c->base_url, product, hwid, hwid_len, tcb, &url);
    if (rc == ATT_ERR_ARG) {
        say(detail, detail_len, "KDS VCEK request: a bad base URL, product or hwid");
    }
    if (rc == ATT_OK) {
        rc = fetch(c, att_buf_cstr(&url), ATT_KDS_VCEK, out, detail, detail_len);
    }
    att_buf_cleanup(&url);
    return rc;
}

static att_err fetch_ca(const struct att_kds_client *c, const char *product, bool vlek,
                        enum att_kds_kind kind, struct att_kds_item *out, char *detail,
                        size_t detail_len)
{
    struct att_buf url;
    att_buf_init(&url, ATT_KDS_URL_MAX + 256);
    say(detail, detail_len, "%s", "");
    if (out != NULL) {
        out->retry_after = 0;
    }
    att_err rc = c == NULL || out == NULL ? ATT_ERR_ARG
                                          : att_kds_ca_url(c->base_url, product, vlek, kind, &url);
    if (rc == ATT_ERR_ARG) {
        say(detail, detail_len, "KDS %s request: a bad base URL or product", kind_names[kind]);
    }
    if (rc == ATT_OK) {
        rc = fetch(c, att_buf_cstr(&url), kind, out, detail, detail_len);
    }
    att_buf_cleanup(&url);
    return rc;
}

att_err att_kds_fetch_cert_chain(const struct att_kds_client *c, const char *product, bool vlek,
                                 struct att_kds_item *out, char *detail, size_t detail_len)
{
    return fetch_ca(c, product, vlek, ATT_KDS_CERT_CHAIN, out, detail, detail_len);
}

att_err att_kds_fetch_crl(const struct att_kds_client *c, const char *product, bool vlek,
                          struct att_kds_item *out, char *detail, size_t detail_len)
{
    return fetch_ca(c, product, vlek, ATT_KDS_CRL, out, detail, detail_len);
}
