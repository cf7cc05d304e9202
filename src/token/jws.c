/*
 * jws.c - compact JWS (RFC 7515 §7.1): sign through the signer, verify
 * with an algorithm pinned to the key.
 *
 * Input: att_jws_verify and att_jws_decode_unverified read tokens that come
 * from the network: untrusted bytes, capped at ATT_JWS_MAX and split only
 * through the bounded reader (core/rd.h). att_jws_sign* take header fields
 * and payload from attestd's own code (trusted).
 *
 * Deliberately not supported: JSON serialization (RFC 7515 §7.2), detached
 * content (RFC 7515 appendix F: an empty payload part is refused), unencoded
 * payloads (RFC 7797), any "crit" extension (RFC 7515 §4.1.11), and HMAC
 * algorithms (a shared secret cannot be pinned to a public key).
 */
#include "token/jws.h"

#include "crypto/ecdsa.h"
#include "token/json_out.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <string.h>

#include "core/codec.h"
#include "core/rd.h"
#include "signer/signer.h"

/* RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used". */
#define RSA_MIN_BITS 2048
/* The largest JOSE signature we produce or accept (RSA-16384). */
#define SIG_MAX 2048

/* =====================================================================
 * Algorithms and keys
 * ===================================================================== */

const char *att_jws_alg_name(enum att_jws_alg alg)
{
    switch (alg) {
    case ATT_JWS_RS256: return "RS256";
    case ATT_JWS_ES256: return "ES256";
    case ATT_JWS_PS256: return "PS256";
    case ATT_JWS_ES384: return "ES384";
    case ATT_JWS_NONE: return "none";
    default: return "unknown";
    }
}

/* RFC 7515 §4.1.1: the "alg" value "is a case-sensitive ASCII string". */
static att_err alg_from_bytes(struct att_bytes name, enum att_jws_alg *out)
{
    if (att_bytes_eq_str(name, "RS256")) {
        *out = ATT_JWS_RS256;
    } else if (att_bytes_eq_str(name, "ES256")) {
        *out = ATT_JWS_ES256;
    } else if (att_bytes_eq_str(name, "PS256")) {
        *out = ATT_JWS_PS256;
    } else if (att_bytes_eq_str(name, "ES384")) {
        *out = ATT_JWS_ES384;
    } else if (att_bytes_eq_str(name, "none")) {
        *out = ATT_JWS_NONE;
    } else {
        return ATT_ERR_ALG_UNSUPPORTED;
    }
    return ATT_OK;
}

att_err att_jws_alg_parse(const char *name, enum att_jws_alg *out)
{
    ATT_ENSURE(name != NULL && out != NULL, ATT_ERR_ARG);
    struct att_bytes b = {(const uint8_t *)name, strlen(name)};
    return alg_from_bytes(b, out);
}

bool att_jws_alg_can_sign(enum att_jws_alg alg)
{
    return alg == ATT_JWS_RS256 || alg == ATT_JWS_ES256;
}

/* The NID of an EC key's named curve, NID_undef for anything else. */
static int curve_nid(const EVP_PKEY *key)
{
    char group[64];
    size_t len = 0;
    if (!EVP_PKEY_is_a(key, "EC")) {
        return NID_undef;
    }
    if (EVP_PKEY_get_group_name(key, group, sizeof(group), &len) != 1) {
        ERR_clear_error();
        return NID_undef;
    }
    int nid = OBJ_sn2nid(group);
    if (nid == NID_undef) {
        nid = EC_curve_nist2nid(group);
    }
    return nid;
}

/* "RSA" only: an RSA-PSS-restricted key cannot make RS256 signatures. */
static bool is_rsa(const EVP_PKEY *key)
{
    return EVP_PKEY_is_a(key, "RSA") != 0;
}

att_err att_jws_alg_for_key(EVP_PKEY *key, enum att_jws_alg *out)
{
    ATT_ENSURE(key != NULL && out != NULL, ATT_ERR_ARG);
    if (is_rsa(key)) {
        ATT_ENSURE(EVP_PKEY_get_bits(key) >= RSA_MIN_BITS, ATT_ERR_KEY_TYPE);
        *out = ATT_JWS_RS256;
        return ATT_OK;
    }
    switch (curve_nid(key)) {
    /* RFC 7518 §3.4: ES256 is "ECDSA using P-256 and SHA-256". */
    case NID_X9_62_prime256v1: *out = ATT_JWS_ES256; return ATT_OK;
    /* ... and ES384 "ECDSA using P-384 and SHA-384". */
    case NID_secp384r1: *out = ATT_JWS_ES384; return ATT_OK;
    default: return ATT_ERR_KEY_TYPE;
    }
}

