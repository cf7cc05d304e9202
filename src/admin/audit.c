/*
 * audit.c - attestctl and the audit trail (include/att/admin.h: att_admin_audit_*).
 *
 * attestctl changes the store directly, so it writes its own audit records, in the same trail
 * and chain as the daemon (the write lock of the audit database serialises the two): a durable
 * "attempt" before the change - none is made when that fails - and the outcome after. The
 * caller is the operating-system user who ran it (through the admin socket: its peer).
 */
#include <jansson.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/admin_int.h"
#include "audit/audit.h"
#include "server/config.h"
#include "core/timeutil.h"
#include "store/store.h"
#include "token/jwk.h"

static void who_runs(struct att_admin *a, char id[32], char name[64])
{
    struct passwd pw;
    struct passwd *found = NULL;
    char buf[1024];
    const struct att_admin_actor *actor = att_admin_actor(a);
    uid_t uid = actor->set ? actor->uid : geteuid();
    snprintf(id, 32, "uid:%u", (unsigned)uid);
    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &found) == 0 && found != NULL) {
        snprintf(name, 64, "%s", found->pw_name);
    } else {
        snprintf(name, 64, "uid %u", (unsigned)uid);
    }
}

static int record(struct att_admin *a, const char *action, const char *outcome, json_t *detail,
                  char *err, size_t err_len)
{
    char id[32];
    char name[64];
    struct att_audit *trail = NULL;
    char source[48];
    who_runs(a, id, name);
    snprintf(source, sizeof(source), "local:%s",
             att_admin_actor(a)->set ? att_admin_actor(a)->via : "attestctl");
    att_err rc = att_admin_audit_trail(a, &trail);
    if (rc == ATT_OK) {
        struct att_audit_event ev = {ATT_AUDIT_CHANGE, action, outcome, id,    name,
                                     source,           "",     "",      detail};
        return att_audit_write(trail, &ev) == ATT_OK
                   ? 0
                   : att_admin_fail(err, err_len,
                                    "the audit trail cannot be written (%s): nothing was changed",
                                    att_admin_audit_path(a));
    }
    json_decref(detail);
    return att_admin_fail(err, err_len, "%s: %s: nothing was changed", att_admin_audit_path(a),
                          att_err_str(rc));
}

int att_admin_audit_begin(struct att_admin *a, const char *action, const char *const *args,
                          size_t n_args, char *err, size_t err_len)
{
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && i < n_args; i++) {
        json_array_append_new(list, json_string(args[i]));
    }
    return record(a, action, "attempt", json_pack("{s:o}", "arguments", list), err, err_len);
}

void att_admin_audit_end(struct att_admin *a, const char *action, int result, const char *message)
{
    char err[256];
    json_t *detail =
        result == 0 ? json_object() : json_pack("{s:s}", "error", message != NULL ? message : "");
    if (record(a, action, result == 0 ? "success" : "failure", detail, err, sizeof(err)) != 0) {
        fprintf(att_admin_warnings(a), "attestctl: warning: the outcome was not recorded: %s\n",
                err);
    }
}

/* ---- reading ---- */

static att_err open_reader(struct att_admin *a, struct att_audit_db **db)
{
    return att_audit_db_open(att_admin_audit_path(a), 2000, true, db);
}

struct keys {
    struct att_store *store;
    EVP_PKEY *found;
    const char *kid;
};

static att_err match_key(const struct att_key_rec *k, void *arg)
{
    struct keys *ks = arg;
    if (ks->found == NULL && strcmp(k->kid, ks->kid) == 0) {
        att_ignore_err(att_jwk_cert_pubkey(k->cert_der.data, k->cert_der.len, &ks->found));
    }
    return ATT_OK;
}

/* The access-token key `kid` of the state database (its certificate is public). */
static EVP_PKEY *key_by_kid(void *arg, const char *kid)
{
    struct keys *ks = arg;
    EVP_PKEY_free(ks->found);
    ks->found = NULL;
    ks->kid = kid;
    att_ignore_err(att_store_auth_key_list(ks->store, match_key, ks));
    return ks->found;
}

