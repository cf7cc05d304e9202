/*
 * inputs.c - a bundle's items loaded without a store, and served as a fixed collateral source
 * (the offline verifier and tests).
 */
#include "collateral/service.h"

#include <string.h>

att_err att_collateral_from_bundle(const struct att_dcap_trust *trust,
                                   const struct att_dcap_bundle *b, struct att_intel_inputs *out,
                                   char *msg, size_t msg_len)
{
    struct att_intel_inputs in;
    att_err rc;
    memset(&in, 0, sizeof(in));
    rc = att_dcap_root_crl_load(trust, b->root_ca_crl.data, b->root_ca_crl.len, &in.root_crl, msg,
                                msg_len);
    if (rc == ATT_OK) {
        rc = att_dcap_pck_crl_load(trust, b->pck_crl.data, b->pck_crl.len,
                                   (const char *)b->pck_crl_issuer_chain.data,
                                   b->pck_crl_issuer_chain.len, &in.pck_crl, msg, msg_len);
    }
    if (rc == ATT_OK) {
        rc = att_dcap_tcb_info_load(trust, (const char *)b->tcb_info.data, b->tcb_info.len,
                                    b->tcb_info_signature,
                                    (const char *)b->tcb_info_issuer_chain.data,
                                    b->tcb_info_issuer_chain.len, &in.tcb_info, msg, msg_len);
    }
    if (rc == ATT_OK) {
        rc = att_dcap_qe_identity_load(
            trust, (const char *)b->qe_identity.data, b->qe_identity.len, b->qe_identity_signature,
            (const char *)b->qe_identity_issuer_chain.data, b->qe_identity_issuer_chain.len,
            &in.qe_identity, msg, msg_len);
    }
    if (rc != ATT_OK) {
        att_intel_inputs_release(&in);
        return rc;
    }
    *out = in;
    return ATT_OK;
}

static att_err fixed_get(void *ctx, enum att_intel_tee tee, const uint8_t *pem, size_t len,
                         int64_t now, struct att_intel_inputs *out, char *msg, size_t msg_len)
{
    const struct att_intel_fixed *f = ctx;
    struct att_intel_inputs in;
    (void)tee; /* the verifier refuses items of the other TEE (ATT_ERR_TCB_INFO_MISMATCH) */
    (void)now;
    memset(&in, 0, sizeof(in));
    ATT_TRY(att_dcap_pck_chain_load(f->trust, pem, len, &in.pck, msg, msg_len));
    in.root_crl = att_dcap_item_ref(f->items->root_crl);
    in.pck_crl = att_dcap_item_ref(f->items->pck_crl);
    in.tcb_info = att_dcap_item_ref(f->items->tcb_info);
    in.qe_identity = att_dcap_item_ref(f->items->qe_identity);
    *out = in;
    return ATT_OK;
}

struct att_intel_source att_intel_fixed_source(struct att_intel_fixed *f)
{
    struct att_intel_source s = {fixed_get, f};
    return s;
}
