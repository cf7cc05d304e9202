/*
 * claim_index.c - claims by type and by type length (claim_index.h): two open-addressing hash
 * tables of ascending claim lists.
 */
#include "policy/claim_index.h"

#include <stdlib.h>
#include <string.h>

struct pol_index_list {
    const char *type; /* "" in the by-length table; the slot is free when n == 0 */
    size_t len;
    uint64_t hash;
    size_t *claims;
    size_t n;
    size_t cap;
};

/* FNV-1a (64-bit) of the type's bytes. */
uint64_t pol_claim_index_hash(const char *type, size_t len)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ (unsigned char)type[i]) * 0x100000001b3u;
    }
    return h;
}

/* The key's hash: the type's, or (by length) of its length alone. */
static uint64_t hash_of(const struct pol_index_table *t, const char *type, size_t len)
{
    return t->by_length ? (0xcbf29ce484222325u ^ len) * 0x100000001b3u
                        : pol_claim_index_hash(type, len);
}

static bool same_key(const struct pol_index_table *t, const struct pol_index_list *l,
                     const char *type, size_t len, uint64_t h)
{
    return l->hash == h && l->len == len &&
           (t->by_length || len == 0 || memcmp(l->type, type, len) == 0);
}

/* The slot of key (type, len): its list, or the free slot where it would go. */
static struct pol_index_list *slot_of(const struct pol_index_table *t, const char *type, size_t len,
                                      uint64_t h)
{
    size_t i = (size_t)h & (t->cap - 1);
    while (t->slots[i].n != 0 && !same_key(t, &t->slots[i], type, len, h)) {
        i = (i + 1) & (t->cap - 1);
    }
    return &t->slots[i];
}

static att_err grow(struct pol_index_table *t)
{
    size_t cap = t->cap == 0 ? 64 : t->cap * 2;
    struct pol_index_list *slots = calloc(cap, sizeof(*slots));
    ATT_ENSURE(slots != NULL, ATT_ERR_NOMEM);
    struct pol_index_table bigger = {slots, cap, t->used, t->by_length};
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i].n != 0) {
            *slot_of(&bigger, t->slots[i].type, t->slots[i].len, t->slots[i].hash) = t->slots[i];
        }
    }
    free(t->slots);
    *t = bigger;
    return ATT_OK;
}

static att_err table_add(struct pol_index_table *t, const char *type, size_t len, size_t claim)
{
    if (2 * (t->used + 1) > t->cap) {
        ATT_TRY(grow(t));
    }
    uint64_t h = hash_of(t, type, len);
    struct pol_index_list *l = slot_of(t, type, len, h);
    if (l->n == l->cap) {
        size_t cap = l->cap == 0 ? 16 : l->cap * 2;
        size_t *claims = realloc(l->claims, cap * sizeof(*claims));
        ATT_ENSURE(claims != NULL, ATT_ERR_NOMEM);
        l->claims = claims;
        l->cap = cap;
    }
    if (l->n == 0) {
        l->type = type;
        l->len = len;
        l->hash = h;
        t->used++;
    }
    l->claims[l->n++] = claim;
    return ATT_OK;
}

static const struct pol_index_list *table_find(const struct pol_index_table *t, const char *type,
                                               size_t len, uint64_t h)
{
    if (t->cap == 0) {
        return NULL;
    }
    const struct pol_index_list *l = slot_of(t, type, len, h);
    return l->n != 0 ? l : NULL;
}

static void table_free(struct pol_index_table *t)
{
    for (size_t i = 0; i < t->cap; i++) {
        free(t->slots[i].claims);
    }
    free(t->slots);
}

void pol_claim_index_init(struct pol_claim_index *ix)
{
    memset(ix, 0, sizeof(*ix));
    ix->by_length.by_length = true;
}

void pol_claim_index_free(struct pol_claim_index *ix)
{
    table_free(&ix->by_type);
    table_free(&ix->by_length);
    pol_claim_index_init(ix);
}

att_err pol_claim_index_add(struct pol_claim_index *ix, const char *type, size_t len, size_t claim)
{
    ATT_TRY(table_add(&ix->by_type, type, len, claim));
    return table_add(&ix->by_length, "", len, claim);
}

const size_t *pol_claim_index_of_type(const struct pol_claim_index *ix, const char *type,
                                      size_t len, uint64_t h, size_t *n)
{
    const struct pol_index_list *l = table_find(&ix->by_type, type, len, h);
    *n = l != NULL ? l->n : 0;
    return l != NULL ? l->claims : NULL;
}

size_t pol_claim_index_count_length(const struct pol_claim_index *ix, size_t len, size_t end)
{
    const struct pol_index_list *l =
        table_find(&ix->by_length, "", len, hash_of(&ix->by_length, "", len));
    size_t lo = 0;
    size_t hi = l != NULL ? l->n : 0;
    while (lo < hi) { /* the first claim numbered end or above */
        size_t mid = lo + (hi - lo) / 2;
        if (l->claims[mid] < end) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}
