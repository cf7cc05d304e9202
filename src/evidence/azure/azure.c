/*
 * azure.c - the AzureGuest evidence type (azure.h): an Azure confidential VM's hardware report
 * (SEV-SNP report or TDX quote, verified by the SevSnpVm or TdxVm type), the HCL runtime data its
 * report data binds (docs/reference/azure-cvm.md), and the vTPM quote by that runtime data's
 * HCLAkPub (verified by the TpmQuote type). The three types run as they would alone; this file
 * decodes the request into their requests and joins their claims into MAA's azurevm token.
 */
#include "evidence/azure/azure.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "attest/attest.h"
#include "core/codec.h"
#include "evidence/azure/hcl.h"
#include "evidence/common.h"
#include "evidence/snp/snp.h"
#include "evidence/tdx/tdx.h"
#include "evidence/tpm/tpm.h"
#include "evidence/tpm/tpm2.h"
#include "token/jwk.h"

#define INFO_MAX ((size_t)8 << 20)
#define PART_MAX ((size_t)4 << 20)

struct azure_state {
    json_t *info;  /* the decoded attestationInfo */
    bool maa_form; /* MAA's {IsolationInfo, TpmInfo, ...}; else trustee's {hcl_report, tpm_quote} */
    enum att_hcl_tee tee_kind;
    const struct att_evidence_type *inner; /* SevSnpVm or TdxVm */
    void *inner_state;
    struct att_evidence_request inner_req;
    struct att_buf hardware, runtime, hcl, quote;
    void *tpm_state;
    struct att_evidence_request tpm_req;
    json_t *tpm_body;
    json_t *runtime_json;
    json_t *tee;     /* the hardware report's claims, once verified */
    uint32_t quoted; /* the PCRs the vTPM quote covers */
    /* the key Microsoft's clients ask the answer to be sealed to (TpmInfo.EncKeyPub), its
     * certification by the AK (EncKeyCertifyInfo, EncKeyCertifyInfoSignature) */
    bool sealed;
    struct att_buf enc_pub, enc_certify, enc_sig;
    EVP_PKEY *hcl_ak; /* HCLAkPub */
    json_t *enc_jwk;  /* EncKeyPub as a JWK, once verified */
};

static void azure_release(void *state)
{
    struct azure_state *s = state;
    if (s->inner_state != NULL) {
        s->inner->release(s->inner_state);
        free(s->inner_state);
    }
    if (s->tpm_state != NULL) {
        att_evidence_tpm_quote.release(s->tpm_state);
        free(s->tpm_state);
    }
    json_decref(s->info);
    json_decref(s->tpm_body);
    json_decref(s->runtime_json);
    json_decref(s->tee);
    json_decref(s->enc_jwk);
    EVP_PKEY_free(s->hcl_ak);
    att_buf_cleanup(&s->enc_pub);
    att_buf_cleanup(&s->enc_certify);
    att_buf_cleanup(&s->enc_sig);
    att_buf_cleanup(&s->hardware);
    att_buf_cleanup(&s->runtime);
    att_buf_cleanup(&s->hcl);
    att_buf_cleanup(&s->quote);
}

/* ---- decoding ------------------------------------------------------------------------------- */

/* Base64 as Azure's clients write it: the URL or the standard alphabet, padded or not. */
static att_err any_base64(const char *s, size_t n, struct att_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+' || s[i] == '/') {
            while (n > 0 && s[n - 1] == '=') {
                n--;
            }
            struct att_buf padded;
            att_buf_init(&padded, n + 4);
            att_err rc = att_buf_put(&padded, s, n);
            while (rc == ATT_OK && padded.len % 4 != 0) {
                rc = att_buf_putc(&padded, '=');
            }
            if (rc == ATT_OK) {
                rc = att_b64_decode((const char *)padded.data, padded.len, out);
            }
            att_buf_cleanup(&padded);
            return rc;
        }
    }
    return att_b64url_padded(s, n, out);
}

static att_err member_bytes(const json_t *obj, const char *key, bool hex, struct att_buf *out,
                            char *msg, size_t msg_len)
{
    const json_t *v = json_object_get(obj, key);
    att_buf_init(out, PART_MAX);
    if (!json_is_string(v) ||
        (hex ? att_hex_decode(json_string_value(v), json_string_length(v), out)
             : any_base64(json_string_value(v), json_string_length(v), out)) != ATT_OK) {
        return att_failf(ATT_ERR_HCL_FORMAT, msg, msg_len, "\"%s\" is missing or not %s", key,
                         hex ? "hex" : "base64");
    }
    return ATT_OK;
}

