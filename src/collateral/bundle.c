/*
 * bundle.c - offline Intel collateral bundles (dcap-qvl QuoteCollateralV3 JSON layout), read and
 * written (see bundle.h).
 *
 * Input: an operator-supplied file, untrusted: capped, parsed by jansson with duplicate names
 * refused, every member type- and size-checked and decoded strictly (hex through src/core/codec,
 * PEM CRLs through OpenSSL's PEM reader with the label checked). Contents are verified later by
 * src/evidence/intel/dcap.c; nothing here judges certificates, CRLs or signatures.
 */
#include "collateral/bundle.h"

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdbool.h>
#include <string.h>

#include "evidence/intel/tcbinfo.h"
#include "core/codec.h"
#include "core/rd.h"

#define PEM_CRL_BEGIN "-----BEGIN X509 CRL-----"

/* Every member, in the order of the layout (and of att_dcap_bundle_to_json). */
#define K_PCK_CHAIN "pck_crl_issuer_chain"
#define K_ROOT_CRL "root_ca_crl"
#define K_PCK_CRL "pck_crl"
#define K_TCB_CHAIN "tcb_info_issuer_chain"
#define K_TCB_INFO "tcb_info"
#define K_TCB_SIG "tcb_info_signature"
#define K_QE_CHAIN "qe_identity_issuer_chain"
#define K_QE_ID "qe_identity"
#define K_QE_SIG "qe_identity_signature"

/* =====================================================================
 * Reading
 * ===================================================================== */

static void init_all(struct att_dcap_bundle *b)
{
    att_buf_init(&b->pck_crl_issuer_chain, ATT_BUNDLE_MAX_CHAIN_PEM);
    att_buf_init(&b->root_ca_crl, ATT_BUNDLE_MAX_CRL);
    att_buf_init(&b->pck_crl, ATT_BUNDLE_MAX_CRL);
    att_buf_init(&b->tcb_info_issuer_chain, ATT_BUNDLE_MAX_CHAIN_PEM);
    att_buf_init(&b->tcb_info, ATT_COLLATERAL_MAX_DOC);
    att_buf_init(&b->qe_identity_issuer_chain, ATT_BUNDLE_MAX_CHAIN_PEM);
    att_buf_init(&b->qe_identity, ATT_COLLATERAL_MAX_DOC);
}

/* A required non-empty string of at most `max` bytes (no NUL: jansson refuses "\u0000"). */
static att_err text_member(const struct att_coll_ctx *c, const json_t *doc, const char *key,
                           size_t max, const json_t **out)
{
    ATT_TRY(att_coll_member(c, doc, "", key, JSON_STRING, false, out));
    size_t n = json_string_length(*out);
    if (n == 0) {
        return att_coll_fail(c, ATT_ERR_COLLATERAL_FORMAT, "", key, "empty");
    }
    if (n > max) {
        return att_coll_fail(c, ATT_ERR_TOO_LARGE, "", key, "%zu bytes, more than %zu", n, max);
    }
    return ATT_OK;
}

/* PEM text and signed documents: kept byte for byte. */
static att_err copy_member(const struct att_coll_ctx *c, const json_t *doc, const char *key,
                           struct att_buf *out)
{
    const json_t *v = NULL;
    ATT_TRY(text_member(c, doc, key, out->max, &v));
    return att_buf_put(out, json_string_value(v), json_string_length(v));
}

