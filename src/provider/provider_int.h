/*
 * provider_int.h - what provider.c and upkeep.c share: a provider's keys as the store has them.
 */
#ifndef ATT_PROVIDER_PROVIDER_INT_H
#define ATT_PROVIDER_PROVIDER_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "provider/provider.h"

/* The table of provider keys: the sealed keys' additional data names it. */
#define ATT_PROVIDER_KEYS_TABLE "signing_keys"

struct att_stored_keys {
    char kid[ATT_PROVIDER_KEYS_MAX][ATT_KID_MAX + 1];
    struct att_key_times times[ATT_PROVIDER_KEYS_MAX];
    size_t n;
    bool too_many; /* the store has more than ATT_PROVIDER_KEYS_MAX (the rest are not here) */
};

/* att_store_key_list callback: append the key to the att_stored_keys `arg`. */
att_err att_stored_keys_add(const struct att_key_rec *k, void *arg);

#endif
