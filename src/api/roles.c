/*
 * roles.c - Owner-only REST routes for role assignments, and "who am I".
 *
 *   GET  /attestd/whoami                   any authenticated caller: identity and its roles
 *   GET  /attestd/roleAssignments          list
 *   POST /attestd/roleAssignments          {"subjectKind","subject","issuer"?,"role","provider"}
 *   POST /attestd/roleAssignments:remove   {"id"}
 *
 * (and, deprecated until the next release, the same under /admin/: src/api/router.c)
 *
 * Input: JSON bodies from authenticated Owners (still validated field by field).
 */
#include "api/api.h"

#include <jansson.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/timeutil.h"

static void send_json(struct att_http_response *resp, int status, json_t *doc)
{
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (text == NULL || att_http_response_json(resp, status, text, strlen(text)) != ATT_OK) {
        att_http_error(resp, 500, "InternalServerError", "cannot encode the answer");
    }
    free(text);
    json_decref(doc);
}

static json_t *role_json(const struct att_role_rec *r)
{
    char created[32];
    att_time_format(r->created_at, created, sizeof(created));
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", r->id, "subjectKind", r->subject_kind,
                     "subject", r->subject, "issuer", r->issuer, "role", r->role, "provider",
                     r->provider, "created", created);
}

struct collect {
    json_t *arr;
    bool brief; /* whoami: role and provider only */
};

static att_err collect_role(const struct att_role_rec *r, void *arg)
{
    struct collect *c = arg;
    json_t *item =
        c->brief ? json_pack("{s:s,s:s}", "role", r->role, "provider", r->provider) : role_json(r);
    ATT_ENSURE(item != NULL && json_array_append_new(c->arr, item) == 0, ATT_ERR_NOMEM);
    return ATT_OK;
}

void att_api_whoami(const struct att_api_call *call, struct att_http_response *resp)
{
    struct collect c = {json_array(), true};
    /* Only the caller's own assignments are read (by principal id, or subject and groups). */
    if (c.arr == NULL ||
        att_rbac_assignments(call->api->store, call->who, collect_role, &c) != ATT_OK) {
        json_decref(c.arr);
        att_http_error(resp, 500, "InternalServerError", "cannot read role assignments");
        return;
    }
    const struct att_identity *who = call->who;
    json_t *doc = json_pack("{s:s,s:s,s:s,s:o}", "kind", who->kind, "subject", who->subject, "name",
                            who->name, "roles", c.arr);
    if (doc != NULL && strcmp(who->kind, "subject") == 0) {
        /* An external caller: its issuer, its groups, and the roles its token carries. */
        json_t *groups = json_array();
        json_t *token_roles = json_array();
        for (size_t i = 0; i < who->n_groups; i++) {
            json_array_append_new(groups, json_string(who->groups[i]));
        }
        for (size_t i = 0; i < who->n_token_roles; i++) {
            json_array_append_new(token_roles, json_pack("{s:s,s:s}", "role",
                                                         att_role_name(who->token_roles[i].role),
                                                         "provider", who->token_roles[i].provider));
        }
        json_object_set_new(doc, "issuer", json_string(who->issuer));
        json_object_set_new(doc, "groups", groups);
        json_object_set_new(doc, "tokenRoles", token_roles);
    }
    send_json(resp, 200, doc);
}

void att_api_roles_list(const struct att_api_call *call, struct att_http_response *resp)
{
    struct collect c = {json_array(), false};
    if (c.arr == NULL || att_store_role_list(call->api->store, collect_role, &c) != ATT_OK) {
        json_decref(c.arr);
        att_http_error(resp, 500, "InternalServerError", "cannot read role assignments");
        return;
    }
    send_json(resp, 200, json_pack("{s:o}", "roleAssignments", c.arr));
}

static json_t *parse_body(const struct att_api_call *call, struct att_http_response *resp)
{
    json_error_t err;
    json_t *body = json_loadb((const char *)call->req->body, call->req->body_len,
                              JSON_REJECT_DUPLICATES, &err);
    if (!json_is_object(body)) {
        json_decref(body);
        att_http_error(resp, 400, "InvalidParameter", "the body must be a JSON object");
        return NULL;
    }
    return body;
}

/* Copy a string member into out; false (and a 400) when missing, not a string or too long. */
static bool member(json_t *body, const char *name, bool required, char *out, size_t cap,
                   struct att_http_response *resp)
{
    json_t *v = json_object_get(body, name);
    out[0] = 0;
    if (v == NULL && !required) {
        return true;
    }
    const char *s = json_string_value(v);
    if (s == NULL || strlen(s) == 0 || strlen(s) >= cap) {
        char msg[128];
        snprintf(msg, sizeof(msg), "'%s' must be a non-empty string of at most %zu characters",
                 name, cap - 1);
        att_http_error(resp, 400, "InvalidParameter", msg);
        return false;
    }
    memcpy(out, s, strlen(s) + 1);
    return true;
}

