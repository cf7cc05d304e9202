/*
 * tpm.c - the TpmQuote evidence type (tpm.h): decode the request's members, find the expected
 * nonce (collateral step: the challenge), verify the AK, quote, PCRs and event log, and give
 * MAA's TPM claims to policies (docs/reference/maa-tpm-protocol.md "Claims and configuration")
 * and attestd's measurements to the token (docs/attestation.md "TPM").
 */
#include "evidence/tpm/tpm.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "attest/attest.h"
#include "core/codec.h"
#include "core/timeutil.h"
#include "evidence/common.h"
#include "evidence/tpm/eventdata.h"
#include "evidence/tpm/eventlog.h"
#include "evidence/tpm/memo.h"
#include "evidence/tpm/tpm2.h"
#include "token/jwk.h"
#include "x509/certs.h"

#define MEMBER_MAX ((size_t)64 << 10) /* a signature, public area or certificate */
#define LOG_MAX ((size_t)4 << 20)     /* an event log (Windows logs reach a few hundred KB) */
#define CHAIN_MAX 8
#define NONCE_MAX 64 /* TPM2B_DATA holds at most a TPMT_HA */
/* MAA's configuration properties (docs/reference/maa-tpm-protocol.md). */
#define DEFAULT_PCR_MASK 0xFFFFFF

struct tpm_state {
    struct att_tpm_quote quote;
    struct att_tpm_signature sig;
    struct att_tpm_key ak;
    struct att_buf sig_bytes, ak_bytes, log_bytes;
    /* the AK certificate and the intermediates the request carried, as DER: decoded only when
     * the memo does not know them (check_ak_cert) */
    bool has_cert;
    struct att_buf cert_bytes, chain_bytes[CHAIN_MAX];
    size_t n_chain;
    X509 *ak_cert;
    STACK_OF(X509) * chain;
    struct att_tpm_pcrs pcrs;
    bool has_log;
    struct att_tcg_log log;
    /* freshness: the extraData the quote must carry */
    uint8_t expected[NONCE_MAX];
    size_t expected_len;
    bool challenge; /* from a challenge: recorded as used once the quote verified */
    bool sealed;    /* no nonce: the answer is sealed to a key of this TPM (req->sealed) */
    uint8_t challenge_nonce[ATT_CHALLENGE_NONCE_LEN];
    int64_t challenge_expires;
    const struct att_tpm_source *source;
    const char *provider;
    /* verdict */
    bool ak_validated;
    char ak_why[160];  /* why the AK certificate did not validate */
    uint32_t log_pcrs; /* PCRs the log's events were proven for */
    uint16_t log_bank;
    json_t *events;    /* MAA's events JSON, NULL without a log */
    json_t *pcrs_json; /* MAA's pcrs JSON (policies query both trees without parsing) */
    struct att_boot_facts facts;
};

static void tpm_release(void *state)
{
    struct tpm_state *s = state;
    att_tpm_key_free(&s->ak);
    att_buf_cleanup(&s->sig_bytes);
    att_buf_cleanup(&s->ak_bytes);
    att_buf_cleanup(&s->cert_bytes);
    for (size_t i = 0; i < s->n_chain; i++) {
        att_buf_cleanup(&s->chain_bytes[i]);
    }
    att_buf_cleanup(&s->log_bytes);
    X509_free(s->ak_cert);
    sk_X509_pop_free(s->chain, X509_free);
    att_tcg_log_free(&s->log);
    json_decref(s->events);
    json_decref(s->pcrs_json);
    att_boot_facts_free(&s->facts);
}

/* ---- parse ----------------------------------------------------------------------------------- */

/* Member `key` of the body, base64url, into `out` (at most `max` bytes). ATT_ERR_NOT_FOUND when
 * absent (and not `required`). */
static att_err member_b64(const json_t *body, const char *key, bool required, size_t max,
                          struct att_buf *out, char *msg, size_t msg_len)
{
    const json_t *v = json_object_get(body, key);
    att_buf_init(out, max);
    if (v == NULL || json_is_null(v)) {
        return required ? att_failf(ATT_ERR_TPM_FORMAT, msg, msg_len,
                                    "the request has no member \"%s\"", key)
                        : ATT_ERR_NOT_FOUND;
    }
    if (!json_is_string(v) ||
        att_b64url_padded(json_string_value(v), json_string_length(v), out) != ATT_OK) {
        return att_failf(ATT_ERR_TPM_FORMAT, msg, msg_len,
                         "\"%s\" is not base64url of at most %zu bytes", key, max);
    }
    return ATT_OK;
}

