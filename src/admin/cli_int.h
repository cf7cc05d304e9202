/*
 * cli_int.h - attestctl's command table and what its handlers share (cli.c, cli_commands.c).
 *
 * Every command is one row of the table: its words, the arguments it takes, the help people
 * read, the audit action of a change, and whether it needs the store. cli.c parses a command
 * line against the row (the same parse for attestctl and for attestd's admin socket), prints
 * help and usage errors from it, and prints the answer as JSON or as a table.
 */
#ifndef ATT_ADMIN_CLI_INT_H
#define ATT_ADMIN_CLI_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "att/admin.h"

#define CLI_MAX_POS 6
#define CLI_MAX_OPTS 80

struct cli_call;

struct cli_cmd {
    const char *words;    /* "provider create" */
    const char *synopsis; /* what follows the words in a usage line */
    const char *summary;  /* one line, for `attestctl help` */
    const char *help;     /* more (NULL: the summary says it all) */
    /*
     * Positional arguments, space separated: NAME (required), [NAME] (optional); a leading '@'
     * marks a file the command reads, '>' one it writes, '/' a directory it writes files into
     * (the admin socket carries their bytes).
     */
    const char *pos;
    /* Options, '|' separated: "--flag" (a switch) or "--flag VALUE" ('@' and '>' as above;
     * VALUE "a/b" admits only a or b); a trailing '*' lets it repeat. */
    const char *opts;
    const char *audit; /* the audit action of a store change, or NULL for a read */
    bool store;        /* runs against the store (locally, or in attestd by its admin socket) */
    int (*run)(struct cli_call *c);
};

/* One parsed command line. */
struct cli_call {
    const struct cli_cmd *cmd;
    struct att_admin *a; /* NULL for commands that do not need the store */
    bool own_a;          /* opened by cli_store(), closed at the end */
    bool recorded;       /* the attempt of a change is in the audit trail: its outcome follows */
    const struct att_admin_cli *io;
    int argc; /* the whole command line, for the audit record */
    char **argv;
    bool table;
    /* Failures print as "error: ATT_ERR_...: why", the form scripts parse from verify and
     * inspect (docs/verification.md), not "attestctl WORDS: why". */
    bool evidence_errors;
    const char *pos[CLI_MAX_POS];
    size_t n_pos;
    const char *opt_name[CLI_MAX_OPTS]; /* in command-line order; switches have value "" */
    const char *opt_value[CLI_MAX_OPTS];
    size_t n_opt;
    char err[1024];
};

extern const struct cli_cmd att_cli_commands[];
extern const size_t att_cli_n_commands;

/* The last value of option `name`, "" for a given switch, NULL when absent. */
const char *cli_opt(const struct cli_call *c, const char *name);
/* Every value of a repeatable option, in order; their count (at most max). */
size_t cli_opts(const struct cli_call *c, const char *name, const char **out, size_t max);
/*
 * The store, opened now through io->open if need be; for a change, the attempt is recorded in
 * the audit trail first (nothing is changed when that fails). Handlers call it once their
 * arguments are checked, so a usage error needs no store. NULL with c->err written when it
 * cannot be had.
 */
struct att_admin *cli_store(struct cli_call *c);
/* Positional argument i, or NULL. */
const char *cli_pos(const struct cli_call *c, size_t i);

/* A usage error: "attestctl WORDS: message" and the usage line; returns 2. */
int cli_usage(struct cli_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A failure: "attestctl WORDS: message"; returns 1. */
int cli_fail(struct cli_call *c, const char *message);
/* The answer of a library call that returned rc and JSON text (freed here): printed as JSON or
 * a table; or c->err. Returns the exit status. */
int cli_json(struct cli_call *c, int rc, char *json);
/* Text printed as it is (freed here), or c->err. */
int cli_text(struct cli_call *c, int rc, char *text);
/* A one-line message on success, or c->err. */
int cli_done(struct cli_call *c, int rc, const char *message);
/* A whole number in [min, max]; otherwise a usage error (2) naming what. */
int cli_number(struct cli_call *c, const char *what, const char *text, long long min, long long max,
               long long *out);

#endif
