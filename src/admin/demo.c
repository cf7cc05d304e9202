/*
 * demo.c - `attestctl demo`: a demo provider and evidence it attests, so attestd can be tried
 * end to end without SGX hardware and without expired samples (docs/internals/demo.md).
 *
 * What it makes: a fresh test PKI on this machine (src/demo/testpki.h: root CA, PCK CA and leaf,
 * TCB signer, collateral valid now, an SGX quote whose REPORTDATA binds the runtime data); a
 * provider that trusts that root and nothing else, marked as a demo; the collateral, imported
 * into the store under the root's own scope; and the files a client needs. The root's private
 * key never leaves this process: it is freed with the PKI, so nobody can make more evidence
 * for the provider (a new demo makes a new root).
 *
 * Input: the operator's arguments and an optional runtime data file (any bytes, at most
 * DEMO_MAX_RUNTIME); everything else is made here.
 */
#include "att/admin.h"

#include "admin/admin_int.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collateral/bundle.h"
#include "collateral/service.h"
#include "core/codec.h"
#include "core/file.h"
#include "core/timeutil.h"
#include "crypto/ecdsa.h"
#include "demo/testpki.h"
#include "provider/provider.h"
#include "server/config.h"
#include "token/jws.h"

#define DEMO_DEFAULT_NAME "demo"
/* The attestation API's cap on runtime data (src/api/attest.c). */
#define DEMO_MAX_RUNTIME ((size_t)64 * 1024)
/* The api-version the printed commands use (docs/reference/maa-api.md §1.1). */
#define DEMO_API_VERSION "2022-08-01"

/* ---- runtime data ------------------------------------------------------------------------ */

/* Whether `d` is a JSON object: MAA's dataType "JSON" (docs/reference/maa-api.md §1.3). */
static bool is_json_object(const struct att_buf *d)
{
    json_t *doc = json_loadb((const char *)d->data, d->len, JSON_REJECT_DUPLICATES, NULL);
    bool obj = json_is_object(doc);
    json_decref(doc);
    return obj;
}

/* The operator's runtime data, or a JSON object made here that names the demo and is unique. */
static int runtime_data(const char *path, int64_t now, struct att_buf *out, bool *json, char *err,
                        size_t err_len)
{
    if (path != NULL) {
        att_err e = att_file_read_regular(path, DEMO_MAX_RUNTIME, out);
        if (e == ATT_ERR_TOO_LARGE) {
            return att_admin_fail(err, err_len, "%s: larger than %zu bytes", path,
                                  DEMO_MAX_RUNTIME);
        }
        if (e != ATT_OK) {
            return att_admin_fail(err, err_len, "%s: %s", path,
                                  errno == ENOENT ? "no such file" : strerror(errno));
        }
        *json = is_json_object(out);
        return 0;
    }
    uint8_t nonce[16];
    char created[32];
    struct att_buf hex;
    att_buf_init(&hex, 64);
    att_time_format(now, created, sizeof(created));
    int rc = RAND_bytes(nonce, sizeof(nonce)) == 1 &&
                     att_hex_encode(nonce, sizeof(nonce), &hex) == ATT_OK
                 ? 0
                 : att_admin_fail(err, err_len, "cannot make a nonce");
    json_t *doc = rc == 0 ? json_pack("{s:s,s:s,s:s}", "purpose", "attestd demo", "created",
                                      created, "nonce", att_buf_cstr(&hex))
                          : NULL;
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (rc == 0 && (text == NULL || att_buf_puts(out, text) != ATT_OK)) {
        rc = att_admin_fail(err, err_len, "out of memory");
    }
    free(text);
    json_decref(doc);
    att_buf_cleanup(&hex);
    *json = true;
    return rc;
}

/* ---- files ------------------------------------------------------------------------------- */

/* DIR/name, replaced if it exists (never through a link). */
static int write_file(const char *dir, const char *name, const void *data, size_t len, char *err,
                      size_t err_len)
{
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        return att_admin_fail(err, err_len, "%s: path too long", dir);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        return att_admin_fail(err, err_len, "%s: %s", path, strerror(errno));
    }
    att_err w = att_file_write_all(fd, data, len);
    int saved = errno;
    if (close(fd) != 0 && w == ATT_OK) {
        w = ATT_ERR_IO;
        saved = errno;
    }
    return w == ATT_OK ? 0 : att_admin_fail(err, err_len, "%s: %s", path, strerror(saved));
}

