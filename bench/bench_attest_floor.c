/*
 * bench_attest_floor.c - the crypto floor of one SGX attestation (docs/internals/design.md,
 * performance model): the EVP operations attestd cannot avoid, in a loop on one core, with nothing
 * else.
 *
 *   warm (collateral and the platform's PCK chain cached):
 *     SHA-256 of the PCK chain PEM (the cache key) and of the quote (quotehash),
 *     SHA-256 of attestation key || QE auth data (the QE binding),
 *     the attestation key from raw x || y, two P-256 ECDSA verifies (QE report, quote),
 *     the token signature (RS256 with RSA-2048, or ES256) over a 2 KiB payload,
 *     and the TLS 1.3 record protection of the request and of the answer (AES-128-GCM, the
 *     suite attestd prefers; one record each way, of the sizes bench/attest.sh measured);
 *   cold (a platform not seen before; its collateral cached):
 *     warm, plus parsing the three PEM certificates of the chain and the two P-256 verifies
 *     of the chain (leaf by CA, CA by root);
 *   memo (warm, with the steps that are pure functions of their bytes memoized, as attestd does
 *     since src/evidence/intel/memo.c: the QE report signature and the attestation key object):
 *     the hashes of warm plus the memo key (SHA-256 of PCK-chain hash, QE report, signature),
 *     ONE P-256 verify (the quote's, which no cache may skip), the token signature, the TLS
 *     records. This is what no cache can avoid: the floor since issue 12; "warm" is the old one.
 *
 *   snp (an AMD SEV-SNP report, its VCEK chain cached; with the word "snp" after the sizes):
 *     SHA-256 of the carried VCEK chain (the cache key), ONE P-384 ECDSA verify with SHA-384
 *     over the report's 0x2A0 signed bytes, the token signature, the TLS records.
 *
 *   tpm (a TPM 2.0 quote with a 30-event log and an AK certificate; with the word "tpm" after
 *     the sizes, PEM_CHAIN_FILE holding the AK certificate then its CA):
 *     the AK certificate parsed from DER and verified with its CA's key (one P-256 verify),
 *     SHA-256 of the AK public area (aikPubHash), ONE RSA-2048 PKCS#1 v1.5 verify of the
 *     145-byte TPMS_ATTEST, SHA-256 of the 24 quoted PCR values (the quote's PCR digest), the
 *     log's replay (30 extends: SHA-256 of old || new) and the hash of each event's data (what
 *     its decoded form is checked against), the token signature, the TLS records;
 *   tpm-memo: the same with the AK certificate's verification memoized (SHA-256 of the
 *     certificate, the memo key, in place of parsing and verifying it).
 *
 * Prints one line per floor: "floor warm-RS256 N/s" etc. (with "snp": "floor snp-RS256",
 * "floor snp-ES256" only; with "tpm": "floor tpm-ES256", "floor tpm-memo-ES256").
 * bench/attest.sh divides attestd's measured rate by these.
 * Usage: bench_attest_floor SECONDS PEM_CHAIN_FILE [REQUEST_BYTES ANSWER_BYTES [snp|tpm]]
 * (the TLS part is left out when the sizes are not given)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "core/buf.h"
#include "core/file.h"
#include "crypto/ecdsa.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned char *sign_der_md(EVP_PKEY *key, const EVP_MD *h, const unsigned char *msg,
                                  size_t len, size_t *out_len)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t n = 0;
    unsigned char *sig = NULL;
    if (EVP_DigestSignInit(md, NULL, h, NULL, key) == 1 &&
        EVP_DigestSign(md, NULL, &n, msg, len) == 1 && (sig = malloc(n)) != NULL &&
        EVP_DigestSign(md, sig, &n, msg, len) == 1) {
        *out_len = n;
    }
    EVP_MD_CTX_free(md);
    return sig;
}

static unsigned char *sign_der(EVP_PKEY *key, const unsigned char *msg, size_t len, size_t *out_len)
{
    return sign_der_md(key, EVP_sha256(), msg, len, out_len);
}

static int verify_der_md(EVP_PKEY *key, const EVP_MD *h, const unsigned char *sig, size_t sig_len,
                         const unsigned char *msg, size_t len)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = EVP_DigestVerifyInit(md, NULL, h, NULL, key) == 1 &&
             EVP_DigestVerify(md, sig, sig_len, msg, len) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

static int verify_der(EVP_PKEY *key, const unsigned char *sig, size_t sig_len,
                      const unsigned char *msg, size_t len)
{
    return verify_der_md(key, EVP_sha256(), sig, sig_len, msg, len);
}

struct inputs {
    EVP_PKEY *ec;  /* stands for the attestation key and the PCK key */
    EVP_PKEY *rsa; /* token keys */
    EVP_PKEY *es;
    uint8_t xy[64];
    unsigned char quote[4600];
    unsigned char qe_report[384];
    unsigned char *quote_sig;
    size_t quote_sig_len;
    unsigned char *qe_sig;
    size_t qe_sig_len;
    unsigned char payload[2048];
    struct att_buf pem;
    EVP_CIPHER_CTX *gcm; /* keyed once, as a TLS connection is */
    unsigned char *record;
    size_t request_bytes, answer_bytes;
    EVP_PKEY *ak_memo; /* the attestation key as the memo holds it */
    EVP_PKEY *vcek;    /* P-384 */
    unsigned char report[0x2A0];
    unsigned char *report_sig;
    size_t report_sig_len;
    EVP_PKEY *ak_rsa; /* TPM: the AK, RSA-2048 */
    unsigned char attest[145];
    unsigned char *attest_sig;
    size_t attest_sig_len;
    unsigned char pcr_values[24 * 32];
    unsigned char event_data[30][48];
    unsigned char ak_public[282];
    unsigned char *ak_cert_der;
    int ak_cert_der_len;
    EVP_PKEY *ak_ca; /* the AK certificate's issuer key */
};

