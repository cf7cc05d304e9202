/*
 * migrations.c - the PostgreSQL schema: the SQLite migrations (store/sqlite/migrations.c),
 * numbered alike and making the same tables, in PostgreSQL's dialect.
 *
 * Rules, as for SQLite: a migration is never edited once released; a change is a new entry
 * with the next version, written in both dialects. Each migration runs in one transaction with
 * its schema_migrations row, under a transaction-level advisory lock, so nodes starting
 * together against a new database apply each migration exactly once (the version is read again
 * once the lock is held).
 *
 * Dialect: integers are BIGINT (booleans too, 0 or 1, as in SQLite), blobs BYTEA; columns
 * SQLite could only change by copying a table (migrations 8 and 12) are altered in place.
 * Tables whose lists break ties by insertion order (SQLite's rowid) have row_id, an identity
 * column: use "ORDER BY ..., row_id" where the SQLite queries say "rowid".
 */
#include "store/postgres/pg_int.h"

#include <stdint.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "store/store.h"

/* pg_advisory_xact_lock's key for migrations: "attestd" in ASCII, read as a number. */
#define MIGRATION_LOCK "SELECT pg_advisory_xact_lock(61747465737464)"

struct migration {
    int version;
    const char *sql;
};

static const struct migration migrations[] = {
    {1, "CREATE TABLE providers ("
        "  name TEXT PRIMARY KEY,"
        "  issuer TEXT NOT NULL,"
        "  signing_alg TEXT NOT NULL,"
        "  is_default BIGINT NOT NULL DEFAULT 0,"
        "  created_at BIGINT NOT NULL);"
        "CREATE UNIQUE INDEX providers_one_default ON providers(is_default)"
        "  WHERE is_default = 1;"
        "CREATE TABLE signing_keys ("
        "  row_id BIGINT GENERATED ALWAYS AS IDENTITY,"
        "  kid TEXT PRIMARY KEY,"
        "  provider TEXT NOT NULL REFERENCES providers(name) ON DELETE CASCADE,"
        "  alg TEXT NOT NULL,"
        "  cert_der BYTEA NOT NULL,"
        "  sealed_key BYTEA NOT NULL,"
        "  created_at BIGINT NOT NULL);"
        "CREATE INDEX signing_keys_provider ON signing_keys(provider, created_at);"
        "CREATE TABLE data_keys ("
        "  row_id BIGINT GENERATED ALWAYS AS IDENTITY,"
        "  id TEXT PRIMARY KEY,"
        "  kek_id TEXT NOT NULL,"
        "  wrapped BYTEA NOT NULL,"
        "  active BIGINT NOT NULL,"
        "  created_at BIGINT NOT NULL);"},
    {2, "CREATE TABLE auth_keys ("
        "  row_id BIGINT GENERATED ALWAYS AS IDENTITY,"
        "  kid TEXT PRIMARY KEY,"
        "  alg TEXT NOT NULL,"
        "  cert_der BYTEA NOT NULL,"
        "  sealed_key BYTEA NOT NULL,"
        "  created_at BIGINT NOT NULL);"
        "CREATE TABLE principals ("
        "  id TEXT PRIMARY KEY,"
        "  name TEXT NOT NULL UNIQUE,"
        "  disabled BIGINT NOT NULL DEFAULT 0,"
        "  cert_sha256 TEXT NOT NULL DEFAULT '',"
        "  created_at BIGINT NOT NULL,"
        "  last_used_at BIGINT NOT NULL DEFAULT 0,"
        "  last_used_from TEXT NOT NULL DEFAULT '');"
        "CREATE TABLE principal_secrets ("
        "  row_id BIGINT GENERATED ALWAYS AS IDENTITY,"
        "  id TEXT PRIMARY KEY,"
        "  principal_id TEXT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,"
        "  hash TEXT NOT NULL,"
        "  created_at BIGINT NOT NULL,"
        "  expires_at BIGINT NOT NULL DEFAULT 0,"
        "  revoked_at BIGINT NOT NULL DEFAULT 0);"
        "CREATE INDEX principal_secrets_principal ON principal_secrets(principal_id);"
        "CREATE TABLE role_assignments ("
        "  row_id BIGINT GENERATED ALWAYS AS IDENTITY,"
        "  id TEXT PRIMARY KEY,"
        "  subject_kind TEXT NOT NULL"
        "    CHECK(subject_kind IN ('principal','subject','group')),"
        "  subject TEXT NOT NULL,"
        "  issuer TEXT NOT NULL DEFAULT '',"
        "  role TEXT NOT NULL,"
        "  provider TEXT NOT NULL,"
        "  created_at BIGINT NOT NULL,"
        "  UNIQUE(subject_kind, subject, issuer, role, provider));"},
    {3, "ALTER TABLE principals ADD COLUMN cert_der BYTEA;"
        "ALTER TABLE providers ADD COLUMN attest_requires_auth BIGINT NOT NULL DEFAULT 0;"},
    {4, "ALTER TABLE providers ADD COLUMN trust_model TEXT NOT NULL DEFAULT 'AAD'"
        "  CHECK(trust_model IN ('AAD','Isolated'));"
        "CREATE TABLE policy_versions ("
        "  id TEXT PRIMARY KEY,"
        "  provider TEXT NOT NULL REFERENCES providers(name) ON DELETE CASCADE,"
        "  type TEXT NOT NULL,"
        "  version BIGINT NOT NULL,"
        "  action TEXT NOT NULL CHECK(action IN ('set','reset','rollback')),"
        "  sealed_jws BYTEA NOT NULL,"
        "  policy_hash TEXT NOT NULL,"
        "  signer_sha256 TEXT NOT NULL,"
        "  principal TEXT NOT NULL,"
        "  principal_name TEXT NOT NULL,"
        "  source TEXT NOT NULL,"
        "  created_at BIGINT NOT NULL,"
        "  rollback_of BIGINT NOT NULL DEFAULT 0,"
        "  UNIQUE(provider, type, version));"
        "CREATE TABLE policy_signers ("
        "  provider TEXT NOT NULL REFERENCES providers(name) ON DELETE CASCADE,"
        "  sha256 TEXT NOT NULL,"
        "  sha1 TEXT NOT NULL,"
        "  cert_der BYTEA NOT NULL,"
        "  created_at BIGINT NOT NULL,"
        "  PRIMARY KEY(provider, sha256));"},
    {5, "CREATE TABLE collateral ("
        "  kind TEXT NOT NULL CONSTRAINT collateral_kind"
        "    CHECK(kind IN ('root_crl','pck_crl','tcb_info','qe_identity')),"
        "  key TEXT NOT NULL,"
        "  sha256 TEXT NOT NULL,"
        "  body BYTEA NOT NULL,"
        "  signature BYTEA NOT NULL,"
        "  issuer_chain BYTEA NOT NULL,"
        "  issued BIGINT NOT NULL,"
        "  next_update BIGINT NOT NULL,"
        "  eval_num BIGINT NOT NULL DEFAULT 0,"
        "  source TEXT NOT NULL CONSTRAINT collateral_source CHECK(source IN ('pcs','import')),"
        "  stored_at BIGINT NOT NULL,"
        "  CONSTRAINT collateral_pkey PRIMARY KEY(kind, key));"},
    {6, "ALTER TABLE providers ADD COLUMN collateral_grace BIGINT NOT NULL DEFAULT 0;"},
    {7, "ALTER TABLE providers ADD COLUMN require_bound_requests BIGINT NOT NULL DEFAULT 0;"
        "ALTER TABLE providers ADD COLUMN policy_history_keep BIGINT NOT NULL DEFAULT 0;"
        "CREATE TABLE policy_requests ("
        "  provider TEXT NOT NULL REFERENCES providers(name) ON DELETE CASCADE,"
        "  scope TEXT NOT NULL,"
        "  digest TEXT NOT NULL,"
        "  expires_at BIGINT NOT NULL,"
        "  version BIGINT NOT NULL DEFAULT 0,"
        "  PRIMARY KEY(provider, scope, digest));"
        "CREATE INDEX policy_requests_expiry ON policy_requests(expires_at)"
        "  WHERE expires_at > 0;"},
    {8, "ALTER TABLE collateral DROP CONSTRAINT collateral_kind;"
        "ALTER TABLE collateral ADD CONSTRAINT collateral_kind"
        "  CHECK(kind IN ('root_crl','pck_crl','tcb_info','qe_identity',"
        "                 'amd_chain','amd_crl','amd_vcek'));"
        "ALTER TABLE collateral DROP CONSTRAINT collateral_source;"
        "ALTER TABLE collateral ADD CONSTRAINT collateral_source"
        "  CHECK(source IN ('pcs','import','kds'));"},
    {9, "ALTER TABLE providers ADD COLUMN audit_fail_open BIGINT NOT NULL DEFAULT 0"
        "  CHECK(audit_fail_open IN (0, 1));"
        "CREATE TABLE audit_checkpoint ("
        "  id BIGINT PRIMARY KEY CHECK(id = 1),"
        "  seq BIGINT NOT NULL,"
        "  hash TEXT NOT NULL,"
        "  jws TEXT NOT NULL,"
        "  created_at BIGINT NOT NULL);"},
    {10, "ALTER TABLE signing_keys ADD COLUMN activate_at BIGINT NOT NULL DEFAULT 0;"
         "UPDATE signing_keys SET activate_at = created_at;"
         "ALTER TABLE signing_keys ADD COLUMN token_lifetime BIGINT NOT NULL DEFAULT 0;"},
    {11, "ALTER TABLE signing_keys ADD COLUMN used_until BIGINT NOT NULL DEFAULT 0;"},
    {12, "ALTER TABLE providers ADD COLUMN dcap_trust_anchors TEXT NOT NULL DEFAULT '';"
         "ALTER TABLE providers ADD COLUMN demo BIGINT NOT NULL DEFAULT 0 CHECK(demo IN (0, 1));"
         "ALTER TABLE collateral ADD COLUMN scope TEXT NOT NULL DEFAULT '';"
         "ALTER TABLE collateral DROP CONSTRAINT collateral_pkey;"
         "ALTER TABLE collateral ADD CONSTRAINT collateral_pkey PRIMARY KEY(scope, kind, key);"},
    /* The change feed of the nodes sharing this database (store.h, att_store_changes): every
     * statement that changes what a node caches bumps its topic's counter and notifies the
     * channel attestd_changes, in the writer's transaction, so the bump and the notification
     * happen exactly when the change commits. Writes no node caches are left out: a
     * principal's last use, a key's used_until and token_lifetime (noted on every key look). */
    {13, "CREATE TABLE store_changes ("
         "  topic TEXT PRIMARY KEY,"
         "  seq BIGINT NOT NULL);"
         "INSERT INTO store_changes VALUES('providers', 0), ('collateral', 0);"
         "CREATE FUNCTION attestd_note_change() RETURNS trigger LANGUAGE plpgsql AS $$"
         " BEGIN"
         "  UPDATE store_changes SET seq = seq + 1 WHERE topic = TG_ARGV[0];"
         "  PERFORM pg_notify('attestd_changes', TG_ARGV[0]);"
         "  RETURN NULL;"
         " END $$;"
         "CREATE TRIGGER providers_changed AFTER INSERT OR UPDATE OR DELETE ON providers"
         "  FOR EACH STATEMENT EXECUTE FUNCTION attestd_note_change('providers');"
         "CREATE TRIGGER signing_keys_changed"
         "  AFTER INSERT OR DELETE OR UPDATE OF activate_at ON signing_keys"
         "  FOR EACH STATEMENT EXECUTE FUNCTION attestd_note_change('providers');"
         "CREATE TRIGGER policy_versions_changed AFTER INSERT OR UPDATE OR DELETE"
         "  ON policy_versions"
         "  FOR EACH STATEMENT EXECUTE FUNCTION attestd_note_change('providers');"
         "CREATE TRIGGER policy_signers_changed AFTER INSERT OR UPDATE OR DELETE ON policy_signers"
         "  FOR EACH STATEMENT EXECUTE FUNCTION attestd_note_change('providers');"
         "CREATE TRIGGER collateral_changed AFTER INSERT OR UPDATE OR DELETE ON collateral"
         "  FOR EACH STATEMENT EXECUTE FUNCTION attestd_note_change('collateral');"
         /* The audit checkpoint per node (store/sqlite/migrations.c, 13). */
         "ALTER TABLE audit_checkpoint ADD COLUMN node TEXT NOT NULL DEFAULT '';"
         "ALTER TABLE audit_checkpoint DROP CONSTRAINT audit_checkpoint_pkey;"
         "ALTER TABLE audit_checkpoint DROP COLUMN id;"
         "ALTER TABLE audit_checkpoint ADD PRIMARY KEY (node);"},
    /* Challenges any node issues and accepts once (store/sqlite/migrations.c, 14). */
    {14, "CREATE TABLE cluster_secrets ("
         "  name TEXT PRIMARY KEY,"
         "  sealed BYTEA NOT NULL,"
         "  created_at BIGINT NOT NULL);"
         "CREATE TABLE used_challenges ("
         "  provider TEXT NOT NULL,"
         "  nonce TEXT NOT NULL,"
         "  expires_at BIGINT NOT NULL,"
         "  PRIMARY KEY(provider, nonce));"
         "CREATE INDEX used_challenges_expiry ON used_challenges(expires_at);"},
    /* An index of principals by client certificate: mutual TLS finds its caller with one
     * lookup (store/sqlite/migrations.c, 15). */
    {15, "CREATE INDEX principals_cert_sha256 ON principals(cert_sha256)"
         "  WHERE cert_sha256 <> '';"},
};

