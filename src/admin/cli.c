/*
 * cli.c - attestctl's command lines (include/att/admin.h, att_admin_cli_*): finding the
 * command, parsing its arguments against its row of the table (cli_commands.c), help, usage
 * errors, the audit records of changes, and printing answers as JSON or tables.
 *
 * Input: an operator's command line, from attestctl or from attestd's admin socket (whose
 * peer is checked before; src/server/admin_socket.c). Arguments are bounded by the table:
 * CLI_MAX_POS positionals, CLI_MAX_OPTS options.
 */
#include "admin/cli_int.h"

#include "admin/admin_int.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- finding the command ---- */

/* How many of argv's first words spell cmd->words (0: not this command). */
static int words_match(const struct cli_cmd *cmd, int argc, char **argv)
{
    const char *w = cmd->words;
    int i = 0;
    while (*w != '\0') {
        size_t len = strcspn(w, " ");
        if (i >= argc || strlen(argv[i]) != len || strncmp(argv[i], w, len) != 0) {
            return 0;
        }
        i++;
        w += len;
        w += *w == ' ';
    }
    return i;
}

/* The command argv names (the one with most words), and how many words name it. */
static const struct cli_cmd *find(int argc, char **argv, int *n_words)
{
    const struct cli_cmd *best = NULL;
    *n_words = 0;
    for (size_t i = 0; i < att_cli_n_commands; i++) {
        int n = words_match(&att_cli_commands[i], argc, argv);
        if (n > *n_words) {
            best = &att_cli_commands[i];
            *n_words = n;
        }
    }
    return best;
}

enum att_admin_cli_kind att_admin_cli_kind(int argc, char **argv)
{
    int n = 0;
    const struct cli_cmd *cmd = find(argc, argv, &n);
    return cmd == NULL  ? ATT_ADMIN_CLI_NONE
           : cmd->store ? ATT_ADMIN_CLI_STORE
                        : ATT_ADMIN_CLI_LOCAL;
}

bool att_admin_cli_changes(int argc, char **argv)
{
    int n = 0;
    const struct cli_cmd *cmd = find(argc, argv, &n);
    return cmd != NULL && cmd->audit != NULL;
}

/* ---- help ---- */

static void usage_line(FILE *f, const struct cli_cmd *cmd)
{
    fprintf(f, "usage: attestctl %s%s%s\n", cmd->words, cmd->synopsis[0] != '\0' ? " " : "",
            cmd->synopsis);
}

static void print_help(FILE *f, const struct cli_cmd *cmd)
{
    usage_line(f, cmd);
    fprintf(f, "\n%s\n", cmd->summary);
    if (cmd->help != NULL) {
        fprintf(f, "\n%s\n", cmd->help);
    }
    fprintf(f, "\n%s\n",
            cmd->store ? "Runs in attestd through its admin socket when attestd runs (see "
                         "attestctl help), else on the store directly."
                       : "Runs here; needs no running attestd.");
}

/* Every command whose first words are `prefix` (all for ""), one line each to f (may be
 * NULL: counted only). */
static size_t list_commands(FILE *f, const char *prefix)
{
    size_t n = 0;
    size_t len = strlen(prefix);
    for (size_t i = 0; i < att_cli_n_commands; i++) {
        const struct cli_cmd *cmd = &att_cli_commands[i];
        if (strncmp(cmd->words, prefix, len) == 0 &&
            (cmd->words[len] == '\0' || cmd->words[len] == ' ' || len == 0)) {
            if (f != NULL) {
                fprintf(f, "  %-30s %s\n", cmd->words, cmd->summary);
            }
            n++;
        }
    }
    return n;
}

void att_admin_cli_help(FILE *f)
{
    fputs("usage: attestctl [--config FILE] [--data-dir DIR] [--socket PATH | --direct]\n"
          "                 COMMAND [ARGS] [--json | --table]\n"
          "\ncommands:\n",
          f);
    list_commands(f, "");
    fputs("\n"
          "attestctl help COMMAND (or COMMAND --help) tells more of one.\n"
          "\n"
          "Commands that change or read attestd's state run inside the running attestd through\n"
          "its admin socket (admin_socket; root and members of admin_group may use it), and\n"
          "take effect at once. With --direct, when no attestd answers on the socket, or run\n"
          "as attestd's own user, they open the store itself, with the key-encryption key, as\n"
          "attestd does. Answers are tables on a terminal and JSON otherwise (--json, --table\n"
          "choose).\n"
          "Exit status: 0 done, 1 failed, 2 usage error, 3 audit trail broken.\n",
          f);
}

