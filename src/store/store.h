/*
 * store.h - the durable store interface.
 *
 * A store is a table of operations (struct att_store_ops) with one backend
 * per folder: sqlite/ (one node, the default) and postgres/ (many nodes sharing one database).
 * Callers use the att_store_* wrappers and never see SQL. Everything durable goes through here.
 *
 * Secrets never reach a store in clear: callers seal values (src/seal) and
 * the store keeps the opaque blobs.
 *
 * Records are plain structs with fixed-size strings; blobs are att_bufs owned
 * by the record (release with the matching *_cleanup).
 */
#ifndef ATT_STORE_STORE_H
#define ATT_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define ATT_PROVIDER_NAME_MAX 63
#define ATT_URL_MAX 511
#define ATT_STORE_BLOB_MAX ((size_t)1 << 20)
/* A provider's own DCAP trust anchors, PEM text: room for a few roots (one is about 0.9 KiB). */
#define ATT_PROVIDER_TRUST_PEM_MAX 4095
/* A collateral scope: "" (the daemon's dcap_trust_anchors) or 64 lower-case hex digits. */
#define ATT_COLLATERAL_SCOPE_LEN 64

struct att_provider_rec {
    char name[ATT_PROVIDER_NAME_MAX + 1]; /* [a-z0-9][a-z0-9-]{0,62} */
    char issuer[ATT_URL_MAX + 1];         /* token "iss", no trailing slash */
    char signing_alg[8];                  /* "RS256" or "ES256" */
    bool is_default;
    bool attest_requires_auth; /* /attest routes need an authenticated caller (migration 3) */
    char trust_model[12];      /* ATT_TRUST_AAD or ATT_TRUST_ISOLATED (migration 4) */
    int64_t collateral_grace;  /* seconds collateral may be used past nextUpdate (migration 6) */
    /* Signed policy changes must carry binding claims (docs/policies.md; migration 7). */
    bool require_bound_requests;
    int64_t policy_history_keep; /* versions kept per attestation type; 0 = all (migration 7) */
    /* Tokens are answered even when their audit record cannot be written (migration 9;
     * default false: a token waits until its record is durable). */
    bool audit_fail_open;
    /* The provider's own DCAP trust anchors (PEM text), "" for the daemon's
     * dcap_trust_anchors (migration 12; docs/internals/demo.md). */
    char dcap_trust_anchors[ATT_PROVIDER_TRUST_PEM_MAX + 1];
    /* A demo provider (`attestctl demo`): its anchors are a root made on the operator's
     * machine; it refuses to attest while public network access is on and marks every token
     * it issues (migration 12). */
    bool demo;
    int64_t created_at;
};

#define ATT_COLLATERAL_GRACE_MAX ((int64_t)30 * 86400)
#define ATT_POLICY_HISTORY_KEEP_MAX ((int64_t)1000000)

/* MAA's trust models of a provider (docs/reference/maa-policy.md §4.1). */
#define ATT_TRUST_AAD "AAD"
#define ATT_TRUST_ISOLATED "Isolated"

/* One entry of a policy's history (policy management, migration 4). */
struct att_policy_version_rec {
    char id[33]; /* random; the sealing record id */
    char provider[ATT_PROVIDER_NAME_MAX + 1];
    char type[16];             /* "SgxEnclave", ... */
    int64_t version;           /* 1, 2, ... per provider and type */
    char action[12];           /* "set", "reset" or "rollback" */
    struct att_buf sealed_jws; /* the JWS as sent (table "policy_versions", id = id) */
    char policy_hash[44];   /* x-ms-policy-hash of the text in force; "" when it is the default */
    char signer_sha256[65]; /* hex SHA-256 of the signing certificate, or "" */
    char principal[256];
    char principal_name[64];
    char source[64];
    int64_t created_at;
    int64_t rollback_of; /* the version brought back, or 0 */
};

/*
 * A signed policy change a provider has seen (migration 7, table policy_requests), known by the
 * SHA-256 of its JWS signing input, per provider and scope (the attestation type of a set or
 * reset, "" for a signer change). Two kinds: a bound request is kept until `expires_at` (the
 * end of its acceptance window) so it works only once; an applied unbound set is kept for good
 * (expires_at 0) so it cannot be applied again once superseded.
 */
struct att_policy_request_rec {
    char provider[ATT_PROVIDER_NAME_MAX + 1];
    char scope[16];
    char digest[65];    /* hex SHA-256 of the JWS signing input, lower case */
    int64_t expires_at; /* 0 = kept for good */
    int64_t version;    /* the policy version it made, or 0 */
};

/* A trusted policy signer certificate of an Isolated provider. */
struct att_signer_rec {
    char provider[ATT_PROVIDER_NAME_MAX + 1];
    char sha256[65]; /* hex, lower case */
    char sha1[41];   /* MAA's thumbprint: hex, upper case */
    struct att_buf cert_der;
    int64_t created_at;
};

struct att_key_rec {
    char kid[65];
    char provider[ATT_PROVIDER_NAME_MAX + 1];
    char alg[8];
    struct att_buf cert_der;   /* public certificate, DER */
    struct att_buf sealed_key; /* PKCS#8 DER private key, sealed (table "signing_keys", id = kid) */
    int64_t created_at;
    /* Provider keys only (migrations 10 and 11; 0 in auth keys): the key signs from activate_at
     * until the next key of its provider activates; used_until is the latest time a signer may
     * have signed with it and token_lifetime the longest lifetime of a token it may have signed
     * (both raised by every signer before it signs: att_store_key_note_use). */
    int64_t activate_at;
    int64_t token_lifetime;
    int64_t used_until;
};

struct att_dek_rec {
    char id[33];
    char kek_id[17];
    struct att_buf wrapped;
    bool active;
    int64_t created_at;
};

