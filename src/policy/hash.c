/*
 * hash.c - x-ms-policy-hash (docs/reference/maa-tokens.md §2.3):
 *
 *   BASE64URL( SHA-256( ASCII( BASE64URL( UTF-8(policy text) ) ) ) )
 *
 * "Hashing the raw text or the JWS does not give that value": the digest covers the
 * base64url text. Input: policy text as stored (untrusted but only hashed). The text
 * is encoded in 3 KiB slices (a multiple of 3 bytes, so the slices' encodings
 * concatenate to the encoding of the whole) and streamed into the digest, so no
 * buffer grows with the policy.
 */
#include "policy/policy.h"

#include <openssl/evp.h>
#include <string.h>

#include "core/buf.h"
#include "core/codec.h"
#include "core/rd.h"

#define SLICE ((size_t)3 * 1024)

att_err att_policy_hash(const char *text, size_t len, char out[ATT_POLICY_HASH_LEN + 1])
{
    ATT_ENSURE(out != NULL && (text != NULL || len == 0), ATT_ERR_ARG);
    att_err rc = ATT_ERR_INTERNAL;
    struct att_buf enc;
    att_buf_init(&enc, SLICE / 3 * 4 + 4);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ATT_CHECK(md != NULL, ATT_ERR_NOMEM);
    ATT_CHECK(EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1, ATT_ERR_CRYPTO);
    struct att_rd r;
    att_rd_init(&r, text, len);
    while (att_rd_left(&r) > 0) {
        size_t n = att_rd_left(&r) < SLICE ? att_rd_left(&r) : SLICE;
        struct att_bytes slice;
        ATT_GUARD(att_rd_bytes(&r, n, &slice));
        att_buf_reset(&enc);
        ATT_GUARD(att_b64url_encode(slice.ptr, slice.len, &enc));
        ATT_CHECK(EVP_DigestUpdate(md, enc.data, enc.len) == 1, ATT_ERR_CRYPTO);
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    ATT_CHECK(EVP_DigestFinal_ex(md, digest, &dlen) == 1 && dlen == 32, ATT_ERR_CRYPTO);
    att_buf_reset(&enc);
    ATT_GUARD(att_b64url_encode(digest, dlen, &enc));
    ATT_CHECK(enc.len == ATT_POLICY_HASH_LEN, ATT_ERR_INTERNAL);
    memcpy(out, enc.data, ATT_POLICY_HASH_LEN);
    out[ATT_POLICY_HASH_LEN] = 0;
    rc = ATT_OK;
out:
    EVP_MD_CTX_free(md);
    att_buf_cleanup(&enc);
    return rc;
}
