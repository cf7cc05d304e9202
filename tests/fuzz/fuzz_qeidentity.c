/*
 * fuzz_qeidentity.c - libFuzzer target for the enclave identity parser
 * (src/evidence/intel/qeidentity.c) and the PCS response framing (att_pcs_signed_body).
 *
 * Input: arbitrary bytes, fully untrusted, read as the signed text of an enclaveIdentity object
 * and as a PCS response {"enclaveIdentity":{...},"signature":"..."} whose span is parsed too.
 *
 * Oracles beyond the sanitizers: *out is written only on success; a parsed identity has a known
 * id, version 2, issueDate < nextUpdate, 1..ATT_TCB_MAX_LEVELS levels with document statuses and
 * well-formed advisory ids; a located span lies inside the input from '{' to '}'.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collateral/pcs.h"
#include "evidence/intel/qeidentity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct att_qe_identity *q)
{
    if (q->id > ATT_QE_ID_TD_QE || q->version != 2 || q->issue_date >= q->next_update) {
        abort();
    }
    if (q->n_levels == 0 || q->n_levels > ATT_TCB_MAX_LEVELS || q->levels == NULL) {
        abort();
    }
    for (size_t i = 0; i < q->n_levels; i++) {
        const struct att_advisories *a = &q->levels[i].advisories;
        if (q->levels[i].status > ATT_TCB_REVOKED || a->n > ATT_TCB_MAX_ADVISORIES) {
            abort();
        }
        for (size_t k = 0; k < a->n; k++) {
            size_t n = strlen(a->ids[k]);
            if (n == 0 || n > ATT_TCB_ADVISORY_MAX_LEN) {
                abort();
            }
        }
    }
}

static void parse(const char *text, size_t len)
{
    struct att_qe_identity *q = NULL;
    char msg[256];
    if (att_qe_identity_parse(text, len, &q, msg, sizeof(msg)) != ATT_OK) {
        if (q != NULL) {
            abort();
        }
        return;
    }
    if (q == NULL) {
        abort();
    }
    check(q);
    att_qe_identity_free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct att_bytes body = {NULL, 0};
    uint8_t sig[64];
    char msg[256];

    parse((const char *)data, size);
    if (att_pcs_signed_body((const char *)data, size, "enclaveIdentity", &body, sig, msg,
                            sizeof(msg)) != ATT_OK) {
        if (body.ptr != NULL) {
            abort();
        }
        return 0;
    }
    if (body.len < 2 || body.ptr < data || body.ptr + body.len > data + size ||
        body.ptr[0] != '{' || body.ptr[body.len - 1] != '}') {
        abort();
    }
    parse((const char *)body.ptr, body.len);
    return 0;
}
