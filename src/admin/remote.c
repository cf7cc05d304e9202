/*
 * remote.c - the admin socket's messages (remote.h) and attestctl's side of it
 * (att_admin_client_run).
 *
 * Input: the request arrives from a local peer whose credentials serve.c checked before; it is
 * still parsed through the bounded reader with a cap on every count and length. The answer
 * comes from attestd.
 */
#include "admin/remote.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "admin/serve.h"
#include "att/admin.h"
#include "core/file.h"
#include "core/timeutil.h"
#include "server/config.h"

/* ---- messages ---- */

att_err att_remote_put_u32(struct att_buf *b, uint32_t v)
{
    uint8_t be[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return att_buf_put(b, be, 4);
}

att_err att_remote_put_blob(struct att_buf *b, const void *p, size_t len)
{
    ATT_ENSURE(len <= UINT32_MAX, ATT_ERR_TOO_LARGE);
    ATT_TRY(att_remote_put_u32(b, (uint32_t)len));
    return att_buf_put(b, p, len);
}

/*
 * Read n bytes into p; with deadline (att_time_mono_ms(), 0: none) the whole read ends then,
 * however slowly the peer sends (a timeout per read would restart at every byte).
 */
static att_err read_all_by(int fd, void *p, size_t n, int64_t deadline)
{
    uint8_t *at = p;
    while (n > 0) {
        if (deadline != 0) {
            int64_t left = deadline - att_time_mono_ms();
            struct pollfd pfd = {fd, POLLIN, 0};
            ATT_ENSURE(left > 0 && poll(&pfd, 1, (int)left) > 0, ATT_ERR_TIMEOUT);
        }
        ssize_t got = read(fd, at, n);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        ATT_ENSURE(got > 0, got == 0 ? ATT_ERR_TRUNCATED : ATT_ERR_IO);
        at += got;
        n -= (size_t)got;
    }
    return ATT_OK;
}

static att_err read_all(int fd, void *p, size_t n)
{
    return read_all_by(fd, p, n, 0);
}

/* Write all of p to fd: a socket (send: no SIGPIPE) or a file. */
static att_err write_all(int fd, const void *p, size_t n, bool sock)
{
    const uint8_t *at = p;
    while (n > 0) {
        ssize_t put = sock ? send(fd, at, n, MSG_NOSIGNAL) : write(fd, at, n);
        if (put < 0 && errno == EINTR) {
            continue;
        }
        ATT_ENSURE(put > 0, ATT_ERR_IO);
        at += put;
        n -= (size_t)put;
    }
    return ATT_OK;
}

att_err att_remote_read(int fd, size_t max, int64_t deadline, struct att_buf *msg)
{
    uint8_t be[4];
    uint8_t chunk[65536];
    att_buf_reset(msg);
    ATT_TRY(read_all_by(fd, be, 4, deadline));
    uint32_t len = (uint32_t)be[0] << 24 | (uint32_t)be[1] << 16 | (uint32_t)be[2] << 8 | be[3];
    ATT_ENSURE(len <= max, ATT_ERR_TOO_LARGE);
    /* grown as bytes come, not reserved for what the peer announced */
    for (size_t left = len; left > 0;) {
        size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
        ATT_TRY(read_all_by(fd, chunk, n, deadline));
        ATT_TRY(att_buf_put(msg, chunk, n));
        left -= n;
    }
    return ATT_OK;
}

att_err att_remote_write(int fd, const struct att_buf *msg)
{
    struct att_buf head;
    att_buf_init(&head, 4);
    att_err rc = att_remote_put_u32(&head, (uint32_t)msg->len);
    if (rc == ATT_OK) {
        rc = write_all(fd, head.data, head.len, true);
    }
    att_buf_cleanup(&head);
    return rc == ATT_OK ? write_all(fd, msg->data, msg->len, true) : rc;
}

att_err att_remote_request_parse(const struct att_buf *msg, struct att_remote_request *out)
{
    struct att_rd r;
    struct att_bytes magic;
    uint32_t version = 0;
    uint32_t flags = 0;
    uint32_t argc = 0;
    uint32_t n_files = 0;
    memset(out, 0, sizeof(*out));
    att_rd_init(&r, msg->data, msg->len);
    ATT_TRY(att_rd_bytes(&r, 4, &magic));
    ATT_ENSURE(att_bytes_eq_str(magic, "ATTQ"), ATT_ERR_PARSE);
    ATT_TRY(att_rd_u32be(&r, &version));
    ATT_ENSURE(version == ATT_REMOTE_VERSION, ATT_ERR_PARSE);
    ATT_TRY(att_rd_u32be(&r, &flags));
    ATT_TRY(att_rd_u32be(&r, &argc));
    ATT_ENSURE(argc <= ATT_REMOTE_MAX_ARGS, ATT_ERR_TOO_LARGE);
    out->table = (flags & 1) != 0;
    for (uint32_t i = 0; i < argc; i++) {
        uint32_t len = 0;
        struct att_bytes arg;
        ATT_TRY(att_rd_u32be(&r, &len));
        ATT_ENSURE(len <= ATT_REMOTE_MAX_ARG, ATT_ERR_TOO_LARGE);
        ATT_TRY(att_rd_bytes(&r, len, &arg));
        ATT_ENSURE(memchr(arg.ptr, '\0', arg.len) == NULL, ATT_ERR_ENCODING);
        out->argv[i] = strndup((const char *)arg.ptr, arg.len);
        ATT_ENSURE(out->argv[i] != NULL, ATT_ERR_NOMEM);
        out->argc = (int)i + 1;
    }
    ATT_TRY(att_rd_u32be(&r, &n_files));
    ATT_ENSURE(n_files <= ATT_REMOTE_MAX_FILES, ATT_ERR_TOO_LARGE);
    for (uint32_t i = 0; i < n_files; i++) {
        uint32_t len = 0;
        struct att_remote_file *f = &out->files[i];
        ATT_TRY(att_rd_u32be(&r, &f->arg));
        ATT_ENSURE(f->arg < argc, ATT_ERR_PARSE);
        ATT_TRY(att_rd_u32be(&r, &f->flags));
        ATT_TRY(att_rd_u32be(&r, &len));
        ATT_TRY(att_rd_bytes(&r, len, &f->data));
        out->n_files = i + 1;
    }
    return att_rd_end(&r);
}

void att_remote_request_cleanup(struct att_remote_request *r)
{
    for (int i = 0; i < r->argc; i++) {
        free(r->argv[i]);
    }
    memset(r, 0, sizeof(*r));
}

/* ---- attestctl's side ---- */

/* The socket: --socket, else the configuration's (attestd's defaults, file, --data-dir). */
static int socket_path_of(const char *config_path, const char *data_dir, const char *given,
                          char *path, size_t len)
{
    struct att_config cfg;
    char msg[1024];
    if (given != NULL) {
        snprintf(path, len, "%s", given);
        return 0;
    }
    att_config_defaults(&cfg);
    if ((config_path != NULL &&
         att_config_load_file(&cfg, config_path, msg, sizeof(msg)) != ATT_OK) ||
        (data_dir != NULL &&
         att_config_set(&cfg, "data_dir", data_dir, msg, sizeof(msg)) != ATT_OK) ||
        att_config_finish(&cfg, msg, sizeof(msg)) != ATT_OK) {
        fprintf(stderr, "attestctl: %s\n", msg);
        return 1;
    }
    snprintf(path, len, "%s", cfg.admin_socket);
    return 0;
}

/* ATT_REMOTE_FILE_PRIVATE for a regular file of ours that others cannot read or write: so
 * attestd's copy passes the checks a secret file must (as the original would here). */
static uint32_t private_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
                   (st.st_mode & 077) == 0
               ? ATT_REMOTE_FILE_PRIVATE
               : 0;
}

