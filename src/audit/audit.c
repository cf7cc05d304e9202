/*
 * audit.c - the audit writer: a queue, one thread, group commits (audit.h).
 *
 * Callers build their record's body on their own thread (att_audit_record_make) and queue it;
 * the writer takes everything queued, numbers and chains it inside one write transaction
 * (BEGIN IMMEDIATE, so another process appending - attestctl - is serialised with it and the
 * head read stays true), commits with fsync, then tells each caller. One commit carries as
 * many records as arrived during the last one, so the cost of durability is shared.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "audit/audit.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "metrics/metrics.h"

/* Records in one transaction at most (bounds a commit's latency). */
#define BATCH_MAX 2048
/* How long a commit waits for more records than its first (microseconds): when someone waits
 * for it (a change, a fail-closed provider's answer), 1 ms; when nobody does (a fail-open
 * provider's outcomes, refusals, alerts), 20 ms, so that under load the cost of an fsync is shared
 * by a hundred records rather than a handful. */
#define GROUP_WAIT_US 1000
#define LAZY_WAIT_US 20000
/* How often retention runs. */
#define PRUNE_EVERY_S 3600

struct item {
    int64_t queued_us; /* when it was queued (mono_us) */
    struct att_audit_row row;
    att_audit_done_fn done;
    void *arg;
    struct item *next;
};

struct att_audit {
    struct att_audit_config cfg;
    struct att_audit_db *db;
    struct att_audit_db *reader; /* for att_audit_read (reader_lock) */
    pthread_mutex_t reader_lock;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct item *head, *tail; /* queued, oldest first (lock) */
    unsigned queued;          /* (lock) */
    int64_t held_since;       /* queued_us of the oldest queued record someone waits for, or 0 */
    bool stop;                /* (lock) */
    bool idle; /* the writer waits for a first record: a submit must wake it (lock) */
    /* writer thread only */
    bool head_known; /* head_seq and head_hash are the trail's end */
    int64_t head_seq;
    char head_hash[ATT_AUDIT_HASH_HEX + 1];
    int64_t last_checkpoint_s;
    int64_t checkpoint_seq;
    int64_t last_prune_s;
    /* stats */
    _Atomic uint64_t records, commits, failed, commit_us;
    _Atomic int64_t failing_since;
};

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void item_free(struct item *it)
{
    att_audit_row_cleanup(&it->row);
    free(it);
}

static void finish(struct att_audit *a, struct item *it, att_err rc)
{
    att_metric_add(ATT_M_AUDIT_RECORDS, rc == ATT_OK ? "result=\"written\"" : "result=\"failed\"",
                   1);
    if (rc != ATT_OK) {
        atomic_fetch_add(&a->failed, 1);
    }
    if (it->done != NULL) {
        it->done(it->arg, rc);
    }
    item_free(it);
}

/* Append one row after (seq, hash): number it, chain it, insert it. */
static att_err append_row(struct att_audit *a, struct att_audit_row *row, int64_t *seq,
                          char hash[ATT_AUDIT_HASH_HEX + 1])
{
    row->seq = *seq + 1;
    att_audit_chain_hash(hash, row->seq, &row->body, row->hash);
    ATT_TRY(att_audit_db_insert(a->db, row));
    *seq = row->seq;
    memcpy(hash, row->hash, ATT_AUDIT_HASH_HEX + 1);
    return ATT_OK;
}

/* A record of the trail itself (checkpoint, retention), appended in the open transaction. */
static att_err append_own(struct att_audit *a, const char *action, json_t *detail, int64_t *seq,
                          char hash[ATT_AUDIT_HASH_HEX + 1])
{
    struct att_audit_row row;
    struct att_audit_event ev = {ATT_AUDIT_TRAIL, action, "success", "", "attestd", "", "", "",
                                 detail};
    att_audit_row_init(&row);
    att_err rc = att_audit_record_make(&ev, now_ms(), &row);
    if (rc == ATT_OK) {
        rc = append_row(a, &row, seq, hash);
    }
    att_audit_row_cleanup(&row);
    json_decref(detail);
    return rc;
}

/*
 * Sign (seq, hash) and append the checkpoint that says so. *jws gets the signature, covered
 * the (seq, hash) it covers.
 */
