/*
 * client.c - the network process's side of the key process (keyd.h).
 *
 * Requests are queued, and one pipeline thread sends them: whatever was queued while the
 * previous batch was out goes in one write, and its answers come back in one read (the key
 * process answers in order). A thread that signs a token does not wait for the key process
 * (att_keyd_sign_async), and under load one round trip - two switches between the processes -
 * serves many requests. The synchronous calls queue the same way and wait for their answer.
 *
 * The key process is a supervisor that holds no key and a key worker it forks for each session
 * (supervisor.c). When the worker is gone, a batch waits up to a second for the main thread's
 * tick to get a new one from the supervisor, is sent again once (every request is safe to
 * repeat), and otherwise fails with ATT_ERR_KEYD_UNAVAILABLE (503).
 *
 * Input trust: answers are read with the bounded reader (proto.c) and checked against the
 * requests they answer (ids in order, shape, caps).
 */
#include "keyd/keyd.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "admin/serve.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "keyd/proto.h"

#define START_TIMEOUT_MS 120000  /* the first start may make RSA keys under sanitizers */
#define RESTART_TIMEOUT_MS 10000 /* later ones load keys: the main thread waits that long */
#define CTL_TIMEOUT_MS 5000      /* the supervisor answers at once, unless it is stuck */
/* A request waits this long from the start of an outage for a new worker (the tick, once a
 * second, asks for one), then fails at once until one is there. */
#define WAIT_FOR_RESTART_MS 2000
#define ARGV_MAX 64
#define BATCH_MAX 64
/* A batch fits in the socket's buffer: the key process answers once it has read all of it,
 * so a larger one could leave both sides writing. A larger request goes alone. */
#define BATCH_BYTES ((size_t)64 << 10)

/* Called on the pipeline thread with the answer's error and body (empty on an error). */
typedef void (*answer_cb)(void *arg, att_err rc, struct att_rd *body);

struct request {
    struct request *next;
    uint32_t id;
    struct att_buf msg; /* framed */
    answer_cb done;
    void *arg;
};

struct att_keyd {
    pthread_mutex_t lock;
    pthread_cond_t work; /* something queued, or stopping */
    struct request *head, **tail;
    uint32_t next_id;
    bool stopping;
    bool started; /* the pipeline thread runs */
    pthread_t thread;
    int fd;    /* the session with a key worker; -1 while down: set by the tick, given up by the
                  pipeline thread */
    bool busy; /* the pipeline thread is using fd */
    int64_t down_since; /* att_time_mono_ms() when fd went -1 */
    int ctl;            /* the supervisor's control socket; -1 while it is down */
    pid_t pid;          /* the supervisor; 0 when none */
    uint32_t ctl_seq;   /* the last request on ctl; answered unless ctl_waiting */
    bool ctl_waiting;   /* the tick's thread only, like ctl and pid */
    bool restartable;
    int admin_fd; /* the admin socket, passed to each supervisor (admin/serve.h), or -1 */
    char *argv[ARGV_MAX + 2];
    struct att_keyd_reader in; /* the pipeline thread's */
    struct att_buf out;        /* the pipeline thread's */
};

static void set_timeout(int fd, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Start the supervisor: fork and exec /proc/self/exe with its control socket on ATT_KEYD_FD;
 * only async-signal-safe calls in the child (the parent may have threads). */
static att_err spawn(struct att_keyd *k, char *msg, size_t n)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        snprintf(msg, n, "key process: cannot start it: %s", strerror(errno));
        return ATT_ERR_KEYD_UNAVAILABLE;
    }
    pid_t pid = fork();
    if (pid == 0) {
        /* dup2 clears close-on-exec; the admin socket's descriptor is above both */
        if (dup2(sv[1], ATT_KEYD_FD) == ATT_KEYD_FD &&
            (k->admin_fd < 0 || dup2(k->admin_fd, ATT_ADMIN_SOCKET_FD) == ATT_ADMIN_SOCKET_FD)) {
            execv("/proc/self/exe", k->argv);
        }
        _exit(127);
    }
    close(sv[1]);
    if (pid < 0) {
        snprintf(msg, n, "key process: cannot start it: %s", strerror(errno));
        close(sv[0]);
        return ATT_ERR_KEYD_UNAVAILABLE;
    }
    set_timeout(sv[0], ATT_KEYD_TIMEOUT_MS);
    k->ctl = sv[0];
    k->pid = pid;
    return ATT_OK;
}

