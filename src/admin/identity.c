/*
 * identity.c - principals and role assignments for attestctl (include/att/admin.h).
 *
 * Input: operator command-line values, checked by the domain modules.
 */
#include "att/admin.h"

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin_int.h"
#include "api/api.h"
#include "auth/principal.h"
#include "auth/rbac.h"
#include "core/timeutil.h"
#include "provider/provider.h"

static json_t *time_or_null(int64_t t)
{
    char text[32];
    if (t == 0) {
        return json_null();
    }
    att_time_format(t, text, sizeof(text));
    return json_string(text);
}

static json_t *new_secret_json(const struct att_principal_rec *p, const struct att_new_secret *s)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:o}", "name", p->name, "client_id", p->id, "client_secret",
                     s->secret, "secret_id", s->id, "expires", time_or_null(s->expires_at));
}

static int64_t lifetime_seconds(int days)
{
    return days <= 0 ? 0 : (int64_t)days * 86400;
}

static int find_principal(struct att_admin *a, const char *name, struct att_principal_rec *p,
                          char *err, size_t n)
{
    att_err e = att_store_principal_get_by_name(att_admin_store(a), name, p);
    if (e == ATT_ERR_NOT_FOUND) {
        return att_admin_fail(err, n, "no principal named '%s'", name);
    }
    if (e != ATT_OK) {
        return att_admin_fail(err, n, "cannot read principal '%s': %s", name, att_err_str(e));
    }
    return 0;
}

int att_admin_principal_create(struct att_admin *a, const char *name, int lifetime_days,
                               char **json_out, char *err, size_t err_len)
{
    struct att_principal_rec p;
    struct att_new_secret s;
    if (att_principal_name_check(name) != ATT_OK) {
        return att_admin_fail(err, err_len,
                              "'%s' is not a valid principal name (1-63 of a-z, 0-9, '.', '_', "
                              "'-', starting with a letter or digit)",
                              name);
    }
    att_err e = att_principal_create(att_admin_store(a), name, att_time_now(),
                                     lifetime_seconds(lifetime_days), &p, &s);
    if (e == ATT_ERR_EXISTS) {
        return att_admin_fail(err, err_len, "principal '%s' already exists", name);
    }
    if (e != ATT_OK) {
        return att_admin_fail(err, err_len, "cannot create principal '%s': %s", name,
                              att_err_str(e));
    }
    int rc = att_admin_dump(new_secret_json(&p, &s), json_out, err, err_len);
    att_new_secret_wipe(&s);
    return rc;
}

static json_t *principal_json(const struct att_principal_rec *p)
{
    char created[32];
    att_time_format(p->created_at, created, sizeof(created));
    /* private_key_jwt needs the certificate itself (registered since schema version 3). */
    return json_pack("{s:s,s:s,s:b,s:s,s:o,s:s,s:s,s:b}", "name", p->name, "client_id", p->id,
                     "disabled", p->disabled, "created", created, "last_used",
                     time_or_null(p->last_used_at), "last_used_from", p->last_used_from,
                     "client_cert_sha256", p->cert_sha256, "private_key_jwt", p->cert_der_len > 0);
}

static att_err collect_principal(const struct att_principal_rec *p, void *arg)
{
    json_t *item = principal_json(p);
    ATT_ENSURE(item != NULL && json_array_append_new(arg, item) == 0, ATT_ERR_NOMEM);
    return ATT_OK;
}

int att_admin_principal_list(struct att_admin *a, char **json_out, char *err, size_t err_len)
{
    json_t *arr = json_array();
    att_err e = arr != NULL ? att_store_principal_list(att_admin_store(a), collect_principal, arr)
                            : ATT_ERR_NOMEM;
    if (e != ATT_OK) {
        json_decref(arr);
        return att_admin_fail(err, err_len, "cannot list principals: %s", att_err_str(e));
    }
    return att_admin_dump(arr, json_out, err, err_len);
}

