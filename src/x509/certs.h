/*
 * certs.h - certificate helpers shared by the evidence verifiers: strict PEM chains,
 * ASN.1 times as epoch seconds, and chain building to trust anchors without a clock.
 */
#ifndef ATT_X509_CERTS_H
#define ATT_X509_CERTS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "core/err.h"

/*
 * Parse PEM text holding 1..max certificates and nothing else but whitespace between and
 * around them. Errors: ATT_ERR_CERT_PARSE (other text, a bad block), ATT_ERR_TOO_LARGE (more
 * than max). *out is a new stack (sk_X509_pop_free(out, X509_free)).
 */
att_err att_pem_certs_parse(const uint8_t *pem, size_t len, size_t max, STACK_OF(X509) * *out,
                            char *msg, size_t msg_len) ATT_WUR;

/* An ASN.1 UTCTime/GeneralizedTime as seconds since the epoch. ATT_ERR_PARSE when invalid. */
att_err att_asn1_time_epoch(const ASN1_TIME *t, int64_t *out) ATT_WUR;

/*
 * The one certificate of `certs` that issued none of the others (the leaf). ATT_ERR_CERT_CHAIN
 * when there is not exactly one.
 */
att_err att_certs_leaf(STACK_OF(X509) * certs, X509 **leaf) ATT_WUR;

/*
 * Build and check the chain from `leaf` through `untrusted` to one of `anchors`, signatures
 * and CA constraints only: no time is checked here (the caller checks the validity window at
 * the time of use). The anchor is matched by the issuer name and verified by its key, so a
 * different copy of the root certificate in `untrusted` does not matter. *chain is leaf first,
 * ending in the anchor. ATT_ERR_ROOT_UNTRUSTED when the chain does not reach an anchor,
 * ATT_ERR_CERT_CHAIN when it does but a signature or CA constraint fails; `msg` gets OpenSSL's
 * reason.
 */
att_err att_certs_verify_to(X509 *leaf, STACK_OF(X509) * untrusted, STACK_OF(X509) * anchors,
                            STACK_OF(X509) * *chain, char *msg, size_t msg_len) ATT_WUR;

/* SHA-256 over the DER public keys of `certs`, in order, as lower-case hex: names a set of trust
 * anchors. */
att_err att_certs_keys_id(STACK_OF(X509) * certs, char out[65]) ATT_WUR;

/* The latest notBefore and earliest notAfter of `chain`. */
att_err att_certs_window(STACK_OF(X509) * chain, int64_t *from, int64_t *until) ATT_WUR;

#endif