/*
 * The supervisor's answer to the request on ctl, waiting at most `ms`: a session socket, or -1.
 * Answers to earlier requests (given up on, then answered late) are closed and skipped; a
 * request not answered in time stays the one waited for, and no other is sent meanwhile, so a
 * supervisor that was stuck cannot leave answers queued that end the workers it hands out.
 */
static int supervisor_answer(struct att_keyd *k, int ms)
{
    if (!k->ctl_waiting) {
        uint8_t req[ATT_KEYD_CTL_LEN] = {ATT_KEYD_NEW_SESSION};
        k->ctl_seq++;
        req[1] = (uint8_t)(k->ctl_seq >> 24);
        req[2] = (uint8_t)(k->ctl_seq >> 16);
        req[3] = (uint8_t)(k->ctl_seq >> 8);
        req[4] = (uint8_t)k->ctl_seq;
        if (send(k->ctl, req, sizeof(req), MSG_NOSIGNAL) != (ssize_t)sizeof(req)) {
            return -1;
        }
        k->ctl_waiting = true;
    }
    int64_t until = att_time_mono_ms() + ms;
    for (;;) {
        struct pollfd p = {k->ctl, POLLIN, 0};
        int64_t left = until - att_time_mono_ms();
        if (poll(&p, 1, left > 0 ? (int)left : 0) != 1) {
            return -1; /* still waiting: asked for again at the next tick */
        }
        uint8_t started = 1;
        uint32_t seq = 0;
        int fd = -1;
        if (att_keyd_recv_fd(k->ctl, &started, &seq, &fd) != ATT_OK) {
            return -1;
        }
        if (seq == k->ctl_seq) {
            k->ctl_waiting = false;
            if (started != 0 && fd >= 0) {
                close(fd);
                fd = -1;
            }
            return fd;
        }
        if (fd >= 0) {
            close(fd); /* a late answer to a request given up on */
        }
    }
}

/*
 * Ask the supervisor for a key worker and wait for its READY message (at most `ready_ms`):
 * ATT_OK with the session's socket, or the worker's error with the reason in msg.
 */
static att_err new_session(struct att_keyd *k, int ready_ms, int *fd_out, char *msg, size_t n)
{
    int fd = supervisor_answer(k, CTL_TIMEOUT_MS);
    if (fd < 0) {
        snprintf(msg, n, "key process: the supervisor did not start a key worker");
        return ATT_ERR_KEYD_UNAVAILABLE;
    }
    struct att_keyd_reader in;
    struct att_bytes ready;
    uint32_t id;
    uint16_t code;
    struct att_rd body;
    att_keyd_reader_init(&in);
    set_timeout(fd, ready_ms);
    att_err rc = att_keyd_reader_next(&in, fd, &ready);
    if (rc == ATT_OK) {
        rc = att_keyd_split(ready, &id, &code, &body);
    }
    if (rc != ATT_OK) {
        snprintf(msg, n, "key process: the key worker did not start (it exited or did not answer)");
        rc = ATT_ERR_KEYD_UNAVAILABLE;
    } else if (code != ATT_OK) {
        struct att_bytes why = {(const uint8_t *)"key process: failed", 19};
        att_ignore_err(att_keyd_get_bytes32(&body, 1024, &why));
        snprintf(msg, n, "%.*s", (int)why.len, (const char *)why.ptr);
        rc = (att_err)code;
    }
    att_keyd_reader_cleanup(&in);
    if (rc != ATT_OK) {
        close(fd); /* the supervisor ends the worker at the next request, or with us */
        return rc;
    }
    set_timeout(fd, ATT_KEYD_TIMEOUT_MS);
    *fd_out = fd;
    return ATT_OK;
}

/* ---- the pipeline thread ---- */

static void finish(struct request *r, att_err rc, struct att_rd *body)
{
    struct att_rd empty;
    if (body == NULL) {
        att_rd_init(&empty, "", 0);
        body = &empty;
    }
    r->done(r->arg, rc, body);
    att_buf_cleanup(&r->msg);
    free(r);
}

