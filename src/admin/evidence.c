/*
 * evidence.c - attestctl's evidence commands: the offline verifier (`verify sgx|oe`), the
 * unverified inspector (`inspect sgx|oe`) and collateral bundles (`collateral import|list`).
 *
 * `verify` runs the server's own attestation code (src/attest) with the bundle's collateral or
 * the store's, at the time the operator names; only here (and in tests) can that time differ
 * from the clock.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/admin_int.h"
#include "attest/attest.h"
#include "collateral/bundle.h"
#include "collateral/service.h"
#include "core/codec.h"
#include "core/file.h"
#include "core/timeutil.h"
#include "evidence/sgx/intel_root.h"
#include "evidence/sgx/pck.h"
#include "evidence/sgx/quote.h"
#include "x509/certs.h"

#define MAX_FILE ((size_t)1 << 20)

/* ---- inputs --------------------------------------------------------------------------- */

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/*
 * The hex digits of `raw` when it is hex text (whitespace around and between digits and an
 * optional "0x" prefix allowed); false when it is anything else.
 */
static bool hex_digits(const struct att_buf *raw, struct att_buf *digits)
{
    size_t i = 0;
    while (i < raw->len && is_space(raw->data[i])) {
        i++;
    }
    if (i + 1 < raw->len && raw->data[i] == '0' && raw->data[i + 1] == 'x') {
        i += 2;
    }
    for (; i < raw->len; i++) {
        uint8_t c = raw->data[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (hex) {
            att_ignore_err(att_buf_putc(digits, c)); /* digits <= raw: fits */
        } else if (!is_space(c)) {
            return false;
        }
    }
    return digits->len > 0;
}

/* A binary file, or the same bytes as hex text. */
static int read_evidence(const char *path, struct att_buf *out, char *err, size_t n)
{
    struct att_buf raw;
    struct att_buf digits;
    int rc = 0;
    att_buf_init(&raw, MAX_FILE);
    att_buf_init(&digits, MAX_FILE);
    if (att_file_read(path, MAX_FILE, &raw) != ATT_OK) {
        rc = att_admin_fail(err, n, "%s: cannot read (or larger than 1 MiB)", path);
    } else if (!hex_digits(&raw, &digits)) {
        rc =
            att_buf_put(out, raw.data, raw.len) == ATT_OK ? 0 : att_admin_fail(err, n, "no memory");
    } else if (att_hex_decode((const char *)digits.data, digits.len, out) != ATT_OK) {
        rc = att_admin_fail(err, n, "%s: not valid hex", path);
    }
    att_buf_cleanup(&digits);
    att_buf_cleanup(&raw);
    return rc;
}

/* "2025-06-19T11:00:00Z" or seconds since the epoch. */
static int parse_time(const char *s, int64_t *out, char *err, size_t n)
{
    struct tm tm;
    char *end = NULL;
    memset(&tm, 0, sizeof(tm));
    long long v = strtoll(s, &end, 10);
    if (end != s && *end == '\0' && v >= 0) {
        *out = v;
        return 0;
    }
    end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end == NULL || (strcmp(end, "Z") != 0 && strcmp(end, "") != 0)) {
        return att_admin_fail(err, n,
                              "--at: expected RFC 3339 UTC (2025-06-19T11:00:00Z) or "
                              "seconds since the epoch");
    }
    *out = (int64_t)timegm(&tm);
    return 0;
}

static int load_trust(const char *path, struct att_dcap_trust **out, char *err, size_t n)
{
    char msg[256] = "";
    if (path == NULL || path[0] == '\0') {
        if (att_dcap_trust_from_pem(att_intel_sgx_root_ca_pem, strlen(att_intel_sgx_root_ca_pem),
                                    out, msg, sizeof(msg)) != ATT_OK) {
            return att_admin_fail(err, n, "built-in trust anchor: %s", msg);
        }
        return 0;
    }
    struct att_buf pem;
    att_buf_init(&pem, MAX_FILE);
    att_err rc = att_file_read(path, MAX_FILE, &pem);
    if (rc == ATT_OK) {
        rc = att_dcap_trust_from_pem((const char *)pem.data, pem.len, out, msg, sizeof(msg));
    }
    att_buf_cleanup(&pem);
    return rc == ATT_OK ? 0 : att_admin_fail(err, n, "%s: %s", path, msg[0] ? msg : "unreadable");
}