/* {"SnpReport": b64url, "VcekCertChain": b64url(PEM)}, the document SevSnpVm takes. */
static att_err snp_document(struct att_bytes report, struct att_bytes chain, struct att_buf *out)
{
    struct att_buf r64;
    struct att_buf c64;
    att_buf_init(&r64, 2 * report.len + 8);
    att_buf_init(&c64, 2 * chain.len + 8);
    att_err rc = att_b64url_encode(report.ptr, report.len, &r64);
    if (rc == ATT_OK && chain.len > 0) {
        rc = att_b64url_encode(chain.ptr, chain.len, &c64);
    }
    if (rc == ATT_OK) {
        att_buf_reset(out);
        rc = chain.len > 0 ? att_buf_printf(out, "{\"SnpReport\":\"%s\",\"VcekCertChain\":\"%s\"}",
                                            att_buf_cstr(&r64), att_buf_cstr(&c64))
                           : att_buf_printf(out, "{\"SnpReport\":\"%s\"}", att_buf_cstr(&r64));
    }
    att_buf_cleanup(&r64);
    att_buf_cleanup(&c64);
    return rc;
}

/* A TPMT_SIGNATURE for a bare RSASSA-PKCS1-v1_5 SHA-256 signature (what the vTPM's AK makes),
 * base64url. */
static json_t *rsassa_signature(struct att_bytes sig)
{
    struct att_buf t;
    struct att_buf b;
    json_t *out = NULL;
    att_buf_init(&t, sig.len + 8);
    att_buf_init(&b, 2 * sig.len + 16);
    uint8_t head[6] = {0x00, 0x14, 0x00, 0x0B, (uint8_t)(sig.len >> 8), (uint8_t)sig.len};
    if (sig.len <= 0xFFFF && att_buf_put(&t, head, sizeof(head)) == ATT_OK &&
        att_buf_put(&t, sig.ptr, sig.len) == ATT_OK &&
        att_b64url_encode(t.data, t.len, &b) == ATT_OK) {
        out = json_stringn((const char *)b.data, b.len);
    }
    att_buf_cleanup(&t);
    att_buf_cleanup(&b);
    return out;
}

static json_t *b64url_json(const struct att_buf *bytes)
{
    struct att_buf b;
    att_buf_init(&b, 2 * bytes->len + 8);
    json_t *out = att_b64url_encode(bytes->data, bytes->len, &b) == ATT_OK
                      ? json_stringn((const char *)b.data, b.len)
                      : NULL;
    att_buf_cleanup(&b);
    return out;
}

/* MAA's attestationInfo: IsolationInfo {Type, Evidence {Proof, RunTimeData}}, TpmInfo {PcrQuote,
 * PcrSignature, PCRs, AikPub?}, TcgLogs? (docs/reference/azure-cvm.md "AzureGuest request"). */
