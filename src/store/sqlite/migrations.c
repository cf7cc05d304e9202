/*
 * migrations.c - the SQLite schema, as numbered migrations compiled in.
 *
 * Input trust: the SQL below is ours; the database file is not (it may come
 * from a newer binary, which is refused rather than guessed at).
 *
 * Rules: a migration is never edited once released; changes go in a new
 * entry with the next version. Each migration runs in its own transaction
 * together with its schema_migrations row, so a crash leaves either all of
 * it or none. The version is re-read after taking the write lock, so two
 * processes opening a new database at once apply each migration only once.
 *
 * Versions: 1 providers, signing_keys, data_keys; 2 identity (auth_keys,
 * principals, principal_secrets, role_assignments); 3 principals.cert_der
 * (client certificates for private_key_jwt) and providers.attest_requires_auth; 4 policies
 * (providers.trust_model, policy_versions, policy_signers); 5 collateral (the newest Intel
 * collateral item per kind and key); 6 providers.collateral_grace; 7 signed policy requests
 * (providers.require_bound_requests, providers.policy_history_keep, policy_requests); 8
 * collateral also holds AMD SEV-SNP items (kinds amd_chain, amd_crl, amd_vcek; source kds); 9
 * providers.audit_fail_open and audit_checkpoint (the newest checkpoint of the audit trail,
 * whose records live in a database of their own: store/audit_db.h); 10 signing_keys.activate_at
 * and signing_keys.token_lifetime (signing-key rotation); 11 signing_keys.used_until; 12
 * providers.dcap_trust_anchors and providers.demo, collateral.scope (provider-scoped trust
 * anchors and their collateral); 13 store_changes (a change counter per topic; bumped by
 * PostgreSQL's triggers, where many nodes share the store; on SQLite, one node, it stays) and the
 * audit checkpoint per node; 14 cluster_secrets and used_challenges (challenges any node of a
 * shared store accepts once); 15 an index of principals by client certificate (mutual TLS
 * finds the caller without reading every principal).
 */
#include "store/sqlite/sqlite_int.h"

#include <stddef.h>
#include <stdint.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "store/store.h"

struct migration {
    int version;
    const char *sql;
};