static int write_json(const char *dir, const char *name, const json_t *doc, char *err,
                      size_t err_len)
{
    char *text = doc != NULL ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (text == NULL) {
        return att_admin_fail(err, err_len, "out of memory");
    }
    int rc = write_file(dir, name, text, strlen(text), err, err_len);
    free(text);
    return rc;
}

/* MAA's SgxEnclave request body (docs/reference/maa-api.md §1.3) for the quote and data. */
static json_t *request_body(const struct att_testpki *pki, const struct att_buf *runtime, bool json)
{
    struct att_buf q;
    struct att_buf rd;
    att_buf_init(&q, 4 * pki->quote_len + 16);
    att_buf_init(&rd, 4 * DEMO_MAX_RUNTIME / 3 + 16);
    json_t *doc = NULL;
    if (att_b64url_encode(pki->quote, pki->quote_len, &q) == ATT_OK &&
        att_b64url_encode(runtime->data, runtime->len, &rd) == ATT_OK) {
        doc = json_pack("{s:s,s:{s:s,s:s}}", "quote", att_buf_cstr(&q), "runtimeData", "data",
                        att_buf_cstr(&rd), "dataType", json ? "JSON" : "Binary");
    }
    att_buf_cleanup(&q);
    att_buf_cleanup(&rd);
    return doc;
}

/* ---- the provider and its collateral ------------------------------------------------------ */

/* The demo's collateral, into the store under the root's scope (docs/internals/demo.md). */
static int import_collateral(struct att_admin *a, const struct att_testpki *pki, int64_t now,
                             char *err, size_t err_len)
{
    struct att_dcap_bundle b;
    struct att_dcap_trust *trust = NULL;
    struct att_collateral *cl = NULL;
    char msg[256] = "";
    int imported = 0;
    int rc = 1;
    memset(&b, 0, sizeof(b));
    att_err e =
        att_dcap_bundle_parse(pki->bundle_json, strlen(pki->bundle_json), &b, msg, sizeof(msg));
    if (e == ATT_OK) {
        e = att_dcap_trust_from_pem(pki->root_pem, strlen(pki->root_pem), &trust, msg, sizeof(msg));
    }
    if (e == ATT_OK) {
        struct att_collateral_config cc = {NULL, NULL, NULL, NULL, 0, 0, att_dcap_trust_id(trust)};
        e = att_collateral_new(att_admin_store(a), trust, &cc, &cl);
    }
    if (e == ATT_OK) {
        e = att_collateral_import(cl, &b, now, false, &imported, msg, sizeof(msg));
    }
    if (e != ATT_OK) {
        att_admin_fail(err, err_len, "cannot import the demo's collateral: %s: %s", att_err_name(e),
                       msg);
    } else if (imported != 4) {
        att_admin_fail(err, err_len, "the demo's collateral was not stored (%d of 4 items new)",
                       imported);
    } else {
        rc = 0;
    }
    att_collateral_free(cl);
    att_dcap_trust_free(trust);
    att_dcap_bundle_cleanup(&b);
    return rc;
}

static int create_provider(struct att_admin *a, const char *name, const char *issuer,
                           const char *alg_name, const struct att_testpki *pki, int64_t now,
                           char *err, size_t err_len)
{
    enum att_jws_alg alg = ATT_JWS_RS256;
    if (alg_name != NULL &&
        (att_jws_alg_parse(alg_name, &alg) != ATT_OK || !att_jws_alg_can_sign(alg))) {
        return att_admin_fail(err, err_len, "--alg must be RS256 or ES256");
    }
    struct att_provider_extra extra = {NULL, 0, pki->root_pem, true};
    att_err e = att_provider_create_ex(att_admin_store(a), att_admin_keyring(a), name, issuer, alg,
                                       false, now, &extra);
    if (e == ATT_ERR_EXISTS) {
        return att_admin_fail(err, err_len,
                              "provider '%s' already exists: delete it first (attestctl provider "
                              "delete %s) or name another (--name)",
                              name, name);
    }
    if (e != ATT_OK) {
        return att_admin_fail(err, err_len, "cannot create provider '%s': %s", name,
                              att_err_str(e));
    }
    return 0;
}

/* ---- the command --------------------------------------------------------------------------- */

/* --fmspc: exactly 12 hex digits (6 bytes, docs/reference/intel-collateral.md §3.2). */
static int parse_fmspc(const char *text, uint8_t fmspc[6], char *err, size_t err_len)
{
    struct att_buf b;
    att_buf_init(&b, 6);
    int rc = strlen(text) == 12 && att_hex_decode(text, 12, &b) == ATT_OK && b.len == 6
                 ? 0
                 : att_admin_fail(err, err_len, "--fmspc must be 12 hex digits, not '%s'", text);
    if (rc == 0) {
        memcpy(fmspc, b.data, 6);
    }
    att_buf_cleanup(&b);
    return rc;
}

