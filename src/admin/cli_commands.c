/*
 * cli_commands.c - attestctl's commands: the table (cli_int.h) and a handler for each, which
 * checks what the parse cannot (choices between options, numbers) and calls the library.
 */
#include "admin/cli_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ON_OFF "on/off" /* a choice the parser checks */

/* ---- handlers that pass the store to one library call ---- */

/* The JSON answer of fn(store). */
static int store_json(struct cli_call *c, int (*fn)(struct att_admin *, char **, char *, size_t))
{
    char *json = NULL;
    if (cli_store(c) == NULL) {
        return cli_fail(c, c->err);
    }
    int rc = fn(c->a, &json, c->err, sizeof(c->err));
    return cli_json(c, rc, json);
}

/* The JSON answer of fn(store, NAME). */
static int store_json_name(struct cli_call *c,
                           int (*fn)(struct att_admin *, const char *, char **, char *, size_t))
{
    char *json = NULL;
    if (cli_store(c) == NULL) {
        return cli_fail(c, c->err);
    }
    int rc = fn(c->a, cli_pos(c, 0), &json, c->err, sizeof(c->err));
    return cli_json(c, rc, json);
}

/* "ok" after fn(store, NAME). */
static int store_ok_name(struct cli_call *c,
                         int (*fn)(struct att_admin *, const char *, char *, size_t))
{
    if (cli_store(c) == NULL) {
        return cli_fail(c, c->err);
    }
    return cli_done(c, fn(c->a, cli_pos(c, 0), c->err, sizeof(c->err)), "ok");
}

/* ---- providers ---- */

static int provider_create(struct cli_call *c)
{
    const char *signers[64];
    size_t n_signers = cli_opts(c, "--signer", signers, 64);
    bool isolated = cli_opt(c, "--isolated") != NULL;
    if (isolated != (n_signers > 0)) {
        return cli_usage(c, "--isolated needs at least one --signer CERT.pem, and --signer "
                            "needs --isolated");
    }
    if (cli_store(c) == NULL) {
        return cli_fail(c, c->err);
    }
    char *json = NULL;
    int rc =
        att_admin_provider_create(c->a, cli_pos(c, 0), cli_opt(c, "--issuer"), cli_opt(c, "--alg"),
                                  signers, n_signers, &json, c->err, sizeof(c->err));
    return cli_json(c, rc, json);
}

static int provider_list(struct cli_call *c)
{
    return store_json(c, att_admin_provider_list);
}

static int provider_show(struct cli_call *c)
{
    return store_json_name(c, att_admin_provider_show);
}

/* One setting of `provider set`: its library call; the answer shows the provider. */
static int provider_set_one(struct cli_call *c, const char *name, const char *value, char **json)
{
    if (cli_store(c) == NULL) {
        return 1; /* c->err says why */
    }
    struct att_admin *a = c->a;
    const char *p = cli_pos(c, 0);
    char *e = c->err;
    size_t n = sizeof(c->err);
    bool on = strcmp(value, "on") == 0; /* on/off: the parser checked */
    if (strcmp(name, "--collateral-grace") == 0) {
        return att_admin_provider_set_collateral_grace(a, p, value, json, e, n);
    }
    if (strcmp(name, "--policy-history-keep") == 0) {
        return att_admin_provider_set_policy_history_keep(a, p, value, json, e, n);
    }
    if (strcmp(name, "--issuer") == 0) {
        return att_admin_provider_set_issuer(a, p, value, json, e, n);
    }
    if (strcmp(name, "--attest-requires-auth") == 0) {
        return att_admin_provider_set_attest_requires_auth(a, p, on, json, e, n);
    }
    if (strcmp(name, "--require-bound-requests") == 0) {
        return att_admin_provider_set_require_bound_requests(a, p, on, json, e, n);
    }
    return att_admin_provider_set_audit_fail_open(a, p, on, json, e, n);
}

static int provider_set(struct cli_call *c)
{
    if (c->n_opt == 0) {
        return cli_usage(c, "nothing to set");
    }
    char *json = NULL;
    int rc = 0;
    for (size_t i = 0; i < c->n_opt && rc == 0; i++) {
        att_admin_free_string(json);
        json = NULL;
        rc = provider_set_one(c, c->opt_name[i], c->opt_value[i], &json);
    }
    return cli_json(c, rc, json);
}

static int provider_rotate_key(struct cli_call *c)
{
    char *json = NULL;
    if (cli_store(c) == NULL) {
        return cli_fail(c, c->err);
    }
    int rc = att_admin_provider_rotate_key(c->a, cli_pos(c, 0), cli_opt(c, "--lead"), &json, c->err,
                                           sizeof(c->err));
    return cli_json(c, rc, json);
}

static int provider_delete(struct cli_call *c)
{
    char msg[128];
    snprintf(msg, sizeof(msg), "deleted provider %s", cli_pos(c, 0));
    if (cli_store(c) == NULL) {
        return cli_fail(c, c->err);
    }
    return cli_done(c, att_admin_provider_delete(c->a, cli_pos(c, 0), c->err, sizeof(c->err)), msg);
}

