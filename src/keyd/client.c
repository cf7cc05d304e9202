/*
 * client.c - the network process's side of the key process (keyd.h).
 *
 * One request at a time on the socket (a mutex): the key process answers in order, and a
 * signature takes tens of microseconds. When the key process is gone a request waits up to a
 * second for the main thread's tick to start a new one, then fails with
 * ATT_ERR_KEYD_UNAVAILABLE (503).
 *
 * Input trust: answers are read with the bounded reader (proto.c) and checked against the
 * request they answer (id, shape, caps).
 */
#include "keyd/keyd.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "keyd/proto.h"

#define START_TIMEOUT_MS 120000 /* the first start may make RSA keys under sanitizers */
#define WAIT_FOR_RESTART_MS 1000
#define ARGV_MAX 64

struct att_keyd {
    pthread_mutex_t lock;
    int fd;    /* -1 while down */
    pid_t pid; /* 0 when none */
    uint32_t next_id;
    bool restartable;
    char *argv[ARGV_MAX + 2];
    struct att_buf in, out;
};

/* fork and exec /proc/self/exe with fd on ATT_KEYD_FD; only async-signal-safe calls in the
 * child (the parent may have threads). */
static att_err spawn(struct att_keyd *k, int *fd_out, pid_t *pid_out)
{
    int sv[2];
    ATT_ENSURE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, ATT_ERR_IO);
    pid_t pid = fork();
    if (pid == 0) {
        if (dup2(sv[1], ATT_KEYD_FD) == ATT_KEYD_FD) { /* dup2 clears close-on-exec */
            execv("/proc/self/exe", k->argv);
        }
        _exit(127);
    }
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        return ATT_ERR_IO;
    }
    *fd_out = sv[0];
    *pid_out = pid;
    return ATT_OK;
}

/* Wait for the READY message: ATT_OK, or the key process's error with its reason in msg. */
static att_err await_ready(struct att_keyd *k, int fd, char *msg, size_t n)
{
    uint32_t id;
    uint16_t code;
    struct att_rd body;
    att_err rc = att_keyd_recv(fd, START_TIMEOUT_MS, &k->in);
    if (rc == ATT_OK) {
        rc = att_keyd_split(&k->in, &id, &code, &body);
    }
    if (rc != ATT_OK) {
        snprintf(msg, n, "the key process did not start (it exited or did not answer)");
        return ATT_ERR_KEYD_UNAVAILABLE;
    }
    if (code != ATT_OK) {
        char why[256] = "failed";
        att_ignore_err(att_keyd_get_str8(&body, why, sizeof(why)));
        snprintf(msg, n, "%s", why);
        return (att_err)code;
    }
    return ATT_OK;
}

att_err att_keyd_start(char *const *argv, struct att_keyd **out, char *msg, size_t n)
{
    struct att_keyd *k = calloc(1, sizeof(*k));
    ATT_ENSURE(k != NULL, ATT_ERR_NOMEM);
    pthread_mutex_init(&k->lock, NULL);
    att_buf_init(&k->in, ATT_KEYD_MSG_MAX);
    att_buf_init(&k->out, ATT_KEYD_MSG_MAX + 64);
    k->fd = -1;
    k->restartable = true;
    size_t i = 0;
    for (; argv[i] != NULL && i < ARGV_MAX; i++) {
        k->argv[i] = argv[i];
    }
    static char flag[] = "--key-process";
    k->argv[i++] = flag;
    k->argv[i] = NULL;
    att_err rc = spawn(k, &k->fd, &k->pid);
    if (rc == ATT_OK) {
        rc = await_ready(k, k->fd, msg, n);
    } else {
        snprintf(msg, n, "cannot start the key process: %s", strerror(errno));
    }
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
    if (k->fd >= 0) {
        close(k->fd); /* the key process reads EOF and exits */
    }
    if (k->pid > 0) {
        (void)waitpid(k->pid, NULL, 0);
    }
    att_buf_cleanup(&k->in);
    att_buf_cleanup(&k->out);
    pthread_mutex_destroy(&k->lock);
    free(k);
}

pid_t att_keyd_pid(const struct att_keyd *k)
{
    return k->pid;
}

void att_keyd_set_restartable(struct att_keyd *k, bool on)
{
    k->restartable = on;
}