static bool only_space(const uint8_t *p, size_t n)
{
    struct att_rd r;
    att_rd_init(&r, p, n);
    while (att_rd_left(&r) > 0) {
        uint8_t ch = 0;
        if (att_rd_u8(&r, &ch) != ATT_OK || (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n')) {
            return false;
        }
    }
    return true;
}

/* One PEM block labelled "X509 CRL" (RFC 7468 §5) and nothing after it but whitespace. */
static att_err pem_crl_to_der(const char *s, size_t n, struct att_buf *out)
{
    att_err rc = ATT_ERR_ENCODING;
    char *name = NULL;
    char *header = NULL;
    unsigned char *data = NULL;
    long dlen = 0;
    char *rest = NULL;

    ATT_ENSURE(n <= (size_t)INT32_MAX, ATT_ERR_TOO_LARGE);
    BIO *bio = BIO_new_mem_buf(s, (int)n);
    ATT_ENSURE(bio != NULL, ATT_ERR_NOMEM);
    if (PEM_read_bio(bio, &name, &header, &data, &dlen) == 1 && strcmp(name, "X509 CRL") == 0 &&
        header[0] == 0 && dlen > 0) {
        long left = BIO_get_mem_data(bio, &rest);
        if (left >= 0 && only_space((const uint8_t *)rest, (size_t)left)) {
            rc = (size_t)dlen > out->max ? ATT_ERR_TOO_LARGE : att_buf_put(out, data, (size_t)dlen);
        }
    }
    ERR_clear_error(); /* a refused PEM leaves reasons on the thread's queue */
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    BIO_free(bio);
    return rc;
}

/* A CRL: hex DER, or a PEM "X509 CRL" block. */
static att_err crl_member(const struct att_coll_ctx *c, const json_t *doc, const char *key,
                          struct att_buf *out)
{
    const json_t *v = NULL;
    /* 2 * max: hex; PEM is shorter (base64 plus armour) than hex for any CRL of that size. */
    ATT_TRY(text_member(c, doc, key, 2 * out->max, &v));
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    att_err rc;
    if (n >= strlen(PEM_CRL_BEGIN) && strncmp(s, PEM_CRL_BEGIN, strlen(PEM_CRL_BEGIN)) == 0) {
        rc = pem_crl_to_der(s, n, out);
        if (rc == ATT_ERR_ENCODING) {
            return att_coll_fail(c, rc, "", key, "not one PEM X509 CRL block");
        }
    } else {
        rc = att_hex_decode(s, n, out);
        if (rc == ATT_ERR_ENCODING) {
            return att_coll_fail(c, rc, "", key, "neither hex nor a PEM X509 CRL");
        }
    }
    if (rc == ATT_ERR_TOO_LARGE) {
        return att_coll_fail(c, rc, "", key, "more than %zu bytes of DER", out->max);
    }
    return rc;
}

void att_dcap_bundle_cleanup(struct att_dcap_bundle *b)
{
    if (b == NULL) {
        return;
    }
    att_buf_cleanup(&b->pck_crl_issuer_chain);
    att_buf_cleanup(&b->root_ca_crl);
    att_buf_cleanup(&b->pck_crl);
    att_buf_cleanup(&b->tcb_info_issuer_chain);
    att_buf_cleanup(&b->tcb_info);
    att_buf_cleanup(&b->qe_identity_issuer_chain);
    att_buf_cleanup(&b->qe_identity);
}

att_err att_dcap_bundle_parse(const char *json, size_t len, struct att_dcap_bundle *out, char *msg,
                              size_t msg_len)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_coll_ctx c = {msg, msg_len};
    struct att_dcap_bundle b;
    json_t *doc = NULL;
    json_error_t jerr;

    init_all(&b);
    ATT_CHECK(out != NULL && (json != NULL || len == 0), ATT_ERR_ARG);
    if (msg != NULL && msg_len > 0) {
        msg[0] = 0;
    }
    if (len > ATT_BUNDLE_MAX_JSON) {
        rc = att_coll_fail(&c, ATT_ERR_TOO_LARGE, "", "", "bundle of %zu bytes, more than %zu", len,
                           ATT_BUNDLE_MAX_JSON);
        goto out;
    }
    doc = json_loadb(json != NULL ? json : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        rc = att_coll_fail(&c, ATT_ERR_COLLATERAL_FORMAT, "", "", "%s (byte %d)",
                           json_error_code(&jerr) == json_error_duplicate_key
                               ? "duplicate member name"
                               : "not valid JSON",
                           jerr.position);
        goto out;
    }
    if (!json_is_object(doc)) {
        rc = att_coll_fail(&c, ATT_ERR_COLLATERAL_FORMAT, "", "", "expected a JSON object");
        goto out;
    }
    ATT_GUARD(copy_member(&c, doc, K_PCK_CHAIN, &b.pck_crl_issuer_chain));
    ATT_GUARD(crl_member(&c, doc, K_ROOT_CRL, &b.root_ca_crl));
    ATT_GUARD(crl_member(&c, doc, K_PCK_CRL, &b.pck_crl));
    ATT_GUARD(copy_member(&c, doc, K_TCB_CHAIN, &b.tcb_info_issuer_chain));
    ATT_GUARD(copy_member(&c, doc, K_TCB_INFO, &b.tcb_info));
    ATT_GUARD(
        att_coll_hex(&c, doc, "", K_TCB_SIG, b.tcb_info_signature, sizeof(b.tcb_info_signature)));
    ATT_GUARD(copy_member(&c, doc, K_QE_CHAIN, &b.qe_identity_issuer_chain));
    ATT_GUARD(copy_member(&c, doc, K_QE_ID, &b.qe_identity));
    ATT_GUARD(att_coll_hex(&c, doc, "", K_QE_SIG, b.qe_identity_signature,
                           sizeof(b.qe_identity_signature)));
    *out = b;
    init_all(&b); /* moved: nothing left to free */
    rc = ATT_OK;
out:
    att_dcap_bundle_cleanup(&b);
    json_decref(doc);
    return rc;
}