int att_admin_audit_verify(struct att_admin *a, char **json_out, char *err, size_t err_len)
{
    struct att_audit_db *db = NULL;
    struct att_audit_verdict v;
    struct keys ks = {att_admin_store(a), NULL, NULL};
    int64_t head_seq = 0;
    char head_hash[65] = "";
    att_err rc = att_store_audit_checkpoint_get(att_admin_store(a), att_admin_config(a)->node_name,
                                                &head_seq, head_hash);
    if (rc != ATT_OK && rc != ATT_ERR_NOT_FOUND) {
        return att_admin_fail(err, err_len, "cannot read the newest checkpoint: %s",
                              att_err_str(rc));
    }
    rc = open_reader(a, &db);
    if (rc == ATT_OK) {
        rc = att_audit_verify(db, key_by_kid, &ks, head_seq, head_hash, &v);
    }
    att_audit_db_close(db);
    EVP_PKEY_free(ks.found);
    if (rc != ATT_OK) {
        return att_admin_fail(err, err_len, "%s: %s", att_admin_audit_path(a), att_err_str(rc));
    }
    json_t *doc =
        json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:I}", "ok", v.ok, "records", (json_int_t)v.records,
                  "firstSeq", (json_int_t)v.first_seq, "lastSeq", (json_int_t)v.last_seq,
                  "checkpoints", (json_int_t)v.checkpoints, "lastCheckpointCovers",
                  (json_int_t)v.last_checkpoint_seq, "prunedThrough", (json_int_t)v.pruned_through);
    if (doc != NULL && !v.ok) {
        json_object_set_new(doc, "badRecord", json_integer(v.bad_seq));
        json_object_set_new(doc, "problem", json_string(v.problem));
    }
    if (att_admin_dump(doc, json_out, err, err_len) != 0) {
        return 1;
    }
    return v.ok ? 0 : 3; /* 3: the trail is broken (attestctl prints the verdict) */
}

struct lines {
    int (*emit)(const char *line, void *arg);
    void *arg;
    bool text;
};

/* "#SEQ TIME CATEGORY ACTION OUTCOME who=NAME(ID) from=SOURCE provider=P id=REQUEST-ID" */
static char *text_line(const struct att_audit_row *r)
{
    json_t *body = json_loadb((const char *)r->body.data, r->body.len, 0, NULL);
    const char *when = json_string_value(json_object_get(body, "time"));
    const char *from = json_string_value(json_object_get(body, "callerIpAddress"));
    char *props = json_dumps(json_object_get(body, "properties"), JSON_COMPACT | JSON_SORT_KEYS);
    char *line = NULL;
    if (asprintf(&line, "#%lld %s %s %s %s who=%s(%s) from=%s provider=%s id=%s %s",
                 (long long)r->seq, when != NULL ? when : "?", r->category, r->action, r->outcome,
                 r->principal_name[0] != 0 ? r->principal_name : "-",
                 r->principal[0] != 0 ? r->principal : "-",
                 from != NULL && from[0] != 0 ? from : "-", r->provider[0] != 0 ? r->provider : "-",
                 r->request_id[0] != 0 ? r->request_id : "-", props != NULL ? props : "{}") < 0) {
        line = NULL;
    }
    free(props);
    json_decref(body);
    /* One line per record, and nothing a terminal acts on: a client chooses what some columns
     * hold (a client id it claims), so controls are shown as '?'. */
    for (char *c = line; c != NULL && *c != 0; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            *c = '?';
        }
    }
    return line;
}

static att_err emit_row(const struct att_audit_row *r, void *arg)
{
    struct lines *l = arg;
    char *line = l->text ? text_line(r) : att_audit_record_export(r);
    ATT_ENSURE(line != NULL, ATT_ERR_NOMEM);
    int rc = l->emit(line, l->arg);
    free(line);
    return rc == 0 ? ATT_OK : ATT_ERR_IO;
}