/* `help [WORDS...]` and `WORDS --help`. */
static int help(const struct att_admin_cli *io, int argc, char **argv)
{
    int n = 0;
    const struct cli_cmd *cmd = find(argc, argv, &n);
    if (argc == 0) {
        att_admin_cli_help(io->out);
        return 0;
    }
    if (cmd != NULL && n == argc) {
        print_help(io->out, cmd);
        return 0;
    }
    if (list_commands(io->out, argv[0]) > 0) {
        return 0;
    }
    fprintf(io->err, "attestctl help: no command '%s'; attestctl help lists them\n", argv[0]);
    return 2;
}

/* ---- parsing ---- */

/* The spec of option `name` in cmd->opts ("--name VALUE*"), or NULL; its length in *len. */
static const char *opt_spec(const struct cli_cmd *cmd, const char *name, size_t *len)
{
    size_t name_len = strlen(name);
    for (const char *s = cmd->opts; s != NULL && *s != '\0';) {
        size_t n = strcspn(s, "|");
        size_t word = strcspn(s, " |*");
        if (word == name_len && strncmp(s, name, name_len) == 0) {
            *len = n;
            return s;
        }
        s += n;
        s += *s == '|';
    }
    return NULL;
}

static bool spec_takes_value(const char *spec, size_t len)
{
    return memchr(spec, ' ', len) != NULL;
}

static bool spec_repeats(const char *spec, size_t len)
{
    return spec[len - 1] == '*';
}

static bool is_mark(char ch)
{
    return ch == '@' || ch == '>' || ch == '/';
}

/* The file mark ('@', '>', '/' or 0) of an option's value in its spec. */
static char value_mark(const char *spec, size_t len)
{
    const char *sp = memchr(spec, ' ', len);
    return sp != NULL && is_mark(sp[1]) ? sp[1] : 0;
}

/*
 * Whether `value` is one of the choices of a placeholder such as "on/off" (one without '/'
 * takes anything); otherwise a usage error naming them.
 */
static int check_choice(struct cli_call *c, const char *name, const char *spec, size_t len,
                        const char *value)
{
    const char *sp = memchr(spec, ' ', len);
    size_t plen = (size_t)(spec + len - sp - 1) - spec_repeats(spec, len);
    const char *choices = sp + 1;
    if (memchr(choices, '/', plen) == NULL) {
        return 0;
    }
    for (size_t at = 0; at < plen;) {
        size_t n = strcspn(choices + at, "/|* ");
        if (n == strlen(value) && strncmp(choices + at, value, n) == 0) {
            return 0;
        }
        at += n + 1;
    }
    char listed[128];
    snprintf(listed, sizeof(listed), "%.*s", (int)plen, choices);
    char *last = strrchr(listed, '/');
    for (char *p = strchr(listed, '/'); p != NULL && p != last; p = strchr(p, '/')) {
        *p = ',';
    }
    if (last != NULL) {
        *last = '\0';
    }
    return cli_usage(c, "%s must be %s or %s, not '%s'", name, listed, last + 1, value);
}

/* Positional spec word i: its start and length in *len, or NULL past the last. */
static const char *pos_spec(const struct cli_cmd *cmd, size_t i, size_t *len)
{
    const char *s = cmd->pos;
    for (size_t k = 0; *s != '\0'; k++) {
        size_t n = strcspn(s, " ");
        if (k == i) {
            *len = n;
            return s;
        }
        s += n;
        s += *s == ' ';
    }
    return NULL;
}

static size_t pos_required(const struct cli_cmd *cmd)
{
    size_t n = 0;
    size_t len = 0;
    for (const char *s; (s = pos_spec(cmd, n, &len)) != NULL && s[0] != '[';) {
        n++;
    }
    return n;
}

