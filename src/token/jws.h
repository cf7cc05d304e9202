/*
 * jws.h - JSON Web Signature, compact serialization (RFC 7515 §7.1).
 *
 * Signing goes through src/signer (this module never sees a private key).
 * Verification takes a public key and the algorithm pinned to that key:
 * the token's "alg" must equal it, "none" is always refused, and the key type
 * must fit the algorithm (RFC 8725 §3.1: never let the token pick the alg).
 * ES256 and ES384 signatures are the 64- and 96-byte R||S forms of RFC 7518
 * §3.4. PS256 (RFC 7518 §3.5) and ES384 are verified only: they exist for
 * tokens of external OpenID providers; attestd's signer makes RS256 and ES256.
 * HMAC algorithms (HS256/384/512) are never accepted: a shared secret cannot
 * be pinned to a public key.
 *
 * Input tokens are untrusted bytes: the compact form is parsed through the
 * bounded reader and capped at ATT_JWS_MAX bytes.
 */
#ifndef ATT_TOKEN_JWS_H
#define ATT_TOKEN_JWS_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define ATT_JWS_MAX ((size_t)256 * 1024)
/* RFC 7518 §3.4: an ES256 signature is R and S, 32 octets each. */
#define ATT_ES256_COORD 32
#define ATT_ES256_SIG_LEN (2 * ATT_ES256_COORD)
/* RFC 7518 §3.4: an ES384 signature is R and S, 48 octets each. */
#define ATT_ES384_COORD 48
#define ATT_ES384_SIG_LEN (2 * ATT_ES384_COORD)

/* New values go at the end: the numbers are not stored, but keep them stable. */
enum att_jws_alg {
    ATT_JWS_NONE = 0,
    ATT_JWS_RS256, /* RSASSA-PKCS1-v1_5 SHA-256, RFC 7518 §3.3 */
    ATT_JWS_ES256, /* ECDSA P-256 SHA-256, RFC 7518 §3.4 */
    ATT_JWS_PS256, /* RSASSA-PSS SHA-256, MGF1 SHA-256, 32-byte salt, RFC 7518 §3.5 */
    ATT_JWS_ES384, /* ECDSA P-384 SHA-384, RFC 7518 §3.4 */
};

/* "RS256", "ES256", "PS256", "ES384", "none". */
const char *att_jws_alg_name(enum att_jws_alg alg);
/*
 * Only names on the allow-list parse; ATT_ERR_ALG_UNSUPPORTED otherwise.
 * "none" parses (to ATT_JWS_NONE) so callers can say why they refuse it.
 * PS256 and ES384 parse too: a caller choosing a *signing* algorithm must
 * also check att_jws_alg_can_sign.
 */
att_err att_jws_alg_parse(const char *name, enum att_jws_alg *out) ATT_WUR;
/* True for the algorithms attestd's signer makes: RS256 and ES256. */
bool att_jws_alg_can_sign(enum att_jws_alg alg);
/*
 * The default algorithm of a key: RSA (>= 2048 bits) -> RS256, P-256 ->
 * ES256, P-384 -> ES384; ATT_ERR_KEY_TYPE for anything else. An RSA key may
 * also be pinned to PS256: use att_jws_key_fits to check a pinned pair.
 */
att_err att_jws_alg_for_key(EVP_PKEY *key, enum att_jws_alg *out) ATT_WUR;
/*
 * ATT_OK when `key` can verify `alg`: RS256 and PS256 need an RSA key of at
 * least 2048 bits, ES256 exactly P-256, ES384 exactly P-384. ATT_ERR_KEY_TYPE
 * otherwise; ATT_ERR_ARG for ATT_JWS_NONE or an unknown value.
 */
att_err att_jws_key_fits(EVP_PKEY *key, enum att_jws_alg alg) ATT_WUR;

struct att_signer;

/*
 * Sign `payload` as a compact JWS with the signer's key `kid`.
 * `header` holds extra protected header fields (e.g. "jku", "typ"), or NULL;
 * "alg" and "kid" are set from the key and must not be in it (ATT_ERR_ARG).
 * `header` is not modified. `payload` must not be empty (no detached
 * content). The token is appended to `out`; ATT_ERR_TOO_LARGE over ATT_JWS_MAX.
 */
att_err att_jws_sign(struct att_signer *signer, const char *kid, const json_t *header,
                     const void *payload, size_t payload_len, struct att_buf *out) ATT_WUR;