struct secrets_ctx {
    json_t *arr;
    int64_t now;
};

static att_err collect_secret(const struct att_secret_rec *s, void *arg)
{
    struct secrets_ctx *c = arg;
    const char *state = s->revoked_at != 0                              ? "revoked"
                        : s->expires_at != 0 && s->expires_at <= c->now ? "expired"
                                                                        : "active";
    json_t *item = json_pack("{s:s,s:s,s:o,s:o,s:o}", "id", s->id, "state", state, "created",
                             time_or_null(s->created_at), "expires", time_or_null(s->expires_at),
                             "revoked", time_or_null(s->revoked_at));
    ATT_ENSURE(item != NULL && json_array_append_new(c->arr, item) == 0, ATT_ERR_NOMEM);
    return ATT_OK;
}

struct roles_ctx {
    json_t *arr;
};

static json_t *role_json(const struct att_role_rec *r)
{
    char created[32];
    att_time_format(r->created_at, created, sizeof(created));
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", r->id, "subjectKind", r->subject_kind,
                     "subject", r->subject, "issuer", r->issuer, "role", r->role, "provider",
                     r->provider, "created", created);
}

static att_err collect_role(const struct att_role_rec *r, void *arg)
{
    struct roles_ctx *c = arg;
    json_t *item = role_json(r);
    ATT_ENSURE(item != NULL && json_array_append_new(c->arr, item) == 0, ATT_ERR_NOMEM);
    return ATT_OK;
}

int att_admin_principal_show(struct att_admin *a, const char *name, char **json_out, char *err,
                             size_t err_len)
{
    struct att_principal_rec p;
    if (find_principal(a, name, &p, err, err_len) != 0) {
        return 1;
    }
    struct secrets_ctx sc = {json_array(), att_time_now()};
    struct roles_ctx rc = {json_array()};
    struct att_role_query q = {.kind = "principal", .subject = p.id};
    json_t *doc = principal_json(&p);
    att_err e = sc.arr != NULL && rc.arr != NULL && doc != NULL
                    ? att_store_secret_list(att_admin_store(a), p.id, collect_secret, &sc)
                    : ATT_ERR_NOMEM;
    if (e == ATT_OK) {
        e = att_store_role_list_for(att_admin_store(a), &q, collect_role, &rc);
    }
    if (e != ATT_OK) {
        json_decref(sc.arr);
        json_decref(rc.arr);
        json_decref(doc);
        return att_admin_fail(err, err_len, "cannot read principal '%s': %s", name, att_err_str(e));
    }
    json_object_set_new(doc, "secrets", sc.arr);
    json_object_set_new(doc, "roles", rc.arr);
    return att_admin_dump(doc, json_out, err, err_len);
}

int att_admin_principal_set_disabled(struct att_admin *a, const char *name, int disabled, char *err,
                                     size_t err_len)
{
    struct att_principal_rec p;
    if (find_principal(a, name, &p, err, err_len) != 0) {
        return 1;
    }
    /* Disabling may take away the last usable Owner: checked in the change's own transaction
     * (att_rbac_change_guarded), so a daemon on another node cannot race it. Enabling cannot. */
    att_err e = disabled != 0
                    ? att_rbac_change_guarded(att_admin_store(a), ATT_OWNER_PRINCIPAL_DISABLE, p.id)
                    : att_store_principal_set_disabled(att_admin_store(a), p.id, false);
    if (e == ATT_ERR_STATE) {
        return att_admin_fail(err, err_len,
                              "'%s' holds the last usable Owner role on all providers; assign "
                              "Owner to another principal first",
                              name);
    }
    return e == ATT_OK
               ? 0
               : att_admin_fail(err, err_len, "cannot change '%s': %s", name, att_err_str(e));
}