static att_err decode_maa(struct azure_state *s, struct att_buf *sig, struct att_buf *log,
                          json_t *pcrs, char *msg, size_t msg_len)
{
    const json_t *iso = json_object_get(s->info, "IsolationInfo");
    const json_t *ev = json_object_get(iso, "Evidence");
    const json_t *tpm = json_object_get(s->info, "TpmInfo");
    const char *type = json_string_value(json_object_get(iso, "Type"));
    if (type != NULL && strcmp(type, "SevSnp") == 0) {
        s->tee_kind = ATT_HCL_SNP;
    } else if (type != NULL && strcmp(type, "Tdx") == 0) {
        s->tee_kind = ATT_HCL_TDX;
    } else {
        return att_failf(ATT_ERR_HCL_FORMAT, msg, msg_len,
                         "IsolationInfo.Type must be SevSnp or Tdx (Trusted Launch VMs have no "
                         "hardware report)");
    }
    ATT_TRY(member_bytes(ev, "Proof", false, &s->hardware, msg, msg_len));
    ATT_TRY(member_bytes(ev, "RunTimeData", false, &s->runtime, msg, msg_len));
    if (s->tee_kind == ATT_HCL_SNP) {
        /* Proof: {"SnpReport", "VcekCertChain"} in either base64 alphabet: made uniform */
        json_error_t jerr;
        json_t *doc = json_loadb((const char *)s->hardware.data, s->hardware.len, 0, &jerr);
        struct att_buf report;
        struct att_buf chain;
        att_err rc = member_bytes(doc, "SnpReport", false, &report, msg, msg_len);
        att_buf_init(&chain, PART_MAX);
        if (rc == ATT_OK && json_object_get(doc, "VcekCertChain") != NULL) {
            rc = member_bytes(doc, "VcekCertChain", false, &chain, msg, msg_len);
        }
        if (rc == ATT_OK) {
            struct att_bytes rb = {report.data, report.len};
            struct att_bytes cb = {chain.data, chain.len};
            rc = snp_document(rb, cb, &s->hardware);
        }
        att_buf_cleanup(&report);
        att_buf_cleanup(&chain);
        json_decref(doc);
        ATT_TRY(rc);
    }
    ATT_TRY(member_bytes(tpm, "PcrQuote", false, &s->quote, msg, msg_len));
    ATT_TRY(member_bytes(tpm, "PcrSignature", false, sig, msg, msg_len));
    if (json_object_get(tpm, "EncKeyPub") != NULL ||
        json_object_get(tpm, "EncKeyCertifyInfo") != NULL ||
        json_object_get(tpm, "EncKeyCertifyInfoSignature") != NULL) {
        /* all three, or none: the key alone would be a key nobody vouched for */
        s->sealed = true;
        ATT_TRY(member_bytes(tpm, "EncKeyPub", false, &s->enc_pub, msg, msg_len));
        ATT_TRY(member_bytes(tpm, "EncKeyCertifyInfo", false, &s->enc_certify, msg, msg_len));
        ATT_TRY(member_bytes(tpm, "EncKeyCertifyInfoSignature", false, &s->enc_sig, msg, msg_len));
    }
    if (json_object_get(s->info, "TcgLogs") != NULL) {
        ATT_TRY(member_bytes(s->info, "TcgLogs", false, log, msg, msg_len));
    }
    size_t i;
    const json_t *p;
    json_t *bank = json_object();
    if (bank == NULL || json_object_set_new(pcrs, "sha256", bank) != 0) {
        return ATT_ERR_NOMEM;
    }
    json_array_foreach(json_object_get(tpm, "PCRs"), i, p)
    {
        struct att_buf d;
        struct att_buf hex;
        char key[16];
        const json_t *index = json_object_get(p, "Index");
        att_buf_init(&d, ATT_TPM_DIGEST_MAX);
        att_err rc = json_is_integer(index) && json_integer_value(index) >= 0 &&
                             json_integer_value(index) < ATT_TPM_PCRS
                         ? member_bytes(p, "Digest", false, &d, msg, msg_len)
                         : att_failf(ATT_ERR_HCL_FORMAT, msg, msg_len,
                                     "TpmInfo.PCRs[%zu] needs an Index 0-23 and a Digest", i);
        att_buf_init(&hex, 2 * ATT_TPM_DIGEST_MAX + 1);
        if (rc == ATT_OK && (d.len == 0 || d.len > ATT_TPM_DIGEST_MAX)) {
            rc = att_failf(ATT_ERR_HCL_FORMAT, msg, msg_len,
                           "TpmInfo.PCRs[%zu].Digest has %zu bytes, not a PCR value", i, d.len);
        }
        if (rc == ATT_OK) {
            snprintf(key, sizeof(key), "%d", (int)json_integer_value(index));
            rc = att_hex_encode(d.data, d.len, &hex);
            if (rc == ATT_OK &&
                json_object_set_new(bank, key, json_stringn((const char *)hex.data, hex.len)) !=
                    0) {
                rc = ATT_ERR_NOMEM;
            }
        }
        att_buf_cleanup(&d);
        att_buf_cleanup(&hex);
        ATT_TRY(rc);
    }
    return ATT_OK;
}

/* One DER certificate as PEM text, in place. ATT_ERR_HCL_FORMAT when it is not one. */
static att_err der_to_pem(struct att_buf *b, char *msg, size_t msg_len)
{
    const unsigned char *p = b->data;
    X509 *x = d2i_X509(NULL, &p, (long)b->len);
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL;
    long n = 0;
    att_err rc =
        att_failf(ATT_ERR_HCL_FORMAT, msg, msg_len, "\"vcek\" is not a certificate (PEM, or DER)");
    if (x != NULL && p == b->data + b->len && bio != NULL && PEM_write_bio_X509(bio, x) == 1 &&
        (n = BIO_get_mem_data(bio, &pem)) > 0) {
        att_buf_reset(b);
        rc = att_buf_put(b, pem, (size_t)n);
    }
    X509_free(x);
    BIO_free(bio);
    ERR_clear_error();
    return rc;
}

/* trustee's evidence: {"hcl_report": b64url, "tpm_quote": {"message", "signature", "pcrs"}
 * (hex), "td_quote"? (TDX), "vcek"? (SNP: PEM or DER chain)}. */
