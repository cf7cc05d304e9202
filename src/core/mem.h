/*
 * mem.h - memory helpers for secrets.
 *
 * Secrets are wiped before their memory is released (att_wipe cannot be
 * optimised away) and compared in constant time (att_ct_equal).
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

#endif