/* A service principal: a caller of attestd with its own client id (identity issue). */
#define ATT_PRINCIPAL_NAME_MAX 63
/*
 * Largest registered client certificate (DER). The certificate is kept in a fixed array, not
 * an att_buf, so the record stays a plain struct that callers copy and declare on the stack
 * without init/cleanup; 8 KiB holds any RSA-8192 or EC certificate with ordinary extensions.
 */
#define ATT_PRINCIPAL_CERT_MAX 8192
struct att_principal_rec {
    char id[37];                           /* client_id, a UUID */
    char name[ATT_PRINCIPAL_NAME_MAX + 1]; /* unique, [a-z0-9][a-z0-9._-]{0,62} */
    bool disabled;
    char cert_sha256[65]; /* hex SHA-256 of a registered client certificate, or "" */
    /*
     * The registered certificate itself (migration 3): its public key verifies the client's
     * private_key_jwt assertions. cert_der_len 0 = none (also for certificates registered
     * before migration 3, which carry only cert_sha256 until registered again).
     */
    size_t cert_der_len;
    uint8_t cert_der[ATT_PRINCIPAL_CERT_MAX];
    int64_t created_at;
    int64_t last_used_at;    /* 0 = never */
    char last_used_from[64]; /* peer address of the last successful use */
};

/* A client secret, stored only as a slow hash (src/auth/secret.h). */
struct att_secret_rec {
    char id[33]; /* 32 hex characters */
    char principal_id[37];
    char hash[192]; /* encoded scrypt hash with its parameters and salt */
    int64_t created_at;
    int64_t expires_at; /* 0 = never */
    int64_t revoked_at; /* 0 = active */
};

/* A role assignment: who (principal, external subject or external group) has which role where. */
struct att_role_rec {
    char id[33];
    char subject_kind[16];                    /* "principal", "subject" or "group" */
    char subject[256];                        /* principal id, or the external claim value */
    char issuer[ATT_URL_MAX + 1];             /* external issuer URL; "" for principals */
    char role[32];                            /* "Owner", "AttestationContributor", ... */
    char provider[ATT_PROVIDER_NAME_MAX + 1]; /* a provider name, or "*" for all */
    int64_t created_at;
};

/*
 * One item of Intel collateral as fetched or imported (migration 5; table "collateral"): the
 * newest per (kind, key). The store keeps the bytes; it neither parses nor verifies them
 * (src/collateral does, before and after).
 */
#define ATT_STORE_COLLATERAL_BODY_MAX ((size_t)1 << 20)   /* CRL DER or signed document */
#define ATT_STORE_COLLATERAL_CHAIN_MAX ((size_t)64 << 10) /* issuer chain PEM */
#define ATT_STORE_COLLATERAL_SIG_LEN 64                   /* ECDSA P-256 r || s */
struct att_collateral_rec {
    /* Whose trust anchors the item chains to (migration 12): "" for the daemon's
     * dcap_trust_anchors (and every AMD item), else the hex SHA-256 of a provider's own anchors'
     * keys (att_dcap_trust_id). Items of two scopes never replace each other. */
    char scope[ATT_COLLATERAL_SCOPE_LEN + 1];
    /* Intel: "root_crl", "pck_crl", "tcb_info" or "qe_identity"; AMD SEV-SNP (migration 8):
     * "amd_chain" (ASK or ASVK PEM, then the ARK), "amd_crl" (DER), "amd_vcek" (DER) */
    char kind[16];
    /* Intel: "" for root_crl; "processor" or "platform" for pck_crl; "sgx:<FMSPC>" or
     * "tdx:<FMSPC>" (12 upper-case hex digits) for tcb_info; "sgx" or "tdx" for qe_identity.
     * AMD: "vcek:<Product>" or "vlek:<Product>" (Milan, Genoa, Turin) for amd_chain and amd_crl;
     * "<Product>:<hwid>:<tcb>" for amd_vcek (lower-case hex: 128 digits of CHIP_ID, 16 on
     * Turin; 16 digits of REPORTED_TCB as a big-endian number) */
    char key[160];
    char sha256[65];             /* lower-case hex SHA-256 of body */
    struct att_buf body;         /* CRL or certificate DER, PEM text, or the exact signed
                                    document text (non-empty) */
    struct att_buf signature;    /* 64 bytes r || s for Intel documents, else empty */
    struct att_buf issuer_chain; /* PEM text; empty for the root CRL and AMD items */
    int64_t issued;              /* issueDate / thisUpdate / the certificate's notBefore */
    int64_t next_update;         /* nextUpdate / the certificate's notAfter */
    int64_t eval_num;            /* tcbEvaluationDataNumber, 0 for CRLs and AMD items */
    char source[16];             /* "pcs", "kds" or "import" */
    int64_t stored_at;
};

/* What a node caches, by topic of the change feed (att_store_changes_get). */
enum att_store_topic {
    ATT_TOPIC_PROVIDERS,  /* providers, their signing keys, policies and policy signers */
    ATT_TOPIC_COLLATERAL, /* collateral items of every scope */
    ATT_TOPIC_COUNT
};
struct att_store_changes {
    int64_t seq[ATT_TOPIC_COUNT]; /* grows with every committed change of the topic */
};

/* A node's newest audit checkpoint as stored (migration 9, by node since 13). */
#define ATT_STORE_CHECKPOINT_JWS_MAX ((size_t)64 << 10)
struct att_audit_checkpoint_rec {
    int64_t seq;
    char hash[65];      /* hex SHA-256 of the record it covers */
    struct att_buf jws; /* the signed checkpoint, compact JWS text (no NUL) */
    int64_t created_at;
};