/* The queue's first requests, as many as go in one batch. Lock held; the queue is not empty. */
static struct request *take_batch(struct att_keyd *k)
{
    struct request *first = k->head;
    struct request *last = first;
    size_t n = 1;
    size_t bytes = first->msg.len;
    while (last->next != NULL && n < BATCH_MAX && bytes + last->next->msg.len <= BATCH_BYTES) {
        last = last->next;
        bytes += last->msg.len;
        n++;
    }
    k->head = last->next;
    if (k->head == NULL) {
        k->tail = &k->head;
    }
    last->next = NULL;
    return first;
}

/* The worker's socket, marked busy; -1 when none came within WAIT_FOR_RESTART_MS of the
 * start of the outage. */
static int take_fd(struct att_keyd *k)
{
    pthread_mutex_lock(&k->lock);
    while (k->fd < 0 && att_time_mono_ms() < k->down_since + WAIT_FOR_RESTART_MS) {
        pthread_mutex_unlock(&k->lock); /* the tick asks the supervisor for a new one */
        usleep(20000);
        pthread_mutex_lock(&k->lock);
    }
    int fd = k->fd;
    k->busy = fd >= 0;
    pthread_mutex_unlock(&k->lock);
    return fd;
}

/* Done with fd; `failed`: the stream is out of step or gone, so it is dropped. */
static void give_back_fd(struct att_keyd *k, int fd, bool failed)
{
    pthread_mutex_lock(&k->lock);
    if (failed && k->fd == fd) {
        close(fd);
        k->fd = -1; /* the tick asks the supervisor for another worker (it ends this one) */
        k->down_since = att_time_mono_ms();
    }
    k->busy = false;
    pthread_mutex_unlock(&k->lock);
    if (failed) {
        att_keyd_reader_reset(&k->in);
    }
}

/* Send a batch and hand each answer to its request. */
static void run_batch(struct att_keyd *k, struct request *batch)
{
    for (int attempt = 0; attempt < 2 && batch != NULL; attempt++) {
        int fd = take_fd(k);
        if (fd < 0) {
            break;
        }
        att_err rc = ATT_OK;
        k->out.len = 0;
        for (const struct request *r = batch; r != NULL && rc == ATT_OK; r = r->next) {
            rc = att_buf_put(&k->out, r->msg.data, r->msg.len);
        }
        if (rc == ATT_OK) {
            rc = att_keyd_send(fd, &k->out);
        }
        while (rc == ATT_OK && batch != NULL) {
            struct att_bytes msg;
            uint32_t id;
            uint16_t code;
            struct att_rd body;
            rc = att_keyd_reader_next(&k->in, fd, &msg);
            if (rc == ATT_OK) {
                rc = att_keyd_split(msg, &id, &code, &body);
            }
            if (rc == ATT_OK && id != batch->id) {
                rc = ATT_ERR_KEYD_UNAVAILABLE; /* out of step */
            }
            if (rc == ATT_OK) {
                struct request *r = batch;
                batch = r->next;
                finish(r, (att_err)code, code == ATT_OK ? &body : NULL);
            }
        }
        /* A transport failure leaves the stream out of step: drop it and ask again what is
         * unanswered, once the tick has started a new key process. */
        give_back_fd(k, fd, rc != ATT_OK);
    }
    while (batch != NULL) {
        struct request *r = batch;
        batch = r->next;
        finish(r, ATT_ERR_KEYD_UNAVAILABLE, NULL);
    }
}

static void *pipeline(void *arg)
{
    struct att_keyd *k = arg;
    struct sched_param none = {0};
    (void)pthread_setschedparam(pthread_self(), SCHED_BATCH, &none);
    pthread_mutex_lock(&k->lock);
    for (;;) {
        while (k->head == NULL && !k->stopping) {
            pthread_cond_wait(&k->work, &k->lock);
        }
        if (k->head == NULL) {
            break; /* stopping, and all answered */
        }
        struct request *batch = take_batch(k);
        pthread_mutex_unlock(&k->lock);
        run_batch(k, batch);
        pthread_mutex_lock(&k->lock);
    }
    pthread_mutex_unlock(&k->lock);
    return NULL;
}

/*
 * Queue a request: `build` puts its body; `done` gets the answer on the pipeline thread (or at
 * once, with an error, when the request cannot be queued).
 */