static att_err append_checkpoint(struct att_audit *a, int64_t *seq,
                                 char hash[ATT_AUDIT_HASH_HEX + 1], struct att_buf *jws,
                                 char covered[ATT_AUDIT_HASH_HEX + 1])
{
    memcpy(covered, hash, ATT_AUDIT_HASH_HEX + 1);
    char payload[160];
    int n = snprintf(payload, sizeof(payload), "{\"seq\":%lld,\"hash\":\"%s\",\"iat\":%lld}",
                     (long long)*seq, hash, (long long)att_time_now());
    ATT_ENSURE(n > 0 && (size_t)n < sizeof(payload), ATT_ERR_INTERNAL);
    ATT_TRY(a->cfg.sign(a->cfg.sign_arg, payload, (size_t)n, jws));
    json_t *detail = json_pack("{s:I,s:s,s:s%}", "seq", (json_int_t)*seq, "hash", hash, "jws",
                               (const char *)jws->data, jws->len);
    ATT_ENSURE(detail != NULL, ATT_ERR_NOMEM);
    return append_own(a, "audit.checkpoint", detail, seq, hash);
}

/* Retention: cut the records older than retention_days, and say so in the trail. */
static att_err prune(struct att_audit *a, int64_t *seq, char hash[ATT_AUDIT_HASH_HEX + 1])
{
    int64_t cut = 0;
    int64_t deleted = 0;
    char cut_hash[ATT_AUDIT_HASH_HEX + 1];
    ATT_TRY(att_audit_db_last_before(a->db, now_ms() - a->cfg.retention_days * 86400000, &cut,
                                     cut_hash));
    if (cut == 0 || cut >= *seq) {
        return ATT_OK; /* nothing old enough, or it would leave no record to hang the chain on */
    }
    ATT_TRY(att_audit_db_prune(a->db, cut, cut_hash, &deleted));
    json_t *detail = json_pack("{s:I,s:s,s:I,s:I}", "throughSeq", (json_int_t)cut, "throughHash",
                               cut_hash, "deleted", (json_int_t)deleted, "retentionDays",
                               (json_int_t)a->cfg.retention_days);
    ATT_ENSURE(detail != NULL, ATT_ERR_NOMEM);
    return append_own(a, "audit.pruned", detail, seq, hash);
}

/* What one transaction wrote, for the caller to act on after the commit. */
struct written {
    bool pruned;
    bool checkpoint;
    char covered[ATT_AUDIT_HASH_HEX + 1]; /* the hash the checkpoint covers */
};

/*
 * One transaction: `batch` after the head, then retention and a checkpoint when asked. The head
 * is remembered between transactions; another process (attestctl) appending meanwhile makes
 * the first insert collide (ATT_ERR_EXISTS): the head is then read again, once.
 */
static att_err write_batch(struct att_audit *a, struct item *batch, bool want_prune,
                           bool want_checkpoint, struct att_buf *jws, struct written *w)
{
    int64_t first = 0;
    memset(w, 0, sizeof(*w));
    ATT_TRY(att_audit_db_begin(a->db));
    att_err rc = ATT_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!a->head_known) {
            rc = att_audit_db_head(a->db, &a->head_seq, a->head_hash, &first);
            a->head_known = rc == ATT_OK;
        }
        int64_t seq = a->head_seq;
        char hash[ATT_AUDIT_HASH_HEX + 1];
        memcpy(hash, a->head_hash, sizeof(hash));
        for (struct item *it = batch; rc == ATT_OK && it != NULL; it = it->next) {
            rc = append_row(a, &it->row, &seq, hash);
        }
        if (rc == ATT_ERR_EXISTS && attempt == 0 && seq == a->head_seq) {
            a->head_known = false; /* the first insert collided: the head moved */
            rc = ATT_OK;
            continue;
        }
        if (rc == ATT_OK && want_prune) {
            rc = prune(a, &seq, hash);
            w->pruned = true;
        }
        /* A checkpoint only when something came after the last one. */
        if (rc == ATT_OK && want_checkpoint && seq > a->checkpoint_seq) {
            rc = append_checkpoint(a, &seq, hash, jws, w->covered);
            w->checkpoint = true;
        }
        if (rc == ATT_OK) {
            rc = att_audit_db_commit(a->db);
        }
        if (rc == ATT_OK) {
            a->head_seq = seq;
            memcpy(a->head_hash, hash, sizeof(hash));
        }
        break;
    }
    if (rc != ATT_OK) {
        att_audit_db_rollback(a->db);
        a->head_known = false;
    }
    return rc;
}