#define N_MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

/* Both dialects must know the same versions (store/sqlite/migrations.c). */
_Static_assert(N_MIGRATIONS == 15, "a migration was added to one dialect only?");

att_err att_pg_schema_version(struct att_store *s, int *out)
{
    int64_t v = 0;
    ATT_TRY(att_pg_query_i64(s, "SELECT COALESCE(MAX(version), 0)::int8 FROM schema_migrations",
                             NULL, &v));
    ATT_ENSURE(v >= 0 && v <= INT32_MAX, ATT_ERR_STORE_SCHEMA);
    *out = (int)v;
    return ATT_OK;
}

static att_err apply_one(struct att_store *tx, void *arg)
{
    const struct migration *m = arg;
    int cur = 0;
    ATT_TRY(att_pg_exec_script(tx, MIGRATION_LOCK));
    ATT_TRY(att_pg_schema_version(tx, &cur)); /* again, under the lock */
    ATT_ENSURE(cur <= att_store_schema_latest(), ATT_ERR_STORE_SCHEMA);
    if (cur >= m->version) {
        return ATT_OK; /* another node applied it meanwhile */
    }
    ATT_TRY(att_pg_exec_script(tx, m->sql));
    struct att_pg_args a = {0};
    att_pg_i64(&a, m->version);
    att_pg_i64(&a, att_time_now());
    return att_pg_run(tx, "INSERT INTO schema_migrations(version, applied_at) VALUES($1, $2)", &a,
                      NULL);
}

