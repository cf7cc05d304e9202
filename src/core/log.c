/*
 * log.c - structured JSON-line logging (see log.h).
 *
 * Each line is built in memory and written with one write(2) on an O_APPEND
 * descriptor, so concurrent threads never interleave within a line.
 */
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/syslog_sock.h"

static int log_fd = STDERR_FILENO;
static _Atomic int log_min = ATT_LOG_INFO;
static char log_path[4096]; /* the file, for att_log_reopen ("" = not a file) */
static bool log_syslog;     /* lines go to syslog_sock, not log_fd */
static struct att_syslog_sock syslog_sock;
static char syslog_tag[32];             /* "attestd[PID]: " */
static _Atomic uint64_t syslog_dropped; /* lines the receiver did not take, not yet told */

static const char *level_names[] = {"debug", "info", "warn", "error"};

att_err att_log_level_parse(const char *s, enum att_log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum att_log_level)i;
            return ATT_OK;
        }
    }
    return ATT_ERR_ARG;
}

/*
 * The log file, opened for appending: a regular file, not a link (a link planted in the log
 * directory would redirect the lines) and not a FIFO or device (opening one can block, or
 * writing to it: O_NONBLOCK for the open, then cleared). errno says why it failed (ELOOP: a
 * link; EINVAL: not a regular file).
 */
static int open_log_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
    struct stat st;
    if (fd < 0) {
        if (errno == ENXIO) {
            errno = EINVAL; /* a FIFO nobody reads */
        }
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

att_err att_log_open(const char *path, enum att_log_level min_level)
{
    int fd = STDERR_FILENO;
    if (path != NULL) {
        if (strlen(path) >= sizeof(log_path)) {
            return ATT_ERR_ARG;
        }
        fd = open_log_file(path);
        if (fd < 0) {
            return ATT_ERR_IO;
        }
    }
    att_log_close();
    log_fd = fd;
    snprintf(log_path, sizeof(log_path), "%s", path != NULL ? path : "");
    atomic_store(&log_min, (int)min_level);
    return ATT_OK;
}

att_err att_log_open_syslog(const char *socket_path, enum att_log_level min_level)
{
    struct att_syslog_sock sock;
    ATT_TRY(att_syslog_sock_open(&sock, socket_path));
    att_log_close();
    syslog_sock = sock;
    log_syslog = true;
    snprintf(syslog_tag, sizeof(syslog_tag), "attestd[%ld]: ", (long)getpid());
    atomic_store(&log_min, (int)min_level);
    return ATT_OK;
}

att_err att_log_reopen(void)
{
    if (log_path[0] == 0) {
        return ATT_OK; /* stderr or syslog: nothing to reopen */
    }
    int fd = open_log_file(log_path);
    if (fd < 0) {
        return ATT_ERR_IO;
    }
    /* dup2 swaps the file under log_fd atomically: a line is written to the old file or the
     * new one, never lost, while other threads log. */
    int rc = dup2(fd, log_fd);
    close(fd);
    return rc < 0 ? ATT_ERR_IO : ATT_OK;
}

bool att_log_to_stderr(void)
{
    return !log_syslog && log_fd == STDERR_FILENO;
}

void att_log_close(void)
{
    if (log_fd != STDERR_FILENO) {
        close(log_fd);
    }
    if (log_syslog) {
        att_syslog_sock_close(&syslog_sock);
    }
    log_fd = STDERR_FILENO;
    log_path[0] = 0;
    log_syslog = false;
}

/* RFC 5424 §6.2.1 severities, facility daemon (3): PRI = 3 * 8 + severity. */
static int syslog_pri(enum att_log_level level)
{
    static const int severity[] = {7, 6, 4, 3}; /* debug, info, warning, err */
    return 3 * 8 + severity[level];
}

/* One line to syslog; after lines were dropped, the next delivered line is preceded by one
 * that says how many. */
static void to_syslog(enum att_log_level level, char *line, size_t n)
{
    char head[64], note[160];
    int h = snprintf(head, sizeof(head), "<%d>%s", syslog_pri(level), syslog_tag);
    struct iovec iov[2] = {{head, (size_t)h}, {line, n}};
    if (!att_syslog_sock_send(&syslog_sock, iov, 2)) {
        atomic_fetch_add(&syslog_dropped, 1);
        return;
    }
    uint64_t lost = atomic_exchange(&syslog_dropped, 0);
    if (lost > 0) {
        h = snprintf(head, sizeof(head), "<%d>%s", syslog_pri(ATT_LOG_WARN), syslog_tag);
        int k = snprintf(note, sizeof(note),
                         "{\"level\":\"warn\",\"msg\":\"log lines dropped: the syslog "
                         "receiver did not take them\",\"dropped\":%llu}",
                         (unsigned long long)lost);
        struct iovec again[2] = {{head, (size_t)h}, {note, (size_t)k}};
        if (!att_syslog_sock_send(&syslog_sock, again, 2)) {
            atomic_fetch_add(&syslog_dropped, lost); /* told next time */
        }
    }
}

static void put_time(json_t *o)
{
    struct timespec ts;
    struct tm tm;
    char base[32];
    char full[48];
    clock_gettime(CLOCK_REALTIME, &ts);
    if (gmtime_r(&ts.tv_sec, &tm) == NULL ||
        strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        return;
    }
    snprintf(full, sizeof(full), "%s.%03ldZ", base, ts.tv_nsec / 1000000);
    json_object_set_new(o, "time", json_string(full));
}

bool att_log_enabled(enum att_log_level level)
{
    return (int)level >= atomic_load(&log_min);
}

void att_log(enum att_log_level level, const char *msg, ...)
{
    va_list ap;
    va_start(ap, msg);
    bool on = att_log_enabled(level);
    json_t *o = on ? json_object() : NULL;
    if (o != NULL) {
        put_time(o);
        json_object_set_new(o, "level", json_string(level_names[level]));
        json_object_set_new(o, "msg", json_string(msg));
    }
    /* Always walk the list so stolen values are freed even when filtered out. */
    for (;;) {
        const char *key = va_arg(ap, const char *);
        if (key == NULL) {
            break;
        }
        json_t *v = va_arg(ap, json_t *);
        if (v == NULL) {
            continue;
        }
        if (o != NULL) {
            json_object_set_new(o, key, v);
        } else {
            json_decref(v);
        }
    }
    va_end(ap);
    if (o == NULL) {
        return;
    }
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    json_decref(o);
    if (line == NULL) {
        return;
    }
    size_t n = strlen(line);
    ssize_t w;
    if (log_syslog) {
        /* One datagram per line: "<PRI>attestd[PID]: {...}" (RFC 3164 §4.1, as /dev/log
         * takes it; the receiver adds its time and host). */
        to_syslog(level, line, n);
        free(line);
        return;
    }
    line[n] = '\n'; /* json_dumps leaves room only for the NUL: overwrite it and write n+1 */
    do {
        w = write(log_fd, line, n + 1);
    } while (w < 0 && errno == EINTR);
    free(line);
}
