/*
 * bundle.h - an offline Intel collateral bundle: one JSON object in the layout of dcap-qvl's
 * QuoteCollateralV3 (tests/fixtures/dcap/README.md):
 *
 *   pck_crl_issuer_chain      PEM text          tcb_info                 signed text of tcbInfo
 *   root_ca_crl               hex DER (or PEM)  tcb_info_signature       128 hex (r || s)
 *   pck_crl                   hex DER (or PEM)  qe_identity_issuer_chain PEM text
 *   tcb_info_issuer_chain     PEM text          qe_identity              signed text of
 *                                                                         enclaveIdentity
 *                                               qe_identity_signature    128 hex (r || s)
 *
 * Input: a file an operator imports (`attestctl collateral import`), untrusted: every item is
 * verified later by src/evidence/intel/dcap.c. This module only frames: it checks types, sizes and
 * encodings, never certificates, CRL contents, signatures or the signed documents' content.
 */
#ifndef ATT_COLLATERAL_BUNDLE_H
#define ATT_COLLATERAL_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define ATT_BUNDLE_MAX_CHAIN_PEM (16 * 1024) /* each issuer chain, PEM text */
#define ATT_BUNDLE_MAX_CRL (1024 * 1024)     /* each CRL, DER bytes */
/* The whole JSON text: two CRLs as hex, two documents and three chains (each escaped as JSON
 * strings may be, up to 6 bytes a character), framing: room for anything this module writes. */
#define ATT_BUNDLE_MAX_JSON ((size_t)8 << 20)

struct att_dcap_bundle {
    struct att_buf pck_crl_issuer_chain;     /* PEM text */
    struct att_buf root_ca_crl;              /* DER (hex in the file) */
    struct att_buf pck_crl;                  /* DER (hex in the file) */
    struct att_buf tcb_info_issuer_chain;    /* PEM */
    struct att_buf tcb_info;                 /* exact signed text */
    uint8_t tcb_info_signature[64];          /* r || s */
    struct att_buf qe_identity_issuer_chain; /* PEM */
    struct att_buf qe_identity;              /* exact signed text */
    uint8_t qe_identity_signature[64];       /* r || s */
};

/*
 * Parse a bundle. Strict: one JSON object (duplicate names refused, at most ATT_BUNDLE_MAX_JSON
 * bytes) with all nine members present as non-empty strings; unknown members are ignored.
 * Chains are kept as given (at most ATT_BUNDLE_MAX_CHAIN_PEM bytes); the signed documents are
 * kept as the exact string value (at most ATT_COLLATERAL_MAX_DOC bytes); signatures are exactly
 * 128 hex digits (either case); CRLs are hex DER (no "0x" prefix; at most ATT_BUNDLE_MAX_CRL
 * bytes decoded) or, as some upstream bundles have them, one PEM "X509 CRL" block (converted to
 * its DER bytes; only whitespace may follow it).
 *
 * `out` is caller storage, initialised and filled only on success (then
 * att_dcap_bundle_cleanup it); on failure it is not touched (cleaning up an all-zero bundle is
 * a no-op, so zero it first to clean up unconditionally). Errors: ATT_ERR_COLLATERAL_FORMAT (msg
 * names the member), ATT_ERR_ENCODING (bad hex or PEM), ATT_ERR_TOO_LARGE, ATT_ERR_ARG,
 * ATT_ERR_NOMEM.
 */
att_err att_dcap_bundle_parse(const char *json, size_t len, struct att_dcap_bundle *out, char *msg,
                              size_t msg_len) ATT_WUR;
/* Release the buffers (public data: no wiping). Accepts NULL; idempotent. */
void att_dcap_bundle_cleanup(struct att_dcap_bundle *b);

/*
 * Write `b` as bundle JSON (the layout above, members in that order, CRLs and signatures as
 * lowercase hex) appended to `out`; att_dcap_bundle_parse reads it back to equal buffers.
 * Errors: ATT_ERR_ENCODING (a text member is not valid UTF-8), out's errors (ATT_ERR_TOO_LARGE,
 * ATT_ERR_NOMEM), ATT_ERR_ARG. On error `out` keeps its former contents (and any sticky error).
 */
att_err att_dcap_bundle_to_json(const struct att_dcap_bundle *b, struct att_buf *out) ATT_WUR;

#endif
