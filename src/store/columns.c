/*
 * columns.c - the column descriptions of columns.h, in the order of their *_COLUMNS lists.
 */
#include "store/columns.h"

#include "store/store.h"

typedef struct att_provider_rec provider_t;
static const struct att_store_col provider_cols[] = {
    ATT_COL_TEXT(provider_t, name),
    ATT_COL_TEXT(provider_t, issuer),
    ATT_COL_TEXT(provider_t, signing_alg),
    ATT_COL_BOOL(provider_t, is_default),
    ATT_COL_I64(provider_t, created_at),
    ATT_COL_BOOL(provider_t, attest_requires_auth),
    ATT_COL_TEXT(provider_t, trust_model),
    ATT_COL_I64(provider_t, collateral_grace),
    ATT_COL_BOOL(provider_t, require_bound_requests),
    ATT_COL_I64(provider_t, policy_history_keep),
    ATT_COL_BOOL(provider_t, audit_fail_open),
    ATT_COL_TEXT(provider_t, dcap_trust_anchors),
    ATT_COL_BOOL(provider_t, demo),
};
const struct att_store_row att_provider_row = ATT_STORE_ROW(provider_cols);

typedef struct att_key_rec key_rec_t;
static const struct att_store_col key_cols[] = {
    ATT_COL_TEXT(key_rec_t, kid),        ATT_COL_TEXT(key_rec_t, provider),
    ATT_COL_TEXT(key_rec_t, alg),        ATT_COL_BUF(key_rec_t, cert_der),
    ATT_COL_BUF(key_rec_t, sealed_key),  ATT_COL_I64(key_rec_t, created_at),
    ATT_COL_I64(key_rec_t, activate_at), ATT_COL_I64(key_rec_t, token_lifetime),
    ATT_COL_I64(key_rec_t, used_until),
};
const struct att_store_row att_key_row = ATT_STORE_ROW(key_cols);

static const struct att_store_col auth_key_cols[] = {
    ATT_COL_TEXT(key_rec_t, kid),       ATT_COL_TEXT(key_rec_t, alg),
    ATT_COL_BUF(key_rec_t, cert_der),   ATT_COL_BUF(key_rec_t, sealed_key),
    ATT_COL_I64(key_rec_t, created_at),
};
const struct att_store_row att_auth_key_row = ATT_STORE_ROW(auth_key_cols);

typedef struct att_dek_rec dek_t;
static const struct att_store_col dek_cols[] = {
    ATT_COL_TEXT(dek_t, id),     ATT_COL_TEXT(dek_t, kek_id),    ATT_COL_BUF(dek_t, wrapped),
    ATT_COL_BOOL(dek_t, active), ATT_COL_I64(dek_t, created_at),
};
const struct att_store_row att_dek_row = ATT_STORE_ROW(dek_cols);

typedef struct att_secret_rec secret_t;
static const struct att_store_col secret_cols[] = {
    ATT_COL_TEXT(secret_t, id),        ATT_COL_TEXT(secret_t, principal_id),
    ATT_COL_TEXT(secret_t, hash),      ATT_COL_I64(secret_t, created_at),
    ATT_COL_I64(secret_t, expires_at), ATT_COL_I64(secret_t, revoked_at),
};
const struct att_store_row att_secret_row = ATT_STORE_ROW(secret_cols);

typedef struct att_principal_rec principal_t;
static const struct att_store_col principal_cols[] = {
    ATT_COL_TEXT(principal_t, id),
    ATT_COL_TEXT(principal_t, name),
    ATT_COL_BOOL(principal_t, disabled),
    ATT_COL_TEXT(principal_t, cert_sha256),
    ATT_COL_I64(principal_t, created_at),
    ATT_COL_I64(principal_t, last_used_at),
    ATT_COL_TEXT(principal_t, last_used_from),
};
const struct att_store_row att_principal_row = ATT_STORE_ROW(principal_cols);

typedef struct att_role_rec role_t;
static const struct att_store_col role_cols[] = {
    ATT_COL_TEXT(role_t, id),        ATT_COL_TEXT(role_t, subject_kind),
    ATT_COL_TEXT(role_t, subject),   ATT_COL_TEXT(role_t, issuer),
    ATT_COL_TEXT(role_t, role),      ATT_COL_TEXT(role_t, provider),
    ATT_COL_I64(role_t, created_at),
};
const struct att_store_row att_role_row = ATT_STORE_ROW(role_cols);

typedef struct att_policy_version_rec version_t;
static const struct att_store_col version_cols[] = {
    ATT_COL_TEXT(version_t, id),          ATT_COL_TEXT(version_t, provider),
    ATT_COL_TEXT(version_t, type),        ATT_COL_I64(version_t, version),
    ATT_COL_TEXT(version_t, action),      ATT_COL_BUF(version_t, sealed_jws),
    ATT_COL_TEXT(version_t, policy_hash), ATT_COL_TEXT(version_t, signer_sha256),
    ATT_COL_TEXT(version_t, principal),   ATT_COL_TEXT(version_t, principal_name),
    ATT_COL_TEXT(version_t, source),      ATT_COL_I64(version_t, created_at),
    ATT_COL_I64(version_t, rollback_of),
};
const struct att_store_row att_version_row = ATT_STORE_ROW(version_cols);

typedef struct att_policy_request_rec request_t;
static const struct att_store_col request_cols[] = {
    ATT_COL_TEXT(request_t, provider), ATT_COL_TEXT(request_t, scope),
    ATT_COL_TEXT(request_t, digest),   ATT_COL_I64(request_t, expires_at),
    ATT_COL_I64(request_t, version),
};
const struct att_store_row att_request_row = ATT_STORE_ROW(request_cols);

typedef struct att_signer_rec signer_t;
static const struct att_store_col signer_cols[] = {
    ATT_COL_TEXT(signer_t, provider),  ATT_COL_TEXT(signer_t, sha256),
    ATT_COL_TEXT(signer_t, sha1),      ATT_COL_BUF(signer_t, cert_der),
    ATT_COL_I64(signer_t, created_at),
};
const struct att_store_row att_signer_row = ATT_STORE_ROW(signer_cols);

typedef struct att_collateral_rec coll_t;
static const struct att_store_col collateral_cols[] = {
    ATT_COL_TEXT(coll_t, scope),       ATT_COL_TEXT(coll_t, kind),
    ATT_COL_TEXT(coll_t, key),         ATT_COL_TEXT(coll_t, sha256),
    ATT_COL_BUF(coll_t, body),         ATT_COL_BUF(coll_t, signature),
    ATT_COL_BUF(coll_t, issuer_chain), ATT_COL_I64(coll_t, issued),
    ATT_COL_I64(coll_t, next_update),  ATT_COL_I64(coll_t, eval_num),
    ATT_COL_TEXT(coll_t, source),      ATT_COL_I64(coll_t, stored_at),
};
const struct att_store_row att_collateral_row = ATT_STORE_ROW(collateral_cols);
