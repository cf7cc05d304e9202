/*
 * fuzz_tcbinfo.c - libFuzzer target for the TCB info parser (src/evidence/intel/tcbinfo.c) and the
 * PCS response framing (src/collateral/pcs.c, att_pcs_signed_body).
 *
 * Input: arbitrary bytes, fully untrusted, read twice: as the signed text of a tcbInfo object,
 * and as a PCS response {"tcbInfo":{...},"signature":"..."} whose located span is parsed too.
 *
 * Oracles beyond the sanitizers: *out is written only on success; a parsed document respects
 * every cap and rule the header promises (version, id, dates, level counts, TDX components,
 * advisory charset, unique module ids); a located span lies inside the input, runs from '{' to
 * '}' and is within the document cap.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "collateral/pcs.h"
#include "evidence/intel/tcbinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_advisories(const struct att_advisories *a)
{
    if (a->n > ATT_TCB_MAX_ADVISORIES || (a->n > 0 && a->ids == NULL)) {
        abort();
    }
    for (size_t i = 0; i < a->n; i++) {
        size_t n = strlen(a->ids[i]);
        if (n == 0 || n > ATT_TCB_ADVISORY_MAX_LEN ||
            strspn(a->ids[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") !=
                n) {
            abort();
        }
    }
}

static void check_status(enum att_tcb_status s)
{
    if (s > ATT_TCB_REVOKED) {
        abort(); /* the computed TD relaunch values are never parsed */
    }
}

static void check(const struct att_tcb_info *t)
{
    if (t->version != 2 && t->version != 3) {
        abort();
    }
    if ((t->version == 2 && t->id != ATT_TCB_INFO_SGX) || t->issue_date >= t->next_update ||
        t->tcb_type != 0) {
        abort();
    }
    if (t->n_levels == 0 || t->n_levels > ATT_TCB_MAX_LEVELS || t->levels == NULL) {
        abort();
    }
    bool tdx = t->id == ATT_TCB_INFO_TDX;
    if (t->has_tdx_module != tdx || (!tdx && t->n_module_ids != 0)) {
        abort();
    }
    for (size_t i = 0; i < t->n_levels; i++) {
        if (t->levels[i].has_tdx != tdx) {
            abort();
        }
        check_status(t->levels[i].status);
        check_advisories(&t->levels[i].advisories);
    }
    if (t->n_module_ids > ATT_TCB_MAX_MODULE_IDENTITIES) {
        abort();
    }
    for (size_t i = 0; i < t->n_module_ids; i++) {
        const struct att_tdx_module_identity *m = &t->module_ids[i];
        size_t n = strnlen(m->id, sizeof(m->id));
        if (n == 0 || n >= sizeof(m->id) || m->n_levels == 0 || m->n_levels > ATT_TCB_MAX_LEVELS) {
            abort();
        }
        for (size_t k = 0; k < i; k++) {
            if (strcasecmp(t->module_ids[k].id, m->id) == 0) {
                abort();
            }
        }
        for (size_t k = 0; k < m->n_levels; k++) {
            check_status(m->levels[k].status);
            check_advisories(&m->levels[k].advisories);
        }
    }
}

static void parse(const char *text, size_t len)
{
    struct att_tcb_info *t = NULL;
    char msg[256];
    if (att_tcb_info_parse(text, len, &t, msg, sizeof(msg)) != ATT_OK) {
        if (t != NULL) {
            abort();
        }
        return;
    }
    if (t == NULL) {
        abort();
    }
    check(t);
    att_tcb_info_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct att_bytes body = {NULL, 0};
    uint8_t sig[64];
    char msg[256];

    parse((const char *)data, size);
    if (att_pcs_signed_body((const char *)data, size, "tcbInfo", &body, sig, msg, sizeof(msg)) !=
        ATT_OK) {
        if (body.ptr != NULL) {
            abort();
        }
        return 0;
    }
    if (body.len < 2 || body.len > ATT_COLLATERAL_MAX_DOC || body.ptr < data ||
        body.ptr + body.len > data + size || body.ptr[0] != '{' || body.ptr[body.len - 1] != '}') {
        abort();
    }
    parse((const char *)body.ptr, body.len);
    return 0;
}