static void submit(struct att_keyd *k, uint16_t op,
                   att_err (*build)(struct att_buf *b, const void *arg), const void *barg,
                   answer_cb done, void *arg)
{
    struct att_rd empty;
    att_rd_init(&empty, "", 0);
    struct request *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        done(arg, ATT_ERR_NOMEM, &empty);
        return;
    }
    size_t start;
    r->done = done;
    r->arg = arg;
    att_buf_init(&r->msg, ATT_KEYD_MSG_MAX + 16);
    att_err rc = att_keyd_msg_begin(&r->msg, 0, op, &start);
    if (rc == ATT_OK) {
        rc = build(&r->msg, barg);
    }
    if (rc == ATT_OK) {
        rc = att_keyd_msg_end(&r->msg, start);
    }
    pthread_mutex_lock(&k->lock);
    if (rc == ATT_OK && k->stopping) {
        rc = ATT_ERR_KEYD_UNAVAILABLE;
    }
    if (rc == ATT_OK) {
        r->id = ++k->next_id; /* in queue order: the answers come in this order */
        r->msg.data[4] = (uint8_t)(r->id >> 24);
        r->msg.data[5] = (uint8_t)(r->id >> 16);
        r->msg.data[6] = (uint8_t)(r->id >> 8);
        r->msg.data[7] = (uint8_t)r->id;
        *k->tail = r;
        k->tail = &r->next;
        pthread_cond_signal(&k->work); /* no system call unless the thread waits */
    }
    pthread_mutex_unlock(&k->lock);
    if (rc != ATT_OK) {
        finish(r, rc, NULL);
    }
}

/* A synchronous request: its answer's body is copied for the caller, who reads it. */
struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool answered;
    att_err rc;
    struct att_buf body;
};

static void wake_waiter(void *arg, att_err rc, struct att_rd *body)
{
    struct waiter *w = arg;
    struct att_bytes rest;
    att_rd_rest(body, &rest);
    if (rc == ATT_OK) {
        rc = att_buf_put(&w->body, rest.ptr, rest.len);
    }
    pthread_mutex_lock(&w->lock);
    w->rc = rc;
    w->answered = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

/* One request and its answer, read by `read` on the calling thread. */
static att_err call(struct att_keyd *k, uint16_t op,
                    att_err (*build)(struct att_buf *b, const void *arg), const void *barg,
                    att_err (*read)(struct att_rd *body, void *arg), void *rarg)
{
    struct waiter w = {.answered = false, .rc = ATT_OK};
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, NULL);
    att_buf_init(&w.body, ATT_KEYD_MSG_MAX);
    submit(k, op, build, barg, wake_waiter, &w);
    pthread_mutex_lock(&w.lock);
    while (!w.answered) {
        pthread_cond_wait(&w.cond, &w.lock);
    }
    pthread_mutex_unlock(&w.lock);
    att_err rc = w.rc;
    if (rc == ATT_OK) {
        struct att_rd body;
        att_rd_init(&body, w.body.data, w.body.len);
        rc = read(&body, rarg);
    }
    att_buf_cleanup(&w.body);
    pthread_cond_destroy(&w.cond);
    pthread_mutex_destroy(&w.lock);
    return rc;
}

/* ---- starting, stopping, restarting ---- */