static size_t pos_max(const struct cli_cmd *cmd)
{
    size_t n = 0;
    size_t len = 0;
    while (pos_spec(cmd, n, &len) != NULL) {
        n++;
    }
    return n;
}

/* The name of positional i for messages: "NAME" of "[@NAME]". */
static void pos_name(const struct cli_cmd *cmd, size_t i, char *out, size_t out_len)
{
    size_t len = 0;
    const char *s = pos_spec(cmd, i, &len);
    size_t skip = 0;
    while (skip < len && (s[skip] == '[' || is_mark(s[skip]))) {
        skip++;
    }
    size_t end = len;
    while (end > skip && s[end - 1] == ']') {
        end--;
    }
    snprintf(out, out_len, "%.*s", (int)(end - skip), s + skip);
}

/*
 * Parse argv (after the command's words) into c, or print a usage error. Generic options:
 * --json and --table choose the format; --help prints the command's help (*helped).
 */
static int parse(struct cli_call *c, int argc, char **argv, bool *helped)
{
    const struct cli_cmd *cmd = c->cmd;
    *helped = false;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            *helped = true;
            return 0;
        }
        if (strcmp(arg, "--json") == 0 || strcmp(arg, "--table") == 0) {
            c->table = arg[2] == 't';
            continue;
        }
        if (arg[0] == '-' && arg[1] == '-') {
            size_t len = 0;
            const char *spec = opt_spec(cmd, arg, &len);
            if (spec == NULL) {
                return cli_usage(c, "unknown option %s", arg);
            }
            if (!spec_repeats(spec, len) && cli_opt(c, arg) != NULL) {
                return cli_usage(c, "%s given twice", arg);
            }
            const char *value = "";
            if (spec_takes_value(spec, len)) {
                if (i + 1 >= argc) {
                    const char *sp = memchr(spec, ' ', len);
                    int vlen = (int)(spec + len - sp - 1 - spec_repeats(spec, len));
                    return cli_usage(c, "%s needs a value (%.*s)", arg, vlen, sp + 1);
                }
                value = argv[++i];
                if (check_choice(c, arg, spec, len, value) != 0) {
                    return 2;
                }
            }
            if (c->n_opt == CLI_MAX_OPTS) {
                return cli_usage(c, "more than %d options", CLI_MAX_OPTS);
            }
            c->opt_name[c->n_opt] = arg;
            c->opt_value[c->n_opt++] = value;
            continue;
        }
        if (c->n_pos == pos_max(cmd)) {
            return cli_usage(c, "unexpected argument '%s'", arg);
        }
        c->pos[c->n_pos++] = arg;
    }
    if (c->n_pos < pos_required(cmd)) {
        char name[64];
        pos_name(cmd, c->n_pos, name, sizeof(name));
        return cli_usage(c, "missing %s", name);
    }
    return 0;
}

int att_admin_cli_file_args(int argc, char **argv, char *marks)
{
    int n_words = 0;
    const struct cli_cmd *cmd = find(argc, argv, &n_words);
    memset(marks, 0, (size_t)argc);
    if (cmd == NULL) {
        return -1;
    }
    size_t pos = 0;
    for (int i = n_words; i < argc; i++) {
        size_t len = 0;
        if (argv[i][0] == '-' && argv[i][1] == '-') {
            const char *spec = opt_spec(cmd, argv[i], &len);
            if (spec != NULL && spec_takes_value(spec, len) && i + 1 < argc) {
                marks[++i] = value_mark(spec, len);
            }
            continue;
        }
        const char *spec = pos_spec(cmd, pos++, &len);
        if (spec != NULL) {
            const char *w = spec[0] == '[' ? spec + 1 : spec;
            marks[i] = is_mark(*w) ? *w : 0;
        }
    }
    return 0;
}

/* ---- accessors ---- */

const char *cli_opt(const struct cli_call *c, const char *name)
{
    const char *found = NULL;
    for (size_t i = 0; i < c->n_opt; i++) {
        if (strcmp(c->opt_name[i], name) == 0) {
            found = c->opt_value[i];
        }
    }
    return found;
}

size_t cli_opts(const struct cli_call *c, const char *name, const char **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_opt && n < max; i++) {
        if (strcmp(c->opt_name[i], name) == 0) {
            out[n++] = c->opt_value[i];
        }
    }
    return n;
}

