/*
 * backoff.h - brute-force backoff for authentication failures.
 *
 * Failures are counted per key (a source address, a client id) in a fixed window; after
 * `max_failures` failures within `window` seconds the key is blocked for `block` seconds and
 * its requests are answered 429 with Retry-After before any credential is checked (so a
 * blocked attacker also stops costing scrypt time). A success clears the key's count.
 *
 * State is per node and in memory: a bounded table (ATT_BACKOFF_SLOTS entries, oldest
 * evicted first), one mutex. Nothing here is secret; keys hold addresses and client ids.
 */
#ifndef ATT_AUTH_BACKOFF_H
#define ATT_AUTH_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/err.h"

#define ATT_BACKOFF_SLOTS 4096
#define ATT_BACKOFF_KEY_MAX 96

struct att_backoff_config {
    unsigned max_failures; /* 0 disables backoff */
    unsigned window;       /* seconds */
    unsigned block;        /* seconds */
};

struct att_backoff;

att_err att_backoff_new(const struct att_backoff_config *cfg, struct att_backoff **out) ATT_WUR;
void att_backoff_free(struct att_backoff *b);

/*
 * The backoff key of a peer address: "ip:a.b.c.d" for IPv4 (and IPv4-mapped IPv6), and the
 * /64 for IPv6 ("ip6:2001:db8:1:2::/64"), since one host commonly holds a whole /64 and could
 * otherwise rotate addresses to escape its block.
 */
void att_backoff_addr_key(const struct sockaddr *sa, char out[ATT_BACKOFF_KEY_MAX]);

/* Is `key` blocked at `now`? *retry_after (seconds, >= 1) is set when it is. */
bool att_backoff_blocked(struct att_backoff *b, const char *key, int64_t now,
                         unsigned *retry_after);
/* Count one failure for `key`; true when this failure starts a block. */
bool att_backoff_fail(struct att_backoff *b, const char *key, int64_t now);
/* Forget `key`'s failures. */
void att_backoff_success(struct att_backoff *b, const char *key);

#endif