att_err att_jws_key_fits(EVP_PKEY *key, enum att_jws_alg alg)
{
    ATT_ENSURE(key != NULL, ATT_ERR_ARG);
    switch (alg) {
    case ATT_JWS_RS256:
    case ATT_JWS_PS256:
        /* RFC 7518 §3.3 and §3.5: "A key of size 2048 bits or larger MUST be used". */
        ATT_ENSURE(is_rsa(key) && EVP_PKEY_get_bits(key) >= RSA_MIN_BITS, ATT_ERR_KEY_TYPE);
        return ATT_OK;
    case ATT_JWS_ES256:
        ATT_ENSURE(curve_nid(key) == NID_X9_62_prime256v1, ATT_ERR_KEY_TYPE);
        return ATT_OK;
    case ATT_JWS_ES384:
        ATT_ENSURE(curve_nid(key) == NID_secp384r1, ATT_ERR_KEY_TYPE);
        return ATT_OK;
    case ATT_JWS_NONE:
    default: return ATT_ERR_ARG;
    }
}

/* =====================================================================
 * Signing (trusted input)
 * ===================================================================== */

/* Append BASE64URL(UTF8(compact JSON of obj)) to out. */
static att_err put_b64_json(const json_t *obj, struct att_buf *out)
{
    struct att_buf text;
    att_buf_init(&text, ATT_JWS_MAX);
    att_err rc = att_json_compact(obj, &text);
    if (rc == ATT_OK) {
        rc = att_b64url_encode(text.data, text.len, out);
    }
    att_buf_cleanup(&text);
    return rc;
}

/*
 * The protected header: "alg" (RFC 7515 §4.1.1), then "kid" (§4.1.4) when
 * given, then the caller's fields in their order. The caller may not set
 * "alg" or "kid": those come from the key, never from the request.
 */
static att_err build_header(const json_t *extra, enum att_jws_alg alg, const char *kid,
                            json_t **out)
{
    att_err rc = ATT_ERR_NOMEM;
    json_t *hdr = json_object();
    json_t *copy = NULL;
    json_t *v = NULL;

    ATT_CHECK(hdr != NULL, ATT_ERR_NOMEM);
    ATT_CHECK(extra == NULL || json_is_object(extra), ATT_ERR_ARG);
    ATT_CHECK(extra == NULL || json_object_get(extra, "alg") == NULL, ATT_ERR_ARG);
    ATT_CHECK(extra == NULL || kid == NULL || json_object_get(extra, "kid") == NULL, ATT_ERR_ARG);
    ATT_CHECK(json_object_set_new(hdr, "alg", json_string(att_jws_alg_name(alg))) == 0,
              ATT_ERR_NOMEM);
    if (kid != NULL) {
        v = json_string(kid);
        ATT_CHECK(v != NULL, ATT_ERR_ARG); /* not UTF-8 */
        ATT_CHECK(json_object_set_new(hdr, "kid", v) == 0, ATT_ERR_NOMEM);
    }
    if (extra != NULL) {
        copy = json_deep_copy(extra); /* json_object_update needs a non-const source */
        ATT_CHECK(copy != NULL, ATT_ERR_NOMEM);
        ATT_CHECK(json_object_update(hdr, copy) == 0, ATT_ERR_NOMEM);
    }
    *out = hdr;
    hdr = NULL;
    rc = ATT_OK;
out:
    json_decref(copy);
    json_decref(hdr);
    return rc;
}

att_err att_jws_header_encode(struct att_signer *signer, const char *kid, const json_t *header,
                              struct att_jws_header *out)
{
    json_t *hdr = NULL;
    ATT_ENSURE(out != NULL, ATT_ERR_ARG);
    out->alg = ATT_JWS_NONE;
    att_buf_init(&out->b64, ATT_JWS_MAX);
    ATT_ENSURE(signer != NULL && kid != NULL, ATT_ERR_ARG);
    ATT_TRY(att_signer_alg(signer, kid, &out->alg));
    ATT_TRY(build_header(header, out->alg, kid, &hdr));
    att_err rc = put_b64_json(hdr, &out->b64);
    json_decref(hdr);
    return rc;
}

