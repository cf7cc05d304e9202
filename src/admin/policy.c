/*
 * policy.c - attestctl policy history | show | diff | rollback (policy history, beyond MAA).
 *
 * The same store and code as the daemon's REST routes (src/policymgmt/manage.h); a running
 * attestd sees a rollback at once (policies are read from the store on each request).
 */
#include "admin/admin_int.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/timeutil.h"
#include "policy/policy.h"
#include "policymgmt/manage.h"
#include "provider/provider.h"

#define DIFF_MAX_LINES 4000 /* per side; the table is DIFF_MAX_LINES^2 16-bit cells at most */
#define SIGNED_FILE_MAX ((size_t)256 * 1024)

static int resolve(struct att_admin *a, const char *provider, const char *type,
                   struct att_provider_rec *p, const char **canonical, char *err, size_t n)
{
    enum att_policy_type t;
    if (att_policy_type_parse(type, strlen(type), &t) != ATT_OK) {
        return att_admin_fail(err, n,
                              "unknown attestation type '%s' (SgxEnclave, OpenEnclave, "
                              "SevSnpVm, TdxVm, Tpm, AzureGuest)",
                              type);
    }
    *canonical = att_policy_type_name(t);
    att_err e = att_store_provider_get(att_admin_store(a),
                                       provider != NULL ? provider : ATT_DEFAULT_PROVIDER, p);
    if (e != ATT_OK) {
        return att_admin_fail(err, n, "provider '%s': %s",
                              provider != NULL ? provider : ATT_DEFAULT_PROVIDER, att_err_str(e));
    }
    return 0;
}

static json_t *version_json(const struct att_policy_version_rec *v)
{
    char created[32];
    att_time_format(v->created_at, created, sizeof(created));
    json_t *doc =
        json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s}", "version", (json_int_t)v->version, "action",
                  v->action, "created", created, "principal", v->principal, "principal_name",
                  v->principal_name, "source", v->source, "policy_hash", v->policy_hash);
    if (doc != NULL && v->signer_sha256[0] != 0) {
        json_object_set_new(doc, "signer_sha256", json_string(v->signer_sha256));
    }
    if (doc != NULL && v->rollback_of != 0) {
        json_object_set_new(doc, "rollback_of", json_integer(v->rollback_of));
    }
    return doc;
}

static att_err collect(const struct att_policy_version_rec *v, void *arg)
{
    json_t *doc = version_json(v);
    ATT_ENSURE(doc != NULL && json_array_append_new(arg, doc) == 0, ATT_ERR_NOMEM);
    return ATT_OK;
}

int att_admin_policy_history(struct att_admin *a, const char *provider, const char *type,
                             char **json_out, char *err, size_t err_len)
{
    struct att_provider_rec p;
    const char *t = NULL;
    if (resolve(a, provider, type, &p, &t, err, err_len) != 0) {
        return 1;
    }
    json_t *arr = json_array();
    att_err e = arr != NULL ? att_policy_history(att_admin_store(a), p.name, t, 0, 0, collect, arr)
                            : ATT_ERR_NOMEM;
    if (e != ATT_OK) {
        json_decref(arr);
        return att_admin_fail(err, err_len, "cannot read the history: %s", att_err_str(e));
    }
    return att_admin_dump(arr, json_out, err, err_len);
}

/* The state of version `version` (0 = in force). */
static int load_state(struct att_admin *a, const struct att_provider_rec *p, const char *type,
                      int64_t version, struct att_policy_state *s, char *err, size_t err_len)
{
    att_err e = att_policy_get(att_admin_store(a), att_admin_keyring(a), p, type, version, s);
    if (e == ATT_ERR_NOT_FOUND) {
        return att_admin_fail(err, err_len, "%s has no version %lld on provider '%s'", type,
                              (long long)version, p->name);
    }
    if (e != ATT_OK) {
        return att_admin_fail(err, err_len, "cannot read the policy: %s", att_err_str(e));
    }
    return 0;
}

