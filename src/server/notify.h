/*
 * notify.h - telling the service manager how attestd is doing: systemd's notification
 * protocol (sd_notify(3): datagrams such as "READY=1" to the socket named by $NOTIFY_SOCKET)
 * and its watchdog ($WATCHDOG_USEC), without linking libsystemd. Without $NOTIFY_SOCKET
 * (a manual start, another service manager) every call does nothing.
 */
#ifndef ATT_SERVER_NOTIFY_H
#define ATT_SERVER_NOTIFY_H

#include <stdint.h>

/* Read and clear $NOTIFY_SOCKET and $WATCHDOG_USEC, so that no child process inherits them:
 * only attestd's own process speaks for the service. Call before starting any process. */
void att_notify_init(void);

/* Send `state` ("READY=1", "RELOADING=1\nMONOTONIC_USEC=...", "STOPPING=1", ...). */
void att_notify(const char *state);

/* Once a second from the main loop: "WATCHDOG=1" at half the watchdog interval. */
void att_notify_tick(void);

/* The reload protocol of Type=notify-reload: RELOADING=1 with the monotonic clock. */
void att_notify_reloading(void);

#endif