static int load_bundle(const char *path, struct att_dcap_bundle *b, char *err, size_t n)
{
    char msg[256] = "";
    struct att_buf text;
    att_buf_init(&text, 8 * MAX_FILE);
    att_err rc = att_file_read(path, 8 * MAX_FILE, &text);
    if (rc == ATT_OK) {
        rc = att_dcap_bundle_parse((const char *)text.data, text.len, b, msg, sizeof(msg));
    }
    att_buf_cleanup(&text);
    if (rc != ATT_OK) {
        return att_admin_fail(err, n, "%s: %s: %s", path, att_err_name(rc),
                              msg[0] ? msg : att_err_str(rc));
    }
    return 0;
}

/* ---- verify ----------------------------------------------------------------------------- */

struct verify_state {
    struct att_buf evidence;
    struct att_buf runtime;
    struct att_buf policy_text;
    struct att_dcap_bundle bundle;
    struct att_dcap_trust *trust;
    struct att_sgx_inputs inputs;
    struct att_collateral *service;
    struct att_policy *policy;
};

static void verify_state_cleanup(struct verify_state *s)
{
    att_buf_cleanup(&s->evidence);
    att_buf_cleanup(&s->runtime);
    att_buf_cleanup(&s->policy_text);
    att_dcap_bundle_cleanup(&s->bundle);
    att_sgx_inputs_release(&s->inputs);
    att_collateral_free(s->service);
    att_dcap_trust_free(s->trust);
    att_policy_free(s->policy);
}

/* The policy: --policy FILE, else the type's default. */
static int load_policy(const char *path, bool oe, struct verify_state *s, char *hash, char *err,
                       size_t n)
{
    char msg[256] = "";
    const char *text = att_policy_default(oe ? ATT_POLICY_OPEN_ENCLAVE : ATT_POLICY_SGX_ENCLAVE);
    size_t len = strlen(text);
    if (path != NULL) {
        if (att_file_read(path, ATT_POLICY_DEFAULT_MAX_TEXT, &s->policy_text) != ATT_OK) {
            return att_admin_fail(err, n, "%s: cannot read (or over 64 KiB)", path);
        }
        text = (const char *)s->policy_text.data;
        len = s->policy_text.len;
    }
    att_err rc = att_policy_parse(text, len, NULL, &s->policy, msg, sizeof(msg));
    if (rc != ATT_OK) {
        return att_admin_fail(err, n, "%s: %s: %s", path != NULL ? path : "default policy",
                              att_err_name(rc), msg);
    }
    return att_policy_hash(text, len, hash) == ATT_OK ? 0 : att_admin_fail(err, n, "hash failed");
}

int att_admin_verify(struct att_admin *a, const struct att_admin_verify_args *args, char **json_out,
                     char *err, size_t err_len)
{
    struct verify_state s;
    struct att_attest_request req;
    struct att_attest_error aerr = {0, NULL, ATT_OK, ""};
    char hash[ATT_POLICY_HASH_LEN + 1] = "";
    char msg[256] = "";
    json_t *claims = NULL;
    int64_t at = att_time_now();
    int rc = 1;

    memset(&s, 0, sizeof(s));
    memset(&req, 0, sizeof(req));
    att_buf_init(&s.evidence, MAX_FILE);
    att_buf_init(&s.runtime, MAX_FILE);
    att_buf_init(&s.policy_text, ATT_POLICY_DEFAULT_MAX_TEXT);
    if ((args->at != NULL && parse_time(args->at, &at, err, err_len) != 0) ||
        read_evidence(args->evidence_path, &s.evidence, err, err_len) != 0 ||
        (args->runtime_path != NULL &&
         att_file_read(args->runtime_path, MAX_FILE, &s.runtime) != ATT_OK &&
         att_admin_fail(err, err_len, "%s: cannot read", args->runtime_path)) ||
        load_policy(args->policy_path, args->open_enclave, &s, hash, err, err_len) != 0 ||
        load_trust(args->trust_path != NULL ? args->trust_path : att_admin_trust_path(a), &s.trust,
                   err, err_len) != 0) {
        goto out;
    }
    struct att_attest_env env = {NULL, NULL, s.trust, at, 0};
    if (args->bundle_path != NULL) {
        if (load_bundle(args->bundle_path, &s.bundle, err, err_len) != 0) {
            goto out;
        }
        att_err e = att_collateral_from_bundle(s.trust, &s.bundle, &s.inputs, msg, sizeof(msg));
        if (e != ATT_OK) {
            att_admin_fail(err, err_len, "%s: %s", att_err_name(e), msg);
            goto out;
        }
        env.preloaded = &s.inputs;
    } else {
        struct att_collateral_config cc = {NULL, NULL, NULL, NULL, 0, 0};
        if (a == NULL ||
            att_collateral_new(att_admin_store(a), s.trust, &cc, &s.service) != ATT_OK) {
            att_admin_fail(err, err_len, "no --collateral and no store to read collateral from");
            goto out;
        }
        env.collateral = s.service;
    }
    req.evidence.ptr = s.evidence.data;
    req.evidence.len = s.evidence.len;
    req.open_enclave = args->open_enclave;
    if (args->runtime_path != NULL) {
        req.runtime.present = true;
        req.runtime.json = args->runtime_json;
        req.runtime.bytes.ptr = s.runtime.data;
        req.runtime.bytes.len = s.runtime.len;
    }
    struct att_attest_policy pol = {s.policy, hash, NULL};
    if (att_attest_sgx(&req, &env, &pol, &claims, &aerr) != ATT_OK) {
        att_admin_fail(err, err_len, "%s: %s", att_err_name(aerr.err), aerr.message);
        goto out;
    }
    rc = att_admin_dump(claims, json_out, err, err_len);
    claims = NULL;
out:
    json_decref(claims);
    verify_state_cleanup(&s);
    return rc;
}