void att_api_roles_add(const struct att_api_call *call, struct att_http_response *resp)
{
    struct att_role_rec r;
    enum att_role role;
    memset(&r, 0, sizeof(r));
    json_t *body = parse_body(call, resp);
    if (body == NULL) {
        return;
    }
    bool ok = member(body, "subjectKind", true, r.subject_kind, sizeof(r.subject_kind), resp) &&
              member(body, "subject", true, r.subject, sizeof(r.subject), resp) &&
              member(body, "issuer", false, r.issuer, sizeof(r.issuer), resp) &&
              member(body, "role", true, r.role, sizeof(r.role), resp) &&
              member(body, "provider", true, r.provider, sizeof(r.provider), resp);
    json_decref(body);
    if (!ok) {
        return;
    }
    bool principal = strcmp(r.subject_kind, "principal") == 0;
    if (!principal && strcmp(r.subject_kind, "subject") != 0 &&
        strcmp(r.subject_kind, "group") != 0) {
        att_http_error(resp, 400, "InvalidParameter",
                       "subjectKind must be principal, subject or group");
        return;
    }
    if (principal != (r.issuer[0] == 0)) {
        att_http_error(resp, 400, "InvalidParameter",
                       "issuer is required for external subjects and groups, and only for them");
        return;
    }
    if (att_role_parse(r.role, &role) != ATT_OK) {
        att_http_error(resp, 400, "InvalidParameter",
                       "role must be Owner, AttestationContributor, AttestationReader or Attester");
        return;
    }
    if (strcmp(r.provider, "*") != 0 &&
        att_provider_set_find(call->providers, r.provider, strlen(r.provider)) == NULL) {
        att_http_error(resp, 404, "NotFound", "no such attestation provider");
        return;
    }
    struct att_principal_rec p;
    if (principal && att_store_principal_get(call->api->store, r.subject, &p) != ATT_OK) {
        att_http_error(resp, 404, "NotFound", "no principal with this client id");
        return;
    }
    uint8_t rnd[16];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        att_http_error(resp, 500, "InternalServerError", "no randomness");
        return;
    }
    for (size_t i = 0; i < sizeof(rnd); i++) {
        snprintf(r.id + 2 * i, 3, "%02x", rnd[i]);
    }
    r.created_at = att_time_now();
    att_err rc = att_store_role_insert(call->api->store, &r);
    if (rc == ATT_ERR_EXISTS) {
        att_http_error(resp, 409, "Conflict", "this role assignment exists already");
        return;
    }
    if (rc != ATT_OK) {
        att_http_error(resp, 500, "InternalServerError", "cannot store the role assignment");
        return;
    }
    att_log(ATT_LOG_INFO, "role assigned", "by", json_string(call->who->subject), "id",
            json_string(r.id), "subject", json_string(r.subject), "role", json_string(r.role),
            "provider", json_string(r.provider), NULL);
    att_api_audit_note(call, "assignment", role_json(&r));
    send_json(resp, 201, role_json(&r));
}

void att_api_roles_remove(const struct att_api_call *call, struct att_http_response *resp)
{
    char id[33];
    json_t *body = parse_body(call, resp);
    if (body == NULL) {
        return;
    }
    bool ok = member(body, "id", true, id, sizeof(id), resp);
    json_decref(body);
    if (!ok) {
        return;
    }
    /* Never lock everyone out: one usable Owner on all providers must remain. Checked and
     * removed in one transaction under the identity lock, so that this holds across threads,
     * processes and nodes sharing the database (att_rbac_change_guarded). */
    att_err rc = att_rbac_change_guarded(call->api->store, ATT_OWNER_ROLE_DELETE, id);
    if (rc == ATT_ERR_NOT_FOUND) {
        att_http_error(resp, 404, "NotFound", "no role assignment with this id");
        return;
    }
    if (rc == ATT_ERR_STATE) {
        att_http_error(resp, 409, "Conflict",
                       "the last usable Owner assignment on all providers cannot be removed");
        return;
    }
    if (rc != ATT_OK) {
        att_http_error(resp, 500, "InternalServerError", "cannot remove the role assignment");
        return;
    }
    att_log(ATT_LOG_INFO, "role removed", "by", json_string(call->who->subject), "id",
            json_string(id), NULL);
    att_api_audit_note(call, "assignmentId", json_string(id));
    send_json(resp, 200, json_pack("{s:s,s:b}", "id", id, "removed", 1));
}