void att_jws_header_cleanup(struct att_jws_header *h)
{
    att_buf_cleanup(&h->b64);
}

/* The longest JOSE signature of `alg` (RSA keys up to 4096 bits). */
static size_t sig_max(enum att_jws_alg alg)
{
    return alg == ATT_JWS_ES256 ? ATT_ES256_SIG_LEN : 512;
}

att_err att_jws_signing_input(struct att_signer *signer, const char *kid,
                              const struct att_jws_header *header, const void *payload,
                              size_t payload_len, struct att_buf *input)
{
    enum att_jws_alg alg = ATT_JWS_NONE;
    ATT_ENSURE(signer != NULL && kid != NULL && input != NULL && header != NULL, ATT_ERR_ARG);
    ATT_ENSURE(payload != NULL && payload_len > 0 && header->b64.len > 0, ATT_ERR_ARG);
    ATT_TRY(att_signer_alg(signer, kid, &alg));
    ATT_ENSURE(alg == header->alg, ATT_ERR_ARG);
    /* header '.' payload '.' signature, each part base64url */
    size_t payload_b64 = (payload_len + 2) / 3 * 4;
    size_t sig_b64 = (sig_max(alg) + 2) / 3 * 4;
    ATT_ENSURE(payload_len <= ATT_JWS_MAX && header->b64.len <= ATT_JWS_MAX &&
                   header->b64.len + payload_b64 + sig_b64 + 2 <= ATT_JWS_MAX,
               ATT_ERR_TOO_LARGE);
    att_buf_presize(input, header->b64.len + payload_b64 + sig_b64 + 2);
    /*
     * RFC 7515 §5.1 steps 2-6: the JWS Signing Input is
     * ASCII(BASE64URL(UTF8(JWS Protected Header)) || '.' || BASE64URL(JWS Payload)).
     */
    ATT_TRY(att_buf_put(input, header->b64.data, header->b64.len));
    ATT_TRY(att_buf_putc(input, '.'));
    return att_b64url_encode(payload, payload_len, input);
}

att_err att_jws_append_signature(struct att_buf *token, const uint8_t *sig, size_t len)
{
    /* RFC 7515 §7.1: ... || '.' || BASE64URL(JWS Signature) */
    ATT_TRY(att_buf_putc(token, '.'));
    return att_b64url_encode(sig, len, token);
}

att_err att_jws_sign_encoded(struct att_signer *signer, const char *kid,
                             const struct att_jws_header *header, const void *payload,
                             size_t payload_len, struct att_buf *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_buf tok;
    struct att_buf sig;

    att_buf_init(&tok, ATT_JWS_MAX);
    att_buf_init(&sig, SIG_MAX);
    ATT_CHECK(out != NULL, ATT_ERR_ARG);
    ATT_GUARD(att_jws_signing_input(signer, kid, header, payload, payload_len, &tok));
    ATT_GUARD(att_signer_sign(signer, kid, tok.data, tok.len, &sig));
    ATT_GUARD(att_jws_append_signature(&tok, sig.data, sig.len));
    ATT_GUARD(att_buf_put(out, tok.data, tok.len));
    rc = ATT_OK;
out:
    att_buf_cleanup(&sig);
    att_buf_cleanup(&tok);
    return rc;
}

att_err att_jws_sign(struct att_signer *signer, const char *kid, const json_t *header,
                     const void *payload, size_t payload_len, struct att_buf *out)
{
    struct att_jws_header hdr;
    att_err rc = att_jws_header_encode(signer, kid, header, &hdr);
    if (rc == ATT_OK) {
        rc = att_jws_sign_encoded(signer, kid, &hdr, payload, payload_len, out);
    }
    att_jws_header_cleanup(&hdr);
    return rc;
}

/* The JWS Signing Input of an unsecured token (RFC 7515 §5.1 steps 2-6), as for a signed one. */
static att_err put_signing_input(const json_t *hdr, const void *payload, size_t len,
                                 struct att_buf *tok)
{
    ATT_TRY(put_b64_json(hdr, tok));
    ATT_TRY(att_buf_putc(tok, '.'));
    return att_b64url_encode(payload, len, tok);
}

