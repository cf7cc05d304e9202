/*
 * rbac.h - roles, permissions and the decision "may this caller do this here?".
 *
 * Roles follow MAA's data-plane roles (docs/reference/maa-policy.md §5): Owner (everything),
 * Attestation Contributor (read and change policies and signers), Attestation Reader (read them),
 * Attester (call /attest on providers that require authentication). A role is assigned to a
 * principal, an external subject or an external group, on one provider or on all ("*").
 * Every route names the one permission it needs (src/api/router.c).
 */
#ifndef ATT_AUTH_RBAC_H
#define ATT_AUTH_RBAC_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "store/store.h"

enum att_role {
    ATT_ROLE_OWNER,
    ATT_ROLE_CONTRIBUTOR,
    ATT_ROLE_READER,
    ATT_ROLE_ATTESTER,
    ATT_ROLE_COUNT,
};

enum att_perm {
    ATT_PERM_PUBLIC,        /* anyone: metadata, health, the token endpoint */
    ATT_PERM_AUTHENTICATED, /* any authenticated caller (e.g. "who am I") */
    ATT_PERM_ATTEST, /* the attest routes: public unless the provider requires authentication */
    ATT_PERM_READ,   /* read policies and signers */
    ATT_PERM_WRITE,  /* set/reset policies, add/remove signers */
    ATT_PERM_ADMIN,  /* providers, principals, role assignments, keys, backup */
};

/* Groups beyond these of an external token are ignored (groups only grant): all of them fit
 * one store query (att_store_role_list_for). */
#define ATT_IDENTITY_MAX_GROUPS 32
_Static_assert(ATT_IDENTITY_MAX_GROUPS <= ATT_STORE_ROLE_GROUPS_MAX,
               "a caller's groups fit one role query");
#define ATT_IDENTITY_MAX_TOKEN_ROLES 16

/* A role an external token carries (its roles claim through the issuer's role_map). */
struct att_token_role {
    enum att_role role;
    char provider[ATT_PROVIDER_NAME_MAX + 1]; /* a provider name, or "*" */
};

/* Who the caller is, once authenticated. */
struct att_identity {
    char kind[16];     /* "principal" (attestd's own) or "subject" (an external issuer's) */
    char subject[256]; /* principal id, or the external subject claim */
    char issuer[512];  /* "" for principals */
    char name[64];     /* principal name, or the external issuer's configured name; for logs */
    char groups[ATT_IDENTITY_MAX_GROUPS][128]; /* external groups claim (first N kept) */
    size_t n_groups;
    struct att_token_role token_roles[ATT_IDENTITY_MAX_TOKEN_ROLES];
    size_t n_token_roles;
};

const char *att_role_name(enum att_role r);
/* "Owner", "AttestationContributor", "AttestationReader", "Attester". */
att_err att_role_parse(const char *name, enum att_role *out) ATT_WUR;
const char *att_perm_name(enum att_perm p);
/* The fixed role -> permission table. */
bool att_role_grants(enum att_role r, enum att_perm p);

/* Whether assignment `r` names `who` (by principal id, external subject or group + issuer). */
bool att_rbac_names(const struct att_role_rec *r, const struct att_identity *who);

/*
 * The role assignments that name `who` (att_rbac_names), oldest first, from one store query
 * that reads no other row (att_store_role_list_for). Callback and errors as the store's.
 */
att_err att_rbac_assignments(struct att_store *store, const struct att_identity *who,
                             att_store_role_cb cb, void *arg) ATT_WUR;

/*
 * How many Owner-on-all-providers assignments can still be used to administer attestd,
 * leaving out assignment `except_role` and principal `except_principal` (either may be NULL):
 * only those held by existing, enabled principals count (an external subject's Owner cannot
 * be used while its issuer is not trusted). One store query. On its own it is a snapshot; the
 * guard against locking everyone out is att_rbac_change_guarded, which counts under a lock.
 */
att_err att_rbac_usable_owners(struct att_store *store, const char *except_role,
                               const char *except_principal, size_t *count) ATT_WUR;

/* A change that may take away a usable Owner (att_rbac_change_guarded). */
enum att_owner_change {
    ATT_OWNER_ROLE_DELETE,       /* delete role assignment `id` */
    ATT_OWNER_PRINCIPAL_DISABLE, /* disable principal `id` */
    ATT_OWNER_PRINCIPAL_DELETE,  /* delete principal `id`, its secrets and assignments */
};

/*
 * Make `change` unless it would leave no usable Owner on all providers while there is one now
 * (nobody could administer attestd over REST again): ATT_ERR_STATE, and nothing changes.
 * Counting, checking and changing happen in one store transaction that holds the identity lock
 * (att_store_identity_lock), which every such change takes: of concurrent changes - threads of
 * one process or attestd and attestctl on nodes sharing one database - each counts after the
 * ones before it have committed, so they cannot together remove the last Owner. `store` is not
 * a transaction's handle (no nesting). ATT_ERR_NOT_FOUND when the assignment or principal is
 * absent; store errors (ATT_ERR_STORE_BUSY when the lock could not be had in time).
 */
att_err att_rbac_change_guarded(struct att_store *store, enum att_owner_change change,
                                const char *id) ATT_WUR;

/*
 * Decide whether `who` holds `perm` on `provider` through a role its token carries or any role
 * assignment in the store (by principal id, by external subject and issuer, or by one of its
 * groups and issuer), read with one targeted query (att_rbac_assignments).
 * *allowed is false, not an error, when no assignment grants it.
 */
att_err att_rbac_check(struct att_store *store, const struct att_identity *who,
                       const char *provider, enum att_perm perm, bool *allowed) ATT_WUR;

#endif
