/*
 * attestctl - administration tool for attestd, built only on include/att/.
 *
 *   attestctl [--config FILE] [--data-dir DIR] [--socket PATH | --direct] COMMAND ...
 *
 * The commands are the library's (att_admin_cli_run; `attestctl help` lists them). Those that
 * read or change attestd's state go to the running attestd through its admin socket
 * (att_admin_client_run) unless --direct is given or no attestd answers there; then they open
 * the store here, as attestd does.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "att/admin.h"

struct where {
    const char *config;
    const char *data_dir;
};

static int open_store(void *arg, struct att_admin **out, char *err, size_t err_len)
{
    const struct where *w = arg;
    return att_admin_open(w->config, w->data_dir, out, err, err_len);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"data-dir", required_argument, NULL, 'd'},
        {"socket", required_argument, NULL, 's'},
        {"direct", no_argument, NULL, 'D'},
        {"json", no_argument, NULL, 'j'},
        {"table", no_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct where w = {NULL, NULL};
    const char *socket_path = NULL;
    bool direct = false;
    struct att_admin_cli io = {stdout, stderr, isatty(STDOUT_FILENO) == 1, open_store, &w,
                               NULL,   NULL};
    int ch;
    /* '+': stop at the first non-option, so a command's options are left to the command. */
    while ((ch = getopt_long(argc, argv, "+c:d:hV", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': w.config = optarg; break;
        case 'd': w.data_dir = optarg; break;
        case 's': socket_path = optarg; break;
        case 'D': direct = true; break;
        case 'j': io.table = false; break;
        case 't': io.table = true; break;
        case 'h': att_admin_cli_help(stdout); return 0;
        case 'V': printf("attestctl %s\n", ATT_VERSION); return 0;
        default: fputs("attestctl help lists the commands and options\n", stderr); return 2;
        }
    }
    io.config_path = w.config;
    io.data_dir = w.data_dir;
    int n = argc - optind;
    char **args = argv + optind;
    if (!direct && att_admin_cli_kind(n, args) == ATT_ADMIN_CLI_STORE) {
        int rc = att_admin_client_run(w.config, w.data_dir, socket_path, io.table, n, args);
        if (rc != ATT_ADMIN_CLIENT_NO_DAEMON) {
            return rc;
        }
    }
    return att_admin_cli_run(NULL, &io, n, args);
}
