/*
 * mem.c - wiping and constant-time comparison, on OpenSSL's primitives
 * (OPENSSL_cleanse cannot be optimised away; CRYPTO_memcmp is constant time).
 */
#include "core/mem.h"

#include <openssl/crypto.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

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

/* `n` rounded up to whole pages; 0 when that would overflow. */
static size_t whole_pages(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (n == 0 || n > SIZE_MAX - page) {
        return 0;
    }
    return (n + page - 1) / page * page;
}

void *att_key_memory_new(size_t n)
{
    size_t len = whole_pages(n);
    if (len == 0) {
        return NULL;
    }
    /* Anonymous mappings are zero-filled; a page of its own shares no dump flag with others. */
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        return NULL;
    }
    if (madvise(p, len, MADV_DONTDUMP) != 0) {
        munmap(p, len);
        return NULL;
    }
    return p;
}

void att_key_memory_free(void *p, size_t n)
{
    if (p != NULL) {
        att_wipe(p, n);
        munmap(p, whole_pages(n));
    }
}
