/*
 * fuzz_dcap_bundle.c - libFuzzer target for offline collateral bundles
 * (src/collateral/bundle.c: parse and write back) and percent-encoded issuer-chain headers
 * (src/collateral/pcs.c, att_pcs_issuer_chain_decode).
 *
 * Input: arbitrary bytes, fully untrusted, read as bundle JSON and as a header value.
 *
 * Oracles beyond the sanitizers: a parsed bundle respects its caps; written back as JSON and
 * parsed again it gives equal buffers; a failed parse leaves the output alone; a decoded header
 * is non-empty text within its cap, and a failed decode leaves the buffer as it was.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collateral/bundle.h"
#include "collateral/pcs.h"
#include "evidence/intel/tcbinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const struct att_buf *a, const struct att_buf *b)
{
    if (a->len != b->len || (a->len > 0 && memcmp(a->data, b->data, a->len) != 0)) {
        abort();
    }
}

static void bundle(const uint8_t *data, size_t size)
{
    struct att_dcap_bundle b, again;
    struct att_buf out;
    char msg[256];

    memset(&b, 0, sizeof(b));
    if (att_dcap_bundle_parse((const char *)data, size, &b, msg, sizeof(msg)) != ATT_OK) {
        if (b.tcb_info.data != NULL || b.pck_crl.len != 0) {
            abort();
        }
        return;
    }
    if (b.tcb_info.len == 0 || b.tcb_info.len > ATT_COLLATERAL_MAX_DOC ||
        b.qe_identity.len > ATT_COLLATERAL_MAX_DOC || b.root_ca_crl.len > ATT_BUNDLE_MAX_CRL ||
        b.pck_crl.len > ATT_BUNDLE_MAX_CRL ||
        b.pck_crl_issuer_chain.len > ATT_BUNDLE_MAX_CHAIN_PEM) {
        abort();
    }
    att_buf_init(&out, ATT_BUNDLE_MAX_JSON);
    if (att_dcap_bundle_to_json(&b, &out) != ATT_OK ||
        att_dcap_bundle_parse((const char *)out.data, out.len, &again, msg, sizeof(msg)) !=
            ATT_OK) {
        abort(); /* whatever we read, we can write and read back */
    }
    same(&b.pck_crl_issuer_chain, &again.pck_crl_issuer_chain);
    same(&b.root_ca_crl, &again.root_ca_crl);
    same(&b.pck_crl, &again.pck_crl);
    same(&b.tcb_info_issuer_chain, &again.tcb_info_issuer_chain);
    same(&b.tcb_info, &again.tcb_info);
    same(&b.qe_identity_issuer_chain, &again.qe_identity_issuer_chain);
    same(&b.qe_identity, &again.qe_identity);
    if (memcmp(b.tcb_info_signature, again.tcb_info_signature, 64) != 0 ||
        memcmp(b.qe_identity_signature, again.qe_identity_signature, 64) != 0) {
        abort();
    }
    att_dcap_bundle_cleanup(&again);
    att_buf_cleanup(&out);
    att_dcap_bundle_cleanup(&b);
}

static void header(const uint8_t *data, size_t size)
{
    struct att_buf pem;
    att_buf_init(&pem, ATT_PCS_MAX_CHAIN_PEM);
    if (att_pcs_issuer_chain_decode((const char *)data, size, &pem) != ATT_OK) {
        if (pem.len != 0) {
            abort();
        }
    } else if (pem.len == 0 || pem.len > ATT_PCS_MAX_CHAIN_PEM || pem.len > size) {
        abort();
    }
    att_buf_cleanup(&pem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bundle(data, size);
    header(data, size);
    return 0;
}
