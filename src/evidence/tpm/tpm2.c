/*
 * tpm2.c - TPM 2.0 quotes, signatures and attestation keys (tpm2.h; docs/reference/tpm.md).
 * libtss2-mu decodes the wire structures with its own bounds checks; every input is consumed
 * exactly, and what the library leaves open (magic, type, PCR range, key fields) is checked
 * here.
 */
#include "evidence/tpm/tpm2.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <tss2/tss2_mu.h>

#include "core/buf.h"
#include "core/codec.h"
#include "core/mem.h"
#include "crypto/ecdsa.h"
#include "evidence/tpm/memo.h"

#define TPM_GENERATED_VALUE 0xFF544347u /* Part 2 §6.2 */
#define TPM_ST_ATTEST_QUOTE 0x8018      /* Part 2 §6.9 */
#define TPM_ST_ATTEST_CERTIFY 0x8017    /* Part 2 §6.9 */
#define TPM_ECC_NIST_P256 0x0003        /* Part 2 §6.4 */
#define TPM_ECC_NIST_P384 0x0004
#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 4096

/*
 * libtss2-mu logs every refused structure to stderr; a refused client structure is an answer to
 * the client, not an event for the operator's log. Set before main (one thread), unless the
 * operator chose a level (TSS2_LOG, tpm2-tss doc/logging.md).
 */
__attribute__((constructor)) static void tss2_quiet(void)
{
    setenv("TSS2_LOG", "all+NONE", 0);
}

struct hash_alg {
    uint16_t alg;
    const char *name; /* MAA's bank name */
    const char *md;   /* OpenSSL digest name */
    size_t size;
};

static const struct hash_alg hashes[ATT_TPM_BANKS] = {
    {ATT_TPM_ALG_SHA1, "SHA1", "SHA1", 20},
    {ATT_TPM_ALG_SHA256, "SHA256", "SHA256", 32},
    {ATT_TPM_ALG_SHA384, "SHA384", "SHA384", 48},
    {ATT_TPM_ALG_SHA512, "SHA512", "SHA512", 64},
};

int att_tpm_bank_of(uint16_t alg)
{
    for (int i = 0; i < ATT_TPM_BANKS; i++) {
        if (hashes[i].alg == alg) {
            return i;
        }
    }
    return -1;
}

size_t att_tpm_digest_size(uint16_t alg)
{
    int b = att_tpm_bank_of(alg);
    return b < 0 ? 0 : hashes[b].size;
}

const char *att_tpm_alg_name(uint16_t alg)
{
    int b = att_tpm_bank_of(alg);
    return b < 0 ? "unknown" : hashes[b].name;
}

/* Digests fetched once: OpenSSL 3 otherwise looks each one up again on every use (its
 * "implicit fetch", a locked table search), which a log of many events pays per event. */
static EVP_MD *fetched[ATT_TPM_BANKS];
static pthread_once_t fetched_once = PTHREAD_ONCE_INIT;

static void fetch_digests(void)
{
    for (size_t i = 0; i < ATT_TPM_BANKS; i++) {
        fetched[i] = EVP_MD_fetch(NULL, hashes[i].md, NULL); /* kept until exit */
    }
}

const EVP_MD *att_tpm_md(uint16_t alg)
{
    int b = att_tpm_bank_of(alg);
    pthread_once(&fetched_once, fetch_digests);
    return b < 0 ? NULL : fetched[b];
}

att_err att_tpm_pcrs_set(struct att_tpm_pcrs *p, uint16_t alg, uint32_t index,
                         struct att_bytes value, char *msg, size_t msg_len)
{
    int b = att_tpm_bank_of(alg);
    if (b < 0) {
        return att_failf(ATT_ERR_TPM_FORMAT, msg, msg_len, "PCR bank 0x%04x is not supported",
                         (unsigned)alg);
    }
    if (index >= ATT_TPM_PCRS) {
        return att_failf(ATT_ERR_TPM_FORMAT, msg, msg_len, "PCR %u is out of range 0-%d",
                         (unsigned)index, ATT_TPM_PCRS - 1);
    }
    if (value.len != hashes[b].size) {
        return att_failf(ATT_ERR_TPM_FORMAT, msg, msg_len,
                         "PCR %u of bank %s has %zu bytes, not %zu", (unsigned)index,
                         hashes[b].name, value.len, hashes[b].size);
    }
    memcpy(p->bank[b].value[index], value.ptr, value.len);
    p->bank[b].have |= 1u << index;
    return ATT_OK;
}

