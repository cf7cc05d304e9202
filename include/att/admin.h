/*
 * att/admin.h - the administration API used by attestctl.
 *
 * attestctl is a client of this library and of nothing else (docs/internals/style.md §1):
 * every operation opens the same store, with the same key-encryption key,
 * as the daemon, through the same code. Results are JSON text; failures
 * return non-zero and write a one-line explanation into `err`.
 *
 * Strings returned through `char **` are owned by the caller: release them
 * with att_admin_free_string().
 */
#ifndef ATT_ADMIN_H
#define ATT_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct att_admin;

/* Read the configuration (file optional; data_dir overrides it) and open store and keys. */
int att_admin_open(const char *config_path, const char *data_dir, struct att_admin **out, char *err,
                   size_t err_len);
void att_admin_close(struct att_admin *a);

/*
 * issuer and alg may be NULL: issuer defaults to <public_url>/providers/<name>, alg to RS256.
 * With signers (PEM certificate files, n_signers > 0) the provider is Isolated
 * (docs/reference/maa-policy.md §4.1): its policies and signers change only by JWS signed by one of
 * them.
 */
int att_admin_provider_create(struct att_admin *a, const char *name, const char *issuer,
                              const char *alg, const char *const *signers, size_t n_signers,
                              char **json_out, char *err, size_t err_len);
int att_admin_provider_list(struct att_admin *a, char **json_out, char *err, size_t err_len);
/*
 * Make a new signing key for provider `name`, published at once and signing after `lead_text`
 * seconds (NULL: signing_key_lead_time); the current key signs until then and stays published
 * until its tokens have expired. JSON {provider, kid, activates}.
 */
int att_admin_provider_rotate_key(struct att_admin *a, const char *name, const char *lead_text,
                                  char **json_out, char *err, size_t err_len);
int att_admin_provider_show(struct att_admin *a, const char *name, char **json_out, char *err,
                            size_t err_len);
int att_admin_provider_delete(struct att_admin *a, const char *name, char *err, size_t err_len);
/*
 * Whether provider `name`'s attestation routes require an authenticated caller (on != 0) or
 * are open (0, the default). Prints the provider as `show` does. A running attestd applies
 * the change at its next provider reload (SIGHUP).
 */
int att_admin_provider_set_attest_requires_auth(struct att_admin *a, const char *name, int on,
                                                char **json_out, char *err, size_t err_len);
/* Seconds (0..30 days, decimal text) collateral may be used past its nextUpdate. */
int att_admin_provider_set_collateral_grace(struct att_admin *a, const char *name,
                                            const char *seconds, char **json_out, char *err,
                                            size_t err_len);
/*
 * Whether provider `name`'s signed policy changes must carry binding claims (on != 0;
 * docs/policies.md, "Bound requests"). Applies at once: policy management reads it from the
 * store on each change.
 */
int att_admin_provider_set_require_bound_requests(struct att_admin *a, const char *name, int on,
                                                  char **json_out, char *err, size_t err_len);
/*
 * Whether provider `name` answers tokens whose audit record cannot be written (on != 0), or
 * holds them and answers 503 (0, the default: fail closed). At the next SIGHUP.
 */
int att_admin_provider_set_audit_fail_open(struct att_admin *a, const char *name, int on,
                                           char **json_out, char *err, size_t err_len);
/* How many policy versions per attestation type provider `name` keeps (decimal text; 0 = all). */
/*
 * Provider `name`'s issuer URL (its tokens' "iss"; the OpenID metadata's jwks_uri and the
 * tokens' "jku" follow it). Tokens already issued keep the old one.
 */
int att_admin_provider_set_issuer(struct att_admin *a, const char *name, const char *issuer,
                                  char **json_out, char *err, size_t err_len);
int att_admin_provider_set_policy_history_keep(struct att_admin *a, const char *name,
                                               const char *count, char **json_out, char *err,
                                               size_t err_len);

/* Write a new random key-encryption key file (mode 0600). Needs no open admin. */
int att_admin_kek_generate(const char *path, char *err, size_t err_len);
/*
 * Make the KEK as an AES-256 key in the PKCS#11 token `uri` names (object=LABEL; sensitive,
 * never extractable; refused when a key matches already). `id` gets its KEK id.
 */
int att_admin_kek_generate_pkcs11(const char *uri, char id[17], char *err, size_t err_len);
/* Rewrap every data key from the configured KEK to the one in new_kek_file, or in the PKCS#11
 * token new_kek_uri names (exactly one). */
