/*
 * evidence.c - attestctl's evidence commands: the offline verifier (`verify TYPE`), the
 * unverified inspector (`inspect TYPE`) and collateral bundles (`collateral import|list`).
 * TYPE is any evidence type of the registry (src/evidence/evidence.h): its cli_name ("sgx",
 * "oe", "tdx") or MAA's name.
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
#include "collateral/amd.h"
#include "collateral/bundle.h"
#include "collateral/service.h"
#include "core/codec.h"
#include "core/file.h"
#include "core/timeutil.h"
#include "evidence/common.h"
#include "evidence/evidence.h"
#include "evidence/intel/intel_root.h"
#include "evidence/snp/snp.h"
#include "evidence/tpm/tpm.h"
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

/* The evidence type named on the command line; the error lists the names there are. */
static int find_type(const char *name, const struct att_evidence_type **out, char *err, size_t n)
{
    char names[128] = "";
    *out = att_evidence_find(name);
    if (*out != NULL) {
        return 0;
    }
    for (size_t i = 0; att_evidence_types[i] != NULL; i++) {
        size_t used = strlen(names);
        snprintf(names + used, sizeof(names) - used, "%s%s", i > 0 ? ", " : "",
                 att_evidence_types[i]->cli_name);
    }
    return att_admin_fail(err, n, "unknown evidence type \"%s\" (one of: %s)", name, names);
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
    struct att_intel_inputs inputs;
    struct att_collateral *service;
    struct att_amd_trust *amd_trust;
    struct att_amd_collateral *amd;
    struct att_policy *policy;
};

static void verify_state_cleanup(struct verify_state *s)
{
    att_buf_cleanup(&s->evidence);
    att_buf_cleanup(&s->runtime);
    att_buf_cleanup(&s->policy_text);
    att_dcap_bundle_cleanup(&s->bundle);
    att_intel_inputs_release(&s->inputs);
    att_collateral_free(s->service);
    att_dcap_trust_free(s->trust);
    att_amd_collateral_free(s->amd);
    att_amd_trust_free(s->amd_trust);
    att_policy_free(s->policy);
}

/* AMD anchors: a PEM file of ARKs, or the built-in ones. */
static int load_amd_trust(const char *path, struct att_amd_trust **out, char *err, size_t n)
{
    char msg[256] = "";
    struct att_buf pem;
    att_err rc;
    if (path == NULL || path[0] == '\0') {
        rc = att_amd_trust_builtin(out, msg, sizeof(msg));
        return rc == ATT_OK ? 0 : att_admin_fail(err, n, "built-in AMD anchors: %s", msg);
    }
    att_buf_init(&pem, MAX_FILE);
    rc = att_file_read(path, MAX_FILE, &pem);
    if (rc == ATT_OK) {
        rc = att_amd_trust_from_pem((const char *)pem.data, pem.len, out, msg, sizeof(msg));
    }
    att_buf_cleanup(&pem);
    return rc == ATT_OK ? 0 : att_admin_fail(err, n, "%s: %s", path, msg[0] ? msg : "unreadable");
}

/* The AMD collateral `verify` uses: the bundle's items (in memory), else the store's, else
 * only what the evidence carries. A CRL is required unless --no-crl. */
static int amd_source(struct att_admin *a, const struct att_admin_verify_args *args,
                      struct verify_state *s, char *err, size_t n)
{
    char msg[256] = "";
    att_err rc;
    if (load_amd_trust(args->trust_path != NULL ? args->trust_path : att_admin_amd_trust_path(a),
                       &s->amd_trust, err, n) != 0) {
        return 1;
    }
    if (args->bundle_path != NULL) {
        struct att_buf text;
        att_buf_init(&text, 8 * MAX_FILE);
        rc = att_file_read(args->bundle_path, 8 * MAX_FILE, &text);
        if (rc == ATT_OK) {
            rc = att_amd_collateral_offline(s->amd_trust, (const char *)text.data, text.len,
                                            !args->no_crl, &s->amd, msg, sizeof(msg));
        }
        att_buf_cleanup(&text);
    } else if (a != NULL) {
        struct att_amd_collateral_config cfg = {NULL, NULL, 0, 0, !args->no_crl};
        rc = att_amd_collateral_new(att_admin_store(a), s->amd_trust, &cfg, &s->amd);
    } else {
        rc = att_amd_collateral_offline(s->amd_trust, NULL, 0, !args->no_crl, &s->amd, msg,
                                        sizeof(msg));
    }
    if (rc != ATT_OK) {
        return att_admin_fail(err, n, "%s: %s: %s",
                              args->bundle_path != NULL ? args->bundle_path : "AMD collateral",
                              att_err_name(rc), msg[0] ? msg : att_err_str(rc));
    }
    return 0;
}

