/*
 * fetch.h - a client of the Intel PCS API v4 (Intel's service or a PCCS, which mirrors its
 * paths; docs/reference/intel-collateral.md §4.1): TCB info, QE identity, PCK CRLs and the Root CA
 * CRL, each with its signature and issuer chain, as raw items ready for the loaders of
 * src/evidence/intel/dcap.h.
 *
 * What this does not do: verify anything (signatures, chains, dates: the loaders do), parse the
 * documents' content, cache, retry or back off (src/collateral/service.c decides when to ask
 * again, from retry_after). Every fetch goes through att_https_get_ex, so https.h's rules hold:
 * https only, no redirects, TLS 1.2+, peer and host verified, short timeouts, capped sizes.
 *
 * Input: HTTP status, header lines and bodies from the network, untrusted. The response
 * handling is split from the transfer (att_pcs_response_parse and the helpers below) so it can
 * be tested without a network.
 */
#ifndef ATT_COLLATERAL_FETCH_H
#define ATT_COLLATERAL_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/rd.h"

#define ATT_PCS_DEFAULT_ROOT_CRL_URL                                                               \
    "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"
/* DER bytes of one CRL (Intel's are a few KiB; the store keeps up to 1 MiB). */
#define ATT_PCS_MAX_CRL ((size_t)1 << 20)
/* A CRL response: hex text doubles the DER, PEM adds a third plus line breaks. */
#define ATT_PCS_MAX_CRL_RESPONSE (2 * ATT_PCS_MAX_CRL + 4096)
/* Longest Retry-After honoured, in seconds (longer ones are cut to this). */
#define ATT_PCS_RETRY_AFTER_CAP 86400
/* Longest base or CRL URL. */
#define ATT_PCS_URL_MAX 1024

struct att_pcs_client {
    const char *base_url;     /* "https://api.trustedservices.intel.com" or a PCCS's; no path */
    const char *ca_file;      /* PEM trust anchors for TLS, NULL: the system's */
    const char *api_key;      /* sent as Ocp-Apim-Subscription-Key, NULL or "": none */
    const char *root_crl_url; /* NULL: ATT_PCS_DEFAULT_ROOT_CRL_URL */
    long timeout;             /* seconds per request; 0: ATT_HTTPS_TOTAL_TIMEOUT */
};

struct att_pcs_item {
    struct att_buf body;   /* CRL DER, or the signed document text cut out byte-exact */
    uint8_t signature[64]; /* r || s of a document */
    bool has_signature;
    struct att_buf issuer_chain; /* PEM, URL-decoded; empty for the Root CA CRL */
    int64_t retry_after;         /* seconds from a 429/503 Retry-After, else 0 */
};

void att_pcs_item_init(struct att_pcs_item *it);
/* Accepts NULL. */
void att_pcs_item_cleanup(struct att_pcs_item *it);

/*
 * The fetches. `out` must be initialised; its items are written only on ATT_OK, except
 * out->retry_after, which every fetch sets: the seconds of a 429 or 503 answer's Retry-After,
 * else 0.
 * `detail` (may be NULL) receives a one-line reason for logs (never the API key).
 * Errors: ATT_ERR_FETCH (connection, TLS, timeout, or an HTTP status other than 200 and 404),
 * ATT_ERR_NOT_FOUND (404: e.g. an FMSPC the service does not know), ATT_ERR_COLLATERAL_FORMAT
 * (a body or issuer-chain header that is malformed or missing), ATT_ERR_TOO_LARGE, ATT_ERR_ARG
 * (no base URL, not https).
 */

/* GET {base}/{sgx|tdx}/certification/v4/tcb?fmspc=<12 hex>; chain header TCB-Info-Issuer-Chain
 * (or the v3 name SGX-TCB-Info-Issuer-Chain). The body is the value of "tcbInfo". */
att_err att_pcs_fetch_tcb_info(const struct att_pcs_client *c, bool tdx, const uint8_t fmspc[6],
                               struct att_pcs_item *out, char *detail, size_t detail_len) ATT_WUR;
