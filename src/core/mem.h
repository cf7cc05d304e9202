/*
 * mem.h - memory helpers for secrets.
 *
 * Secrets are wiped before their memory is released (att_wipe cannot be
 * optimised away) and compared in constant time (att_ct_equal). Keys that
 * live as long as the process get memory of their own that core dumps leave
 * out (att_key_memory_new).
 */
#ifndef ATT_CORE_MEM_H
#define ATT_CORE_MEM_H

#include <stdbool.h>
#include <stddef.h>

void att_wipe(void *p, size_t n);
/* Wipe then free; accepts NULL. */
void att_freezero(void *p, size_t n);
/* Constant-time equality of two n-byte regions. */
bool att_ct_equal(const void *a, const void *b, size_t n);

/*
 * `n` zeroed bytes of whole pages of their own (mmap(2)), marked MADV_DONTDUMP (madvise(2)) so
 * that a core dump never holds what is stored there, even with core dumps enabled. For key
 * material kept for the life of the process (the KEK and data keys); each call costs at least
 * a page. NULL when out of memory or when the kernel refuses the mark. Not locked against
 * swapping. Release with att_key_memory_free.
 */
void *att_key_memory_new(size_t n);
/* Wipe and unmap memory of att_key_memory_new (`n` as given to it); accepts NULL. */
void att_key_memory_free(void *p, size_t n);

#endif
