/*
 * tpm2.h - TPM 2.0 quotes: the attestation structure a TPM signs (TPMS_ATTEST), its signature
 * (TPMT_SIGNATURE), the attestation key's public area (TPMT_PUBLIC) and the PCR values a quote
 * covers. The wire structures are decoded by tpm2-tss's marshalling library (libtss2-mu), which
 * bounds every read; this file checks what the library does not (magic, quote type, exact
 * length, PCR range, key attributes) and verifies.
 *
 * Reference: TPM 2.0 Library Part 2 "Structures" (TCG), clauses 10.12 (TPMS_ATTEST), 11.3
 * (TPMT_SIGNATURE), 12.2 (TPMT_PUBLIC), 8.3 (TPMA_OBJECT); docs/reference/tpm.md.
 *
 * Verifying a quote (docs/reference/tpm.md "Verifying a quote"):
 *   1. att_tpm_quote_parse       magic TPM_GENERATED_VALUE, type TPM_ST_ATTEST_QUOTE
 *   2. att_tpm_quote_verify      the signature over the raw TPMS_ATTEST bytes with the AK
 *   3. att_tpm_quote_check_nonce extraData against the expected nonce
 *   4. att_tpm_quote_check_pcrs  the PCR values against pcrDigest (signing hash)
 * Trust in the AK itself comes from elsewhere (an AK certificate, a hardware report).
 */
#ifndef ATT_EVIDENCE_TPM_TPM2_H
#define ATT_EVIDENCE_TPM_TPM2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "core/err.h"
#include "core/rd.h"

/* TPM 2.0 Part 2 §6.3 (TPM_ALG_ID). */
#define ATT_TPM_ALG_RSA 0x0001
#define ATT_TPM_ALG_SHA1 0x0004
#define ATT_TPM_ALG_SHA256 0x000B
#define ATT_TPM_ALG_SHA384 0x000C
#define ATT_TPM_ALG_SHA512 0x000D
#define ATT_TPM_ALG_NULL 0x0010
#define ATT_TPM_ALG_RSASSA 0x0014
#define ATT_TPM_ALG_RSAPSS 0x0016
#define ATT_TPM_ALG_ECDSA 0x0018
#define ATT_TPM_ALG_ECC 0x0023

/* PC Client TPMs have 24 PCRs (PC Client Platform TPM Profile §4.6); quotes may select no
 * others. */
#define ATT_TPM_PCRS 24
/* Banks attestd knows: SHA-1, SHA-256, SHA-384, SHA-512. */
#define ATT_TPM_BANKS 4
#define ATT_TPM_DIGEST_MAX 64
/* TPML_PCR_SELECTION holds at most one entry per bank the TPM has (tss2 caps it at 16). */
#define ATT_TPM_MAX_SELECTIONS 16

/* The bank index of a hash algorithm (0..ATT_TPM_BANKS-1), or -1 when attestd has no such bank. */
int att_tpm_bank_of(uint16_t alg);
/* The digest size of a hash algorithm, 0 when unknown. */
size_t att_tpm_digest_size(uint16_t alg);
/* "SHA1", "SHA256", "SHA384", "SHA512" (MAA's bank names); "unknown" otherwise. */
const char *att_tpm_alg_name(uint16_t alg);
/* The OpenSSL digest of a hash algorithm (fetched once), NULL when unknown. */
const EVP_MD *att_tpm_md(uint16_t alg);

/* PCR values, per bank: the values a client claims, checked against a quote. */
struct att_tpm_bank {
    uint32_t have; /* bit i: value[i] is set */
    uint8_t value[ATT_TPM_PCRS][ATT_TPM_DIGEST_MAX];
};
struct att_tpm_pcrs {
    struct att_tpm_bank bank[ATT_TPM_BANKS]; /* indexed by att_tpm_bank_of */
};

/* Set PCR `index` of bank `alg` from `value` (exactly the bank's digest size). */
att_err att_tpm_pcrs_set(struct att_tpm_pcrs *p, uint16_t alg, uint32_t index,
                         struct att_bytes value, char *msg, size_t msg_len) ATT_WUR;

struct att_tpm_pcr_selection {
    uint16_t alg;
    uint32_t mask; /* bit i selects PCR i (0..23) */
};

/* A parsed TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE. Copies; `raw` borrows the input. */
struct att_tpm_quote {
    struct att_bytes raw; /* the signed bytes */
    uint8_t signer_name[68];
    size_t signer_name_len;
    uint8_t extra[66]; /* extraData: the verifier's nonce (TPM2B_DATA, at most a TPMT_HA) */
    size_t extra_len;
    uint64_t clock;
    uint32_t reset_count;
    uint32_t restart_count;
    bool safe;
    uint64_t firmware_version;
    size_t nsel;
    struct att_tpm_pcr_selection sel[ATT_TPM_MAX_SELECTIONS];
    uint8_t pcr_digest[ATT_TPM_DIGEST_MAX];
    size_t pcr_digest_len;
};

/* ATT_ERR_TPM_FORMAT (malformed, trailing bytes, a PCR above 23), ATT_ERR_TPM_NOT_QUOTE. */
att_err att_tpm_quote_parse(struct att_bytes in, struct att_tpm_quote *q, char *msg,
                            size_t msg_len) ATT_WUR;

/* A parsed TPMT_SIGNATURE: the scheme, its hash, and the signature as the verifier wants it
 * (RSA: the signature octets; ECDSA: a DER ECDSA-Sig-Value). */
struct att_tpm_signature {
    uint16_t scheme; /* ATT_TPM_ALG_RSASSA, _RSAPSS or _ECDSA */
    uint16_t hash;
    uint8_t sig[512];
    size_t sig_len;
};