att_err att_keyd_start(char *const *argv, int admin_fd, struct att_keyd **out, char *msg, size_t n)
{
    struct att_keyd *k = calloc(1, sizeof(*k));
    ATT_ENSURE(k != NULL, ATT_ERR_NOMEM);
    pthread_mutex_init(&k->lock, NULL);
    pthread_cond_init(&k->work, NULL);
    k->tail = &k->head;
    att_keyd_reader_init(&k->in);
    att_buf_init(&k->out, ATT_KEYD_MSG_MAX + BATCH_BYTES);
    k->fd = -1;
    k->ctl = -1;
    k->restartable = true;
    k->admin_fd = admin_fd;
    size_t i = 0;
    for (; argv[i] != NULL && i < ARGV_MAX; i++) {
        k->argv[i] = argv[i];
    }
    static char flag[] = "--key-process";
    k->argv[i++] = flag;
    k->argv[i] = NULL;
    att_err rc = spawn(k, msg, n);
    if (rc == ATT_OK) {
        rc = new_session(k, START_TIMEOUT_MS, &k->fd, msg, n);
    }
    if (rc == ATT_OK) {
        /* The pipeline thread takes no signal: attestd's main thread waits for them. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        if (pthread_create(&k->thread, NULL, pipeline, k) != 0) {
            snprintf(msg, n, "key process: cannot start the pipeline thread");
            rc = ATT_ERR_INTERNAL;
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    k->started = rc == ATT_OK;
    if (rc != ATT_OK) {
        att_keyd_stop(k);
        return rc;
    }
    *out = k;
    return ATT_OK;
}

void att_keyd_stop(struct att_keyd *k)
{
    if (k == NULL) {
        return;
    }
    if (k->started) { /* what is queued is answered first */
        pthread_mutex_lock(&k->lock);
        k->stopping = true;
        pthread_cond_signal(&k->work);
        pthread_mutex_unlock(&k->lock);
        pthread_join(k->thread, NULL);
    }
    if (k->fd >= 0) {
        close(k->fd); /* the worker reads EOF and exits */
    }
    if (k->ctl >= 0) {
        close(k->ctl); /* so does the supervisor, ending the worker first */
    }
    if (k->pid > 0) { /* it ends at the EOF; one that is stuck is ended */
        int64_t until = att_time_mono_ms() + 2000;
        while (waitpid(k->pid, NULL, WNOHANG) == 0) {
            if (att_time_mono_ms() >= until) {
                (void)kill(k->pid, SIGKILL);
                (void)waitpid(k->pid, NULL, 0);
                break;
            }
            usleep(10000);
        }
    }
    att_keyd_reader_cleanup(&k->in);
    att_buf_cleanup(&k->out);
    pthread_cond_destroy(&k->work);
    pthread_mutex_destroy(&k->lock);
    free(k);
}

pid_t att_keyd_pid(const struct att_keyd *k)
{
    return k->pid;
}

bool att_keyd_ready(void *arg)
{
    struct att_keyd *k = arg;
    pthread_mutex_lock(&k->lock);
    bool ready = k->fd >= 0;
    pthread_mutex_unlock(&k->lock);
    return ready;
}

void att_keyd_set_restartable(struct att_keyd *k, bool on)
{
    k->restartable = on;
}

/* Whether the worker at the other end of fd is gone (its end closed), without reading. */
static bool hung_up(int fd)
{
    struct pollfd p = {fd, POLLRDHUP, 0};
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR)) != 0;
}

/* The supervisor is gone: reap it and, when allowed, start another. */
static void respawn_supervisor(struct att_keyd *k)
{
    att_log(ATT_LOG_ERROR, "the key supervisor exited", "pid", json_integer(k->pid), NULL);
    close(k->ctl);
    k->ctl = -1;
    k->pid = 0;
    k->ctl_waiting = false;
    char msg[512];
    if (k->restartable && spawn(k, msg, sizeof(msg)) != ATT_OK) {
        att_log(ATT_LOG_ERROR, "cannot restart the key supervisor", "reason", json_string(msg),
                NULL);
    }
}

void att_keyd_tick(struct att_keyd *k)
{
    /* The supervisor and ctl are this thread's alone. */
    if (k->pid > 0 && waitpid(k->pid, NULL, WNOHANG) == k->pid) {
        respawn_supervisor(k);
    }
    pthread_mutex_lock(&k->lock);
    if (k->fd >= 0 && !k->busy && hung_up(k->fd)) {
        att_log(ATT_LOG_ERROR, "the key worker exited", NULL);
        close(k->fd);
        k->fd = -1;
        k->down_since = att_time_mono_ms();
    }
    bool down = k->fd < 0;
    pthread_mutex_unlock(&k->lock);
    if (!down || k->ctl < 0) {
        return;
    }
    int fd = -1;
    char msg[512];
    att_err rc = new_session(k, RESTART_TIMEOUT_MS, &fd, msg, sizeof(msg));
    if (rc != ATT_OK) {
        att_log(ATT_LOG_ERROR, "cannot restart the key worker", "error",
                json_string(att_err_name(rc)), "reason", json_string(msg), NULL);
        return;
    }
    pthread_mutex_lock(&k->lock);
    k->fd = fd;
    pthread_mutex_unlock(&k->lock);
    att_log(ATT_LOG_INFO, "restarted the key worker", NULL);
}

/* ---- the requests ---- */

struct sign_req {
    const char *kid;
    const void *msg;
    size_t len;
};

static att_err build_sign(struct att_buf *b, const void *arg)
{
    const struct sign_req *r = arg;
    ATT_TRY(att_keyd_put_str8(b, r->kid));
    return att_keyd_put_bytes32(b, r->msg, r->len);
}