/* akCertificate and akCertificateChain: base64url of DER, kept as bytes. */
static att_err parse_certs(struct tpm_state *s, const json_t *body, char *msg, size_t msg_len)
{
    att_err rc = member_b64(body, "akCertificate", false, MEMBER_MAX, &s->cert_bytes, msg, msg_len);
    if (rc == ATT_ERR_NOT_FOUND) {
        return ATT_OK;
    }
    ATT_TRY(rc);
    s->has_cert = true;
    const json_t *chain = json_object_get(body, "akCertificateChain");
    if (chain == NULL || json_is_null(chain)) {
        return ATT_OK;
    }
    if (!json_is_array(chain) || json_array_size(chain) > CHAIN_MAX) {
        return att_failf(ATT_ERR_TPM_FORMAT, msg, msg_len,
                         "akCertificateChain is not an array of at most %d certificates",
                         CHAIN_MAX);
    }
    for (size_t i = 0; i < json_array_size(chain); i++) {
        const json_t *v = json_array_get(chain, i);
        struct att_buf *b = &s->chain_bytes[s->n_chain++];
        att_buf_init(b, MEMBER_MAX);
        if (!json_is_string(v) ||
            att_b64url_padded(json_string_value(v), json_string_length(v), b) != ATT_OK) {
            return att_failf(ATT_ERR_TPM_FORMAT, msg, msg_len,
                             "akCertificateChain[%zu] is not base64url of at most %zu bytes", i,
                             MEMBER_MAX);
        }
    }
    return ATT_OK;
}

/* "pcrs": {"sha256": {"0": hex, ...}, ...}: bank names as MAA spells them, any case. */
static att_err parse_pcrs(struct tpm_state *s, const json_t *body, char *msg, size_t msg_len)
{
    static const struct {
        const char *name;
        uint16_t alg;
    } banks[] = {{"sha1", ATT_TPM_ALG_SHA1},
                 {"sha256", ATT_TPM_ALG_SHA256},
                 {"sha384", ATT_TPM_ALG_SHA384},
                 {"sha512", ATT_TPM_ALG_SHA512}};
    json_t *pcrs = json_object_get(body, "pcrs");
    const char *bank;
    json_t *values;
    if (!json_is_object(pcrs)) {
        return att_failf(ATT_ERR_TPM_FORMAT, msg, msg_len,
                         "\"pcrs\" must be an object of banks (\"sha256\": {\"0\": hex, ...})");
    }
    json_object_foreach(pcrs, bank, values)
    {
        size_t b = 0;
        while (b < sizeof(banks) / sizeof(banks[0]) && strcasecmp(bank, banks[b].name) != 0) {
            b++;
        }
        if (b == sizeof(banks) / sizeof(banks[0]) || !json_is_object(values)) {
            return att_failf(ATT_ERR_TPM_FORMAT, msg, msg_len,
                             "pcrs: \"%.16s\" is not sha1, sha256, sha384 or sha512 with an "
                             "object of values",
                             bank);
        }
        const char *index;
        json_t *v;
        json_object_foreach(values, index, v)
        {
            uint64_t i = 0;
            struct att_bytes ib = {(const uint8_t *)index, strlen(index)};
            uint8_t digest[ATT_TPM_DIGEST_MAX];
            struct att_buf d;
            att_buf_init(&d, ATT_TPM_DIGEST_MAX);
            att_err rc = json_is_string(v) && att_bytes_to_u64(ib, ATT_TPM_PCRS - 1, &i) == ATT_OK
                             ? att_hex_decode(json_string_value(v), json_string_length(v), &d)
                             : ATT_ERR_ENCODING;
            if (rc == ATT_OK) {
                memcpy(digest, d.data, d.len);
                struct att_bytes dv = {digest, d.len};
                rc = att_tpm_pcrs_set(&s->pcrs, banks[b].alg, (uint32_t)i, dv, msg, msg_len);
            } else {
                rc = att_failf(ATT_ERR_TPM_FORMAT, msg, msg_len,
                               "pcrs.%s: \"%.8s\" must be a PCR index 0-23 with a hex value",
                               banks[b].name, index);
            }
            att_buf_cleanup(&d);
            ATT_TRY(rc);
        }
    }
    return ATT_OK;
}