static att_err decode_trustee(struct azure_state *s, struct att_buf *sig, json_t *pcrs, char *msg,
                              size_t msg_len)
{
    struct att_hcl_report hcl;
    const json_t *tq = json_object_get(s->info, "tpm_quote");
    ATT_TRY(member_bytes(s->info, "hcl_report", false, &s->hcl, msg, msg_len));
    struct att_bytes hb = {s->hcl.data, s->hcl.len};
    ATT_TRY(att_hcl_report_parse(hb, &hcl, msg, msg_len));
    if (hcl.hash_type != 1) {
        /* the hardware reports bind SHA-256 of the runtime data (the inner types check it) */
        return att_failf(ATT_ERR_HCL_FORMAT, msg, msg_len,
                         "HCL report data hash type %u: only SHA-256 (1) is in use", hcl.hash_type);
    }
    s->tee_kind = hcl.tee;
    att_buf_init(&s->runtime, ATT_HCL_MAX_RUNTIME);
    ATT_TRY(att_buf_put(&s->runtime, hcl.runtime.ptr, hcl.runtime.len));
    if (s->tee_kind == ATT_HCL_TDX) {
        ATT_TRY(member_bytes(s->info, "td_quote", false, &s->hardware, msg, msg_len));
    } else {
        struct att_buf chain;
        att_err rc = ATT_OK;
        att_buf_init(&chain, PART_MAX);
        if (json_object_get(s->info, "vcek") != NULL) {
            rc = member_bytes(s->info, "vcek", false, &chain, msg, msg_len);
            if (rc == ATT_OK && (chain.len < 10 || memcmp(chain.data, "-----BEGIN", 10) != 0)) {
                /* trustee sends the VCEK as DER or PEM: SevSnpVm takes PEM */
                rc = der_to_pem(&chain, msg, msg_len);
            }
        }
        att_buf_init(&s->hardware, PART_MAX);
        if (rc == ATT_OK) {
            struct att_bytes cb = {chain.data, chain.len};
            rc = snp_document(hcl.hardware, cb, &s->hardware);
        }
        att_buf_cleanup(&chain);
        ATT_TRY(rc);
    }
    ATT_TRY(member_bytes(tq, "message", true, &s->quote, msg, msg_len));
    ATT_TRY(member_bytes(tq, "signature", true, sig, msg, msg_len));
    json_t *bank = json_object();
    if (bank == NULL || json_object_set_new(pcrs, "sha256", bank) != 0) {
        return ATT_ERR_NOMEM;
    }
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(tq, "pcrs"), i, p)
    {
        char key[16];
        snprintf(key, sizeof(key), "%zu", i);
        if (!json_is_string(p) || json_object_set(bank, key, p) != 0) {
            return att_failf(ATT_ERR_HCL_FORMAT, msg, msg_len, "tpm_quote.pcrs[%zu] is not hex", i);
        }
    }
    return ATT_OK;
}

/* ---- steps ----------------------------------------------------------------------------------- */

