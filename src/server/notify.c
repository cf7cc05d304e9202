/*
 * notify.c - the service manager's notification protocol (notify.h; sd_notify(3), systemd's
 * "Service Manager Notifications" and "Watchdog" in systemd.service(5)).
 *
 * Input: two environment variables set by the service manager: the socket's path (a file, or
 * '@' for Linux's abstract namespace) and the watchdog interval in microseconds.
 */
#include "server/notify.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/timeutil.h"

static struct sockaddr_un notify_addr;
static socklen_t notify_len;
static int64_t watchdog_ms;  /* the interval; 0: no watchdog */
static int64_t watchdog_due; /* att_time_mono_ms() of the next WATCHDOG=1 */

void att_notify_init(void)
{
    const char *path = getenv("NOTIFY_SOCKET");
    const char *usec = getenv("WATCHDOG_USEC");
    const char *pid = getenv("WATCHDOG_PID");
    size_t len = path != NULL ? strlen(path) : 0;
    if (len > 1 && len < sizeof(notify_addr.sun_path) && (path[0] == '/' || path[0] == '@')) {
        notify_addr.sun_family = AF_UNIX;
        memcpy(notify_addr.sun_path, path, len);
        if (path[0] == '@') {
            notify_addr.sun_path[0] = '\0'; /* abstract namespace */
        }
        notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    }
    /* The watchdog is ours unless WATCHDOG_PID names another process. */
    if (usec != NULL && (pid == NULL || strtoll(pid, NULL, 10) == (long long)getpid())) {
        long long v = strtoll(usec, NULL, 10);
        watchdog_ms = v > 0 ? v / 1000 : 0;
        watchdog_due = att_time_mono_ms();
    }
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
}

void att_notify(const char *state)
{
    if (notify_len == 0) {
        return;
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return;
    }
    /* A lost notification is the service manager's to time out on; nothing to do here. */
    (void)sendto(fd, state, strlen(state), MSG_NOSIGNAL, (const struct sockaddr *)&notify_addr,
                 notify_len);
    close(fd);
}

void att_notify_tick(void)
{
    int64_t now = att_time_mono_ms();
    if (watchdog_ms > 0 && now >= watchdog_due) {
        att_notify("WATCHDOG=1");
        watchdog_due = now + watchdog_ms / 2;
    }
}

void att_notify_reloading(void)
{
    struct timespec ts;
    char state[64];
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%lld",
             (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
    att_notify(state);
}