/*
 * One group commit: `batch` (may be empty), then a checkpoint and retention when due. On
 * failure nothing of it is written and every item is failed.
 */
static void commit_batch(struct att_audit *a, struct item *batch, bool final)
{
    int64_t t0 = mono_us();
    int64_t now = att_time_now();
    struct written w;
    struct att_buf jws;
    size_t n = 0;
    bool want_checkpoint = a->cfg.sign != NULL && a->cfg.checkpoint_interval_s > 0 &&
                           (final || now - a->last_checkpoint_s >= a->cfg.checkpoint_interval_s);
    bool want_prune = a->cfg.retention_days > 0 && now - a->last_prune_s >= PRUNE_EVERY_S;
    if (batch == NULL && !want_prune && !want_checkpoint) {
        return;
    }
    for (struct item *it = batch; it != NULL; it = it->next) {
        n++;
    }
    att_buf_init(&jws, 8192);
    att_err rc = write_batch(a, batch, want_prune, want_checkpoint, &jws, &w);
    if (rc != ATT_OK) {
        int64_t expected = 0;
        if (atomic_compare_exchange_strong(&a->failing_since, &expected, now)) {
            att_log(ATT_LOG_ERROR, "audit: cannot write the audit trail", "error",
                    json_string(att_err_name(rc)), "records", json_integer((json_int_t)n), NULL);
        }
    } else {
        if (atomic_exchange(&a->failing_since, 0) != 0) {
            att_log(ATT_LOG_WARN, "audit: writing the audit trail again", NULL);
        }
        atomic_fetch_add(&a->records, n);
        atomic_fetch_add(&a->commits, 1);
        if (w.pruned) {
            a->last_prune_s = now;
        }
        if (want_checkpoint) {
            a->last_checkpoint_s = now;
        }
        if (w.checkpoint) {
            a->checkpoint_seq = a->head_seq;
            if (a->cfg.checkpointed != NULL) {
                a->cfg.checkpointed(a->cfg.checkpointed_arg, a->head_seq - 1, w.covered,
                                    (const char *)jws.data);
            }
        }
    }
    int64_t took = mono_us() - t0;
    atomic_fetch_add(&a->commit_us, (uint64_t)took);
    att_metric_observe(ATT_M_AUDIT_COMMIT, "", (double)took / 1e6);
    while (batch != NULL) {
        struct item *next = batch->next;
        finish(a, batch, rc == ATT_OK ? ATT_OK : ATT_ERR_AUDIT_UNAVAILABLE);
        batch = next;
    }
    att_buf_cleanup(&jws);
}

/* Absolute CLOCK_REALTIME time `us` microseconds from now, for pthread_cond_timedwait. */
static struct timespec realtime_in(int64_t us)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += us / 1000000;
    t.tv_nsec += (long)(us % 1000000) * 1000;
    if (t.tv_nsec >= 1000000000) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000;
    }
    return t;
}

/* When the queued records must be committed (lock held, queue not empty). */
static int64_t commit_due_us(const struct att_audit *a)
{
    int64_t due = a->head->queued_us + LAZY_WAIT_US;
    if (a->held_since != 0 && a->held_since + GROUP_WAIT_US < due) {
        due = a->held_since + GROUP_WAIT_US;
    }
    return due;
}

/* Take up to BATCH_MAX records off the queue, oldest first (lock held). */
static struct item *take_batch(struct att_audit *a)
{
    struct item *batch = a->head;
    struct item *last = batch;
    unsigned n = batch != NULL ? 1 : 0;
    while (last != NULL && last->next != NULL && n < BATCH_MAX) {
        last = last->next;
        n++;
    }
    if (last != NULL) {
        a->head = last->next;
        last->next = NULL;
        if (a->head == NULL) {
            a->tail = NULL;
        }
        a->queued -= n;
    }
    a->held_since = 0; /* the rest (a queue longer than a batch) is due at once anyway */
    for (struct item *it = a->head; it != NULL && a->held_since == 0; it = it->next) {
        a->held_since = it->done != NULL ? it->queued_us : 0;
    }
    return batch;
}