/* The one bytes32 of an answer, appended to the caller's buffer. */
static att_err read_bytes(struct att_rd *body, void *arg)
{
    struct att_bytes b;
    ATT_TRY(att_keyd_get_bytes32(body, ATT_KEYD_MSG_MAX, &b));
    ATT_TRY(att_rd_end(body));
    return att_buf_put(arg, b.ptr, b.len);
}

att_err att_keyd_sign(struct att_keyd *k, const char *kid, const void *msg, size_t len,
                      struct att_buf *sig)
{
    struct sign_req r = {kid, msg, len};
    return call(k, ATT_KEYD_SIGN, build_sign, &r, read_bytes, sig);
}

struct signing {
    att_signed_cb done;
    void *arg;
};

static void signed_answer(void *arg, att_err rc, struct att_rd *body)
{
    struct signing *s = arg;
    struct att_bytes sig = {(const uint8_t *)"", 0};
    if (rc == ATT_OK) {
        rc = att_keyd_get_bytes32(body, ATT_KEYD_SIG_MAX, &sig);
    }
    if (rc == ATT_OK) {
        rc = att_rd_end(body);
    }
    s->done(s->arg, rc, rc == ATT_OK ? sig.ptr : NULL, rc == ATT_OK ? sig.len : 0);
    free(s);
}

void att_keyd_sign_async(struct att_keyd *k, const char *kid, const void *msg, size_t len,
                         att_signed_cb done, void *arg)
{
    struct sign_req r = {kid, msg, len};
    struct signing *s = malloc(sizeof(*s));
    if (s == NULL) {
        done(arg, ATT_ERR_NOMEM, NULL, 0);
        return;
    }
    s->done = done;
    s->arg = arg;
    submit(k, ATT_KEYD_SIGN, build_sign, &r, signed_answer, s);
}

att_err att_keyd_seal(struct att_keyd *k, const char *record_id, const void *pt, size_t len,
                      struct att_buf *out)
{
    struct sign_req r = {record_id, pt, len}; /* the same shape: str8 | bytes32 */
    return call(k, ATT_KEYD_SEAL, build_sign, &r, read_bytes, out);
}

att_err att_keyd_open(struct att_keyd *k, const char *record_id, const void *blob, size_t len,
                      struct att_buf *out)
{
    struct sign_req r = {record_id, blob, len};
    return call(k, ATT_KEYD_OPEN, build_sign, &r, read_bytes, out);
}

/* UPKEEP has no body: the worker looks with its own clock and configuration. */
static att_err build_nothing(struct att_buf *b, const void *arg)
{
    (void)b;
    (void)arg;
    return ATT_OK;
}

struct upkeep_ans {
    att_key_event_cb cb;
    void *arg;
    bool changed;
};

static att_err read_upkeep(struct att_rd *body, void *arg)
{
    struct upkeep_ans *a = arg;
    uint8_t changed;
    uint16_t n;
    ATT_TRY(att_rd_u8(body, &changed));
    ATT_TRY(att_rd_u16be(body, &n));
    ATT_ENSURE(changed <= 1 && n <= ATT_KEYD_EVENTS_MAX, ATT_ERR_PARSE);
    for (uint16_t i = 0; i < n; i++) {
        uint8_t kind;
        char provider[ATT_PROVIDER_NAME_MAX + 1];
        struct att_key_event e;
        ATT_TRY(att_rd_u8(body, &kind));
        ATT_ENSURE(kind == ATT_KEY_EVENT_MADE || kind == ATT_KEY_EVENT_DESTROYED, ATT_ERR_PARSE);
        ATT_TRY(att_keyd_get_str8(body, provider, sizeof(provider)));
        ATT_TRY(att_keyd_get_str8(body, e.kid, sizeof(e.kid)));
        ATT_TRY(att_keyd_get_i64(body, &e.at));
        e.kind = kind;
        e.provider = provider;
        a->cb(&e, a->arg);
    }
    a->changed = changed == 1;
    return att_rd_end(body);
}

att_err att_keyd_upkeep(struct att_keyd *k, att_key_event_cb cb, void *arg, bool *changed)
{
    struct upkeep_ans a = {cb, arg, false};
    att_err rc = call(k, ATT_KEYD_UPKEEP, build_nothing, NULL, read_upkeep, &a);
    *changed = a.changed;
    return rc;
}