struct att_admin *cli_store(struct cli_call *c)
{
    if (c->a == NULL) {
        if (c->io->open == NULL) {
            snprintf(c->err, sizeof(c->err), "no store to open here");
            return NULL;
        }
        if (c->io->open(c->io->open_arg, &c->a, c->err, sizeof(c->err)) != 0) {
            return NULL;
        }
        c->own_a = true;
    }
    att_admin_set_warnings(c->a, c->io->err);
    if (c->cmd->audit != NULL && !c->recorded) {
        if (att_admin_audit_begin(c->a, c->cmd->audit, (const char *const *)c->argv,
                                  (size_t)c->argc, c->err, sizeof(c->err)) != 0) {
            return NULL;
        }
        c->recorded = true;
    }
    return c->a;
}

const char *cli_pos(const struct cli_call *c, size_t i)
{
    return i < c->n_pos ? c->pos[i] : NULL;
}

/* ---- answers ---- */

int cli_usage(struct cli_call *c, const char *fmt, ...)
{
    va_list ap;
    fprintf(c->io->err, "attestctl %s: ", c->cmd->words);
    va_start(ap, fmt);
    vfprintf(c->io->err, fmt, ap);
    va_end(ap);
    fputc('\n', c->io->err);
    usage_line(c->io->err, c->cmd);
    return 2;
}

int cli_fail(struct cli_call *c, const char *message)
{
    if (c->evidence_errors) {
        fprintf(c->io->err, "error: %s\n", message);
    } else {
        fprintf(c->io->err, "attestctl %s: %s\n", c->cmd->words, message);
    }
    return 1;
}

/* A scalar cell: strings as they are, null as "-", numbers and booleans as JSON has them. */
static void print_cell(FILE *f, json_t *v, int width)
{
    char *text = NULL;
    const char *s = "-";
    if (json_is_string(v)) {
        s = json_string_value(v);
    } else if (v != NULL && !json_is_null(v)) {
        text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        s = text != NULL ? text : "?";
    }
    fprintf(f, "%-*s", width, s);
    free(text);
}

static int cell_width(json_t *v)
{
    if (json_is_string(v)) {
        return (int)json_string_length(v);
    }
    if (v == NULL || json_is_null(v)) {
        return 1;
    }
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    int n = text != NULL ? (int)strlen(text) : 1;
    free(text);
    return n;
}

/* An array of objects as a table: one column per member (in order of first appearance). */
static void print_table(FILE *f, json_t *rows, const char *indent)
{
    json_t *cols = json_object(); /* name -> width */
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *k;
        json_t *v;
        json_object_foreach(row, k, v)
        {
            int w = cell_width(v);
            json_int_t have = json_integer_value(json_object_get(cols, k));
            json_int_t need = w > (int)strlen(k) ? w : (json_int_t)strlen(k);
            json_object_set_new(cols, k, json_integer(need > have ? need : have));
        }
    }
    const char *k;
    json_t *w;
    fputs(indent, f);
    json_object_foreach(cols, k, w)
    {
        fprintf(f, "%-*s  ", (int)json_integer_value(w), k);
    }
    fputc('\n', f);
    json_array_foreach(rows, i, row)
    {
        fputs(indent, f);
        json_object_foreach(cols, k, w)
        {
            print_cell(f, json_object_get(row, k), (int)json_integer_value(w));
            fputs("  ", f);
        }
        fputc('\n', f);
    }
    json_decref(cols);
}

static bool is_table(json_t *v)
{
    size_t i;
    json_t *row;
    if (!json_is_array(v) || json_array_size(v) == 0) {
        return false;
    }
    json_array_foreach(v, i, row)
    {
        if (!json_is_object(row)) {
            return false;
        }
    }
    return true;
}

/* An object as "name  value" lines; members that are lists of objects as tables below. */
static void print_object(FILE *f, json_t *obj)
{
    const char *k;
    json_t *v;
    int width = 0;
    json_object_foreach(obj, k, v)
    {
        width = (int)strlen(k) > width ? (int)strlen(k) : width;
    }
    json_object_foreach(obj, k, v)
    {
        if (!is_table(v)) {
            fprintf(f, "%-*s  ", width, k);
            print_cell(f, v, 0);
            fputc('\n', f);
        }
    }
    json_object_foreach(obj, k, v)
    {
        if (is_table(v)) {
            fprintf(f, "\n%s:\n", k);
            print_table(f, v, "  ");
        }
    }
}