/* ATT_ERR_TPM_FORMAT, ATT_ERR_TPM_SIG_SCHEME (another scheme, or a hash attestd does not know). */
att_err att_tpm_signature_parse(struct att_bytes in, struct att_tpm_signature *s, char *msg,
                                size_t msg_len) ATT_WUR;

/* TPMA_OBJECT bits (Part 2 §8.3.2). */
#define ATT_TPMA_FIXED_TPM (1u << 1)
#define ATT_TPMA_FIXED_PARENT (1u << 4)
#define ATT_TPMA_SENSITIVE_DATA_ORIGIN (1u << 5)
#define ATT_TPMA_RESTRICTED (1u << 16)
#define ATT_TPMA_DECRYPT (1u << 17)
#define ATT_TPMA_SIGN (1u << 18)

/* An attestation key: its public key, and, when it came as a TPMT_PUBLIC, the area's fields. */
struct att_tpm_key {
    EVP_PKEY *pkey;
    bool has_public_area; /* false for a key given as SPKI or JWK: no attributes known */
    uint16_t type;        /* ATT_TPM_ALG_RSA or _ECC */
    uint16_t name_alg;
    uint32_t attributes;
    uint16_t scheme; /* the key's signing scheme, ATT_TPM_ALG_NULL when any */
    uint16_t scheme_hash;
    uint8_t name[2 + ATT_TPM_DIGEST_MAX]; /* nameAlg || H(TPMT_PUBLIC) (Part 1 §16) */
    size_t name_len;
    char pub_hash[45]; /* MAA's aikPubHash (att_tpm_key_pub_hash) */
};

/*
 * A key from a TPMT_PUBLIC, or a TPM2B_PUBLIC (the same with a u16 size in front). RSA keys of
 * 2048 to 4096 bits, ECC keys on P-256 or P-384. ATT_ERR_TPM_FORMAT; ATT_ERR_KEY_TYPE for another
 * algorithm or size. The OpenSSL key and aikPubHash of an area seen before come from the memo
 * (src/evidence/tpm/memo.h). Free with att_tpm_key_free.
 */
att_err att_tpm_key_from_public(struct att_bytes in, struct att_tpm_key *k, char *msg,
                                size_t msg_len) ATT_WUR;
/* A key from an OpenSSL public key (taken: freed with the key); no attributes known.
 * ATT_ERR_KEY_TYPE. */
att_err att_tpm_key_from_pkey(EVP_PKEY *pkey, struct att_tpm_key *k, char *msg,
                              size_t msg_len) ATT_WUR;
void att_tpm_key_free(struct att_tpm_key *k);

/* An AK must be a restricted signing key that cannot leave its TPM: fixedTPM, fixedParent,
 * sensitiveDataOrigin, restricted, sign, not decrypt (Part 1 §25.2, "Attestation Keys").
 * ATT_ERR_TPM_AK_ATTRIBUTES names the bit; keys without a public area pass (their trust comes
 * from the structure that carried them). */
att_err att_tpm_key_check_ak(const struct att_tpm_key *k, char *msg, size_t msg_len) ATT_WUR;

/* base64 of SHA-256 over the key's DER SubjectPublicKeyInfo: MAA's `aikPubHash`. */
att_err att_tpm_key_pub_hash(const EVP_PKEY *pkey, char out[45]) ATT_WUR;

/* The signature over q->raw by k. ATT_ERR_TPM_SIG_SCHEME (scheme does not suit the key or the
 * key's own scheme), ATT_ERR_TPM_SIGNATURE. */
att_err att_tpm_quote_verify(const struct att_tpm_quote *q, const struct att_tpm_signature *s,
                             const struct att_tpm_key *k, char *msg, size_t msg_len) ATT_WUR;

/* The signature over `data` (`what` it is, for the message) by k: as att_tpm_quote_verify. */
att_err att_tpm_signed_verify(struct att_bytes data, const char *what,
                              const struct att_tpm_signature *s, const struct att_tpm_key *k,
                              char *msg, size_t msg_len) ATT_WUR;

/* A parsed TPMS_ATTEST of type TPM_ST_ATTEST_CERTIFY (TPM2_Certify, Part 3 §18.2): the name of
 * the object the signing key vouches for is in the same TPM. `raw` borrows the input. */
struct att_tpm_certify {
    struct att_bytes raw; /* the signed bytes */
    uint8_t name[68];     /* a TPM2B_NAME's bytes: nameAlg || digest, or a handle */
    size_t name_len;
};

/* ATT_ERR_TPM_FORMAT (malformed, trailing bytes, not a TPM-generated certification). */
att_err att_tpm_certify_parse(struct att_bytes in, struct att_tpm_certify *c, char *msg,
                              size_t msg_len) ATT_WUR;

/* extraData equals `nonce` (constant time). ATT_ERR_TPM_NONCE. */
att_err att_tpm_quote_check_nonce(const struct att_tpm_quote *q, struct att_bytes nonce, char *msg,
                                  size_t msg_len) ATT_WUR;

/*
 * The selected PCR values, concatenated in selection order (entries as listed, PCR indices
 * ascending within each), hashed with `hash` (the signature's hash: Part 3 §18.4, TPM2_Quote),
 * equal pcrDigest. ATT_ERR_TPM_PCR_MISSING names a selected PCR without a value;
 * ATT_ERR_TPM_PCR_DIGEST.
 */
att_err att_tpm_quote_check_pcrs(const struct att_tpm_quote *q, uint16_t hash,
                                 const struct att_tpm_pcrs *pcrs, char *msg,
                                 size_t msg_len) ATT_WUR;

/* The PCRs of bank `alg` the quote selects (a mask; 0 when the bank is not quoted). */
uint32_t att_tpm_quote_selected(const struct att_tpm_quote *q, uint16_t alg);

#endif
