/*
 * tcbinfo.c - Intel TCB info, versions 2 and 3 (PCS API v4; docs/reference/intel-collateral.md
 * §4.2), plus the field readers every collateral document shares (tcbStatus, advisoryIDs, dates,
 * hex).
 *
 * Input: the signed text of a tcbInfo object, untrusted (parsed before and whatever its
 * signature). jansson parses the JSON with duplicate member names refused and the text capped at
 * ATT_COLLATERAL_MAX_DOC; every member we use is then checked for type, length and range, every
 * collection against its cap. Member text (hex, dates, advisory ids) is read through the bounded
 * reader or the strict decoders of src/core. Unknown members are ignored, as Intel adds members
 * (QVL Json/TcbInfo.cpp reads only what it needs the same way).
 */
#include "evidence/intel/tcbinfo.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/codec.h"
#include "core/rd.h"
#include "core/timeutil.h"

#define PATH_LEN 128

/* =====================================================================
 * tcbStatus (docs/reference/intel-collateral.md §4.5)
 * ===================================================================== */

static const char *const status_names[] = {
    [ATT_TCB_UP_TO_DATE] = "UpToDate",
    [ATT_TCB_SW_HARDENING_NEEDED] = "SWHardeningNeeded",
    [ATT_TCB_CONFIGURATION_NEEDED] = "ConfigurationNeeded",
    [ATT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED] = "ConfigurationAndSWHardeningNeeded",
    [ATT_TCB_OUT_OF_DATE] = "OutOfDate",
    [ATT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED] = "OutOfDateConfigurationNeeded",
    [ATT_TCB_REVOKED] = "Revoked",
    [ATT_TCB_TD_RELAUNCH_ADVISED] = "TDRelaunchAdvised",
    [ATT_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED] = "TDRelaunchAdvisedConfigurationNeeded",
};

const char *att_tcb_status_name(enum att_tcb_status s)
{
    size_t i = (size_t)s;
    if (i >= sizeof(status_names) / sizeof(status_names[0])) {
        return "?";
    }
    return status_names[i];
}

att_err att_tcb_status_parse(const char *s, size_t n, enum att_tcb_status *out)
{
    ATT_ENSURE(out != NULL && (s != NULL || n == 0), ATT_ERR_ARG);
    struct att_bytes b = {(const uint8_t *)s, n};
    /* Only the seven values Intel defines for documents: QVL's parseStatus maps anything else
     * to STATUS_TCB_UNRECOGNIZED_STATUS, an error, never a pass. */
    for (enum att_tcb_status st = ATT_TCB_UP_TO_DATE; st <= ATT_TCB_REVOKED; st++) {
        if (att_bytes_eq_str(b, status_names[st])) {
            *out = st;
            return ATT_OK;
        }
    }
    return ATT_ERR_TCB_STATUS_UNKNOWN;
}

void att_advisories_cleanup(struct att_advisories *a)
{
    if (a == NULL) {
        return;
    }
    for (size_t i = 0; i < a->n; i++) {
        free(a->ids[i]);
    }
    free(a->ids);
    a->ids = NULL;
    a->n = 0;
}

/* =====================================================================
 * Field readers shared with qeidentity.c
 * ===================================================================== */

att_err att_coll_fail(const struct att_coll_ctx *c, att_err code, const char *path, const char *key,
                      const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    const char *dot = path[0] != 0 && key[0] != 0 ? "." : "";
    const char *colon = path[0] != 0 || key[0] != 0 ? ": " : "";
    return att_failf(code, c->msg, c->msg_len, "%s%s%s%s%s", path, dot, key, colon, what);
}