/* libtss2-mu's verdict on `what` (rc, and how much of `len` it read): it must decode the
 * input exactly. (The library refuses a NULL buffer with TSS2_MU_RC_BAD_REFERENCE.) */
static att_err decoded(const char *what, TSS2_RC rc, size_t off, size_t len, char *msg,
                       size_t msg_len)
{
    if (rc != TSS2_RC_SUCCESS) {
        return att_failf(ATT_ERR_TPM_FORMAT, msg, msg_len, "%s does not decode (%zu bytes)", what,
                         len);
    }
    if (off != len) {
        return att_failf(ATT_ERR_TPM_FORMAT, msg, msg_len, "%s has %zu trailing bytes", what,
                         len - off);
    }
    return ATT_OK;
}

/* ---- TPMS_ATTEST ------------------------------------------------------------------------ */

/* A TPMS_ATTEST: exactly `in`, nothing left over. */
static att_err attest_decode(struct att_bytes in, TPMS_ATTEST *a, char *msg, size_t msg_len)
{
    size_t off = 0;
    memset(a, 0, sizeof(*a));
    TSS2_RC rc = Tss2_MU_TPMS_ATTEST_Unmarshal(in.ptr, in.len, &off, a);
    return decoded("TPMS_ATTEST", rc, off, in.len, msg, msg_len);
}

att_err att_tpm_quote_parse(struct att_bytes in, struct att_tpm_quote *q, char *msg, size_t msg_len)
{
    TPMS_ATTEST a;

    memset(q, 0, sizeof(*q));
    ATT_TRY(attest_decode(in, &a, msg, msg_len));
    /* Part 1 §36.3: only a TPM puts TPM_GENERATED_VALUE into what it signs. */
    if (a.magic != TPM_GENERATED_VALUE) {
        return att_failf(ATT_ERR_TPM_NOT_QUOTE, msg, msg_len,
                         "TPMS_ATTEST magic is 0x%08x, not TPM_GENERATED_VALUE", a.magic);
    }
    if (a.type != TPM_ST_ATTEST_QUOTE) {
        return att_failf(ATT_ERR_TPM_NOT_QUOTE, msg, msg_len,
                         "TPMS_ATTEST type is 0x%04x, not TPM_ST_ATTEST_QUOTE", (unsigned)a.type);
    }
    const TPML_PCR_SELECTION *sel = &a.attested.quote.pcrSelect;
    for (uint32_t i = 0; i < sel->count; i++) {
        const TPMS_PCR_SELECTION *s = &sel->pcrSelections[i];
        uint32_t mask = 0;
        for (uint32_t j = 0; j < s->sizeofSelect; j++) {
            mask |= (uint32_t)s->pcrSelect[j] << (8 * j);
        }
        if (att_tpm_bank_of(s->hash) < 0) {
            return att_failf(ATT_ERR_TPM_FORMAT, msg, msg_len,
                             "quote selects PCR bank 0x%04x, which is not supported",
                             (unsigned)s->hash);
        }
        if (mask >> ATT_TPM_PCRS != 0) {
            return att_failf(ATT_ERR_TPM_FORMAT, msg, msg_len,
                             "quote selects PCRs above %d in bank %s", ATT_TPM_PCRS - 1,
                             att_tpm_alg_name(s->hash));
        }
        for (size_t k = 0; k < q->nsel; k++) {
            if (q->sel[k].alg == s->hash) {
                return att_failf(ATT_ERR_TPM_FORMAT, msg, msg_len, "quote selects bank %s twice",
                                 att_tpm_alg_name(s->hash));
            }
        }
        q->sel[q->nsel].alg = s->hash;
        q->sel[q->nsel].mask = mask;
        q->nsel++;
    }
    q->raw = in;
    memcpy(q->signer_name, a.qualifiedSigner.name, a.qualifiedSigner.size);
    q->signer_name_len = a.qualifiedSigner.size;
    memcpy(q->extra, a.extraData.buffer, a.extraData.size);
    q->extra_len = a.extraData.size;
    q->clock = a.clockInfo.clock;
    q->reset_count = a.clockInfo.resetCount;
    q->restart_count = a.clockInfo.restartCount;
    q->safe = a.clockInfo.safe != 0;
    q->firmware_version = a.firmwareVersion;
    memcpy(q->pcr_digest, a.attested.quote.pcrDigest.buffer, a.attested.quote.pcrDigest.size);
    q->pcr_digest_len = a.attested.quote.pcrDigest.size;
    return ATT_OK;
}

