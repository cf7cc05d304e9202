/*
 * kds.h - a client of AMD's Key Distribution Service (KDS; docs/reference/amd-sev-snp.md §6.7,
 * AMD publication 57230): the VCEK of a chip at a TCB, the ASK or ASVK with the ARK
 * (cert_chain), and the CRL of the VCEK or VLEK chain, for Milan, Genoa and Turin.
 *
 * What this does not do: parse or verify certificates and CRLs (the SEV-SNP verifier does,
 * against the pinned ARK, before anything fetched is used or stored), decode TCB_VERSION (the
 * caller passes the SPL numbers, from REPORTED_TCB in the layout of its product: §6.4), cache,
 * retry or back off (the caller decides when to ask again, from retry_after). Every fetch goes
 * through att_https_get_ex, so https.h's rules hold: https only, no redirects, TLS 1.2+, peer
 * and host verified, short timeouts, capped sizes.
 *
 * Input: HTTP status, header lines and bodies from the network, untrusted. The answer handling
 * (att_kds_response_parse) and the URLs (att_kds_vcek_url, att_kds_ca_url) are pure functions,
 * split from the transfer so they can be tested without a network.
 */
#ifndef ATT_COLLATERAL_KDS_H
#define ATT_COLLATERAL_KDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define ATT_KDS_DEFAULT_BASE_URL "https://kdsintf.amd.com"
/* A VCEK is about 1.3 KiB of DER. */
#define ATT_KDS_MAX_VCEK ((size_t)8 << 10)
/* Two RSA-4096 certificates as PEM are about 4.6 KiB. */
#define ATT_KDS_MAX_CHAIN ((size_t)16 << 10)
/* A CRL answer (AMD's are about 1 KiB with no entries). */
#define ATT_KDS_MAX_CRL ((size_t)256 << 10)
/* Seconds to wait after a 429 that names no readable Retry-After (§6.7: the KDS throttles
 * clients, and its throttle has been seen to outlast two minutes). */
#define ATT_KDS_RETRY_AFTER_DEFAULT 60
/* Longest base URL. */
#define ATT_KDS_URL_MAX 1024
/* Bytes of the hardware ID: CHIP_ID on Milan and Genoa, its first 8 bytes on Turin. */
#define ATT_KDS_HWID_LEN 64
#define ATT_KDS_HWID_LEN_TURIN 8

struct att_kds_client {
    const char *base_url; /* "https://kdsintf.amd.com" or a mirror's, no path; NULL or "": that */
    const char *ca_file;  /* PEM trust anchors for TLS, NULL: the system's */
    long timeout;         /* seconds per request; 0: ATT_HTTPS_TOTAL_TIMEOUT */
};

/*
 * The security patch levels of a VCEK request (§6.4), decoded from REPORTED_TCB by the caller.
 * fmc is sent for Turin only (the other products have no such field).
 */
struct att_kds_tcb {
    uint8_t fmc;
    uint8_t bl;
    uint8_t tee;
    uint8_t snp;
    uint8_t ucode;
};

enum att_kds_kind {
    ATT_KDS_VCEK,       /* DER certificate */
    ATT_KDS_CERT_CHAIN, /* PEM: ASK (or ASVK) then ARK */
    ATT_KDS_CRL,        /* DER CRL signed by the ARK */
};

struct att_kds_item {
    struct att_buf body; /* VCEK DER, chain PEM text or CRL DER, as checked below */
    int64_t retry_after; /* seconds from a 429 or 503 answer, else 0 */
};

void att_kds_item_init(struct att_kds_item *it);
/* Accepts NULL. */
void att_kds_item_cleanup(struct att_kds_item *it);

/*
 * Is `product` one of "Milan", "Genoa", "Turin" (as the KDS spells them)? The hardware ID
 * length of a known product (ATT_KDS_HWID_LEN or ATT_KDS_HWID_LEN_TURIN), 0 for any other.
 */
bool att_kds_product_known(const char *product);
size_t att_kds_hwid_len(const char *product);

/* ---- URLs (pure) ------------------------------------------------------------------------- */

/*
 * Append to `url` {base}/vcek/v1/{product}/{hwid}?blSPL=B&teeSPL=T&snpSPL=S&ucodeSPL=U, with
 * &fmcSPL=F on Turin (§6.7): hwid in lower-case hex, the SPLs in decimal. `base` NULL or "" is
 * ATT_KDS_DEFAULT_BASE_URL; trailing slashes on it are dropped. hwid_len must be
 * att_kds_hwid_len(product): all of CHIP_ID on Milan and Genoa, its first 8 bytes on Turin.
 * Errors (url left as it was): ATT_ERR_ARG (an unknown product, a hwid of the wrong length or
 * all zero - a masked CHIP_ID, which the KDS cannot know - a base that is not https or longer
 * than ATT_KDS_URL_MAX), url's own errors.
 */
