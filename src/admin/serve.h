/*
 * serve.h - attestd's admin socket (docs/internals/admin-socket.md): attestctl's store
 * commands, run inside the service, for local peers the kernel vouches for.
 *
 * The network process binds the socket while it is still root and hands it to the key
 * supervisor, which stays root: for each connection from root or a member of admin_group
 * (SO_PEERCRED, SO_PEERGROUPS; not attestd's own user), it forks a child that reads the request,
 * reads the KEK, gives up root, runs the command on the store (src/admin/cli.c), answers, and -
 * after a change - has the network process apply it (SIGUSR1, confirmed by SIGUSR2) before it
 * answers.
 */
#ifndef ATT_ADMIN_SERVE_H
#define ATT_ADMIN_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/err.h"
#include "server/config.h"

/* Where the supervisor finds the listening socket (after its control socket, ATT_KEYD_FD). */
#define ATT_ADMIN_SOCKET_FD 4
/* Connections served at once; more are closed at once (and logged). */
#define ATT_ADMIN_MAX_CHILDREN 4

/*
 * Bind cfg->admin_socket (mode 0660, owned by `user` and admin_group) and listen; *fd is -1
 * for "none", and (with a warning logged) when another attestd answers on it. A socket file
 * left by an attestd that is gone is replaced. The descriptor is at least 10 and
 * close-on-exec.
 */
att_err att_admin_socket_bind(const struct att_config *cfg, int *fd, char *msg, size_t n) ATT_WUR;

/* The inherited listening socket at ATT_ADMIN_SOCKET_FD, or -1 when there is none. */
int att_admin_socket_inherited(void);

/*
 * The supervisor's side: accept one connection on `listen_fd` and fork a child to serve it -
 * or, for a peer not allowed to administer attestd, to tell it so (counted in *children, which
 * the caller decrements as it reaps them). `net_pid` is the network process, told to apply
 * changes.
 */
void att_admin_socket_accept(const struct att_config *cfg, int listen_fd, pid_t net_pid,
                             unsigned *children);

/* Remove what commands left in <data_dir>/.admin-* (a crash, the time limit): the supervisor,
 * at its start. */
void att_admin_socket_sweep(const struct att_config *cfg);

#endif