att_err att_tpm_certify_parse(struct att_bytes in, struct att_tpm_certify *c, char *msg,
                              size_t msg_len)
{
    TPMS_ATTEST a;

    memset(c, 0, sizeof(*c));
    ATT_TRY(attest_decode(in, &a, msg, msg_len));
    if (a.magic != TPM_GENERATED_VALUE || a.type != TPM_ST_ATTEST_CERTIFY) {
        return att_failf(ATT_ERR_TPM_FORMAT, msg, msg_len,
                         "TPMS_ATTEST of magic 0x%08x and type 0x%04x is not a TPM-generated "
                         "certification (TPM_ST_ATTEST_CERTIFY)",
                         a.magic, (unsigned)a.type);
    }
    if (a.attested.certify.name.size > sizeof(c->name)) {
        return att_failf(ATT_ERR_TPM_FORMAT, msg, msg_len, "certified name of %u bytes",
                         (unsigned)a.attested.certify.name.size);
    }
    c->raw = in;
    memcpy(c->name, a.attested.certify.name.name, a.attested.certify.name.size);
    c->name_len = a.attested.certify.name.size;
    return ATT_OK;
}

uint32_t att_tpm_quote_selected(const struct att_tpm_quote *q, uint16_t alg)
{
    for (size_t i = 0; i < q->nsel; i++) {
        if (q->sel[i].alg == alg) {
            return q->sel[i].mask;
        }
    }
    return 0;
}

/* ---- TPMT_SIGNATURE --------------------------------------------------------------------- */

/* An ECDSA-Sig-Value from big-endian r and s of any length. */
static att_err ecdsa_der(const uint8_t *r, size_t rlen, const uint8_t *s, size_t slen,
                         struct att_tpm_signature *out)
{
    att_err rc = ATT_ERR_NOMEM;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *br = BN_bin2bn(r, (int)rlen, NULL);
    BIGNUM *bs = BN_bin2bn(s, (int)slen, NULL);
    unsigned char *p = out->sig;

    ATT_CHECK(sig != NULL && br != NULL && bs != NULL, ATT_ERR_NOMEM);
    ATT_CHECK(ECDSA_SIG_set0(sig, br, bs) == 1, ATT_ERR_CRYPTO);
    br = NULL;
    bs = NULL;
    int n = i2d_ECDSA_SIG(sig, NULL);
    ATT_CHECK(n > 0 && (size_t)n <= sizeof(out->sig), ATT_ERR_CRYPTO);
    ATT_CHECK(i2d_ECDSA_SIG(sig, &p) == n, ATT_ERR_CRYPTO);
    out->sig_len = (size_t)n;
    rc = ATT_OK;
out:
    BN_free(br);
    BN_free(bs);
    ECDSA_SIG_free(sig);
    return rc;
}

att_err att_tpm_signature_parse(struct att_bytes in, struct att_tpm_signature *s, char *msg,
                                size_t msg_len)
{
    TPMT_SIGNATURE t;
    size_t off = 0;

    memset(s, 0, sizeof(*s));
    memset(&t, 0, sizeof(t));
    TSS2_RC rc = Tss2_MU_TPMT_SIGNATURE_Unmarshal(in.ptr, in.len, &off, &t);
    ATT_TRY(decoded("TPMT_SIGNATURE", rc, off, in.len, msg, msg_len));
    s->scheme = t.sigAlg;
    switch (t.sigAlg) {
    case ATT_TPM_ALG_RSASSA:
    case ATT_TPM_ALG_RSAPSS:
        /* The union's RSASSA and RSAPSS members have one layout (Part 2 §11.3.1). */
        s->hash = t.signature.rsassa.hash;
        memcpy(s->sig, t.signature.rsassa.sig.buffer, t.signature.rsassa.sig.size);
        s->sig_len = t.signature.rsassa.sig.size;
        break;
    case ATT_TPM_ALG_ECDSA: {
        const TPMS_SIGNATURE_ECC *e = &t.signature.ecdsa;
        s->hash = e->hash;
        if (e->signatureR.size == 0 || e->signatureS.size == 0) {
            return att_failf(ATT_ERR_TPM_FORMAT, msg, msg_len, "ECDSA signature has an empty %s",
                             e->signatureR.size == 0 ? "R" : "S");
        }
        ATT_TRY(ecdsa_der(e->signatureR.buffer, e->signatureR.size, e->signatureS.buffer,
                          e->signatureS.size, s));
        break;
    }
    default:
        return att_failf(ATT_ERR_TPM_SIG_SCHEME, msg, msg_len,
                         "signature scheme 0x%04x is not RSASSA, RSAPSS or ECDSA",
                         (unsigned)t.sigAlg);
    }
    if (att_tpm_bank_of(s->hash) < 0) {
        return att_failf(ATT_ERR_TPM_SIG_SCHEME, msg, msg_len,
                         "signature hash 0x%04x is not SHA-1 or SHA-2", (unsigned)s->hash);
    }
    return ATT_OK;
}