/* ---- key-encryption key ---- */

static int kek_generate(struct cli_call *c)
{
    const char *file = cli_pos(c, 0);
    const char *uri = cli_opt(c, "--pkcs11");
    if ((file == NULL) == (uri == NULL)) {
        return cli_usage(c, "give FILE or --pkcs11 URI");
    }
    char msg[600];
    if (uri != NULL) {
        char id[17];
        int rc = att_admin_kek_generate_pkcs11(uri, id, c->err, sizeof(c->err));
        snprintf(msg, sizeof(msg),
                 "made a new key-encryption key in the token (kek id %s); set kek_pkcs11 to its "
                 "URI",
                 rc == 0 ? id : "");
        return cli_done(c, rc, msg);
    }
    snprintf(msg, sizeof(msg), "wrote a new key-encryption key to %s (mode 0600)", file);
    return cli_done(c, att_admin_kek_generate(file, c->err, sizeof(c->err)), msg);
}

static int kek_rotate(struct cli_call *c)
{
    const char *file = cli_opt(c, "--new-kek-file");
    const char *uri = cli_opt(c, "--new-kek-pkcs11");
    if ((file == NULL) == (uri == NULL)) {
        return cli_usage(c, "give --new-kek-file FILE or --new-kek-pkcs11 URI");
    }
    size_t count = 0;
    if (cli_store(c) == NULL) {
        return cli_fail(c, c->err);
    }
    int rc = att_admin_kek_rotate(c->a, file, uri, &count, c->err, sizeof(c->err));
    char msg[256];
    snprintf(msg, sizeof(msg),
             "rewrapped %zu data key(s) under the new key\n"
             "now point %s at it and restart attestd",
             count, file != NULL ? "kek_file" : "kek_pkcs11");
    return cli_done(c, rc, msg);
}

/* ---- principals ---- */

static int secret_days(struct cli_call *c, int *days)
{
    const char *text = cli_opt(c, "--secret-days");
    long long v = 180;
    if (text != NULL && cli_number(c, "--secret-days (0: no expiry)", text, 0, 3650, &v) != 0) {
        return 2;
    }
    *days = (int)v;
    return 0;
}

/* principal create NAME and principal secret add NAME: a secret, printed once. */
static int principal_new_secret(struct cli_call *c)
{
    int (*fn)(struct att_admin *, const char *, int, char **, char *, size_t) =
        strcmp(c->cmd->words, "principal create") == 0 ? att_admin_principal_create
                                                       : att_admin_secret_add;
    int days = 0;
    char *json = NULL;
    if (secret_days(c, &days) != 0) {
        return 2;
    }
    if (cli_store(c) == NULL) {
        return cli_fail(c, c->err);
    }
    int rc = fn(c->a, cli_pos(c, 0), days, &json, c->err, sizeof(c->err));
    return cli_json(c, rc, json);
}

static int principal_list(struct cli_call *c)
{
    return store_json(c, att_admin_principal_list);
}

static int principal_show(struct cli_call *c)
{
    return store_json_name(c, att_admin_principal_show);
}

static int principal_disable(struct cli_call *c)
{
    bool disable = strcmp(c->cmd->words, "principal disable") == 0;
    if (cli_store(c) == NULL) {
        return cli_fail(c, c->err);
    }
    return cli_done(
        c, att_admin_principal_set_disabled(c->a, cli_pos(c, 0), disable, c->err, sizeof(c->err)),
        "ok");
}

static int principal_delete(struct cli_call *c)
{
    return store_ok_name(c, att_admin_principal_delete);
}

static int principal_cert(struct cli_call *c)
{
    const char *pem = cli_pos(c, 1);
    if ((pem == NULL) == (cli_opt(c, "--clear") == NULL)) {
        return cli_usage(c, "give CERT.pem or --clear");
    }
    if (cli_store(c) == NULL) {
        return cli_fail(c, c->err);
    }
    return cli_done(
        c, att_admin_principal_set_cert(c->a, cli_pos(c, 0), pem, c->err, sizeof(c->err)), "ok");
}

static int secret_revoke(struct cli_call *c)
{
    if (cli_store(c) == NULL) {
        return cli_fail(c, c->err);
    }
    return cli_done(
        c, att_admin_secret_revoke(c->a, cli_pos(c, 0), cli_pos(c, 1), c->err, sizeof(c->err)),
        "ok");
}

/* ---- roles ---- */

static int role_assign(struct cli_call *c)
{
    char *json = NULL;
    if (cli_store(c) == NULL) {
        return cli_fail(c, c->err);
    }
    int rc =
        att_admin_role_assign(c->a, cli_opt(c, "--principal"), cli_opt(c, "--subject"),
                              cli_opt(c, "--group"), cli_opt(c, "--issuer"), cli_opt(c, "--role"),
                              cli_opt(c, "--provider"), &json, c->err, sizeof(c->err));
    return cli_json(c, rc, json);
}

static int role_list(struct cli_call *c)
{
    return store_json(c, att_admin_role_list);
}