/* ---- inspect ---------------------------------------------------------------------------- */

static json_t *hex_json(const uint8_t *p, size_t n)
{
    struct att_buf h;
    att_buf_init(&h, 2 * n + 1);
    json_t *v =
        att_hex_encode(p, n, &h) == ATT_OK ? json_stringn((const char *)h.data, h.len) : NULL;
    att_buf_cleanup(&h);
    return v;
}

static json_t *body_json(const struct att_sgx_report_body *b)
{
    return json_pack(
        "{s:o,s:I,s:o,s:o,s:o,s:o,s:I,s:I,s:I,s:o,s:o,s:o,s:b}", "cpusvn", hex_json(b->cpusvn, 16),
        "miscselect", (json_int_t)b->miscselect, "attributes", hex_json(b->attributes, 16),
        "mrenclave", hex_json(b->mrenclave, 32), "mrsigner", hex_json(b->mrsigner, 32), "configid",
        hex_json(b->configid, 64), "isvprodid", (json_int_t)b->isvprodid, "isvsvn",
        (json_int_t)b->isvsvn, "configsvn", (json_int_t)b->configsvn, "isvextprodid",
        hex_json(b->isvextprodid, 16), "isvfamilyid", hex_json(b->isvfamilyid, 16), "reportdata",
        hex_json(b->reportdata, 64), "debug", (b->flags & ATT_SGX_FLAGS_DEBUG) != 0);
}

/* The PCK leaf's SGX extension, read without checking anything. */
static json_t *pck_json(const struct att_sgx_quote *q)
{
    STACK_OF(X509) *certs = NULL;
    X509 *leaf = NULL;
    struct att_pck_info pck;
    char msg[160] = "";
    json_t *out = NULL;
    if (att_pem_certs_parse(q->sig.pck_pem.ptr, q->sig.pck_pem.len, 4, &certs, msg, sizeof(msg)) !=
            ATT_OK ||
        att_certs_leaf(certs, &leaf) != ATT_OK ||
        att_pck_info_from_cert(leaf, &pck, msg, sizeof(msg)) != ATT_OK) {
        out = json_pack("{s:s}", "error", msg[0] ? msg : "no PCK certificate chain");
    } else {
        char subject[256] = "";
        char issuer[256] = "";
        X509_NAME_oneline(X509_get_subject_name(leaf), subject, sizeof(subject));
        X509_NAME_oneline(X509_get_issuer_name(leaf), issuer, sizeof(issuer));
        out =
            json_pack("{s:s,s:s,s:i,s:o,s:o,s:o,s:I,s:o}", "subject", subject, "issuer", issuer,
                      "certificates", sk_X509_num(certs), "fmspc", hex_json(pck.fmspc, 6), "pceid",
                      hex_json(pck.pceid, 2), "tcbComponents", hex_json(pck.comp_svn, 16), "pcesvn",
                      (json_int_t)pck.pcesvn, "cpusvn", hex_json(pck.cpusvn, 16));
    }
    sk_X509_pop_free(certs, X509_free);
    return out;
}

