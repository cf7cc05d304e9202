/*
 * chain.h - certificate chains carried in JOSE "x5c" headers (RFC 7515 §4.1.6).
 *
 * Used for policy signers (docs/reference/maa-policy.md §4.1): a signed policy or signer change
 * carries its signing certificate, and optionally the certificates that issued it, in "x5c". The
 * trust decision (is the leaf a trusted signer?) is the caller's; this module checks the chain is
 * sound: every certificate within its validity, each one signed by the next, and the issuing
 * certificates, the root included, carrying CA basic constraints (MAA refuses a root without
 * them with 400 InvalidParameter).
 */
#ifndef ATT_X509_CHAIN_H
#define ATT_X509_CHAIN_H

#include <jansson.h>
#include <openssl/x509.h>
#include <stdint.h>

#include "core/err.h"

#define ATT_X5C_MAX_CERTS 8
#define ATT_X5C_MAX_CERT_BYTES (16 * 1024)

/*
 * Parse an "x5c" value: an array of 1..ATT_X5C_MAX_CERTS standard-base64 (padded, RFC 7515
 * §4.1.6) DER certificates, leaf first. Errors: ATT_ERR_JSON (not an array of strings, or
 * empty), ATT_ERR_TOO_LARGE, ATT_ERR_ENCODING, ATT_ERR_CERT_PARSE (not exactly one DER
 * certificate). *out is a new stack owned by the caller (sk_X509_pop_free(chain, X509_free)).
 */
att_err att_x5c_parse(const json_t *x5c, STACK_OF(X509) * *out) ATT_WUR;

/*
 * Check the chain at `now` (seconds since the epoch): ATT_ERR_CERT_EXPIRED /
 * ATT_ERR_CERT_NOT_YET_VALID for any certificate, ATT_ERR_CERT_CHAIN when certificate i is not
 * signed by certificate i+1 (or the last one is self-issued but not self-signed),
 * ATT_ERR_CERT_NOT_CA when certificate i+1, or the last one, has no basicConstraints CA:TRUE.
 * A single certificate is its own root: it must be a CA certificate.
 */
att_err att_x5c_check_chain(STACK_OF(X509) * chain, int64_t now) ATT_WUR;

/* Hex of the SHA-1 (40 upper-case characters, MAA's thumbprint) or SHA-256 (64 lower-case). */
att_err att_cert_sha1_hex(X509 *cert, char out[41]) ATT_WUR;
att_err att_cert_sha256_hex(X509 *cert, char out[65]) ATT_WUR;

/* The DER of `cert` as standard base64 (an "x5c" entry), appended to `out`. */
struct att_buf;
att_err att_cert_b64(X509 *cert, struct att_buf *out) ATT_WUR;

#endif