enum mode { WARM, COLD, MEMO, SNP, TPM, TPM_MEMO };

/* Seal one TLS record of `len` bytes: a fresh nonce, the data, the tag (RFC 8446 §5.2). */
static int seal_record(struct inputs *in, size_t len, uint64_t seq)
{
    unsigned char iv[12] = {0};
    unsigned char tag[16];
    int n = 0;
    for (int i = 0; i < 8; i++) {
        iv[11 - i] = (unsigned char)(seq >> (8 * i));
    }
    return EVP_EncryptInit_ex(in->gcm, NULL, NULL, NULL, iv) == 1 &&
           EVP_EncryptUpdate(in->gcm, in->record, &n, in->record, (int)len) == 1 &&
           EVP_EncryptFinal_ex(in->gcm, in->record + n, &n) == 1 &&
           EVP_CIPHER_CTX_ctrl(in->gcm, EVP_CTRL_GCM_GET_TAG, sizeof(tag), tag) == 1;
}

/* The memo floor: hashes, the memo key, one P-256 verify (the quote's). */
static int one_memo(struct inputs *in)
{
    uint8_t h[32];
    unsigned char memo_in[32 + 384 + 64];
    memset(memo_in, 0x11, sizeof(memo_in));
    return att_sha256(in->pem.data, in->pem.len, h) == ATT_OK &&
           att_sha256(in->quote, sizeof(in->quote), h) == ATT_OK &&
           att_sha256(in->xy, sizeof(in->xy), h) == ATT_OK &&
           att_sha256(memo_in, sizeof(memo_in), h) == ATT_OK &&
           verify_der(in->ak_memo, in->quote_sig, in->quote_sig_len, in->quote, 432);
}

/* The TPM floor: the AK certificate (or its memo key), the quote, the PCRs, the log's replay. */
static int one_tpm(struct inputs *in, int memo)
{
    uint8_t h[32];
    uint8_t pcr[64] = {0};
    int ok = 1;
    if (memo) {
        ok = att_sha256(in->ak_cert_der, (size_t)in->ak_cert_der_len, h) == ATT_OK;
    } else {
        const unsigned char *p = in->ak_cert_der;
        X509 *cert = d2i_X509(NULL, &p, in->ak_cert_der_len);
        ok = cert != NULL && X509_verify(cert, in->ak_ca) == 1;
        X509_free(cert);
    }
    ok = ok && att_sha256(in->ak_public, sizeof(in->ak_public), h) == ATT_OK &&
         verify_der(in->ak_rsa, in->attest_sig, in->attest_sig_len, in->attest,
                    sizeof(in->attest)) &&
         att_sha256(in->pcr_values, sizeof(in->pcr_values), h) == ATT_OK;
    for (int i = 0; ok && i < 30; i++) {
        ok = att_sha256(in->event_data[i], sizeof(in->event_data[i]), pcr + 32) == ATT_OK &&
             att_sha256(pcr, sizeof(pcr), pcr) == ATT_OK;
    }
    return ok;
}