/* ---- keys ------------------------------------------------------------------------------- */

static att_err rsa_key(const TPMT_PUBLIC *p, EVP_PKEY **out, char *msg, size_t msg_len)
{
    att_err rc = ATT_ERR_NOMEM;
    const TPM2B_PUBLIC_KEY_RSA *n = &p->unique.rsa;
    /* Part 2 §12.2.3.5: an exponent of zero means 2^16 + 1. */
    uint32_t e = p->parameters.rsaDetail.exponent == 0 ? 65537 : p->parameters.rsaDetail.exponent;
    uint16_t bits = p->parameters.rsaDetail.keyBits;
    BIGNUM *bn = BN_bin2bn(n->buffer, n->size, NULL);
    BIGNUM *be = BN_new();

    ATT_CHECK(bn != NULL && be != NULL && BN_set_word(be, e) == 1, ATT_ERR_NOMEM);
    /* RFC 8017 §3.1: n is a product of odd primes, e odd and above 1 */
    if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS || BN_num_bits(bn) != bits || !BN_is_odd(bn) ||
        (e & 1u) == 0 || e == 1) {
        rc = att_failf(ATT_ERR_KEY_TYPE, msg, msg_len,
                       "RSA key of %u bits (modulus %d bits%s, exponent %u) is not supported",
                       (unsigned)bits, BN_num_bits(bn), BN_is_odd(bn) ? "" : ", even", (unsigned)e);
        goto out;
    }
    ATT_GUARD(att_rsa_public_key(bn, be, out));
    rc = ATT_OK;
out:
    BN_free(bn);
    BN_free(be);
    return rc;
}

static att_err ecc_key(const TPMT_PUBLIC *p, EVP_PKEY **out, char *msg, size_t msg_len)
{
    att_err rc = ATT_ERR_NOMEM;
    const TPMS_ECC_POINT *pt = &p->unique.ecc;
    const char *group = NULL;
    size_t coord = 0;
    uint8_t point[1 + 2 * 48];
    OSSL_PARAM_BLD *bld = NULL;

    switch (p->parameters.eccDetail.curveID) {
    case TPM_ECC_NIST_P256:
        group = "P-256";
        coord = 32;
        break;
    case TPM_ECC_NIST_P384:
        group = "P-384";
        coord = 48;
        break;
    default:
        return att_failf(ATT_ERR_KEY_TYPE, msg, msg_len, "ECC curve 0x%04x is not P-256 or P-384",
                         (unsigned)p->parameters.eccDetail.curveID);
    }
    if (pt->x.size == 0 || pt->x.size > coord || pt->y.size == 0 || pt->y.size > coord) {
        return att_failf(ATT_ERR_KEY_TYPE, msg, msg_len,
                         "ECC point coordinates of %u and %u bytes do not fit %s",
                         (unsigned)pt->x.size, (unsigned)pt->y.size, group);
    }
    /* SEC 1 §2.3.3 uncompressed point, coordinates left-padded to the field size. */
    memset(point, 0, sizeof(point));
    point[0] = 0x04;
    memcpy(point + 1 + coord - pt->x.size, pt->x.buffer, pt->x.size);
    memcpy(point + 1 + 2 * coord - pt->y.size, pt->y.buffer, pt->y.size);
    bld = OSSL_PARAM_BLD_new();
    ATT_CHECK(bld != NULL, ATT_ERR_NOMEM);
    ATT_CHECK(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
                  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
                                                   1 + 2 * coord) == 1,
              ATT_ERR_NOMEM);
    rc = att_pkey_fromdata("EC", bld, out);
    if (rc == ATT_ERR_KEY_TYPE) {
        rc = att_failf(rc, msg, msg_len, "ECC point is not on %s", group);
    }