int att_admin_kek_rotate(struct att_admin *a, const char *new_kek_file, const char *new_kek_uri,
                         size_t *count, char *err, size_t err_len);

/*
 * Sign a test token with a provider's key: `claims_json` (an object, may be
 * NULL) plus the registered claims, valid for lifetime seconds. For checking
 * relying-party setups against /certs; the token carries
 * "x-attestd-test-token": true so nobody mistakes it for an attestation.
 */
int att_admin_token_issue(struct att_admin *a, const char *provider, const char *claims_json,
                          int64_t lifetime, char **token_out, char *err, size_t err_len);

/* ---- policy history (provider NULL = the default provider) ---- */

/* Every version of a type's policy still kept, oldest first. */
int att_admin_policy_history(struct att_admin *a, const char *provider, const char *type,
                             char **json_out, char *err, size_t err_len);
/* One version (0 = the one in force) with its text. */
int att_admin_policy_show(struct att_admin *a, const char *provider, const char *type,
                          int64_t version, char **json_out, char *err, size_t err_len);
/* A line diff of two versions' texts (0 = the one in force), as text. */
int att_admin_policy_diff(struct att_admin *a, const char *provider, const char *type, int64_t from,
                          int64_t to, char **text_out, char *err, size_t err_len);
/*
 * Bring version `version` back as a new version. An Isolated provider needs `signed_path`: a
 * file holding a JWS of a trusted signer whose payload is
 * {"policyRollback": {"provider": NAME, "attestationType": TYPE, "version": N}, "iat": NOW},
 * made within the last 10 minutes.
 */
int att_admin_policy_rollback(struct att_admin *a, const char *provider, const char *type,
                              int64_t version, const char *signed_path, char **json_out, char *err,
                              size_t err_len);

/* What `attestctl policy sign` signs (docs/policies.md, "Bound requests"). */
struct att_admin_sign_args {
    const char *what;       /* "set", "reset", "rollback", "add-signer" or "remove-signer" */
    const char *type;       /* set, reset, rollback: the attestation type */
    const char *input_path; /* set: the policy text; add-/remove-signer: the certificate (PEM) */
    int64_t version;        /* rollback: the version to bring back */
    const char *provider;   /* rollback: the provider's name (NULL: the default provider) */
    const char *key_path;   /* the policy signer's private key (PEM) */
    const char *cert_path;  /* its certificate (PEM), sent as the header's x5c */
    const char *audience;   /* the provider's issuer URL (not for rollback or unbound) */
    bool unbound;           /* MAA's own form, without binding claims */
};

/*
 * A signed policy-management request as a compact JWS (*jws_out), bound to the audience and
 * type with "iat" = now unless `unbound` (a rollback is bound by its payload). Needs no store.
 */
int att_admin_policy_sign(const struct att_admin_sign_args *args, int64_t now, char **jws_out,
                          char *err, size_t err_len);

/* ---- principals (service identities with rotated secrets) ---- */

/*
 * Create principal `name` with one secret valid `lifetime_days` (0 = no expiry). The JSON
 * holds client_id and client_secret: the only time the secret is shown.
 */
int att_admin_principal_create(struct att_admin *a, const char *name, int lifetime_days,
                               char **json_out, char *err, size_t err_len);
int att_admin_principal_list(struct att_admin *a, char **json_out, char *err, size_t err_len);
/* Principal, its secrets (ids, dates, state; never hashes) and its role assignments. */
int att_admin_principal_show(struct att_admin *a, const char *name, char **json_out, char *err,
                             size_t err_len);
int att_admin_principal_set_disabled(struct att_admin *a, const char *name, int disabled, char *err,
                                     size_t err_len);
int att_admin_principal_delete(struct att_admin *a, const char *name, char *err, size_t err_len);
/*
 * Register the client certificate in PEM file `cert_pem` to principal `name`, or clear it
 * when cert_pem is NULL. Its SHA-256 identifies the principal over mutual TLS; the
 * certificate itself (DER) verifies the principal's private_key_jwt client assertions.
 */
int att_admin_principal_set_cert(struct att_admin *a, const char *name, const char *cert_pem,
                                 char *err, size_t err_len);
int att_admin_secret_add(struct att_admin *a, const char *name, int lifetime_days, char **json_out,
                         char *err, size_t err_len);
int att_admin_secret_revoke(struct att_admin *a, const char *name, const char *secret_id, char *err,
                            size_t err_len);

/* ---- role assignments ---- */