/*
 * A protected header encoded once for many tokens (a provider's attestation tokens):
 * BASE64URL(UTF8(compact JSON)) as att_jws_sign would build it, and the "alg" it names.
 */
struct att_jws_header {
    enum att_jws_alg alg;
    struct att_buf b64;
};

/* Build `out` for key `kid` and extra fields `header` (as att_jws_sign); att_jws_header_cleanup. */
att_err att_jws_header_encode(struct att_signer *signer, const char *kid, const json_t *header,
                              struct att_jws_header *out) ATT_WUR;
void att_jws_header_cleanup(struct att_jws_header *h);

/*
 * att_jws_sign with a header from att_jws_header_encode for the same signer and `kid`. The
 * key's algorithm must still be the one the header names: a mismatch is ATT_ERR_ARG, never a
 * token whose "alg" lies.
 */
att_err att_jws_sign_encoded(struct att_signer *signer, const char *kid,
                             const struct att_jws_header *header, const void *payload,
                             size_t payload_len, struct att_buf *out) ATT_WUR;

/*
 * att_jws_sign_encoded in two steps, for a signature made later (att_signer_sign_async): the JWS
 * Signing Input (RFC 7515 §5.1: BASE64URL(header) '.' BASE64URL(payload)) appended to `input`
 * (ATT_ERR_TOO_LARGE when the token, with a signature of the header's algorithm, would be over
 * ATT_JWS_MAX); then '.' BASE64URL(signature) appended to it to make the token.
 */
att_err att_jws_signing_input(struct att_signer *signer, const char *kid,
                              const struct att_jws_header *header, const void *payload,
                              size_t payload_len, struct att_buf *input) ATT_WUR;
att_err att_jws_append_signature(struct att_buf *token, const uint8_t *sig, size_t len) ATT_WUR;

/*
 * Unsecured JWS (alg "none", empty signature), RFC 7515 appendix A.5.
 * `header` may be NULL and may not hold "alg"; the rest as att_jws_sign.
 */
att_err att_jws_sign_none(const json_t *header, const void *payload, size_t payload_len,
                          struct att_buf *out) ATT_WUR;

/* What a successful verification returns; release with att_jws_cleanup. */
struct att_jws {
    json_t *header;         /* decoded protected header (object) */
    struct att_buf payload; /* decoded payload bytes */
};

void att_jws_cleanup(struct att_jws *jws);

/*
 * Verify a compact JWS with public key `key` and pinned algorithm `alg`.
 * Refuses: malformed compact form (ATT_ERR_JWS_FORMAT), bad base64url
 * (ATT_ERR_ENCODING), header not a JSON object or with duplicate keys
 * (ATT_ERR_JSON), "alg" missing / unknown (ATT_ERR_ALG_UNSUPPORTED),
 * "none" (ATT_ERR_ALG_NONE), alg != pinned (ATT_ERR_ALG_MISMATCH), key not
 * fit for alg (ATT_ERR_KEY_TYPE), any "crit" header (ATT_ERR_JWS_CRIT, RFC
 * 7515 §4.1.11: we understand no extension), bad signature or signature of
 * the wrong length (ATT_ERR_SIGNATURE), token over ATT_JWS_MAX
 * (ATT_ERR_TOO_LARGE). An empty header or payload part is
 * ATT_ERR_JWS_FORMAT. The pinned alg must be RS256, ES256, PS256 or ES384
 * (ATT_ERR_ARG otherwise).
 * `out` is written only on success.
 */
att_err att_jws_verify(const char *token, size_t len, EVP_PKEY *key, enum att_jws_alg alg,
                       struct att_jws *out) ATT_WUR;

/* Flags of the *_flags variants. */
#define ATT_JWS_EMPTY_PAYLOAD 1u /* accept an empty payload part (policy reset, MAA §4.3) */

/* att_jws_verify with flags. */
att_err att_jws_verify_flags(const char *token, size_t len, EVP_PKEY *key, enum att_jws_alg alg,
                             unsigned flags, struct att_jws *out) ATT_WUR;

/*
 * Split and decode without verifying (for inspection tools and for choosing
 * a key by "kid"). The result must not be trusted.
 */
att_err att_jws_decode_unverified(const char *token, size_t len, struct att_jws *out) ATT_WUR;
/* The same with flags; the decoded signature bytes are appended to `signature` (may be NULL). */
att_err att_jws_decode_unverified_flags(const char *token, size_t len, unsigned flags,
                                        struct att_jws *out, struct att_buf *signature) ATT_WUR;

#endif