static void *writer(void *arg)
{
    struct att_audit *a = arg;
    pthread_mutex_lock(&a->lock);
    for (;;) {
        a->idle = true;
        while (a->head == NULL && !a->stop) {
            struct timespec until = realtime_in(
                1000000 * (a->cfg.checkpoint_interval_s > 0 ? a->cfg.checkpoint_interval_s : 60));
            if (pthread_cond_timedwait(&a->wake, &a->lock, &until) != 0) {
                break; /* a checkpoint or retention may be due */
            }
        }
        a->idle = false;
        /* Group commit: the first record waits for others to share its fsync (submitters do
         * not wake the writer meanwhile, unless a batch fills or a first waiter comes). */
        while (a->head != NULL && !a->stop && a->queued < BATCH_MAX) {
            int64_t left = commit_due_us(a) - mono_us();
            if (left <= 0) {
                break;
            }
            struct timespec until = realtime_in(left);
            pthread_cond_timedwait(&a->wake, &a->lock, &until);
        }
        struct item *batch = take_batch(a);
        bool stop = a->stop && a->head == NULL;
        pthread_mutex_unlock(&a->lock);
        commit_batch(a, batch, stop);
        pthread_mutex_lock(&a->lock);
        if (stop) {
            break;
        }
    }
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

att_err att_audit_open(const struct att_audit_config *cfg, struct att_audit **out)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_audit *a = calloc(1, sizeof(*a));
    ATT_ENSURE(a != NULL, ATT_ERR_NOMEM);
    a->cfg = *cfg;
    if (a->cfg.queue_max == 0) {
        a->cfg.queue_max = 65536;
    }
    pthread_mutex_init(&a->lock, NULL);
    pthread_mutex_init(&a->reader_lock, NULL);
    pthread_cond_init(&a->wake, NULL);
    ATT_GUARD(att_audit_db_open(cfg->path, cfg->busy_ms, true, &a->db));
    /* The reader now too: opening it later, beside the writer, must not re-check the files. */
    ATT_GUARD(att_audit_db_open(cfg->path, cfg->busy_ms, false, &a->reader));
    a->last_checkpoint_s = att_time_now();
    ATT_CHECK(pthread_create(&a->thread, NULL, writer, a) == 0, ATT_ERR_INTERNAL);
    a->started = true;
    *out = a;
    a = NULL;
    rc = ATT_OK;
out:
    att_audit_close(a);
    return rc;
}

void att_audit_close(struct att_audit *a)
{
    if (a == NULL) {
        return;
    }
    if (a->started) {
        pthread_mutex_lock(&a->lock);
        a->stop = true;
        pthread_cond_signal(&a->wake);
        pthread_mutex_unlock(&a->lock);
        pthread_join(a->thread, NULL);
    }
    while (a->head != NULL) { /* only when the writer never started */
        struct item *next = a->head->next;
        finish(a, a->head, ATT_ERR_AUDIT_UNAVAILABLE);
        a->head = next;
    }
    att_audit_db_close(a->db);
    att_audit_db_close(a->reader);
    pthread_mutex_destroy(&a->reader_lock);
    pthread_cond_destroy(&a->wake);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

void att_audit_submit(struct att_audit *a, struct att_audit_event *ev, att_audit_done_fn done,
                      void *arg)
{
    att_err rc = ATT_ERR_NOMEM;
    struct item *it = calloc(1, sizeof(*it));
    if (it != NULL) {
        att_audit_row_init(&it->row);
        it->done = done;
        it->arg = arg;
        it->queued_us = mono_us();
        rc = att_audit_record_make(ev, now_ms(), &it->row);
    }
    json_decref(ev->detail);
    ev->detail = NULL;
    if (rc == ATT_OK) {
        pthread_mutex_lock(&a->lock);
        if (a->queued >= a->cfg.queue_max || a->stop) {
            rc = ATT_ERR_AUDIT_UNAVAILABLE;
        } else {
            if (a->tail != NULL) {
                a->tail->next = it;
            } else {
                a->head = it;
            }
            a->tail = it;
            a->queued++;
            bool first_held = done != NULL && a->held_since == 0;
            if (first_held) {
                a->held_since = it->queued_us; /* brings the commit forward */
            }
            if (a->idle || first_held || a->queued >= BATCH_MAX) {
                pthread_cond_signal(&a->wake);
            }
        }
        pthread_mutex_unlock(&a->lock);
    }
    if (rc != ATT_OK) {
        if (it != NULL) {
            finish(a, it, ATT_ERR_AUDIT_UNAVAILABLE);
        } else {
            atomic_fetch_add(&a->failed, 1);
            att_metric_add(ATT_M_AUDIT_RECORDS, "result=\"failed\"", 1);
            if (done != NULL) {
                done(arg, ATT_ERR_AUDIT_UNAVAILABLE);
            }
        }
    }
}

struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
    att_err rc;
};