/*
 * The tables of the schema, each holding one kind of record; att_store_count counts the rows
 * of each. Every table the migrations make is here (a unit test compares them with the schema),
 * so a copy between stores that copies each of these copies everything.
 */
enum att_store_table {
    ATT_TABLE_PROVIDERS,
    ATT_TABLE_SIGNING_KEYS,
    ATT_TABLE_DATA_KEYS,
    ATT_TABLE_AUTH_KEYS,
    ATT_TABLE_PRINCIPALS,
    ATT_TABLE_PRINCIPAL_SECRETS,
    ATT_TABLE_ROLE_ASSIGNMENTS,
    ATT_TABLE_POLICY_VERSIONS,
    ATT_TABLE_POLICY_REQUESTS,
    ATT_TABLE_POLICY_SIGNERS,
    ATT_TABLE_COLLATERAL,
    ATT_TABLE_AUDIT_CHECKPOINT,
    ATT_STORE_TABLES /* how many */
};
struct att_store_counts {
    int64_t rows[ATT_STORE_TABLES]; /* indexed by enum att_store_table */
};
/* The table's name in the schema ("providers", ...); "" for a value out of range. */
const char *att_store_table_name(enum att_store_table t);

typedef att_err (*att_store_principal_cb)(const struct att_principal_rec *p, void *arg);
typedef att_err (*att_store_secret_cb)(const struct att_secret_rec *s, void *arg);
typedef att_err (*att_store_role_cb)(const struct att_role_rec *r, void *arg);
typedef att_err (*att_store_policy_version_cb)(const struct att_policy_version_rec *v, void *arg);
typedef att_err (*att_store_signer_cb)(const struct att_signer_rec *r, void *arg);
typedef att_err (*att_store_collateral_cb)(const struct att_collateral_rec *r, void *arg);
typedef att_err (*att_store_policy_request_cb)(const struct att_policy_request_rec *r, void *arg);

void att_policy_version_rec_init(struct att_policy_version_rec *v);
void att_policy_version_rec_cleanup(struct att_policy_version_rec *v);
void att_signer_rec_init(struct att_signer_rec *r);
void att_signer_rec_cleanup(struct att_signer_rec *r);

void att_key_rec_init(struct att_key_rec *k);
void att_key_rec_cleanup(struct att_key_rec *k);
void att_dek_rec_init(struct att_dek_rec *d);
void att_dek_rec_cleanup(struct att_dek_rec *d);
/* Buffers capped at the ATT_STORE_COLLATERAL_* sizes. */
void att_collateral_rec_init(struct att_collateral_rec *r);
/* Accepts NULL. */
void att_collateral_rec_cleanup(struct att_collateral_rec *r);
/* The JWS buffer capped at ATT_STORE_CHECKPOINT_JWS_MAX. */
void att_audit_checkpoint_rec_init(struct att_audit_checkpoint_rec *r);
/* Accepts NULL. */
void att_audit_checkpoint_rec_cleanup(struct att_audit_checkpoint_rec *r);

/* Iteration callbacks: return ATT_OK to go on, anything else stops and is returned. */
typedef att_err (*att_store_provider_cb)(const struct att_provider_rec *p, void *arg);
typedef att_err (*att_store_key_cb)(const struct att_key_rec *k, void *arg);
typedef att_err (*att_store_dek_cb)(const struct att_dek_rec *d, void *arg);

struct att_store;

struct att_store_ops {
    const char *name;
    void (*close)(struct att_store *s);
    att_err (*ping)(struct att_store *s);
    att_err (*schema_version)(struct att_store *s, int *out);
    att_err (*snapshot)(struct att_store *s, const char *path);
    att_err (*check)(struct att_store *s);
    att_err (*set_lock_wait)(struct att_store *s, int ms);
    att_err (*begin)(struct att_store *s, struct att_store **tx);
    att_err (*commit)(struct att_store *s);
    att_err (*rollback)(struct att_store *s);
    att_err (*count)(struct att_store *s, struct att_store_counts *out);

    att_err (*provider_insert)(struct att_store *s, const struct att_provider_rec *p);
    att_err (*provider_get)(struct att_store *s, const char *name, struct att_provider_rec *out);
    att_err (*provider_list)(struct att_store *s, att_store_provider_cb cb, void *arg);
    att_err (*provider_delete)(struct att_store *s, const char *name);
    att_err (*provider_set_attest_requires_auth)(struct att_store *s, const char *name, bool on);
    att_err (*provider_set_collateral_grace)(struct att_store *s, const char *name,
                                             int64_t seconds);
    att_err (*provider_set_require_bound_requests)(struct att_store *s, const char *name, bool on);
    att_err (*provider_set_policy_history_keep)(struct att_store *s, const char *name,
                                                int64_t keep);
    att_err (*provider_set_audit_fail_open)(struct att_store *s, const char *name, bool on);
    att_err (*provider_set_issuer)(struct att_store *s, const char *name, const char *issuer);
    att_err (*audit_checkpoint_put)(struct att_store *s, const char *node, int64_t seq,
                                    const char *hash, const char *jws, int64_t now);
    att_err (*audit_checkpoint_get)(struct att_store *s, const char *node, int64_t *seq,
                                    char hash[65]);
    att_err (*audit_checkpoint_clear)(struct att_store *s, const char *node);
    att_err (*audit_checkpoint_read)(struct att_store *s, const char *node,
                                     struct att_audit_checkpoint_rec *out);

    att_err (*key_insert)(struct att_store *s, const struct att_key_rec *k);
    att_err (*key_list)(struct att_store *s, const char *provider, att_store_key_cb cb, void *arg);
    att_err (*key_delete)(struct att_store *s, const char *provider, const char *kid);
    att_err (*key_note_use)(struct att_store *s, const char *provider, const char *kid,
                            int64_t until, int64_t lifetime);
    att_err (*key_set_activate)(struct att_store *s, const char *provider, const char *kid,
                                int64_t at);

