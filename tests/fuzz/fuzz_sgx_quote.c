/*
 * fuzz_sgx_quote.c - libFuzzer target for the DCAP quote parser, the Open Enclave header and
 * the PCK SGX extension decoder (src/evidence/intel/quote.c, pck.c; src/x509/der.c, certs.c).
 *
 * Input: arbitrary bytes, fully untrusted, read as an SGX quote, as an Open Enclave report,
 * and as the DER of a PCK SGX extension. Oracles beyond the sanitizers: a parsed quote's views
 * lie inside the input, it signs exactly header + body (432 bytes), and its declared length
 * plus the zero padding is the input length.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <openssl/x509.h>

#include "evidence/intel/pck.h"
#include "evidence/intel/quote.h"
#include "x509/certs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_view(struct att_bytes v, const uint8_t *data, size_t size)
{
    if (v.len > 0 && (v.ptr < data || v.ptr + v.len > data + size)) {
        abort();
    }
}

static void quote(const uint8_t *data, size_t size)
{
    struct att_intel_quote q;
    char msg[256];
    if (att_intel_quote_parse(data, size, ATT_INTEL_TEE_SGX, &q, msg, sizeof(msg)) != ATT_OK) {
        return;
    }
    if (q.signed_part.len != ATT_QUOTE_HEADER_LEN + ATT_SGX_REPORT_BODY_LEN ||
        q.bytes.len + q.padding != size) {
        abort();
    }
    check_view(q.sig.pck_pem, data, size);
    check_view(q.sig.qe_auth_data, data, size);
    check_view(q.sig.qe_report.raw, data, size);
    /* The PCK chain text is untrusted too: walk it as the verifier would. */
    STACK_OF(X509) *certs = NULL;
    X509 *leaf = NULL;
    struct att_pck_info pck;
    if (att_pem_certs_parse(q.sig.pck_pem.ptr, q.sig.pck_pem.len, 4, &certs, msg, sizeof(msg)) ==
        ATT_OK) {
        if (att_certs_leaf(certs, &leaf) == ATT_OK) {
            att_ignore_err(att_pck_info_from_cert(leaf, &pck, msg, sizeof(msg)));
        }
        sk_X509_pop_free(certs, X509_free);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct att_bytes inner;
    struct att_pck_info pck;
    char msg[256];
    quote(data, size);
    if (att_oe_report_unwrap(data, size, &inner, msg, sizeof(msg)) == ATT_OK) {
        check_view(inner, data, size);
        quote(inner.ptr, inner.len);
    }
    att_ignore_err(att_pck_info_parse(data, size, &pck, msg, sizeof(msg)));
    return 0;
}