int att_admin_principal_delete(struct att_admin *a, const char *name, char *err, size_t err_len)
{
    struct att_principal_rec p;
    if (find_principal(a, name, &p, err, err_len) != 0) {
        return 1;
    }
    att_err e = att_rbac_change_guarded(att_admin_store(a), ATT_OWNER_PRINCIPAL_DELETE, p.id);
    if (e == ATT_ERR_STATE) {
        return att_admin_fail(err, err_len,
                              "'%s' holds the last Owner role on all providers; assign Owner "
                              "to another principal first",
                              name);
    }
    return e == ATT_OK
               ? 0
               : att_admin_fail(err, err_len, "cannot delete '%s': %s", name, att_err_str(e));
}

int att_admin_principal_set_cert(struct att_admin *a, const char *name, const char *cert_pem,
                                 char *err, size_t err_len)
{
    struct att_principal_rec p;
    unsigned char *der = NULL;
    int der_len = 0;
    if (find_principal(a, name, &p, err, err_len) != 0) {
        return 1;
    }
    if (cert_pem != NULL) {
        X509 *cert = att_admin_read_cert(cert_pem, err, err_len);
        if (cert == NULL) {
            return 1;
        }
        /* The DER as read: OpenSSL keeps the received encoding, so its hash is the mTLS one. */
        der_len = i2d_X509(cert, &der);
        X509_free(cert);
        if (der_len <= 0) {
            OPENSSL_free(der);
            return att_admin_fail(err, err_len, "%s: cannot encode the certificate", cert_pem);
        }
    }
    /* Both the SHA-256 (mutual TLS) and the DER (private_key_jwt), or neither (--clear). */
    att_err e = att_principal_set_cert(att_admin_store(a), p.id, der, (size_t)der_len);
    OPENSSL_free(der);
    if (e == ATT_ERR_TOO_LARGE) {
        return att_admin_fail(err, err_len, "%s: certificate larger than %d bytes", cert_pem,
                              ATT_PRINCIPAL_CERT_MAX);
    }
    return e == ATT_OK
               ? 0
               : att_admin_fail(err, err_len, "cannot change '%s': %s", name, att_err_str(e));
}

int att_admin_secret_add(struct att_admin *a, const char *name, int lifetime_days, char **json_out,
                         char *err, size_t err_len)
{
    struct att_principal_rec p;
    struct att_new_secret s;
    if (find_principal(a, name, &p, err, err_len) != 0) {
        return 1;
    }
    att_err e = att_principal_secret_add(att_admin_store(a), p.id, att_time_now(),
                                         lifetime_seconds(lifetime_days), &s);
    if (e == ATT_ERR_STATE) {
        return att_admin_fail(err, err_len, "'%s' has two active secrets already; revoke one first",
                              name);
    }
    if (e != ATT_OK) {
        return att_admin_fail(err, err_len, "cannot add a secret: %s", att_err_str(e));
    }
    int rc = att_admin_dump(new_secret_json(&p, &s), json_out, err, err_len);
    att_new_secret_wipe(&s);
    return rc;
}

int att_admin_secret_revoke(struct att_admin *a, const char *name, const char *secret_id, char *err,
                            size_t err_len)
{
    struct att_principal_rec p;
    if (find_principal(a, name, &p, err, err_len) != 0) {
        return 1;
    }
    att_err e = att_principal_secret_revoke(att_admin_store(a), p.id, secret_id, att_time_now());
    if (e == ATT_ERR_NOT_FOUND) {
        return att_admin_fail(err, err_len, "'%s' has no active secret '%s'", name, secret_id);
    }
    return e == ATT_OK ? 0 : att_admin_fail(err, err_len, "cannot revoke: %s", att_err_str(e));
}