out:
    OSSL_PARAM_BLD_free(bld);
    return rc;
}

/* The key's name: nameAlg || H_nameAlg(TPMT_PUBLIC) (Part 1 §16). */
static att_err key_name(struct att_tpm_key *k, struct att_bytes area, char *msg, size_t msg_len)
{
    const EVP_MD *md = att_tpm_md(k->name_alg);
    unsigned int n = 0;
    if (md == NULL) {
        return att_failf(ATT_ERR_TPM_FORMAT, msg, msg_len,
                         "public area nameAlg 0x%04x is not SHA-1 or SHA-2", (unsigned)k->name_alg);
    }
    k->name[0] = (uint8_t)(k->name_alg >> 8);
    k->name[1] = (uint8_t)k->name_alg;
    if (EVP_Digest(area.ptr, area.len, k->name + 2, &n, md, NULL) != 1) {
        ERR_clear_error();
        return ATT_ERR_CRYPTO;
    }
    k->name_len = 2 + n;
    return ATT_OK;
}

att_err att_tpm_key_from_public(struct att_bytes in, struct att_tpm_key *k, char *msg,
                                size_t msg_len)
{
    TPMT_PUBLIC p;
    size_t off = 0;
    struct att_bytes area = in;
    struct att_rd r;
    uint16_t size = 0;

    memset(k, 0, sizeof(*k));
    memset(&p, 0, sizeof(p));
    /* A TPM2B_PUBLIC is the area behind its u16 size; a TPMT_PUBLIC starts with its type (1 or
     * 0x23), which no complete area's size can equal. */
    att_rd_init(&r, in.ptr, in.len);
    if (att_rd_u16be(&r, &size) == ATT_OK && size == att_rd_left(&r)) {
        att_rd_rest(&r, &area);
    }
    TSS2_RC rc = Tss2_MU_TPMT_PUBLIC_Unmarshal(area.ptr, area.len, &off, &p);
    ATT_TRY(decoded("TPMT_PUBLIC", rc, off, area.len, msg, msg_len));
    k->has_public_area = true;
    k->type = p.type;
    k->name_alg = p.nameAlg;
    k->attributes = p.objectAttributes;
    if (p.type == ATT_TPM_ALG_RSA) {
        k->scheme = p.parameters.rsaDetail.scheme.scheme;
        k->scheme_hash = p.parameters.rsaDetail.scheme.details.anySig.hashAlg;
    } else if (p.type == ATT_TPM_ALG_ECC) {
        k->scheme = p.parameters.eccDetail.scheme.scheme;
        k->scheme_hash = p.parameters.eccDetail.scheme.details.anySig.hashAlg;
    } else {
        return att_failf(ATT_ERR_KEY_TYPE, msg, msg_len,
                         "public area type 0x%04x is not RSA or ECC", (unsigned)p.type);
    }
    ATT_TRY(key_name(k, area, msg, msg_len));
    uint8_t area_hash[32];
    ATT_TRY(att_sha256(area.ptr, area.len, area_hash));
    if (att_tpm_memo_ak_get(area_hash, &k->pkey, k->pub_hash)) {
        return ATT_OK;
    }
    att_err err = p.type == ATT_TPM_ALG_RSA ? rsa_key(&p, &k->pkey, msg, msg_len)
                                            : ecc_key(&p, &k->pkey, msg, msg_len);
    if (err == ATT_OK) {
        err = att_tpm_key_pub_hash(k->pkey, k->pub_hash);
    }
    if (err == ATT_OK) {
        att_tpm_memo_ak_put(area_hash, k->pkey, k->pub_hash);
    } else {
        att_tpm_key_free(k);
    }
    return err;
}

att_err att_tpm_key_from_pkey(EVP_PKEY *pkey, struct att_tpm_key *k, char *msg, size_t msg_len)
{
    memset(k, 0, sizeof(*k));
    k->pkey = pkey;
    k->scheme = ATT_TPM_ALG_NULL;
    switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA:
        k->type = ATT_TPM_ALG_RSA;
        if (EVP_PKEY_get_bits(pkey) < RSA_MIN_BITS || EVP_PKEY_get_bits(pkey) > RSA_MAX_BITS) {
            break;
        }
        return att_tpm_key_pub_hash(pkey, k->pub_hash);
    case EVP_PKEY_EC: k->type = ATT_TPM_ALG_ECC; return att_tpm_key_pub_hash(pkey, k->pub_hash);
    default: break;
    }
    att_tpm_key_free(k);
    return att_failf(ATT_ERR_KEY_TYPE, msg, msg_len,
                     "attestation key is not RSA of 2048 to 4096 bits or ECC");
}