static const struct migration migrations[] = {
    {
        1,
        /* The partial unique index allows any number of is_default = 0 rows
         * but only one row with is_default = 1. */
        "CREATE TABLE providers ("
        "  name TEXT PRIMARY KEY,"
        "  issuer TEXT NOT NULL,"
        "  signing_alg TEXT NOT NULL,"
        "  is_default INTEGER NOT NULL DEFAULT 0,"
        "  created_at INTEGER NOT NULL);"
        "CREATE UNIQUE INDEX providers_one_default ON providers(is_default)"
        "  WHERE is_default = 1;"
        "CREATE TABLE signing_keys ("
        "  kid TEXT PRIMARY KEY,"
        "  provider TEXT NOT NULL REFERENCES providers(name) ON DELETE CASCADE,"
        "  alg TEXT NOT NULL,"
        "  cert_der BLOB NOT NULL,"
        "  sealed_key BLOB NOT NULL,"
        "  created_at INTEGER NOT NULL);"
        /* Foreign-key children need an index, or each provider delete scans. */
        "CREATE INDEX signing_keys_provider ON signing_keys(provider, created_at);"
        "CREATE TABLE data_keys ("
        "  id TEXT PRIMARY KEY,"
        "  kek_id TEXT NOT NULL,"
        "  wrapped BLOB NOT NULL,"
        "  active INTEGER NOT NULL,"
        "  created_at INTEGER NOT NULL);",
    },
    {
        2,
        /* Keys of attestd's own access tokens: the signing_keys shape without a provider. */
        "CREATE TABLE auth_keys ("
        "  kid TEXT PRIMARY KEY,"
        "  alg TEXT NOT NULL,"
        "  cert_der BLOB NOT NULL,"
        "  sealed_key BLOB NOT NULL,"
        "  created_at INTEGER NOT NULL);"
        "CREATE TABLE principals ("
        "  id TEXT PRIMARY KEY,"
        "  name TEXT NOT NULL UNIQUE,"
        "  disabled INTEGER NOT NULL DEFAULT 0,"
        "  cert_sha256 TEXT NOT NULL DEFAULT '',"
        "  created_at INTEGER NOT NULL,"
        "  last_used_at INTEGER NOT NULL DEFAULT 0,"
        "  last_used_from TEXT NOT NULL DEFAULT '');"
        /* Secrets hold only slow hashes; they go with their principal. */
        "CREATE TABLE principal_secrets ("
        "  id TEXT PRIMARY KEY,"
        "  principal_id TEXT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,"
        "  hash TEXT NOT NULL,"
        "  created_at INTEGER NOT NULL,"
        "  expires_at INTEGER NOT NULL DEFAULT 0,"
        "  revoked_at INTEGER NOT NULL DEFAULT 0);"
        "CREATE INDEX principal_secrets_principal ON principal_secrets(principal_id);"
        /* No foreign key: a subject may be a principal id or an external claim
         * value; principal_delete removes a principal's assignments itself. */
        "CREATE TABLE role_assignments ("
        "  id TEXT PRIMARY KEY,"
        "  subject_kind TEXT NOT NULL"
        "    CHECK(subject_kind IN ('principal','subject','group')),"
        "  subject TEXT NOT NULL,"
        "  issuer TEXT NOT NULL DEFAULT '',"
        "  role TEXT NOT NULL,"
        "  provider TEXT NOT NULL,"
        "  created_at INTEGER NOT NULL,"
        "  UNIQUE(subject_kind, subject, issuer, role, provider));",
    },
    {
        3,
        /* The registered client certificate itself, not only its hash: its public key
         * verifies private_key_jwt assertions. NULL = none; rows registered before this
         * migration keep only cert_sha256 (mutual TLS) until registered again. */
        "ALTER TABLE principals ADD COLUMN cert_der BLOB;"
        /* Whether a provider's attestation routes need an authenticated caller. */
        "ALTER TABLE providers ADD COLUMN attest_requires_auth INTEGER NOT NULL DEFAULT 0;",
    },
    {
        4,
        /* MAA's trust models (docs/reference/maa-policy.md §4.1): 'AAD' or 'Isolated', fixed at
           creation. */
        "ALTER TABLE providers ADD COLUMN trust_model TEXT NOT NULL DEFAULT 'AAD'"
        "  CHECK(trust_model IN ('AAD','Isolated'));"
        /* Every policy set, reset and rollback, never changed or deleted; the JWS as sent is
         * sealed (table policy_versions, record id = id). Versions count from 1 per type. */
        "CREATE TABLE policy_versions ("
        "  id TEXT PRIMARY KEY,"
        "  provider TEXT NOT NULL REFERENCES providers(name) ON DELETE CASCADE,"
        "  type TEXT NOT NULL,"
        "  version INTEGER NOT NULL,"
        "  action TEXT NOT NULL CHECK(action IN ('set','reset','rollback')),"
        "  sealed_jws BLOB NOT NULL,"
        "  policy_hash TEXT NOT NULL,"
        "  signer_sha256 TEXT NOT NULL,"
        "  principal TEXT NOT NULL,"
        "  principal_name TEXT NOT NULL,"
        "  source TEXT NOT NULL,"
        "  created_at INTEGER NOT NULL,"
        "  rollback_of INTEGER NOT NULL DEFAULT 0,"
        "  UNIQUE(provider, type, version));"
        /* Trusted policy signer certificates of Isolated providers (§4.4). */
        "CREATE TABLE policy_signers ("
        "  provider TEXT NOT NULL REFERENCES providers(name) ON DELETE CASCADE,"
        "  sha256 TEXT NOT NULL,"
        "  sha1 TEXT NOT NULL,"
        "  cert_der BLOB NOT NULL,"
        "  created_at INTEGER NOT NULL,"
        "  PRIMARY KEY(provider, sha256));",
    },
    {
        5,
        /* Intel collateral (docs/reference/intel-collateral.md §4), the newest item per (kind,
         * key), shared by every node on this database and kept across restarts. body is the CRL DER
         * or the exact signed document text; signature is r || s (empty for CRLs); issuer_chain is
         * PEM text (empty for the Root CA CRL). Items are verified when loaded, not here. */
        "CREATE TABLE collateral ("
        "  kind TEXT NOT NULL"
        "    CHECK(kind IN ('root_crl','pck_crl','tcb_info','qe_identity')),"
        "  key TEXT NOT NULL,"
        "  sha256 TEXT NOT NULL,"
        "  body BLOB NOT NULL,"
        "  signature BLOB NOT NULL,"
        "  issuer_chain BLOB NOT NULL,"
        "  issued INTEGER NOT NULL,"
        "  next_update INTEGER NOT NULL,"
        "  eval_num INTEGER NOT NULL DEFAULT 0,"
        "  source TEXT NOT NULL CHECK(source IN ('pcs','import')),"
        "  stored_at INTEGER NOT NULL,"
        "  PRIMARY KEY(kind, key));",
    },
    {
        6,
        /* Seconds a provider lets collateral be used past its nextUpdate (0 .. 30 days,
         * checked by the store). */
        "ALTER TABLE providers ADD COLUMN collateral_grace INTEGER NOT NULL DEFAULT 0;",
    },
    {
        7,
        /* Whether a provider's signed policy changes must carry binding claims, and how many
         * policy versions per type it keeps (0 = all): both off for existing providers. */
        "ALTER TABLE providers ADD COLUMN require_bound_requests INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE providers ADD COLUMN policy_history_keep INTEGER NOT NULL DEFAULT 0;"
        /* Signed policy changes seen, by the SHA-256 of their JWS signing input: bound ones
         * until their window ends (expires_at), applied unbound sets for good (0). scope is
         * the attestation type, '' for signer changes. */
        "CREATE TABLE policy_requests ("
        "  provider TEXT NOT NULL REFERENCES providers(name) ON DELETE CASCADE,"
        "  scope TEXT NOT NULL,"
        "  digest TEXT NOT NULL,"
        "  expires_at INTEGER NOT NULL,"
        "  version INTEGER NOT NULL DEFAULT 0,"
        "  PRIMARY KEY(provider, scope, digest));"
        "CREATE INDEX policy_requests_expiry ON policy_requests(expires_at)"
        "  WHERE expires_at > 0;",
    },
    {
        8,
        /* AMD SEV-SNP collateral (docs/reference/amd-sev-snp.md §6.7) in the same table: the
         * ASK/ASVK chain and the CRL per product and chain, the VCEK per chip and TCB. SQLite
         * cannot change a CHECK, so the table is copied into one with the wider lists. */
        "CREATE TABLE collateral_v8 ("
        "  kind TEXT NOT NULL"
        "    CHECK(kind IN ('root_crl','pck_crl','tcb_info','qe_identity',"
        "                   'amd_chain','amd_crl','amd_vcek')),"
        "  key TEXT NOT NULL,"
        "  sha256 TEXT NOT NULL,"
        "  body BLOB NOT NULL,"
        "  signature BLOB NOT NULL,"
        "  issuer_chain BLOB NOT NULL,"
        "  issued INTEGER NOT NULL,"
        "  next_update INTEGER NOT NULL,"
        "  eval_num INTEGER NOT NULL DEFAULT 0,"
        "  source TEXT NOT NULL CHECK(source IN ('pcs','import','kds')),"
        "  stored_at INTEGER NOT NULL,"
        "  PRIMARY KEY(kind, key));"
        "INSERT INTO collateral_v8 SELECT kind, key, sha256, body, signature, issuer_chain, issued,"
        "  next_update, eval_num, source, stored_at FROM collateral;"
        "DROP TABLE collateral;"
        "ALTER TABLE collateral_v8 RENAME TO collateral;",
    },
    {
        9,
        "ALTER TABLE providers ADD COLUMN audit_fail_open INTEGER NOT NULL DEFAULT 0"
        "  CHECK(audit_fail_open IN (0, 1));"
        /* One row (id 1): the newest signed checkpoint, so a trail cut at its end is seen. */
        "CREATE TABLE audit_checkpoint ("
        "  id INTEGER PRIMARY KEY CHECK(id = 1),"
        "  seq INTEGER NOT NULL,"
        "  hash TEXT NOT NULL,"
        "  jws TEXT NOT NULL,"
        "  created_at INTEGER NOT NULL);",
    },
    {
        10,
        /* Signing-key rotation (docs/operations.md "Signing-key rotation"): a key signs from
         * activate_at (existing keys: since they were made) until the next key of its provider
         * activates; token_lifetime bounds the tokens it signed, so it can be destroyed once the
         * last of them has expired. */
        "ALTER TABLE signing_keys ADD COLUMN activate_at INTEGER NOT NULL DEFAULT 0;"
        "UPDATE signing_keys SET activate_at = created_at;"
        "ALTER TABLE signing_keys ADD COLUMN token_lifetime INTEGER NOT NULL DEFAULT 0;",
    },
    {
        11,
        /* The latest time a signer may have signed with the key (each attestd notes its
         * signing keys every look, attestctl the key of a test token): a retired key goes
         * only once the last of its tokens has expired, even when a daemon could not load
         * the next key for a while. */
        "ALTER TABLE signing_keys ADD COLUMN used_until INTEGER NOT NULL DEFAULT 0;",
    },
    {
        12,
        /* Provider-scoped DCAP trust anchors (docs/internals/demo.md): a provider may trust its
         * own roots (PEM; '' = the daemon's dcap_trust_anchors), and a demo provider is marked
         * (its tokens say so). Collateral is filed by the scope of the anchors it chains to:
         * '' for the daemon's, else the hex SHA-256 of the scoped anchors' keys, so a demo
         * root's TCB info for an FMSPC never replaces the real one. SQLite cannot change a
         * primary key, so the table is copied, every existing item into scope ''. */
        "ALTER TABLE providers ADD COLUMN dcap_trust_anchors TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE providers ADD COLUMN demo INTEGER NOT NULL DEFAULT 0 CHECK(demo IN (0, 1));"
        "CREATE TABLE collateral_v12 ("
        "  scope TEXT NOT NULL DEFAULT '',"
        "  kind TEXT NOT NULL"
        "    CHECK(kind IN ('root_crl','pck_crl','tcb_info','qe_identity',"
        "                   'amd_chain','amd_crl','amd_vcek')),"
        "  key TEXT NOT NULL,"
        "  sha256 TEXT NOT NULL,"
        "  body BLOB NOT NULL,"
        "  signature BLOB NOT NULL,"
        "  issuer_chain BLOB NOT NULL,"
        "  issued INTEGER NOT NULL,"
        "  next_update INTEGER NOT NULL,"
        "  eval_num INTEGER NOT NULL DEFAULT 0,"
        "  source TEXT NOT NULL CHECK(source IN ('pcs','import','kds')),"
        "  stored_at INTEGER NOT NULL,"
        "  PRIMARY KEY(scope, kind, key));"
        "INSERT INTO collateral_v12 SELECT '', kind, key, sha256, body, signature, issuer_chain,"
        "  issued, next_update, eval_num, source, stored_at FROM collateral;"
        "DROP TABLE collateral;"
        "ALTER TABLE collateral_v12 RENAME TO collateral;",
    },
    {
        13,
        /* What changed, per topic, for the nodes that share a PostgreSQL store (its triggers
         * bump these; store.h, att_store_changes). An SQLite store has one node, whose own
         * changes reach it through the admin socket or SIGHUP, so here the rows only exist. */
        "CREATE TABLE store_changes ("
        "  topic TEXT PRIMARY KEY,"
        "  seq INTEGER NOT NULL);"
        "INSERT INTO store_changes VALUES('providers', 0), ('collateral', 0);"
        /* The audit checkpoint per node: each node keeps an audit trail of its own, so one
         * row for all would make every node's trail look cut at another's end. The existing
         * checkpoint becomes node '' (att_config: node_name's value before it existed). */
        "CREATE TABLE audit_checkpoint_v13 ("
        "  node TEXT PRIMARY KEY,"
        "  seq INTEGER NOT NULL,"
        "  hash TEXT NOT NULL,"
        "  jws TEXT NOT NULL,"
        "  created_at INTEGER NOT NULL);"
        "INSERT INTO audit_checkpoint_v13 SELECT '', seq, hash, jws, created_at"
        "  FROM audit_checkpoint;"
        "DROP TABLE audit_checkpoint;"
        "ALTER TABLE audit_checkpoint_v13 RENAME TO audit_checkpoint;",
    },
    {
        14,
        /* Challenges that any node of a shared store issues and accepts once (attest/challenge.h):
         * the key they are sealed under, itself sealed (cluster_secrets), and the challenges
         * used, until they expire. A node on SQLite is alone and keeps both in memory. */
        "CREATE TABLE cluster_secrets ("
        "  name TEXT PRIMARY KEY,"
        "  sealed BLOB NOT NULL,"
        "  created_at INTEGER NOT NULL);"
        "CREATE TABLE used_challenges ("
        "  provider TEXT NOT NULL,"
        "  nonce TEXT NOT NULL,"
        "  expires_at INTEGER NOT NULL,"
        "  PRIMARY KEY(provider, nonce));"
        "CREATE INDEX used_challenges_expiry ON used_challenges(expires_at);",
    },
    {
        15,
        /* Mutual TLS looks the caller up by the SHA-256 of its client certificate on every
         * request (att_store_principal_get_by_cert). Partial: most principals have none (''),
         * and the lookup's own statement repeats the condition so that the index serves it.
         * Not UNIQUE: databases may hold one certificate registered twice already. */
        "CREATE INDEX principals_cert_sha256 ON principals(cert_sha256)"
        "  WHERE cert_sha256 <> '';",
    },
};