int att_admin_role_assign(struct att_admin *a, const char *principal, const char *subject,
                          const char *group, const char *issuer, const char *role,
                          const char *provider, char **json_out, char *err, size_t err_len)
{
    struct att_role_rec r;
    struct att_principal_rec p;
    enum att_role parsed;
    memset(&r, 0, sizeof(r));
    int kinds = (principal != NULL) + (subject != NULL) + (group != NULL);
    if (kinds != 1) {
        return att_admin_fail(err, err_len, "give exactly one of --principal, --subject, --group");
    }
    if (role == NULL || att_role_parse(role, &parsed) != ATT_OK) {
        return att_admin_fail(err, err_len,
                              "--role must be Owner, AttestationContributor, "
                              "AttestationReader or Attester");
    }
    if ((principal != NULL) == (issuer != NULL)) {
        return att_admin_fail(err, err_len,
                              "--issuer is required with --subject and --group, and only there");
    }
    if (issuer != NULL && att_provider_issuer_check(issuer) != ATT_OK) {
        return att_admin_fail(err, err_len, "--issuer must be an https:// URL");
    }
    provider = provider != NULL ? provider : "*";
    struct att_provider_rec pr;
    if (strcmp(provider, "*") != 0 &&
        att_store_provider_get(att_admin_store(a), provider, &pr) != ATT_OK) {
        return att_admin_fail(err, err_len, "no provider named '%s'", provider);
    }
    if (principal != NULL && find_principal(a, principal, &p, err, err_len) != 0) {
        return 1;
    }
    const char *who = principal != NULL ? p.id : subject != NULL ? subject : group;
    const char *kind = principal != NULL ? "principal" : subject != NULL ? "subject" : "group";
    if (strlen(who) >= sizeof(r.subject)) {
        return att_admin_fail(err, err_len, "subject or group too long");
    }
    uint8_t rnd[16];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return att_admin_fail(err, err_len, "no randomness");
    }
    for (size_t i = 0; i < sizeof(rnd); i++) {
        snprintf(r.id + 2 * i, 3, "%02x", rnd[i]);
    }
    snprintf(r.subject_kind, sizeof(r.subject_kind), "%s", kind);
    snprintf(r.subject, sizeof(r.subject), "%s", who);
    snprintf(r.issuer, sizeof(r.issuer), "%s", issuer != NULL ? issuer : "");
    snprintf(r.role, sizeof(r.role), "%s", role);
    snprintf(r.provider, sizeof(r.provider), "%s", provider);
    r.created_at = att_time_now();
    att_err e = att_store_role_insert(att_admin_store(a), &r);
    if (e == ATT_ERR_EXISTS) {
        return att_admin_fail(err, err_len, "this role assignment exists already");
    }
    if (e != ATT_OK) {
        return att_admin_fail(err, err_len, "cannot assign: %s", att_err_str(e));
    }
    return att_admin_dump(role_json(&r), json_out, err, err_len);
}

int att_admin_role_list(struct att_admin *a, char **json_out, char *err, size_t err_len)
{
    struct roles_ctx c = {json_array()};
    att_err e =
        c.arr != NULL ? att_store_role_list(att_admin_store(a), collect_role, &c) : ATT_ERR_NOMEM;
    if (e != ATT_OK) {
        json_decref(c.arr);
        return att_admin_fail(err, err_len, "cannot list role assignments: %s", att_err_str(e));
    }
    return att_admin_dump(c.arr, json_out, err, err_len);
}

int att_admin_role_revoke(struct att_admin *a, const char *id, char *err, size_t err_len)
{
    att_err e = att_rbac_change_guarded(att_admin_store(a), ATT_OWNER_ROLE_DELETE, id);
    if (e == ATT_ERR_STATE) {
        return att_admin_fail(err, err_len,
                              "this is the last Owner assignment on all providers; assign "
                              "another Owner first");
    }
    if (e == ATT_ERR_NOT_FOUND) {
        return att_admin_fail(err, err_len, "no role assignment with id '%s'", id);
    }
    return e == ATT_OK ? 0 : att_admin_fail(err, err_len, "cannot revoke: %s", att_err_str(e));
}

char *att_admin_routes(void)
{
    return att_api_routes_json();
}
