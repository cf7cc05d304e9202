/*
 * bench_token_pkcs11.c - what signing a token inside a PKCS#11 token (signing_keys_pkcs11)
 * costs against signing in process (docs/operations.md "Token signing keys in a PKCS#11
 * token"), for ES256 and RS256.
 *
 * Each round signs the same JWS signing input N times with a software key (att_signer) and N
 * times with a key pair in the token (att_p11_sign), the order alternating between rounds; the
 * figure is the median over rounds of (token time / software time), so the ratio survives a
 * noisy machine. Run by bench/pkcs11.sh, which makes a SoftHSM token for it:
 *   bench_token_pkcs11 'pkcs11:token=...?module-path=...&pin-source=file:...'
 */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "seal/pkcs11.h"
#include "signer/signer.h"

#define ROUNDS 7
#define SIGNS 200

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Seconds for SIGNS signatures of `msg`, in process (token NULL) or in the token. */
static double time_signs(struct att_signer *s, struct att_p11 *token, unsigned long handle, bool ec,
                         const char *msg)
{
    double t0 = now_s();
    for (int i = 0; i < SIGNS; i++) {
        struct att_buf sig;
        att_buf_init(&sig, 4096);
        att_err rc = token != NULL ? att_p11_sign(token, handle, ec, msg, strlen(msg), &sig)
                                   : att_signer_sign(s, "sw", msg, strlen(msg), &sig);
        att_buf_cleanup(&sig);
        if (rc != ATT_OK) {
            fprintf(stderr, "sign failed: %s\n", att_err_name(rc));
            exit(1);
        }
    }
    return now_s() - t0;
}

static int run(struct att_p11 *token, enum att_jws_alg alg)
{
    bool ec = alg == ATT_JWS_ES256;
    struct att_signer *s = NULL;
    EVP_PKEY *key = NULL, *pub = NULL, *pub2 = NULL;
    uint8_t id[ATT_P11_ID_LEN];
    unsigned long handle = 0;
    char msg[3000];
    memset(msg, 'a', sizeof(msg) - 1); /* a signing input of an SGX token's size */
    msg[sizeof(msg) - 1] = 0;
    if (att_signer_new(&s) != ATT_OK || att_signer_generate(alg, &key) != ATT_OK ||
        att_signer_add(s, "sw", alg, key) != ATT_OK || RAND_bytes(id, sizeof(id)) != 1 ||
        att_p11_keypair_generate(token, ec, id, &pub) != ATT_OK ||
        att_p11_keypair_find(token, ec, id, &handle, &pub2) != ATT_OK) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    double ratio[ROUNDS], sw_us[ROUNDS], tok_us[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        double sw, tk;
        if (r % 2 == 0) {
            sw = time_signs(s, NULL, 0, ec, msg);
            tk = time_signs(s, token, handle, ec, msg);
        } else {
            tk = time_signs(s, token, handle, ec, msg);
            sw = time_signs(s, NULL, 0, ec, msg);
        }
        ratio[r] = tk / sw;
        sw_us[r] = sw / SIGNS * 1e6;
        tok_us[r] = tk / SIGNS * 1e6;
    }
    qsort(ratio, ROUNDS, sizeof(double), cmp);
    qsort(sw_us, ROUNDS, sizeof(double), cmp);
    qsort(tok_us, ROUNDS, sizeof(double), cmp);
    printf("%s: token/in-process %.2f (median of %d rounds of %d signs; %.1f us vs %.1f us a "
           "signature)\n",
           ec ? "ES256" : "RS256", ratio[ROUNDS / 2], ROUNDS, SIGNS, tok_us[ROUNDS / 2],
           sw_us[ROUNDS / 2]);
    att_ignore_err(att_p11_keypair_destroy(token, id));
    EVP_PKEY_free(pub);
    EVP_PKEY_free(pub2);
    att_signer_free(s);
    return 0;
}

int main(int argc, char **argv)
{
    char msg[512];
    struct att_p11 *token = NULL;
    if (argc != 2 || att_p11_open(argv[1], ATT_P11_SESSION, &token, msg, sizeof(msg)) != ATT_OK) {
        fprintf(stderr, "usage: bench_token_pkcs11 PKCS11-TOKEN-URI (%s)\n",
                argc == 2 ? msg : "no URI");
        return 2;
    }
    int rc = run(token, ATT_JWS_ES256) | run(token, ATT_JWS_RS256);
    att_p11_release(token);
    return rc;
}