/* The AK: its public area ("akPublic"), or a JWK ("akJwk", MAA's aik_pub: no attributes to
 * check, so its trust rests on its certificate). */
static att_err parse_ak(struct tpm_state *s, const json_t *body, char *msg, size_t msg_len)
{
    const json_t *jwk = json_object_get(body, "akJwk");
    att_err rc = member_b64(body, "akPublic", jwk == NULL, MEMBER_MAX, &s->ak_bytes, msg, msg_len);
    if (rc == ATT_OK) {
        struct att_bytes ak = {s->ak_bytes.data, s->ak_bytes.len};
        return att_tpm_key_from_public(ak, &s->ak, msg, msg_len);
    }
    if (rc != ATT_ERR_NOT_FOUND) {
        return rc;
    }
    EVP_PKEY *key = NULL;
    enum att_jws_alg alg;
    if (!json_is_object(jwk) || att_jwk_to_key(jwk, &key, &alg) != ATT_OK) {
        return att_failf(ATT_ERR_TPM_FORMAT, msg, msg_len, "akJwk is not a public JWK");
    }
    return att_tpm_key_from_pkey(key, &s->ak, msg, msg_len);
}

static att_err tpm_parse(void *state, const struct att_evidence_request *req, char *msg,
                         size_t msg_len)
{
    struct tpm_state *s = state;
    const json_t *body = req->body;
    if (body == NULL) {
        return att_failf(ATT_ERR_TPM_FORMAT, msg, msg_len, "a TpmQuote request is a JSON object");
    }
    ATT_TRY(att_tpm_quote_parse(req->evidence, &s->quote, msg, msg_len));
    ATT_TRY(member_b64(body, "signature", true, MEMBER_MAX, &s->sig_bytes, msg, msg_len));
    struct att_bytes sig = {s->sig_bytes.data, s->sig_bytes.len};
    ATT_TRY(att_tpm_signature_parse(sig, &s->sig, msg, msg_len));
    ATT_TRY(parse_ak(s, body, msg, msg_len));
    ATT_TRY(parse_certs(s, body, msg, msg_len));
    ATT_TRY(parse_pcrs(s, body, msg, msg_len));
    att_err rc = member_b64(body, "eventLog", false, LOG_MAX, &s->log_bytes, msg, msg_len);
    if (rc == ATT_OK) {
        struct att_bytes log = {s->log_bytes.data, s->log_bytes.len};
        ATT_TRY(att_tcg_log_parse(log, ATT_TCG_LOG_TPM, &s->log, msg, msg_len));
        s->has_log = true;
    } else if (rc != ATT_ERR_NOT_FOUND) {
        return rc;
    }
    return ATT_OK;
}

/* ---- collateral: the expected extraData ----------------------------------------------------- */