/* GET {base}/{sgx|tdx}/certification/v4/qe/identity; chain header
 * SGX-Enclave-Identity-Issuer-Chain. The body is the value of "enclaveIdentity". */
att_err att_pcs_fetch_qe_identity(const struct att_pcs_client *c, bool tdx,
                                  struct att_pcs_item *out, char *detail,
                                  size_t detail_len) ATT_WUR;
/* GET {base}/sgx/certification/v4/pckcrl?ca=processor|platform&encoding=der; chain header
 * SGX-PCK-CRL-Issuer-Chain. The body may come as DER, PEM or hex text; out->body is DER. */
att_err att_pcs_fetch_pck_crl(const struct att_pcs_client *c, bool platform,
                              struct att_pcs_item *out, char *detail, size_t detail_len) ATT_WUR;
/* GET the client's root_crl_url (DER, PEM or hex text); out->body is DER, no chain. */
att_err att_pcs_fetch_root_crl(const struct att_pcs_client *c, struct att_pcs_item *out,
                               char *detail, size_t detail_len) ATT_WUR;

/* ---- response handling (pure; the fetches use these) ---------------------------------- */

enum att_pcs_kind {
    ATT_PCS_TCB_INFO,
    ATT_PCS_QE_IDENTITY,
    ATT_PCS_PCK_CRL,
    ATT_PCS_ROOT_CRL,
};

/*
 * Turn one answer into an item: the status decides (200 goes on; 404 is ATT_ERR_NOT_FOUND;
 * 429 and 503 set out->retry_after from Retry-After, read at `now` (0 when absent or
 * unreadable), and are ATT_ERR_FETCH; any other status is ATT_ERR_FETCH), then the body and the
 * kind's issuer-chain header are checked and decoded. `headers` is the raw header block
 * (att_https_get_ex). `msg` (may be NULL) says what was wrong. Errors as for the fetches.
 */
att_err att_pcs_response_parse(enum att_pcs_kind kind, long status, const struct att_buf *body,
                               const struct att_buf *headers, int64_t now, struct att_pcs_item *out,
                               char *msg, size_t msg_len) ATT_WUR;

/*
 * The value of header `name` (ASCII, matched without regard to case) in a raw header block
 * ("HTTP/1.1 200 OK\r\nName: value\r\n...\r\n"; lines may end in LF alone), without leading
 * and trailing spaces and tabs. *value borrows from `headers`. ATT_ERR_NOT_FOUND when absent;
 * ATT_ERR_COLLATERAL_FORMAT when it appears twice or is continued on a folded line (RFC 9110
 * §5.5 obs-fold): either way its value would be ambiguous.
 */
att_err att_pcs_header_value(struct att_bytes headers, const char *name,
                             struct att_bytes *value) ATT_WUR;

/*
 * A Retry-After value (RFC 9110 §10.2.3: delta-seconds, or an HTTP-date in any of the three
 * forms of §5.6.7) as seconds to wait from `now`: 0 for a date in the past, at most
 * ATT_PCS_RETRY_AFTER_CAP. ATT_ERR_PARSE for anything else; *seconds is written only on ATT_OK.
 */
att_err att_pcs_retry_after(struct att_bytes value, int64_t now, int64_t *seconds) ATT_WUR;

/*
 * A CRL as the service sent it - DER, PEM ("-----BEGIN X509 CRL-----") or hex text (a PCCS),
 * with surrounding white space allowed for the text forms - appended to `der` as DER. The DER
 * must be one SEQUENCE with a definite, minimally encoded length that spans it exactly; the
 * CRL inside is not parsed here. On error `der` is left as it was. Errors:
 * ATT_ERR_COLLATERAL_FORMAT (msg says what), ATT_ERR_TOO_LARGE (over ATT_PCS_MAX_CRL), der's.
 */
att_err att_pcs_crl_der(struct att_bytes body, struct att_buf *der, char *msg,
                        size_t msg_len) ATT_WUR;

#endif