    att_err (*dek_insert)(struct att_store *s, const struct att_dek_rec *d);
    att_err (*dek_get)(struct att_store *s, const char *id, struct att_dek_rec *out);
    att_err (*dek_get_active)(struct att_store *s, struct att_dek_rec *out);
    att_err (*dek_list)(struct att_store *s, att_store_dek_cb cb, void *arg);
    att_err (*dek_rewrap)(struct att_store *s, const char *id, const char *kek_id,
                          const uint8_t *wrapped, size_t len);

    /* Keys of attestd's own access tokens (table auth_keys; same record shape, provider ""). */
    att_err (*auth_key_insert)(struct att_store *s, const struct att_key_rec *k);
    att_err (*auth_key_list)(struct att_store *s, att_store_key_cb cb, void *arg);

    att_err (*principal_insert)(struct att_store *s, const struct att_principal_rec *p);
    att_err (*principal_get)(struct att_store *s, const char *id, struct att_principal_rec *out);
    att_err (*principal_get_by_name)(struct att_store *s, const char *name,
                                     struct att_principal_rec *out);
    att_err (*principal_list)(struct att_store *s, att_store_principal_cb cb, void *arg);
    att_err (*principal_set_disabled)(struct att_store *s, const char *id, bool disabled);
    att_err (*principal_set_cert)(struct att_store *s, const char *id, const char *cert_sha256,
                                  const uint8_t *cert_der, size_t cert_der_len);
    att_err (*principal_touch)(struct att_store *s, const char *id, int64_t at, const char *from);
    att_err (*principal_delete)(struct att_store *s, const char *id);

    att_err (*secret_insert)(struct att_store *s, const struct att_secret_rec *sec);
    att_err (*secret_list)(struct att_store *s, const char *principal_id, att_store_secret_cb cb,
                           void *arg);
    att_err (*secret_revoke)(struct att_store *s, const char *id, int64_t at);

    att_err (*role_insert)(struct att_store *s, const struct att_role_rec *r);
    att_err (*role_list)(struct att_store *s, att_store_role_cb cb, void *arg);
    att_err (*role_delete)(struct att_store *s, const char *id);

    att_err (*policy_version_append)(struct att_store *s, struct att_policy_version_rec *v,
                                     struct att_policy_request_rec *req, int64_t keep);
    att_err (*policy_version_get)(struct att_store *s, const char *provider, const char *type,
                                  int64_t version, struct att_policy_version_rec *out);
    att_err (*policy_version_list)(struct att_store *s, const char *provider, const char *type,
                                   int64_t after, int64_t limit, att_store_policy_version_cb cb,
                                   void *arg);
    att_err (*policy_version_insert)(struct att_store *s, const struct att_policy_version_rec *v);
    att_err (*policy_version_scan)(struct att_store *s, att_store_policy_version_cb cb, void *arg);
    att_err (*policy_request_claim)(struct att_store *s, const struct att_policy_request_rec *r,
                                    int64_t now);
    att_err (*policy_request_get)(struct att_store *s, const char *provider, const char *scope,
                                  const char *digest, struct att_policy_request_rec *out);
    att_err (*policy_request_forget)(struct att_store *s, const char *provider, const char *scope,
                                     const char *digest);
    att_err (*policy_request_insert)(struct att_store *s, const struct att_policy_request_rec *r);
    att_err (*policy_request_list)(struct att_store *s, att_store_policy_request_cb cb, void *arg);
    att_err (*signer_insert)(struct att_store *s, const struct att_signer_rec *r);
    att_err (*signer_delete)(struct att_store *s, const char *provider, const char *sha256);
    att_err (*signer_list)(struct att_store *s, const char *provider, att_store_signer_cb cb,
                           void *arg);

    att_err (*collateral_put)(struct att_store *s, const struct att_collateral_rec *r,
                              bool *replaced);
    att_err (*collateral_get)(struct att_store *s, const char *scope, const char *kind,
                              const char *key, struct att_collateral_rec *out);
    att_err (*collateral_list)(struct att_store *s, att_store_collateral_cb cb, void *arg);
    att_err (*collateral_delete_scope)(struct att_store *s, const char *scope, int *deleted);

    att_err (*secret_put_new)(struct att_store *s, const char *name, const uint8_t *sealed,
                              size_t len, int64_t now);
    att_err (*secret_get)(struct att_store *s, const char *name, struct att_buf *out);
    att_err (*challenge_claim)(struct att_store *s, const char *provider, const char *nonce,
                               int64_t expires, int64_t now);
    att_err (*changes_get)(struct att_store *s, struct att_store_changes *out);
    att_err (*changes_wait)(struct att_store *s, int timeout_ms);
    att_err (*lock)(struct att_store *s, int64_t key, bool wait, struct att_store **out);
    void (*unlock)(struct att_store *lock);
};

/* Every backend's struct starts with this. */
struct att_store {
    const struct att_store_ops *ops;
};

/* What att_store_sqlite_check_image found in a database image. */
#define ATT_STORE_IMAGE_AUTH_MAX 64
struct att_store_image {
    int schema; /* its schema version (also set when it is newer than this program's) */
    int64_t providers, signing_keys, principals, role_assignments, policy_versions;
    char auth_kid[ATT_STORE_IMAGE_AUTH_MAX][65]; /* its access-token keys, oldest first */
    size_t n_auth;
};

/*
 * Vet an SQLite database image from outside (a backup's snapshot) in memory, read-only,
 * before it is written anywhere or opened as a store: ATT_ERR_STORE_SCHEMA when it is not an
 * attestd database of a schema this program knows (out->schema says when it is newer) or its
 * schema holds anything our migrations do not make (a trigger or view above all), ATT_ERR_STORE
 * when its pages or foreign keys are damaged. On success *out has its counts and auth kids.
 */