/* The request for argv: each file it reads is sent along. 0, or 1 with the reason printed. */
static int build_request(bool table, int argc, char **argv, const char *marks, struct att_buf *req)
{
    struct att_buf data[ATT_REMOTE_MAX_ARGS];
    bool carried[ATT_REMOTE_MAX_ARGS] = {false};
    uint32_t n_files = 0;
    int bad = 0;
    for (int i = 0; i < argc; i++) {
        att_buf_init(&data[i], ATT_REMOTE_MAX_REQUEST);
    }
    for (int i = 0; i < argc && bad == 0; i++) {
        if (marks[i] == '>' && access(argv[i], F_OK) == 0) {
            fprintf(stderr, "attestctl: %s: %s\n", argv[i], strerror(EEXIST));
            bad = 1;
        }
        /* A file that cannot be read is not carried: the command reports it as it would here
         * ("not found", say), after checking the rest of its command line. */
        carried[i] =
            marks[i] == '@' && att_file_read(argv[i], ATT_REMOTE_MAX_REQUEST, &data[i]) == ATT_OK;
        n_files += carried[i];
    }
    att_err rc = att_buf_put(req, "ATTQ", 4);
    rc = rc == ATT_OK ? att_remote_put_u32(req, ATT_REMOTE_VERSION) : rc;
    rc = rc == ATT_OK ? att_remote_put_u32(req, table ? 1 : 0) : rc;
    rc = rc == ATT_OK ? att_remote_put_u32(req, (uint32_t)argc) : rc;
    for (int i = 0; rc == ATT_OK && i < argc; i++) {
        rc = att_remote_put_blob(req, argv[i], strlen(argv[i]));
    }
    rc = rc == ATT_OK ? att_remote_put_u32(req, n_files) : rc;
    for (int i = 0; rc == ATT_OK && i < argc; i++) {
        if (carried[i]) {
            rc = att_remote_put_u32(req, (uint32_t)i);
            rc = rc == ATT_OK ? att_remote_put_u32(req, private_file(argv[i])) : rc;
            rc = rc == ATT_OK ? att_remote_put_blob(req, data[i].data, data[i].len) : rc;
        }
    }
    for (int i = 0; i < argc; i++) {
        att_buf_cleanup(&data[i]);
    }
    if (bad == 0 && rc != ATT_OK) {
        fprintf(stderr, "attestctl: the command is too large for the admin socket (%s)\n",
                att_err_str(rc));
        bad = 1;
    }
    return bad;
}

