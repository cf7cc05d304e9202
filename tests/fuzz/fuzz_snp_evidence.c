/*
 * fuzz_snp_evidence.c - libFuzzer target for the SevSnpVm evidence as MAA's body carries it
 * (src/evidence/snp/snp.c): the JSON document {"SnpReport", "VcekCertChain"} or a bare report,
 * decoded and inspected, and the certificates it carries (a PEM chain or a certificate table,
 * src/evidence/snp/verify.c) picked apart. Input: arbitrary bytes, fully untrusted.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <openssl/x509.h>

#include "evidence/snp/snp.h"
#include "evidence/snp/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct att_bytes b = {data, size};
    json_t *out = NULL;
    char msg[256];
    if (att_evidence_snp.inspect(b, &out, msg, sizeof(msg)) == ATT_OK && !json_is_object(out)) {
        abort();
    }
    json_decref(out);
    /* The same bytes as carried certificates, both ways and for both chains. */
    for (int i = 0; i < 4; i++) {
        struct att_snp_carried c = {{NULL, 0}, {NULL, 0}};
        X509 *leaf = NULL;
        X509 *sk = NULL;
        if (i < 2) {
            c.pem = b;
        } else {
            c.table = b;
        }
        if (att_snp_carried_certs(&c, (i & 1) != 0, &leaf, &sk, msg, sizeof(msg)) == ATT_OK &&
            leaf == NULL && sk != NULL) {
            abort(); /* a signing key comes only with a leaf */
        }
        X509_free(leaf);
        X509_free(sk);
    }
    return 0;
}