static json_t *state_json(const struct att_policy_state *s)
{
    json_t *doc = s->version > 0 ? version_json(&s->rec) : json_pack("{s:i}", "version", 0);
    if (doc != NULL) {
        json_object_set_new(doc, "action", json_string(s->action));
        json_object_set_new(doc, "policy_hash", json_string(s->hash));
        json_object_set_new(doc, "is_default", json_boolean(s->is_default));
        json_object_set_new(doc, "policy", json_stringn((const char *)s->text.data, s->text.len));
    }
    return doc;
}

int att_admin_policy_show(struct att_admin *a, const char *provider, const char *type,
                          int64_t version, char **json_out, char *err, size_t err_len)
{
    struct att_provider_rec p;
    const char *t = NULL;
    struct att_policy_state s;
    if (resolve(a, provider, type, &p, &t, err, err_len) != 0) {
        return 1;
    }
    att_policy_state_init(&s);
    int rc = load_state(a, &p, t, version, &s, err, err_len);
    if (rc == 0) {
        rc = att_admin_dump(state_json(&s), json_out, err, err_len);
    }
    att_policy_state_cleanup(&s);
    return rc;
}

/* Split text into lines (views into it); at most `max`. */
static size_t split_lines(const struct att_buf *text, const char **lines, size_t *lens, size_t max)
{
    size_t n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= text->len && n < max + 1; i++) {
        if (i == text->len || text->data[i] == '\n') {
            if (i == text->len && i == start) {
                break; /* no empty last line after a final newline */
            }
            if (n < max) {
                lines[n] = (const char *)text->data + start;
                lens[n] = i - start;
            }
            n++;
            start = i + 1;
        }
    }
    return n;
}

static bool same_line(const char *a, size_t na, const char *b, size_t nb)
{
    return na == nb && memcmp(a, b, na) == 0;
}

/* A line diff by longest common subsequence, every line shown with ' ', '-' or '+'. */
static att_err line_diff(const struct att_buf *x, const struct att_buf *y, struct att_buf *out)
{
    struct side {
        const char *line[DIFF_MAX_LINES];
        size_t len[DIFF_MAX_LINES];
    } *sx = calloc(2, sizeof(*sx));
    ATT_ENSURE(sx != NULL, ATT_ERR_NOMEM);
    const char **xl = sx[0].line, **yl = sx[1].line;
    size_t *xn = sx[0].len, *yn = sx[1].len;
    size_t n = split_lines(x, xl, xn, DIFF_MAX_LINES);
    size_t m = split_lines(y, yl, yn, DIFF_MAX_LINES);
    uint16_t *lcs =
        n <= DIFF_MAX_LINES && m <= DIFF_MAX_LINES ? calloc((n + 1) * (m + 1), sizeof(*lcs)) : NULL;
    if (lcs == NULL) {
        free(sx);
        return n <= DIFF_MAX_LINES && m <= DIFF_MAX_LINES ? ATT_ERR_NOMEM : ATT_ERR_TOO_LARGE;
    }
#define L(i, j) lcs[(i) * (m + 1) + (j)]
    for (size_t i = n; i-- > 0;) {
        for (size_t j = m; j-- > 0;) {
            L(i, j) = same_line(xl[i], xn[i], yl[j], yn[j])
                          ? (uint16_t)(L(i + 1, j + 1) + 1)
                          : (L(i + 1, j) > L(i, j + 1) ? L(i + 1, j) : L(i, j + 1));
        }
    }
    size_t i = 0;
    size_t j = 0;
    while (i < n || j < m) {
        if (i < n && j < m && same_line(xl[i], xn[i], yl[j], yn[j])) {
            att_ignore_err(att_buf_printf(out, " %.*s\n", (int)xn[i], xl[i])); /* sticky */
            i++;
            j++;
        } else if (i < n && (j == m || L(i + 1, j) >= L(i, j + 1))) {
            att_ignore_err(att_buf_printf(out, "-%.*s\n", (int)xn[i], xl[i]));
            i++;
        } else {
            att_ignore_err(att_buf_printf(out, "+%.*s\n", (int)yn[j], yl[j]));
            j++;
        }
    }
#undef L
    free(lcs);
    free(sx);
    return att_buf_err(out);
}

