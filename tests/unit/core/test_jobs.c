/* Unit tests for src/core/jobs.c: order, the bounded queue, cancellation at shutdown, threads. */
#include "att_test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "core/jobs.h"

/* A job that waits for a gate before it finishes, so tests can hold pool threads busy. */
struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool open;
    unsigned started;
};

struct test_job {
    struct att_job job;
    struct gate *gate;
    int id;
    _Atomic int *order; /* where run() writes its turn */
    _Atomic int *turn;
    _Atomic int done; /* 1 done, 2 canceled */
    _Atomic int *n_done;
};

static void gate_init(struct gate *g)
{
    memset(g, 0, sizeof(*g));
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->cond, NULL);
}

static void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->open = true;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

static void gate_wait_started(struct gate *g, unsigned n)
{
    for (int i = 0; i < 5000; i++) {
        pthread_mutex_lock(&g->lock);
        unsigned s = g->started;
        pthread_mutex_unlock(&g->lock);
        if (s >= n) {
            return;
        }
        usleep(1000);
    }
    fail_msg("jobs did not start");
}

static void *open_later(void *arg)
{
    usleep(200 * 1000);
    gate_open(arg);
    return NULL;
}

static void run_job(struct att_job *job)
{
    struct test_job *t = (struct test_job *)job;
    if (t->order != NULL) {
        t->order[t->id] = atomic_fetch_add(t->turn, 1);
    }
    if (t->gate != NULL) {
        pthread_mutex_lock(&t->gate->lock);
        t->gate->started++;
        while (!t->gate->open) {
            pthread_cond_wait(&t->gate->cond, &t->gate->lock);
        }
        pthread_mutex_unlock(&t->gate->lock);
    }
}

static void done_job(struct att_job *job, bool canceled)
{
    struct test_job *t = (struct test_job *)job;
    t->done = canceled ? 2 : 1;
    atomic_fetch_add(t->n_done, 1);
}

static void init_job(struct test_job *t, int id, struct gate *g, _Atomic int *n_done)
{
    memset(t, 0, sizeof(*t));
    t->job.run = run_job;
    t->job.done = done_job;
    t->id = id;
    t->gate = g;
    t->n_done = n_done;
}

static void wait_done(_Atomic int *n_done, int n)
{
    for (int i = 0; i < 5000 && *n_done < n; i++) {
        usleep(1000);
    }
    assert_int_equal(*n_done, n);
}

static void test_arguments(void **state)
{
    (void)state;
    struct att_jobs *p = NULL;
    EXPECT_ERR(att_jobs_new(0, 1, &p), ATT_ERR_ARG);
    EXPECT_ERR(att_jobs_new(1, 0, &p), ATT_ERR_ARG);
    EXPECT_ERR(att_jobs_new(257, 1, &p), ATT_ERR_ARG);
    EXPECT_OK(att_jobs_new(1, 1, &p));
    struct att_job bad = {NULL, NULL, NULL};
    EXPECT_ERR(att_jobs_submit(p, &bad), ATT_ERR_ARG);
    EXPECT_ERR(att_jobs_submit(p, NULL), ATT_ERR_ARG);
    att_jobs_free(p);
    att_jobs_free(NULL);
}

/* One thread takes jobs first in, first out. */
static void test_fifo(void **state)
{
    (void)state;
    struct att_jobs *p = NULL;
    struct gate g;
    gate_init(&g);
    _Atomic int n_done = 0;
    _Atomic int turn = 0;
    _Atomic int order[9];
    struct test_job jobs[9];
    EXPECT_OK(att_jobs_new(1, 16, &p));
    init_job(&jobs[0], 0, &g, &n_done); /* holds the thread while the others queue */
    EXPECT_OK(att_jobs_submit(p, &jobs[0].job));
    gate_wait_started(&g, 1);
    for (int i = 1; i < 9; i++) {
        init_job(&jobs[i], i, NULL, &n_done);
        jobs[i].order = order;
        jobs[i].turn = &turn;
        EXPECT_OK(att_jobs_submit(p, &jobs[i].job));
    }
    assert_int_equal(att_jobs_waiting(p), 8);
    gate_open(&g);
    wait_done(&n_done, 9);
    for (int i = 1; i < 9; i++) {
        assert_int_equal(order[i], i - 1);
        assert_int_equal(jobs[i].done, 1);
    }
    att_jobs_free(p);
}