static int role_revoke(struct cli_call *c)
{
    return store_ok_name(c, att_admin_role_revoke);
}

/* ---- policies ---- */

/* A policy version: 1 and up (0 too where zero_ok: the one in force). */
static int version_arg(struct cli_call *c, size_t i, bool zero_ok, int64_t *out)
{
    const char *text = cli_pos(c, i);
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno == ERANGE ||
        v < (zero_ok ? 0 : 1)) {
        return cli_usage(c, "'%s' is not a policy version (%s)", text,
                         zero_ok ? "1 and up, or 0 for the one in force" : "1 and up");
    }
    *out = v;
    return 0;
}

static int policy_history(struct cli_call *c)
{
    char *json = NULL;
    if (cli_store(c) == NULL) {
        return cli_fail(c, c->err);
    }
    int rc = att_admin_policy_history(c->a, cli_opt(c, "--provider"), cli_pos(c, 0), &json, c->err,
                                      sizeof(c->err));
    return cli_json(c, rc, json);
}

static int policy_show(struct cli_call *c)
{
    int64_t v = 0;
    char *json = NULL;
    if (cli_pos(c, 1) != NULL && version_arg(c, 1, true, &v) != 0) {
        return 2;
    }
    if (cli_store(c) == NULL) {
        return cli_fail(c, c->err);
    }
    int rc = att_admin_policy_show(c->a, cli_opt(c, "--provider"), cli_pos(c, 0), v, &json, c->err,
                                   sizeof(c->err));
    return cli_json(c, rc, json);
}

static int policy_diff(struct cli_call *c)
{
    int64_t from = 0;
    int64_t to = 0;
    char *text = NULL;
    if (version_arg(c, 1, true, &from) != 0 || version_arg(c, 2, true, &to) != 0) {
        return 2;
    }
    if (cli_store(c) == NULL) {
        return cli_fail(c, c->err);
    }
    int rc = att_admin_policy_diff(c->a, cli_opt(c, "--provider"), cli_pos(c, 0), from, to, &text,
                                   c->err, sizeof(c->err));
    if (rc == 0) {
        fputs(text, c->io->out);
        att_admin_free_string(text);
        return 0;
    }
    return cli_fail(c, c->err);
}

static int policy_rollback(struct cli_call *c)
{
    int64_t v = 0;
    char *json = NULL;
    if (version_arg(c, 1, false, &v) != 0) {
        return 2;
    }
    if (cli_store(c) == NULL) {
        return cli_fail(c, c->err);
    }
    int rc = att_admin_policy_rollback(c->a, cli_opt(c, "--provider"), cli_pos(c, 0), v,
                                       cli_opt(c, "--signed"), &json, c->err, sizeof(c->err));
    return cli_json(c, rc, json);
}

/* policy sign WHAT ...: the last word of the command is WHAT. */
static int policy_sign(struct cli_call *c)
{
    struct att_admin_sign_args args = {0};
    args.what = strrchr(c->cmd->words, ' ') + 1;
    args.key_path = cli_opt(c, "--key");
    args.cert_path = cli_opt(c, "--cert");
    args.audience = cli_opt(c, "--audience");
    args.provider = cli_opt(c, "--provider");
    args.unbound = cli_opt(c, "--unbound") != NULL;
    if (args.key_path == NULL || args.cert_path == NULL) {
        return cli_usage(c, "needs --key KEY.pem and --cert CERT.pem");
    }
    bool signer = strstr(args.what, "signer") != NULL;
    args.type = signer ? NULL : cli_pos(c, 0);
    args.input_path = signer ? cli_pos(c, 0) : strcmp(args.what, "set") == 0 ? cli_pos(c, 1) : NULL;
    if (strcmp(args.what, "rollback") == 0 && version_arg(c, 1, false, &args.version) != 0) {
        return 2;
    }
    char *jws = NULL;
    int rc = att_admin_policy_sign(&args, (int64_t)time(NULL), &jws, c->err, sizeof(c->err));
    return cli_text(c, rc, jws);
}

/* ---- evidence ---- */

static int verify(struct cli_call *c)
{
    struct att_admin_verify_args v;
    memset(&v, 0, sizeof(v));
    v.type = cli_pos(c, 0);
    v.evidence_path =
        cli_opt(c, "--quote") != NULL ? cli_opt(c, "--quote") : cli_opt(c, "--report");
    v.runtime_path = cli_opt(c, "--runtime-data");
    v.runtime_json = cli_opt(c, "--runtime-json") != NULL;
    v.bundle_path = cli_opt(c, "--collateral");
    v.at = cli_opt(c, "--at");
    v.policy_path = cli_opt(c, "--policy");
    v.trust_path = cli_opt(c, "--trust");
    v.no_crl = cli_opt(c, "--no-crl") != NULL;
    if (v.evidence_path == NULL) {
        return cli_usage(c, "needs --quote FILE (or --report FILE)");
    }
    /* The store is opened only for its collateral (SEV-SNP evidence may carry its own; TPM
     * quotes need none). */
    bool no_store = v.bundle_path != NULL || strcmp(v.type, "snp") == 0 ||
                    strcmp(v.type, "SevSnpVm") == 0 || strcmp(v.type, "tpm") == 0 ||
                    strcmp(v.type, "TpmQuote") == 0;
    if (!no_store && cli_store(c) == NULL) {
        return cli_fail(c, c->err);
    }
    c->evidence_errors = true;
    char *json = NULL;
    int rc = att_admin_verify(c->a, &v, &json, c->err, sizeof(c->err));
    return cli_json(c, rc, json);
}

