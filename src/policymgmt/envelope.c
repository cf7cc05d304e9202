/*
 * envelope.c - open the JWS envelopes of policy management (see envelope.h).
 *
 * Input trust: request bodies from authenticated callers, still untrusted bytes. The JWS is
 * split and decoded by src/token/jws.c; certificates by src/x509/chain.c.
 */
#include "policymgmt/envelope.h"

#include <openssl/evp.h>
#include <string.h>

#include "core/codec.h"
#include "token/jws.h"
#include "x509/chain.h"

void att_envelope_cleanup(struct att_envelope *e)
{
    json_decref(e->header);
    e->header = NULL;
    att_buf_cleanup(&e->payload);
    if (e->chain != NULL) {
        sk_X509_pop_free(e->chain, X509_free);
        e->chain = NULL;
    }
}

X509 *att_envelope_signer(const struct att_envelope *e)
{
    return e->chain != NULL ? sk_X509_value(e->chain, 0) : NULL;
}

/* docs/reference/maa-policy.md §4.2: x-ms-policy-token-hash = b64url(SHA-256 of the JWS exactly as
 * sent). */
static att_err token_hash(const char *jws, size_t len, char out[ATT_TOKEN_HASH_LEN + 1])
{
    unsigned char d[32];
    struct att_buf b;
    ATT_ENSURE(EVP_Digest(jws, len, d, NULL, EVP_sha256(), NULL) == 1, ATT_ERR_CRYPTO);
    att_buf_init(&b, 64);
    att_err rc = att_b64url_encode(d, sizeof(d), &b);
    if (rc == ATT_OK) {
        memcpy(out, b.data, ATT_TOKEN_HASH_LEN);
        out[ATT_TOKEN_HASH_LEN] = 0;
    }
    att_buf_cleanup(&b);
    return rc;
}

/* §4.1: the certificate travels in "x5c", or as a "jwk" carrying "x5c". */
static const json_t *find_x5c(const json_t *header)
{
    const json_t *x5c = json_object_get(header, "x5c");
    if (x5c == NULL) {
        x5c = json_object_get(json_object_get(header, "jwk"), "x5c");
    }
    return x5c;
}

att_err att_envelope_open(const char *jws, size_t len, bool empty_payload, int64_t now,
                          struct att_envelope *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_jws peek = {0};
    struct att_jws verified = {0};
    struct att_buf sig;
    STACK_OF(X509) *chain = NULL;
    enum att_jws_alg alg = ATT_JWS_NONE;
    unsigned flags = empty_payload ? ATT_JWS_EMPTY_PAYLOAD : 0;

    memset(out, 0, sizeof(*out));
    att_buf_init(&sig, ATT_JWS_MAX);
    ATT_CHECK(len <= ATT_ENVELOPE_MAX, ATT_ERR_TOO_LARGE);
    ATT_GUARD(att_jws_decode_unverified_flags(jws, len, flags, &peek, &sig));
    if (empty_payload && peek.payload.len != 0) {
        out->problem =
            "a reset carries a JWS whose payload is empty (docs/reference/maa-policy.md §4.3)";
        ATT_CHECK(false, ATT_ERR_JWS_FORMAT);
    }
    ATT_CHECK(json_object_get(peek.header, "crit") == NULL, ATT_ERR_JWS_CRIT);
    const char *alg_name = json_string_value(json_object_get(peek.header, "alg"));
    ATT_CHECK(alg_name != NULL, ATT_ERR_ALG_UNSUPPORTED);
    ATT_GUARD(att_jws_alg_parse(alg_name, &alg));
    if (alg == ATT_JWS_NONE) {
        /* RFC 7515 appendix A.5: an unsecured JWS has an empty signature. A certificate in
         * it would name a signer nobody proved: refused, so none is ever shown as one. */
        if (sig.len != 0) {
            out->problem = "an unsigned JWS (alg none) has an empty signature part";
            ATT_CHECK(false, ATT_ERR_SIGNATURE);
        }
        if (find_x5c(peek.header) != NULL || json_object_get(peek.header, "jwk") != NULL) {
            out->problem = "an unsigned JWS (alg none) must not carry x5c or jwk: it would name "
                           "a signer nobody proved";
            ATT_CHECK(false, ATT_ERR_VALIDATE);
        }
        out->header = peek.header;
        out->payload = peek.payload;
        peek.header = NULL;
        att_buf_init(&peek.payload, ATT_JWS_MAX);
    } else {
        const json_t *x5c = find_x5c(peek.header);
        if (x5c == NULL) {
            out->problem = "a signed JWS must carry its signing certificate in x5c (or jwk.x5c)";
            ATT_CHECK(false, ATT_ERR_VALIDATE);
        }
        ATT_GUARD(att_x5c_parse(x5c, &chain));
        ATT_GUARD(att_x5c_check_chain(chain, now));
        EVP_PKEY *key = X509_get0_pubkey(sk_X509_value(chain, 0));
        ATT_CHECK(key != NULL, ATT_ERR_CERT_PARSE);
        ATT_GUARD(att_jws_key_fits(key, alg));
        ATT_GUARD(att_jws_verify_flags(jws, len, key, alg, flags, &verified));
        out->header = verified.header;
        out->payload = verified.payload;
        verified.header = NULL;
        att_buf_init(&verified.payload, ATT_JWS_MAX);
        out->chain = chain;
        chain = NULL;
    }
    ATT_GUARD(token_hash(jws, len, out->token_hash));
    rc = ATT_OK;
out:
    if (rc != ATT_OK) {
        att_envelope_cleanup(out);
    }
    if (chain != NULL) {
        sk_X509_pop_free(chain, X509_free);
    }
    att_buf_cleanup(&sig);
    att_jws_cleanup(&peek);
    att_jws_cleanup(&verified);
    return rc;
}

static json_t *payload_object(const struct att_envelope *e)
{
    json_error_t jerr;
    json_t *doc =
        json_loadb((const char *)e->payload.data, e->payload.len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc != NULL && !json_is_object(doc)) {
        json_decref(doc);
        doc = NULL;
    }
    return doc;
}

att_err att_envelope_policy_text(const struct att_envelope *e, struct att_buf *text)
{
    json_t *doc = payload_object(e);
    ATT_ENSURE(doc != NULL, ATT_ERR_JSON);
    const json_t *v = json_object_get(doc, "AttestationPolicy");
    att_err rc = json_is_string(v)
                     ? att_b64url_decode(json_string_value(v), json_string_length(v), text)
                     : ATT_ERR_JSON;
    json_decref(doc);
    return rc;
}

att_err att_envelope_policy_certificate(const struct att_envelope *e, X509 **cert)
{
    static const char *const names[] = {"policyCertificate", "maa-policyCertificate",
                                        "x-ms-policyCertificate"};
    json_t *doc = payload_object(e);
    ATT_ENSURE(doc != NULL, ATT_ERR_JSON);
    const json_t *jwk = NULL;
    for (size_t i = 0; jwk == NULL && i < sizeof(names) / sizeof(names[0]); i++) {
        jwk = json_object_get(doc, names[i]);
    }
    STACK_OF(X509) *chain = NULL;
    att_err rc =
        jwk == NULL ? ATT_ERR_NOT_FOUND : att_x5c_parse(json_object_get(jwk, "x5c"), &chain);
    if (rc == ATT_OK) {
        *cert = sk_X509_shift(chain);
        sk_X509_pop_free(chain, X509_free);
    }
    json_decref(doc);
    return rc;
}