/* One attestation's worth of crypto; COLD adds the chain, MEMO leaves out the memoized steps. */
static int one(struct inputs *in, EVP_PKEY *token_key, enum mode mode)
{
    uint8_t h[32];
    EVP_PKEY *ak = NULL;
    int cold = mode == COLD;
    int ok = mode == MEMO ? one_memo(in) : 0;
    if (mode == TPM || mode == TPM_MEMO) {
        ok = one_tpm(in, mode == TPM_MEMO);
    } else if (mode == SNP) {
        ok = att_sha256(in->pem.data, in->pem.len, h) == ATT_OK &&
             verify_der_md(in->vcek, EVP_sha384(), in->report_sig, in->report_sig_len, in->report,
                           sizeof(in->report));
    } else if (mode != MEMO) {
        ok = att_sha256(in->pem.data, in->pem.len, h) == ATT_OK &&
             att_sha256(in->quote, sizeof(in->quote), h) == ATT_OK &&
             att_sha256(in->xy, sizeof(in->xy), h) == ATT_OK &&
             att_p256_key_from_xy(in->xy, &ak) == ATT_OK &&
             verify_der(in->ec, in->qe_sig, in->qe_sig_len, in->qe_report, 384) &&
             verify_der(ak, in->quote_sig, in->quote_sig_len, in->quote, 432);
    }
    EVP_PKEY_free(ak);
    if (cold) {
        BIO *bio = BIO_new_mem_buf(in->pem.data, (int)in->pem.len);
        for (int i = 0; i < 3; i++) {
            X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
            ok = ok && x != NULL;
            X509_free(x);
        }
        BIO_free(bio);
        ok = ok && verify_der(in->ec, in->qe_sig, in->qe_sig_len, in->qe_report, 384) &&
             verify_der(in->ec, in->quote_sig, in->quote_sig_len, in->quote, 432);
    }
    size_t n = 0;
    unsigned char *sig = sign_der(token_key, in->payload, sizeof(in->payload), &n);
    ok = ok && sig != NULL;
    free(sig);
    if (in->gcm != NULL) {
        static uint64_t seq;
        ok = ok && seal_record(in, in->request_bytes, seq++) &&
             seal_record(in, in->answer_bytes, seq++);
    }
    return ok;
}

static double rate(struct inputs *in, EVP_PKEY *token_key, enum mode mode, double seconds)
{
    long n = 0;
    double start = now_s();
    double t;
    do {
        for (int i = 0; i < 16; i++) {
            if (!one(in, token_key, mode)) {
                fprintf(stderr, "bench_attest_floor: crypto failed\n");
                exit(1);
            }
            n++;
        }
        t = now_s() - start;
    } while (t < seconds);
    return (double)n / t;
}