void att_tpm_key_free(struct att_tpm_key *k)
{
    EVP_PKEY_free(k->pkey);
    k->pkey = NULL;
}

att_err att_tpm_key_check_ak(const struct att_tpm_key *k, char *msg, size_t msg_len)
{
    static const struct {
        uint32_t bit;
        bool want;
        const char *name;
    } rules[] = {
        {ATT_TPMA_FIXED_TPM, true, "fixedTPM"},
        {ATT_TPMA_FIXED_PARENT, true, "fixedParent"},
        {ATT_TPMA_SENSITIVE_DATA_ORIGIN, true, "sensitiveDataOrigin"},
        {ATT_TPMA_RESTRICTED, true, "restricted"},
        {ATT_TPMA_SIGN, true, "sign"},
        {ATT_TPMA_DECRYPT, false, "decrypt"},
    };
    if (!k->has_public_area) {
        return ATT_OK;
    }
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        if (((k->attributes & rules[i].bit) != 0) != rules[i].want) {
            return att_failf(ATT_ERR_TPM_AK_ATTRIBUTES, msg, msg_len,
                             "attestation key attributes 0x%08x: %s is %s", k->attributes,
                             rules[i].name, rules[i].want ? "clear" : "set");
        }
    }
    return ATT_OK;
}

att_err att_tpm_key_pub_hash(const EVP_PKEY *pkey, char out[45])
{
    att_err rc = ATT_ERR_CRYPTO;
    unsigned char *der = NULL;
    uint8_t h[32];
    struct att_buf b;
    int n = i2d_PUBKEY(pkey, &der);

    att_buf_init(&b, 64);
    ATT_CHECK(n > 0, ATT_ERR_CRYPTO);
    ATT_CHECK(EVP_Digest(der, (size_t)n, h, NULL, EVP_sha256(), NULL) == 1, ATT_ERR_CRYPTO);
    ATT_GUARD(att_b64_encode(h, sizeof(h), &b));
    ATT_CHECK(b.len == 44, ATT_ERR_INTERNAL);
    memcpy(out, b.data, 44);
    out[44] = '\0';
    rc = ATT_OK;
out:
    OPENSSL_free(der);
    att_buf_cleanup(&b);
    ERR_clear_error();
    return rc;
}

/* ---- verification ----------------------------------------------------------------------- */

static att_err scheme_suits(const struct att_tpm_signature *s, const struct att_tpm_key *k,
                            char *msg, size_t msg_len)
{
    bool rsa = s->scheme == ATT_TPM_ALG_RSASSA || s->scheme == ATT_TPM_ALG_RSAPSS;
    if (rsa != (k->type == ATT_TPM_ALG_RSA)) {
        return att_failf(ATT_ERR_TPM_SIG_SCHEME, msg, msg_len,
                         "a %s signature cannot come from an %s key", rsa ? "RSA" : "ECDSA",
                         k->type == ATT_TPM_ALG_RSA ? "RSA" : "ECC");
    }
    /* A restricted key signs only with its own scheme (Part 1 §25.2). */
    if (k->scheme != ATT_TPM_ALG_NULL && (k->scheme != s->scheme || k->scheme_hash != s->hash)) {
        return att_failf(ATT_ERR_TPM_SIG_SCHEME, msg, msg_len,
                         "signature scheme 0x%04x/%s differs from the key's 0x%04x/%s",
                         (unsigned)s->scheme, att_tpm_alg_name(s->hash), (unsigned)k->scheme,
                         att_tpm_alg_name(k->scheme_hash));
    }
    return ATT_OK;
}

att_err att_tpm_quote_verify(const struct att_tpm_quote *q, const struct att_tpm_signature *s,
                             const struct att_tpm_key *k, char *msg, size_t msg_len)
{
    return att_tpm_signed_verify(q->raw, "the quote", s, k, msg, msg_len);
}