/* The Intel collateral `verify` uses: the bundle's, else the store's. */
static int intel_source(struct att_admin *a, const struct att_admin_verify_args *args,
                        struct verify_state *s, struct att_intel_fixed *fixed,
                        struct att_intel_source *intel, char *err, size_t n)
{
    char msg[256] = "";
    if (load_trust(args->trust_path != NULL ? args->trust_path : att_admin_trust_path(a), &s->trust,
                   err, n) != 0) {
        return 1;
    }
    if (args->bundle_path != NULL) {
        if (load_bundle(args->bundle_path, &s->bundle, err, n) != 0) {
            return 1;
        }
        att_err e = att_collateral_from_bundle(s->trust, &s->bundle, &s->inputs, msg, sizeof(msg));
        if (e != ATT_OK) {
            return att_admin_fail(err, n, "%s: %s", att_err_name(e), msg);
        }
        fixed->trust = s->trust;
        fixed->items = &s->inputs;
        *intel = att_intel_fixed_source(fixed);
        return 0;
    }
    struct att_collateral_config cc = {NULL, NULL, NULL, NULL, 0, 0, NULL};
    if (a == NULL || att_collateral_new(att_admin_store(a), s->trust, &cc, &s->service) != ATT_OK) {
        return att_admin_fail(err, n, "no --collateral and no store to read collateral from");
    }
    *intel = att_collateral_intel_source(s->service);
    return 0;
}

