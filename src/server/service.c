/*
 * service.c - attestd and what runs it: the PID file for signals, and the admin socket's
 * changes applied in this process (SIGUSR1 from a command's process, src/admin/serve.h).
 */
#include "server/daemon_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "core/log.h"
#include "keyd/keyd.h"

/* Whether `pid` is a child of the key supervisor: an admin socket command (admin/serve.h). */
static bool from_admin_command(const struct daemon *d, pid_t pid)
{
    char path[64];
    char stat[512];
    snprintf(path, sizeof(path), "/proc/%lld/stat", (long long)pid);
    FILE *f = fopen(path, "r");
    size_t n = f != NULL ? fread(stat, 1, sizeof(stat) - 1, f) : 0;
    if (f != NULL) {
        fclose(f);
    }
    stat[n] = '\0';
    /* "pid (comm) state ppid ...": comm may hold anything, so read after its last ')' */
    const char *end = strrchr(stat, ')');
    long long ppid = 0;
    return d->keyd != NULL && end != NULL && sscanf(end + 1, " %*c %lld", &ppid) == 1 &&
           ppid == (long long)att_keyd_pid(d->keyd);
}

/*
 * A command on the admin socket changed the store (admin/serve.h): load the providers and keys
 * again, then tell the sender - the command's process, which waits to answer its peer until
 * the change is in force. Only a command's process is heeded and answered: SIGUSR2 ends a
 * process that does not expect it (a shell that sent SIGUSR1 by hand, say).
 */
void att_daemon_apply_change(struct daemon *d, const siginfo_t *info)
{
    if (info->si_code != SI_USER || !from_admin_command(d, info->si_pid)) {
        att_log(ATT_LOG_WARN, "ignored a SIGUSR1 that came from no admin command", "pid",
                json_integer(info->si_pid), NULL);
        return;
    }
    att_err rc = att_daemon_install_providers(d, NULL);
    if (rc == ATT_OK) {
        att_log(ATT_LOG_INFO, "applied an admin change", "pid", json_integer(info->si_pid), NULL);
        (void)kill(info->si_pid, SIGUSR2);
    } else {
        att_log(ATT_LOG_ERROR, "cannot apply an admin change; keeping the old providers", "error",
                json_string(att_err_name(rc)), NULL);
    }
}

/* pid_file: this process's id, for signals (`kill -HUP $(cat FILE)`); 1 when it cannot. */
static bool pid_file_written;

int att_daemon_write_pid_file(const struct att_config *cfg)
{
    char text[32];
    if (cfg->pid_file[0] == '\0') {
        return 0;
    }
    int n = snprintf(text, sizeof(text), "%lld\n", (long long)getpid());
    int fd = open(cfg->pid_file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    att_err rc = fd >= 0 ? att_file_write_all(fd, text, (size_t)n) : ATT_ERR_IO;
    if ((fd >= 0 && close(fd) != 0) || rc != ATT_OK) {
        char msg[1200];
        snprintf(msg, sizeof(msg), "%s: %s", cfg->pid_file, strerror(errno));
        return att_daemon_startup_error("pid_file", msg);
    }
    pid_file_written = true;
    return 0;
}

void att_daemon_remove_pid_file(const struct att_config *cfg)
{
    if (pid_file_written) {
        (void)unlink(cfg->pid_file);
    }
}
