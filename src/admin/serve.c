/*
 * serve.c - attestd's admin socket (serve.h): binding it, checking each peer, and the child
 * that runs one command line for it.
 *
 * Input trust: the peer is a local process the kernel names (SO_PEERCRED). Only the requests of
 * root and members of admin_group are read: with an absolute deadline, through the bounded
 * reader (remote.c); their command line is parsed as attestctl's own (cli.c) and must be a
 * store command: what an Owner may do through REST and attestctl, and nothing more.
 */
#include "admin/serve.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "admin/admin_int.h"
#include "admin/remote.h"
#include "core/file.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "keyd/keyd.h"
#include "seal/seal.h"
#include "server/daemon.h"
#include "server/privdrop.h"

#define ANSWER_DEADLINE_S 30 /* to take the answer */
#define APPLY_WAIT_S 5       /* for the network process to apply a change */

/* ---- binding ---- */

static att_err group_id(const char *name, gid_t *gid)
{
    struct group gr;
    struct group *found = NULL;
    char text[4096];
    ATT_ENSURE(getgrnam_r(name, &gr, text, sizeof(text), &found) == 0 && found != NULL,
               ATT_ERR_NOT_FOUND);
    *gid = gr.gr_gid;
    return ATT_OK;
}

/* Whether something answers on the socket at `sa` (another attestd). */
static bool answered(const struct sockaddr_un *sa)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool yes = fd >= 0 && connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
    if (fd >= 0) {
        close(fd);
    }
    return yes;
}

att_err att_admin_socket_bind(const struct att_config *cfg, int *fd, char *msg, size_t n)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    uid_t uid = geteuid();
    gid_t gid = getegid();
    *fd = -1;
    if (strcmp(cfg->admin_socket, "none") == 0) {
        return ATT_OK;
    }
    memcpy(sa.sun_path, cfg->admin_socket, strlen(cfg->admin_socket) + 1);
    if (cfg->user[0] != '\0' && att_privdrop_ids(cfg->user, &uid, &gid, msg, n) != ATT_OK) {
        return ATT_ERR_CONFIG;
    }
    if (cfg->admin_group[0] != '\0' && group_id(cfg->admin_group, &gid) != ATT_OK) {
        snprintf(msg, n, "admin_group %s: no such group", cfg->admin_group);
        return ATT_ERR_CONFIG;
    }
    if (lstat(sa.sun_path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(msg, n, "%s: exists and is not a socket", sa.sun_path);
            return ATT_ERR_EXISTS;
        }
        if (answered(&sa)) { /* its own, to the attestd that has it: this one serves none */
            att_log(ATT_LOG_WARN,
                    "another attestd answers on the admin socket; this one serves "
                    "none (give each its own admin_socket)",
                    "admin_socket", json_string(sa.sun_path), NULL);
            return ATT_OK;
        }
        (void)unlink(sa.sun_path); /* left by an attestd that is gone */
    }
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    mode_t old = umask(0117); /* created 0660: no moment at which others may connect */
    int rc = s < 0 ? -1 : bind(s, (const struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc != 0 || listen(s, 16) != 0 || (geteuid() == 0 && chown(sa.sun_path, uid, gid) != 0)) {
        snprintf(msg, n, "%s: %s", sa.sun_path, strerror(errno));
        if (s >= 0) {
            close(s);
        }
        return ATT_ERR_IO;
    }
    *fd = fcntl(s, F_DUPFD_CLOEXEC, 10); /* clear of the descriptors the key process is given */
    close(s);
    if (*fd < 0) {
        snprintf(msg, n, "%s: %s", sa.sun_path, strerror(errno));
        return ATT_ERR_IO;
    }
    return ATT_OK;
}

