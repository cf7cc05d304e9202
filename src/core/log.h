/*
 * log.h - structured JSON-line logging.
 *
 * One JSON object per line, written with a single write(2) so lines from
 * several threads never interleave. Every line has "time" (RFC 3339 UTC,
 * milliseconds), "level" and "msg"; callers add fields as key/value pairs.
 *
 * Never pass a secret, a private key or a whole token to these functions:
 * log a fingerprint at most.
 */
#ifndef ATT_CORE_LOG_H
#define ATT_CORE_LOG_H

#include <jansson.h>
#include <stdbool.h>

#include "core/err.h"

enum att_log_level {
    ATT_LOG_DEBUG,
    ATT_LOG_INFO,
    ATT_LOG_WARN,
    ATT_LOG_ERROR,
};

/* Send lines to `path` (appended, created 0600) or to stderr when path is NULL. */
att_err att_log_open(const char *path, enum att_log_level min_level) ATT_WUR;
/* Send lines to a syslog datagram socket (/dev/log: syslogd or the systemd journal), one per
 * datagram, "<PRI>attestd[PID]: " then the JSON (facility daemon, severity by level). */
att_err att_log_open_syslog(const char *socket_path, enum att_log_level min_level) ATT_WUR;
/* Reopen the log file (after logrotate moved it; SIGHUP). No-op for stderr and syslog. */
att_err att_log_reopen(void) ATT_WUR;
/* Whether lines go to stderr (then nothing else may write there: one JSON stream). */
bool att_log_to_stderr(void);
void att_log_close(void);

att_err att_log_level_parse(const char *s, enum att_log_level *out) ATT_WUR;

/* Whether lines of `level` are written (to skip building fields nobody reads). */
bool att_log_enabled(enum att_log_level level);

/*
 * Log `msg` with extra fields: a NULL-terminated list of (const char *key,
 * json_t *value) pairs. The values are stolen (freed by this call), so
 * json_string(x), json_integer(n) can be passed inline. A NULL value is
 * skipped (a failed json_string() never crashes logging).
 */
void att_log(enum att_log_level level, const char *msg, ...);

#endif