static bool parse_time_ms(const char *text, int64_t *ms)
{
    int64_t t = 0;
    char *end = NULL;
    if (text == NULL) {
        return true;
    }
    long long v = strtoll(text, &end, 10);
    if (end != text && *end == 0 && v >= 0) {
        if (v > INT64_MAX / 1000) {
            return false;
        }
        *ms = (int64_t)v * 1000; /* epoch seconds */
        return true;
    }
    if (att_time_parse_rfc3339(text, strlen(text), &t) != ATT_OK) {
        return false;
    }
    *ms = t * 1000;
    return true;
}

int att_admin_audit_scan(struct att_admin *a, const struct att_admin_audit_query *q,
                         int (*emit)(const char *line, void *arg), void *arg, char *err,
                         size_t err_len)
{
    struct att_audit_filter f;
    struct att_audit_db *db = NULL;
    memset(&f, 0, sizeof(f));
    if (!parse_time_ms(q->since, &f.since_ms) || !parse_time_ms(q->until, &f.until_ms)) {
        return att_admin_fail(err, err_len,
                              "--since/--until: expected RFC 3339 UTC (2026-12-06T10:00:00Z) or "
                              "seconds since the epoch");
    }
    f.principal = q->principal;
    f.provider = q->provider;
    f.action = q->action;
    f.category = q->category;
    f.limit = q->limit;
    f.after_seq = q->after;
    att_err rc = open_reader(a, &db);
    struct lines l = {emit, arg, q->text};
    if (rc == ATT_OK) {
        rc = att_audit_db_scan(db, &f, emit_row, &l);
    }
    att_audit_db_close(db);
    if (rc != ATT_OK) {
        return att_admin_fail(err, err_len, "%s: %s", att_admin_audit_path(a), att_err_str(rc));
    }
    return 0;
}

int att_admin_audit_acknowledge_loss(struct att_admin *a, char **json_out, char *err,
                                     size_t err_len)
{
    int64_t seq = 0;
    char hash[65] = "";
    att_err rc = att_store_audit_checkpoint_get(att_admin_store(a), att_admin_config(a)->node_name,
                                                &seq, hash);
    if (rc == ATT_ERR_NOT_FOUND) {
        return att_admin_fail(err, err_len, "no checkpoint is kept: nothing to acknowledge");
    }
    if (rc != ATT_OK) {
        return att_admin_fail(err, err_len, "cannot read the newest checkpoint: %s",
                              att_err_str(rc));
    }
    struct att_audit *trail = NULL;
    bool held = false;
    rc = att_admin_audit_trail(a, &trail);
    if (rc == ATT_OK) {
        rc = att_audit_holds(trail, seq, hash, &held);
    }
    if (rc != ATT_OK) {
        return att_admin_fail(err, err_len, "%s: %s", att_admin_audit_path(a), att_err_str(rc));
    }
    if (held) {
        return att_admin_fail(err, err_len,
                              "the trail holds record %lld, which the newest checkpoint covers: "
                              "nothing was lost, nothing to acknowledge",
                              (long long)seq);
    }
    /* The loss itself goes into the trail before the state forgets what was lost. */
    if (record(a, "audit.loss", "success",
               json_pack("{s:I,s:s}", "lostCheckpointSeq", (json_int_t)seq, "lostCheckpointHash",
                         hash),
               err, err_len) != 0) {
        return 1;
    }
    rc = att_store_audit_checkpoint_clear(att_admin_store(a), att_admin_config(a)->node_name);
    if (rc != ATT_OK) {
        return att_admin_fail(err, err_len, "cannot clear the checkpoint: %s", att_err_str(rc));
    }
    return att_admin_dump(
        json_pack("{s:{s:I,s:s}}", "acknowledged", "seq", (json_int_t)seq, "hash", hash), json_out,
        err, err_len);
}