void att_keyd_tick(struct att_keyd *k)
{
    pthread_mutex_lock(&k->lock);
    bool down = k->fd < 0;
    pid_t old = k->pid;
    if (!down && old > 0 && waitpid(old, NULL, WNOHANG) == old) {
        close(k->fd); /* it died between requests */
        k->fd = -1;
        k->pid = 0;
        down = true;
        att_log(ATT_LOG_ERROR, "the key process exited", "pid", json_integer(old), NULL);
    }
    pthread_mutex_unlock(&k->lock);
    if (!down || !k->restartable) {
        return;
    }
    if (old > 0) {
        (void)waitpid(old, NULL, WNOHANG);
    }
    int fd = -1;
    pid_t pid = 0;
    char msg[512];
    att_err rc = spawn(k, &fd, &pid);
    if (rc == ATT_OK) {
        rc = await_ready(k, fd, msg, sizeof(msg));
    }
    if (rc != ATT_OK) {
        att_log(ATT_LOG_ERROR, "cannot restart the key process", "error",
                json_string(att_err_name(rc)), NULL);
        if (fd >= 0) {
            close(fd);
        }
        if (pid > 0) {
            (void)waitpid(pid, NULL, 0);
        }
        return;
    }
    pthread_mutex_lock(&k->lock);
    k->fd = fd;
    k->pid = pid;
    pthread_mutex_unlock(&k->lock);
    att_log(ATT_LOG_INFO, "restarted the key process", "pid", json_integer(pid), NULL);
}

/*
 * One request: `build` appends the body to k->out; the answer's body is handed to `read`.
 * Called with k->lock held.
 */
static att_err exchange(struct att_keyd *k, uint16_t op,
                        att_err (*build)(struct att_buf *b, const void *arg), const void *barg,
                        att_err (*read)(struct att_rd *body, void *arg), void *rarg)
{
    int64_t give_up = att_time_mono_ms() + WAIT_FOR_RESTART_MS;
    for (int attempt = 0; attempt < 2; attempt++) {
        while (k->fd < 0) { /* down: the main thread's tick starts a new one */
            ATT_ENSURE(att_time_mono_ms() < give_up, ATT_ERR_KEYD_UNAVAILABLE);
            pthread_mutex_unlock(&k->lock);
            usleep(20000);
            pthread_mutex_lock(&k->lock);
        }
        uint32_t id = ++k->next_id;
        uint32_t got_id;
        uint16_t code;
        struct att_rd body;
        ATT_TRY(att_keyd_msg_begin(&k->out, id, op));
        ATT_TRY(build(&k->out, barg));
        att_err rc = att_keyd_send(k->fd, &k->out);
        if (rc == ATT_OK) {
            rc = att_keyd_recv(k->fd, ATT_KEYD_TIMEOUT_MS, &k->in);
        }
        if (rc == ATT_OK) {
            rc = att_keyd_split(&k->in, &got_id, &code, &body);
        }
        if (rc == ATT_OK && got_id == id) {
            ATT_ENSURE(code == ATT_OK, (att_err)code);
            return read(&body, rarg);
        }
        /* A transport failure leaves the stream out of step: drop it and, once the tick has
         * started a new key process, ask again (every request is safe to repeat). */
        close(k->fd);
        k->fd = -1;
    }
    return ATT_ERR_KEYD_UNAVAILABLE;
}

/* One request under the lock. */
static att_err call(struct att_keyd *k, uint16_t op,
                    att_err (*build)(struct att_buf *b, const void *arg), const void *barg,
                    att_err (*read)(struct att_rd *body, void *arg), void *rarg)
{
    pthread_mutex_lock(&k->lock);
    att_err rc = exchange(k, op, build, barg, read, rarg);
    pthread_mutex_unlock(&k->lock);
    return rc;
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

struct upkeep_req {
    int64_t now;
    const struct att_key_upkeep *cfg;
};

static att_err build_upkeep(struct att_buf *b, const void *arg)
{
    const struct upkeep_req *r = arg;
    ATT_TRY(att_keyd_put_i64(b, r->now));
    ATT_TRY(att_keyd_put_i64(b, r->cfg->rotation));
    ATT_TRY(att_keyd_put_i64(b, r->cfg->lead));
    ATT_TRY(att_keyd_put_i64(b, r->cfg->leeway));
    return att_keyd_put_i64(b, r->cfg->token_lifetime);
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

att_err att_keyd_upkeep(struct att_keyd *k, int64_t now, const struct att_key_upkeep *cfg,
                        att_key_event_cb cb, void *arg, bool *changed)
{
    struct upkeep_req r = {now, cfg};
    struct upkeep_ans a = {cb, arg, false};
    att_err rc = call(k, ATT_KEYD_UPKEEP, build_upkeep, &r, read_upkeep, &a);
    *changed = a.changed;
    return rc;
}
