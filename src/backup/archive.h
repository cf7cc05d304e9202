/*
 * archive.h - attestd's backup archive: an encrypted, signed container of a consistent
 * snapshot of the state database and a manifest (docs/internals/backup.md).
 *
 *   HEADER (60 bytes, big-endian; also the associated data of the encryption)
 *   BODY   nonce (12) | AES-256-GCM ciphertext of the PAYLOAD | tag (16)
 *   SIGNER u16 length | DER certificate of the access-token key that signed
 *   JWS    u16 length | compact ES256 JWS, typ "attestd-backup", whose payload is the lower-case
 *          hex SHA-256 of HEADER | BODY | certificate
 *
 * The PAYLOAD is a list of named entries (u8 name length | name | u64 length | bytes).
 * Everything read from an archive goes through the bounded reader; nothing is trusted before
 * the signature and the tag have been checked, and the key-derivation cost an archive asks
 * for is bounded before any work.
 */
#ifndef ATT_BACKUP_ARCHIVE_H
#define ATT_BACKUP_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/rd.h"
#include "signer/signer.h"

#define ATT_BACKUP_HEADER_LEN 60
#define ATT_BACKUP_FORMAT 1
#define ATT_BACKUP_MAX ((size_t)1 << 30) /* largest payload, and archive less its trailer */
#define ATT_BACKUP_SALT_LEN 16
#define ATT_BACKUP_KEY_ID_LEN 8
#define ATT_BACKUP_ENTRIES_MAX 8
#define ATT_BACKUP_NAME_MAX 64
#define ATT_BACKUP_JWS_TYP "attestd-backup"

enum att_backup_kdf {
    ATT_BACKUP_KDF_SCRYPT = 1, /* a passphrase through scrypt (RFC 7914) */
    ATT_BACKUP_KDF_KEY = 2,    /* a 32-byte backup key file */
};

/* What the header says (in clear, authenticated by the tag and the signature). */
struct att_backup_header {
    uint8_t kdf;        /* enum att_backup_kdf */
    uint8_t ln, r, p;   /* scrypt's log2 N, r and p; 0 for a key file */
    uint32_t schema;    /* the state database's schema version */
    int64_t created_at; /* Unix seconds */
    uint8_t salt[ATT_BACKUP_SALT_LEN];
    uint8_t key_id[ATT_BACKUP_KEY_ID_LEN]; /* which key: see att_backup_key */
    uint64_t payload_len;
};

/* An encryption key and its id (the first 8 bytes of SHA-256("attestd/backup-key/v1" | key)),
 * so that a wrong passphrase or key file is told apart from a tampered archive. */
struct att_backup_key {
    uint8_t key[32];
    uint8_t id[ATT_BACKUP_KEY_ID_LEN];
};

/* Scrypt cost of new archives: N = 2^17, r = 8, p = 1 (128 MiB, about a second). */
#define ATT_BACKUP_SCRYPT_LN 17
#define ATT_BACKUP_SCRYPT_R 8
#define ATT_BACKUP_SCRYPT_P 1

/*
 * The key from a passphrase (8 to 1024 bytes) with the header's salt and cost, which must be
 * within bounds (ln 14..20, r 1..16, p 1..4, 128 * r * 2^ln <= 256 MiB): ATT_ERR_BACKUP_FORMAT
 * otherwise, ATT_ERR_ARG for a passphrase of the wrong length.
 */
att_err att_backup_key_from_passphrase(const char *pass, size_t len,
                                       const struct att_backup_header *h,
                                       struct att_backup_key *out) ATT_WUR;
/* The key from 32 raw bytes (a key file). */
att_err att_backup_key_from_bytes(const uint8_t raw[32], struct att_backup_key *out) ATT_WUR;
void att_backup_key_wipe(struct att_backup_key *k);

/* The parts of an archive, borrowed from its bytes. */
struct att_backup_view {
    struct att_backup_header h;
    struct att_bytes header; /* the 60 header bytes */
    struct att_bytes body;   /* nonce | ciphertext | tag */
    struct att_bytes cert;
    struct att_bytes jws;
};

/*
 * Split an archive into its parts and check their structure (magic, format, lengths, caps).
 * ATT_ERR_BACKUP_FORMAT for anything malformed or truncated or with bytes after the end.
 */
att_err att_backup_parse(const uint8_t *data, size_t len, struct att_backup_view *v) ATT_WUR;

/*
 * Check the signature: the JWS is ES256 with typ ATT_BACKUP_JWS_TYP, its kid is the embedded
 * certificate's (att_signer_cert_kid), it verifies with that certificate's key and its payload
 * is the hex SHA-256 of header | body | certificate. ATT_ERR_SIGNATURE otherwise. *kid gets the
 * signer's kid.
 */
att_err att_backup_check_signature(const struct att_backup_view *v,
                                   char kid[ATT_KID_MAX + 1]) ATT_WUR;

/*
 * Decrypt the payload into `out` (a secret buffer): ATT_ERR_KEY_MISMATCH when `k` is not the
 * key the archive names, ATT_ERR_SEAL_AUTH when the ciphertext or header was altered.
 */
att_err att_backup_decrypt(const struct att_backup_view *v, const struct att_backup_key *k,
                           struct att_buf *out) ATT_WUR;

/* Signs the hex digest (`len` bytes) as a compact JWS with typ ATT_BACKUP_JWS_TYP. */
typedef att_err (*att_backup_sign_fn)(void *arg, const char *digest_hex, size_t len,
                                      struct att_buf *jws);

/*
 * Write an archive of `payload` under `k` to `out`: h's kdf, ln, r, p, schema, created_at and
 * salt are the caller's (key_id and payload_len are set here); `cert` is the signer's
 * certificate and `sign` makes the JWS.
 */
att_err att_backup_write(const struct att_backup_header *h, const struct att_backup_key *k,
                         const uint8_t *payload, size_t len, const uint8_t *cert, size_t cert_len,
                         att_backup_sign_fn sign, void *sign_arg, struct att_buf *out) ATT_WUR;

/* Append entry `name` (1..ATT_BACKUP_NAME_MAX characters) with `len` bytes to a payload. */
att_err att_backup_entry_put(struct att_buf *payload, const char *name, const uint8_t *data,
                             size_t len) ATT_WUR;
/*
 * Find entry `name` in a decrypted payload, after checking the whole list (at most
 * ATT_BACKUP_ENTRIES_MAX entries, names unique): ATT_ERR_BACKUP_FORMAT when malformed,
 * ATT_ERR_NOT_FOUND when absent.
 */
att_err att_backup_entry_find(const uint8_t *payload, size_t len, const char *name,
                              struct att_bytes *out) ATT_WUR;

#endif
