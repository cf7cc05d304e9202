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
 * Prints one line per floor: "floor warm-RS256 N/s" etc. (with "snp": "floor snp-RS256",
 * "floor snp-ES256" only). bench/attest.sh divides attestd's measured rate by these.
 * Usage: bench_attest_floor SECONDS PEM_CHAIN_FILE [REQUEST_BYTES ANSWER_BYTES [snp]]
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
};

enum mode { WARM, COLD, MEMO, SNP };

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

/* One attestation's worth of crypto; COLD adds the chain, MEMO leaves out the memoized steps. */
static int one(struct inputs *in, EVP_PKEY *token_key, enum mode mode)
{
    uint8_t h[32];
    EVP_PKEY *ak = NULL;
    int cold = mode == COLD;
    int ok = mode == MEMO ? one_memo(in) : 0;
    if (mode == SNP) {
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