att_err att_store_sqlite_check_image(const uint8_t *image, size_t len,
                                     struct att_store_image *out) ATT_WUR;

/* Open (creating if needed) the SQLite store at `path` and run pending migrations. */
att_err att_store_open_sqlite(const char *path, struct att_store **out) ATT_WUR;
/*
 * Open the SQLite store at `path` to read it (the source of a copy to another store): the file
 * must exist (ATT_ERR_NOT_FOUND; never created) and is checked private to us as
 * att_store_open_sqlite checks it, but no migration runs: ATT_ERR_STORE_SCHEMA unless its
 * schema is this program's (*schema, which may be NULL, gets its version whenever it could be
 * read; 0 for an SQLite file that is no attestd store), ATT_ERR_STORE for a file that is not
 * an SQLite database.
 */
att_err att_store_open_sqlite_existing(const char *path, struct att_store **out,
                                       int *schema) ATT_WUR;
/*
 * Open the PostgreSQL store at `url` (postgresql://... or postgres://..., libpq's URI form,
 * TLS settings included) and run pending migrations. The URL is never logged. Connections are
 * opened as needed, at most a few per store; ATT_ERR_STORE_UNAVAILABLE when the server cannot
 * be reached, ATT_ERR_ARG for a malformed URL.
 */
att_err att_store_open_postgresql(const char *url, struct att_store **out) ATT_WUR;
bool att_store_is_postgresql_url(const char *url);
/*
 * Check a PostgreSQL URL from configuration before use: libpq's URI syntax, and no password
 * in it (a password belongs in a passfile: the URL is in a configuration file and in the
 * process's memory for its whole life). ATT_ERR_CONFIG with a message naming the problem.
 */
att_err att_store_url_check(const char *url, char *msg, size_t msg_len) ATT_WUR;
/* The store `where` names: a PostgreSQL URL, else the path of an SQLite file. */
att_err att_store_open(const char *where, struct att_store **out) ATT_WUR;
/* "sqlite" or "postgresql". */
const char *att_store_backend(const struct att_store *s);
/* Accepts NULL. */
void att_store_close(struct att_store *s);

att_err att_store_ping(struct att_store *s) ATT_WUR;
/*
 * How long an operation of this handle waits for a lock another process holds (5 s when
 * opened) before it fails with ATT_ERR_STORE_BUSY. Work that may simply try again later (the
 * key look) sets it short, so that a long write elsewhere does not hold it - and everything
 * queued behind it - up.
 */
att_err att_store_set_lock_wait(struct att_store *s, int ms) ATT_WUR;
att_err att_store_schema_version(struct att_store *s, int *out) ATT_WUR;
/* The newest schema version this binary knows. */
int att_store_schema_latest(void);
/*
 * Write a consistent copy of the whole store to the new file `path` (which must not exist)
 * while others keep using it: a backup's snapshot. The copy's mode is left to the caller.
 */
att_err att_store_snapshot(struct att_store *s, const char *path) ATT_WUR;
/* Check the store's integrity (pages, indexes, foreign keys): ATT_ERR_STORE when damaged. */
att_err att_store_check(struct att_store *s) ATT_WUR;
/*
 * Transactions are handles: att_store_begin gives *tx, a store whose operations all run in one
 * transaction, until att_store_commit or att_store_rollback ends it and frees the handle (also
 * when they fail). Safe with threads: other threads keep using `s` meanwhile (on SQLite they
 * wait for the transaction to end; on PostgreSQL they use other connections). Rules that span
 * rows hold inside one: read, check and write through *tx. No nesting (ATT_ERR_STATE).
 */
att_err att_store_begin(struct att_store *s, struct att_store **tx) ATT_WUR;
att_err att_store_commit(struct att_store *tx) ATT_WUR;
att_err att_store_rollback(struct att_store *tx);
/*
 * The rows of every table (enum att_store_table) into *out, read by one statement, so inside a
 * transaction they are the transaction's and outside it one moment's.
 */
att_err att_store_count(struct att_store *s, struct att_store_counts *out) ATT_WUR;

/* ATT_ERR_EXISTS when the name is taken. */
att_err att_store_provider_insert(struct att_store *s, const struct att_provider_rec *p) ATT_WUR;
/* ATT_ERR_NOT_FOUND when absent. */
att_err att_store_provider_get(struct att_store *s, const char *name,
                               struct att_provider_rec *out) ATT_WUR;
att_err att_store_provider_list(struct att_store *s, att_store_provider_cb cb, void *arg) ATT_WUR;
/* Deletes the provider and (ON DELETE CASCADE) its keys. ATT_ERR_NOT_FOUND when absent. */
att_err att_store_provider_delete(struct att_store *s, const char *name) ATT_WUR;
/*
 * Whether the provider's attestation routes require authentication. ATT_ERR_NOT_FOUND when
 * absent. A running daemon sees the change after its next provider reload (SIGHUP).
 */
att_err att_store_provider_set_attest_requires_auth(struct att_store *s, const char *name,
                                                    bool on) ATT_WUR;
/* Seconds (0 .. 30 days) the provider lets collateral be used past its nextUpdate. */
att_err att_store_provider_set_collateral_grace(struct att_store *s, const char *name,
                                                int64_t seconds) ATT_WUR;
/*
 * Whether the provider's signed policy changes must carry binding claims, and how many policy
 * versions per attestation type it keeps (0 = all, at most ATT_POLICY_HISTORY_KEEP_MAX). Policy
 * management reads both from the store on each change: they bind at once, without SIGHUP.
 */