att_err att_kds_vcek_url(const char *base, const char *product, const uint8_t *hwid,
                         size_t hwid_len, const struct att_kds_tcb *tcb,
                         struct att_buf *url) ATT_WUR;

/*
 * Append to `url` {base}/{vcek|vlek}/v1/{product}/{cert_chain|crl}: `kind` is ATT_KDS_CERT_CHAIN
 * or ATT_KDS_CRL, `vlek` picks the VLEK chain (ASVK, its CRL). Errors as above.
 */
att_err att_kds_ca_url(const char *base, const char *product, bool vlek, enum att_kds_kind kind,
                       struct att_buf *url) ATT_WUR;

/* ---- answers (pure) ---------------------------------------------------------------------- */

/*
 * Turn one answer into an item. The status decides first: 200 goes on; 404 is
 * ATT_ERR_NOT_FOUND (an unknown chip or TCB; the KDS has also answered 404 for a while when
 * something went wrong on its side, §6.7); 429 and 503 set out->retry_after from Retry-After
 * (att_pcs_retry_after, read at `now`, capped at ATT_PCS_RETRY_AFTER_CAP) and are
 * ATT_ERR_FETCH; any other status is ATT_ERR_FETCH and leaves out->retry_after alone. The KDS
 * answers 429 to a client that asks too often (§6.7), so a 429 without a readable Retry-After
 * still sets ATT_KDS_RETRY_AFTER_DEFAULT; a 503 without one sets 0 (the caller's own backoff).
 * Then the body, whose framing only is checked (nothing is parsed as a certificate or CRL):
 *   ATT_KDS_VCEK: one DER SEQUENCE, definite and minimal length, spanning the body exactly, at
 *     most ATT_KDS_MAX_VCEK bytes.
 *   ATT_KDS_CERT_CHAIN: at most ATT_KDS_MAX_CHAIN bytes of printable ASCII, TAB, CR and LF,
 *     holding at least one "-----BEGIN CERTIFICATE-----" ... "-----END CERTIFICATE-----"
 *     block, and no block of another label or without its end line.
 *   ATT_KDS_CRL: at most ATT_KDS_MAX_CRL bytes, then att_pcs_crl_der (DER, or PEM): out->body
 *     is the DER.
 * `headers` is the raw header block (att_https_get_ex), may be NULL. out->body is written only
 * on ATT_OK. `msg` (may be NULL) says what was wrong, in one line.
 * Errors: ATT_ERR_NOT_FOUND, ATT_ERR_FETCH, ATT_ERR_COLLATERAL_FORMAT (a malformed body),
 * ATT_ERR_TOO_LARGE (a body over its cap), ATT_ERR_ARG.
 */
att_err att_kds_response_parse(enum att_kds_kind kind, long status, const struct att_buf *body,
                               const struct att_buf *headers, int64_t now, struct att_kds_item *out,
                               char *msg, size_t msg_len) ATT_WUR;

/* ---- fetches ----------------------------------------------------------------------------- */

/*
 * GET the URL built as above and handle the answer with att_kds_response_parse. `out` must be
 * initialised; out->body is written only on ATT_OK, out->retry_after by every fetch (0 unless
 * a 429 or 503 said otherwise). `detail` (may be NULL) receives a one-line reason for logs,
 * with the URL. Errors: those of the URL builders and of att_kds_response_parse, and
 * ATT_ERR_FETCH for connection, TLS and timeout failures, ATT_ERR_TOO_LARGE for a body over the
 * kind's cap (the transfer stops there).
 */
att_err att_kds_fetch_vcek(const struct att_kds_client *c, const char *product, const uint8_t *hwid,
                           size_t hwid_len, const struct att_kds_tcb *tcb, struct att_kds_item *out,
                           char *detail, size_t detail_len) ATT_WUR;
/* GET {base}/{vcek|vlek}/v1/{product}/cert_chain: PEM, ASK (ASVK for the VLEK chain) then ARK. */
att_err att_kds_fetch_cert_chain(const struct att_kds_client *c, const char *product, bool vlek,
                                 struct att_kds_item *out, char *detail, size_t detail_len) ATT_WUR;
/* GET {base}/{vcek|vlek}/v1/{product}/crl: the ARK's CRL; out->body is DER. */
att_err att_kds_fetch_crl(const struct att_kds_client *c, const char *product, bool vlek,
                          struct att_kds_item *out, char *detail, size_t detail_len) ATT_WUR;

#endif