int att_admin_policy_diff(struct att_admin *a, const char *provider, const char *type, int64_t from,
                          int64_t to, char **text_out, char *err, size_t err_len)
{
    struct att_provider_rec p;
    const char *t = NULL;
    struct att_policy_state s1;
    struct att_policy_state s2;
    struct att_buf out;
    if (resolve(a, provider, type, &p, &t, err, err_len) != 0) {
        return 1;
    }
    att_policy_state_init(&s1);
    att_policy_state_init(&s2);
    att_buf_init(&out, (size_t)8 << 20);
    int rc = load_state(a, &p, t, from, &s1, err, err_len);
    if (rc == 0) {
        rc = load_state(a, &p, t, to, &s2, err, err_len);
    }
    if (rc == 0) {
        att_ignore_err(att_buf_printf(&out, "--- %s version %lld (%s)\n+++ %s version %lld (%s)\n",
                                      t, (long long)s1.version, s1.hash, t, (long long)s2.version,
                                      s2.hash));
        att_err e = line_diff(&s1.text, &s2.text, &out);
        if (e != ATT_OK) {
            rc = att_admin_fail(err, err_len, "cannot diff: %s", att_err_str(e));
        }
    }
    if (rc == 0) {
        *text_out = strdup(att_buf_cstr(&out));
        rc = *text_out == NULL ? att_admin_fail(err, err_len, "out of memory") : 0;
    }
    att_buf_cleanup(&out);
    att_policy_state_cleanup(&s1);
    att_policy_state_cleanup(&s2);
    return rc;
}

int att_admin_read_file(const char *path, struct att_buf *out, size_t max, bool trim, char *err,
                        size_t err_len)
{
    FILE *f = fopen(path, "rb");
    char chunk[4096];
    size_t n;
    if (f == NULL) {
        return att_admin_fail(err, err_len, "%s: %s", path, strerror(errno));
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && out->len + n <= max) {
        att_ignore_err(att_buf_put(out, chunk, n)); /* sticky; checked below */
    }
    fclose(f);
    /* A trailing newline from an editor or `echo` is not part of a JWS. */
    while (trim && out->len > 0 &&
           (out->data[out->len - 1] == '\n' || out->data[out->len - 1] == '\r')) {
        out->len--;
    }
    if (n > 0 || att_buf_err(out) != ATT_OK) {
        return att_admin_fail(err, err_len, "%s: larger than %zu KiB", path, max / 1024);
    }
    return 0;
}

int att_admin_policy_rollback(struct att_admin *a, const char *provider, const char *type,
                              int64_t version, const char *signed_path, char **json_out, char *err,
                              size_t err_len)
{
    struct att_provider_rec p;
    const char *t = NULL;
    struct att_policy_state s;
    struct att_policy_refusal why = {NULL, ""};
    struct att_buf jws;
    char user[64];
    if (resolve(a, provider, type, &p, &t, err, err_len) != 0) {
        return 1;
    }
    att_buf_init(&jws, SIGNED_FILE_MAX + 1);
    if (signed_path != NULL &&
        att_admin_read_file(signed_path, &jws, SIGNED_FILE_MAX, true, err, err_len) != 0) {
        att_buf_cleanup(&jws);
        return 1;
    }
    snprintf(user, sizeof(user), "attestctl:%s",
             getenv("USER") != NULL ? getenv("USER") : "unknown");
    struct att_policy_actor actor = {user, "attestctl", "local"};
    att_policy_state_init(&s);
    att_err e = att_policy_rollback(att_admin_store(a), att_admin_keyring(a), &p, t, version,
                                    signed_path != NULL ? (const char *)jws.data : NULL, jws.len,
                                    &actor, att_time_now(), &s, &why);
    int rc;
    if (e == ATT_OK) {
        rc = att_admin_dump(state_json(&s), json_out, err, err_len);
    } else if (why.code != NULL) {
        rc = att_admin_fail(err, err_len, "%s", why.message);
    } else if (e == ATT_ERR_NOT_FOUND) {
        rc = att_admin_fail(err, err_len, "%s has no version %lld on provider '%s'", t,
                            (long long)version, p.name);
    } else {
        rc = att_admin_fail(err, err_len, "cannot roll back to version %lld: %s",
                            (long long)version, att_err_str(e));
    }
    att_policy_state_cleanup(&s);
    att_buf_cleanup(&jws);
    return rc;
}