/* Write a file the command made (mode 0600, not over an existing file). */
/*
 * Write a file the command made: one named for writing is new, mode 0600 (a backup); one in
 * a directory named for writing replaces what is there, mode 0644 (the demo's evidence), the
 * directory made if missing. Never through a symbolic link.
 */
static int write_output(const char *path, const char *name, struct att_bytes data)
{
    char full[4096];
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW;
    if (name[0] == '\0') {
        snprintf(full, sizeof(full), "%s", path);
        flags |= O_EXCL;
    } else {
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "attestctl: %s: %s\n", path, strerror(errno));
            return 1;
        }
        snprintf(full, sizeof(full), "%s/%s", path, name);
        flags |= O_TRUNC;
    }
    int fd = open(full, flags, name[0] == '\0' ? 0600 : 0644);
    if (fd < 0) {
        fprintf(stderr, "attestctl: %s: %s\n", full, strerror(errno));
        return 1;
    }
    att_err rc = write_all(fd, data.ptr, data.len, false);
    if (close(fd) != 0 || rc != ATT_OK) {
        fprintf(stderr, "attestctl: %s: cannot write it\n", full);
        return 1;
    }
    return 0;
}

/* A name a directory entry may have: no '/', not "." or "..", nothing but printable ASCII. */
static bool plain_name(struct att_bytes b)
{
    if (b.len == 0 || b.len > 255 || (b.len <= 2 && b.ptr[0] == '.' && b.ptr[b.len - 1] == '.')) {
        return false;
    }
    for (size_t i = 0; i < b.len; i++) {
        if (b.ptr[i] <= ' ' || b.ptr[i] > '~' || b.ptr[i] == '/') {
            return false;
        }
    }
    return true;
}

/* Print the answer and write its files; the command's exit status (1 for a bad answer). */
static int take_answer(const struct att_buf *msg, int argc, char **argv, const char *marks)
{
    struct att_rd r;
    struct att_bytes magic, out, err;
    uint32_t status = 1;
    uint32_t n = 0;
    att_rd_init(&r, msg->data, msg->len);
    if (att_rd_bytes(&r, 4, &magic) != ATT_OK || !att_bytes_eq_str(magic, "ATTA") ||
        att_rd_u32be(&r, &status) != ATT_OK || att_rd_u32be(&r, &n) != ATT_OK ||
        att_rd_bytes(&r, n, &out) != ATT_OK || att_rd_u32be(&r, &n) != ATT_OK ||
        att_rd_bytes(&r, n, &err) != ATT_OK || att_rd_u32be(&r, &n) != ATT_OK) {
        fputs("attestctl: a malformed answer from the admin socket\n", stderr);
        return 1;
    }
    fwrite(out.ptr, 1, out.len, stdout);
    fwrite(err.ptr, 1, err.len, stderr);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t arg = 0;
        uint32_t len = 0;
        struct att_bytes name, data;
        char text[256];
        if (att_rd_u32be(&r, &arg) != ATT_OK || arg >= (uint32_t)argc ||
            att_rd_u32be(&r, &len) != ATT_OK || att_rd_bytes(&r, len, &name) != ATT_OK ||
            att_rd_u32be(&r, &len) != ATT_OK || att_rd_bytes(&r, len, &data) != ATT_OK ||
            (marks[arg] == '>' && name.len != 0) || (marks[arg] == '/' && !plain_name(name)) ||
            (marks[arg] != '>' && marks[arg] != '/')) {
            fputs("attestctl: a malformed answer from the admin socket\n", stderr);
            return 1;
        }
        snprintf(text, sizeof(text), "%.*s", (int)name.len, (const char *)name.ptr);
        if (status == 0 && write_output(argv[arg], text, data) != 0) {
            return 1;
        }
    }
    return (int)status;
}

