/*
 * columns.h - the columns of each kind of record, described once for both backends: the names
 * a SELECT lists (the same in SQLite's and PostgreSQL's dialect) and, in the same order, the
 * record field each column fills. A backend's row reader (att_sqlite_row, att_pg_row) reads a
 * result row into a record by this description, checking each column's type and that it fits
 * its field, and its binder (att_sqlite_bind_row, att_pg_args_row) gives an INSERT of the same
 * column list its values; so a record's columns are written down here and nowhere else.
 */
#ifndef ATT_STORE_COLUMNS_H
#define ATT_STORE_COLUMNS_H

#include <stddef.h>

/* One column: what kind of value, and where in the record it goes. */
struct att_store_col {
    char kind;  /* 't' text into a char array, 'i' int64_t, 'b' bool (0 or 1), 'B' att_buf */
    size_t off; /* of the field in the record */
    size_t cap; /* 't': the array's size, NUL included */
};

/* A record's columns, in SELECT order. */
struct att_store_row {
    const struct att_store_col *cols;
    size_t n;
};

#define ATT_COL_TEXT(T, f)                                                                         \
    {                                                                                              \
        't', offsetof(T, f), sizeof(((T *)0)->f)                                                   \
    }
#define ATT_COL_I64(T, f)                                                                          \
    {                                                                                              \
        'i', offsetof(T, f), 0                                                                     \
    }
#define ATT_COL_BOOL(T, f)                                                                         \
    {                                                                                              \
        'b', offsetof(T, f), 0                                                                     \
    }
#define ATT_COL_BUF(T, f)                                                                          \
    {                                                                                              \
        'B', offsetof(T, f), 0                                                                     \
    }
#define ATT_STORE_ROW(cols)                                                                        \
    {                                                                                              \
        (cols), sizeof(cols) / sizeof((cols)[0])                                                   \
    }

#define ATT_PROVIDER_COLUMNS                                                                       \
    "name, issuer, signing_alg, is_default, created_at, attest_requires_auth, trust_model, "       \
    "collateral_grace, require_bound_requests, policy_history_keep, audit_fail_open, "             \
    "dcap_trust_anchors, demo"
#define ATT_KEY_COLUMNS                                                                            \
    "kid, provider, alg, cert_der, sealed_key, created_at, activate_at, token_lifetime, "          \
    "used_until"
#define ATT_DEK_COLUMNS "id, kek_id, wrapped, active, created_at"
#define ATT_AUTH_KEY_COLUMNS "kid, alg, cert_der, sealed_key, created_at"
#define ATT_SECRET_COLUMNS "id, principal_id, hash, created_at, expires_at, revoked_at"
#define ATT_ROLE_COLUMNS "id, subject_kind, subject, issuer, role, provider, created_at"
#define ATT_VERSION_COLUMNS                                                                        \
    "id, provider, type, version, action, sealed_jws, policy_hash, signer_sha256, principal,"      \
    " principal_name, source, created_at, rollback_of"
#define ATT_REQUEST_COLUMNS "provider, scope, digest, expires_at, version"
#define ATT_SIGNER_COLUMNS "provider, sha256, sha1, cert_der, created_at"
#define ATT_COLLATERAL_COLUMNS                                                                     \
    "scope, kind, key, sha256, body, signature, issuer_chain, issued, next_update, eval_num,"      \
    " source, stored_at"

extern const struct att_store_row att_provider_row; /* struct att_provider_rec */
extern const struct att_store_row att_key_row;      /* struct att_key_rec */
extern const struct att_store_row att_dek_row;      /* struct att_dek_rec */
extern const struct att_store_row att_auth_key_row; /* struct att_key_rec, provider "" */
extern const struct att_store_row att_secret_row;   /* struct att_secret_rec */
/* The first seven columns of a principal (id ... last_used_from); its certificate, which each
 * backend reads its own way (a column that may be NULL), follows them. */
extern const struct att_store_row att_principal_row;  /* struct att_principal_rec */
extern const struct att_store_row att_role_row;       /* struct att_role_rec */
extern const struct att_store_row att_version_row;    /* struct att_policy_version_rec */
extern const struct att_store_row att_request_row;    /* struct att_policy_request_rec */
extern const struct att_store_row att_signer_row;     /* struct att_signer_rec */
extern const struct att_store_row att_collateral_row; /* struct att_collateral_rec */

#endif
