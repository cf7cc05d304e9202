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
    /* The query named `who` already; att_rbac_names checks the row again, for nothing else
     * than that a row the store answered by mistake grants nothing. */
    bool scope = strcmp(r->provider, "*") == 0 || strcmp(r->provider, c->provider) == 0;
    if (scope && att_rbac_names(r, c->who) && grants(role, c->perm)) {
        c->allowed = true;
    }
    return ATT_OK;
}

att_err att_rbac_assignments(struct att_store *store, const struct att_identity *who,
                             att_store_role_cb cb, void *arg)
{
    struct att_role_query q;
    bool principal = strcmp(who->kind, "principal") == 0;
    memset(&q, 0, sizeof(q));
    q.kind = principal ? "principal" : "subject"; /* as att_rbac_names reads the kind */
    q.subject = who->subject;
    q.issuer = who->issuer;
    if (!principal) {
        q.n_groups =
            who->n_groups < ATT_IDENTITY_MAX_GROUPS ? who->n_groups : ATT_IDENTITY_MAX_GROUPS;
        for (size_t i = 0; i < q.n_groups; i++) {
            q.groups[i] = who->groups[i];
        }
    }
    return att_store_role_list_for(store, &q, cb, arg);
}

att_err att_rbac_usable_owners(struct att_store *store, const char *except_role,
                               const char *except_principal, size_t *count)
{
    int64_t n = 0;
    ATT_TRY(att_store_role_count_enabled(store, role_names[ATT_ROLE_OWNER], "*", except_role,
                                         except_principal, &n));
    ATT_ENSURE(n >= 0, ATT_ERR_STORE);
    *count = (size_t)n;
    return ATT_OK;
}

/* Whether deleting assignment `r` can change the count of usable Owners at all. */
static bool counts_as_owner(const struct att_role_rec *r)
{
    return strcmp(r->subject_kind, "principal") == 0 &&
           strcmp(r->role, role_names[ATT_ROLE_OWNER]) == 0 && strcmp(r->provider, "*") == 0;
}

/* att_rbac_change_guarded's work, on its transaction. */
static att_err change_locked(struct att_store *tx, enum att_owner_change change, const char *id)
{
    struct att_role_rec r;
    size_t before = 0;
    size_t after = 0;
    bool role = change == ATT_OWNER_ROLE_DELETE;

    /* The lock first: every count below then sees what changes before this one committed. */
    ATT_TRY(att_store_identity_lock(tx));
    if (role) {
        ATT_TRY(att_store_role_get(tx, id, &r));
    }
    if (!role || counts_as_owner(&r)) {
        ATT_TRY(att_rbac_usable_owners(tx, NULL, NULL, &before));
        ATT_TRY(att_rbac_usable_owners(tx, role ? id : NULL, role ? NULL : id, &after));
        /* Never lock everyone out: one usable Owner on all providers must remain. */
        ATT_ENSURE(before == 0 || after > 0, ATT_ERR_STATE);
    }
    switch (change) {
    case ATT_OWNER_ROLE_DELETE: return att_store_role_delete(tx, id);
    case ATT_OWNER_PRINCIPAL_DISABLE: return att_store_principal_set_disabled(tx, id, true);
    case ATT_OWNER_PRINCIPAL_DELETE: return att_store_principal_delete(tx, id);
    default: return ATT_ERR_ARG;
    }
}

att_err att_rbac_change_guarded(struct att_store *store, enum att_owner_change change,
                                const char *id)
{
    struct att_store *tx = NULL;
    ATT_ENSURE(store != NULL && id != NULL, ATT_ERR_ARG);
    ATT_TRY(att_store_begin(store, &tx));
    att_err rc = change_locked(tx, change, id);
    if (rc != ATT_OK) {
        att_ignore_err(att_store_rollback(tx)); /* the first error is the one to report */
        return rc;
    }
    return att_store_commit(tx);
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
    ATT_TRY(att_rbac_assignments(store, who, consider, &c));
    *allowed = c.allowed;
    return ATT_OK;
}
