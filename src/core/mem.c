/*
 * mem.c - wiping and constant-time comparison, on OpenSSL's primitives
 * (OPENSSL_cleanse cannot be optimised away; CRYPTO_memcmp is constant time).
 */
#include "core/mem.h"

#include <openssl/crypto.h>
#include <stdlib.h>

void att_wipe(void *p, size_t n)
{
    if (p != NULL && n > 0) {
        OPENSSL_cleanse(p, n);
    }
}

void att_freezero(void *p, size_t n)
{
    att_wipe(p, n);
    free(p);
}

bool att_ct_equal(const void *a, const void *b, size_t n)
{
    return n == 0 || CRYPTO_memcmp(a, b, n) == 0;
}
