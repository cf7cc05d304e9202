/*
 * pkix.h - the certificate and CRL pieces both test PKIs build with OpenSSL: the SGX/TDX one of
 * `attestctl demo` and the tests (src/demo/testpki.c) and the AMD one of the tests
 * (tests/unit/evidence/amd_testpki.c). Input: the builders' own values, trusted. Failures are
 * reported on stderr with OpenSSL's error queue (the callers are command-line tools and tests).
 */
#ifndef ATT_DEMO_PKIX_H
#define ATT_DEMO_PKIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "demo/wbuf.h"

/* "test PKI: WHAT failed" and OpenSSL's queued errors, on stderr. */
void att_pkix_fail(const char *what);

/* A name of `n` attributes keys[i] = vals[i] (UTF-8), in that order; NULL on failure. */
X509_NAME *att_pkix_name(const char *const *keys, const char *const *vals, size_t n);

/* `t` = `when` (seconds since the epoch): 0, or -1. */
int att_pkix_set_time(ASN1_TIME *t, int64_t when);

/* The extension `nid` = `value` (OpenSSL's configuration syntax) added to `x`: 0, or -1. */
int att_pkix_add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value);

/* `x` as PEM appended to `b` (marked bad on failure); whether it was. */
bool att_pkix_pem_append(struct att_wbuf *b, X509 *x);

/* certs[0..n) as one PEM text (malloc'd, NUL-terminated), NULL on failure. */
char *att_pkix_pem_of(X509 *const *certs, size_t n);

/*
 * A v2 CRL by `issuer`, not yet signed: thisUpdate and nextUpdate, the serials of revoked[0..n)
 * (revoked at `revoked_at`, sorted), then the authority key identifier and CRL number 1, as
 * Intel's and AMD's CRLs have them. NULL on failure.
 */
X509_CRL *att_pkix_crl_new(X509 *issuer, int64_t this_update, int64_t next_update,
                           X509 *const *revoked, size_t n_revoked, int64_t revoked_at);

#endif