static int write_outputs(const struct att_admin_demo_args *args, const struct att_testpki *pki,
                         const struct att_buf *runtime, bool json, json_t *summary, char *err,
                         size_t err_len)
{
    json_t *body = request_body(pki, runtime, json);
    int rc = body == NULL ? att_admin_fail(err, err_len, "out of memory") : 0;
    rc = rc == 0 ? write_file(args->out_dir, "quote.bin", pki->quote, pki->quote_len, err, err_len)
                 : rc;
    rc = rc == 0 ? write_file(args->out_dir, "collateral.json", pki->bundle_json,
                              strlen(pki->bundle_json), err, err_len)
                 : rc;
    rc = rc == 0 ? write_file(args->out_dir, "root.pem", pki->root_pem, strlen(pki->root_pem), err,
                              err_len)
                 : rc;
    rc = rc == 0 ? write_file(args->out_dir, json ? "runtime-data.json" : "runtime-data.bin",
                              runtime->data, runtime->len, err, err_len)
                 : rc;
    rc = rc == 0 ? write_json(args->out_dir, "request.json", body, err, err_len) : rc;
    rc = rc == 0 ? write_json(args->out_dir, "demo.json", summary, err, err_len) : rc;
    json_decref(body);
    return rc;
}

/* What to do next, for a person at a terminal. `ca`: the development CA (scripts/dev-setup.sh)
 * when the data directory has one, else a placeholder. */
static char *next_steps(const struct att_admin_demo_args *args, const char *data_dir,
                        const char *name, const char *issuer, const char *valid_until, bool json)
{
    char *text = NULL;
    char ca[4096];
    const char *rd = json ? "runtime-data.json" : "runtime-data.bin";
    int m = snprintf(ca, sizeof(ca), "%s/tls/ca.pem", data_dir);
    if (m < 0 || (size_t)m >= sizeof(ca) || access(ca, R_OK) != 0) {
        snprintf(ca, sizeof(ca), "CA.pem");
    }
    int n = asprintf(
        &text,
        "Made demo provider '%s' (issuer %s).\n"
        "  It trusts only a root CA made just now on this machine (its key is gone), and every\n"
        "  token it issues carries \"x-attestd-demo\": true: it proves nothing about real\n"
        "  hardware. It attests only while public_network_access is disabled.\n"
        "Wrote to %s: quote.bin (an SGX quote whose report data binds %s),\n"
        "  collateral.json (valid until %s, already imported), root.pem, request.json\n"
        "  (MAA's SgxEnclave request body) and demo.json.\n"
        "\n"
        "Next:\n"
        "  1. attestd serves the new provider within 10 seconds (or at once after SIGHUP).\n"
        "  2. Attest (the answer is {\"token\": JWT}):\n"
        "       curl --cacert %s -H 'Content-Type: application/json' \\\n"
        "         --data-binary @%s/request.json \\\n"
        "         '%s/attest/SgxEnclave?api-version=%s'\n"
        "  3. Check the token against the provider's keys: %s/certs\n"
        "  Offline, with the same code: attestctl verify sgx --quote %s/quote.bin \\\n"
        "       --collateral %s/collateral.json --trust %s/root.pem \\\n"
        "       --runtime-data %s/%s%s\n"
        "  Remove it with: attestctl provider delete %s\n",
        name, issuer, args->out_dir, rd, valid_until, ca, args->out_dir, issuer, DEMO_API_VERSION,
        issuer, args->out_dir, args->out_dir, args->out_dir, args->out_dir, rd,
        json ? " --runtime-json" : "", name);
    return n < 0 ? NULL : text;
}