att_err att_store_provider_set_require_bound_requests(struct att_store *s, const char *name,
                                                      bool on) ATT_WUR;
att_err att_store_provider_set_policy_history_keep(struct att_store *s, const char *name,
                                                   int64_t keep) ATT_WUR;
/* Whether the provider answers tokens whose audit record cannot be written (SIGHUP). */
att_err att_store_provider_set_audit_fail_open(struct att_store *s, const char *name,
                                               bool on) ATT_WUR;
/* The issuer URL of provider `name` (its tokens' "iss"; /certs and the OpenID metadata follow
 * it), checked by the caller (att_provider_issuer_check). */
att_err att_store_provider_set_issuer(struct att_store *s, const char *name,
                                      const char *issuer) ATT_WUR;

/*
 * The newest checkpoint of node `node`'s audit trail (each node keeps a trail of its own, in
 * its own audit database; `node` is its node_name, at most ATT_NODE_NAME_MAX bytes): the seq
 * and hex hash it covers, and its JWS (migration 13 keyed it by node).
 */
#define ATT_NODE_NAME_MAX 255
att_err att_store_audit_checkpoint_put(struct att_store *s, const char *node, int64_t seq,
                                       const char *hash, const char *jws, int64_t now) ATT_WUR;
/* ATT_ERR_NOT_FOUND before the node's first checkpoint. */
att_err att_store_audit_checkpoint_get(struct att_store *s, const char *node, int64_t *seq,
                                       char hash[65]) ATT_WUR;
/* Forget the node's newest checkpoint (attestctl audit acknowledge-loss, after records were
 * lost). */
att_err att_store_audit_checkpoint_clear(struct att_store *s, const char *node) ATT_WUR;
/*
 * The node's newest checkpoint whole, its JWS and time included, into `out` (initialised by
 * the caller; written only on success): what att_store_audit_checkpoint_put needs to keep the
 * same checkpoint in another store. ATT_ERR_NOT_FOUND before the node's first checkpoint.
 */
att_err att_store_audit_checkpoint_read(struct att_store *s, const char *node,
                                        struct att_audit_checkpoint_rec *out) ATT_WUR;

att_err att_store_key_insert(struct att_store *s, const struct att_key_rec *k) ATT_WUR;
/* Keys of one provider in the order they sign: by activate_at, then oldest first. */
att_err att_store_key_list(struct att_store *s, const char *provider, att_store_key_cb cb,
                           void *arg) ATT_WUR;
/* Destroy a provider's key (its sealed private key with it). ATT_ERR_NOT_FOUND when absent. */
att_err att_store_key_delete(struct att_store *s, const char *provider, const char *kid) ATT_WUR;
/*
 * A signer is about to sign, until `until`, with key `kid` of `provider` tokens that live up to
 * `lifetime` seconds (1 .. 10 years): raise the key's used_until and token_lifetime to at least
 * those, so that it stays published until the last of those tokens has expired
 * (docs/operations.md "Signing-key rotation"). ATT_ERR_NOT_FOUND when the key is gone.
 */
att_err att_store_key_note_use(struct att_store *s, const char *provider, const char *kid,
                               int64_t until, int64_t lifetime) ATT_WUR;
/* Make a provider's key sign from `at` (a waiting key activated at once). */
att_err att_store_key_set_activate(struct att_store *s, const char *provider, const char *kid,
                                   int64_t at) ATT_WUR;

att_err att_store_dek_insert(struct att_store *s, const struct att_dek_rec *d) ATT_WUR;
att_err att_store_dek_get(struct att_store *s, const char *id, struct att_dek_rec *out) ATT_WUR;
/* The newest active data key; ATT_ERR_NOT_FOUND when there is none yet. */
att_err att_store_dek_get_active(struct att_store *s, struct att_dek_rec *out) ATT_WUR;
att_err att_store_dek_list(struct att_store *s, att_store_dek_cb cb, void *arg) ATT_WUR;
att_err att_store_dek_rewrap(struct att_store *s, const char *id, const char *kek_id,
                             const uint8_t *wrapped, size_t len) ATT_WUR;

/* ---- identity (principals, secrets, role assignments, auth keys) ---- */

/* k->provider must be "" (else ATT_ERR_ARG); ATT_ERR_EXISTS when the kid is taken. */
att_err att_store_auth_key_insert(struct att_store *s, const struct att_key_rec *k) ATT_WUR;
/* Oldest first. */
att_err att_store_auth_key_list(struct att_store *s, att_store_key_cb cb, void *arg) ATT_WUR;

/* ATT_ERR_EXISTS when the id or the name is taken. */
att_err att_store_principal_insert(struct att_store *s, const struct att_principal_rec *p) ATT_WUR;
/* ATT_ERR_NOT_FOUND when absent. */
att_err att_store_principal_get(struct att_store *s, const char *id,
                                struct att_principal_rec *out) ATT_WUR;
att_err att_store_principal_get_by_name(struct att_store *s, const char *name,
                                        struct att_principal_rec *out) ATT_WUR;
/* Ordered by name. */
att_err att_store_principal_list(struct att_store *s, att_store_principal_cb cb, void *arg) ATT_WUR;
/* ATT_ERR_NOT_FOUND when absent (here and for touch and delete). */
att_err att_store_principal_set_disabled(struct att_store *s, const char *id,
                                         bool disabled) ATT_WUR;
/*
 * Register or clear the client certificate that identifies the principal: its SHA-256 (64
 * lowercase hex, for mutual TLS) and its DER (1..ATT_PRINCIPAL_CERT_MAX bytes, for
 * private_key_jwt), always together; clear with cert_sha256 "" and cert_der_len 0. The store
 * does not parse the certificate (src/auth/principal.h: att_principal_set_cert does).
 * ATT_ERR_ARG when the two disagree in presence or a value is malformed or too large.
 */