att_err att_jws_sign_none(const json_t *header, const void *payload, size_t payload_len,
                          struct att_buf *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    json_t *hdr = NULL;
    struct att_buf tok;

    att_buf_init(&tok, ATT_JWS_MAX);
    ATT_CHECK(out != NULL && payload != NULL && payload_len > 0, ATT_ERR_ARG);
    ATT_GUARD(build_header(header, ATT_JWS_NONE, NULL, &hdr));
    ATT_GUARD(put_signing_input(hdr, payload, payload_len, &tok));
    /* RFC 7515 appendix A.5: the signature is the empty octet sequence, the dot stays. */
    ATT_GUARD(att_buf_putc(&tok, '.'));
    ATT_GUARD(att_buf_put(out, tok.data, tok.len));
    rc = ATT_OK;
out:
    json_decref(hdr);
    att_buf_cleanup(&tok);
    return rc;
}

/* =====================================================================
 * Parsing (untrusted input)
 * ===================================================================== */

/* The parts of a compact JWS, borrowed from the token (base64url text). */
struct parts {
    struct att_bytes header;
    struct att_bytes payload;
    struct att_bytes signature;
    struct att_bytes signing_input; /* header '.' payload, as received */
};

/*
 * RFC 7515 §7.1: BASE64URL(UTF8(JWS Protected Header)) || '.' ||
 * BASE64URL(JWS Payload) || '.' || BASE64URL(JWS Signature).
 * Exactly two dots; a third would make it a JWE (RFC 7516 §7.1) or garbage.
 */
static att_err split(const char *token, size_t len, unsigned flags, struct parts *p)
{
    struct att_rd r;
    struct att_rd rest;
    struct att_rd all;
    struct att_bytes extra;

    ATT_ENSURE(token != NULL || len == 0, ATT_ERR_ARG);
    ATT_ENSURE(len <= ATT_JWS_MAX, ATT_ERR_TOO_LARGE);
    att_rd_init(&r, token, len);
    ATT_ENSURE(att_rd_until(&r, '.', &p->header) == ATT_OK, ATT_ERR_JWS_FORMAT);
    ATT_ENSURE(att_rd_until(&r, '.', &p->payload) == ATT_OK, ATT_ERR_JWS_FORMAT);
    att_rd_rest(&r, &p->signature);
    att_rd_init(&rest, p->signature.ptr, p->signature.len);
    ATT_ENSURE(att_rd_until(&rest, '.', &extra) != ATT_OK, ATT_ERR_JWS_FORMAT);
    /* The header is never empty; an empty payload would be detached content, unless the caller
     * expects one (MAA's policy reset carries a JWS with an empty payload,
     * docs/reference/maa-policy.md §4.3). */
    ATT_ENSURE(p->header.len > 0, ATT_ERR_JWS_FORMAT);
    ATT_ENSURE(p->payload.len > 0 || (flags & ATT_JWS_EMPTY_PAYLOAD) != 0, ATT_ERR_JWS_FORMAT);
    /* RFC 7515 §5.2 step 8: the signature covers the received bytes. */
    att_rd_init(&all, token, len);
    return att_rd_bytes(&all, p->header.len + 1 + p->payload.len, &p->signing_input);
}

/*
 * RFC 7515 §5.2 steps 2-4: decode the header and check that it is "a
 * completely valid JSON object". §4: "JWS parsers MUST either reject JWSs
 * with duplicate Header Parameter names or ..."; we reject.
 */
static att_err decode_header(struct att_bytes text, json_t **out)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_buf raw;
    json_t *hdr = NULL;
    json_error_t jerr;

    att_buf_init(&raw, ATT_JWS_MAX);
    ATT_GUARD(att_b64url_decode((const char *)text.ptr, text.len, &raw));
    hdr = json_loadb(att_buf_cstr(&raw), raw.len, JSON_REJECT_DUPLICATES, &jerr);
    ATT_CHECK(hdr != NULL && json_is_object(hdr), ATT_ERR_JSON);
    *out = hdr;
    hdr = NULL;
    rc = ATT_OK;
out:
    json_decref(hdr);
    att_buf_cleanup(&raw);
    return rc;
}

/* The header's "alg"; a missing or non-string value is not on the allow-list. */
static att_err header_alg(const json_t *hdr, enum att_jws_alg *out)
{
    const json_t *v = json_object_get(hdr, "alg");
    ATT_ENSURE(json_is_string(v), ATT_ERR_ALG_UNSUPPORTED);
    struct att_bytes name = {(const uint8_t *)json_string_value(v), json_string_length(v)};
    return alg_from_bytes(name, out);
}

