/*
 * keyd.h - the key process: the only process of attestd that holds the key-encryption key,
 * the data keys and the private signing keys (docs/internals/key-process.md).
 *
 * With key_process = enabled (the default), attestd (the network process) starts its own binary
 * again, before it starts any thread and without ever reading the KEK, as the key supervisor
 * (supervisor.c): it holds no key, keeps the rights to read the KEK, and forks a key worker
 * (server.c) for each session the network process asks for. The worker reads the KEK, gives up
 * root, opens the store, makes the default provider and the access-token key when missing,
 * loads every signing key, sends READY (or, with error code, "step: why" as a bytes32), and
 * then answers a narrow table of requests; the network process sees signatures, sealed policy
 * texts and public keys only.
 *
 *   SIGN    kid, JWS signing input  -> the JOSE signature. Refused unless the protected header
 *           names this kid and its algorithm, and a "typ" its kind of key may sign ("JWT" for
 *           a provider's key; access tokens, audit checkpoints for the access-token key).
 *   SEAL    record id, policy text  -> the sealed blob (table policy_versions only)
 *   OPEN    record id, sealed blob  -> the policy text (table policy_versions only)
 *   UPKEEP  (nothing)               -> rotations and destructions done, whether keys changed
 *
 * Messages on a stream socket are framed u32 length | u32 id | u16 code | body, big-endian, at
 * most ATT_KEYD_MSG_MAX bytes after the length, and read with the bounded reader (proto.c); the
 * code is a request's op or an answer's error. The network process sends requests in batches
 * (client.c); the key process answers each in order, a batch's answers in one write.
 */
#ifndef ATT_KEYD_KEYD_H
#define ATT_KEYD_KEYD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/buf.h"
#include "core/err.h"
#include "provider/provider.h"

#define ATT_KEYD_MSG_MAX ((size_t)1 << 20) /* a policy text with its framing */
#define ATT_KEYD_FD 3                      /* the key process's end of the socketpair */
#define ATT_KEYD_TIMEOUT_MS 5000           /* an answer takes at most this long */
#define ATT_KEYD_EVENTS_MAX 64
#define ATT_KEYD_SIG_MAX 1024 /* a JOSE signature: 64 bytes for ES256, 256 for RS256 */

#define ATT_KEYD_NEW_SESSION 'N' /* the one request on the supervisor's control socket */

enum att_keyd_op {
    ATT_KEYD_READY = 0, /* the key process's first message: 0 = ready, else why not */
    ATT_KEYD_SIGN = 1,
    ATT_KEYD_SEAL = 2,
    ATT_KEYD_OPEN = 3,
    ATT_KEYD_UPKEEP = 4,
};

struct att_config;

/* The key supervisor (attestd --key-process; supervisor.c): start a key worker for each
 * session the network process asks for on the control socket `ctl`, until it closes it. */
int att_keyd_main(const struct att_config *cfg, int ctl);
/* A key worker (server.c): read the KEK, give up root, load the keys, serve requests on fd until
 * the network process closes its end. Returns the exit status. */
int att_keyd_worker_main(const struct att_config *cfg, int fd);
/* Not dumpable, no core dumps, killed with its parent; false when the parent is already gone. */
bool att_keyd_harden(void);

/* ---- the network process's side (client.c) ---- */

struct att_keyd;

/*
 * Start the key process: `argv` is attestd's own command line (the key process reads the same
 * configuration) run as /proc/self/exe with --key-process added. Waits for its READY message:
 * an error (with its message in `msg`) when it could not start. `admin_fd` (or -1): the admin
 * socket the supervisor serves (admin/serve.h); the caller keeps it open for restarts.
 */
att_err att_keyd_start(char *const *argv, int admin_fd, struct att_keyd **out, char *msg,
                       size_t n) ATT_WUR;
/* Close the socket (the key process exits) and reap it. Accepts NULL. */
void att_keyd_stop(struct att_keyd *k);
/*
 * The main thread's tick: when the key process died, start a new one (unless `restartable`
 * was false at start: a KEK from the environment cannot be read twice). Requests meanwhile
 * wait up to a second for it, then fail with ATT_ERR_KEYD_UNAVAILABLE.
 */
void att_keyd_tick(struct att_keyd *k);
pid_t att_keyd_pid(const struct att_keyd *k);
/* Whether a worker is there to answer (for /readyz; `arg` is the struct att_keyd). */
bool att_keyd_ready(void *arg);
void att_keyd_set_restartable(struct att_keyd *k, bool on);

att_err att_keyd_sign(struct att_keyd *k, const char *kid, const void *msg, size_t len,
                      struct att_buf *sig) ATT_WUR;
/*
 * The same, without waiting: `done` gets the signature (or the error, with NULL) exactly once,
 * on the pipeline thread - or at once on this one when the request cannot be queued. It must
 * not call into the key process. `kid` and `msg` are copied.
 */
void att_keyd_sign_async(struct att_keyd *k, const char *kid, const void *msg, size_t len,
                         att_signed_cb done, void *arg);
att_err att_keyd_seal(struct att_keyd *k, const char *record_id, const void *pt, size_t len,
                      struct att_buf *out) ATT_WUR;
att_err att_keyd_open(struct att_keyd *k, const char *record_id, const void *blob, size_t len,
                      struct att_buf *out) ATT_WUR;
/* One look at the signing keys, done by the worker with its own clock and configuration (a
 * network process cannot make it think the time is later or the settings other). */
att_err att_keyd_upkeep(struct att_keyd *k, att_key_event_cb cb, void *arg, bool *changed) ATT_WUR;

#endif
