/*
 * tcbinfo.h - Intel TCB info documents (PCS API v4 "tcbInfo", versions 2 and 3;
 * docs/reference/intel-collateral.md §4.2), and the pieces every Intel collateral document shares:
 * tcbStatus values (§4.5), advisory ids, dates, fixed-length hex fields.
 *
 * Input: the exact text the TCB Signing key signed (cut from a PCS response by
 * att_pcs_signed_body, or taken from a bundle): untrusted until the caller has checked that
 * signature, and parsed before it, so everything here is strict and capped.
 *
 * What this module does not do: it checks no signature, reads no clock and judges no quote. It
 * does not compare the document with a PCK certificate or a quote (FMSPC, PCE-ID, TEE type):
 * src/evidence does, with the values parsed here.
 */
#ifndef ATT_EVIDENCE_INTEL_TCBINFO_H
#define ATT_EVIDENCE_INTEL_TCBINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/err.h"

/* docs/reference/intel-collateral.md §4.5. The order is fixed: other modules store and compare
 * these values. */
enum att_tcb_status {
    ATT_TCB_UP_TO_DATE,
    ATT_TCB_SW_HARDENING_NEEDED,
    ATT_TCB_CONFIGURATION_NEEDED,
    ATT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
    ATT_TCB_OUT_OF_DATE,
    ATT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
    ATT_TCB_REVOKED,
    /* computed by a verifier for TDX 1.5 quotes (docs/reference/dcap-verification.md §5.6), never
       parsed */
    ATT_TCB_TD_RELAUNCH_ADVISED,
    ATT_TCB_TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED,
};

/* Intel's exact string ("UpToDate", "SWHardeningNeeded", ...); "?" for a value out of range. */
const char *att_tcb_status_name(enum att_tcb_status s);
/*
 * The status named by exactly the n bytes of s: one of the seven strings Intel defines for
 * tcbStatus (case-sensitive). The two computed TD relaunch values are refused: a document that
 * names them is not one Intel wrote. Errors: ATT_ERR_TCB_STATUS_UNKNOWN.
 */
att_err att_tcb_status_parse(const char *s, size_t n, enum att_tcb_status *out) ATT_WUR;

#define ATT_TCB_MAX_LEVELS 128
#define ATT_TCB_MAX_ADVISORIES 128 /* per level */
#define ATT_TCB_MAX_MODULE_IDENTITIES 16
#define ATT_TCB_ADVISORY_MAX_LEN 32
#define ATT_TCB_COMPONENTS 16
#define ATT_COLLATERAL_MAX_DOC (256 * 1024) /* bytes of one signed body */

/* advisoryIDs of one level: each owned, 1..32 characters of [A-Za-z0-9-] ("INTEL-SA-00615"). */
struct att_advisories {
    char **ids;
    size_t n;
};

/* Free the ids and zero *a; accepts NULL and an already cleaned-up list. */
void att_advisories_cleanup(struct att_advisories *a);

struct att_tcb_level {
    uint8_t sgx_svn[ATT_TCB_COMPONENTS]; /* sgxtcbcomponents[i].svn, or v2 sgxtcbcompNNsvn */
    uint16_t pcesvn;
    bool has_tdx; /* TDX documents only: tdxtcbcomponents */
    uint8_t tdx_svn[ATT_TCB_COMPONENTS];
    enum att_tcb_status status;
    int64_t tcb_date; /* seconds since the epoch */
    struct att_advisories advisories;
};

struct att_tdx_module_level {
    uint8_t isvsvn;
    int64_t tcb_date;
    enum att_tcb_status status;
    struct att_advisories advisories;
};

struct att_tdx_module_identity {
    char id[16]; /* "TDX_01": 1..15 characters of [A-Za-z0-9_], NUL-terminated */
    uint8_t mrsigner[48];
    uint8_t attributes[8];
    uint8_t attributes_mask[8];
    struct att_tdx_module_level *levels; /* 1..ATT_TCB_MAX_LEVELS, document order */
    size_t n_levels;
};

enum att_tcb_info_id { ATT_TCB_INFO_SGX, ATT_TCB_INFO_TDX };