static att_err azure_parse(void *state, const struct att_evidence_request *req, char *msg,
                           size_t msg_len)
{
    struct azure_state *s = state;
    struct att_buf info;
    struct att_buf sig;
    struct att_buf log;
    json_error_t jerr;
    json_t *pcrs = json_object();
    att_err rc = ATT_ERR_HCL_FORMAT;
    const json_t *text = json_object_get(req->body, "attestationInfo");
    if (text == NULL) {
        text = json_object_get(req->body, "AttestationInfo"); /* Microsoft's clients' spelling */
    }
    att_buf_init(&info, INFO_MAX);
    att_buf_init(&sig, PART_MAX);
    att_buf_init(&log, PART_MAX);
    /* (json_is_object evaluates its argument twice: load first) */
    if (json_is_string(text) &&
        any_base64(json_string_value(text), json_string_length(text), &info) == ATT_OK) {
        s->info = json_loadb((const char *)info.data, info.len, JSON_REJECT_DUPLICATES, &jerr);
    }
    if (!json_is_object(s->info)) {
        rc = att_failf(ATT_ERR_HCL_FORMAT, msg, msg_len,
                       "attestationInfo must be base64 of a JSON object");
        goto out;
    }
    if (req->runtime.present || req->init_time.present) {
        /* the HCL's runtime data is the one the hardware report binds; nothing else is */
        rc = att_failf(ATT_ERR_HCL_FORMAT, msg, msg_len,
                       "AzureGuest takes no runtimeData or initTimeData: the HCL runtime data in "
                       "the evidence is what the hardware report binds");
        goto out;
    }
    s->maa_form = json_object_get(s->info, "hcl_report") == NULL;
    ATT_GUARD(s->maa_form ? decode_maa(s, &sig, &log, pcrs, msg, msg_len)
                          : decode_trustee(s, &sig, pcrs, msg, msg_len));

    /* the hardware report, as SevSnpVm or TdxVm evidence bound to the runtime data */
    s->inner = s->tee_kind == ATT_HCL_SNP ? &att_evidence_snp : &att_evidence_tdx;
    s->inner_state = calloc(1, s->inner->state_size);
    ATT_CHECK(s->inner_state != NULL, ATT_ERR_NOMEM);
    s->inner_req.evidence = (struct att_bytes){s->hardware.data, s->hardware.len};
    s->inner_req.runtime.present = true;
    s->inner_req.runtime.json = true;
    s->inner_req.runtime.bytes = (struct att_bytes){s->runtime.data, s->runtime.len};
    ATT_GUARD(s->inner->parse(s->inner_state, &s->inner_req, msg, msg_len));

    /* the vTPM quote, as TpmQuote evidence by the runtime data's HCLAkPub; its signature's size
     * first, while nothing is held that the way out would have to release */
    if (sig.len > 512) {
        rc = att_failf(ATT_ERR_HCL_FORMAT, msg, msg_len,
                       "the vTPM quote's signature has %zu bytes, more than an RSA-4096 one",
                       sig.len);
        goto out;
    }
    struct att_bytes rt = {s->runtime.data, s->runtime.len};
    ATT_GUARD(att_hcl_runtime(rt, &s->runtime_json, &s->hcl_ak, msg, msg_len));
    json_t *jwk = NULL;
    size_t i;
    json_t *key;
    json_array_foreach(json_object_get(s->runtime_json, "keys"), i, key)
    {
        const char *kid = json_string_value(json_object_get(key, "kid"));
        if (kid != NULL && strcmp(kid, "HCLAkPub") == 0) {
            jwk = json_pack("{s:s,s:O,s:O}", "kty", "RSA", "n", json_object_get(key, "n"), "e",
                            json_object_get(key, "e"));
            break;
        }
    }
    struct att_bytes sb = {sig.data, sig.len};
    s->tpm_body =
        json_pack("{s:o,s:o,s:O}", "signature", rsassa_signature(sb), "akJwk", jwk, "pcrs", pcrs);
    ATT_CHECK(s->tpm_body != NULL, ATT_ERR_NOMEM);
    if (log.len > 0) {
        ATT_CHECK(json_object_set_new(s->tpm_body, "eventLog", b64url_json(&log)) == 0,
                  ATT_ERR_NOMEM);
    }
    /* freshness, as TpmQuote takes it: a challenge of /attest/TpmQuote:challenge or a nonce */
    json_t *challenge = json_object_get(req->body, "challenge");
    if (challenge != NULL) {
        ATT_CHECK(json_object_set(s->tpm_body, "challenge", challenge) == 0, ATT_ERR_NOMEM);
    }
    s->tpm_req.evidence = (struct att_bytes){s->quote.data, s->quote.len};
    s->tpm_req.body = s->tpm_body;
    s->tpm_req.nonce = req->nonce;
    s->tpm_req.sealed = s->sealed;
    s->tpm_state = calloc(1, att_evidence_tpm_quote.state_size);
    ATT_CHECK(s->tpm_state != NULL, ATT_ERR_NOMEM);
    ATT_GUARD(att_evidence_tpm_quote.parse(s->tpm_state, &s->tpm_req, msg, msg_len));
    struct att_tpm_quote q;
    struct att_bytes qb = {s->quote.data, s->quote.len};
    if (att_tpm_quote_parse(qb, &q, msg, msg_len) == ATT_OK) {
        for (size_t k = 0; k < q.nsel; k++) {
            s->quoted |= q.sel[k].mask;
        }
    }
    rc = ATT_OK;
out:
    json_decref(pcrs);
    att_buf_cleanup(&info);
    att_buf_cleanup(&sig);
    att_buf_cleanup(&log);
    return rc;
}

static att_err azure_collateral(void *state, const struct att_evidence_env *env, char *msg,
                                size_t msg_len)
{
    struct azure_state *s = state;
    ATT_TRY(s->inner->collateral(s->inner_state, env, msg, msg_len));
    return att_evidence_tpm_quote.collateral(s->tpm_state, env, msg, msg_len);
}

/*
 * The key to seal the answer to (docs/reference/azure-cvm.md, "Sealed answer"): an RSA
 * decryption key that cannot leave its TPM (fixedTPM, decrypt, not restricted), which the AK -
 * HCLAkPub, whose TPM the hardware report vouches for - certified with TPM2_Certify (Part 3
 * §18.2): the certification names it (nameAlg || H(TPMT_PUBLIC)) and verifies with the AK. Then
 * only that vTPM can read the token, and replayed evidence gains its sender nothing.
 */