att_err att_coll_load(const struct att_coll_ctx *c, const char *text, size_t len, json_t **doc)
{
    json_error_t jerr;
    if (len > ATT_COLLATERAL_MAX_DOC) {
        return att_coll_fail(c, ATT_ERR_TOO_LARGE, "", "", "document of %zu bytes, more than %d",
                             len, ATT_COLLATERAL_MAX_DOC);
    }
    json_t *d = json_loadb(text != NULL ? text : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (d == NULL) {
        /* jansson's own text may quote the input: say only what and where. */
        if (json_error_code(&jerr) == json_error_duplicate_key) {
            return att_coll_fail(c, ATT_ERR_COLLATERAL_FORMAT, "", "",
                                 "duplicate member name (byte %d)", jerr.position);
        }
        return att_coll_fail(c, ATT_ERR_COLLATERAL_FORMAT, "", "", "not valid JSON (byte %d)",
                             jerr.position);
    }
    if (!json_is_object(d)) {
        json_decref(d);
        return att_coll_fail(c, ATT_ERR_COLLATERAL_FORMAT, "", "", "expected a JSON object");
    }
    *doc = d;
    return ATT_OK;
}

static const char *type_name(json_type type)
{
    switch (type) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    default: return "a value";
    }
}

att_err att_coll_member(const struct att_coll_ctx *c, const json_t *obj, const char *path,
                        const char *key, json_type type, bool optional, const json_t **out)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        if (optional) {
            *out = NULL;
            return ATT_OK;
        }
        return att_coll_fail(c, ATT_ERR_COLLATERAL_FORMAT, path, key, "missing");
    }
    if (json_typeof(v) != type) {
        return att_coll_fail(c, ATT_ERR_COLLATERAL_FORMAT, path, key, "expected %s",
                             type_name(type));
    }
    *out = v;
    return ATT_OK;
}

att_err att_coll_uint(const struct att_coll_ctx *c, const json_t *obj, const char *path,
                      const char *key, uint64_t max, uint64_t *out)
{
    const json_t *v = NULL;
    ATT_TRY(att_coll_member(c, obj, path, key, JSON_INTEGER, false, &v));
    json_int_t i = json_integer_value(v);
    if (i < 0 || (uint64_t)i > max) {
        return att_coll_fail(c, ATT_ERR_COLLATERAL_FORMAT, path, key,
                             "expected 0 to %llu, found %lld", (unsigned long long)max,
                             (long long)i);
    }
    *out = (uint64_t)i;
    return ATT_OK;
}

/* Decode exactly 2 * n hex digits of s into out[n]. ATT_ERR_ENCODING on a non-hex character. */
static att_err hex_exact(const char *s, size_t len, uint8_t *out, size_t n)
{
    struct att_buf b;
    struct att_rd r;
    att_buf_init(&b, n);
    att_err rc = len == 2 * n ? att_hex_decode(s, len, &b) : ATT_ERR_COLLATERAL_FORMAT;
    if (rc == ATT_OK) {
        att_rd_init(&r, b.data, b.len);
        rc = att_rd_copy(&r, out, n);
    }
    att_buf_cleanup(&b);
    return rc;
}

att_err att_coll_hex(const struct att_coll_ctx *c, const json_t *obj, const char *path,
                     const char *key, uint8_t *out, size_t n)
{
    const json_t *v = NULL;
    ATT_TRY(att_coll_member(c, obj, path, key, JSON_STRING, false, &v));
    size_t len = json_string_length(v);
    if (len != 2 * n) {
        return att_coll_fail(c, ATT_ERR_COLLATERAL_FORMAT, path, key,
                             "expected %zu hex digits, found %zu characters", 2 * n, len);
    }
    att_err rc = hex_exact(json_string_value(v), len, out, n);
    if (rc == ATT_ERR_ENCODING) {
        return att_coll_fail(c, ATT_ERR_ENCODING, path, key, "not hex");
    }
    return rc;
}