/* The TPM inputs: an RSA-2048 AK and a quote it signed, the AK certificate from the file. */
static int tpm_inputs(struct inputs *in)
{
    BIO *bio = BIO_new_mem_buf(in->pem.data, (int)in->pem.len);
    X509 *leaf = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    X509 *ca = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    in->ak_cert_der_len = leaf != NULL ? i2d_X509(leaf, &in->ak_cert_der) : -1;
    in->ak_ca = ca != NULL ? X509_get_pubkey(ca) : NULL;
    X509_free(leaf);
    X509_free(ca);
    in->ak_rsa = EVP_RSA_gen(2048);
    memset(in->attest, 0xff, sizeof(in->attest));
    memset(in->pcr_values, 0x07, sizeof(in->pcr_values));
    memset(in->event_data, 0x2e, sizeof(in->event_data));
    memset(in->ak_public, 0x01, sizeof(in->ak_public));
    in->attest_sig = sign_der(in->ak_rsa, in->attest, sizeof(in->attest), &in->attest_sig_len);
    return in->ak_cert_der_len > 0 && in->ak_ca != NULL && in->attest_sig != NULL ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct inputs in;
    double seconds = argc > 1 ? atof(argv[1]) : 3.0;
    memset(&in, 0, sizeof(in));
    att_buf_init(&in.pem, 1 << 16);
    if (argc < 3 || att_file_read(argv[2], 1 << 16, &in.pem) != ATT_OK) {
        fprintf(stderr, "usage: bench_attest_floor SECONDS PEM_CHAIN_FILE [REQUEST_BYTES "
                        "ANSWER_BYTES]\n");
        return 2;
    }
    if (argc > 4) {
        static const unsigned char key[16] = {1};
        in.request_bytes = strtoul(argv[3], NULL, 10);
        in.answer_bytes = strtoul(argv[4], NULL, 10);
        if (in.request_bytes == 0 || in.request_bytes > 16384 || in.answer_bytes == 0 ||
            in.answer_bytes > 16384) {
            fprintf(stderr, "bench_attest_floor: sizes must be 1..16384 (one TLS record)\n");
            return 2;
        }
        in.record = calloc(1, 16384 + 16);
        in.gcm = EVP_CIPHER_CTX_new();
        if (in.record == NULL || in.gcm == NULL ||
            EVP_EncryptInit_ex(in.gcm, EVP_aes_128_gcm(), NULL, key, NULL) != 1) {
            fprintf(stderr, "bench_attest_floor: cannot set up AES-128-GCM\n");
            return 1;
        }
    }
    in.ec = EVP_EC_gen("P-256");
    in.es = EVP_EC_gen("P-256");
    in.rsa = EVP_RSA_gen(2048);
    memset(in.quote, 0x5a, sizeof(in.quote));
    memset(in.qe_report, 0xa5, sizeof(in.qe_report));
    memset(in.payload, 'c', sizeof(in.payload));
    /* The raw x || y of in.ec, so the attestation key path verifies for real. */
    unsigned char point[65];
    size_t plen = 0;
    EVP_PKEY_get_octet_string_param(in.ec, "encoded-pub-key", point, sizeof(point), &plen);
    memcpy(in.xy, point + 1, 64);
    in.quote_sig = sign_der(in.ec, in.quote, 432, &in.quote_sig_len);
    in.qe_sig = sign_der(in.ec, in.qe_report, 384, &in.qe_sig_len);

    in.ak_memo = in.ec;
    in.vcek = EVP_EC_gen("P-384");
    memset(in.report, 0x3c, sizeof(in.report));
    in.report_sig =
        sign_der_md(in.vcek, EVP_sha384(), in.report, sizeof(in.report), &in.report_sig_len);
    if (argc > 5 && strcmp(argv[5], "tpm") == 0) {
        if (tpm_inputs(&in) != 0) {
            fprintf(stderr, "bench_attest_floor: PEM_CHAIN_FILE must hold the AK certificate "
                            "then its CA\n");
            return 2;
        }
        double t_es = rate(&in, in.es, TPM, seconds / 2) + rate(&in, in.es, TPM, seconds / 2);
        double m_es =
            rate(&in, in.es, TPM_MEMO, seconds / 2) + rate(&in, in.es, TPM_MEMO, seconds / 2);
        printf("floor tpm-ES256 %.0f\nfloor tpm-memo-ES256 %.0f\n", t_es / 2, m_es / 2);
        return 0;
    }
    if (argc > 5 && strcmp(argv[5], "snp") == 0) {
        double s_rs = rate(&in, in.rsa, SNP, seconds / 2) + rate(&in, in.rsa, SNP, seconds / 2);
        double s_es = rate(&in, in.es, SNP, seconds / 2) + rate(&in, in.es, SNP, seconds / 2);
        printf("floor snp-RS256 %.0f\nfloor snp-ES256 %.0f\n", s_rs / 2, s_es / 2);
        return 0;
    }

    /* Interleaved, so noise hits all alike. */
    double w_rs = rate(&in, in.rsa, WARM, seconds / 2) + rate(&in, in.rsa, WARM, seconds / 2);
    double w_es = rate(&in, in.es, WARM, seconds / 2) + rate(&in, in.es, WARM, seconds / 2);
    double c_rs = rate(&in, in.rsa, COLD, seconds / 2) + rate(&in, in.rsa, COLD, seconds / 2);
    double c_es = rate(&in, in.es, COLD, seconds / 2) + rate(&in, in.es, COLD, seconds / 2);
    double m_rs = rate(&in, in.rsa, MEMO, seconds / 2) + rate(&in, in.rsa, MEMO, seconds / 2);
    double m_es = rate(&in, in.es, MEMO, seconds / 2) + rate(&in, in.es, MEMO, seconds / 2);
    printf("floor warm-RS256 %.0f\nfloor warm-ES256 %.0f\nfloor cold-RS256 %.0f\n"
           "floor cold-ES256 %.0f\nfloor memo-RS256 %.0f\nfloor memo-ES256 %.0f\n",
           w_rs / 2, w_es / 2, c_rs / 2, c_es / 2, m_rs / 2, m_es / 2);
    free(in.quote_sig);
    free(in.qe_sig);
    att_buf_cleanup(&in.pem);
    EVP_PKEY_free(in.ec);
    EVP_PKEY_free(in.es);
    EVP_PKEY_free(in.rsa);
    EVP_PKEY_free(in.vcek);
    free(in.report_sig);
    EVP_CIPHER_CTX_free(in.gcm);
    free(in.record);
    return 0;
}