att_err att_tpm_signed_verify(struct att_bytes data, const char *what,
                              const struct att_tpm_signature *s, const struct att_tpm_key *k,
                              char *msg, size_t msg_len)
{
    att_err rc = ATT_ERR_CRYPTO;
    EVP_MD_CTX *ctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    const EVP_MD *md = att_tpm_md(s->hash);

    ATT_TRY(scheme_suits(s, k, msg, msg_len));
    ATT_ENSURE(md != NULL, ATT_ERR_TPM_SIG_SCHEME);
    ctx = EVP_MD_CTX_new();
    ATT_CHECK(ctx != NULL, ATT_ERR_NOMEM);
    ATT_CHECK(EVP_DigestVerifyInit(ctx, &pctx, md, NULL, k->pkey) == 1, ATT_ERR_CRYPTO);
    if (s->scheme == ATT_TPM_ALG_RSAPSS) {
        /* TPMs use the digest size or the largest salt (Part 1 §B.7, FIPS 186-4 5.5):
         * let OpenSSL read it from the signature. */
        ATT_CHECK(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
                      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) == 1 &&
                      EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1,
                  ATT_ERR_CRYPTO);
    } else if (s->scheme == ATT_TPM_ALG_RSASSA) {
        ATT_CHECK(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1, ATT_ERR_CRYPTO);
    }
    if (EVP_DigestVerify(ctx, s->sig, s->sig_len, data.ptr, data.len) != 1) {
        rc = att_failf(ATT_ERR_TPM_SIGNATURE, msg, msg_len,
                       "%s/%s signature over %s does not verify with the attestation key",
                       s->scheme == ATT_TPM_ALG_ECDSA    ? "ECDSA"
                       : s->scheme == ATT_TPM_ALG_RSAPSS ? "RSAPSS"
                                                         : "RSASSA",
                       att_tpm_alg_name(s->hash), what);
        goto out;
    }
    rc = ATT_OK;
out:
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}

att_err att_tpm_quote_check_nonce(const struct att_tpm_quote *q, struct att_bytes nonce, char *msg,
                                  size_t msg_len)
{
    if (nonce.len != q->extra_len ||
        (nonce.len > 0 && !att_ct_equal(nonce.ptr, q->extra, nonce.len))) {
        return att_failf(ATT_ERR_TPM_NONCE, msg, msg_len,
                         "quote extraData (%zu bytes) is not the expected nonce (%zu bytes)",
                         q->extra_len, nonce.len);
    }
    return ATT_OK;
}

att_err att_tpm_quote_check_pcrs(const struct att_tpm_quote *q, uint16_t hash,
                                 const struct att_tpm_pcrs *pcrs, char *msg, size_t msg_len)
{
    att_err rc = ATT_ERR_CRYPTO;
    const EVP_MD *md = att_tpm_md(hash);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    ATT_CHECK(ctx != NULL, ATT_ERR_NOMEM);
    ATT_CHECK(md != NULL, ATT_ERR_TPM_SIG_SCHEME);
    ATT_CHECK(EVP_DigestInit_ex(ctx, md, NULL) == 1, ATT_ERR_CRYPTO);
    for (size_t i = 0; i < q->nsel; i++) {
        int b = att_tpm_bank_of(q->sel[i].alg); /* known: checked by att_tpm_quote_parse */
        for (uint32_t pcr = 0; pcr < ATT_TPM_PCRS; pcr++) {
            if ((q->sel[i].mask >> pcr & 1u) == 0) {
                continue;
            }
            if ((pcrs->bank[b].have >> pcr & 1u) == 0) {
                rc = att_failf(ATT_ERR_TPM_PCR_MISSING, msg, msg_len,
                               "the quote selects PCR %u of bank %s, which has no value",
                               (unsigned)pcr, hashes[b].name);
                goto out;
            }
            ATT_CHECK(EVP_DigestUpdate(ctx, pcrs->bank[b].value[pcr], hashes[b].size) == 1,
                      ATT_ERR_CRYPTO);
        }
    }
    ATT_CHECK(EVP_DigestFinal_ex(ctx, d, &n) == 1, ATT_ERR_CRYPTO);
    if (n != q->pcr_digest_len || !att_ct_equal(d, q->pcr_digest, n)) {
        rc = att_failf(ATT_ERR_TPM_PCR_DIGEST, msg, msg_len,
                       "the %s digest of the selected PCR values is not the quote's pcrDigest",
                       att_tpm_alg_name(hash));
        goto out;
    }
    rc = ATT_OK;
out:
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}