static int inspect(struct cli_call *c)
{
    c->evidence_errors = true;
    char *json = NULL;
    int rc = att_admin_inspect(cli_pos(c, 0), cli_pos(c, 1), &json, c->err, sizeof(c->err));
    return cli_json(c, rc, json);
}

static int eventlog_show(struct cli_call *c)
{
    char *text = NULL;
    int rc = att_admin_eventlog_show(cli_pos(c, 0), cli_opt(c, "--ccel") != NULL, &text, c->err,
                                     sizeof(c->err));
    return cli_text(c, rc, text);
}

static int collateral_import(struct cli_call *c)
{
    char *json = NULL;
    if (cli_store(c) == NULL) {
        return cli_fail(c, c->err);
    }
    int rc = att_admin_collateral_import(c->a, cli_pos(c, 0), cli_opt(c, "--allow-expired") != NULL,
                                         &json, c->err, sizeof(c->err));
    return cli_json(c, rc, json);
}

static int collateral_list(struct cli_call *c)
{
    return store_json(c, att_admin_collateral_list);
}

/* ---- audit trail ---- */

static int audit_verify(struct cli_call *c)
{
    char *json = NULL;
    if (cli_store(c) == NULL) {
        return cli_fail(c, c->err);
    }
    int rc = att_admin_audit_verify(c->a, &json, c->err, sizeof(c->err));
    if (rc == 1) {
        return cli_fail(c, c->err);
    }
    cli_json(c, 0, json);
    return rc; /* 3: the chain is broken (the answer says where) */
}

static int audit_acknowledge_loss(struct cli_call *c)
{
    return store_json(c, att_admin_audit_acknowledge_loss);
}

static int print_line(const char *line, void *arg)
{
    return fprintf(arg, "%s\n", line) < 0 ? 1 : 0;
}

static int audit_scan(struct cli_call *c)
{
    struct att_admin_audit_query q;
    memset(&q, 0, sizeof(q));
    q.text = strcmp(c->cmd->words, "audit show") == 0;
    q.since = cli_opt(c, "--since");
    q.until = cli_opt(c, "--until");
    q.principal = cli_opt(c, "--principal");
    q.provider = cli_opt(c, "--provider");
    q.action = cli_opt(c, "--action");
    q.category = cli_opt(c, "--category");
    long long num = 0;
    const char *after = cli_opt(c, "--after");
    const char *limit = cli_opt(c, "--limit");
    if (after != NULL) {
        if (cli_number(c, "--after", after, 0, INT64_MAX, &num) != 0) {
            return 2;
        }
        q.after = num;
    }
    if (limit != NULL) {
        if (cli_number(c, "--limit", limit, 0, INT64_MAX, &num) != 0) {
            return 2;
        }
        q.limit = num;
    }
    if (cli_store(c) == NULL) {
        return cli_fail(c, c->err);
    }
    if (att_admin_audit_scan(c->a, &q, print_line, c->io->out, c->err, sizeof(c->err)) != 0) {
        return cli_fail(c, c->err);
    }
    return 0;
}

/* ---- tokens, backups ---- */

static int token_issue(struct cli_call *c)
{
    long long lifetime = 3600;
    const char *text = cli_opt(c, "--lifetime");
    if (cli_opt(c, "--provider") == NULL) {
        return cli_usage(c, "needs --provider NAME");
    }
    if (text != NULL && cli_number(c, "--lifetime", text, 1, 31536000, &lifetime) != 0) {
        return 2;
    }
    char *token = NULL;
    if (cli_store(c) == NULL) {
        return cli_fail(c, c->err);
    }
    int rc = att_admin_token_issue(c->a, cli_opt(c, "--provider"), cli_opt(c, "--claims"), lifetime,
                                   &token, c->err, sizeof(c->err));
    return cli_text(c, rc, token);
}

/* --passphrase-file or --key-file: one at most (needed is for the caller to say). */
static int backup_secret(struct cli_call *c, struct att_admin_backup_secret *sec)
{
    sec->passphrase_file = cli_opt(c, "--passphrase-file");
    sec->key_file = cli_opt(c, "--key-file");
    if (sec->passphrase_file != NULL && sec->key_file != NULL) {
        return cli_usage(c, "give either --passphrase-file or --key-file");
    }
    return 0;
}

static int backup_create(struct cli_call *c)
{
    struct att_admin_backup_secret sec;
    char *json = NULL;
    if (backup_secret(c, &sec) != 0) {
        return 2;
    }
    if (cli_store(c) == NULL) {
        return cli_fail(c, c->err);
    }
    int rc = att_admin_backup_create(c->a, cli_pos(c, 0), &sec, &json, c->err, sizeof(c->err));
    return cli_json(c, rc, json);
}

