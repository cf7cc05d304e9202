/*
 * backoff.h - brute-force backoff for authentication failures.
 *
 * Failures are counted per key in a fixed window: `max_failures` (N) failures within `window`
 * (W) seconds block the key for `block` (B) seconds, and its requests are answered 429 with
 * Retry-After before any credential is checked (so a blocked guesser also stops costing
 * scrypt time). Three kinds of key (docs/identity.md, "Brute-force backoff"):
 *
 *   source  a peer address, or the /64 of an IPv6 one (att_backoff_addr_key). Every failed
 *           authentication from it counts. The callers decide what a blocked source is refused:
 *           only what no valid caller sends (invalid bearer tokens, malformed client
 *           authentication, client ids that name no principal), so callers sharing an address
 *           with a guesser (NAT, a proxy) keep working with valid credentials.
 *   pair    (source, client id): failed checks of that client's credentials from that source.
 *           N within W block the pair: the one refusal a valid credential can meet, and only
 *           after failures naming that client from that same source.
 *   client  a client id across all sources: failed checks count but never block the client.
 *           While it has N or more within W, a pair's first failure blocks that pair: guessing
 *           from many addresses gets one guess per address per B seconds, while the owner's
 *           address, without failures of its own, is checked as always.
 *
 * Only well-formed credentials that were checked and failed (a wrong secret, an assertion
 * whose signature or signed claims fail) count against a pair and a client
 * (att_backoff_credential_failed); anything rejected before that counts against the source
 * alone (att_backoff_fail). A success forgets the pair's failures only.
 *
 * State is per node and in memory: a bounded table (ATT_BACKOFF_SLOTS entries, the unblocked
 * one seen longest ago evicted first), one mutex; every function is thread-safe. Nothing here
 * is secret; keys hold addresses and client ids.
 */
#ifndef ATT_AUTH_BACKOFF_H
#define ATT_AUTH_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/err.h"

#define ATT_BACKOFF_SLOTS 4096
#define ATT_BACKOFF_KEY_MAX 128 /* longer keys are cut */

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

/* The keys of one client authentication attempt. */
struct att_backoff_keys {
    char source[ATT_BACKOFF_KEY_MAX]; /* "ip:192.0.2.7", "ip6:2001:db8:1:2::/64" */
    char pair[ATT_BACKOFF_KEY_MAX];   /* "ip:192.0.2.7 client:<id>"; "" without a client id */
    char client[ATT_BACKOFF_KEY_MAX]; /* "client:<id>"; "" without a client id */
};

/* The keys of an attempt from `peer` naming `client_id` (NULL or "" when it names none). */
void att_backoff_keys_init(struct att_backoff_keys *k, const struct sockaddr *peer,
                           const char *client_id);

/* Is `key` blocked at `now`? *retry_after (seconds, >= 1) is set when it is. */
bool att_backoff_blocked(struct att_backoff *b, const char *key, int64_t now,
                         unsigned *retry_after);
/* Count one failure for `key` (a source); true when this failure starts a block. */
bool att_backoff_fail(struct att_backoff *b, const char *key, int64_t now);
/*
 * A checked credential of `k`'s client failed: one failure for the source, the pair and the
 * client, and the pair is blocked at N failures, or at once while the client has N or more.
 * `k` must name a client. True when this failure starts a block of the pair.
 */
bool att_backoff_credential_failed(struct att_backoff *b, const struct att_backoff_keys *k,
                                   int64_t now);
/* Forget `key`'s failures (a pair, after a success); a running block stays. */
void att_backoff_success(struct att_backoff *b, const char *key);

#endif
