/*
 * supervisor.c - the key supervisor: the process attestd starts as its key process (keyd.h).
 *
 * It holds no key. It stays whoever started attestd (root, for a service that drops
 * privileges), single-threaded, and does one thing: when the network process asks for a
 * session on the control socket, it ends the previous key worker, forks a new one on a new
 * socket pair and passes the network process its end. The worker reads the KEK - which is why
 * the supervisor keeps root: a worker that died is replaced without the network process ever
 * having the rights to read the KEK - and then gives up root itself (server.c).
 *
 * It also serves the admin socket (admin/serve.h), for the same reason: each connection gets a
 * child that reads the KEK, gives up root and runs one attestctl command.
 *
 * Input trust: the control socket carries five bytes per request from the network process,
 * which may be hostile: anything but ATT_KEYD_NEW_SESSION and a sequence number ends the
 * supervisor (and with it the worker); descriptors it might send are discarded by recv(2).
 */
#include "keyd/keyd.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "admin/serve.h"
#include "keyd/proto.h"

/* Not dumpable, no core, and gone with its parent: true unless the parent is already gone. */
bool att_keyd_harden(void)
{
    struct rlimit none = {0, 0};
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    (void)setrlimit(RLIMIT_CORE, &none);
    return getppid() != 1; /* a parent that died before PDEATHSIG was set */
}

static void end_worker(pid_t *worker)
{
    if (*worker > 0) {
        (void)kill(*worker, SIGKILL);
        (void)waitpid(*worker, NULL, 0);
        *worker = 0;
    }
}

/* A new worker on a new socket pair: its end passed to the network process. */
static void new_session(const struct att_config *cfg, int ctl, uint32_t seq, pid_t *worker)
{
    int sv[2];
    end_worker(worker);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        att_ignore_err(att_keyd_send_fd(ctl, 1, seq, -1));
        return;
    }
    pid_t pid = fork();
    if (pid == 0) { /* single-threaded: the child may run on */
        close(ctl);
        close(sv[0]);
        _exit(att_keyd_worker_main(cfg, sv[1]));
    }
    close(sv[1]);
    *worker = pid > 0 ? pid : 0;
    att_ignore_err(att_keyd_send_fd(ctl, pid > 0 ? 0 : 1, seq, sv[0]));
    close(sv[0]);
}

/* Reap the children that exited: admin children are counted down; the worker is forgotten. */
static void reap(pid_t *worker, unsigned *admin_children)
{
    pid_t pid;
    while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {
        if (pid == *worker) {
            *worker = 0;
        } else if (*admin_children > 0) {
            (*admin_children)--;
        }
    }
}

int att_keyd_main(const struct att_config *cfg, int ctl)
{
    pid_t worker = 0;
    pid_t net_pid = getppid();
    int admin = att_admin_socket_inherited();
    unsigned admin_children = 0;
    if (!att_keyd_harden()) {
        return 1;
    }
    if (admin >= 0) {
        att_admin_socket_sweep(cfg);
    }
    for (;;) {
        struct pollfd fds[2] = {{ctl, POLLIN, 0}, {admin, POLLIN, 0}};
        if (poll(fds, admin >= 0 ? 2 : 1, 1000) < 0 && errno != EINTR) {
            break;
        }
        reap(&worker, &admin_children); /* before counting them for a new connection */
        if (admin >= 0 && (fds[1].revents & POLLIN) != 0) {
            att_admin_socket_accept(cfg, admin, net_pid, &admin_children);
        }
        if (fds[0].revents == 0) {
            continue;
        }
        uint8_t req[ATT_KEYD_CTL_LEN];
        ssize_t n = recv(ctl, req, sizeof(req), MSG_WAITALL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n != (ssize_t)sizeof(req) || req[0] != ATT_KEYD_NEW_SESSION) {
            break; /* the network process is gone, or speaks nonsense */
        }
        uint32_t seq =
            (uint32_t)req[1] << 24 | (uint32_t)req[2] << 16 | (uint32_t)req[3] << 8 | req[4];
        new_session(cfg, ctl, seq, &worker);
    }
    end_worker(&worker);
    close(ctl);
    return 0;
}
