/*
 * memo.h - results of verification steps that are pure functions of their input bytes, kept so
 * a quote seen again does not pay for them twice (docs/internals/design.md, performance model):
 *
 *   the QE report signature: a hit means this PCK chain (by the SHA-256 of its PEM, which names
 *   its leaf key), this QE report and this signature verified before;
 *   the attestation key: the EVP_PKEY made from the quote's raw x || y.
 *
 * Keys are SHA-256 over every input byte (or the bytes themselves), so a hit is the same
 * computation on the same bytes and cannot change an answer; only successes are kept. Tables
 * are small and direct-mapped (a collision replaces the older entry); all functions are
 * thread-safe. What no memo may skip - the quote signature, the dates, the revocation and TCB
 * checks - stays in verify.c.
 */
#ifndef ATT_EVIDENCE_INTEL_MEMO_H
#define ATT_EVIDENCE_INTEL_MEMO_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "core/err.h"

/* True when the QE report step succeeded before on exactly these bytes. */
bool att_memo_qe_report_known(const uint8_t pck_hash[32], const uint8_t *report, size_t report_len,
                              const uint8_t sig[64], uint8_t key_out[32]);
/* Record a success (key from att_memo_qe_report_known). */
void att_memo_qe_report_add(const uint8_t key[32]);

/* The P-256 key of raw x || y, from the memo or made (att_p256_key_from_xy); *out holds a
 * reference (EVP_PKEY_free it). Errors: att_p256_key_from_xy's. */
att_err att_memo_attestation_key(const uint8_t xy[64], EVP_PKEY **out) ATT_WUR;

#endif
