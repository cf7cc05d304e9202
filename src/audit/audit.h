/*
 * audit.h - the audit trail: one record per change, authentication failure, authorization
 * refusal and attestation outcome, append-only and hash-chained, with signed checkpoints
 * (docs/operations.md, "Audit trail").
 *
 * Chain: record n holds hash_n = SHA-256("attestd-audit-v1" 0x00 hash_{n-1} 0x00 n 0x00 body_n)
 * (hex hashes, n in decimal; hash_0 is 64 '0'), so removing, altering or reordering a record
 * breaks the chain at the record after it. Every checkpoint_interval the writer appends a
 * checkpoint: a JWS, signed with attestd's access-token key, over the seq and hash before it;
 * the newest is also kept in the state database, so cutting the tail off the trail is seen
 * too. A record never holds evidence bytes, secrets or tokens.
 *
 * Writes are group commits: one thread (the writer) takes every record queued since its last
 * commit and writes them in one transaction, fsynced. att_audit_write waits for that (changes:
 * nothing is changed unless its record is durable); att_audit_submit does not, and reports
 * through a callback (attestations, whose answers wait without holding a thread: the HTTP
 * gate, http/response.h).
 */
#ifndef ATT_AUDIT_AUDIT_H
#define ATT_AUDIT_AUDIT_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "store/audit_db.h"

/* Categories. */
#define ATT_AUDIT_CHANGE "change"
#define ATT_AUDIT_AUTHN "authentication"
#define ATT_AUDIT_AUTHZ "authorization"
#define ATT_AUDIT_ATTEST "attestation"
#define ATT_AUDIT_SYSTEM "system" /* start, stop, reload */
#define ATT_AUDIT_TRAIL "audit"   /* the trail's own checkpoints and retention */
#define ATT_AUDIT_ALERT "alert"   /* alerts raised (src/alert) */

/* The "typ" of a checkpoint's JWS header. */
#define ATT_AUDIT_CHECKPOINT_TYP "attestd-audit-checkpoint+jwt"

/* What happened, in the caller's words; every string may be NULL (= ""). */
struct att_audit_event {
    const char *category;
    const char *action;  /* "policy.set", "role.add", "attest.SgxEnclave", ... */
    const char *outcome; /* "attempt", "success", "failure", "denied" */
    const char *principal;
    const char *principal_name;
    const char *source; /* peer address, or "local:attestctl" */
    const char *provider;
    const char *request_id;
    json_t *detail; /* an object (stolen) or NULL */
};

/* Sign a checkpoint payload as a compact JWS (attestd's access-token key). */
typedef att_err (*att_audit_sign_fn)(void *arg, const char *payload, size_t len,
                                     struct att_buf *jws);
/* The newest checkpoint, for the state database. Called on the writer thread. */
typedef void (*att_audit_checkpoint_fn)(void *arg, int64_t seq, const char *hash, const char *jws);
/* A record's fate: ATT_OK once durable, else why not (ATT_ERR_AUDIT_UNAVAILABLE). */
typedef void (*att_audit_done_fn)(void *arg, att_err rc);

struct att_audit_config {
    const char *path;
    int busy_ms;                   /* a commit waits this long for another writer's lock */
    unsigned queue_max;            /* records waiting at most; more are refused at once */
    int64_t retention_days;        /* records older are pruned (hourly); 0 = kept for good */
    int64_t checkpoint_interval_s; /* 0 = no checkpoints (attestctl: the daemon makes them) */
    att_audit_sign_fn sign;
    void *sign_arg;
    att_audit_checkpoint_fn checkpointed;
    void *checkpointed_arg;
};

/* What the writer has done, for metrics and alerts. */
struct att_audit_stats {
    uint64_t records;      /* written */
    uint64_t commits;      /* group commits */
    uint64_t failed;       /* records refused or lost (queue full, write failed) */
    uint64_t commit_us;    /* total time in commits */
    int64_t failing_since; /* Unix time of the first failure of the current run; 0: writing */
    unsigned queued;
};

