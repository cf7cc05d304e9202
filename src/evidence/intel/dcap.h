/*
 * dcap.h - Intel DCAP collateral, parsed and verified once, then shared.
 *
 * Each item (Root CA CRL, PCK CRL, TCB info, QE identity, the PCK chain of a quote) is loaded
 * once: its certificates are chained to a trust anchor and its signature is checked. What
 * depends on the time (validity windows, nextUpdate, revocation by the current CRLs) is left
 * to att_intel_quote_verify, so a loaded item can be cached by content hash and reused until its
 * own nextUpdate (docs/internals/design.md, performance model). Items are immutable and
 * reference-counted: any thread may use one it holds a reference to.
 *
 * Trust anchors are root *keys* (docs/reference/intel-quotes.md §8.1): a chain is accepted when its
 * CA certificate is signed by an anchor's key and names the anchor's subject, whatever root
 * certificate copy the chain itself carries.
 */
#ifndef ATT_EVIDENCE_INTEL_DCAP_H
#define ATT_EVIDENCE_INTEL_DCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "evidence/intel/qeidentity.h"
#include "evidence/intel/tcbinfo.h"
#include "core/err.h"
#include "evidence/intel/pck.h"

#define ATT_DCAP_MAX_CHAIN_PEM (16 * 1024) /* a PEM chain of three certificates is ~3 KiB */
#define ATT_DCAP_MAX_CRL (1024 * 1024)
#define ATT_DCAP_MAX_ANCHORS 8

/* ---- trust anchors -------------------------------------------------------------------- */

struct att_dcap_trust;

/*
 * Trust anchors from PEM text holding 1..ATT_DCAP_MAX_ANCHORS self-signed CA certificates
 * (the Intel SGX Root CA by default). Errors: ATT_ERR_CERT_PARSE, ATT_ERR_CERT_NOT_CA,
 * ATT_ERR_TOO_LARGE.
 */
att_err att_dcap_trust_from_pem(const char *pem, size_t len, struct att_dcap_trust **out, char *msg,
                                size_t msg_len) ATT_WUR;
void att_dcap_trust_free(struct att_dcap_trust *t);
/* SHA-256 over the anchors' public keys, hex: names a trust configuration in cache keys. */
const char *att_dcap_trust_id(const struct att_dcap_trust *t);

/* ---- verified items ------------------------------------------------------------------- */

enum att_dcap_kind {
    ATT_DCAP_ROOT_CRL,
    ATT_DCAP_PCK_CRL,
    ATT_DCAP_TCB_INFO,
    ATT_DCAP_QE_IDENTITY,
    ATT_DCAP_PCK_CHAIN,
};

struct att_dcap_item {
    enum att_dcap_kind kind;
    int refs; /* atomic; see att_dcap_item_ref */
    /* SHA-256 of the item's content: CRL DER, signed document text, or the quote's PEM chain */
    uint8_t hash[32];
    /* SHA-256 of the issuer chain PEM as given (TCB info, QE identity, PCK CRL) */
    uint8_t chain_hash[32];
    /* validity: the document's issueDate/thisUpdate .. nextUpdate, and the certificates' */
    int64_t issued;         /* issueDate / thisUpdate */
    int64_t next_update;    /* nextUpdate (a provider's grace period may extend it) */
    int64_t certs_from;     /* latest notBefore of the certificates involved */
    int64_t certs_until;    /* earliest notAfter of the certificates involved (no grace) */
    STACK_OF(X509) * chain; /* leaf first, ending in the trust anchor (not the carried root) */
    X509_CRL *crl;          /* ATT_DCAP_ROOT_CRL, ATT_DCAP_PCK_CRL */
    struct att_tcb_info *tcb_info;
    struct att_qe_identity *qe_identity;
    struct att_pck_info pck; /* ATT_DCAP_PCK_CHAIN */
    bool pck_platform_ca;    /* PCK chain, PCK CRL: Platform CA (else Processor CA) */
    EVP_PKEY *pck_key;       /* ATT_DCAP_PCK_CHAIN: the leaf's key (borrowed from chain) */
};

/*
 * Loaders. Each parses, builds the chain to an anchor and checks signatures; none reads the
 * clock. Errors name the item in `msg`:
 *   root CRL:    ATT_ERR_ROOT_CRL_INVALID (not DER, or not signed by an anchor)
 *   PCK CRL:     ATT_ERR_PCK_CHAIN (issuer chain), ATT_ERR_PCK_CRL_INVALID
 *   TCB info:    ATT_ERR_TCB_SIGNING_CHAIN, ATT_ERR_TCB_INFO_SIGNATURE, ATT_ERR_COLLATERAL_FORMAT,
 *                ATT_ERR_TCB_STATUS_UNKNOWN
 *   QE identity: ATT_ERR_TCB_SIGNING_CHAIN, ATT_ERR_QE_IDENTITY_SIGNATURE,
 * ATT_ERR_COLLATERAL_FORMAT PCK chain:   ATT_ERR_PCK_CHAIN, ATT_ERR_ROOT_UNTRUSTED,
 * ATT_ERR_PCK_EXTENSION plus ATT_ERR_TOO_LARGE and ATT_ERR_NOMEM. *out holds one reference.
 */
att_err att_dcap_root_crl_load(const struct att_dcap_trust *t, const uint8_t *der, size_t len,
                               struct att_dcap_item **out, char *msg, size_t msg_len) ATT_WUR;
att_err att_dcap_pck_crl_load(const struct att_dcap_trust *t, const uint8_t *der, size_t len,
                              const char *chain_pem, size_t pem_len, struct att_dcap_item **out,
                              char *msg, size_t msg_len) ATT_WUR;
att_err att_dcap_tcb_info_load(const struct att_dcap_trust *t, const char *text, size_t len,
                               const uint8_t sig[64], const char *chain_pem, size_t pem_len,
                               struct att_dcap_item **out, char *msg, size_t msg_len) ATT_WUR;
att_err att_dcap_qe_identity_load(const struct att_dcap_trust *t, const char *text, size_t len,
                                  const uint8_t sig[64], const char *chain_pem, size_t pem_len,
                                  struct att_dcap_item **out, char *msg, size_t msg_len) ATT_WUR;
att_err att_dcap_pck_chain_load(const struct att_dcap_trust *t, const uint8_t *pem, size_t len,
                                struct att_dcap_item **out, char *msg, size_t msg_len) ATT_WUR;

/* Whether two loaded items chain to the same trust anchor. Anchors are root keys, so two
 * copies of one root certificate count as one. */
bool att_dcap_same_anchor(const struct att_dcap_item *a, const struct att_dcap_item *b);

struct att_dcap_item *att_dcap_item_ref(struct att_dcap_item *it);
void att_dcap_item_unref(struct att_dcap_item *it); /* accepts NULL */

/* "Root CA CRL", "PCK CRL", "TCB info", "QE identity", "PCK certificate chain" */
const char *att_dcap_kind_name(enum att_dcap_kind k);

#endif