static att_err check_enc_key(struct azure_state *s, char *msg, size_t msg_len)
{
    struct att_tpm_key enc;
    struct att_tpm_key ak;
    struct att_tpm_certify c;
    struct att_tpm_signature sig = {ATT_TPM_ALG_RSASSA, ATT_TPM_ALG_SHA256, {0}, 0};
    struct att_bytes pub = {s->enc_pub.data, s->enc_pub.len};
    char why[192] = "";
    if (att_tpm_key_from_public(pub, &enc, why, sizeof(why)) != ATT_OK) {
        return att_failf(ATT_ERR_HCL_ENC_KEY, msg, msg_len, "EncKeyPub: %s", why);
    }
    uint32_t need = ATT_TPMA_FIXED_TPM | ATT_TPMA_DECRYPT;
    att_err rc = ATT_OK;
    if (enc.type != ATT_TPM_ALG_RSA || (enc.attributes & need) != need ||
        (enc.attributes & ATT_TPMA_RESTRICTED) != 0) {
        rc = att_failf(ATT_ERR_HCL_ENC_KEY, msg, msg_len,
                       "EncKeyPub (attributes 0x%08x) is not an RSA decryption key bound to its "
                       "TPM (fixedTPM and decrypt set, restricted clear)",
                       enc.attributes);
    }
    struct att_bytes cb = {s->enc_certify.data, s->enc_certify.len};
    if (rc == ATT_OK && att_tpm_certify_parse(cb, &c, why, sizeof(why)) != ATT_OK) {
        rc = att_failf(ATT_ERR_HCL_ENC_KEY, msg, msg_len, "EncKeyCertifyInfo: %s", why);
    }
    if (rc == ATT_OK && (c.name_len != enc.name_len || memcmp(c.name, enc.name, c.name_len) != 0)) {
        rc = att_failf(ATT_ERR_HCL_ENC_KEY, msg, msg_len,
                       "EncKeyCertifyInfo certifies another object than EncKeyPub");
    }
    if (rc == ATT_OK && (s->enc_sig.len == 0 || s->enc_sig.len > sizeof(sig.sig))) {
        rc = att_failf(ATT_ERR_HCL_ENC_KEY, msg, msg_len,
                       "EncKeyCertifyInfoSignature has %zu bytes, not an RSA signature",
                       s->enc_sig.len);
    }
    if (rc == ATT_OK && EVP_PKEY_up_ref(s->hcl_ak) != 1) {
        rc = ATT_ERR_CRYPTO;
    }
    if (rc == ATT_OK) { /* att_tpm_key_from_pkey takes the reference */
        memcpy(sig.sig, s->enc_sig.data, s->enc_sig.len);
        sig.sig_len = s->enc_sig.len;
        rc = att_tpm_key_from_pkey(s->hcl_ak, &ak, msg, msg_len);
        if (rc == ATT_OK &&
            att_tpm_signed_verify(cb, "EncKeyCertifyInfo", &sig, &ak, why, sizeof(why)) != ATT_OK) {
            rc = att_failf(ATT_ERR_HCL_ENC_KEY, msg, msg_len,
                           "EncKeyCertifyInfoSignature is not HCLAkPub's signature of "
                           "EncKeyCertifyInfo");
        }
        att_tpm_key_free(&ak);
    }
    if (rc == ATT_OK) {
        rc = att_jwk_rsa_public(enc.pkey, ATT_SEALED_ANSWER_KID, &s->enc_jwk);
    }
    EVP_PKEY *check = NULL;
    if (rc == ATT_OK && att_jwk_rsa_key(s->enc_jwk, &check) != ATT_OK) {
        /* the answer is sealed to the key the token names, read back as the sealer reads it */
        rc = att_failf(ATT_ERR_HCL_ENC_KEY, msg, msg_len, "EncKeyPub is not a usable RSA key");
    }
    EVP_PKEY_free(check);
    if (rc == ATT_OK && json_object_set_new(s->enc_jwk, "key_ops", json_pack("[s]", "encrypt"))) {
        rc = ATT_ERR_NOMEM;
    }
    att_tpm_key_free(&enc);
    return rc;
}

/* The hardware report, then its binding of the runtime data (which names the vTPM's key), then
 * the vTPM quote by that key. */
static att_err azure_verify(void *state, int64_t now, int64_t grace, char *msg, size_t msg_len)
{
    struct azure_state *s = state;
    ATT_TRY(s->inner->verify(s->inner_state, now, grace, msg, msg_len));
    att_err rc = s->inner->bind(s->inner_state, &s->inner_req, msg, msg_len);
    if (rc == ATT_ERR_RUNTIME_DATA_BINDING) {
        return att_failf(ATT_ERR_HCL_BINDING, msg, msg_len,
                         "the hash of the HCL runtime data is not the hardware report's report "
                         "data");
    }
    ATT_TRY(rc);
    /* the report's claims, for the checks below and the token */
    s->tee = json_object();
    ATT_ENSURE(s->tee != NULL, ATT_ERR_NOMEM);
    ATT_TRY(s->inner->claims(s->inner_state, &s->inner_req, s->tee));
    const json_t *vmpl = json_object_get(s->tee, "x-ms-sevsnpvm-vmpl");
    if (s->tee_kind == ATT_HCL_SNP && (!json_is_integer(vmpl) || json_integer_value(vmpl) != 0)) {
        /* only the paravisor runs at VMPL 0: a report from above it binds data the guest chose,
         * so its HCLAkPub would vouch for nothing */
        return att_failf(ATT_ERR_HCL_VMPL, msg, msg_len,
                         "the SEV-SNP report was made at VMPL %lld, not by the paravisor at VMPL 0",
                         (long long)json_integer_value(vmpl));
    }
    ATT_TRY(att_evidence_tpm_quote.verify(s->tpm_state, now, grace, msg, msg_len));
    return s->sealed ? check_enc_key(s, msg, msg_len) : ATT_OK;
}