/* =====================================================================
 * Writing
 * ===================================================================== */

static att_err set_text(json_t *obj, const char *key, const struct att_buf *v)
{
    json_t *s = json_stringn(v->len > 0 ? (const char *)v->data : "", v->len);
    ATT_ENSURE(s != NULL, ATT_ERR_ENCODING); /* not UTF-8 */
    ATT_ENSURE(json_object_set_new(obj, key, s) == 0, ATT_ERR_NOMEM);
    return ATT_OK;
}

static att_err set_hex(json_t *obj, const char *key, const uint8_t *p, size_t n)
{
    struct att_buf hex;
    att_buf_init(&hex, 2 * (size_t)ATT_BUNDLE_MAX_CRL);
    att_err rc = att_hex_encode(p, n, &hex);
    if (rc == ATT_OK) {
        json_t *s = json_stringn(hex.len > 0 ? (const char *)hex.data : "", hex.len);
        rc = s != NULL && json_object_set_new(obj, key, s) == 0 ? ATT_OK : ATT_ERR_NOMEM;
    }
    att_buf_cleanup(&hex);
    return rc;
}

static int dump_to_buf(const char *p, size_t n, void *data)
{
    return att_buf_put(data, p, n) == ATT_OK ? 0 : -1;
}

att_err att_dcap_bundle_to_json(const struct att_dcap_bundle *b, struct att_buf *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    json_t *obj = NULL;

    ATT_ENSURE(b != NULL && out != NULL, ATT_ERR_ARG);
    size_t before = out->len;
    obj = json_object();
    ATT_CHECK(obj != NULL, ATT_ERR_NOMEM);
    ATT_GUARD(set_text(obj, K_PCK_CHAIN, &b->pck_crl_issuer_chain));
    ATT_GUARD(set_hex(obj, K_ROOT_CRL, b->root_ca_crl.data, b->root_ca_crl.len));
    ATT_GUARD(set_hex(obj, K_PCK_CRL, b->pck_crl.data, b->pck_crl.len));
    ATT_GUARD(set_text(obj, K_TCB_CHAIN, &b->tcb_info_issuer_chain));
    ATT_GUARD(set_text(obj, K_TCB_INFO, &b->tcb_info));
    ATT_GUARD(set_hex(obj, K_TCB_SIG, b->tcb_info_signature, sizeof(b->tcb_info_signature)));
    ATT_GUARD(set_text(obj, K_QE_CHAIN, &b->qe_identity_issuer_chain));
    ATT_GUARD(set_text(obj, K_QE_ID, &b->qe_identity));
    ATT_GUARD(set_hex(obj, K_QE_SIG, b->qe_identity_signature, sizeof(b->qe_identity_signature)));
    if (json_dump_callback(obj, dump_to_buf, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
        rc = att_buf_err(out) != ATT_OK ? att_buf_err(out) : ATT_ERR_NOMEM;
        goto out;
    }
    ATT_GUARD(att_buf_putc(out, '\n'));
    rc = ATT_OK;
out:
    if (rc != ATT_OK && out->len > before) {
        out->len = before; /* drop a partial document */
        out->data[before] = 0;
    }
    json_decref(obj);
    return rc;
}
