/*
 * rbac.c - role table and role-assignment decisions (see rbac.h).
 *
 * Input: an authenticated identity (already verified) and our own store.
 */
#include "auth/rbac.h"

#include <string.h>

static const char *const role_names[ATT_ROLE_COUNT] = {
    "Owner",
    "AttestationContributor",
    "AttestationReader",
    "Attester",
};

/*
 * What each role may do (docs/reference/maa-policy.md §5): Contributor = read + write (+ attest, as
 * MAA's Contributor includes read, which covers attesting on custom providers); Reader = read +
 * attest; Attester = attest only; Owner = everything.
 */
static bool grants(enum att_role r, enum att_perm p)
{
    switch (r) {
    case ATT_ROLE_OWNER: return true;
    case ATT_ROLE_CONTRIBUTOR:
        return p == ATT_PERM_READ || p == ATT_PERM_WRITE || p == ATT_PERM_ATTEST ||
               p == ATT_PERM_AUTHENTICATED || p == ATT_PERM_PUBLIC;
    case ATT_ROLE_READER:
        return p == ATT_PERM_READ || p == ATT_PERM_ATTEST || p == ATT_PERM_AUTHENTICATED ||
               p == ATT_PERM_PUBLIC;
    case ATT_ROLE_ATTESTER:
        return p == ATT_PERM_ATTEST || p == ATT_PERM_AUTHENTICATED || p == ATT_PERM_PUBLIC;
    default: return false;
    }
}

const char *att_role_name(enum att_role r)
{
    return (unsigned)r < ATT_ROLE_COUNT ? role_names[r] : "?";
}

att_err att_role_parse(const char *name, enum att_role *out)
{
    for (int i = 0; i < ATT_ROLE_COUNT; i++) {
        if (strcmp(name, role_names[i]) == 0) {
            *out = (enum att_role)i;
            return ATT_OK;
        }
    }
    return ATT_ERR_ARG;
}

const char *att_perm_name(enum att_perm p)
{
    switch (p) {
    case ATT_PERM_PUBLIC: return "public";
    case ATT_PERM_AUTHENTICATED: return "authenticated";
    case ATT_PERM_ATTEST: return "attest";
    case ATT_PERM_READ: return "read";
    case ATT_PERM_WRITE: return "write";
    case ATT_PERM_ADMIN: return "admin";
    default: return "?";
    }
}

bool att_role_grants(enum att_role r, enum att_perm p)
{
    return grants(r, p);
}

struct check {
    const struct att_identity *who;
    const char *provider;
    enum att_perm perm;
    bool allowed;
};

bool att_rbac_names(const struct att_role_rec *r, const struct att_identity *who)
{
    if (strcmp(who->kind, "principal") == 0) {
        return strcmp(r->subject_kind, "principal") == 0 && strcmp(r->subject, who->subject) == 0;
    }
    if (strcmp(r->issuer, who->issuer) != 0) {
        return false;
    }
    if (strcmp(r->subject_kind, "subject") == 0) {
        return strcmp(r->subject, who->subject) == 0;
    }
    if (strcmp(r->subject_kind, "group") == 0) {
        for (size_t i = 0; i < who->n_groups; i++) {
            if (strcmp(r->subject, who->groups[i]) == 0) {
                return true;
            }
        }
    }
    return false;
}

static att_err consider(const struct att_role_rec *r, void *arg)
{
    struct check *c = arg;
    enum att_role role;
    if (c->allowed || att_role_parse(r->role, &role) != ATT_OK) {
        return ATT_OK; /* an unknown role name in the store grants nothing */
    }
    bool scope = strcmp(r->provider, "*") == 0 || strcmp(r->provider, c->provider) == 0;
    if (scope && att_rbac_names(r, c->who) && grants(role, c->perm)) {
        c->allowed = true;
    }
    return ATT_OK;
}

struct owners {
    struct att_store *store;
    const char *except_role;
    const char *except_principal;
    size_t count;
};

static att_err count_owner(const struct att_role_rec *r, void *arg)
{
    struct owners *o = arg;
    struct att_principal_rec p;
    if (strcmp(r->role, "Owner") != 0 || strcmp(r->provider, "*") != 0 ||
        strcmp(r->subject_kind, "principal") != 0 ||
        (o->except_role != NULL && strcmp(r->id, o->except_role) == 0) ||
        (o->except_principal != NULL && strcmp(r->subject, o->except_principal) == 0)) {
        return ATT_OK;
    }
    att_err rc = att_store_principal_get(o->store, r->subject, &p);
    if (rc == ATT_OK && !p.disabled) {
        o->count++;
    }
    return rc == ATT_ERR_NOT_FOUND ? ATT_OK : rc;
}

att_err att_rbac_usable_owners(struct att_store *store, const char *except_role,
                               const char *except_principal, size_t *count)
{
    struct owners o = {store, except_role, except_principal, 0};
    ATT_TRY(att_store_role_list(store, count_owner, &o));
    *count = o.count;
    return ATT_OK;
}

att_err att_rbac_check(struct att_store *store, const struct att_identity *who,
                       const char *provider, enum att_perm perm, bool *allowed)
{
    struct check c = {who, provider != NULL ? provider : "", perm, false};
    if (perm == ATT_PERM_PUBLIC || perm == ATT_PERM_AUTHENTICATED) {
        *allowed = true;
        return ATT_OK;
    }
    for (size_t i = 0; i < who->n_token_roles; i++) {
        const struct att_token_role *t = &who->token_roles[i];
        bool scope = strcmp(t->provider, "*") == 0 || strcmp(t->provider, c.provider) == 0;
        if (scope && grants(t->role, perm)) {
            *allowed = true;
            return ATT_OK;
        }
    }
    ATT_TRY(att_store_role_list(store, consider, &c));
    *allowed = c.allowed;
    return ATT_OK;
}
