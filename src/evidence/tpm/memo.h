/*
 * memo.h - TPM verification results that are pure functions of their input bytes, kept so an
 * AK seen again does not pay for them twice (as src/evidence/intel/memo.h does for SGX):
 *
 *   AK keys: the OpenSSL key and aikPubHash made from a public area, by the SHA-256 of the
 *   area's bytes (process-wide: nothing but those bytes decides them);
 *   AK certificates: "this certificate and chain certify this AK and chain to the roots", by
 *   the SHA-256 of the AK's aikPubHash and every certificate's bytes, with the window in which
 *   the whole path is valid. Per source (struct att_tpm_source), since the roots decide it.
 *
 * Only successes are kept, so a hit is the same computation on the same bytes and cannot
 * change an answer; a certificate hit counts only inside its window. Tables are small and
 * direct-mapped (a collision replaces the older entry); every function is thread-safe. What no
 * memo may skip - the quote's signature, its nonce, the PCRs and the log - stays in tpm.c.
 */
#ifndef ATT_EVIDENCE_TPM_MEMO_H
#define ATT_EVIDENCE_TPM_MEMO_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>

/* The key and aikPubHash (base64, 44 characters) of the area whose SHA-256 is `area_hash`:
 * true on a hit, *pkey then holding a reference (EVP_PKEY_free it). */
bool att_tpm_memo_ak_get(const uint8_t area_hash[32], EVP_PKEY **pkey, char pub_hash[45]);
/* Remember a key made from an area that passed every check (a reference is taken). */
void att_tpm_memo_ak_put(const uint8_t area_hash[32], EVP_PKEY *pkey, const char pub_hash[45]);

struct att_tpm_cert_memo;

/* NULL when out of memory (the source then memoizes nothing). */
struct att_tpm_cert_memo *att_tpm_cert_memo_new(void);
void att_tpm_cert_memo_free(struct att_tpm_cert_memo *m);
/* True when `key` validated before and `now` lies in its window. `m` may be NULL (a miss). */
bool att_tpm_cert_memo_valid(struct att_tpm_cert_memo *m, const uint8_t key[32], int64_t now);
/* Remember a validation whose path is valid from `from` to `until` (Unix seconds). */
void att_tpm_cert_memo_add(struct att_tpm_cert_memo *m, const uint8_t key[32], int64_t from,
                           int64_t until);

#endif