int att_admin_inspect(const char *path, bool open_enclave, char **json_out, char *err,
                      size_t err_len)
{
    struct att_buf evidence;
    struct att_sgx_quote q;
    struct att_bytes quote;
    char msg[256] = "";
    int rc = 1;
    att_buf_init(&evidence, MAX_FILE);
    if (read_evidence(path, &evidence, err, err_len) != 0) {
        goto out;
    }
    quote.ptr = evidence.data;
    quote.len = evidence.len;
    att_err e = open_enclave
                    ? att_oe_report_unwrap(evidence.data, evidence.len, &quote, msg, sizeof(msg))
                    : ATT_OK;
    if (e == ATT_OK) {
        e = att_sgx_quote_parse(quote.ptr, quote.len, &q, msg, sizeof(msg));
    }
    if (e != ATT_OK) {
        att_admin_fail(err, err_len, "%s: %s", att_err_name(e), msg);
        goto out;
    }
    const struct att_quote_header *h = &q.header;
    json_t *doc = json_pack(
        "{s:s,s:{s:i,s:i,s:I,s:i,s:i,s:o,s:o},s:o,s:{s:o,s:o,s:o,s:I,s:i,s:I},s:o,s:I,s:{"
        "s:b,s:o,s:o,s:i,s:i,s:o,s:s}}",
        "warning", "UNVERIFIED: parsed only; no signature, certificate or collateral was checked",
        "header", "version", h->version, "attKeyType", h->att_key_type, "teeType",
        (json_int_t)h->tee_type, "qeSvn", h->qe_svn, "pceSvn", h->pce_svn, "qeVendorId",
        hex_json(h->qe_vendor_id, 16), "userData", hex_json(h->user_data, 20), "reportBody",
        body_json(&q.body), "signature", "attestationKey", hex_json(q.sig.attest_key, 64),
        "qeReport", body_json(&q.sig.qe_report), "qeAuthData",
        hex_json(q.sig.qe_auth_data.ptr, q.sig.qe_auth_data.len), "qeAuthDataSize",
        (json_int_t)q.sig.qe_auth_data.len, "certificationDataType", q.sig.cert_type,
        "pckChainBytes", (json_int_t)q.sig.pck_pem.len, "pck", pck_json(&q), "trailingZeroBytes",
        (json_int_t)q.padding, "claims (unverified)", "x-ms-sgx-is-debuggable",
        (q.body.flags & ATT_SGX_FLAGS_DEBUG) != 0, "x-ms-sgx-mrenclave",
        hex_json(q.body.mrenclave, 32), "x-ms-sgx-mrsigner", hex_json(q.body.mrsigner, 32),
        "x-ms-sgx-product-id", q.body.isvprodid, "x-ms-sgx-svn", q.body.isvsvn,
        "x-ms-sgx-report-data", hex_json(q.body.reportdata, 64), "x-ms-attestation-type", "sgx");
    rc = att_admin_dump(doc, json_out, err, err_len);
out:
    att_buf_cleanup(&evidence);
    return rc;
}

/* ---- collateral ------------------------------------------------------------------------- */

int att_admin_collateral_import(struct att_admin *a, const char *bundle_path, char **json_out,
                                char *err, size_t err_len)
{
    struct att_dcap_bundle b;
    struct att_dcap_trust *trust = NULL;
    struct att_collateral *cl = NULL;
    struct att_collateral_config cc = {NULL, NULL, NULL, NULL, 0, 0};
    char msg[256] = "";
    int imported = 0;
    int rc = 1;
    memset(&b, 0, sizeof(b));
    if (load_bundle(bundle_path, &b, err, err_len) != 0 ||
        load_trust(att_admin_trust_path(a), &trust, err, err_len) != 0) {
        goto out;
    }
    if (att_collateral_new(att_admin_store(a), trust, &cc, &cl) != ATT_OK) {
        att_admin_fail(err, err_len, "out of memory");
        goto out;
    }
    att_err e = att_collateral_import(cl, &b, att_time_now(), &imported, msg, sizeof(msg));
    if (e != ATT_OK) {
        att_admin_fail(err, err_len, "%s: %s: %s", bundle_path, att_err_name(e), msg);
        goto out;
    }
    rc = att_admin_dump(json_pack("{s:i,s:o}", "imported", imported, "collateral",
                                  att_collateral_status(cl, att_time_now())),
                        json_out, err, err_len);
out:
    att_collateral_free(cl);
    att_dcap_trust_free(trust);
    att_dcap_bundle_cleanup(&b);
    return rc;
}

int att_admin_collateral_list(struct att_admin *a, char **json_out, char *err, size_t err_len)
{
    struct att_dcap_trust *trust = NULL;
    struct att_collateral *cl = NULL;
    struct att_collateral_config cc = {NULL, NULL, NULL, NULL, 0, 0};
    int rc = 1;
    if (load_trust(att_admin_trust_path(a), &trust, err, err_len) == 0) {
        if (att_collateral_new(att_admin_store(a), trust, &cc, &cl) == ATT_OK) {
            rc = att_admin_dump(att_collateral_status(cl, att_time_now()), json_out, err, err_len);
        } else {
            att_admin_fail(err, err_len, "out of memory");
        }
    }
    att_collateral_free(cl);
    att_dcap_trust_free(trust);
    return rc;
}