/*
 * Assign `role` on `provider` ("*" = all) to exactly one of: principal `principal` (by name),
 * external `subject` of `issuer`, or external `group` of `issuer`.
 */
int att_admin_role_assign(struct att_admin *a, const char *principal, const char *subject,
                          const char *group, const char *issuer, const char *role,
                          const char *provider, char **json_out, char *err, size_t err_len);
int att_admin_role_list(struct att_admin *a, char **json_out, char *err, size_t err_len);
int att_admin_role_revoke(struct att_admin *a, const char *id, char *err, size_t err_len);

/* ---- evidence and collateral (src/admin/evidence.c) ---- */

struct att_admin_verify_args {
    const char *type;          /* evidence type: "sgx", "oe", "snp", "tdx", "tpm" or MAA's name */
    const char *evidence_path; /* quote or report: binary, or hex text; tpm: the TpmQuote body
                                  (JSON, with the quote's "nonce" in hex) */
    const char *runtime_path;  /* runtime data bound to REPORTDATA, or NULL */
    bool runtime_json;         /* the runtime data is JSON (x-ms-runtime) */
    const char *bundle_path;   /* collateral bundle (Intel's, or AMD's for snp); NULL: the
                                  store's (needs a store; snp: only what the evidence carries) */
    const char *at;            /* verification time, RFC 3339 or epoch seconds; NULL: now */
    const char *policy_path;   /* policy text; NULL: the type's default */
    const char *trust_path;    /* trust anchors (PEM): Intel roots, AMD ARKs for snp, AK CAs for
                                  tpm; NULL: dcap_trust_anchors or Intel's root, AMD's built-in
                                  ARKs, no AK CA */
    bool no_crl;               /* snp: verify without an AMD CRL */
};

/*
 * Verify evidence offline with the server's code and print the token claims as JSON. `a` may
 * be NULL when a bundle is given. On failure err is "ATT_ERR_...: message".
 */
int att_admin_verify(struct att_admin *a, const struct att_admin_verify_args *args, char **json_out,
                     char *err, size_t err_len);
/* Parse evidence and print its fields and the claims they map to, WITHOUT verifying. */
int att_admin_inspect(const char *type, const char *path, char **json_out, char *err,
                      size_t err_len);
/*
 * A TCG event log (PC Client firmware log, or a TDX CCEL log with `ccel`) as a readable listing:
 * every event with its register, type, digests and decoded data, then the values each bank
 * replays to. Nothing is verified.
 */
int att_admin_eventlog_show(const char *path, bool ccel, char **text_out, char *err,
                            size_t err_len);
/*
 * Import an offline collateral bundle (dcap-qvl QuoteCollateralV3 JSON, or an AMD bundle) into
 * the store; one with an item past its nextUpdate only when allow_expired.
 */
int att_admin_collateral_import(struct att_admin *a, const char *bundle_path, bool allow_expired,
                                char **json_out, char *err, size_t err_len);
/* The stored collateral with issue dates, nextUpdate and ages. */
int att_admin_collateral_list(struct att_admin *a, char **json_out, char *err, size_t err_len);

/* ---- the demo (src/admin/demo.c; docs/internals/demo.md) ---- */

struct att_admin_demo_args {
    const char *out_dir;      /* where the evidence goes (made if missing; files replaced) */
    const char *name;         /* the provider's name; NULL: "demo" */
    const char *runtime_path; /* the runtime data the quote binds; NULL: a JSON object made here */
    const char *alg;          /* the provider's token algorithm, RS256 or ES256; NULL: RS256 */
    const char *fmspc;        /* the demo platform's FMSPC, 12 hex digits; NULL: 00906ED50000 */
};

/*
 * Make a demo provider: a new test root CA on this machine (its key is never kept), a provider
 * that trusts only it and marks every token ("x-attestd-demo": true), its collateral imported
 * under the root's scope, and in out_dir quote.bin (an SGX quote binding the runtime data),
 * collateral.json, root.pem, runtime-data.json (or .bin when it is not a JSON object),
 * request.json (MAA's SgxEnclave body) and demo.json (the provider's URLs and those names).
 * *text_out says what to do next. Refused while public_network_access is enabled, and when the
 * provider exists. Nothing is left behind on failure.
 */
int att_admin_demo(struct att_admin *a, const struct att_admin_demo_args *args, char **text_out,
                   char *err, size_t err_len);

/* ---- preparing a data directory (src/admin/init.c; docs/operations.md, "Preparing a data
 * directory") ---- */