att_err att_coll_date(const struct att_coll_ctx *c, const json_t *obj, const char *path,
                      const char *key, int64_t *out)
{
    const json_t *v = NULL;
    ATT_TRY(att_coll_member(c, obj, path, key, JSON_STRING, false, &v));
    if (att_time_parse_rfc3339(json_string_value(v), json_string_length(v), out) != ATT_OK) {
        return att_coll_fail(c, ATT_ERR_COLLATERAL_FORMAT, path, key,
                             "expected an RFC 3339 UTC date-time");
    }
    return ATT_OK;
}

att_err att_coll_array(const struct att_coll_ctx *c, const json_t *obj, const char *path,
                       const char *key, size_t max, const json_t **out)
{
    const json_t *v = NULL;
    ATT_TRY(att_coll_member(c, obj, path, key, JSON_ARRAY, false, &v));
    if (json_array_size(v) == 0) {
        return att_coll_fail(c, ATT_ERR_COLLATERAL_FORMAT, path, key,
                             "expected at least one entry");
    }
    if (json_array_size(v) > max) {
        return att_coll_fail(c, ATT_ERR_TOO_LARGE, path, key, "more than %zu entries", max);
    }
    *out = v;
    return ATT_OK;
}

/* An advisory id: "INTEL-SA-00615", "INTEL-DOC-00000"; 1..32 characters of [A-Za-z0-9-]. */
static bool advisory_ok(const char *s, size_t n)
{
    struct att_rd r;
    if (n == 0 || n > ATT_TCB_ADVISORY_MAX_LEN) {
        return false;
    }
    att_rd_init(&r, s, n);
    while (att_rd_left(&r) > 0) {
        uint8_t ch = 0;
        if (att_rd_u8(&r, &ch) != ATT_OK) {
            return false;
        }
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                  (ch >= '0' && ch <= '9') || ch == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* "advisoryIDs": optional array of ids; absent gives an empty list. */
static att_err parse_advisories(const struct att_coll_ctx *c, const json_t *level, const char *path,
                                struct att_advisories *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    const json_t *arr = NULL;
    struct att_advisories a = {NULL, 0};
    char at[PATH_LEN];

    ATT_TRY(att_coll_member(c, level, path, "advisoryIDs", JSON_ARRAY, true, &arr));
    size_t n = arr != NULL ? json_array_size(arr) : 0;
    if (n > ATT_TCB_MAX_ADVISORIES) {
        return att_coll_fail(c, ATT_ERR_TOO_LARGE, path, "advisoryIDs", "more than %d entries",
                             ATT_TCB_MAX_ADVISORIES);
    }
    if (n > 0) {
        a.ids = calloc(n, sizeof(a.ids[0]));
        ATT_CHECK(a.ids != NULL, ATT_ERR_NOMEM);
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(arr, i);
        snprintf(at, sizeof(at), "%s%sadvisoryIDs[%zu]", path, path[0] != 0 ? "." : "", i);
        if (!json_is_string(v)) {
            rc = att_coll_fail(c, ATT_ERR_COLLATERAL_FORMAT, at, "", "expected a string");
            goto out;
        }
        if (!advisory_ok(json_string_value(v), json_string_length(v))) {
            rc = att_coll_fail(c, ATT_ERR_COLLATERAL_FORMAT, at, "",
                               "expected 1 to %d characters of A-Z a-z 0-9 -",
                               ATT_TCB_ADVISORY_MAX_LEN);
            goto out;
        }
        a.ids[i] = strdup(json_string_value(v));
        ATT_CHECK(a.ids[i] != NULL, ATT_ERR_NOMEM);
        a.n = i + 1;
    }
    *out = a;
    a.ids = NULL;
    a.n = 0;
    rc = ATT_OK;
out:
    att_advisories_cleanup(&a);
    return rc;
}

att_err att_coll_level_common(const struct att_coll_ctx *c, const json_t *level, const char *path,
                              int64_t *tcb_date, enum att_tcb_status *status,
                              struct att_advisories *adv)
{
    const json_t *st = NULL;
    ATT_TRY(att_coll_date(c, level, path, "tcbDate", tcb_date));
    ATT_TRY(att_coll_member(c, level, path, "tcbStatus", JSON_STRING, false, &st));
    if (att_tcb_status_parse(json_string_value(st), json_string_length(st), status) != ATT_OK) {
        return att_coll_fail(c, ATT_ERR_TCB_STATUS_UNKNOWN, path, "tcbStatus",
                             "not a status Intel defines");
    }
    return parse_advisories(c, level, path, adv);
}

/* =====================================================================
 * tcbInfo members
 * ===================================================================== */

/* "version", "id", dates, "fmspc", "pceId", "tcbType", "tcbEvaluationDataNumber". */
static att_err parse_header(const struct att_coll_ctx *c, const json_t *doc, struct att_tcb_info *t)
{
    uint64_t v = 0;
    const json_t *id = NULL;

    ATT_TRY(att_coll_uint(c, doc, "", "version", UINT32_MAX, &v));
    if (v != 2 && v != 3) {
        return att_coll_fail(c, ATT_ERR_COLLATERAL_FORMAT, "", "version",
                             "expected 2 or 3, found %llu", (unsigned long long)v);
    }
    t->version = (unsigned)v;
    /* v3 names the TEE; v2 predates TDX and has no "id" (QVL TcbInfo.cpp: SGX). */
    ATT_TRY(att_coll_member(c, doc, "", "id", JSON_STRING, t->version == 2, &id));
    t->id = ATT_TCB_INFO_SGX;
    if (id != NULL) {
        struct att_bytes b = {(const uint8_t *)json_string_value(id), json_string_length(id)};
        if (att_bytes_eq_str(b, "TDX") && t->version == 3) {
            t->id = ATT_TCB_INFO_TDX;
        } else if (!att_bytes_eq_str(b, "SGX")) {
            return att_coll_fail(c, ATT_ERR_COLLATERAL_FORMAT, "", "id",
                                 t->version == 2 ? "expected \"SGX\" (version 2 is SGX only)"
                                                 : "expected \"SGX\" or \"TDX\"");
        }
    }
    ATT_TRY(att_coll_date(c, doc, "", "issueDate", &t->issue_date));
    ATT_TRY(att_coll_date(c, doc, "", "nextUpdate", &t->next_update));
    if (t->issue_date >= t->next_update) {
        return att_coll_fail(c, ATT_ERR_COLLATERAL_FORMAT, "", "nextUpdate", "not after issueDate");
    }
    ATT_TRY(att_coll_hex(c, doc, "", "fmspc", t->fmspc, sizeof(t->fmspc)));
    ATT_TRY(att_coll_hex(c, doc, "", "pceId", t->pceid, sizeof(t->pceid)));
    /* tcbType 0: "the only comparison scheme" (PCS v4); a new scheme would need new code. */
    ATT_TRY(att_coll_uint(c, doc, "", "tcbType", UINT32_MAX, &v));
    if (v != 0) {
        return att_coll_fail(c, ATT_ERR_COLLATERAL_FORMAT, "", "tcbType", "expected 0, found %llu",
                             (unsigned long long)v);
    }
    t->tcb_type = 0;
    ATT_TRY(att_coll_uint(c, doc, "", "tcbEvaluationDataNumber", UINT32_MAX, &v));
    t->eval_num = (uint32_t)v;
    return ATT_OK;
}

/* v3 "sgxtcbcomponents" / "tdxtcbcomponents": 16 objects {"svn": 0..255, "category"?, "type"?}. */
static att_err parse_components(const struct att_coll_ctx *c, const json_t *tcb, const char *path,
                                const char *key, uint8_t svn[ATT_TCB_COMPONENTS])
{
    const json_t *arr = NULL;
    const json_t *opt = NULL;
    char at[PATH_LEN];
    uint64_t v = 0;

    ATT_TRY(att_coll_member(c, tcb, path, key, JSON_ARRAY, false, &arr));
    if (json_array_size(arr) != ATT_TCB_COMPONENTS) {
        return att_coll_fail(c, ATT_ERR_COLLATERAL_FORMAT, path, key,
                             "expected %d entries, found %zu", ATT_TCB_COMPONENTS,
                             json_array_size(arr));
    }
    for (size_t i = 0; i < ATT_TCB_COMPONENTS; i++) {
        const json_t *comp = json_array_get(arr, i);
        snprintf(at, sizeof(at), "%s.%s[%zu]", path, key, i);
        if (!json_is_object(comp)) {
            return att_coll_fail(c, ATT_ERR_COLLATERAL_FORMAT, at, "", "expected an object");
        }
        ATT_TRY(att_coll_uint(c, comp, at, "svn", UINT8_MAX, &v));
        svn[i] = (uint8_t)v;
        /* Descriptive only, but typed when present. */
        ATT_TRY(att_coll_member(c, comp, at, "category", JSON_STRING, true, &opt));
        ATT_TRY(att_coll_member(c, comp, at, "type", JSON_STRING, true, &opt));
    }
    return ATT_OK;
}

/* The "tcb" object of a platform level (docs/reference/intel-collateral.md §4.2: v2 flat, v3
 * arrays). */
static att_err parse_level_tcb(const struct att_coll_ctx *c, const struct att_tcb_info *t,
                               const json_t *level, const char *lpath, struct att_tcb_level *l)
{
    const json_t *tcb = NULL;
    char path[PATH_LEN];
    uint64_t v = 0;

    ATT_TRY(att_coll_member(c, level, lpath, "tcb", JSON_OBJECT, false, &tcb));
    snprintf(path, sizeof(path), "%s.tcb", lpath);
    if (t->version == 2) {
        for (unsigned i = 0; i < ATT_TCB_COMPONENTS; i++) {
            char key[24];
            snprintf(key, sizeof(key), "sgxtcbcomp%02usvn", i + 1);
            ATT_TRY(att_coll_uint(c, tcb, path, key, UINT8_MAX, &v));
            l->sgx_svn[i] = (uint8_t)v;
        }
    } else {
        ATT_TRY(parse_components(c, tcb, path, "sgxtcbcomponents", l->sgx_svn));
        if (t->id == ATT_TCB_INFO_TDX) {
            ATT_TRY(parse_components(c, tcb, path, "tdxtcbcomponents", l->tdx_svn));
            l->has_tdx = true;
        }
    }
    ATT_TRY(att_coll_uint(c, tcb, path, "pcesvn", UINT16_MAX, &v));
    l->pcesvn = (uint16_t)v;
    return ATT_OK;
}

static att_err parse_levels(const struct att_coll_ctx *c, const json_t *doc, struct att_tcb_info *t)
{
    const json_t *arr = NULL;
    char path[PATH_LEN];

    ATT_TRY(att_coll_array(c, doc, "", "tcbLevels", ATT_TCB_MAX_LEVELS, &arr));
    t->levels = calloc(json_array_size(arr), sizeof(t->levels[0]));
    ATT_ENSURE(t->levels != NULL, ATT_ERR_NOMEM);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *level = json_array_get(arr, i);
        struct att_tcb_level *l = &t->levels[i];
        snprintf(path, sizeof(path), "tcbLevels[%zu]", i);
        if (!json_is_object(level)) {
            return att_coll_fail(c, ATT_ERR_COLLATERAL_FORMAT, path, "", "expected an object");
        }
        ATT_TRY(parse_level_tcb(c, t, level, path, l));
        ATT_TRY(att_coll_level_common(c, level, path, &l->tcb_date, &l->status, &l->advisories));
        t->n_levels = i + 1;
    }
    return ATT_OK;
}

/* "tdxModule": {"mrsigner": 48 B, "attributes": 8 B, "attributesMask": 8 B} (TDX only). */
static att_err parse_tdx_module(const struct att_coll_ctx *c, const json_t *doc,
                                struct att_tcb_info *t)
{
    const json_t *m = NULL;
    ATT_TRY(att_coll_member(c, doc, "", "tdxModule", JSON_OBJECT, false, &m));
    ATT_TRY(att_coll_hex(c, m, "tdxModule", "mrsigner", t->tdx_module_mrsigner,
                         sizeof(t->tdx_module_mrsigner)));
    ATT_TRY(att_coll_hex(c, m, "tdxModule", "attributes", t->tdx_module_attributes,
                         sizeof(t->tdx_module_attributes)));
    ATT_TRY(att_coll_hex(c, m, "tdxModule", "attributesMask", t->tdx_module_attributes_mask,
                         sizeof(t->tdx_module_attributes_mask)));
    t->has_tdx_module = true;
    return ATT_OK;
}

/* A module identity "id" ("TDX_01"): matched case-insensitively, so unique that way too. */
static att_err module_id(const struct att_coll_ctx *c, const json_t *mod, const char *path,
                         const struct att_tcb_info *t, size_t idx, char id[16])
{
    const json_t *v = NULL;
    struct att_rd r;

    ATT_TRY(att_coll_member(c, mod, path, "id", JSON_STRING, false, &v));
    size_t n = json_string_length(v);
    bool ok = n >= 1 && n <= 15;
    att_rd_init(&r, json_string_value(v), ok ? n : 0);
    while (att_rd_left(&r) > 0) {
        uint8_t ch = 0;
        ATT_TRY(att_rd_u8(&r, &ch));
        ok = ok && ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                    (ch >= '0' && ch <= '9') || ch == '_');
    }
    if (!ok) {
        return att_coll_fail(c, ATT_ERR_COLLATERAL_FORMAT, path, "id",
                             "expected 1 to 15 characters of A-Z a-z 0-9 _");
    }
    for (size_t k = 0; k < idx; k++) {
        if (strcasecmp(t->module_ids[k].id, json_string_value(v)) == 0) {
            return att_coll_fail(c, ATT_ERR_COLLATERAL_FORMAT, path, "id",
                                 "same as tdxModuleIdentities[%zu]", k);
        }
    }
    snprintf(id, 16, "%s", json_string_value(v));
    return ATT_OK;
}