struct att_tcb_info {
    enum att_tcb_info_id id; /* v2 has no id: SGX */
    unsigned version;        /* 2 or 3 */
    int64_t issue_date, next_update;
    uint8_t fmspc[6];
    uint8_t pceid[2];
    unsigned tcb_type;            /* always 0 (the only scheme defined) */
    uint32_t eval_num;            /* tcbEvaluationDataNumber */
    struct att_tcb_level *levels; /* 1..ATT_TCB_MAX_LEVELS, document order (highest first) */
    size_t n_levels;
    /* TDX only: tdxModule (required for TDX) and tdxModuleIdentities (optional) */
    bool has_tdx_module;
    uint8_t tdx_module_mrsigner[48], tdx_module_attributes[8], tdx_module_attributes_mask[8];
    struct att_tdx_module_identity *module_ids; /* 0..ATT_TCB_MAX_MODULE_IDENTITIES, ids unique */
    size_t n_module_ids;
};

/*
 * Parse the exact signed text of a tcbInfo object. Strict: the text is one JSON object (no
 * duplicate member names, at most ATT_COLLATERAL_MAX_DOC bytes); required members present with
 * the right types; hex fields of exact length (either case); 16 components per level; SVNs
 * 0..255, pcesvn 0..65535; dates RFC 3339 UTC (fractional seconds accepted and dropped);
 * issueDate < nextUpdate; id "SGX" or "TDX"; version 2 (SGX only, sgxtcbcompNNsvn members) or
 * 3 (sgxtcbcomponents arrays; for TDX also tdxtcbcomponents and tdxModule). Unknown members are
 * ignored. *out (for att_tcb_info_free) is written only on success.
 *
 * Errors: ATT_ERR_COLLATERAL_FORMAT (msg names the field, e.g.
 * "tcbLevels[3].tcb.sgxtcbcomponents: expected 16 entries, found 15"), ATT_ERR_ENCODING (a hex
 * field with a non-hex character), ATT_ERR_TCB_STATUS_UNKNOWN, ATT_ERR_TOO_LARGE (text, levels,
 * advisories or module identities over their caps), ATT_ERR_ARG, ATT_ERR_NOMEM.
 */
att_err att_tcb_info_parse(const char *text, size_t len, struct att_tcb_info **out, char *msg,
                           size_t msg_len) ATT_WUR;
void att_tcb_info_free(struct att_tcb_info *t); /* accepts NULL */

/* =====================================================================
 * Shared by the collateral parsers (tcbinfo.c, qeidentity.c); not for other modules.
 *
 * Each helper reads member `key` of object `obj`, found at `path` in the document ("" at the
 * top, "tcbLevels[3].tcb" below), and on failure writes "path.key: what" to the context's msg.
 * ===================================================================== */

struct att_coll_ctx {
    char *msg;
    size_t msg_len;
};

/* Write "path.key: <fmt>" (or "key: ..." when path is "") to c->msg and return `code`. */
att_err att_coll_fail(const struct att_coll_ctx *c, att_err code, const char *path, const char *key,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Load text as one JSON object (duplicates refused, ATT_COLLATERAL_MAX_DOC cap). */
att_err att_coll_load(const struct att_coll_ctx *c, const char *text, size_t len,
                      json_t **doc) ATT_WUR;
/* A member of the given JSON type; a missing member fails unless `optional` (then *out = NULL). */
att_err att_coll_member(const struct att_coll_ctx *c, const json_t *obj, const char *path,
                        const char *key, json_type type, bool optional, const json_t **out) ATT_WUR;
/* A required JSON integer in [0, max]. */
att_err att_coll_uint(const struct att_coll_ctx *c, const json_t *obj, const char *path,
                      const char *key, uint64_t max, uint64_t *out) ATT_WUR;
/* A required hex string of exactly 2 * n digits (either case), decoded into out[n]. */
att_err att_coll_hex(const struct att_coll_ctx *c, const json_t *obj, const char *path,
                     const char *key, uint8_t *out, size_t n) ATT_WUR;
/* A required RFC 3339 UTC date-time string. */
att_err att_coll_date(const struct att_coll_ctx *c, const json_t *obj, const char *path,
                      const char *key, int64_t *out) ATT_WUR;
/* A required array of 1..max entries (ATT_ERR_TOO_LARGE above max). */
att_err att_coll_array(const struct att_coll_ctx *c, const json_t *obj, const char *path,
                       const char *key, size_t max, const json_t **out) ATT_WUR;
/*
 * The members every tcbLevels entry shares: "tcbDate", "tcbStatus" and the optional
 * "advisoryIDs". *adv is filled only on success (att_advisories_cleanup it).
 */
att_err att_coll_level_common(const struct att_coll_ctx *c, const json_t *level, const char *path,
                              int64_t *tcb_date, enum att_tcb_status *status,
                              struct att_advisories *adv) ATT_WUR;

#endif