static void set_timeouts(int fd, int seconds)
{
    struct timeval tv = {seconds, 0};
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Wait for attestd to take the connection, send the request, read the answer into msg. */
static int exchange(int fd, const char *path, struct att_buf *msg)
{
    uint8_t hello[4];
    set_timeouts(fd, ATT_REMOTE_HELLO_WAIT_S);
    att_err rc = read_all(fd, hello, 4);
    if (rc == ATT_ERR_TRUNCATED) {
        fprintf(stderr,
                "attestctl: admin socket %s: attestd closed the connection (it runs at most %d "
                "commands at once; its log says why)\n",
                path, ATT_ADMIN_MAX_CHILDREN);
        return 1;
    }
    if (rc != ATT_OK || memcmp(hello, ATT_REMOTE_HELLO, 4) != 0) {
        fprintf(stderr,
                "attestctl: admin socket %s: attestd did not take the connection within %d s "
                "(is it stopped?); --direct opens the store instead\n",
                path, ATT_REMOTE_HELLO_WAIT_S);
        return 1;
    }
    /* A refusal (a peer not allowed, too many commands) may come before the request is read:
     * the answer is taken even when sending fails. */
    bool sent = att_remote_write(fd, msg) == ATT_OK;
    int send_errno = errno;
    set_timeouts(fd, ATT_REMOTE_COMMAND_LIMIT_S + 60);
    if (att_remote_read(fd, ATT_REMOTE_MAX_ANSWER, 0, msg) != ATT_OK) {
        if (!sent) {
            fprintf(stderr, "attestctl: admin socket %s: cannot send the command: %s\n", path,
                    strerror(send_errno));
        } else {
            fprintf(stderr,
                    "attestctl: admin socket %s: attestd closed the connection without an "
                    "answer (its log says why)\n",
                    path);
        }
        return 1;
    }
    return 0;
}

int att_admin_client_run(const char *config_path, const char *data_dir, const char *socket_path,
                         bool table, int argc, char **argv)
{
    char path[ATT_CONFIG_PATH_MAX];
    char marks[ATT_REMOTE_MAX_ARGS];
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (argc > ATT_REMOTE_MAX_ARGS || att_admin_cli_file_args(argc, argv, marks) != 0) {
        return ATT_ADMIN_CLIENT_NO_DAEMON; /* the local run says what is wrong */
    }
    if (socket_path_of(config_path, data_dir, socket_path, path, sizeof(path)) != 0) {
        return 1;
    }
    if (strcmp(path, "none") == 0 || strlen(path) >= sizeof(sa.sun_path)) {
        return ATT_ADMIN_CLIENT_NO_DAEMON;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
        }
        if (socket_path == NULL && (e == ENOENT || e == ECONNREFUSED)) {
            return ATT_ADMIN_CLIENT_NO_DAEMON; /* no attestd: the store, directly */
        }
        fprintf(stderr,
                "attestctl: admin socket %s: %s (root, attestd's user and members of its "
                "admin_group may use it; --direct opens the store instead)\n",
                path, strerror(e));
        return 1;
    }
    struct att_buf msg;
    att_buf_init(&msg, ATT_REMOTE_MAX_ANSWER);
    int rc = build_request(table, argc, argv, marks, &msg);
    if (rc == 0) {
        rc = exchange(fd, path, &msg);
    }
    if (rc == 0) {
        rc = take_answer(&msg, argc, argv, marks);
    }
    if (rc == ATT_REMOTE_STATUS_DIRECT) {
        rc = ATT_ADMIN_CLIENT_NO_DAEMON; /* attestd's own user: the store, directly */
    }
    att_buf_cleanup(&msg);
    close(fd);
    return rc;
}