static att_err parse_module_levels(const struct att_coll_ctx *c, const json_t *mod,
                                   const char *mpath, struct att_tdx_module_identity *m)
{
    const json_t *arr = NULL;
    const json_t *tcb = NULL;
    char path[PATH_LEN];
    char tpath[PATH_LEN];
    uint64_t v = 0;

    ATT_TRY(att_coll_array(c, mod, mpath, "tcbLevels", ATT_TCB_MAX_LEVELS, &arr));
    m->levels = calloc(json_array_size(arr), sizeof(m->levels[0]));
    ATT_ENSURE(m->levels != NULL, ATT_ERR_NOMEM);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *level = json_array_get(arr, i);
        struct att_tdx_module_level *l = &m->levels[i];
        snprintf(path, sizeof(path), "%s.tcbLevels[%zu]", mpath, i);
        if (!json_is_object(level)) {
            return att_coll_fail(c, ATT_ERR_COLLATERAL_FORMAT, path, "", "expected an object");
        }
        ATT_TRY(att_coll_member(c, level, path, "tcb", JSON_OBJECT, false, &tcb));
        snprintf(tpath, sizeof(tpath), "%s.tcb", path);
        ATT_TRY(att_coll_uint(c, tcb, tpath, "isvsvn", UINT8_MAX, &v));
        l->isvsvn = (uint8_t)v;
        ATT_TRY(att_coll_level_common(c, level, path, &l->tcb_date, &l->status, &l->advisories));
        m->n_levels = i + 1;
    }
    return ATT_OK;
}