static att_err create_table(struct att_store *tx, void *arg)
{
    (void)arg;
    ATT_TRY(att_pg_exec_script(tx, MIGRATION_LOCK));
    return att_pg_exec_script(tx, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                  "  version BIGINT PRIMARY KEY,"
                                  "  applied_at BIGINT NOT NULL)");
}

att_err att_pg_migrate(struct att_store *s)
{
    int cur = 0;
    ATT_TRY(att_pg_atomic(s, create_table, NULL));
    ATT_TRY(att_pg_schema_version(s, &cur));
    if (cur > att_store_schema_latest()) {
        att_log(ATT_LOG_ERROR, "store: database schema is newer than this binary", "schema_version",
                json_integer(cur), "supported", json_integer(att_store_schema_latest()), NULL);
        return ATT_ERR_STORE_SCHEMA;
    }
    for (size_t i = 0; i < N_MIGRATIONS; i++) {
        if (migrations[i].version > cur) {
            struct migration m = migrations[i];
            att_err rc = att_pg_atomic(s, apply_one, &m);
            if (rc != ATT_OK) {
                att_log(ATT_LOG_ERROR, "store: migration failed", "version",
                        json_integer(migrations[i].version), "error", json_string(att_err_name(rc)),
                        NULL);
                return rc == ATT_ERR_STORE_BUSY || rc == ATT_ERR_STORE_UNAVAILABLE
                           ? rc
                           : ATT_ERR_STORE_SCHEMA;
            }
        }
    }
    return ATT_OK;
}
