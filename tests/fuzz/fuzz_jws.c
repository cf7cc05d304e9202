/*
 * fuzz_jws.c - libFuzzer target for the compact JWS parser and verifier
 * (src/token/jws.c).
 *
 * Input: arbitrary bytes, fully untrusted. Each input goes through
 * att_jws_decode_unverified and att_jws_verify, with the verifier pinned
 * to ES256 and, to reach the key-type check, to RS256 with the same key.
 *
 * The key is the public P-256 key of RFC 7515 appendix A.3, built once in a
 * static: fixed, so runs are reproducible, and the A.3 token in the seed
 * corpus verifies, so the fuzzer also explores the success path.
 *
 * Oracles beyond the sanitizers: a decoded header is always an object, and
 * a verified token always says "alg":"ES256".
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/codec.h"
#include "token/jws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 7515 A.3.1: "x" and "y" of the example P-256 key. */
static const char a3_x[] = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
static const char a3_y[] = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

static EVP_PKEY *make_key(void)
{
    struct att_buf point;
    att_buf_init(&point, 65);
    if (att_buf_putc(&point, 0x04) != ATT_OK || /* SEC 1 §2.3.3: uncompressed */
        att_b64url_decode(a3_x, strlen(a3_x), &point) != ATT_OK ||
        att_b64url_decode(a3_y, strlen(a3_y), &point) != ATT_OK || point.len != 65) {
        abort();
    }
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *key = NULL;
    if (bld == NULL || ctx == NULL ||
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data, point.len) !=
            1 ||
        (params = OSSL_PARAM_BLD_to_param(bld)) == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        abort();
    }
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    att_buf_cleanup(&point);
    return key;
}

static EVP_PKEY *fuzz_key(void)
{
    static EVP_PKEY *key;
    if (key == NULL) {
        key = make_key(); /* kept for the life of the process */
    }
    return key;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *token = (const char *)data;
    struct att_jws jws;

    if (att_jws_decode_unverified(token, size, &jws) == ATT_OK) {
        if (!json_is_object(jws.header)) {
            abort();
        }
        att_jws_cleanup(&jws);
    }
    if (att_jws_verify(token, size, fuzz_key(), ATT_JWS_ES256, &jws) == ATT_OK) {
        const char *alg = json_string_value(json_object_get(jws.header, "alg"));
        if (alg == NULL || strcmp(alg, "ES256") != 0) {
            abort();
        }
        att_jws_cleanup(&jws);
    }
    /* An EC key pinned to RS256 can never verify. */
    if (att_jws_verify(token, size, fuzz_key(), ATT_JWS_RS256, &jws) == ATT_OK) {
        abort();
    }
    return 0;
}
