/*
 * qeidentity.c - Intel enclave identity v2 (PCS API v4 "enclaveIdentity";
 * docs/reference/intel-collateral.md §4.3).
 *
 * Input: the signed text of an enclaveIdentity object, untrusted. Same discipline as
 * tcbinfo.c, whose field readers this file uses: jansson with duplicates refused and a size cap,
 * every used member checked for type, length and range, the level list capped.
 */
#include "evidence/intel/qeidentity.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/rd.h"

#define PATH_LEN 64

static const char *const id_names[] = {
    [ATT_QE_ID_QE] = "QE",
    [ATT_QE_ID_QVE] = "QVE",
    [ATT_QE_ID_TD_QE] = "TD_QE",
};

const char *att_qe_identity_id_name(enum att_qe_identity_id id)
{
    size_t i = (size_t)id;
    if (i >= sizeof(id_names) / sizeof(id_names[0])) {
        return "?";
    }
    return id_names[i];
}

/* "id", "version", dates, "tcbEvaluationDataNumber", the report fields. */
static att_err parse_header(const struct att_coll_ctx *c, const json_t *doc,
                            struct att_qe_identity *q)
{
    const json_t *id = NULL;
    uint64_t v = 0;
    bool known = false;

    ATT_TRY(att_coll_member(c, doc, "", "id", JSON_STRING, false, &id));
    struct att_bytes b = {(const uint8_t *)json_string_value(id), json_string_length(id)};
    for (size_t i = 0; i < sizeof(id_names) / sizeof(id_names[0]) && !known; i++) {
        if (att_bytes_eq_str(b, id_names[i])) {
            q->id = (enum att_qe_identity_id)i;
            known = true;
        }
    }
    if (!known) {
        return att_coll_fail(c, ATT_ERR_COLLATERAL_FORMAT, "", "id",
                             "expected \"QE\", \"QVE\" or \"TD_QE\"");
    }
    /* PCS v4 serves version 2 only; version 1 had no tcbLevels and is invalid for TDX. */
    ATT_TRY(att_coll_uint(c, doc, "", "version", UINT32_MAX, &v));
    if (v != 2) {
        return att_coll_fail(c, ATT_ERR_COLLATERAL_FORMAT, "", "version", "expected 2, found %llu",
                             (unsigned long long)v);
    }
    q->version = 2;
    ATT_TRY(att_coll_date(c, doc, "", "issueDate", &q->issue_date));
    ATT_TRY(att_coll_date(c, doc, "", "nextUpdate", &q->next_update));
    if (q->issue_date >= q->next_update) {
        return att_coll_fail(c, ATT_ERR_COLLATERAL_FORMAT, "", "nextUpdate", "not after issueDate");
    }
    ATT_TRY(att_coll_uint(c, doc, "", "tcbEvaluationDataNumber", UINT32_MAX, &v));
    q->eval_num = (uint32_t)v;
    ATT_TRY(att_coll_hex(c, doc, "", "miscselect", q->miscselect, sizeof(q->miscselect)));
    ATT_TRY(
        att_coll_hex(c, doc, "", "miscselectMask", q->miscselect_mask, sizeof(q->miscselect_mask)));
    ATT_TRY(att_coll_hex(c, doc, "", "attributes", q->attributes, sizeof(q->attributes)));
    ATT_TRY(
        att_coll_hex(c, doc, "", "attributesMask", q->attributes_mask, sizeof(q->attributes_mask)));
    ATT_TRY(att_coll_hex(c, doc, "", "mrsigner", q->mrsigner, sizeof(q->mrsigner)));
    ATT_TRY(att_coll_uint(c, doc, "", "isvprodid", UINT16_MAX, &v));
    q->isvprodid = (uint16_t)v;
    return ATT_OK;
}

/* "tcbLevels": [{"tcb": {"isvsvn": n}, "tcbDate", "tcbStatus", "advisoryIDs"?}], newest first. */
static att_err parse_levels(const struct att_coll_ctx *c, const json_t *doc,
                            struct att_qe_identity *q)
{
    const json_t *arr = NULL;
    const json_t *tcb = NULL;
    char path[PATH_LEN];
    char tpath[PATH_LEN];
    uint64_t v = 0;

    ATT_TRY(att_coll_array(c, doc, "", "tcbLevels", ATT_TCB_MAX_LEVELS, &arr));
    q->levels = calloc(json_array_size(arr), sizeof(q->levels[0]));
    ATT_ENSURE(q->levels != NULL, ATT_ERR_NOMEM);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *level = json_array_get(arr, i);
        struct att_qe_level *l = &q->levels[i];
        snprintf(path, sizeof(path), "tcbLevels[%zu]", i);
        if (!json_is_object(level)) {
            return att_coll_fail(c, ATT_ERR_COLLATERAL_FORMAT, path, "", "expected an object");
        }
        ATT_TRY(att_coll_member(c, level, path, "tcb", JSON_OBJECT, false, &tcb));
        snprintf(tpath, sizeof(tpath), "%s.tcb", path);
        ATT_TRY(att_coll_uint(c, tcb, tpath, "isvsvn", UINT16_MAX, &v));
        l->isvsvn = (uint16_t)v;
        ATT_TRY(att_coll_level_common(c, level, path, &l->tcb_date, &l->status, &l->advisories));
        q->n_levels = i + 1;
    }
    return ATT_OK;
}

void att_qe_identity_free(struct att_qe_identity *q)
{
    if (q == NULL) {
        return;
    }
    for (size_t i = 0; i < q->n_levels; i++) {
        att_advisories_cleanup(&q->levels[i].advisories);
    }
    free(q->levels);
    free(q);
}

att_err att_qe_identity_parse(const char *text, size_t len, struct att_qe_identity **out, char *msg,
                              size_t msg_len)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_coll_ctx c = {msg, msg_len};
    json_t *doc = NULL;
    struct att_qe_identity *q = NULL;

    ATT_CHECK(out != NULL && (text != NULL || len == 0), ATT_ERR_ARG);
    if (msg != NULL && msg_len > 0) {
        msg[0] = 0;
    }
    ATT_GUARD(att_coll_load(&c, text, len, &doc));
    q = calloc(1, sizeof(*q));
    ATT_CHECK(q != NULL, ATT_ERR_NOMEM);
    ATT_GUARD(parse_header(&c, doc, q));
    ATT_GUARD(parse_levels(&c, doc, q));
    *out = q;
    q = NULL;
    rc = ATT_OK;
out:
    att_qe_identity_free(q);
    json_decref(doc);
    return rc;
}