/* Split and decode all three parts; the signature bytes go to `sig`. */
static att_err decode(const char *token, size_t len, unsigned flags, struct parts *p, json_t **hdr,
                      struct att_buf *payload, struct att_buf *sig)
{
    att_err rc = ATT_ERR_INTERNAL;
    json_t *h = NULL;

    ATT_GUARD(split(token, len, flags, p));
    ATT_GUARD(decode_header(p->header, &h));
    ATT_GUARD(att_b64url_decode((const char *)p->payload.ptr, p->payload.len, payload));
    ATT_GUARD(att_b64url_decode((const char *)p->signature.ptr, p->signature.len, sig));
    *hdr = h;
    h = NULL;
    rc = ATT_OK;
out:
    json_decref(h);
    return rc;
}

/* =====================================================================
 * Signature verification
 * ===================================================================== */

/*
 * RFC 7518 §3.3 and §3.5, RFC 8017 §8.1.2 and §8.2.2 step 1: "If the length
 * of the signature S is not k octets, output 'invalid signature'".
 */
static att_err check_rsa_len(EVP_PKEY *key, struct att_bytes sig)
{
    int k = EVP_PKEY_get_size(key);
    ATT_ENSURE(k > 0 && sig.len == (size_t)k, ATT_ERR_SIGNATURE);
    return ATT_OK;
}

/* Padding for the RSA algorithms; nothing to set for ECDSA. */
static att_err set_padding(EVP_PKEY_CTX *pctx, enum att_jws_alg alg)
{
    switch (alg) {
    case ATT_JWS_RS256:
        ATT_ENSURE(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1, ATT_ERR_CRYPTO);
        return ATT_OK;
    case ATT_JWS_PS256:
        /*
         * RFC 7518 §3.5: "RSASSA-PSS using SHA-256 and MGF1 with SHA-256";
         * "The size of the salt value is the same size as the hash function
         * output." A salt length other than 32 fails the PSS check.
         */
        ATT_ENSURE(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
                       EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1 &&
                       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1,
                   ATT_ERR_CRYPTO);
        return ATT_OK;
    case ATT_JWS_ES256:
    case ATT_JWS_ES384: return ATT_OK;
    case ATT_JWS_NONE:
    default: return ATT_ERR_INTERNAL;
    }
}

static att_err check_signature(EVP_PKEY *key, enum att_jws_alg alg, struct att_bytes input,
                               struct att_bytes sig)
{
    att_err rc = ATT_ERR_INTERNAL;
    EVP_MD_CTX *md = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    uint8_t der[ATT_ECDSA_DER_MAX];
    size_t der_len = 0;
    struct att_bytes s = sig;
    const EVP_MD *hash = EVP_sha256();

    switch (alg) {
    case ATT_JWS_RS256:
    case ATT_JWS_PS256: ATT_GUARD(check_rsa_len(key, sig)); break;
    case ATT_JWS_ES256:
        /* RFC 7518 §3.4: the signature "MUST be a 64-octet sequence". */
        ATT_CHECK(sig.len == ATT_ES256_SIG_LEN, ATT_ERR_SIGNATURE);
        ATT_GUARD(att_ecdsa_raw_to_der(sig.ptr, sig.len, ATT_ES256_COORD, der, &der_len));
        s.ptr = der;
        s.len = der_len;
        break;
    case ATT_JWS_ES384:
        /* RFC 7518 §3.4: for P-384, R and S are 48 octets each: 96 in all. */
        ATT_CHECK(sig.len == ATT_ES384_SIG_LEN, ATT_ERR_SIGNATURE);
        ATT_GUARD(att_ecdsa_raw_to_der(sig.ptr, sig.len, ATT_ES384_COORD, der, &der_len));
        s.ptr = der;
        s.len = der_len;
        hash = EVP_sha384();
        break;
    case ATT_JWS_NONE:
    default: ATT_CHECK(false, ATT_ERR_INTERNAL);
    }
    md = EVP_MD_CTX_new();
    ATT_CHECK(md != NULL, ATT_ERR_NOMEM);
    ATT_CHECK(EVP_DigestVerifyInit(md, &pctx, hash, NULL, key) == 1, ATT_ERR_CRYPTO);
    ATT_GUARD(set_padding(pctx, alg));
    /* 1 is valid; 0 is a bad signature, < 0 a malformed one: both refused. */
    ATT_CHECK(EVP_DigestVerify(md, s.ptr, s.len, input.ptr, input.len) == 1, ATT_ERR_SIGNATURE);
    rc = ATT_OK;
out:
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    return rc;
}

