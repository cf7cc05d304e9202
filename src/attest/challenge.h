/*
 * challenge.h - stateless, single-use challenges: what a verifier asks a TPM to quote (the quote's
 * extraData) and MAA's TPM protocol `service_context` (docs/reference/maa-tpm-protocol.md).
 *
 * A challenge is sealed with AES-256-GCM: it carries its nonce and expiry, and the provider and
 * purpose it was issued for are its additional data, so the server keeps nothing between issuing
 * and checking, a forged or altered challenge does not open, and one provider's challenge is
 * refused by another. Use is recorded until the challenge expires, so each one is accepted once.
 *
 * One node (att_challenges_new): the key is drawn at start and never stored, uses are kept in
 * memory; a restart invalidates outstanding challenges (clients ask for a new one). Nodes on one
 * shared store (att_challenges_new_shared): the key is the store's, sealed there, the same for
 * every node, and uses are recorded in the store, so any node accepts a challenge another
 * issued, once.
 */
#ifndef ATT_ATTEST_CHALLENGE_H
#define ATT_ATTEST_CHALLENGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define ATT_CHALLENGE_NONCE_LEN 32
/* Five minutes: time to quote and send, not to store. */
#define ATT_CHALLENGE_TTL 300
/* Unexpired used challenges remembered at once (a full table refuses with a 503). */
#define ATT_CHALLENGE_MAX_USED 65536
/* The text of a challenge: base64url of version, IV, sealed expiry and nonce, tag. */
#define ATT_CHALLENGE_TEXT_MAX 128

struct att_challenges;

/* A node's challenge key and used set. ATT_ERR_NOMEM, ATT_ERR_CRYPTO. */
att_err att_challenges_new(struct att_challenges **out) ATT_WUR;
/*
 * The challenges of nodes sharing `store` (borrowed; it must outlive them): its key, made and
 * sealed with `kr` by the first node, and its record of uses. Store and keyring errors.
 */
struct att_store;
struct att_keyring;
att_err att_challenges_new_shared(struct att_store *store, struct att_keyring *kr,
                                  struct att_challenges **out) ATT_WUR;
/* Accepts NULL. */
void att_challenges_free(struct att_challenges *c);

/*
 * A new challenge for `provider` and `purpose` ("TpmQuote", "Tpm"), valid `ttl` seconds from
 * `now`: its text (base64url) is appended to `text`, its nonce written to `nonce`, its expiry to
 * *expires.
 */
att_err att_challenge_issue(const struct att_challenges *c, const char *provider,
                            const char *purpose, int64_t now, int64_t ttl, struct att_buf *text,
                            uint8_t nonce[ATT_CHALLENGE_NONCE_LEN], int64_t *expires) ATT_WUR;

/*
 * Open challenge `text` issued by this node for `provider` and `purpose`: its nonce and expiry.
 * ATT_ERR_CHALLENGE_INVALID (not base64url, wrong length or version, does not open),
 * ATT_ERR_CHALLENGE_EXPIRED (past its expiry at `now`).
 */
att_err att_challenge_open(const struct att_challenges *c, const char *provider,
                           const char *purpose, const char *text, size_t len, int64_t now,
                           uint8_t nonce[ATT_CHALLENGE_NONCE_LEN], int64_t *expires) ATT_WUR;

/* Record the use of an opened challenge: ATT_ERR_CHALLENGE_USED the second time,
 * ATT_ERR_REPLAY_CACHE_FULL when too many are remembered (one node), store errors (shared). */
att_err att_challenge_use(struct att_challenges *c, const char *provider,
                          const uint8_t nonce[ATT_CHALLENGE_NONCE_LEN], int64_t expires,
                          int64_t now) ATT_WUR;

#endif