/* A full queue refuses at once, with nothing queued; running jobs do not count. */
static void test_bounded_queue(void **state)
{
    (void)state;
    struct att_jobs *p = NULL;
    struct gate g;
    gate_init(&g);
    _Atomic int n_done = 0;
    struct test_job jobs[6];
    EXPECT_OK(att_jobs_new(2, 3, &p));
    for (int i = 0; i < 5; i++) {
        init_job(&jobs[i], i, &g, &n_done);
        EXPECT_OK(att_jobs_submit(p, &jobs[i].job));
        if (i == 1) {
            gate_wait_started(&g, 2); /* both threads busy */
        }
    }
    assert_int_equal(att_jobs_waiting(p), 3);
    init_job(&jobs[5], 5, &g, &n_done);
    EXPECT_ERR(att_jobs_submit(p, &jobs[5].job), ATT_ERR_BUSY);
    assert_int_equal(att_jobs_waiting(p), 3);
    gate_open(&g);
    wait_done(&n_done, 5);
    assert_int_equal(jobs[5].done, 0);
    att_jobs_free(p);
}

/* Freeing the pool lets running jobs finish and cancels waiting ones (done, no run). */
static void test_free_cancels_waiting(void **state)
{
    (void)state;
    struct att_jobs *p = NULL;
    struct gate g;
    gate_init(&g);
    _Atomic int n_done = 0;
    _Atomic int turn = 0;
    _Atomic int order[4] = {-1, -1, -1, -1};
    struct test_job jobs[4];
    EXPECT_OK(att_jobs_new(1, 8, &p));
    for (int i = 0; i < 4; i++) {
        init_job(&jobs[i], i, i == 0 ? &g : NULL, &n_done);
        jobs[i].order = order;
        jobs[i].turn = &turn;
        EXPECT_OK(att_jobs_submit(p, &jobs[i].job));
    }
    gate_wait_started(&g, 1);
    /* free() blocks until the running job ends: open the gate from another thread, once
     * free() has had ample time to mark the pool stopping */
    pthread_t opener;
    assert_int_equal(pthread_create(&opener, NULL, open_later, &g), 0);
    att_jobs_free(p);
    pthread_join(opener, NULL);
    assert_int_equal(n_done, 4);
    assert_int_equal(jobs[0].done, 1);
    for (int i = 1; i < 4; i++) {
        assert_int_equal(jobs[i].done, 2);
        assert_int_equal(order[i], -1); /* never run */
    }
}

/* Many submitters, many threads: every job done exactly once. */
struct submitter {
    struct att_jobs *p;
    struct test_job *jobs;
    int n;
    _Atomic int *refused;
};

static void *submit_all(void *arg)
{
    struct submitter *s = arg;
    for (int i = 0; i < s->n; i++) {
        while (att_jobs_submit(s->p, &s->jobs[i].job) == ATT_ERR_BUSY) {
            atomic_fetch_add(s->refused, 1);
            usleep(100);
        }
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    enum { SUBMITTERS = 4, EACH = 500 };
    struct att_jobs *p = NULL;
    _Atomic int n_done = 0;
    _Atomic int refused = 0;
    static struct test_job jobs[SUBMITTERS][EACH];
    struct submitter subs[SUBMITTERS];
    pthread_t t[SUBMITTERS];
    EXPECT_OK(att_jobs_new(3, 16, &p));
    for (int s = 0; s < SUBMITTERS; s++) {
        for (int i = 0; i < EACH; i++) {
            init_job(&jobs[s][i], i, NULL, &n_done);
        }
        subs[s] = (struct submitter){p, jobs[s], EACH, &refused};
        assert_int_equal(pthread_create(&t[s], NULL, submit_all, &subs[s]), 0);
    }
    for (int s = 0; s < SUBMITTERS; s++) {
        pthread_join(t[s], NULL);
    }
    wait_done(&n_done, SUBMITTERS * EACH);
    for (int s = 0; s < SUBMITTERS; s++) {
        for (int i = 0; i < EACH; i++) {
            assert_int_equal(jobs[s][i].done, 1);
        }
    }
    att_jobs_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arguments),     cmocka_unit_test(test_fifo),
        cmocka_unit_test(test_bounded_queue), cmocka_unit_test(test_free_cancels_waiting),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