/* The policy: --policy FILE, else the type's default. */
static int load_policy(const char *path, const struct att_evidence_type *t, struct verify_state *s,
                       char *hash, char *err, size_t n)
{
    char msg[256] = "";
    const char *text = att_policy_default(t->policy);
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

/*
 * TpmQuote offline: the file is the request body; the quote's qualifying data is its "nonce"
 * (no challenge can be had offline); AK certificates validate against --trust.
 */
static int verify_tpm(const struct att_admin_verify_args *args, struct verify_state *s,
                      const char *hash, int64_t at, json_t **claims, char *err, size_t n)
{
    json_error_t jerr;
    struct att_buf quote;
    struct att_buf pem;
    struct att_attest_error aerr;
    struct att_evidence_request req;
    struct att_tpm_source src = {NULL, NULL, NULL};
    int rc = 1;
    json_t *body =
        json_loadb((const char *)s->evidence.data, s->evidence.len, JSON_REJECT_DUPLICATES, &jerr);
    const json_t *q = json_object_get(body, "quote");
    char msg[256] = "";

    memset(&aerr, 0, sizeof(aerr));
    memset(&req, 0, sizeof(req));
    att_buf_init(&quote, MAX_FILE);
    att_buf_init(&pem, MAX_FILE);
    if (!json_is_string(q) ||
        att_b64url_padded(json_string_value(q), json_string_length(q), &quote) != ATT_OK) {
        att_admin_fail(err, n, "%s: not a TpmQuote body with a base64url \"quote\"",
                       args->evidence_path);
        goto out;
    }
    if (args->trust_path != NULL &&
        (att_file_read(args->trust_path, MAX_FILE, &pem) != ATT_OK ||
         att_pem_certs_parse(pem.data, pem.len, 256, &src.ak_roots, msg, sizeof(msg)) != ATT_OK)) {
        att_admin_fail(err, n, "%s: not PEM certificates %s", args->trust_path, msg);
        goto out;
    }
    req.evidence.ptr = quote.data;
    req.evidence.len = quote.len;
    req.body = body;
    req.nonce = json_string_value(json_object_get(body, "nonce"));
    struct att_evidence_env env = {.now = at, .tpm = &src, .provider = "attestctl"};
    struct att_attest_policy pol = {s->policy, hash, NULL};
    if (att_attest_run(&att_evidence_tpm_quote, &req, &env, &pol, claims, &aerr) != ATT_OK) {
        att_admin_fail(err, n, "%s: %s", att_err_name(aerr.err), aerr.message);
        goto out;
    }
    rc = 0;
out:
    sk_X509_pop_free(src.ak_roots, X509_free);
    json_decref(body);
    att_buf_cleanup(&quote);
    att_buf_cleanup(&pem);
    return rc;
}

int att_admin_verify(struct att_admin *a, const struct att_admin_verify_args *args, char **json_out,
                     char *err, size_t err_len)
{
    struct verify_state s;
    struct att_evidence_request req;
    struct att_attest_error aerr;
    const struct att_evidence_type *t = NULL;
    struct att_intel_fixed fixed;
    struct att_intel_source intel;
    struct att_snp_source snp;
    char hash[ATT_POLICY_HASH_LEN + 1] = "";
    json_t *claims = NULL;
    int64_t at = att_time_now();
    int rc = 1;

    memset(&s, 0, sizeof(s));
    memset(&req, 0, sizeof(req));
    memset(&aerr, 0, sizeof(aerr));
    att_buf_init(&s.evidence, MAX_FILE);
    att_buf_init(&s.runtime, MAX_FILE);
    att_buf_init(&s.policy_text, ATT_POLICY_DEFAULT_MAX_TEXT);
    if (find_type(args->type, &t, err, err_len) != 0 ||
        (args->at != NULL && parse_time(args->at, &at, err, err_len) != 0) ||
        read_evidence(args->evidence_path, &s.evidence, err, err_len) != 0 ||
        (args->runtime_path != NULL &&
         att_file_read(args->runtime_path, MAX_FILE, &s.runtime) != ATT_OK &&
         att_admin_fail(err, err_len, "%s: cannot read", args->runtime_path)) ||
        load_policy(args->policy_path, t, &s, hash, err, err_len) != 0) {
        goto out;
    }
    if (t == &att_evidence_tpm_quote) {
        if (verify_tpm(args, &s, hash, at, &claims, err, err_len) == 0) {
            rc = att_admin_dump(claims, json_out, err, err_len);
            claims = NULL;
        }
        goto out;
    }
    bool amd = t == &att_evidence_snp;
    if (amd ? amd_source(a, args, &s, err, err_len) != 0
            : intel_source(a, args, &s, &fixed, &intel, err, err_len) != 0) {
        goto out;
    }
    snp = att_amd_collateral_source(s.amd);
    req.evidence.ptr = s.evidence.data;
    req.evidence.len = s.evidence.len;
    if (args->runtime_path != NULL) {
        req.runtime.present = true;
        req.runtime.json = args->runtime_json;
        req.runtime.bytes.ptr = s.runtime.data;
        req.runtime.bytes.len = s.runtime.len;
    }
    struct att_evidence_env env = {
        .intel = amd ? NULL : &intel, .snp = amd ? &snp : NULL, .now = at, .provider = "attestctl"};
    struct att_attest_policy pol = {s.policy, hash, NULL};
    if (att_attest_run(t, &req, &env, &pol, &claims, &aerr) != ATT_OK) {
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

int att_admin_inspect(const char *type, const char *path, char **json_out, char *err,
                      size_t err_len)
{
    const struct att_evidence_type *t = NULL;
    struct att_buf evidence;
    struct att_bytes bytes;
    json_t *doc = NULL;
    char msg[256] = "";
    int rc = 1;
    att_buf_init(&evidence, MAX_FILE);
    if (find_type(type, &t, err, err_len) != 0 ||
        read_evidence(path, &evidence, err, err_len) != 0) {
        goto out;
    }
    bytes.ptr = evidence.data;
    bytes.len = evidence.len;
    att_err e = t->inspect(bytes, &doc, msg, sizeof(msg));
    if (e != ATT_OK) {
        att_admin_fail(err, err_len, "%s: %s", att_err_name(e), msg);
        goto out;
    }
    rc = att_admin_dump(doc, json_out, err, err_len);
out:
    att_buf_cleanup(&evidence);
    return rc;
}

/* ---- collateral ------------------------------------------------------------------------- */

static int intel_import(struct att_admin *a, const char *bundle_path, bool allow_expired,
                        char **json_out, char *err, size_t err_len);

static void import_failed(const char *path, att_err e, const char *msg, char *err, size_t err_len)
{
    att_admin_fail(err, err_len, "%s: %s: %s%s", path, att_err_name(e), msg,
                   e == ATT_ERR_COLLATERAL_EXPIRED
                       ? " (it can verify no evidence today; --allow-expired imports it anyway)"
                       : "");
}

/* An AMD bundle is a JSON object with an "amd" member (collateral/amd.h). */
static int amd_import(struct att_admin *a, const char *path, const struct att_buf *text,
                      bool allow_expired, char **json_out, char *err, size_t err_len)
{
    struct att_amd_trust *trust = NULL;
    struct att_amd_collateral *c = NULL;
    struct att_amd_collateral_config cfg = {NULL, NULL, 0, 0, true};
    struct att_collateral *cl = NULL;
    struct att_collateral_config cc = {NULL, NULL, NULL, NULL, 0, 0, NULL};
    struct att_dcap_trust *dcap = NULL;
    char msg[256] = "";
    int imported = 0;
    int rc = 1;
    if (load_amd_trust(att_admin_amd_trust_path(a), &trust, err, err_len) != 0) {
        return 1;
    }
    if (att_amd_collateral_new(att_admin_store(a), trust, &cfg, &c) != ATT_OK) {
        att_admin_fail(err, err_len, "out of memory");
        goto out;
    }
    att_err e = att_amd_collateral_import(c, (const char *)text->data, text->len, att_time_now(),
                                          allow_expired, &imported, msg, sizeof(msg));
    if (e != ATT_OK) {
        import_failed(path, e, msg, err, err_len);
        goto out;
    }
    /* The store's list, as `collateral list` shows it. */
    if (load_trust(att_admin_trust_path(a), &dcap, err, err_len) == 0 &&
        att_collateral_new(att_admin_store(a), dcap, &cc, &cl) == ATT_OK) {
        rc = att_admin_dump(json_pack("{s:i,s:o}", "imported", imported, "collateral",
                                      att_collateral_status(cl, att_time_now())),
                            json_out, err, err_len);
    }
out:
    att_collateral_free(cl);
    att_dcap_trust_free(dcap);
    att_amd_collateral_free(c);
    att_amd_trust_free(trust);
    return rc;
}

static bool is_amd_bundle(const struct att_buf *text)
{
    json_t *root = json_loadb((const char *)text->data, text->len, 0, NULL);
    bool amd = json_object_get(root, "amd") != NULL;
    json_decref(root);
    return amd;
}

int att_admin_collateral_import(struct att_admin *a, const char *bundle_path, bool allow_expired,
                                char **json_out, char *err, size_t err_len)
{
    struct att_buf text;
    att_buf_init(&text, 8 * MAX_FILE);
    if (att_file_read(bundle_path, 8 * MAX_FILE, &text) == ATT_OK && is_amd_bundle(&text)) {
        int rc = amd_import(a, bundle_path, &text, allow_expired, json_out, err, err_len);
        att_buf_cleanup(&text);
        return rc;
    }
    att_buf_cleanup(&text);
    return intel_import(a, bundle_path, allow_expired, json_out, err, err_len);
}

static int intel_import(struct att_admin *a, const char *bundle_path, bool allow_expired,
                        char **json_out, char *err, size_t err_len)
{
    struct att_dcap_bundle b;
    struct att_dcap_trust *trust = NULL;
    struct att_collateral *cl = NULL;
    struct att_collateral_config cc = {NULL, NULL, NULL, NULL, 0, 0, NULL};
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
    att_err e =
        att_collateral_import(cl, &b, att_time_now(), allow_expired, &imported, msg, sizeof(msg));
    if (e != ATT_OK) {
        import_failed(bundle_path, e, msg, err, err_len);
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
    struct att_collateral_config cc = {NULL, NULL, NULL, NULL, 0, 0, NULL};
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