#define ATT_ADMIN_INIT_MAX_NAMES 32 /* names in all, public_url's host included */

struct att_admin_init_args {
    const char *config_path; /* attestd's configuration file; NULL: the built-in defaults */
    const char *data_dir;    /* instead of the configuration's, as attestd --data-dir; or NULL */
    bool self_signed;        /* a self-signed certificate at tls_cert; else a CSR at tls_cert.csr */
    const char *const *names; /* DNS names and IP addresses besides public_url's host */
    size_t n_names;
};

/*
 * Make what the configuration names and is missing, never replacing a file: the data
 * directory (0700), the KEK at kek_file (0600; none with kek_pkcs11), and at tls_key a P-256
 * key (0600) with either a self-signed certificate at tls_cert (397 days) or a certificate
 * signing request at tls_cert.csr, for public_url's host and `names` (serverAuth, SHA-256). A
 * TLS key that exists is used. Run as root with `user` set: a data directory made here is the
 * user's, the KEK stays root's, the TLS key is root's with the user's group (0640). Everything
 * is checked before anything is written. *text_out: what was made, what was kept, what next.
 */
int att_admin_init(const struct att_admin_init_args *args, char **text_out, char *err,
                   size_t err_len);

/* The route table with each route's permission, as JSON (no store needed). */
char *att_admin_routes(void);

void att_admin_free_string(char *s);

/* ---- the audit trail (docs/operations.md, "Audit trail") ---- */

/*
 * Around a command that changes the store: a durable "attempt" record (`action`, e.g.
 * "provider.create", with the command's arguments) before it - non-zero, with err written,
 * when it cannot be written: the command must then change nothing - and its outcome after
 * (`result` 0 = success, else `message` says why).
 */
int att_admin_audit_begin(struct att_admin *a, const char *action, const char *const *args,
                          size_t n_args, char *err, size_t err_len);
void att_admin_audit_end(struct att_admin *a, const char *action, int result, const char *message);
/*
 * Check the whole trail (chain, columns, checkpoint signatures, the newest checkpoint kept in
 * the state database); *json_out gets the verdict. 0 when sound, 3 when broken (the verdict
 * names the first bad record), 1 when it cannot be read.
 */
int att_admin_audit_verify(struct att_admin *a, char **json_out, char *err, size_t err_len);

/*
 * After records were lost (attestd refuses to start: its newest checkpoint is not in the
 * trail), record the loss in the trail and forget the checkpoint, so the daemon starts and
 * verification passes again with the loss on record.
 */
int att_admin_audit_acknowledge_loss(struct att_admin *a, char **json_out, char *err,
                                     size_t err_len);

/* Which records `attestctl audit show|export` prints; NULL / 0 = no condition. */
struct att_admin_audit_query {
    const char *since; /* RFC 3339 UTC or epoch seconds */
    const char *until;
    const char *principal; /* id or name */
    const char *provider;
    const char *action;   /* "policy.set", or "policy" for all of "policy.*" */
    const char *category; /* "change", "authentication", "authorization", "attestation", ... */
    int64_t after;        /* records numbered above this */
    int64_t limit;
    bool text; /* one readable line per record instead of its JSON */
};
/* Each matching record, oldest first, as one JSON line (no newline) passed to `emit`, which
 * returns 0 to go on. */
int att_admin_audit_scan(struct att_admin *a, const struct att_admin_audit_query *q,
                         int (*emit)(const char *line, void *arg), void *arg, char *err,
                         size_t err_len);

/* ---- backup and restore (docs/operations.md "Backup and restore") ---- */

/* The secret of a backup: exactly one of a passphrase file (its first line, 8 to 1024 bytes)
 * and a key file (64 hex characters, as `kek generate` writes); both private to the user. */
struct att_admin_backup_secret {
    const char *passphrase_file;
    const char *key_file;
};

/*
 * Write an encrypted, signed archive of the state database to the new file `path` (refused
 * when it exists), consistent while attestd runs. JSON: the manifest, file, bytes, signer_kid.
 */
int att_admin_backup_create(struct att_admin *a, const char *path,
                            const struct att_admin_backup_secret *sec, char **json_out, char *err,
                            size_t err_len);
/*
 * Check an archive without restoring it: structure and signature, and with a secret its
 * contents too (decrypted into a private directory next to it, checked, removed).
 */
int att_admin_backup_verify(const char *path, const struct att_admin_backup_secret *sec,
                            char **json_out, char *err, size_t err_len);