#define N_MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

int att_store_schema_latest(void)
{
    return migrations[N_MIGRATIONS - 1].version;
}

att_err att_sqlite_schema_version(sqlite3 *db, int *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", -1,
                                 &st, NULL);
    ATT_CHECK(src == SQLITE_OK, att_sqlite_err(src));
    src = sqlite3_step(st);
    ATT_CHECK(src == SQLITE_ROW, att_sqlite_err(src));
    ATT_CHECK(sqlite3_column_type(st, 0) == SQLITE_INTEGER, ATT_ERR_STORE_SCHEMA);
    sqlite3_int64 v = sqlite3_column_int64(st, 0);
    ATT_CHECK(v >= 0 && v <= INT32_MAX, ATT_ERR_STORE_SCHEMA);
    *out = (int)v;
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

static att_err record_version(sqlite3 *db, int version)
{
    att_err rc = ATT_ERR_INTERNAL;
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(
        db, "INSERT INTO schema_migrations(version, applied_at) VALUES(?1, ?2)", -1, &st, NULL);
    ATT_CHECK(src == SQLITE_OK, att_sqlite_err(src));
    src = sqlite3_bind_int(st, 1, version);
    ATT_CHECK(src == SQLITE_OK, att_sqlite_err(src));
    src = sqlite3_bind_int64(st, 2, att_time_now());
    ATT_CHECK(src == SQLITE_OK, att_sqlite_err(src));
    src = sqlite3_step(st);
    ATT_CHECK(src == SQLITE_DONE, att_sqlite_err(src));
    rc = ATT_OK;
out:
    sqlite3_finalize(st);
    return rc;
}