static int backup_verify(struct cli_call *c)
{
    struct att_admin_backup_secret sec;
    char *json = NULL;
    if (backup_secret(c, &sec) != 0) {
        return 2;
    }
    int rc = att_admin_backup_verify(cli_pos(c, 0), &sec, &json, c->err, sizeof(c->err));
    return cli_json(c, rc, json);
}

static int restore(struct cli_call *c)
{
    struct att_admin_backup_secret sec;
    char *json = NULL;
    const char *kek_file = cli_opt(c, "--kek-file");
    const char *kek_uri = cli_opt(c, "--kek-pkcs11");
    if (backup_secret(c, &sec) != 0) {
        return 2;
    }
    if (cli_opt(c, "--data-dir") == NULL || (kek_file == NULL) == (kek_uri == NULL)) {
        return cli_usage(c, "needs --data-dir DIR and --kek-file KEK (or --kek-pkcs11 URI)");
    }
    int rc = att_admin_restore(cli_pos(c, 0), cli_opt(c, "--data-dir"), &sec, kek_file, kek_uri,
                               cli_opt(c, "--signing-keys-pkcs11"), &json, c->err, sizeof(c->err));
    return cli_json(c, rc, json);
}

/* ---- moving the store (src/admin/migrate.c) ---- */

/* The arguments are checked before the store is opened: a usage error records nothing, and a
 * URL that holds a password never reaches the audit trail. */
static int store_migrate(struct cli_call *c)
{
    const char *from = cli_opt(c, "--from");
    const char *to = cli_opt(c, "--to");
    if (from == NULL || to == NULL) {
        return cli_usage(c, "needs --from sqlite:PATH and --to postgresql://...");
    }
    int rc = att_admin_store_migrate_check(from, to, c->err, sizeof(c->err));
    if (rc == 2) {
        return cli_usage(c, "%s", c->err);
    }
    if (rc != 0 || cli_store(c) == NULL) {
        return cli_fail(c, c->err);
    }
    char *json = NULL;
    rc = att_admin_store_migrate(c->a, from, to, &json, c->err, sizeof(c->err));
    return cli_json(c, rc, json);
}

/* ---- the demo (src/admin/demo.c) ---- */

static int demo(struct cli_call *c)
{
    struct att_admin_demo_args args = {cli_pos(c, 0), cli_opt(c, "--name"),
                                       cli_opt(c, "--runtime-data"), cli_opt(c, "--alg"),
                                       cli_opt(c, "--fmspc")};
    char *text = NULL;
    if (cli_store(c) == NULL) {
        return cli_fail(c, c->err);
    }
    int rc = att_admin_demo(c->a, &args, &text, c->err, sizeof(c->err));
    return cli_text(c, rc, text);
}

/* ---- preparing a data directory (src/admin/init.c) ---- */

static int init(struct cli_call *c)
{
    const char *names[ATT_ADMIN_INIT_MAX_NAMES + 1];
    struct att_admin_init_args args = {c->io->config_path, c->io->data_dir,
                                       cli_opt(c, "--self-signed") != NULL, names,
                                       cli_opts(c, "--name", names, ATT_ADMIN_INIT_MAX_NAMES + 1)};
    if (c->a != NULL) { /* the admin socket runs it with attestd's store: not there */
        return cli_fail(c, "runs only where it is typed");
    }
    char *text = NULL;
    int rc = att_admin_init(&args, &text, c->err, sizeof(c->err));
    return cli_text(c, rc, text);
}

/* ---- about attestd ---- */

static int routes(struct cli_call *c)
{
    char *json = att_admin_routes();
    if (json == NULL) {
        snprintf(c->err, sizeof(c->err), "out of memory");
    }
    return cli_json(c, json == NULL, json);
}

static int version(struct cli_call *c)
{
    fprintf(c->io->out, "attestctl %s\n", ATT_VERSION);
    return 0;
}

/* ---- the table ---- */

#define PROVIDER_OPT "--provider NAME"
#define AUDIT_FILTERS                                                                              \
    "--since TIME|--until TIME|--principal ID|--provider NAME|--action ACTION|--category "         \
    "CATEGORY|--after SEQ|--limit N"
#define AUDIT_FILTER_SYNOPSIS                                                                      \
    "[--since TIME] [--until TIME] [--principal ID|NAME] [--provider NAME]\n"                      \
    "         [--action ACTION] [--category CATEGORY] [--after SEQ] [--limit N]"
#define SIGN_OPTS "--key @KEY|--cert @CERT|--audience URL|--unbound|--provider NAME"
#define SIGN_SYNOPSIS "--key KEY.pem --cert CERT.pem (--audience ISSUER-URL | --unbound)"
#define SIGN_HELP                                                                                  \
    "Prints a signed request (JWS) for attestd's policy management: bound to the provider\n"       \
    "(--audience, its issuer URL), the type and the time, unless --unbound (MAA's own form).\n"    \
    "Needs no store and no running attestd: the signer's key stays where it is."