/* =====================================================================
 * Public entry points for untrusted tokens
 * ===================================================================== */

void att_jws_cleanup(struct att_jws *jws)
{
    if (jws == NULL) {
        return;
    }
    json_decref(jws->header);
    jws->header = NULL;
    att_buf_cleanup(&jws->payload);
}

att_err att_jws_verify(const char *token, size_t len, EVP_PKEY *key, enum att_jws_alg alg,
                       struct att_jws *out)
{
    return att_jws_verify_flags(token, len, key, alg, 0, out);
}

att_err att_jws_verify_flags(const char *token, size_t len, EVP_PKEY *key, enum att_jws_alg alg,
                             unsigned flags, struct att_jws *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct parts p;
    json_t *hdr = NULL;
    struct att_buf payload;
    struct att_buf sig;
    enum att_jws_alg tok_alg = ATT_JWS_NONE;
    struct att_bytes sig_bytes;

    att_buf_init(&payload, ATT_JWS_MAX);
    att_buf_init(&sig, ATT_JWS_MAX);
    ATT_CHECK(key != NULL && out != NULL, ATT_ERR_ARG);
    /* The caller pins a real algorithm; "none" can never be pinned. */
    ATT_CHECK(alg == ATT_JWS_RS256 || alg == ATT_JWS_ES256 || alg == ATT_JWS_PS256 ||
                  alg == ATT_JWS_ES384,
              ATT_ERR_ARG);

    /* Parse. */
    ATT_GUARD(decode(token, len, flags, &p, &hdr, &payload, &sig));

    /* Validate (RFC 8725 §3.1: the key's pinned alg decides, not the token). */
    ATT_GUARD(header_alg(hdr, &tok_alg));
    ATT_CHECK(tok_alg != ATT_JWS_NONE, ATT_ERR_ALG_NONE);
    ATT_CHECK(tok_alg == alg, ATT_ERR_ALG_MISMATCH);
    ATT_GUARD(att_jws_key_fits(key, alg));
    /* RFC 7515 §4.1.11: we understand no extension, so any "crit" makes the JWS invalid. */
    ATT_CHECK(json_object_get(hdr, "crit") == NULL, ATT_ERR_JWS_CRIT);

    /* Verify. */
    sig_bytes.ptr = sig.data;
    sig_bytes.len = sig.len;
    ATT_GUARD(check_signature(key, alg, p.signing_input, sig_bytes));

    out->header = hdr;
    out->payload = payload; /* moved: ownership passes to out */
    hdr = NULL;
    att_buf_init(&payload, ATT_JWS_MAX);
    rc = ATT_OK;
out:
    json_decref(hdr);
    att_buf_cleanup(&payload);
    att_buf_cleanup(&sig);
    return rc;
}

att_err att_jws_decode_unverified(const char *token, size_t len, struct att_jws *out)
{
    return att_jws_decode_unverified_flags(token, len, 0, out, NULL);
}

att_err att_jws_decode_unverified_flags(const char *token, size_t len, unsigned flags,
                                        struct att_jws *out, struct att_buf *signature)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct parts p;
    json_t *hdr = NULL;
    struct att_buf payload;
    struct att_buf sig;

    att_buf_init(&payload, ATT_JWS_MAX);
    att_buf_init(&sig, ATT_JWS_MAX);
    ATT_CHECK(out != NULL, ATT_ERR_ARG);
    ATT_GUARD(decode(token, len, flags, &p, &hdr, &payload, &sig));
    if (signature != NULL) {
        ATT_GUARD(att_buf_put(signature, sig.data, sig.len));
    }
    out->header = hdr;
    out->payload = payload; /* moved: ownership passes to out */
    hdr = NULL;
    att_buf_init(&payload, ATT_JWS_MAX);
    rc = ATT_OK;
out:
    json_decref(hdr);
    att_buf_cleanup(&payload);
    att_buf_cleanup(&sig);
    return rc;
}