int att_admin_socket_inherited(void)
{
    int listening = 0;
    socklen_t len = sizeof(listening);
    if (fcntl(ATT_ADMIN_SOCKET_FD, F_GETFD) < 0 ||
        getsockopt(ATT_ADMIN_SOCKET_FD, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 ||
        !listening) {
        return -1;
    }
    (void)fcntl(ATT_ADMIN_SOCKET_FD, F_SETFD, FD_CLOEXEC);
    (void)fcntl(ATT_ADMIN_SOCKET_FD, F_SETFL, O_NONBLOCK);
    return ATT_ADMIN_SOCKET_FD;
}

/* ---- answers ---- */

/* An answer of status, standard output and error, and the files in `files`. */
static att_err answer(int fd, int status, const char *out, size_t out_len, const char *err,
                      size_t err_len, const struct att_remote_file *files, size_t n_files)
{
    struct att_buf msg;
    att_buf_init(&msg, ATT_REMOTE_MAX_ANSWER);
    att_err rc = att_buf_put(&msg, "ATTA", 4);
    rc = rc == ATT_OK ? att_remote_put_u32(&msg, (uint32_t)status) : rc;
    rc = rc == ATT_OK ? att_remote_put_blob(&msg, out, out_len) : rc;
    rc = rc == ATT_OK ? att_remote_put_blob(&msg, err, err_len) : rc;
    rc = rc == ATT_OK ? att_remote_put_u32(&msg, (uint32_t)n_files) : rc;
    for (size_t i = 0; rc == ATT_OK && i < n_files; i++) {
        rc = att_remote_put_u32(&msg, files[i].arg);
        rc = rc == ATT_OK ? att_remote_put_blob(&msg, files[i].name, strlen(files[i].name)) : rc;
        rc = rc == ATT_OK ? att_remote_put_blob(&msg, files[i].data.ptr, files[i].data.len) : rc;
    }
    rc = rc == ATT_OK ? att_remote_write(fd, &msg) : rc;
    att_buf_cleanup(&msg);
    return rc;
}

static void greet(int fd)
{
    (void)send(fd, ATT_REMOTE_HELLO, 4, MSG_NOSIGNAL);
}

static void refuse(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(int fd, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    att_ignore_err(answer(fd, 1, "", 0, text, len < 0 ? 0 : strlen(text), NULL, 0));
}

/* ---- the peer ---- */

static bool in_group(int fd, gid_t primary, gid_t want)
{
    gid_t groups[256];
    socklen_t len = sizeof(groups);
    if (primary == want) {
        return true;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) != 0) {
        return false;
    }
    for (size_t i = 0; i < len / sizeof(gid_t); i++) {
        if (groups[i] == want) {
            return true;
        }
    }
    return false;
}

enum peer {
    PEER_ADMIN,    /* root, or a member of admin_group: acts as Owner */
    PEER_SERVICE,  /* attestd's own user (not root): told to open the store itself */
    PEER_STRANGER, /* anyone else: refused */
};

/* Who the kernel says the peer is (SO_PEERCRED: uid and primary group; SO_PEERGROUPS). */
static enum peer classify_peer(const struct att_config *cfg, int fd, uid_t *peer)
{
    struct ucred cr;
    socklen_t len = sizeof(cr);
    uid_t service = geteuid();
    gid_t gid = 0;
    char msg[256];
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
        return PEER_STRANGER;
    }
    *peer = cr.uid;
    if (cr.uid == 0) {
        return PEER_ADMIN;
    }
    if (cfg->user[0] != '\0' &&
        att_privdrop_ids(cfg->user, &service, &gid, msg, sizeof(msg)) != ATT_OK) {
        return PEER_STRANGER; /* who the service user is cannot be told: no one but root */
    }
    if (cr.uid == service) {
        return PEER_SERVICE;
    }
    return cfg->admin_group[0] != '\0' && group_id(cfg->admin_group, &gid) == ATT_OK &&
                   in_group(fd, cr.gid, gid)
               ? PEER_ADMIN
               : PEER_STRANGER;
}

/* ---- the child ---- */

/* The command's files, as files of the service user in a directory of its own. */
struct workdir {
    char dir[ATT_CONFIG_PATH_MAX + 32]; /* for what the command writes; "" until made */
    char path[ATT_REMOTE_MAX_ARGS][ATT_CONFIG_PATH_MAX + 48];
    char *given[ATT_REMOTE_MAX_ARGS]; /* the names the peer gave */
    char marks[ATT_REMOTE_MAX_ARGS];
    int fd[ATT_REMOTE_MAX_ARGS]; /* a file carried in: a memfd, never on a disk; else -1 */
};

/*
 * A carried file as a memory file (memfd_create(2)): it is never on a disk, so no copy of a
 * passphrase outlives the command, whatever ends it. Its mode is the peer's file's: one the peer
 * keeps private stays so; another is open to others, so that the checks a secret file must pass
 * fail here as they would there. The command opens it by its /proc/self/fd name.
 */