#define PROVIDER_SET_HELP                                                                          \
    "Settings (one or more):\n"                                                                    \
    "  --attest-requires-auth on|off    /attest routes need an authenticated caller\n"             \
    "  --collateral-grace SECONDS       use collateral up to SECONDS (0..2592000) past its\n"      \
    "                                   nextUpdate when no newer copy can be had\n"                \
    "  --require-bound-requests on|off  signed policy changes must carry iat, aud and\n"           \
    "                                   attestationType\n"                                         \
    "  --audit-fail-open on|off         answer tokens even when their audit record cannot\n"       \
    "                                   be written (default off: 503)\n"                           \
    "  --policy-history-keep N          keep the newest N policy versions per type (0: all)\n"     \
    "  --issuer URL                     the issuer URL relying parties see (tokens' iss;\n"        \
    "                                   jwks_uri and jku follow it); issued tokens keep\n"         \
    "                                   theirs, so tell relying parties first\n"                   \
    "Through the admin socket a running attestd applies them at once; with --direct, at its\n"     \
    "next reload (SIGHUP)."

const struct cli_cmd att_cli_commands[] = {
    {"provider create",
     "NAME [--issuer URL] [--alg RS256|ES256] [--isolated --signer CERT.pem ...]",
     "create a provider (a tenant with its own keys, policies and issuer)",
     "--issuer defaults to public_url/providers/NAME (or the listen address). Isolated\n"
     "providers (--isolated with one or more --signer certificates) take policy changes only\n"
     "signed by one of the signers (MAA's Isolated trust model).",
     "NAME", "--issuer URL|--alg RS256/ES256|--isolated|--signer @CERT*", "provider.create", true,
     provider_create},
    {"provider list", "", "every provider", NULL, "", NULL, NULL, true, provider_list},
    {"provider show", "NAME", "a provider, its settings and its keys", NULL, "NAME", NULL, NULL,
     true, provider_show},
    {"provider set",
     "NAME [--attest-requires-auth on|off] [--collateral-grace SECONDS]\n"
     "         [--require-bound-requests on|off] [--audit-fail-open on|off]\n"
     "         [--policy-history-keep N] [--issuer URL]",
     "change a provider's settings", PROVIDER_SET_HELP, "NAME",
     "--attest-requires-auth " ON_OFF "|--collateral-grace SECONDS|--require-bound-requests " ON_OFF
     "|--audit-fail-open " ON_OFF "|--policy-history-keep N|--issuer URL",
     "provider.set", true, provider_set},
    {"provider rotate-key", "NAME [--lead SECONDS]", "make a provider a new token signing key",
     "The new key is in /certs at once and signs after SECONDS (default:\n"
     "signing_key_lead_time); the old key stays in /certs until its tokens expire.",
     "NAME", "--lead SECONDS", "provider.key.rotate", true, provider_rotate_key},
    {"provider delete", "NAME", "delete a provider (not the default one)", NULL, "NAME", NULL,
     "provider.delete", true, provider_delete},
    {"demo", "DIR [--name NAME] [--runtime-data FILE] [--alg RS256|ES256] [--fmspc HEX]",
     "a DEMO provider trusting a root made here, and evidence for it in DIR",
     "Makes a test root CA on this machine (its key is not kept), a provider (default \"demo\")\n"
     "that trusts only it and marks every token \"x-attestd-demo\": true, its collateral, and in\n"
     "DIR an SGX quote binding the runtime data, collateral.json, root.pem, request.json and\n"
     "demo.json; then says how to attest. Refused while public_network_access is enabled.\n"
     "docs/internals/demo.md.",
     "/DIR", "--name NAME|--runtime-data @FILE|--alg RS256/ES256|--fmspc HEX", "provider.create",
     true, demo},
    {"init", "[--self-signed] [--name HOST ...]",
     "prepare a data directory: KEK, TLS key, and a CSR or a self-signed certificate",
     "Reads the configuration (attestctl --config FILE [--data-dir DIR] init) and makes what\n"
     "is missing, never replacing a file: the data directory, the key-encryption key at\n"
     "kek_file (0600), and at tls_key a P-256 key (0600) with a certificate signing request at\n"
     "tls_cert.csr, or with --self-signed a certificate at tls_cert valid 397 days, for the\n"
     "host of public_url and each --name HOST (a DNS name or an IP address). A TLS key that\n"
     "exists is used. As root with user set, the data directory made is the user's and the\n"
     "TLS key readable by its group (0640); the KEK stays root's. Then says what to do next.",
     "", "--self-signed|--name HOST*", NULL, false, init},
    {"kek generate", "(FILE | --pkcs11 URI)", "make a new key-encryption key",
     "FILE is written with mode 0600 and must not exist. --pkcs11 makes the key in a PKCS#11\n"
     "token instead (RFC 7512 URI with object=LABEL, module-path and pin-source).",
     "[FILE]", "--pkcs11 URI", NULL, false, kek_generate},
    {"kek rotate", "(--new-kek-file FILE | --new-kek-pkcs11 URI)",
     "rewrap every data key under a new key-encryption key",
     "Runs here, on the store itself, never through the admin socket: it needs the old\n"
     "key-encryption key and the new one. Then point kek_file (or kek_pkcs11) at the new one\n"
     "and restart attestd.",
     "", "--new-kek-file @FILE|--new-kek-pkcs11 URI", "kek.rotate", false, kek_rotate},
    {"store migrate", "--from sqlite:PATH --to postgresql://USER@HOST/DB",
     "copy an SQLite store's whole state into a new, empty PostgreSQL database",
     "Stop attestd first: the copy is one consistent snapshot, and what attestd changes after\n"
     "it is not copied. Every record is copied as it is (policy versions keep their numbers;\n"
     "keys stay sealed), so attestd on the database needs the same key-encryption key and\n"
     "data directory (its audit trail). One transaction: a failure leaves the database empty,\n"
     "and one that is not empty is refused. The rows of every table are counted in both\n"
     "afterwards. Then set store = URL in attestd.conf and start attestd. No password in the\n"
     "URL: use a passfile (passfile=PATH in the URL, or PGPASSFILE).",
     "", "--from SOURCE|--to URL", "store.migrate", false, store_migrate},
    {"principal create", "NAME [--secret-days N]",
     "a service principal; prints its client_id and client_secret once",
     "Secrets expire after N days (default 180; 0: never).", "NAME", "--secret-days N",
     "principal.create", true, principal_new_secret},
    {"principal list", "", "every service principal", NULL, "", NULL, NULL, true, principal_list},
    {"principal show", "NAME", "a principal, its secrets (not their values) and roles", NULL,
     "NAME", NULL, NULL, true, principal_show},
    {"principal disable", "NAME", "refuse a principal's credentials", NULL, "NAME", NULL,
     "principal.disable", true, principal_disable},
    {"principal enable", "NAME", "accept a disabled principal's credentials again", NULL, "NAME",
     NULL, "principal.enable", true, principal_disable},
    {"principal delete", "NAME", "delete a principal and its role assignments", NULL, "NAME", NULL,
     "principal.delete", true, principal_delete},
    {"principal secret add", "NAME [--secret-days N]",
     "a second secret, for rotation; printed once", NULL, "NAME", "--secret-days N",
     "principal.secret", true, principal_new_secret},
    {"principal secret revoke", "NAME SECRET_ID", "revoke one of a principal's secrets", NULL,
     "NAME SECRET_ID", NULL, "principal.secret", true, secret_revoke},
    {"principal cert", "NAME (CERT.pem | --clear)",
     "a principal's client certificate, for mutual TLS and private_key_jwt", NULL,
     "NAME [@CERT.pem]", "--clear", "principal.cert", true, principal_cert},
    {"role assign",
     "--role ROLE (--principal NAME | --subject SUB --issuer URL |\n"
     "         --group GROUP --issuer URL) [--provider NAME|*]",
     "give a role (Owner, Contributor, Reader, Attester) on one provider or all",
     "--subject and --group name callers of an external OpenID issuer (docs/identity.md).", "",
     "--role ROLE|--principal NAME|--subject SUB|--group GROUP|--issuer URL|" PROVIDER_OPT,
     "role.assign", true, role_assign},
    {"role list", "", "every role assignment", NULL, "", NULL, NULL, true, role_list},
    {"role revoke", "ID", "remove a role assignment", NULL, "ID", NULL, "role.revoke", true,
     role_revoke},
    {"policy history", "TYPE [--provider NAME]", "every version of a type's policy", NULL, "TYPE",
     PROVIDER_OPT, NULL, true, policy_history},
    {"policy show", "TYPE [VERSION] [--provider NAME]",
     "a policy version's text (default: the one in force)", NULL, "TYPE [VERSION]", PROVIDER_OPT,
     NULL, true, policy_show},
    {"policy diff", "TYPE FROM TO [--provider NAME]",
     "a line diff of two policy versions (0: the one in force)", NULL, "TYPE FROM TO", PROVIDER_OPT,
     NULL, true, policy_diff},
    {"policy rollback", "TYPE VERSION [--provider NAME] [--signed JWS-FILE]",
     "bring a policy version back",
     "Isolated providers need --signed: a request made with "
     "`attestctl policy sign rollback`.",
     "TYPE VERSION", PROVIDER_OPT "|--signed @JWS", "policy.rollback", true, policy_rollback},
    {"policy sign set", "TYPE POLICY-FILE " SIGN_SYNOPSIS, "sign a policy for PUT /policies/TYPE",
     SIGN_HELP, "TYPE @POLICY", SIGN_OPTS, NULL, false, policy_sign},
    {"policy sign reset", "TYPE " SIGN_SYNOPSIS, "sign a request for POST /policies/TYPE:reset",
     SIGN_HELP, "TYPE", SIGN_OPTS, NULL, false, policy_sign},
    {"policy sign add-signer", "CERT.pem " SIGN_SYNOPSIS,
     "sign a request for POST /certificates:add", SIGN_HELP, "@CERT", SIGN_OPTS, NULL, false,
     policy_sign},
    {"policy sign remove-signer", "CERT.pem " SIGN_SYNOPSIS,
     "sign a request for POST /certificates:remove", SIGN_HELP, "@CERT", SIGN_OPTS, NULL, false,
     policy_sign},
    {"policy sign rollback", "TYPE VERSION [--provider NAME] --key KEY.pem --cert CERT.pem",
     "sign a request for a policy rollback", SIGN_HELP, "TYPE VERSION", SIGN_OPTS, NULL, false,
     policy_sign},
    {"verify",
     "sgx|oe|snp|tdx|tpm --quote FILE [--runtime-data FILE [--runtime-json]]\n"
     "         [--collateral BUNDLE] [--at TIME] [--policy FILE] [--trust ROOTS.pem] [--no-crl]",
     "verify evidence offline with the server's code and print its token claims",
     "TIME: RFC 3339 or epoch seconds (default: now). Without --collateral: the store's.\n"
     "snp: --report FILE, MAA's JSON document or a raw report; --trust: AMD ARKs; --no-crl:\n"
     "skip revocation. tpm: FILE is a TpmQuote body with its nonce; --trust: AK certificate\n"
     "CAs. Failures name the verification step (ATT_ERR_...).",
     "TYPE",
     "--quote @FILE|--report @FILE|--runtime-data @FILE|--runtime-json|--collateral @BUNDLE|--at "
     "TIME|--policy @FILE|--trust @ROOTS|--no-crl",
     NULL, false, verify},
    {"inspect", "sgx|oe|snp|tdx|tpm|azure FILE", "print evidence's fields and claims, UNVERIFIED",
     "tpm: a TPMS_ATTEST; azure: an HCL report.", "TYPE @FILE", NULL, NULL, false, inspect},
    {"eventlog show", "FILE [--ccel]",
     "a TCG event log's events, digests, decoded data and replayed values, UNVERIFIED",
     "--ccel: a TDX CCEL log.", "@FILE", "--ccel", NULL, false, eventlog_show},
    {"collateral import", "BUNDLE [--allow-expired]",
     "store an offline Intel or AMD collateral bundle",
     "Every item is verified before anything is stored; older never replaces newer. A bundle\n"
     "with an item past its nextUpdate is refused unless --allow-expired.",
     "@BUNDLE", "--allow-expired", "collateral.import", true, collateral_import},
    {"collateral list", "", "stored collateral, issue dates and ages", NULL, "", NULL, NULL, true,
     collateral_list},
    {"routes", "", "every route and the permission it needs",
     "A deprecated alias is listed after its route, naming its \"successor\".", "", NULL, NULL,
     false, routes},
    {"audit verify", "", "check the audit trail's chain and checkpoints",
     "Exit status 3 and the first bad record when broken.", "", NULL, NULL, true, audit_verify},
    {"audit acknowledge-loss", "",
     "after records were removed (attestd refuses to start), record the loss and start afresh",
     NULL, "", NULL, "audit.loss", true, audit_acknowledge_loss},
    {"audit show", AUDIT_FILTER_SYNOPSIS, "audit records, one readable line each", NULL, "",
     AUDIT_FILTERS, NULL, true, audit_scan},
    {"audit export", AUDIT_FILTER_SYNOPSIS, "audit records as JSON lines (for a SIEM)", NULL, "",
     AUDIT_FILTERS, NULL, true, audit_scan},
    {"token issue", "--provider NAME [--claims JSON] [--lifetime SECONDS]",
     "sign a test token (marked x-attestd-test-token)", NULL, "",
     PROVIDER_OPT "|--claims JSON|--lifetime SECONDS", "token.issue", true, token_issue},
    {"backup create", "FILE (--passphrase-file F | --key-file F)",
     "an encrypted, signed snapshot of the state, taken while attestd runs",
     "Keys stay sealed by the key-encryption key inside the archive.", ">FILE",
     "--passphrase-file @F|--key-file @F", "backup.create", true, backup_create},
    {"backup verify", "FILE [--passphrase-file F | --key-file F]",
     "check a backup's signature, and with the secret its contents, without restoring", NULL,
     "@FILE", "--passphrase-file @F|--key-file @F", NULL, false, backup_verify},
    {"restore",
     "FILE --data-dir DIR (--kek-file KEK | --kek-pkcs11 URI)\n"
     "         (--passphrase-file F | --key-file F) [--signing-keys-pkcs11 URI]",
     "restore a backup into a new or empty DIR",
     "Only when every check passes: the key-encryption key must open every key.", "@FILE",
     "--data-dir DIR|--kek-file @KEK|--kek-pkcs11 URI|--passphrase-file @F|--key-file "
     "@F|--signing-keys-pkcs11 URI",
     NULL, false, restore},
    {"version", "", "attestctl's version (also --version)", NULL, "", NULL, NULL, false, version},
};

const size_t att_cli_n_commands = sizeof(att_cli_commands) / sizeof(att_cli_commands[0]);