/* Freshness: the vTPM quote's qualifying data. */
static att_err azure_bind(void *state, const struct att_evidence_request *req, char *msg,
                          size_t msg_len)
{
    struct azure_state *s = state;
    (void)req;
    return att_evidence_tpm_quote.bind(s->tpm_state, &s->tpm_req, msg, msg_len);
}

/* The hardware report lets its host debug the VM (SNP policy DEBUG, TD attribute DEBUG). */
static bool debuggable(const json_t *tee)
{
    return json_is_true(json_object_get(tee, "x-ms-sevsnpvm-is-debuggable")) ||
           json_is_true(json_object_get(tee, "tdx_td_attributes_debug"));
}

/* MAA's x-ms-azurevm-* claims from the client's OS description and the HCL's VM configuration. */
static att_err azurevm_claims(const struct azure_state *s, json_t *t)
{
    static const struct {
        const char *member;
        const char *claim;
    } os[] = {{"OSType", "x-ms-azurevm-ostype"},
              {"OSDistro", "x-ms-azurevm-osdistro"},
              {"OSBuild", "x-ms-azurevm-osbuild"}};
    for (size_t i = 0; s->maa_form && i < sizeof(os) / sizeof(os[0]); i++) {
        struct att_buf v;
        const json_t *m = json_object_get(s->info, os[i].member);
        att_buf_init(&v, 256);
        if (json_is_string(m) &&
            any_base64(json_string_value(m), json_string_length(m), &v) == ATT_OK) {
            json_t *str = json_stringn((const char *)v.data, v.len); /* NULL: not UTF-8 */
            if (str != NULL) {
                json_object_set_new(t, os[i].claim, str);
            }
        }
        att_buf_cleanup(&v);
    }
    const char *ostype = json_string_value(json_object_get(t, "x-ms-azurevm-ostype"));
    if (ostype != NULL) {
        ATT_TRY(att_claim_set(t, "x-ms-azurevm-is-windows",
                              json_boolean(strcmp(ostype, "Windows") == 0)));
    }
    static const char *const versions[] = {"OSVersionMajor", "OSVersionMinor"};
    static const char *const vclaims[] = {"x-ms-azurevm-osversion-major",
                                          "x-ms-azurevm-osversion-minor"};
    for (size_t i = 0; s->maa_form && i < 2; i++) {
        const json_t *v = json_object_get(s->info, versions[i]);
        json_int_t n = json_is_integer(v)  ? json_integer_value(v)
                       : json_is_string(v) ? strtoll(json_string_value(v), NULL, 10)
                                           : -1;
        if (n >= 0) {
            ATT_TRY(att_claim_set(t, vclaims[i], json_integer(n)));
        }
    }
    const char *proto = json_string_value(json_object_get(s->info, "AttestationProtocolVersion"));
    if (proto != NULL) {
        ATT_TRY(att_claim_set(t, "x-ms-azurevm-attestation-protocol-ver", json_string(proto)));
    }
    const json_t *vmconf = json_object_get(s->runtime_json, "vm-configuration");
    const char *vmid = json_string_value(json_object_get(vmconf, "vmUniqueId"));
    if (vmid != NULL) {
        ATT_TRY(att_claim_set(t, "x-ms-azurevm-vmid", json_string(vmid)));
    }
    json_t *pcrs = json_array();
    ATT_TRY(att_claim_set(t, "x-ms-azurevm-attested-pcrs", pcrs));
    for (unsigned p = 0; p < ATT_TPM_PCRS; p++) {
        if ((s->quoted >> p & 1u) != 0 && json_array_append_new(pcrs, json_integer(p)) != 0) {
            return ATT_ERR_NOMEM;
        }
    }
    /* MAA's x-ms-runtime: the client's payload, and the key the answer is sealed to */
    json_t *cp = json_object_get(s->info, "ClientPayload");
    json_t *runtime = json_object();
    ATT_ENSURE(runtime != NULL, ATT_ERR_NOMEM);
    if (json_is_object(cp) && json_object_set(runtime, "client-payload", cp) != 0) {
        json_decref(runtime);
        return ATT_ERR_NOMEM;
    }
    if (s->enc_jwk != NULL &&
        json_object_set_new(runtime, "keys", json_pack("[O]", s->enc_jwk)) != 0) {
        json_decref(runtime);
        return ATT_ERR_NOMEM;
    }
    if (json_object_size(runtime) == 0) {
        json_decref(runtime);
        return ATT_OK;
    }
    return att_claim_set(t, "x-ms-runtime", runtime);
}

/* Azure's compliance verdict, as MAA's default gives it: a guest its host cannot debug, without
 * a migration agent (VMPL 0 is required of every SEV-SNP report here). */
static bool compliant(const json_t *tee)
{
    return !debuggable(tee) &&
           !json_is_true(json_object_get(tee, "x-ms-sevsnpvm-migration-allowed"));
}