int att_admin_demo(struct att_admin *a, const struct att_admin_demo_args *args, char **text_out,
                   char *err, size_t err_len)
{
    const struct att_config *cfg = att_admin_config(a);
    const char *name = args->name != NULL ? args->name : DEMO_DEFAULT_NAME;
    char issuer[ATT_URL_MAX + 1];
    struct att_provider_rec existing;
    struct att_testpki pki;
    struct att_buf runtime;
    bool json = false;
    bool created = false;
    int64_t now = att_time_now();
    int rc = 1;

    memset(&pki, 0, sizeof(pki));
    att_buf_init(&runtime, DEMO_MAX_RUNTIME);
    /* docs/internals/demo.md: anyone who can reach the service could be handed demo tokens. */
    if (cfg->public_network_access) {
        att_admin_fail(err, err_len,
                       "demo providers are refused while public_network_access is enabled: "
                       "a demo provider trusts a root made on this machine, and its tokens "
                       "prove nothing (docs/internals/demo.md)");
        goto out;
    }
    if (args->out_dir == NULL || args->out_dir[0] == '\0') {
        att_admin_fail(err, err_len, "demo needs the directory to write the evidence to");
        goto out;
    }
    if (att_provider_name_check(name) != ATT_OK) {
        att_admin_fail(err, err_len,
                       "'%s' is not a valid provider name (1-63 of a-z, 0-9 and '-', not "
                       "starting with '-')",
                       name);
        goto out;
    }
    int n = snprintf(issuer, sizeof(issuer), "%s/providers/%s", cfg->public_url, name);
    if (n < 0 || (size_t)n >= sizeof(issuer)) {
        att_admin_fail(err, err_len, "issuer URL too long");
        goto out;
    }
    uint8_t fmspc[6];
    if (args->fmspc != NULL && parse_fmspc(args->fmspc, fmspc, err, err_len) != 0) {
        goto out;
    }
    if (att_store_provider_get(att_admin_store(a), name, &existing) == ATT_OK) {
        att_admin_fail(err, err_len,
                       "provider '%s' already exists: delete it first (attestctl provider "
                       "delete %s) or name another (--name)",
                       name, name);
        goto out;
    }
    if (mkdir(args->out_dir, 0755) != 0 && errno != EEXIST) {
        att_admin_fail(err, err_len, "%s: %s", args->out_dir, strerror(errno));
        goto out;
    }
    if (runtime_data(args->runtime_path, now, &runtime, &json, err, err_len) != 0) {
        goto out;
    }

    /* The quote binds the runtime data: REPORTDATA = SHA-256(data) || 32 zero bytes
     * (docs/reference/maa-api.md §1.3). */
    uint8_t report_data[64] = {0};
    if (att_sha256(runtime.data, runtime.len, report_data) != ATT_OK) {
        att_admin_fail(err, err_len, "cannot hash the runtime data");
        goto out;
    }
    struct att_testpki_opts opts;
    memset(&opts, 0, sizeof(opts));
    opts.now = now;
    opts.report_data = report_data;
    opts.fmspc = args->fmspc != NULL ? fmspc : NULL;
    if (att_testpki_build(&opts, &pki) != 0) {
        att_admin_fail(err, err_len, "cannot make the demo PKI (OpenSSL failed; see above)");
        goto out;
    }
    if (create_provider(a, name, issuer, args->alg, &pki, now, err, err_len) != 0) {
        goto out;
    }
    created = true;
    if (import_collateral(a, &pki, now, err, err_len) != 0) {
        goto out;
    }
    /* The collateral's first nextUpdate: until then the demo attests. */
    char valid_until[32];
    att_time_format(now + 29 * ATT_TESTPKI_DAY, valid_until, sizeof(valid_until));
    char attest_url[ATT_URL_MAX + 64];
    char certs_url[ATT_URL_MAX + 16];
    snprintf(attest_url, sizeof(attest_url), "%s/attest/SgxEnclave?api-version=%s", issuer,
             DEMO_API_VERSION);
    snprintf(certs_url, sizeof(certs_url), "%s/certs", issuer);
    json_t *summary = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b}", "provider", name, "issuer", issuer,
        "attest_url", attest_url, "certs_url", certs_url, "valid_until", valid_until, "quote",
        "quote.bin", "collateral", "collateral.json", "root", "root.pem", "request", "request.json",
        "runtime_data", json ? "runtime-data.json" : "runtime-data.bin", "runtime_json", json);
    int wrc = write_outputs(args, &pki, &runtime, json, summary, err, err_len);
    json_decref(summary);
    if (wrc != 0) {
        goto out;
    }
    *text_out = next_steps(args, cfg->data_dir, name, issuer, valid_until, json);
    if (*text_out == NULL) {
        att_admin_fail(err, err_len, "out of memory");
        goto out;
    }
    rc = 0;
out:
    if (rc != 0 && created) { /* nothing half-made stays behind */
        att_ignore_err(att_provider_delete(att_admin_store(a), att_admin_keyring(a), name));
    }
    att_testpki_free(&pki);
    att_buf_cleanup(&runtime);
    return rc;
}
