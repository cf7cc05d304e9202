/*
 * tpm.h - TPM 2.0 attestation on the evidence interface (src/evidence/evidence.h): the quote of
 * a TPM's attestation key, the key's certificate, the PCR values and the event log that explains
 * them (docs/attestation.md "TPM"; formats in docs/reference/tpm.md).
 *
 * att_evidence_tpm_quote serves POST /attest/TpmQuote, attestd's JSON form for Linux agents:
 *
 *   {"quote": b64url(TPMS_ATTEST), "signature": b64url(TPMT_SIGNATURE),
 *    "akPublic": b64url(TPMT_PUBLIC or TPM2B_PUBLIC) | "akJwk": JWK (no attributes to check),
 *    "akCertificate": b64url(DER)?, "akCertificateChain": [b64url(DER)]?,
 *    "pcrs": {"sha256": {"0": hex, ...}, ...}, "eventLog": b64url(TCG log)?,
 *    "challenge": string? | "nonce": hex?, "runtimeData": {...}?}
 *
 * Freshness: the quote's extraData must be the nonce of a challenge this node issued for the
 * provider (POST /attest/TpmQuote:challenge), or the caller's own `nonce` (hex; echoed in the
 * token for the relying party to check); with runtimeData, SHA-256(nonce || runtime data).
 */
#ifndef ATT_EVIDENCE_TPM_TPM_H
#define ATT_EVIDENCE_TPM_TPM_H

#include <openssl/x509.h>

#include "attest/challenge.h"
#include "evidence/evidence.h"

/* What TPM attestation takes from the node. */
struct att_tpm_source {
    STACK_OF(X509) * ak_roots;           /* CAs whose AK certificates validate (NULL: none) */
    struct att_challenges *challenges;   /* NULL: no challenges are served */
    struct att_tpm_cert_memo *cert_memo; /* AK certificates validated (memo.h; NULL: none kept) */
};

/* The purpose a TpmQuote challenge is sealed for (src/attest/challenge.h). */
#define ATT_TPM_CHALLENGE_PURPOSE "TpmQuote"

extern const struct att_evidence_type att_evidence_tpm_quote;

/* Record the challenge of a TpmQuote state as used (its appraised step does this once the policy
 * accepted; a type built on TpmQuote without that step calls it itself). ATT_ERR_CHALLENGE_USED,
 * ATT_ERR_REPLAY_CACHE_FULL; ATT_OK when the quote answered no challenge. */
att_err att_tpm_quote_use_challenge(void *tpm_state, char *msg, size_t msg_len) ATT_WUR;

#endif