/* The names azure_claims may set (evidence.h: claim_names), those of azurevm_claims among them;
 * the hardware report's claims are inside x-ms-isolation-tee. */
static const char *const azure_claim_names[] = {
    "x-ms-attestation-type",
    "secureboot",
    "x-ms-azurevm-ostype",
    "x-ms-azurevm-osdistro",
    "x-ms-azurevm-osbuild",
    "x-ms-azurevm-is-windows",
    "x-ms-azurevm-osversion-major",
    "x-ms-azurevm-osversion-minor",
    "x-ms-azurevm-attestation-protocol-ver",
    "x-ms-azurevm-vmid",
    "x-ms-azurevm-attested-pcrs",
    "x-ms-runtime",
    "nonce",
    "x-ms-isolation-tee",
    NULL,
};

static att_err azure_claims(void *state, const struct att_evidence_request *req, json_t *t)
{
    struct azure_state *s = state;
    json_t *tee = json_deep_copy(s->tee);
    json_t *tpm = json_object();
    att_err rc = tee != NULL && tpm != NULL ? ATT_OK : ATT_ERR_NOMEM;
    if (rc == ATT_OK) {
        rc = att_claim_set(tee, "x-ms-runtime", json_incref(s->runtime_json));
    }
    if (rc == ATT_OK && compliant(tee)) {
        rc = att_claim_set(tee, "x-ms-compliance-status", json_string("azure-compliant-cvm"));
    }
    if (rc == ATT_OK) {
        rc = att_evidence_tpm_quote.claims(s->tpm_state, &s->tpm_req, tpm);
    }
    if (rc == ATT_OK) {
        rc = att_claim_set(t, "x-ms-attestation-type", json_string("azurevm"));
    }
    if (rc == ATT_OK) {
        /* Secure Boot as the log proves it, else as the HCL configured the VM */
        json_t *sb = json_object_get(tpm, "x-ms-tpm-secureboot");
        const json_t *conf =
            json_object_get(json_object_get(s->runtime_json, "vm-configuration"), "secure-boot");
        rc = att_claim_set(t, "secureboot",
                           json_boolean(sb != NULL ? json_is_true(sb) : json_is_true(conf)));
    }
    if (rc == ATT_OK) {
        rc = azurevm_claims(s, t);
    }
    if (rc == ATT_OK && req->nonce != NULL) {
        rc = att_claim_set(t, "nonce", json_string(req->nonce));
    }
    if (rc == ATT_OK) {
        rc = att_claim_set(t, "x-ms-isolation-tee", tee);
        tee = NULL;
    }
    json_decref(tee);
    json_decref(tpm);
    return rc;
}

static att_err azure_incoming(void *state, struct att_claim_list *in)
{
    struct azure_state *s = state;
    ATT_TRY(att_claim_list_add(in, att_claim_boolean("x-ms-isolation-tee-debuggable",
                                                     debuggable(s->tee),
                                                     ATT_ISSUER_ATTESTATION_SERVICE)));
    return att_evidence_tpm_quote.incoming(s->tpm_state, in);
}

/* The vTPM quote's challenge is used up once the policy accepted the VM. */
static att_err azure_appraised(void *state, const struct att_policy_result *res, char *msg,
                               size_t msg_len)
{
    struct azure_state *s = state;
    (void)res;
    return att_tpm_quote_use_challenge(s->tpm_state, msg, msg_len);
}

static att_err azure_inspect(struct att_bytes evidence, json_t **out, char *msg, size_t msg_len)
{
    struct att_hcl_report r;
    ATT_TRY(att_hcl_report_parse(evidence, &r, msg, msg_len));
    json_error_t jerr;
    json_t *rt = json_loadb((const char *)r.runtime.ptr, r.runtime.len, 0, &jerr);
    *out = json_pack("{s:I,s:s,s:I,s:o}", "version", (json_int_t)r.version, "tee",
                     r.tee == ATT_HCL_SNP ? "SevSnp" : "Tdx", "hashType", (json_int_t)r.hash_type,
                     "runtimeData", rt != NULL ? rt : json_null());
    return *out != NULL ? ATT_OK : ATT_ERR_NOMEM;
}

const struct att_evidence_type att_evidence_azure_guest = {
    .name = "AzureGuest",
    .cli_name = "azure",
    .policy = ATT_POLICY_AZURE_GUEST,
    .seals_answer = true,
    .member = NULL,
    .legacy_body = false,
    .verified = "guest evidence",
    .claim_names = azure_claim_names,
    .aliases = NULL,
    .tcb_status_claim = NULL,
    .state_size = sizeof(struct azure_state),
    .parse = azure_parse,
    .collateral = azure_collateral,
    .verify = azure_verify,
    .bind = azure_bind,
    .claims = azure_claims,
    .incoming = azure_incoming,
    .appraised = azure_appraised,
    .release = azure_release,
    .inspect = azure_inspect,
};
