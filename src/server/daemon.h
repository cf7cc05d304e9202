/*
 * daemon.h - attestd's process: wire the modules together and run until
 * SIGTERM. SIGHUP reloads the TLS certificate and the provider set without
 * dropping connections.
 */
#ifndef ATT_SERVER_DAEMON_H
#define ATT_SERVER_DAEMON_H

#include "server/config.h"

/* Run the service; returns the process exit code (0 after a clean drain). */
int att_daemon_run(const struct att_config *cfg);

#endif
