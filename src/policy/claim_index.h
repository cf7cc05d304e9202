/*
 * claim_index.h - private to src/policy/eval.c: the claims of one evaluation by type and by the
 * length of their type, so a condition naming a type (`type == "x"`) examines only the claims
 * of that type (docs/internals/policy.md, "Evaluation").
 *
 * Claims are numbered as eval.c numbers them (incoming, then rule-made, in order) and only
 * appended, so every list is ascending. Types are borrowed: they live as long as the
 * evaluation.
 */
#ifndef ATT_POLICY_CLAIM_INDEX_H
#define ATT_POLICY_CLAIM_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct pol_index_list; /* one type's (or one length's) claims */

struct pol_index_table {
    struct pol_index_list *slots; /* open addressing, at most half full */
    size_t cap;
    size_t used;
    bool by_length; /* keys are type lengths, not type bytes */
};

struct pol_claim_index {
    struct pol_index_table by_type;
    struct pol_index_table by_length;
};

void pol_claim_index_init(struct pol_claim_index *ix);
void pol_claim_index_free(struct pol_claim_index *ix);
/* Claim number `claim` (greater than every one added before) has type `type` of `len` bytes.
 * ATT_ERR_NOMEM. */
att_err pol_claim_index_add(struct pol_claim_index *ix, const char *type, size_t len,
                            size_t claim) ATT_WUR;
/* The hash the index keys a type by (computed once for a policy's literals). */
uint64_t pol_claim_index_hash(const char *type, size_t len);
/* The claims of type `type` (`len` bytes, hash `h`), ascending; *n of them (0: none, NULL
 * returned). */
const size_t *pol_claim_index_of_type(const struct pol_claim_index *ix, const char *type,
                                      size_t len, uint64_t h, size_t *n);
/* How many claims numbered below `end` have a type of `len` bytes. */
size_t pol_claim_index_count_length(const struct pol_claim_index *ix, size_t len, size_t end);

#endif
