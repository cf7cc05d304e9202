/*
 * jobs.c - the bounded job pool (see jobs.h): a FIFO of waiting jobs under one mutex, and
 * threads that take them in order.
 *
 * Trusted input only (our own jobs). The queue is an intrusive list, so submitting never
 * allocates; its length is capped, which is what makes a flood of expensive requests cost
 * the flooder 503s instead of everyone else their latency.
 */
#include "core/jobs.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_THREADS 256
#define MAX_QUEUE (1u << 20)
/* Below the event loops: answering health checks and reading requests comes first. */
#define POOL_NICE 5

struct att_jobs {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    struct att_job *head, *tail;
    unsigned waiting;
    unsigned capacity;
    bool stopping;
    pthread_t threads[MAX_THREADS];
    unsigned n_threads;
};

static void *pool_main(void *arg)
{
    struct att_jobs *p = arg;
    struct sched_param batch = {0};
    /* On Linux a nice value belongs to the thread: lower this one only. SCHED_BATCH: a job
     * handed over does not preempt the loop that hands it (see jobs.h). */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), POOL_NICE);
    (void)pthread_setschedparam(pthread_self(), SCHED_BATCH, &batch);
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->head == NULL && !p->stopping) {
            pthread_cond_wait(&p->ready, &p->lock);
        }
        if (p->head == NULL) {
            break; /* stopping, and nothing left that was started */
        }
        struct att_job *job = p->head;
        p->head = job->next;
        if (p->head == NULL) {
            p->tail = NULL;
        }
        p->waiting--;
        bool cancel = p->stopping;
        pthread_mutex_unlock(&p->lock);
        job->next = NULL;
        if (!cancel) {
            job->run(job);
        }
        job->done(job, cancel);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

att_err att_jobs_new(unsigned threads, unsigned queue, struct att_jobs **out)
{
    ATT_ENSURE(out != NULL && threads >= 1 && threads <= MAX_THREADS && queue >= 1 &&
                   queue <= MAX_QUEUE,
               ATT_ERR_ARG);
    struct att_jobs *p = calloc(1, sizeof(*p));
    ATT_ENSURE(p != NULL, ATT_ERR_NOMEM);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->ready, NULL);
    p->capacity = queue;
    for (unsigned i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[i], NULL, pool_main, p) != 0) {
            att_jobs_free(p);
            return ATT_ERR_INTERNAL;
        }
        p->n_threads++;
    }
    *out = p;
    return ATT_OK;
}

att_err att_jobs_submit(struct att_jobs *p, struct att_job *job)
{
    ATT_ENSURE(p != NULL && job != NULL && job->run != NULL && job->done != NULL, ATT_ERR_ARG);
    pthread_mutex_lock(&p->lock);
    if (p->waiting >= p->capacity || p->stopping) {
        pthread_mutex_unlock(&p->lock);
        return ATT_ERR_BUSY;
    }
    job->next = NULL;
    if (p->tail != NULL) {
        p->tail->next = job;
    } else {
        p->head = job;
    }
    p->tail = job;
    p->waiting++;
    pthread_cond_signal(&p->ready);
    pthread_mutex_unlock(&p->lock);
    return ATT_OK;
}

unsigned att_jobs_waiting(struct att_jobs *p)
{
    pthread_mutex_lock(&p->lock);
    unsigned n = p->waiting;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void att_jobs_free(struct att_jobs *p)
{
    if (p == NULL) {
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->ready);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->n_threads; i++) {
        pthread_join(p->threads[i], NULL);
    }
    pthread_cond_destroy(&p->ready);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
