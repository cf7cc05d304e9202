/*
 * selfsigned.h - self-signed certificates for token signing keys.
 *
 * MAA publishes each token signing key as a self-signed certificate whose
 * subject names the instance URL (docs/reference/maa-api.md §1.4); relying parties read the
 * public key from x5c[0] of /certs.
 */
#ifndef ATT_X509_SELFSIGNED_H
#define ATT_X509_SELFSIGNED_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

/*
 * Make a self-signed X.509 v3 certificate for `key` with subject and issuer
 * CN = `subject_cn` (e.g. the issuer URL), valid from `not_before` for
 * `days` days, random 16-byte serial, basicConstraints CA:FALSE,
 * keyUsage digitalSignature. The DER is appended to `der`.
 * `subject_cn` is 1..511 printable ASCII characters. X.509 bounds a CN at
 * 64 characters (RFC 5280 ub-common-name), so a longer subject is cut to
 * its first 64 in the CN; a subject starting "http://" or "https://" is
 * also put whole in a subjectAltName URI. `days` is 1..36600.
 */
att_err att_x509_self_signed(EVP_PKEY *key, const char *subject_cn, int64_t not_before, int days,
                             struct att_buf *der) ATT_WUR;

/* Signs `tbs` (SHA-256 inside) and appends the signature as X.509 carries it: the DER
 * ECDSA-Sig-Value for ECDSA, the RSASSA-PKCS1-v1_5 bytes for RSA. */
typedef att_err (*att_x509_sign_fn)(void *arg, const uint8_t *tbs, size_t len, struct att_buf *sig);

/*
 * The same certificate for public key `pub`, signed by `sign` with the private half held
 * elsewhere (a PKCS#11 token). The result is checked: it parses and verifies with `pub`.
 */
att_err att_x509_self_signed_by(EVP_PKEY *pub, const char *subject_cn, int64_t not_before, int days,
                                att_x509_sign_fn sign, void *arg, struct att_buf *der) ATT_WUR;

/*
 * A TLS server's certificate and request (attestctl init, docs/operations.md "Preparing a data
 * directory"). names[0..n) are its DNS names and IP addresses (1 to ATT_X509_SERVER_NAMES_MAX,
 * each passing att_x509_server_name_check); names[0] is also the subject's CN. Both carry
 * basicConstraints cA FALSE and keyUsage digitalSignature (critical), extKeyUsage serverAuth
 * and a subjectAltName with a dNSName or iPAddress per name (RFC 5280 §4.2.1.6), and are
 * signed with SHA-256.
 */
#define ATT_X509_SERVER_NAMES_MAX 32

/* Whether `name` is an IPv4 or IPv6 address (*is_ip) or a DNS name (a host name of RFC 1123
 * §2.1, "*." first allowed); ATT_ERR_ARG for anything else. */
att_err att_x509_server_name_check(const char *name, bool *is_ip) ATT_WUR;

/* A self-signed certificate for `key`, valid from not_before for `days` days (1..36600), with
 * a random 16-byte serial and a subjectKeyIdentifier; its DER is appended to der. */
att_err att_x509_server_self_signed(EVP_PKEY *key, const char *const *names, size_t n,
                                    int64_t not_before, int days, struct att_buf *der) ATT_WUR;

/* A certification request (RFC 2986, version 0) for `key`, signed by it, the extensions in
 * its extensionRequest attribute (RFC 2985 §5.4.2); its DER is appended to der. */
att_err att_x509_server_request(EVP_PKEY *key, const char *const *names, size_t n,
                                struct att_buf *der) ATT_WUR;

#endif
