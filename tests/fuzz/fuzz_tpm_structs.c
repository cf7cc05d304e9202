/*
 * fuzz_tpm_structs.c - libFuzzer target for the TPM 2.0 structure decoding
 * (src/evidence/tpm/tpm2.c: TPMS_ATTEST, TPMT_SIGNATURE, TPMT_PUBLIC / TPM2B_PUBLIC through
 * libtss2-mu; TPM2_Certify attestations too). Input: arbitrary bytes, fully untrusted, given to
 * each decoder. Oracles beyond the sanitizers: a decoded quote or certification borrows exactly
 * the input, a quote selects only PCRs 0-23 of known banks, once each; a decoded key has a public
 * key and a name of its nameAlg's size.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/tpm/tpm2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct att_bytes in = {data, size};
    struct att_tpm_quote q;
    struct att_tpm_signature s;
    struct att_tpm_key k;
    char msg[256];

    if (att_tpm_quote_parse(in, &q, msg, sizeof(msg)) == ATT_OK) {
        if (q.raw.ptr != data || q.raw.len != size || q.nsel > ATT_TPM_MAX_SELECTIONS ||
            q.pcr_digest_len > ATT_TPM_DIGEST_MAX || q.extra_len > sizeof(q.extra)) {
            abort();
        }
        for (size_t i = 0; i < q.nsel; i++) {
            if (att_tpm_bank_of(q.sel[i].alg) < 0 || q.sel[i].mask >> ATT_TPM_PCRS != 0 ||
                att_tpm_quote_selected(&q, q.sel[i].alg) != q.sel[i].mask) {
                abort();
            }
        }
    }
    struct att_tpm_certify c;
    if (att_tpm_certify_parse(in, &c, msg, sizeof(msg)) == ATT_OK &&
        (c.raw.ptr != data || c.raw.len != size || c.name_len > sizeof(c.name))) {
        abort();
    }
    if (att_tpm_signature_parse(in, &s, msg, sizeof(msg)) == ATT_OK &&
        (s.sig_len > sizeof(s.sig) || att_tpm_bank_of(s.hash) < 0)) {
        abort();
    }
    if (att_tpm_key_from_public(in, &k, msg, sizeof(msg)) == ATT_OK) {
        char hash[45];
        /* the aikPubHash (from the memo, the second time an area comes) is the key's */
        if (k.pkey == NULL || k.name_len != 2 + att_tpm_digest_size(k.name_alg) ||
            att_tpm_key_pub_hash(k.pkey, hash) != ATT_OK || strcmp(hash, k.pub_hash) != 0) {
            abort();
        }
        att_ignore_err(att_tpm_key_check_ak(&k, msg, sizeof(msg))); /* any verdict is fine */
        att_tpm_key_free(&k);
    }
    return 0;
}
