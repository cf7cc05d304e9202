/*
 * privdrop.h - giving up root (docs/operations.md "Running as a service user").
 *
 * attestd started as root does what needs root first - binding the listeners, reading the TLS
 * key, starting the key supervisor, which stays root to read the KEK for each key worker - and
 * then becomes the configured service user: its group and supplementary groups, then its user
 * id (real, effective and saved, so there is no way back), with no_new_privs, so that nothing it
 * might execute gains privileges, and no capabilities left.
 */
#ifndef ATT_SERVER_PRIVDROP_H
#define ATT_SERVER_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/err.h"

/*
 * Become `user` (when running as root), then set no_new_privs. `user` "" keeps who we are; not
 * root, `user` must be who we are. A failure says why in msg: attestd must not go on half
 * dropped. `dumpable`: let the process be dumped again (core_dumps = enabled), which a change of
 * user turns off.
 */
att_err att_privdrop(const char *user, bool dumpable, char *msg, size_t n) ATT_WUR;
/* The user's ids (msg: why not). */
att_err att_privdrop_ids(const char *user, uid_t *uid, gid_t *gid, char *msg, size_t n) ATT_WUR;

#endif