struct att_audit;

/* Open the trail (creating it), start the writer, prune what retention allows. */
att_err att_audit_open(const struct att_audit_config *cfg, struct att_audit **out) ATT_WUR;
/* Write what is queued, a last checkpoint, stop. Accepts NULL. */
void att_audit_close(struct att_audit *a);

/*
 * Record `ev` and wait until it is durable: ATT_OK, or ATT_ERR_AUDIT_UNAVAILABLE (queue full,
 * the database locked or failing) - then the caller must not make the change. `ev->detail` is
 * stolen. `a` NULL: no trail (tests of other parts), ATT_OK.
 */
att_err att_audit_write(struct att_audit *a, struct att_audit_event *ev) ATT_WUR;
/* Record `ev` without waiting: `done` (may be NULL) is called on the writer thread, or here
 * when it is refused at once. */
void att_audit_submit(struct att_audit *a, struct att_audit_event *ev, att_audit_done_fn done,
                      void *arg);

void att_audit_stats(struct att_audit *a, struct att_audit_stats *out);

/*
 * Whether the trail still holds record `seq` with hash `hash` (or retention pruned past it):
 * *held false means records were removed (the checkpoint kept in the state database is gone).
 */
att_err att_audit_holds(struct att_audit *a, int64_t seq, const char *hash, bool *held) ATT_WUR;
/* The number of the trail's last record (0: none) through the read handle. */
att_err att_audit_last_seq(struct att_audit *a, int64_t *seq) ATT_WUR;
/* Rows matching `f`, in seq order, through a read handle of its own (one reader at a time).
 * ATT_ERR_NOT_FOUND when `a` is NULL. */
att_err att_audit_read(struct att_audit *a, const struct att_audit_filter *f,
                       att_err (*cb)(const struct att_audit_row *r, void *arg), void *arg) ATT_WUR;

/* ---- records (record.c) ---- */

/* Fill `row`'s columns and body from `ev` (detail not stolen), at `time_ms`. */
att_err att_audit_record_make(const struct att_audit_event *ev, int64_t time_ms,
                              struct att_audit_row *row) ATT_WUR;
/* The chain hash of record `seq` with body `body` after a record of hash `prev`. */
void att_audit_chain_hash(const char prev[ATT_AUDIT_HASH_HEX + 1], int64_t seq,
                          const struct att_buf *body, char out[ATT_AUDIT_HASH_HEX + 1]);
/* Whether a row's columns say what its body says (ATT_OK), else ATT_ERR_AUDIT_CHAIN. */
att_err att_audit_record_check(const struct att_audit_row *row) ATT_WUR;
/* The row as one JSON line for export: {"seq","hash",...the body's fields} (caller frees). */
char *att_audit_record_export(const struct att_audit_row *row);

/* ---- verification (verify.c) ---- */

/* The public key of access-token key `kid`, for checkpoint signatures; NULL if unknown. */
typedef EVP_PKEY *(*att_audit_key_fn)(void *arg, const char *kid);

struct att_audit_verdict {
    bool ok;
    int64_t records;
    int64_t first_seq, last_seq;
    int64_t checkpoints;         /* verified checkpoint signatures */
    int64_t last_checkpoint_seq; /* the seq the newest checkpoint covers */
    int64_t pruned_through;      /* retention removed the records up to this seq */
    int64_t bad_seq;             /* the first record found wrong (0: ok, or the trail's end) */
    char problem[256];
};

/*
 * Check the whole trail: the chain, every row's columns against its body, every checkpoint's
 * signature and what it covers, and, with head_seq > 0, that the checkpoint kept in the
 * state database (head_seq, head_hash) is still in the trail. A trail found wrong is ATT_OK
 * with verdict->ok false; errors are for a trail that cannot be read.
 */
att_err att_audit_verify(struct att_audit_db *db, att_audit_key_fn key, void *key_arg,
                         int64_t head_seq, const char *head_hash,
                         struct att_audit_verdict *verdict) ATT_WUR;

#endif
