/*
 * bench_token.c - token signing and verification cost against the crypto floor.
 *
 * For RS256 and ES256: the floor is one raw EVP_DigestSign / EVP_DigestVerify of a
 * signing input of the same size; attestd's figure is att_jws_sign (header JSON,
 * base64url, signature via the signer, assembly) and att_jws_verify (split, decode,
 * pin checks, verify). Both run in the same process, interleaved, so the ratio
 * survives a noisy machine (docs/internals/design.md, "Performance model").
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "signer/signer.h"
#include "token/jws.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A payload of the size of a typical SGX attestation token body (~1.5 KB). */
static void make_payload(char *out, size_t n)
{
    size_t used =
        (size_t)snprintf(out, n, "{\"x-ms-attestation-type\":\"sgx\",\"x-ms-ver\":\"1.0\"");
    for (int i = 0; used + 80 < n && i < 20; i++) {
        used += (size_t)snprintf(out + used, n - used,
                                 ",\"claim-%02d\":\"0123456789abcdef0123456789abcdef0123\"", i);
    }
    snprintf(out + used, n - used, "}");
}

static int run(enum att_jws_alg alg, unsigned iters)
{
    struct att_signer *signer = NULL;
    EVP_PKEY *key = NULL;
    EVP_PKEY *pub_copy = NULL;
    char payload[2048];
    make_payload(payload, sizeof(payload));
    if (att_signer_new(&signer) != ATT_OK || att_signer_generate(alg, &key) != ATT_OK) {
        return 1;
    }
    EVP_PKEY_up_ref(key);
    pub_copy = key; /* the bench keeps a reference for the raw floor and for verification */
    if (att_signer_add(signer, "bench", alg, key) != ATT_OK) {
        return 1;
    }
    json_t *header = json_pack("{s:s,s:s}", "jku", "https://127.0.0.1:8443/certs", "typ", "JWT");
    struct att_buf token;
    att_buf_init(&token, 1 << 16);
    if (att_jws_sign(signer, "bench", header, payload, strlen(payload), &token) != ATT_OK) {
        return 1;
    }
    size_t input_len = (size_t)(strrchr(att_buf_cstr(&token), '.') - att_buf_cstr(&token));
    unsigned char sig[512];
    size_t sig_len = sizeof(sig);

    double t_raw_sign = 0, t_jws_sign = 0, t_raw_verify = 0, t_jws_verify = 0;
    for (unsigned i = 0; i < iters; i++) {
        double t0 = now_s();
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        sig_len = sizeof(sig);
        EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pub_copy);
        EVP_DigestSign(md, sig, &sig_len, token.data, input_len);
        EVP_MD_CTX_free(md);
        double t1 = now_s();
        struct att_buf t;
        att_buf_init(&t, 1 << 16);
        if (att_jws_sign(signer, "bench", header, payload, strlen(payload), &t) != ATT_OK) {
            return 1;
        }
        att_buf_cleanup(&t);
        double t2 = now_s();
        md = EVP_MD_CTX_new();
        EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub_copy);
        int ok = EVP_DigestVerify(md, sig, sig_len, token.data, input_len);
        EVP_MD_CTX_free(md);
        double t3 = now_s();
        struct att_jws jws;
        if (ok != 1 ||
            att_jws_verify(att_buf_cstr(&token), token.len, pub_copy, alg, &jws) != ATT_OK) {
            return 1;
        }
        att_jws_cleanup(&jws);
        double t4 = now_s();
        t_raw_sign += t1 - t0;
        t_jws_sign += t2 - t1;
        t_raw_verify += t3 - t2;
        t_jws_verify += t4 - t3;
    }
    printf("%-6s sign:   floor %8.0f/s  attestd %8.0f/s  ratio %.2f\n", att_jws_alg_name(alg),
           iters / t_raw_sign, iters / t_jws_sign, t_raw_sign / t_jws_sign);
    printf("%-6s verify: floor %8.0f/s  attestd %8.0f/s  ratio %.2f\n", att_jws_alg_name(alg),
           iters / t_raw_verify, iters / t_jws_verify, t_raw_verify / t_jws_verify);
    att_buf_cleanup(&token);
    json_decref(header);
    EVP_PKEY_free(pub_copy);
    att_signer_free(signer);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned iters = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 2000;
    printf("token signing/verification, %u iterations each (ratio = attestd rate / crypto floor)\n",
           iters);
    return run(ATT_JWS_RS256, iters) || run(ATT_JWS_ES256, iters);
}