static void wake_waiter(void *arg, att_err rc)
{
    struct waiter *w = arg;
    pthread_mutex_lock(&w->lock);
    w->rc = rc;
    w->done = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

att_err att_audit_write(struct att_audit *a, struct att_audit_event *ev)
{
    if (a == NULL) {
        json_decref(ev->detail);
        ev->detail = NULL;
        return ATT_OK;
    }
    struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, ATT_OK};
    att_audit_submit(a, ev, wake_waiter, &w);
    pthread_mutex_lock(&w.lock);
    while (!w.done) {
        pthread_cond_wait(&w.cond, &w.lock);
    }
    pthread_mutex_unlock(&w.lock);
    pthread_cond_destroy(&w.cond);
    pthread_mutex_destroy(&w.lock);
    return w.rc;
}

void att_audit_stats(struct att_audit *a, struct att_audit_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (a == NULL) {
        return;
    }
    out->records = atomic_load(&a->records);
    out->commits = atomic_load(&a->commits);
    out->failed = atomic_load(&a->failed);
    out->commit_us = atomic_load(&a->commit_us);
    out->failing_since = atomic_load(&a->failing_since);
    pthread_mutex_lock(&a->lock);
    out->queued = a->queued;
    pthread_mutex_unlock(&a->lock);
}

att_err att_audit_read(struct att_audit *a, const struct att_audit_filter *f,
                       att_err (*cb)(const struct att_audit_row *r, void *arg), void *arg)
{
    ATT_ENSURE(a != NULL, ATT_ERR_NOT_FOUND);
    pthread_mutex_lock(&a->reader_lock);
    att_err rc = att_audit_db_scan(a->reader, f, cb, arg);
    pthread_mutex_unlock(&a->reader_lock);
    return rc;
}

att_err att_audit_last_seq(struct att_audit *a, int64_t *seq)
{
    char hash[ATT_AUDIT_HASH_HEX + 1];
    int64_t first = 0;
    ATT_ENSURE(a != NULL, ATT_ERR_NOT_FOUND);
    pthread_mutex_lock(&a->reader_lock);
    att_err rc = att_audit_db_head(a->reader, seq, hash, &first);
    pthread_mutex_unlock(&a->reader_lock);
    return rc;
}

struct holds {
    int64_t seq;
    const char *hash;
    int64_t first; /* the first row seen (0: none) */
    bool match;
};

static att_err holds_row(const struct att_audit_row *r, void *arg)
{
    struct holds *h = arg;
    if (h->first == 0) {
        h->first = r->seq;
    }
    h->match = h->match || (r->seq == h->seq && strcmp(r->hash, h->hash) == 0);
    return ATT_OK;
}

att_err att_audit_holds(struct att_audit *a, int64_t seq, const char *hash, bool *held)
{
    struct holds h = {seq, hash, 0, false};
    struct att_audit_filter first;
    struct att_audit_filter at;
    memset(&first, 0, sizeof(first));
    first.limit = 1;
    memset(&at, 0, sizeof(at));
    at.after_seq = seq > 0 ? seq - 1 : 0;
    at.limit = 1;
    ATT_TRY(att_audit_read(a, &first, holds_row, &h));
    int64_t first_seq = h.first;
    ATT_TRY(att_audit_read(a, &at, holds_row, &h));
    /* Held, or pruned past it (the first kept record comes after it). */
    *held = h.match || (first_seq > seq);
    return ATT_OK;
}