/* extraData = nonce, or SHA-256(nonce || runtime data) when runtime data is bound. */
static att_err expect(struct tpm_state *s, const uint8_t *nonce, size_t len,
                      const struct att_evidence_request *req)
{
    if (!req->runtime.present) {
        memcpy(s->expected, nonce, len);
        s->expected_len = len;
        return ATT_OK;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = 0;
    bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(ctx, nonce, len) == 1 &&
              EVP_DigestUpdate(ctx, req->runtime.bytes.ptr, req->runtime.bytes.len) == 1 &&
              EVP_DigestFinal_ex(ctx, s->expected, &n) == 1;
    EVP_MD_CTX_free(ctx);
    s->expected_len = n;
    return ok ? ATT_OK : ATT_ERR_CRYPTO;
}

/* The collateral step has no request; the nonce needs it, so tpm_bind finishes it. Here: what
 * the node lends (AK roots, challenges, the provider). */
static att_err tpm_collateral(void *state, const struct att_evidence_env *env, char *msg,
                              size_t msg_len)
{
    struct tpm_state *s = state;
    (void)msg;
    (void)msg_len;
    s->source = env->tpm;
    s->provider = env->provider != NULL ? env->provider : "";
    return ATT_OK;
}

/* ---- verify ---------------------------------------------------------------------------------- */

static att_err parse_cert(const struct att_buf *der, X509 **out)
{
    const unsigned char *p = der->data;
    X509 *x = d2i_X509(NULL, &p, (long)der->len);
    bool whole = x != NULL && p == der->data + der->len;
    ERR_clear_error();
    if (!whole) {
        X509_free(x);
        return ATT_ERR_CERT_PARSE;
    }
    *out = x;
    return ATT_OK;
}

/* The certificate and chain as OpenSSL objects. */
static att_err decode_certs(struct tpm_state *s, char *msg, size_t msg_len)
{
    if (parse_cert(&s->cert_bytes, &s->ak_cert) != ATT_OK) {
        return att_failf(ATT_ERR_TPM_FORMAT, msg, msg_len,
                         "akCertificate is not a DER certificate");
    }
    s->chain = sk_X509_new_null();
    ATT_ENSURE(s->chain != NULL, ATT_ERR_NOMEM);
    for (size_t i = 0; i < s->n_chain; i++) {
        X509 *x = NULL;
        if (parse_cert(&s->chain_bytes[i], &x) != ATT_OK) {
            return att_failf(ATT_ERR_TPM_FORMAT, msg, msg_len,
                             "akCertificateChain[%zu] is not a DER certificate", i);
        }
        if (sk_X509_push(s->chain, x) == 0) {
            X509_free(x);
            return ATT_ERR_NOMEM;
        }
    }
    return ATT_OK;
}

/* The memo's name for "these certificates certify this AK": SHA-256 over the AK's aikPubHash
 * and each certificate's length (u32, big-endian) and bytes. */
static att_err cert_memo_key(const struct tpm_state *s, uint8_t key[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(md, s->ak.pub_hash, strlen(s->ak.pub_hash)) == 1;
    for (size_t i = 0; ok && i <= s->n_chain; i++) {
        const struct att_buf *b = i == 0 ? &s->cert_bytes : &s->chain_bytes[i - 1];
        uint8_t len[4] = {(uint8_t)(b->len >> 24), (uint8_t)(b->len >> 16), (uint8_t)(b->len >> 8),
                          (uint8_t)b->len};
        ok = EVP_DigestUpdate(md, len, sizeof(len)) == 1 &&
             EVP_DigestUpdate(md, b->data, b->len) == 1;
    }
    ok = ok && EVP_DigestFinal_ex(md, key, NULL) == 1;
    EVP_MD_CTX_free(md);
    return ok ? ATT_OK : ATT_ERR_CRYPTO;
}

/* aikValidated: the AK certificate is for this AK and chains to a configured root at `now`
 * (remembered, with the path's window, in the source's memo). */
static att_err check_ak_cert(struct tpm_state *s, int64_t now, char *msg, size_t msg_len)
{
    STACK_OF(X509) *path = NULL;
    char why[128] = "";
    int64_t from = 0;
    int64_t until = 0;
    uint8_t key[32];

    if (!s->has_cert) {
        snprintf(s->ak_why, sizeof(s->ak_why), "no akCertificate came with the quote");
        return ATT_OK;
    }
    bool roots =
        s->source != NULL && s->source->ak_roots != NULL && sk_X509_num(s->source->ak_roots) > 0;
    ATT_TRY(cert_memo_key(s, key));
    if (roots && att_tpm_cert_memo_valid(s->source->cert_memo, key, now)) {
        s->ak_validated = true;
        return ATT_OK;
    }
    ATT_TRY(decode_certs(s, msg, msg_len));
    EVP_PKEY *cert_key = X509_get0_pubkey(s->ak_cert);
    if (cert_key == NULL || EVP_PKEY_eq(cert_key, s->ak.pkey) != 1) {
        ERR_clear_error();
        return att_failf(ATT_ERR_TPM_AK_MISMATCH, msg, msg_len,
                         "akCertificate certifies another key than akPublic");
    }
    if (!roots) {
        snprintf(s->ak_why, sizeof(s->ak_why), "no AK certificate roots are configured");
        return ATT_OK;
    }
    att_err rc =
        att_certs_verify_to(s->ak_cert, s->chain, s->source->ak_roots, &path, why, sizeof(why));
    if (rc == ATT_OK) {
        rc = att_certs_window(path, &from, &until);
        if (rc == ATT_OK && (now < from || now > until)) {
            snprintf(why, sizeof(why), "the certificate chain is not valid at this time");
            rc = ATT_ERR_CERT_EXPIRED;
        }
    }
    sk_X509_pop_free(path, X509_free);
    if (rc == ATT_ERR_NOMEM) {
        return rc;
    }
    s->ak_validated = rc == ATT_OK;
    if (rc == ATT_OK) {
        att_tpm_cert_memo_add(s->source->cert_memo, key, from, until);
    } else {
        snprintf(s->ak_why, sizeof(s->ak_why), "the AK certificate does not validate: %s", why);
    }
    return ATT_OK;
}

static att_err tpm_verify(void *state, int64_t now, int64_t grace, char *msg, size_t msg_len)
{
    struct tpm_state *s = state;
    (void)grace;
    ATT_TRY(att_tpm_key_check_ak(&s->ak, msg, msg_len));
    ATT_TRY(check_ak_cert(s, now, msg, msg_len));
    ATT_TRY(att_tpm_quote_verify(&s->quote, &s->sig, &s->ak, msg, msg_len));
    ATT_TRY(att_tpm_quote_check_pcrs(&s->quote, s->sig.hash, &s->pcrs, msg, msg_len));
    if (s->has_log) {
        ATT_TRY(att_tcg_log_check(&s->log, &s->quote, &s->pcrs, &s->log_pcrs, &s->log_bank, msg,
                                  msg_len));
        ATT_TRY(att_tcg_events_decode(&s->log, s->log_pcrs, s->log_bank, &s->events, &s->facts, msg,
                                      msg_len));
    }
    return ATT_OK;
}

/* ---- bind: freshness --------------------------------------------------------------------------
 */

static att_err tpm_bind(void *state, const struct att_evidence_request *req, char *msg,
                        size_t msg_len)
{
    struct tpm_state *s = state;
    const json_t *challenge = json_object_get(req->body, "challenge");
    if (req->bound_nonce.len > 0) {
        /* src/api checked where it comes from (MAA's protocol: request key and challenge) */
        ATT_ENSURE(req->bound_nonce.len <= NONCE_MAX, ATT_ERR_TPM_NONCE);
        memcpy(s->expected, req->bound_nonce.ptr, req->bound_nonce.len);
        s->expected_len = req->bound_nonce.len;
    } else if (challenge != NULL && !json_is_null(challenge) && req->nonce != NULL) {
        /* the token would echo a nonce the quote does not carry */
        return att_failf(ATT_ERR_TPM_NONCE, msg, msg_len, "send a challenge or a nonce, not both");
    } else if (challenge != NULL && !json_is_null(challenge)) {
        if (!json_is_string(challenge)) {
            return att_failf(ATT_ERR_CHALLENGE_INVALID, msg, msg_len, "challenge is not a string");
        }
        if (s->source == NULL || s->source->challenges == NULL) {
            return att_failf(ATT_ERR_CHALLENGE_INVALID, msg, msg_len,
                             "this node issues no challenges");
        }
        att_err rc =
            att_challenge_open(s->source->challenges, s->provider, ATT_TPM_CHALLENGE_PURPOSE,
                               json_string_value(challenge), json_string_length(challenge),
                               att_time_now(), s->challenge_nonce, &s->challenge_expires);
        if (rc != ATT_OK) {
            return att_failf(rc, msg, msg_len, "challenge: %s", att_err_str(rc));
        }
        s->challenge = true;
        ATT_TRY(expect(s, s->challenge_nonce, ATT_CHALLENGE_NONCE_LEN, req));
    } else if (req->nonce != NULL) {
        struct att_buf n;
        att_buf_init(&n, NONCE_MAX);
        att_err rc = att_hex_decode(req->nonce, strlen(req->nonce), &n);
        if (rc == ATT_OK && n.len > 0) {
            rc = expect(s, n.data, n.len, req);
        } else {
            rc = att_failf(ATT_ERR_TPM_NONCE, msg, msg_len, "nonce must be hex of 1 to %d bytes",
                           NONCE_MAX);
        }
        att_buf_cleanup(&n);
        ATT_TRY(rc);
    } else if (req->sealed) {
        s->sealed = true; /* the caller seals the answer; the quote's extraData is not asked */
        return ATT_OK;
    } else {
        return att_failf(ATT_ERR_TPM_NONCE, msg, msg_len,
                         "a TpmQuote request needs a challenge (POST /attest/TpmQuote:challenge) "
                         "or a nonce");
    }
    if (req->init_time.present) {
        return att_failf(ATT_ERR_TPM_FORMAT, msg, msg_len,
                         "a TPM quote binds no initTimeData (bind data as runtimeData)");
    }
    struct att_bytes want = {s->expected, s->expected_len};
    return att_tpm_quote_check_nonce(&s->quote, want, msg, msg_len);
}

att_err att_tpm_quote_use_challenge(void *state, char *msg, size_t msg_len)
{
    struct tpm_state *s = state;
    if (!s->challenge) {
        return ATT_OK;
    }
    att_err rc = att_challenge_use(s->source->challenges, s->provider, s->challenge_nonce,
                                   s->challenge_expires, att_time_now());
    return rc == ATT_OK ? ATT_OK : att_failf(rc, msg, msg_len, "challenge: %s", att_err_str(rc));
}

/* ---- claims ---------------------------------------------------------------------------------- */

static att_err tri_claim(json_t *t, const char *key, enum att_tri v)
{
    return v == ATT_UNKNOWN ? ATT_OK : att_claim_set(t, key, json_boolean(v == ATT_TRUE));
}

/* The names tpm_claims may set (evidence.h: claim_names), and the two MAA's TPM protocol adds
 * to the token of /attest/Tpm (src/api/attest_tpm.c; docs/reference/maa-tpm-protocol.md). */
static const char *const tpm_claim_names[] = {
    "x-ms-attestation-type",
    "x-ms-tpm-ak-validated",
    "x-ms-tpm-ak-pub-hash",
    "x-ms-tpm-pcrs",
    "x-ms-tpm-eventlog-pcrs",
    "x-ms-tpm-secureboot",
    "x-ms-tpm-boot-apps",
    "x-ms-tpm-kernel-cmdline",
    "nonce",
    "x-ms-tpm-freshness",
    "cnf",
    "rp_data",
    NULL,
};

static att_err tpm_claims(void *state, const struct att_evidence_request *req, json_t *t)
{
    struct tpm_state *s = state;
    json_t *pcrs = json_object();
    ATT_TRY(att_claim_set(t, "x-ms-attestation-type", json_string("tpm")));
    ATT_TRY(att_claim_set(t, "x-ms-tpm-ak-validated", json_boolean(s->ak_validated)));
    ATT_TRY(att_claim_set(t, "x-ms-tpm-ak-pub-hash", json_string(s->ak.pub_hash)));
    /* the quoted PCR values, per bank: what the TPM signed */
    ATT_TRY(att_claim_set(t, "x-ms-tpm-pcrs", pcrs));
    for (size_t i = 0; i < s->quote.nsel; i++) {
        int b = att_tpm_bank_of(s->quote.sel[i].alg);
        json_t *bank = json_object();
        ATT_TRY(att_claim_set(pcrs, att_tpm_alg_name(s->quote.sel[i].alg), bank));
        for (unsigned p = 0; p < ATT_TPM_PCRS; p++) {
            if ((s->quote.sel[i].mask >> p & 1u) != 0) {
                char key[4];
                snprintf(key, sizeof(key), "%u", p);
                ATT_TRY(att_claim_set_hex(bank, key, s->pcrs.bank[b].value[p],
                                          att_tpm_digest_size(s->quote.sel[i].alg)));
            }
        }
    }
    if (s->has_log) {
        json_t *proven = json_array();
        ATT_TRY(att_claim_set(t, "x-ms-tpm-eventlog-pcrs", proven));
        for (unsigned p = 0; p < ATT_TPM_PCRS; p++) {
            if ((s->log_pcrs >> p & 1u) != 0 &&
                json_array_append_new(proven, json_integer(p)) != 0) {
                return ATT_ERR_NOMEM;
            }
        }
        ATT_TRY(tri_claim(t, "x-ms-tpm-secureboot", s->facts.secure_boot));
        ATT_TRY(att_claim_set(t, "x-ms-tpm-boot-apps", json_incref(s->facts.boot_apps)));
        if (s->facts.kernel_cmdline != NULL) {
            ATT_TRY(
                att_claim_set(t, "x-ms-tpm-kernel-cmdline", json_string(s->facts.kernel_cmdline)));
        }
    }
    if (req->nonce != NULL) {
        ATT_TRY(att_claim_set(t, "nonce", json_string(req->nonce)));
    }
    /* how freshness was established: a challenge of this service, the caller's nonce (its to
     * check against the token's `nonce`), the binding of MAA's protocol, or an answer only the
     * quoting TPM can read (AzureGuest) */
    return att_claim_set(t, "x-ms-tpm-freshness",
                         json_string(req->bound_nonce.len > 0 ? "request-key"
                                     : s->challenge           ? "challenge"
                                     : s->sealed              ? "sealed-answer"
                                                              : "nonce"));
}

/* A boolean incoming claim of MAA's, when the evidence settles it. */
static att_err add_bool(struct att_claim_list *in, const char *type, enum att_tri v)
{
    if (v == ATT_UNKNOWN) {
        return ATT_OK;
    }
    return att_claim_list_add(
        in, att_claim_boolean(type, v == ATT_TRUE, ATT_ISSUER_ATTESTATION_SERVICE));
}

static enum att_tri negate(enum att_tri v)
{
    return v == ATT_UNKNOWN ? ATT_UNKNOWN : v == ATT_TRUE ? ATT_FALSE : ATT_TRUE;
}

/* A JSON claim as its tree alone: JmesPath() queries it as it is, and its text is written only
 * for a rule that uses it otherwise (struct att_claim, `json`). */
static att_err add_json(struct att_claim_list *in, const char *type, json_t *tree, bool read_only)
{
    if (tree == NULL) {
        return ATT_ERR_NOMEM;
    }
    struct att_claim c = att_claim_string(type, NULL, ATT_ISSUER_ATTESTATION_SERVICE);
    c.read_only = read_only;
    c.json = tree;
    return att_claim_list_add(in, c);
}

/* The incoming claims of MAA's TPM type (docs/reference/maa-tpm-protocol.md), which policies
 * see and tokens do not carry. */
static att_err tpm_incoming(void *state, struct att_claim_list *in)
{
    struct tpm_state *s = state;
    const enum att_claim_issuer as = ATT_ISSUER_ATTESTATION_SERVICE;
    ATT_TRY(att_claim_list_add(in, att_claim_boolean("aikValidated", s->ak_validated, as)));
    ATT_TRY(att_claim_list_add(in, att_claim_string("aikPubHash", s->ak.pub_hash, as)));
    ATT_TRY(att_claim_list_add(in, att_claim_integer("tpmVersion", 2, as)));
    ATT_TRY(att_claim_list_add(in, att_claim_boolean("vbsReportPresent", false, as)));
    ATT_TRY(add_bool(in, "secureBootEnabled", s->facts.secure_boot));
    if (s->facts.windows) {
        ATT_TRY(add_bool(in, "bootDebuggingDisabled", negate(s->facts.boot_debugging)));
        ATT_TRY(add_bool(in, "notSafeMode", negate(s->facts.safe_mode)));
        ATT_TRY(add_bool(in, "notWinPE", negate(s->facts.winpe)));
        ATT_TRY(add_bool(in, "vbsEnabled", s->facts.vbs == ATT_TRUE ? ATT_TRUE : ATT_FALSE));
        ATT_TRY(add_bool(in, "iommuEnabled", s->facts.iommu == ATT_TRUE ? ATT_TRUE : ATT_FALSE));
    }
    /* The raw JSON claims of policy version 1.2; `pcrs` is read-only (§3.4). */
    uint32_t quoted = 0;
    for (size_t i = 0; i < s->quote.nsel; i++) {
        quoted |= s->quote.sel[i].mask;
    }
    s->pcrs_json = att_tpm_pcrs_json(&s->pcrs, quoted);
    ATT_TRY(add_json(in, "pcrs", s->pcrs_json, true));
    return s->events != NULL ? add_json(in, "events", s->events, false) : ATT_OK;
}

/* MAA's configuration properties: require_valid_aik_cert (default true) and required_pcr_mask
 * (default 0xFFFFFF: every PCR quoted). */
static att_err tpm_appraised(void *state, const struct att_policy_result *res, char *msg,
                             size_t msg_len)
{
    struct tpm_state *s = state;
    const struct att_claim *require = att_policy_result_property(res, "require_valid_aik_cert");
    const struct att_claim *mask = att_policy_result_property(res, "required_pcr_mask");
    bool need_cert =
        require == NULL || require->value_type != ATT_CLAIM_BOOLEAN || require->boolean;
    int64_t want =
        mask != NULL && mask->value_type == ATT_CLAIM_INTEGER ? mask->integer : DEFAULT_PCR_MASK;
    if (need_cert && !s->ak_validated) {
        return att_failf(ATT_ERR_TPM_AK_UNTRUSTED, msg, msg_len,
                         "%s, and the policy requires a valid AIK certificate "
                         "(require_valid_aik_cert)",
                         s->ak_why);
    }
    uint32_t quoted = 0;
    for (size_t i = 0; i < s->quote.nsel; i++) {
        quoted |= s->quote.sel[i].mask;
    }
    uint32_t missing = (uint32_t)want & 0xFFFFFFu & ~quoted;
    if (missing != 0) {
        unsigned first = 0;
        while ((missing >> first & 1u) == 0) {
            first++;
        }
        return att_failf(ATT_ERR_TPM_PCR_MISSING, msg, msg_len,
                         "the quote leaves out PCR %u, which required_pcr_mask 0x%06x requires",
                         first, (unsigned)want);
    }
    /* used up only by an attestation the policy accepted: a refused one leaves it for a retry,
     * and nobody fills the used set with requests that fail */
    return att_tpm_quote_use_challenge(state, msg, msg_len);
}

/* ---- inspect --------------------------------------------------------------------------------- */

static att_err tpm_inspect(struct att_bytes evidence, json_t **out, char *msg, size_t msg_len)
{
    struct att_tpm_quote q;
    ATT_TRY(att_tpm_quote_parse(evidence, &q, msg, msg_len));
    json_t *sel = json_object();
    json_t *o =
        json_pack("{s:I,s:I,s:I,s:b,s:I,s:o}", "clock", (json_int_t)q.clock, "resetCount",
                  (json_int_t)q.reset_count, "restartCount", (json_int_t)q.restart_count, "safe",
                  q.safe, "firmwareVersion", (json_int_t)q.firmware_version, "pcrSelection", sel);
    if (o == NULL) {
        return ATT_ERR_NOMEM;
    }
    for (size_t i = 0; i < q.nsel; i++) {
        json_t *list = json_array();
        for (unsigned p = 0; list != NULL && p < ATT_TPM_PCRS; p++) {
            if ((q.sel[i].mask >> p & 1u) != 0 &&
                json_array_append_new(list, json_integer(p)) != 0) {
                json_decref(list);
                list = NULL;
            }
        }
        if (att_claim_set(sel, att_tpm_alg_name(q.sel[i].alg), list) != ATT_OK) {
            json_decref(o);
            return ATT_ERR_NOMEM;
        }
    }
    struct att_bytes extra = {q.extra, q.extra_len};
    struct att_bytes digest = {q.pcr_digest, q.pcr_digest_len};
    struct att_bytes signer = {q.signer_name, q.signer_name_len};
    if (att_claim_set_hex(o, "extraData", extra.ptr, extra.len) != ATT_OK ||
        att_claim_set_hex(o, "pcrDigest", digest.ptr, digest.len) != ATT_OK ||
        att_claim_set_b64url(o, "qualifiedSigner", signer) != ATT_OK) {
        json_decref(o);
        return ATT_ERR_NOMEM;
    }
    *out = o;
    return ATT_OK;
}

const struct att_evidence_type att_evidence_tpm_quote = {
    .name = "TpmQuote",
    .cli_name = "tpm",
    .policy = ATT_POLICY_TPM,
    .member = "quote",
    .legacy_body = false,
    .verified = "quote",
    .parsed = "TPM evidence",
    .claim_names = tpm_claim_names,
    .aliases = NULL,
    .tcb_status_claim = NULL,
    .state_size = sizeof(struct tpm_state),
    .parse = tpm_parse,
    .collateral = tpm_collateral,
    .verify = tpm_verify,
    .bind = tpm_bind,
    .claims = tpm_claims,
    .incoming = tpm_incoming,
    .appraised = tpm_appraised,
    .release = tpm_release,
    .inspect = tpm_inspect,
};
