/*
 * audit_db.h - the database of the audit trail (docs/operations.md, "Audit trail").
 *
 * The audit trail lives in a database of its own (audit.db next to the state database), not
 * in the state database: it grows with every request while the state stays small, it is
 * pruned and exported on its own schedule, and when it cannot be written attestd must notice
 * that alone (and refuse changes) rather than lose the state with it.
 *
 * This layer stores rows and knows no hashing: src/audit/ computes each row's chain hash and
 * checks it. Rows are append-only: an UPDATE is refused by a trigger; rows are deleted only by
 * att_audit_db_prune, oldest first, which remembers where the chain it cut ended.
 *
 * Threads: one handle per thread. The writer of src/audit/ brackets its group commits with
 * begin/commit on its own handle; readers open their own.
 */
#ifndef ATT_STORE_AUDIT_DB_H
#define ATT_STORE_AUDIT_DB_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define ATT_AUDIT_HASH_HEX 64
#define ATT_AUDIT_BODY_MAX ((size_t)16 << 10)

/* One record as stored. The columns repeat fields of `body` so that filters can use them;
 * verification checks that they agree. */
struct att_audit_row {
    int64_t seq;     /* 1, 2, ... without gaps */
    int64_t time_ms; /* Unix time, milliseconds */
    char category[16];
    char action[48];
    char outcome[16];
    char principal[256];
    char principal_name[64];
    char provider[64];
    char request_id[40];
    char hash[ATT_AUDIT_HASH_HEX + 1]; /* lower-case hex */
    struct att_buf body;               /* the record as JSON text (src/audit/record.c) */
};

/* Which rows a scan returns; "" / 0 = no condition. */
struct att_audit_filter {
    int64_t after_seq;     /* rows with seq above this */
    int64_t since_ms;      /* time_ms >= since_ms */
    int64_t until_ms;      /* time_ms < until_ms */
    const char *principal; /* the id or the name */
    const char *provider;
    const char *action;   /* "policy.set", or "policy" for every "policy.*" */
    const char *category; /* "change", "authentication", ... */
    int64_t limit;        /* at most this many rows; 0 = all */
    bool skip_granted;    /* leave out attestations that succeeded (the alert rules' scan) */
};

struct att_audit_db;

/* body capped at ATT_AUDIT_BODY_MAX. */
void att_audit_row_init(struct att_audit_row *r);
void att_audit_row_cleanup(struct att_audit_row *r);

/*
 * Open (creating if needed) the audit database at `path`; busy_ms: how long a write waits for
 * a lock another process holds before it fails (ATT_ERR_STORE_BUSY). `first`: this process
 * has no handle on the file yet, so its files are checked (private, not links); a second
 * handle must skip that, or the check's closing of descriptors drops the first one's locks.
 */
att_err att_audit_db_open(const char *path, int busy_ms, bool first,
                          struct att_audit_db **out) ATT_WUR;
/* Accepts NULL. */
void att_audit_db_close(struct att_audit_db *db);

/* A write transaction (BEGIN IMMEDIATE: the write lock now, so the head read stays true). */
att_err att_audit_db_begin(struct att_audit_db *db) ATT_WUR;
att_err att_audit_db_commit(struct att_audit_db *db) ATT_WUR;
void att_audit_db_rollback(struct att_audit_db *db);

/*
 * The end of the chain: the last row's seq and hash; with no rows, where the last prune ended
 * (seq 0 and 64 '0' digits on a new trail). *first_seq gets the first row kept (0: none).
 */
att_err att_audit_db_head(struct att_audit_db *db, int64_t *seq, char hash[ATT_AUDIT_HASH_HEX + 1],
                          int64_t *first_seq) ATT_WUR;
/* Where the last prune cut the chain: the seq and hash of the last row deleted (0 and zeros
 * when nothing was pruned). */
att_err att_audit_db_pruned(struct att_audit_db *db, int64_t *seq,
                            char hash[ATT_AUDIT_HASH_HEX + 1]) ATT_WUR;
/* Append one row (inside begin/commit). ATT_ERR_EXISTS when its seq is taken. */
att_err att_audit_db_insert(struct att_audit_db *db, const struct att_audit_row *r) ATT_WUR;
/* Rows matching `f` in seq order; `cb` may stop the scan with an error it returns. */
att_err att_audit_db_scan(struct att_audit_db *db, const struct att_audit_filter *f,
                          att_err (*cb)(const struct att_audit_row *r, void *arg),
                          void *arg) ATT_WUR;
/*
 * Delete every row up to and including `through_seq` (inside begin/commit), remembering its
 * hash as where the kept chain starts. *deleted gets how many went.
 */
att_err att_audit_db_prune(struct att_audit_db *db, int64_t through_seq,
                           const char hash[ATT_AUDIT_HASH_HEX + 1], int64_t *deleted) ATT_WUR;
/* The highest seq whose time_ms is below `before_ms` (0: none). */
att_err att_audit_db_last_before(struct att_audit_db *db, int64_t before_ms, int64_t *seq,
                                 char hash[ATT_AUDIT_HASH_HEX + 1]) ATT_WUR;

#endif
