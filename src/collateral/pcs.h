/*
 * pcs.h - raw Intel PCS API v4 responses (docs/reference/intel-collateral.md §4.1, §4.4, §8.3):
 * cutting the signed body out of a TCB info or enclave identity response, and decoding the
 * issuer-chain header.
 *
 * Input: HTTP bodies and header values from a PCS or PCCS, untrusted. Nothing here fetches,
 * verifies a signature or parses the body's content (tcbinfo.h and qeidentity.h do).
 */
#ifndef ATT_COLLATERAL_PCS_H
#define ATT_COLLATERAL_PCS_H

#include <stddef.h>
#include <stdint.h>

#include "evidence/intel/tcbinfo.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/rd.h"

/* A response body: the signed object, its signature and a little framing. */
#define ATT_PCS_MAX_RESPONSE (ATT_COLLATERAL_MAX_DOC + 4096)
/* A decoded issuer chain (intermediate and root, about 2 KiB as PEM). */
#define ATT_PCS_MAX_CHAIN_PEM (16 * 1024)

/*
 * From a PCS response body {"tcbInfo":{...},"signature":"<128 hex>"} (or "enclaveIdentity"),
 * find the exact bytes of the value of top-level member `key`, from its '{' to the matching '}'
 * (docs/reference/intel-collateral.md §4.4: the signature covers those bytes; nothing is
 * re-serialised), and decode the signature into sig (r || s, 32 bytes each, big-endian).
 *
 * The whole text must be one JSON object (jansson, duplicate names refused) holding at least
 * `key` (an object) and "signature" (128 hex digits, either case); other members are ignored.
 * Top-level member names may not use escapes. *body is a view into `text` (borrowed: valid
 * while text is); body and sig are written only on success.
 *
 * Errors: ATT_ERR_COLLATERAL_FORMAT (msg says what), ATT_ERR_ENCODING (signature not hex),
 * ATT_ERR_TOO_LARGE (text over ATT_PCS_MAX_RESPONSE, body over ATT_COLLATERAL_MAX_DOC),
 * ATT_ERR_ARG.
 */
att_err att_pcs_signed_body(const char *text, size_t len, const char *key, struct att_bytes *body,
                            uint8_t sig[64], char *msg, size_t msg_len) ATT_WUR;

/*
 * Decode a percent-encoded issuer-chain header value ("TCB-Info-Issuer-Chain",
 * "SGX-Enclave-Identity-Issuer-Chain", "SGX-PCK-CRL-Issuer-Chain"; RFC 3986 §2.1 "%XX", either
 * case) and append the PEM text to `pem`. '+' stays '+' (base64 needs it; PCS encodes it as %2B
 * anyway). The result must be non-empty printable ASCII plus CR, LF and TAB, at most
 * ATT_PCS_MAX_CHAIN_PEM bytes; it is not parsed as PEM here. On error `pem` is left as it was.
 *
 * Errors: ATT_ERR_ENCODING (a bad escape, or a decoded byte that is not text), ATT_ERR_TOO_LARGE,
 * ATT_ERR_ARG, and pem's own errors (ATT_ERR_TOO_LARGE, ATT_ERR_NOMEM).
 */
att_err att_pcs_issuer_chain_decode(const char *hdr, size_t len, struct att_buf *pem) ATT_WUR;

#endif