static int memory_file(const struct att_remote_file *f)
{
    int fd = memfd_create("attestctl-input", MFD_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    const uint8_t *p = f->data.ptr;
    size_t left = f->data.len;
    while (left > 0) {
        ssize_t put = write(fd, p, left);
        if (put < 0 && errno == EINTR) {
            continue;
        }
        if (put <= 0) {
            close(fd);
            return -1;
        }
        p += put;
        left -= (size_t)put;
    }
    mode_t mode = (f->flags & ATT_REMOTE_FILE_PRIVATE) != 0 ? 0600 : 0644;
    if (fchmod(fd, mode) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Put each file the request carries in memory, and make a directory of the service user's for
 * what the command writes; the command line names them there. */
static int prepare_files(const struct att_config *cfg, struct att_remote_request *req,
                         struct workdir *w, char *why, size_t n)
{
    if (att_admin_cli_file_args(req->argc, req->argv, w->marks) != 0) {
        return 0; /* no command: running it says so */
    }
    size_t carried = 0;
    for (int i = 0; i < req->argc; i++) {
        const struct att_remote_file *f = NULL;
        for (size_t k = 0; k < req->n_files; k++) {
            f = req->files[k].arg == (uint32_t)i ? &req->files[k] : f;
        }
        if (w->marks[i] == 0) {
            continue;
        }
        if (f != NULL && w->marks[i] != '@') {
            snprintf(why, n, "the request carries a file the command does not read");
            return 1;
        }
        if (w->marks[i] == '@' && f != NULL) {
            w->fd[i] = memory_file(f);
            if (w->fd[i] < 0) {
                snprintf(why, n, "cannot hold %s: %s", req->argv[i], strerror(errno));
                return 1;
            }
            snprintf(w->path[i], sizeof(w->path[i]), "/proc/self/fd/%d", w->fd[i]);
            carried++;
        } else if (w->marks[i] == '@') {
            /* (a file the peer could not read is not carried: the command finds none) */
            snprintf(w->path[i], sizeof(w->path[i]), "/proc/self/fd/-%d", i);
        } else {
            if (w->dir[0] == '\0') {
                snprintf(w->dir, sizeof(w->dir), "%s/.admin-XXXXXX", cfg->data_dir);
                if (mkdtemp(w->dir) == NULL) {
                    snprintf(why, n, "cannot make a directory in %s: %s", cfg->data_dir,
                             strerror(errno));
                    w->dir[0] = '\0';
                    return 1;
                }
            }
            snprintf(w->path[i], sizeof(w->path[i]), "%s/%s%d", w->dir,
                     w->marks[i] == '>' ? "out" : "dir", i);
        }
        w->given[i] = req->argv[i];
        req->argv[i] = w->path[i];
    }
    if (carried != req->n_files) {
        snprintf(why, n, "the request carries a file the command does not read");
        return 1;
    }
    return 0;
}

/*
 * Remove directory `name` in `parent` and what it holds, one level of directories deep (a
 * command's directory holds its output files and its output directories), never following a
 * link: the supervisor is root, and the service user owns the data directory, so names there
 * may be swapped for links at any moment (openat with O_NOFOLLOW, unlinkat).
 */
static void remove_tree_at(int parent, const char *name, int depth)
{
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;
    if (d == NULL) {
        if (fd >= 0) {
            close(fd);
        } else if (errno == ELOOP || errno == ENOTDIR) {
            (void)unlinkat(parent, name, 0); /* a link or a file in its place: itself */
        }
        return;
    }
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        if (depth > 0 && fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISDIR(st.st_mode)) {
            remove_tree_at(dirfd(d), e->d_name, depth - 1);
        } else {
            (void)unlinkat(dirfd(d), e->d_name, 0); /* a link is removed, not followed */
        }
    }
    closedir(d);
    (void)unlinkat(parent, name, AT_REMOVEDIR);
}

/* Drop the carried files, remove what the command wrote, give argv its names back. */
static void remove_files(struct att_remote_request *req, struct workdir *w)
{
    for (int i = 0; i < req->argc; i++) {
        if (w->fd[i] >= 0) {
            close(w->fd[i]);
            w->fd[i] = -1;
        }
        if (w->given[i] != NULL) {
            req->argv[i] = w->given[i];
            w->given[i] = NULL;
        }
    }
    if (w->dir[0] != '\0') {
        remove_tree_at(AT_FDCWD, w->dir, 1);
        w->dir[0] = '\0';
    }
}

/* text with each of the work directory's names replaced by the name the peer gave. */
static att_err restore_names(const char *text, size_t len, const struct workdir *w, int argc,
                             struct att_buf *out)
{
    size_t i = 0;
    while (i < len) {
        int best = -1; /* the longest name here: /proc/self/fd/1 is a prefix of .../fd/12 */
        size_t best_len = 0;
        for (int k = 0; k < argc; k++) {
            size_t plen = w->given[k] != NULL ? strlen(w->path[k]) : 0;
            if (plen > best_len && len - i >= plen && memcmp(text + i, w->path[k], plen) == 0) {
                best = k;
                best_len = plen;
            }
        }
        if (best >= 0) {
            ATT_TRY(att_buf_puts(out, w->given[best]));
            i += best_len;
        } else {
            ATT_TRY(att_buf_putc(out, (uint8_t)text[i++]));
        }
    }
    return ATT_OK;
}

/* What the command wrote, for the answer: each file named for writing, and each regular file
 * in a directory named for writing. */
struct outputs {
    struct att_remote_file files[ATT_REMOTE_MAX_OUTPUTS];
    struct att_buf data[ATT_REMOTE_MAX_OUTPUTS];
    char names[ATT_REMOTE_MAX_OUTPUTS][256];
    size_t n;
};

static att_err add_output(struct outputs *o, uint32_t arg, const char *path, const char *name)
{
    ATT_ENSURE(o->n < ATT_REMOTE_MAX_OUTPUTS, ATT_ERR_TOO_LARGE);
    size_t k = o->n;
    att_buf_init(&o->data[k], ATT_REMOTE_MAX_ANSWER);
    o->n++;
    snprintf(o->names[k], sizeof(o->names[k]), "%s", name);
    ATT_TRY(att_file_read_regular(path, ATT_REMOTE_MAX_ANSWER, &o->data[k]));
    o->files[k].arg = arg;
    o->files[k].name = o->names[k];
    o->files[k].data.ptr = o->data[k].data;
    o->files[k].data.len = o->data[k].len;
    return ATT_OK;
}

static att_err collect_outputs(const struct workdir *w, int argc, struct outputs *o)
{
    for (int i = 0; i < argc; i++) {
        if (w->marks[i] == '>') {
            ATT_TRY(add_output(o, (uint32_t)i, w->path[i], ""));
        }
        if (w->marks[i] != '/') {
            continue;
        }
        DIR *d = opendir(w->path[i]);
        struct dirent *e;
        att_err rc = ATT_OK;
        while (rc == ATT_OK && d != NULL && (e = readdir(d)) != NULL) {
            char path[sizeof(w->path[i]) + 256];
            if (e->d_name[0] == '.' || strlen(e->d_name) >= 256) {
                continue;
            }
            snprintf(path, sizeof(path), "%s/%s", w->path[i], e->d_name);
            rc = add_output(o, (uint32_t)i, path, e->d_name);
        }
        if (d != NULL) {
            closedir(d);
        }
        ATT_TRY(rc);
    }
    return ATT_OK;
}

/* Have the network process apply a change (SIGUSR1), and wait for its SIGUSR2. */
static bool apply_change(pid_t net_pid)
{
    sigset_t usr2;
    siginfo_t info;
    struct timespec wait = {APPLY_WAIT_S, 0};
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    if (kill(net_pid, SIGUSR1) != 0) {
        return false;
    }
    for (;;) {
        int sig = sigtimedwait(&usr2, &info, &wait);
        if (sig == SIGUSR2 && info.si_pid == net_pid) {
            return true;
        }
        if (sig < 0 && errno != EINTR) {
            return false;
        }
    }
}

/* Read the KEK, give up root, open the store: attestd's own steps, named as it names them. */
static int open_store(const struct att_config *cfg, struct att_admin **a, char *why, size_t n)
{
    struct att_kek kek;
    char msg[768] = "";
    if (att_daemon_load_kek(cfg, &kek, msg, sizeof(msg)) != ATT_OK) {
        snprintf(why, n, "key-encryption key: %s", msg);
        return 1;
    }
    if (att_privdrop(cfg->user, false, msg, sizeof(msg)) != ATT_OK) {
        att_kek_wipe(&kek);
        snprintf(why, n, "user: %s", msg);
        return 1;
    }
    if (!att_keyd_harden()) { /* the change of user cleared the parent-death signal */
        att_kek_wipe(&kek);
        snprintf(why, n, "the supervisor is gone");
        return 1;
    }
    return att_admin_open_service(cfg, &kek, a, why, n);
}

/* Run the command; the answer's output, error and files. */
static int run(const struct att_config *cfg, struct att_remote_request *req, uid_t peer,
               pid_t net_pid, int fd)
{
    struct workdir *w = calloc(1, sizeof(*w));
    struct outputs *outs = calloc(1, sizeof(*outs));
    struct att_admin *a = NULL;
    char why[1024] = "";
    char *out = NULL;
    char *err = NULL;
    size_t out_len = 0;
    size_t err_len = 0;
    int status = 1;
    struct att_buf o2, e2;
    att_buf_init(&o2, ATT_REMOTE_MAX_ANSWER);
    att_buf_init(&e2, ATT_REMOTE_MAX_ANSWER);
    for (size_t i = 0; w != NULL && i < ATT_REMOTE_MAX_ARGS; i++) {
        w->fd[i] = -1;
    }
    if (w == NULL || outs == NULL) {
        refuse(fd, "attestctl: attestd cannot run the command: out of memory\n");
        goto done;
    }
    /* Only commands on attestd's state: the others run where they are typed, on files there
     * (docs/operations.md); here they would act with attestd's rights. */
    if (att_admin_cli_kind(req->argc, req->argv) != ATT_ADMIN_CLI_STORE) {
        refuse(fd,
               "attestctl: the admin socket runs only commands on attestd's state; '%s' runs "
               "where it is typed\n",
               req->argc > 0 ? req->argv[0] : "");
        goto done;
    }
    if (open_store(cfg, &a, why, sizeof(why)) != 0 ||
        prepare_files(cfg, req, w, why, sizeof(why)) != 0) {
        refuse(fd, "attestctl: attestd cannot run the command: %s\n", why);
        goto done;
    }
    att_admin_set_actor(a, peer, "admin-socket");
    FILE *o = open_memstream(&out, &out_len);
    FILE *e = open_memstream(&err, &err_len);
    if (o == NULL || e == NULL) {
        if (o != NULL) {
            fclose(o);
        }
        if (e != NULL) {
            fclose(e);
        }
        refuse(fd, "attestctl: attestd cannot run the command: out of memory\n");
        goto done;
    }
    struct att_admin_cli io = {o, e, req->table, NULL, NULL, NULL, NULL};
    status = att_admin_cli_run(a, &io, req->argc, req->argv);
    if (status == 0 && att_admin_cli_changes(req->argc, req->argv) && !apply_change(net_pid)) {
        fputs("attestctl: warning: attestd did not confirm it applied the change (its log says "
              "why); it will at its next reload\n",
              e);
    }
    fclose(o);
    fclose(e);
    att_err rc = restore_names(out, out_len, w, req->argc, &o2);
    rc = rc == ATT_OK ? restore_names(err, err_len, w, req->argc, &e2) : rc;
    if (rc == ATT_OK && status == 0) {
        rc = collect_outputs(w, req->argc, outs);
    }
    remove_files(req, w); /* before the answer: a peer that does not read it keeps nothing */
    if (rc == ATT_OK) {
        rc = answer(fd, status, (const char *)o2.data, o2.len, (const char *)e2.data, e2.len,
                    outs->files, outs->n);
    } else {
        refuse(fd, "attestctl: attestd cannot send the answer: %s\n", att_err_str(rc));
    }
done:
    if (w != NULL) {
        remove_files(req, w);
    }
    for (size_t k = 0; outs != NULL && k < outs->n; k++) {
        att_buf_cleanup(&outs->data[k]);
    }
    att_buf_cleanup(&o2);
    att_buf_cleanup(&e2);
    free(outs);
    free(out);
    free(err);
    free(w);
    att_admin_close(a);
    return status;
}

/* After the answer: read what the peer still sends (for a second, 16 MiB at most), so that
 * closing with unread input does not reset the connection before the peer reads the answer. */
static void drain(int fd)
{
    char sink[65536];
    size_t total = 0;
    int64_t deadline = att_time_mono_ms() + 1000; /* a second in all, however it trickles */
    (void)shutdown(fd, SHUT_WR);
    for (ssize_t n = 1; n > 0 && total < (16u << 20); total += (size_t)n) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int64_t left = deadline - att_time_mono_ms();
        n = left > 0 && poll(&pfd, 1, (int)left) > 0 ? read(fd, sink, sizeof(sink)) : 0;
    }
}

static int child_main(const struct att_config *cfg, int fd, enum peer kind, uid_t peer,
                      pid_t net_pid)
{
    struct timeval wr = {ANSWER_DEADLINE_S, 0};
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    sigprocmask(SIG_BLOCK, &usr2, NULL); /* taken by sigtimedwait alone */
    signal(SIGPIPE, SIG_IGN);
    alarm(ATT_REMOTE_COMMAND_LIMIT_S); /* then SIGALRM ends the child */
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &wr, sizeof(wr));
    if (!att_keyd_harden()) {
        return 1;
    }
    greet(fd);
    int status = 1;
    if (kind == PEER_STRANGER) { /* told so, and nothing of theirs is read */
        att_log(ATT_LOG_WARN, "admin socket: refused a peer", "uid", json_integer(peer), NULL);
        refuse(fd,
               "attestctl: uid %u may not administer attestd (root and members of admin_group "
               "may)\n",
               (unsigned)peer);
        drain(fd);
        return 1;
    }
    if (kind == PEER_SERVICE) {
        /* attestd's own user - the network process's - is no administrator: a process taken
         * over must not become one. attestctl run as that user opens the store itself. */
        att_ignore_err(answer(fd, ATT_REMOTE_STATUS_DIRECT, "", 0, "", 0, NULL, 0));
        drain(fd);
        return 1;
    }
    struct att_buf msg;
    struct att_remote_request req;
    memset(&req, 0, sizeof(req));
    att_buf_init(&msg, ATT_REMOTE_MAX_REQUEST);
    /* the whole request within the deadline, however slowly it comes */
    att_err rc = att_remote_read(fd, ATT_REMOTE_MAX_REQUEST,
                                 att_time_mono_ms() + 1000 * ATT_REMOTE_REQUEST_WAIT_S, &msg);
    rc = rc == ATT_OK ? att_remote_request_parse(&msg, &req) : rc;
    if (rc != ATT_OK) {
        att_log(ATT_LOG_WARN, "admin socket: a bad request", "uid", json_integer(peer), "error",
                json_string(att_err_name(rc)), NULL);
        refuse(fd, "attestctl: attestd could not read the request (%s)\n", att_err_str(rc));
    } else {
        att_log(ATT_LOG_INFO, "admin socket: command", "uid", json_integer(peer), "command",
                json_string(req.argc > 0 ? req.argv[0] : ""), NULL);
        status = run(cfg, &req, peer, net_pid, fd);
    }
    drain(fd);
    att_remote_request_cleanup(&req);
    att_buf_cleanup(&msg);
    return status;
}

