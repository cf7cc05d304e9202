/*
 * remote.h - the admin socket's messages (remote.c), between attestctl (client) and the
 * process attestd starts for each connection (serve.c). docs/internals/admin-socket.md.
 *
 * attestd greets each connection it takes with ATT_REMOTE_HELLO. Then one request and one
 * answer, each a 32-bit big-endian length and that many bytes.
 *
 * Request: "ATTQ", u32 version (1), u32 flags (bit 0: tables), u32 argc, argc x (u32 len,
 * bytes), u32 n_files, n_files x (u32 argv index, u32 flags, u32 len, bytes): the files the
 * command line names for reading, ATT_REMOTE_FILE_PRIVATE when the file is the caller's own and
 * closed to others (as a passphrase file must be).
 *
 * Answer: "ATTA", u32 exit status, u32 len + standard output, u32 len + standard error, u32
 * n_files, n_files x (u32 argv index, u32 name len, name, u32 len, bytes): the files the
 * command wrote - one named for writing with an empty name, one in a directory named for
 * writing with its name there (no '/').
 */
#ifndef ATT_ADMIN_REMOTE_H
#define ATT_ADMIN_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/rd.h"

#define ATT_REMOTE_VERSION 1
#define ATT_REMOTE_HELLO "ATT1"
#define ATT_REMOTE_HELLO_WAIT_S 10      /* a stopped attestd is reported, not waited for */
#define ATT_REMOTE_REQUEST_WAIT_S 10    /* attestd waits this long for the request */
#define ATT_REMOTE_COMMAND_LIMIT_S 3600 /* a backup of a large store, say */
#define ATT_REMOTE_MAX_ARGS 64
#define ATT_REMOTE_MAX_ARG 4096
#define ATT_REMOTE_MAX_FILES 8              /* in a request */
#define ATT_REMOTE_MAX_OUTPUTS 32           /* in an answer */
#define ATT_REMOTE_MAX_REQUEST (96u << 20)  /* collateral bundles are the largest inputs */
#define ATT_REMOTE_MAX_ANSWER (1024u << 20) /* a backup archive, or an audit export */

#define ATT_REMOTE_FILE_PRIVATE 1u
/* An answer's exit status that tells attestctl to open the store itself: it runs as attestd's
 * own user, which is no administrator on the socket (serve.c). */
#define ATT_REMOTE_STATUS_DIRECT 125

struct att_remote_file {
    uint32_t arg; /* the argv index of its name */
    uint32_t flags;
    const char *name; /* in an answer: its name in a directory, "" for a file */
    struct att_bytes data;
};

/* A parsed request: argv[i] are NUL-terminated copies (owned); files point into the message. */
struct att_remote_request {
    bool table;
    int argc;
    char *argv[ATT_REMOTE_MAX_ARGS + 1];
    size_t n_files;
    struct att_remote_file files[ATT_REMOTE_MAX_FILES];
};

att_err att_remote_request_parse(const struct att_buf *msg, struct att_remote_request *out) ATT_WUR;
void att_remote_request_cleanup(struct att_remote_request *r);

/* Append u32 len + bytes. */
att_err att_remote_put_blob(struct att_buf *b, const void *p, size_t len) ATT_WUR;
att_err att_remote_put_u32(struct att_buf *b, uint32_t v) ATT_WUR;

/* Read one length-prefixed message of at most max bytes from fd into msg (which it resets),
 * all of it by `deadline` (att_time_mono_ms(); 0: no deadline): ATT_ERR_TIMEOUT past it. */
att_err att_remote_read(int fd, size_t max, int64_t deadline, struct att_buf *msg) ATT_WUR;
/* Write msg as one length-prefixed message. */
att_err att_remote_write(int fd, const struct att_buf *msg) ATT_WUR;

#endif