/* "tdxModuleIdentities" (TDX, optional; docs/reference/intel-collateral.md §4.2,
 * docs/reference/dcap-verification.md §5.3). */
static att_err parse_module_ids(const struct att_coll_ctx *c, const json_t *doc,
                                struct att_tcb_info *t)
{
    const json_t *arr = NULL;
    char path[PATH_LEN];

    ATT_TRY(att_coll_member(c, doc, "", "tdxModuleIdentities", JSON_ARRAY, true, &arr));
    if (arr == NULL || json_array_size(arr) == 0) {
        return ATT_OK;
    }
    if (json_array_size(arr) > ATT_TCB_MAX_MODULE_IDENTITIES) {
        return att_coll_fail(c, ATT_ERR_TOO_LARGE, "", "tdxModuleIdentities",
                             "more than %d entries", ATT_TCB_MAX_MODULE_IDENTITIES);
    }
    t->module_ids = calloc(json_array_size(arr), sizeof(t->module_ids[0]));
    ATT_ENSURE(t->module_ids != NULL, ATT_ERR_NOMEM);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *mod = json_array_get(arr, i);
        struct att_tdx_module_identity *m = &t->module_ids[i];
        snprintf(path, sizeof(path), "tdxModuleIdentities[%zu]", i);
        if (!json_is_object(mod)) {
            return att_coll_fail(c, ATT_ERR_COLLATERAL_FORMAT, path, "", "expected an object");
        }
        /* Counted first, so a failure below still frees this entry's levels. */
        t->n_module_ids = i + 1;
        ATT_TRY(module_id(c, mod, path, t, i, m->id));
        ATT_TRY(att_coll_hex(c, mod, path, "mrsigner", m->mrsigner, sizeof(m->mrsigner)));
        ATT_TRY(att_coll_hex(c, mod, path, "attributes", m->attributes, sizeof(m->attributes)));
        ATT_TRY(att_coll_hex(c, mod, path, "attributesMask", m->attributes_mask,
                             sizeof(m->attributes_mask)));
        ATT_TRY(parse_module_levels(c, mod, path, m));
    }
    return ATT_OK;
}