static att_err apply(sqlite3 *db, const struct migration *m)
{
    att_err rc = ATT_ERR_INTERNAL;
    int cur = 0;

    /* IMMEDIATE takes the write lock now, so the version read below stays true. */
    ATT_TRY(att_sqlite_exec(db, "BEGIN IMMEDIATE"));
    ATT_GUARD(att_sqlite_schema_version(db, &cur));
    ATT_CHECK(cur <= att_store_schema_latest(), ATT_ERR_STORE_SCHEMA);
    if (cur < m->version) {
        ATT_GUARD(att_sqlite_exec(db, m->sql));
        ATT_GUARD(record_version(db, m->version));
    }
    ATT_GUARD(att_sqlite_exec(db, "COMMIT"));
    rc = ATT_OK;
out:
    if (rc != ATT_OK) {
        att_err rb = att_sqlite_exec(db, "ROLLBACK"); /* nothing more to do if it fails */
        (void)rb;
        att_log(ATT_LOG_ERROR, "store: migration failed", "version", json_integer(m->version),
                "error", json_string(att_err_name(rc)), NULL);
        /* A busy database may succeed on retry; anything else is a schema problem. */
        if (rc != ATT_ERR_STORE_BUSY) {
            rc = ATT_ERR_STORE_SCHEMA;
        }
    }
    return rc;
}

att_err att_sqlite_migrate(sqlite3 *db)
{
    return att_sqlite_migrate_to(db, att_store_schema_latest());
}

att_err att_sqlite_migrate_to(sqlite3 *db, int version)
{
    int cur = 0;

    ATT_TRY(att_sqlite_exec(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                "  version INTEGER PRIMARY KEY,"
                                "  applied_at INTEGER NOT NULL)"));
    ATT_TRY(att_sqlite_schema_version(db, &cur));
    if (cur > att_store_schema_latest()) {
        att_log(ATT_LOG_ERROR, "store: database schema is newer than this binary", "schema_version",
                json_integer(cur), "supported", json_integer(att_store_schema_latest()), NULL);
        return ATT_ERR_STORE_SCHEMA;
    }
    for (size_t i = 0; i < N_MIGRATIONS; i++) {
        if (migrations[i].version > cur && migrations[i].version <= version) {
            ATT_TRY(apply(db, &migrations[i]));
        }
    }
    return ATT_OK;
}