att_err att_store_principal_set_cert(struct att_store *s, const char *id, const char *cert_sha256,
                                     const uint8_t *cert_der, size_t cert_der_len) ATT_WUR;
/* Record the last successful use (time and peer address; `from` must fit last_used_from). */
att_err att_store_principal_touch(struct att_store *s, const char *id, int64_t at,
                                  const char *from) ATT_WUR;
/* Deletes the principal, its secrets and (by principal id) its role assignments. */
att_err att_store_principal_delete(struct att_store *s, const char *id) ATT_WUR;

/* ATT_ERR_EXISTS when the id is taken; ATT_ERR_STORE_CONSTRAINT when the principal is absent. */
att_err att_store_secret_insert(struct att_store *s, const struct att_secret_rec *sec) ATT_WUR;
/* All secrets of a principal, revoked ones included, oldest first. */
att_err att_store_secret_list(struct att_store *s, const char *principal_id, att_store_secret_cb cb,
                              void *arg) ATT_WUR;
/* ATT_ERR_NOT_FOUND when absent or already revoked. */
att_err att_store_secret_revoke(struct att_store *s, const char *id, int64_t at) ATT_WUR;

/* ATT_ERR_EXISTS for an identical assignment (same kind, subject, issuer, role, provider). */
att_err att_store_role_insert(struct att_store *s, const struct att_role_rec *r) ATT_WUR;
/* Oldest first. */
att_err att_store_role_list(struct att_store *s, att_store_role_cb cb, void *arg) ATT_WUR;
/* ATT_ERR_NOT_FOUND when absent. */
att_err att_store_role_delete(struct att_store *s, const char *id) ATT_WUR;

/* ---- policies (versions and signers) ---- */

/*
 * Append a version: v->version is set to the next number for (provider, type), atomically.
 * With `req` (may be NULL) the same transaction records the request that made it
 * (req->version is set): a bound one (expires_at > 0) must be new, else ATT_ERR_TOKEN_REPLAY
 * and nothing is stored; an unbound one (expires_at 0) is recorded unless it is already. Records
 * whose expires_at passed v->created_at are pruned. `keep` > 0 then deletes the versions older
 * than the newest `keep` of (provider, type); the new one, in force, always stays.
 * ATT_ERR_EXISTS when v->id is taken; ATT_ERR_STORE_CONSTRAINT when the provider is absent.
 */
att_err att_store_policy_version_append(struct att_store *s, struct att_policy_version_rec *v,
                                        struct att_policy_request_rec *req, int64_t keep) ATT_WUR;
/* `version` 0 = the newest. ATT_ERR_NOT_FOUND when there is none. `out` must be initialised. */
att_err att_store_policy_version_get(struct att_store *s, const char *provider, const char *type,
                                     int64_t version, struct att_policy_version_rec *out) ATT_WUR;
/* Oldest first: the versions numbered above `after`, at most `limit` of them (0 = all). */
att_err att_store_policy_version_list(struct att_store *s, const char *provider, const char *type,
                                      int64_t after, int64_t limit, att_store_policy_version_cb cb,
                                      void *arg) ATT_WUR;
/*
 * Store version `v` exactly as given, its number and id included, with no retention pruning:
 * copying a history into another store (store migrate), where numbers must stay the ones
 * tokens, audit records and rollback_of name. Not for policy changes (they append).
 * ATT_ERR_EXISTS when v->id or (provider, type, version) is taken; ATT_ERR_STORE_CONSTRAINT
 * when the provider is absent; ATT_ERR_ARG for a version below 1.
 */
att_err att_store_policy_version_insert(struct att_store *s,
                                        const struct att_policy_version_rec *v) ATT_WUR;
/* Every version of every provider and type: by provider, then type, then version. */
att_err att_store_policy_version_scan(struct att_store *s, att_store_policy_version_cb cb,
                                      void *arg) ATT_WUR;
/*
 * Record a bound request that changes no policy version (a signer change): ATT_ERR_TOKEN_REPLAY
 * when it was recorded before. Records whose expires_at passed `now` are pruned first.
 */
att_err att_store_policy_request_claim(struct att_store *s, const struct att_policy_request_rec *r,
                                       int64_t now) ATT_WUR;
/* The record of (provider, scope, digest) into *out. ATT_ERR_NOT_FOUND when none. */
att_err att_store_policy_request_get(struct att_store *s, const char *provider, const char *scope,
                                     const char *digest,
                                     struct att_policy_request_rec *out) ATT_WUR;
/* Drop a record (a claimed request whose change then failed). ATT_ERR_NOT_FOUND when none. */
att_err att_store_policy_request_forget(struct att_store *s, const char *provider,
                                        const char *scope, const char *digest) ATT_WUR;
/*
 * Store record `r` exactly as given (expired or not, bound or not, its version as it is),
 * pruning nothing: copying the records into another store. ATT_ERR_EXISTS when (provider,
 * scope, digest) is recorded already; ATT_ERR_STORE_CONSTRAINT when the provider is absent.
 */
att_err att_store_policy_request_insert(struct att_store *s,
                                        const struct att_policy_request_rec *r) ATT_WUR;
/* Every record: by provider, then scope, then digest. */
att_err att_store_policy_request_list(struct att_store *s, att_store_policy_request_cb cb,
                                      void *arg) ATT_WUR;
/* ATT_ERR_EXISTS when the provider has this certificate already. */
att_err att_store_signer_insert(struct att_store *s, const struct att_signer_rec *r) ATT_WUR;
/* ATT_ERR_NOT_FOUND when absent; ATT_ERR_STATE when it is the provider's last signer. */
att_err att_store_signer_delete(struct att_store *s, const char *provider,
                                const char *sha256) ATT_WUR;
