/*
 * privdrop.c - giving up root (privdrop.h).
 *
 * The order is the one setuid(2), setgroups(2) and credentials(7) require: groups while still
 * root, then the user ids; then a check that root cannot be taken back.
 */
#include "server/privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

att_err att_privdrop_ids(const char *user, uid_t *uid, gid_t *gid, char *msg, size_t n)
{
    struct passwd pw;
    struct passwd *found = NULL;
    char text[4096];
    int rc = getpwnam_r(user, &pw, text, sizeof(text), &found);
    if (found == NULL) {
        snprintf(msg, n, "user %s: %s", user, rc != 0 ? strerror(rc) : "no such user");
        return ATT_ERR_CONFIG;
    }
    *uid = pw.pw_uid;
    *gid = pw.pw_gid;
    return ATT_OK;
}

static att_err become(const char *user, uid_t uid, gid_t gid, char *msg, size_t n)
{
    if (initgroups(user, gid) != 0 || setresgid(gid, gid, gid) != 0 ||
        setresuid(uid, uid, uid) != 0) {
        snprintf(msg, n, "cannot become user %s: %s", user, strerror(errno));
        return ATT_ERR_PERM;
    }
    if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
        snprintf(msg, n, "became user %s but could take root back", user);
        return ATT_ERR_PERM;
    }
    return ATT_OK;
}

att_err att_privdrop(const char *user, bool dumpable, char *msg, size_t n)
{
    msg[0] = 0;
    if (user[0] != 0) {
        uid_t uid;
        gid_t gid;
        ATT_TRY(att_privdrop_ids(user, &uid, &gid, msg, n));
        if (geteuid() == 0) {
            ATT_TRY(become(user, uid, gid, msg, n));
        } else if (geteuid() != uid) {
            snprintf(msg, n, "user %s: attestd runs as uid %u; only root can change user", user,
                     (unsigned)geteuid());
            return ATT_ERR_CONFIG;
        }
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        snprintf(msg, n, "no_new_privs: %s", strerror(errno));
        return ATT_ERR_PERM;
    }
    /* A change of user makes the process undumpable; core_dumps = enabled asks otherwise. */
    if (dumpable && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0) {
        snprintf(msg, n, "dumpable: %s", strerror(errno));
        return ATT_ERR_PERM;
    }
    return ATT_OK;
}
