/*
 * inputs.c - the collateral one SGX quote needs, as references (service.h): release, view,
 * and loading a bundle's items without a store (the offline verifier and tests).
 */
#include "collateral/service.h"

#include <string.h>

void att_sgx_inputs_release(struct att_sgx_inputs *in)
{
    att_dcap_item_unref(in->pck);
    att_dcap_item_unref(in->root_crl);
    att_dcap_item_unref(in->pck_crl);
    att_dcap_item_unref(in->tcb_info);
    att_dcap_item_unref(in->qe_identity);
    memset(in, 0, sizeof(*in));
}

struct att_sgx_collateral att_sgx_inputs_view(const struct att_sgx_inputs *in)
{
    struct att_sgx_collateral c = {in->root_crl, in->pck_crl, in->tcb_info, in->qe_identity};
    return c;
}

att_err att_collateral_from_bundle(const struct att_dcap_trust *trust,
                                   const struct att_dcap_bundle *b, struct att_sgx_inputs *out,
                                   char *msg, size_t msg_len)
{
    struct att_sgx_inputs in;
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
        att_sgx_inputs_release(&in);
        return rc;
    }
    *out = in;
    return ATT_OK;
}