void att_admin_socket_accept(const struct att_config *cfg, int listen_fd, pid_t net_pid,
                             unsigned *children)
{
    uid_t peer = (uid_t)-1; /* (no one, until the kernel says) */
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
        return;
    }
    /* The supervisor reads nothing from a peer: a child does, refusals too. The last child is
     * root's: other peers, refused ones above all, cannot take every one. */
    enum peer kind = classify_peer(cfg, fd, &peer);
    if (*children >= ATT_ADMIN_MAX_CHILDREN ||
        (*children + 1 >= ATT_ADMIN_MAX_CHILDREN && peer != 0)) {
        att_log(ATT_LOG_WARN, "admin socket: closed a connection: as many commands run as it takes",
                "max", json_integer(ATT_ADMIN_MAX_CHILDREN), "uid", json_integer(peer), NULL);
    } else {
        pid_t pid = fork();
        if (pid == 0) { /* the supervisor is single-threaded: the child may run on */
            close(listen_fd);
            close(ATT_KEYD_FD);
            _exit(child_main(cfg, fd, kind, peer, net_pid));
        }
        *children += pid > 0;
    }
    close(fd);
}

/* Directories of commands a crash or the time limit ended before they removed them. */
void att_admin_socket_sweep(const struct att_config *cfg)
{
    int dfd = open(cfg->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    struct dirent *e;
    if (d == NULL) {
        if (dfd >= 0) {
            close(dfd);
        }
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, ".admin-", 7) == 0) {
            remove_tree_at(dirfd(d), e->d_name, 1);
        }
    }
    closedir(d);
}