/* In the order they were added. */
att_err att_store_signer_list(struct att_store *s, const char *provider, att_store_signer_cb cb,
                              void *arg) ATT_WUR;

/* ---- collateral (Intel PCS items, migration 5) ---- */

/*
 * Keep the newest item per (kind, key): insert `r`, or replace the stored item when r->issued
 * is later, or equal with a different sha256 and a higher eval_num. Storing the item already
 * held (same sha256) changes nothing and is ATT_OK. *replaced (may be NULL) says whether the
 * row changed. One statement decides, so concurrent writers cannot replace a newer item.
 * Errors: ATT_ERR_EXISTS (the stored item is as new or newer, with other content),
 * ATT_ERR_ARG (a kind, key, source or sha256 of the wrong shape, sha256 not that of body, an
 * empty body, a signature that is not 64 bytes for documents or empty for CRLs, a blob over
 * its cap), store errors.
 */
att_err att_store_collateral_put(struct att_store *s, const struct att_collateral_rec *r,
                                 bool *replaced) ATT_WUR;
/*
 * The item of (kind, key) of the daemon's scope ("") into `out` (initialised by the caller; its
 * previous content is released). ATT_ERR_NOT_FOUND when absent; `out` is written only on
 * success.
 */
att_err att_store_collateral_get(struct att_store *s, const char *kind, const char *key,
                                 struct att_collateral_rec *out) ATT_WUR;
/* The same for the item of (kind, key) in `scope` ("" or 64 lower-case hex digits; else
 * ATT_ERR_ARG). */
att_err att_store_collateral_get_scoped(struct att_store *s, const char *scope, const char *kind,
                                        const char *key, struct att_collateral_rec *out) ATT_WUR;
/* Every item, ordered by scope ("" first), then kind, then key. */
att_err att_store_collateral_list(struct att_store *s, att_store_collateral_cb cb,
                                  void *arg) ATT_WUR;
/*
 * Delete every item of `scope` (64 lower-case hex digits: the daemon's own scope "" cannot be
 * deleted this way, ATT_ERR_ARG). *deleted (may be NULL) counts them; none is ATT_OK.
 */
att_err att_store_collateral_delete_scope(struct att_store *s, const char *scope,
                                          int *deleted) ATT_WUR;

/* ---- many nodes on one store: the change feed and cluster-wide locks ---- */

/*
 * The change counters (store_changes, migration 13): on PostgreSQL every committed change of
 * a topic raises its counter (triggers), so a node that compares them with those it last saw
 * knows what to load again. On SQLite (one node) they never move.
 */
att_err att_store_changes_get(struct att_store *s, struct att_store_changes *out) ATT_WUR;
/*
 * Wait up to `timeout_ms` for a change to be committed by anyone: ATT_OK when one was
 * (PostgreSQL's NOTIFY, on a connection of its own, LISTENing), ATT_ERR_TIMEOUT when the time
 * passed without one, ATT_ERR_STORE_UNAVAILABLE (after waiting out the time) while the server
 * cannot be reached. One thread at a time. On SQLite it only waits. Callers read the counters
 * afterwards either way, so a notification lost with a connection costs at most one period.
 */
att_err att_store_changes_wait(struct att_store *s, int timeout_ms) ATT_WUR;
/*
 * A cluster-wide lock named by `key` (PostgreSQL's session advisory locks), held until
 * att_store_unlock or until the connection holding it breaks - when the database forgets it,
 * so its holder must check (att_store_ping(*lock)) before acting on it. wait false: ATT_ERR_BUSY
 * at once when another node holds it. On SQLite, where one node runs, it is always granted.
 */
att_err att_store_lock(struct att_store *s, int64_t key, bool wait,
                       struct att_store **lock) ATT_WUR;
/* Accepts NULL. */
void att_store_unlock(struct att_store *lock);

/*
 * Lead a cluster-wide job: keep holding the lock `key` (*held, NULL when not held), or try to
 * take it when not held. True while this node holds it: a held lock whose connection broke is
 * let go first (another node may hold it now). For jobs one node runs at a time.
 */
bool att_store_lead(struct att_store *s, int64_t key, struct att_store **held);

/* Lock keys (att_store_lock): one per cluster-wide job. */
#define ATT_LOCK_KEYS ((int64_t)0x6174746573746401)       /* scheduled signing-key rotation */
#define ATT_LOCK_BOOTSTRAP ((int64_t)0x6174746573746402)  /* first start of an empty store */
#define ATT_LOCK_COLLATERAL ((int64_t)0x6174746573746403) /* upstream collateral refresh */

/* ---- secrets and challenges nodes share (migration 14) ---- */

#define ATT_CLUSTER_SECRET_NAME_MAX 63
/*
 * Keep `sealed` (1..ATT_STORE_BLOB_MAX bytes, sealed by the caller) as the secret `name`
 * unless one is kept already, which then stays: nodes making a secret at once end up sharing
 * the first one (read it back with att_store_secret_get).
 */
att_err att_store_secret_put_new(struct att_store *s, const char *name, const uint8_t *sealed,
                                 size_t len, int64_t now) ATT_WUR;
/* The sealed secret `name` into `out`. ATT_ERR_NOT_FOUND when none is kept. */
att_err att_store_secret_get(struct att_store *s, const char *name, struct att_buf *out) ATT_WUR;
/*
 * Record the use of challenge `nonce` (64 lower-case hex digits) of `provider`, remembered
 * until `expires`: ATT_ERR_TOKEN_REPLAY when it was used before, by any node. Uses expired at
 * `now` are forgotten first.
 */
att_err att_store_challenge_claim(struct att_store *s, const char *provider, const char *nonce,
                                  int64_t expires, int64_t now) ATT_WUR;

#endif
