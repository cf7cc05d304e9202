/*
 * main.c - the attestd command line.
 *
 *   attestd [--config FILE] [--listen ADDR:PORT]... [--data-dir DIR]
 *
 * Precedence: built-in defaults < config file < flags.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "server/config.h"
#include "keyd/keyd.h"
#include "server/daemon.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: attestd [--config FILE] [--listen ADDR:PORT]... [--data-dir DIR]\n"
               "\n"
               "A self-hosted remote attestation service, API-compatible with Microsoft Azure\n"
               "Attestation. With no options it listens on https://127.0.0.1:8443 only.\n"
               "\n"
               "  -c, --config FILE      read settings from FILE (docs/config.md)\n"
               "  -l, --listen ADDR:PORT listen here instead (repeatable; IPv6 as [ADDR]:PORT)\n"
               "  -d, --data-dir DIR     keep state under DIR (database, TLS files, key file)\n"
               "  -h, --help             show this help\n"
               "  -V, --version          show the version\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"listen", required_argument, NULL, 'l'},
        {"data-dir", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"key-process", no_argument, NULL, 'K'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL;
    const char *data_dir = NULL;
    const char *listen[ATT_CONFIG_MAX_LISTEN];
    size_t n_listen = 0;
    bool key_process = false; /* started by attestd itself as its key process (src/keyd) */
    int ch;

    while ((ch = getopt_long(argc, argv, "c:l:d:hV", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': config_path = optarg; break;
        case 'l':
            if (n_listen == ATT_CONFIG_MAX_LISTEN) {
                fprintf(stderr, "attestd: at most %d --listen addresses\n", ATT_CONFIG_MAX_LISTEN);
                return 2;
            }
            listen[n_listen++] = optarg;
            break;
        case 'd': data_dir = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("attestd %s\n", ATT_VERSION); return 0;
        case 'K': key_process = true; break;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "attestd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }

    struct att_config cfg;
    char msg[1024];
    att_config_defaults(&cfg);
    if (config_path != NULL &&
        att_config_load_file(&cfg, config_path, msg, sizeof(msg)) != ATT_OK) {
        fprintf(stderr, "attestd: %s\n", msg);
        return 2;
    }
    if (n_listen > 0) {
        cfg.n_listen = 0;
    }
    for (size_t i = 0; i < n_listen; i++) {
        if (att_config_set(&cfg, "listen", listen[i], msg, sizeof(msg)) != ATT_OK) {
            fprintf(stderr, "attestd: --listen: %s\n", msg);
            return 2;
        }
    }
    if (data_dir != NULL &&
        att_config_set(&cfg, "data_dir", data_dir, msg, sizeof(msg)) != ATT_OK) {
        fprintf(stderr, "attestd: --data-dir: %s\n", msg);
        return 2;
    }
    if (att_config_finish(&cfg, msg, sizeof(msg)) != ATT_OK) {
        fprintf(stderr, "attestd: %s\n", msg);
        return 2;
    }
    if (key_process) { /* it logs where attestd does */
        return att_daemon_open_log(&cfg) != 0 ? 1 : att_keyd_main(&cfg, ATT_KEYD_FD);
    }
    return att_daemon_run(&cfg, argv);
}
