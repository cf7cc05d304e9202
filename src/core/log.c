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
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

static int log_fd = STDERR_FILENO;
static _Atomic int log_min = ATT_LOG_INFO;
static char log_path[4096]; /* the file, for att_log_reopen ("" = not a file) */
static bool log_syslog;     /* log_fd is a datagram socket to syslog */
static char syslog_tag[32]; /* "attestd[PID]: " */

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

att_err att_log_open(const char *path, enum att_log_level min_level)
{
    int fd = STDERR_FILENO;
    if (path != NULL) {
        if (strlen(path) >= sizeof(log_path)) {
            return ATT_ERR_ARG;
        }
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
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
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(socket_path) >= sizeof(sa.sun_path)) {
        return ATT_ERR_ARG;
    }
    memcpy(sa.sun_path, socket_path, strlen(socket_path));
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return ATT_ERR_IO;
    }
    if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return ATT_ERR_IO;
    }
    att_log_close();
    log_fd = fd;
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
    int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
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
    return log_fd == STDERR_FILENO;
}

void att_log_close(void)
{
    if (log_fd != STDERR_FILENO) {
        close(log_fd);
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
        char head[64];
        int h = snprintf(head, sizeof(head), "<%d>%s", syslog_pri(level), syslog_tag);
        struct iovec iov[2] = {{head, (size_t)h}, {line, n}};
        do {
            w = writev(log_fd, iov, 2);
        } while (w < 0 && errno == EINTR);
        free(line);
        return;
    }
    line[n] = '\n'; /* json_dumps leaves room only for the NUL: overwrite it and write n+1 */
    do {
        w = write(log_fd, line, n + 1);
    } while (w < 0 && errno == EINTR);
    free(line);
}