/* =====================================================================
 * Public entry points
 * ===================================================================== */

void att_tcb_info_free(struct att_tcb_info *t)
{
    if (t == NULL) {
        return;
    }
    /* Levels are counted only once complete; their advisories are set last (or never). */
    for (size_t i = 0; i < t->n_levels; i++) {
        att_advisories_cleanup(&t->levels[i].advisories);
    }
    free(t->levels);
    for (size_t i = 0; i < t->n_module_ids; i++) {
        struct att_tdx_module_identity *m = &t->module_ids[i];
        for (size_t k = 0; k < m->n_levels; k++) {
            att_advisories_cleanup(&m->levels[k].advisories);
        }
        free(m->levels);
    }
    free(t->module_ids);
    free(t);
}

att_err att_tcb_info_parse(const char *text, size_t len, struct att_tcb_info **out, char *msg,
                           size_t msg_len)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_coll_ctx c = {msg, msg_len};
    json_t *doc = NULL;
    struct att_tcb_info *t = NULL;

    ATT_CHECK(out != NULL && (text != NULL || len == 0), ATT_ERR_ARG);
    if (msg != NULL && msg_len > 0) {
        msg[0] = 0;
    }
    ATT_GUARD(att_coll_load(&c, text, len, &doc));
    t = calloc(1, sizeof(*t));
    ATT_CHECK(t != NULL, ATT_ERR_NOMEM);
    ATT_GUARD(parse_header(&c, doc, t));
    if (t->id == ATT_TCB_INFO_TDX) {
        ATT_GUARD(parse_tdx_module(&c, doc, t));
        ATT_GUARD(parse_module_ids(&c, doc, t));
    }
    ATT_GUARD(parse_levels(&c, doc, t));
    *out = t;
    t = NULL;
    rc = ATT_OK;
out:
    att_tcb_info_free(t);
    json_decref(doc);
    return rc;
}