static void print_answer(FILE *f, const char *json, bool table)
{
    json_t *doc = table ? json_loads(json, 0, NULL) : NULL;
    if (is_table(doc)) {
        print_table(f, doc, "");
    } else if (json_is_object(doc)) {
        print_object(f, doc);
    } else if (json_is_array(doc) && json_array_size(doc) == 0) {
        fputs("(none)\n", f);
    } else {
        fprintf(f, "%s\n", json);
    }
    json_decref(doc);
}

int cli_json(struct cli_call *c, int rc, char *json)
{
    if (rc != 0) {
        att_admin_free_string(json);
        return cli_fail(c, c->err);
    }
    print_answer(c->io->out, json, c->table);
    att_admin_free_string(json);
    return 0;
}

int cli_text(struct cli_call *c, int rc, char *text)
{
    if (rc != 0) {
        att_admin_free_string(text);
        return cli_fail(c, c->err);
    }
    size_t len = strlen(text);
    fprintf(c->io->out, "%s%s", text, len > 0 && text[len - 1] == '\n' ? "" : "\n");
    att_admin_free_string(text);
    return 0;
}

int cli_done(struct cli_call *c, int rc, const char *message)
{
    if (rc != 0) {
        return cli_fail(c, c->err);
    }
    fprintf(c->io->out, "%s\n", message);
    return 0;
}

int cli_number(struct cli_call *c, const char *what, const char *text, long long min, long long max,
               long long *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    /* digits only: no sign, no space, nothing strtoll would clamp */
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno == ERANGE || v < min || v > max) {
        return cli_usage(c, "%s must be a whole number from %lld to %lld, not '%s'", what, min, max,
                         text);
    }
    *out = v;
    return 0;
}

/* ---- running ---- */

/* No command matched: a group without its command ("provider"), or nothing known. */
static int unknown(const struct att_admin_cli *io, int argc, char **argv)
{
    if (argc == 0) {
        att_admin_cli_help(io->err);
        return 2;
    }
    bool group = list_commands(NULL, argv[0]) > 0;
    if (group && argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        list_commands(io->out, argv[0]);
        return 0;
    }
    if (!group) {
        fprintf(io->err, "attestctl: unknown command '%s'; attestctl help lists them\n", argv[0]);
        return 2;
    }
    if (argc == 1) {
        fprintf(io->err, "attestctl %s: missing a command, one of:\n", argv[0]);
    } else {
        fprintf(io->err, "attestctl %s: unknown command '%s', not one of:\n", argv[0], argv[1]);
    }
    list_commands(io->err, argv[0]);
    return 2;
}

int att_admin_cli_run(struct att_admin *a, const struct att_admin_cli *io, int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "help") == 0) {
        return help(io, argc - 1, argv + 1);
    }
    int n_words = 0;
    const struct cli_cmd *cmd = find(argc, argv, &n_words);
    if (cmd == NULL) {
        return unknown(io, argc, argv);
    }
    struct cli_call *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        fputs("attestctl: out of memory\n", io->err);
        return 1;
    }
    c->cmd = cmd;
    c->a = a;
    c->io = io;
    c->table = io->table;
    c->argc = argc;
    c->argv = argv;
    bool helped = false;
    int rc = parse(c, argc - n_words, argv + n_words, &helped);
    if (helped) {
        print_help(io->out, cmd);
    } else if (rc == 0) {
        rc = cmd->run(c);
    }
    if (c->recorded) { /* the outcome of the change recorded as attempted */
        char why[32];
        snprintf(why, sizeof(why), "exit status %d", rc);
        att_admin_audit_end(c->a, cmd->audit, rc, rc == 0 ? NULL : why);
    }
    if (c->a != NULL) {
        att_admin_set_warnings(c->a, NULL); /* io->err may not outlive the call */
    }
    if (c->own_a) {
        att_admin_close(c->a);
    }
    free(c);
    return rc;
}
