/*
 * envelope.h - the JWS envelopes of MAA's policy management (docs/reference/maa-policy.md
 * §4.2-§4.4).
 *
 * Policy uploads, resets and signer changes arrive as compact JWS: unsigned ({"alg":"none"},
 * empty signature) or signed, with the signing certificate (and optionally its issuers) in the
 * header's "x5c" or in "jwk"."x5c". This module checks the envelope: the chain is sound
 * (src/x509/chain.h), the signature verifies with the leaf's key under the algorithm its key
 * type allows, and it extracts the payload members MAA defines. Whether the signer is trusted is
 * the provider's business (Isolated mode, src/policymgmt/manage.h).
 */
#ifndef ATT_POLICYMGMT_ENVELOPE_H
#define ATT_POLICYMGMT_ENVELOPE_H

#include <jansson.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define ATT_ENVELOPE_MAX ((size_t)256 * 1024) /* bytes of one JWS */
#define ATT_TOKEN_HASH_LEN 43                 /* b64url of a SHA-256 */

struct att_envelope {
    json_t *header;                          /* the protected header */
    struct att_buf payload;                  /* decoded payload bytes (empty for a reset) */
    STACK_OF(X509) * chain;                  /* x5c, leaf first; NULL when unsigned */
    char token_hash[ATT_TOKEN_HASH_LEN + 1]; /* b64url(SHA-256(JWS as sent)), §4.2 */
    const char *problem; /* after a refusal: what is wrong, when the code alone does not say */
};

void att_envelope_cleanup(struct att_envelope *e);

/*
 * Check a JWS at `now`. `empty_payload` accepts (and then requires) an empty payload, as a
 * reset carries. Errors: ATT_ERR_JWS_FORMAT / ATT_ERR_ENCODING / ATT_ERR_JSON (malformed),
 * ATT_ERR_TOO_LARGE, ATT_ERR_ALG_UNSUPPORTED, ATT_ERR_SIGNATURE (also a non-empty signature
 * on an unsigned JWS), ATT_ERR_VALIDATE (signed without x5c), the chain errors of
 * att_x5c_parse / att_x5c_check_chain, ATT_ERR_KEY_TYPE / ATT_ERR_ALG_MISMATCH (algorithm
 * does not fit the leaf key), ATT_ERR_JWS_CRIT.
 */
att_err att_envelope_open(const char *jws, size_t len, bool empty_payload, int64_t now,
                          struct att_envelope *out) ATT_WUR;

/* The leaf certificate, or NULL when unsigned. */
X509 *att_envelope_signer(const struct att_envelope *e);

/*
 * The policy text of an upload: payload {"AttestationPolicy": b64url(UTF-8 text)} (a
 * StoredAttestationPolicy). The text is appended to `text`. ATT_ERR_JSON when the payload is
 * not that shape, ATT_ERR_ENCODING when the member is not base64url.
 */
att_err att_envelope_policy_text(const struct att_envelope *e, struct att_buf *text) ATT_WUR;

/*
 * The certificate of a signer change: payload {"policyCertificate": {"kty", "x5c": [cert]}}
 * (also under the older names "maa-policyCertificate" and "x-ms-policyCertificate").
 * ATT_ERR_NOT_FOUND when no such claim, ATT_ERR_JSON / chain parse errors otherwise.
 */
att_err att_envelope_policy_certificate(const struct att_envelope *e, X509 **cert) ATT_WUR;

#endif
