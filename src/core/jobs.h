/*
 * jobs.h - a bounded pool of worker threads for work that costs CPU or may block.
 *
 * The HTTP event loops hand requests that verify evidence, evaluate policies, hash passwords
 * or fetch from upstream to this pool, so that one slow request never stalls the other
 * connections of its loop (docs/internals/http.md, "Job pool"). The queue has a fixed
 * capacity: when it is full, att_jobs_submit fails at once and the caller answers 503 without
 * doing the work.
 *
 * A job is caller-owned memory that embeds struct att_job. `run` is called on a pool thread,
 * then `done` on the same thread; nothing else of the job is touched by the pool. A job
 * submitted but not yet started when the pool is freed gets `done` with canceled = true and
 * no `run`. The pool's threads run at a lower scheduling priority than the event loops
 * (nice +5), so loops keep answering while the pool is saturated, and as SCHED_BATCH: a
 * submitted job does not preempt its submitter, so a loop hands over every request it has
 * read before a pool thread takes the first (one context switch per batch, not two per
 * request; measured: docs/internals/http.md, "Job pool").
 */
#ifndef ATT_CORE_JOBS_H
#define ATT_CORE_JOBS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

struct att_job {
    void (*run)(struct att_job *job);
    /* Called once after `run` (or instead of it, with canceled, when the pool is freed). */
    void (*done)(struct att_job *job, bool canceled);
    struct att_job *next; /* the pool's */
};

struct att_jobs;

/* `threads` (1..256) worker threads and room for `queue` (1..1M) waiting jobs. */
att_err att_jobs_new(unsigned threads, unsigned queue, struct att_jobs **out) ATT_WUR;

/*
 * Queue `job`. ATT_ERR_BUSY, at once and with nothing queued, when `queue` jobs already wait.
 * Thread-safe.
 */
att_err att_jobs_submit(struct att_jobs *p, struct att_job *job) ATT_WUR;

/* Jobs waiting (not started), for metrics and tests. */
unsigned att_jobs_waiting(struct att_jobs *p);

/*
 * Stop: jobs running finish, jobs waiting are canceled (their `done` runs with canceled set),
 * the threads are joined. Accepts NULL.
 */
void att_jobs_free(struct att_jobs *p);

#endif