/*
 * Restore an archive into `data_dir`, which must be absent or empty: checked in full first
 * (signature, contents, schema, the KEK - in `kek_file`, or the PKCS#11 token `kek_uri` names -
 * opening every key, with the token `signing_keys_uri` names when signing keys live in one),
 * built in a private
 * directory next to it and renamed into place, with a new audit trail whose first record names
 * the archive. Nothing is written to `data_dir` when any check fails.
 */
int att_admin_restore(const char *path, const char *data_dir,
                      const struct att_admin_backup_secret *sec, const char *kek_file,
                      const char *kek_uri, const char *signing_keys_uri, char **json_out, char *err,
                      size_t err_len);

/* ---- moving to PostgreSQL (docs/operations.md "Moving to PostgreSQL") ---- */

/*
 * Check store migrate's arguments before anything is opened: `from` is sqlite:PATH naming an
 * existing regular file, `to` a postgresql:// URL without a password. 0; 2 with err naming a
 * malformed argument (a usage error); 1 with err naming a missing or unusable source file.
 */
int att_admin_store_migrate_check(const char *from, const char *to, char *err, size_t err_len);
/*
 * Copy every record of the SQLite store `from` (sqlite:PATH) into the PostgreSQL database `to`,
 * which must be empty: read inside one transaction on the source (a consistent snapshot; the
 * source is never written) and written inside one on the target, so a failure leaves the
 * target empty. Keys and data keys are copied sealed, as they are: attestd on the target needs
 * the same key-encryption key. After the commit the target's rows are counted again and
 * compared with the source's. The source is `a`'s own store when it is the same file. JSON:
 * from, to, schema, rows, verified, kek_ids (of the data keys) and tables [{table, rows}].
 */
int att_admin_store_migrate(struct att_admin *a, const char *from, const char *to, char **json_out,
                            char *err, size_t err_len);

/* ---- command lines: attestctl's, run by attestctl or by attestd's admin socket ---- */

struct att_admin_cli {
    FILE *out;
    FILE *err;
    bool table; /* answers as tables for people (attestctl: on a terminal); else JSON */
    /* Opens the store for a command that needs it (attestctl: att_admin_open with its
     * --config and --data-dir); called after the command line parsed. NULL: none to open. */
    int (*open)(void *arg, struct att_admin **out, char *err, size_t err_len);
    void *open_arg;
    /* attestctl's --config and --data-dir (NULL when not given), for the commands that read
     * the configuration without the store (init). */
    const char *config_path;
    const char *data_dir;
};

enum att_admin_cli_kind {
    ATT_ADMIN_CLI_NONE,  /* no command: running it prints why */
    ATT_ADMIN_CLI_LOCAL, /* runs where it is typed: no store, or only to read collateral */
    ATT_ADMIN_CLI_STORE, /* reads or changes the state: in attestd, through its admin socket */
};
enum att_admin_cli_kind att_admin_cli_kind(int argc, char **argv);
/* Whether argv names a command that changes the state (and is recorded in the audit trail). */
bool att_admin_cli_changes(int argc, char **argv);

/*
 * Run a command line (argv holds the command's words, then its arguments; "help ..." too).
 * `a` is the open store, or NULL to have io->open open one when the command needs it. Returns
 * the exit status: 0 done, 1 failed, 2 usage error, 3 audit trail broken.
 */
int att_admin_cli_run(struct att_admin *a, const struct att_admin_cli *io, int argc, char **argv);

/*
 * For each argument of a store command line, whether it names a file the command reads ('@'),
 * a file it writes ('>') or a directory it writes files into ('/'), else 0, into
 * marks[0..argc) - what the admin socket must carry. -1 when argv names no command.
 */
int att_admin_cli_file_args(int argc, char **argv, char *marks);

/*
 * Run a store command line in the running attestd, through its admin socket: `socket_path`,
 * else the configuration's admin_socket (read from config_path and data_dir as attestd reads
 * them). Files the command reads are sent, files it writes are written here; its output is
 * printed here. Returns its exit status, or ATT_ADMIN_CLIENT_NO_DAEMON when no attestd listens
 * on the socket (the caller then opens the store itself).
 */
#define ATT_ADMIN_CLIENT_NO_DAEMON (-1)
int att_admin_client_run(const char *config_path, const char *data_dir, const char *socket_path,
                         bool table, int argc, char **argv);

/* The list of commands and what they do, as `attestctl help` prints it. */
void att_admin_cli_help(FILE *f);

#endif
