/*
 * secret.c - client secrets: generation, scrypt hashing (RFC 7914) and verification.
 *
 * Input trust: the presented secret comes from the network (untrusted, never logged, never
 * echoed); the encoded hash comes from the store, which others may reach, so it is parsed
 * with the bounded reader and its cost parameters are bounded before any work is done.
 *
 * Stored form (PHC string format, as in secret.h):
 *   $scrypt$ln=<log2 N>,r=<r>,p=<p>$<base64 salt>$<base64 hash>
 * base64 is the standard alphabet (RFC 4648 §4) without '=' padding. Exactly one spelling
 * of each hash is accepted: fixed parameter order, no leading zeros, canonical base64.
 */
#include "auth/secret.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "core/buf.h"
#include "core/codec.h"
#include "core/mem.h"
#include "core/rd.h"
#include "crypto/scrypt.h"

#define SECRET_RAW_LEN 32
#define SALT_LEN 16
#define HASH_LEN 32

/* Parameters of new hashes (secret.h): N = 2^15, r = 8, p = 1. */
#define DEFAULT_LN 15
#define DEFAULT_R 8
#define DEFAULT_P 1

/* Bounds on stored parameters, so a tampered row cannot make one check take minutes. */
#define LN_MIN 10
#define LN_MAX 20
#define R_MIN 1
#define R_MAX 32
#define P_MIN 1
#define P_MAX 4
/*
 * The bounds above still allow N = 2^20 with r = 32: 4 GiB and 512 times the default work.
 * So the products are bounded too: memory 128 * r * N <= 256 MiB (8x the default) and
 * work N * r * p <= 2^22 (16x the default).
 */
#define NR_MAX ((uint64_t)1 << 21)
#define NRP_MAX ((uint64_t)1 << 22)

#define PHC_ID "scrypt"

/* Length of padded base64 for n bytes; the codec reserves this much when encoding. */
#define B64_GROUPS_LEN(n) (((n) + 2) / 3 * 4)
/* Cap of the buffers salt and hash are decoded into (the codec reserves a little extra). */
#define DECODE_MAX 64

struct scrypt_params {
    uint64_t ln;
    uint64_t r;
    uint64_t p;
};

/* ---- scrypt (src/crypto/scrypt.h) ---- */

/* Secrets longer than ATT_SCRYPT_SECRET_MAX are refused with ATT_ERR_TOO_LARGE (ours are 43). */
static att_err derive(const char *secret, size_t len, const uint8_t salt[SALT_LEN],
                      const struct scrypt_params *sp, uint8_t out[HASH_LEN])
{
    return att_scrypt(secret, len, salt, SALT_LEN, (unsigned)sp->ln, (uint32_t)sp->r,
                      (uint32_t)sp->p, out, HASH_LEN);
}

/* ---- base64 without padding (PHC), through core/codec ---- */

static size_t b64_nopad_len(size_t n)
{
    return (n * 4 + 2) / 3;
}

static att_err b64_nopad_put(const uint8_t *p, size_t n, struct att_buf *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_buf tmp;

    att_buf_init(&tmp, B64_GROUPS_LEN(n));
    ATT_GUARD(att_b64_encode(p, n, &tmp));
    ATT_CHECK(tmp.len >= b64_nopad_len(n), ATT_ERR_INTERNAL);
    ATT_GUARD(att_buf_put(out, tmp.data, b64_nopad_len(n)));
    rc = ATT_OK;
out:
    att_buf_cleanup(&tmp);
    return rc;
}

/*
 * Decode unpadded base64 of exactly `want` bytes into `out`. The exact text length, the
 * strict decoder (no '=' inside, canonical last symbol) and the re-added padding together
 * accept one spelling only.
 */
static att_err b64_nopad_get(struct att_bytes text, size_t want, struct att_buf *out)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_buf padded;

    att_buf_init(&padded, B64_GROUPS_LEN(want));
    ATT_CHECK(text.len == b64_nopad_len(want), ATT_ERR_PARSE);
    ATT_GUARD(att_buf_put(&padded, text.ptr, text.len));
    while (padded.len % 4 != 0) {
        ATT_GUARD(att_buf_putc(&padded, '='));
    }
    ATT_CHECK(att_b64_decode((const char *)padded.data, padded.len, out) == ATT_OK, ATT_ERR_PARSE);
    ATT_CHECK(out->len == want, ATT_ERR_PARSE);
    rc = ATT_OK;
out:
    att_buf_cleanup(&padded);
    return rc;
}

/* ---- parsing the stored string ---- */

/* A decimal in canonical form (no sign, no leading zero); too large is out of bounds. */
static att_err parse_decimal(struct att_bytes text, uint64_t *out)
{
    struct att_rd r;
    uint8_t first;

    att_rd_init(&r, text.ptr, text.len);
    ATT_ENSURE(att_rd_peek_u8(&r, &first) == ATT_OK, ATT_ERR_PARSE);
    ATT_ENSURE(!(first == '0' && text.len > 1), ATT_ERR_PARSE);
    att_err rc = att_bytes_to_u64(text, UINT32_MAX, out);
    if (rc == ATT_ERR_TOO_LARGE) {
        return ATT_ERR_VALIDATE;
    }
    ATT_ENSURE(rc == ATT_OK, ATT_ERR_PARSE);
    return ATT_OK;
}

/* "<key>=<decimal>" up to `delim` (or the end of `r` when delim is 0). */
static att_err parse_param(struct att_rd *r, const char *key, uint8_t delim, uint64_t *out)
{
    struct att_bytes name;
    struct att_bytes value;

    ATT_ENSURE(att_rd_until(r, '=', &name) == ATT_OK, ATT_ERR_PARSE);
    ATT_ENSURE(att_bytes_eq_str(name, key), ATT_ERR_PARSE);
    if (delim != 0) {
        ATT_ENSURE(att_rd_until(r, delim, &value) == ATT_OK, ATT_ERR_PARSE);
    } else {
        att_rd_rest(r, &value);
    }
    return parse_decimal(value, out);
}

static att_err check_params(const struct scrypt_params *sp)
{
    ATT_ENSURE(sp->ln >= LN_MIN && sp->ln <= LN_MAX, ATT_ERR_VALIDATE);
    ATT_ENSURE(sp->r >= R_MIN && sp->r <= R_MAX, ATT_ERR_VALIDATE);
    ATT_ENSURE(sp->p >= P_MIN && sp->p <= P_MAX, ATT_ERR_VALIDATE);
    uint64_t nr = ((uint64_t)1 << sp->ln) * sp->r;
    ATT_ENSURE(nr <= NR_MAX, ATT_ERR_VALIDATE);
    ATT_ENSURE(nr * sp->p <= NRP_MAX, ATT_ERR_VALIDATE);
    return ATT_OK;
}

/*
 * Parse `encoded` (NUL-terminated, untrusted) into parameters, salt and hash. Syntax errors
 * are ATT_ERR_PARSE; parameters outside the bounds are ATT_ERR_VALIDATE. The outputs are
 * written only on success; salt and hash are appended to their (empty) buffers.
 */
static att_err parse_encoded(const char *encoded, struct scrypt_params *sp_out,
                             struct att_buf *salt, struct att_buf *hash)
{
    struct att_rd r;
    struct att_rd pr;
    struct att_bytes part;
    struct att_bytes params;
    struct att_bytes salt_text;
    struct att_bytes hash_text;
    struct scrypt_params sp;
    size_t n = strnlen(encoded, ATT_SECRET_HASH_MAX + 1);

    ATT_ENSURE(n <= ATT_SECRET_HASH_MAX, ATT_ERR_PARSE);
    att_rd_init(&r, encoded, n);
    /* PHC: "$" id "$" params "$" salt "$" hash; nothing before the first '$'. */
    ATT_ENSURE(att_rd_until(&r, '$', &part) == ATT_OK && part.len == 0, ATT_ERR_PARSE);
    ATT_ENSURE(att_rd_until(&r, '$', &part) == ATT_OK, ATT_ERR_PARSE);
    ATT_ENSURE(att_bytes_eq_str(part, PHC_ID), ATT_ERR_PARSE);
    ATT_ENSURE(att_rd_until(&r, '$', &params) == ATT_OK, ATT_ERR_PARSE);
    ATT_ENSURE(att_rd_until(&r, '$', &salt_text) == ATT_OK, ATT_ERR_PARSE);
    att_rd_rest(&r, &hash_text);

    att_rd_init(&pr, params.ptr, params.len);
    ATT_TRY(parse_param(&pr, "ln", ',', &sp.ln));
    ATT_TRY(parse_param(&pr, "r", ',', &sp.r));
    ATT_TRY(parse_param(&pr, "p", 0, &sp.p));
    ATT_TRY(b64_nopad_get(salt_text, SALT_LEN, salt));
    ATT_TRY(b64_nopad_get(hash_text, HASH_LEN, hash));
    /* Syntax first, so a malformed string is "malformed" whatever its numbers say. */
    ATT_TRY(check_params(&sp));
    *sp_out = sp;
    return ATT_OK;
}

/* ---- public ---- */

att_err att_secret_generate(char out[ATT_SECRET_TEXT_LEN + 1])
{
    att_err rc = ATT_ERR_INTERNAL;
    uint8_t raw[SECRET_RAW_LEN];
    struct att_buf text;

    /* The encoder reserves whole groups of 4 before dropping the padding. */
    att_buf_init_secret(&text, B64_GROUPS_LEN(SECRET_RAW_LEN));
    ATT_CHECK(RAND_bytes(raw, sizeof(raw)) == 1, ATT_ERR_CRYPTO);
    ATT_GUARD(att_b64url_encode(raw, sizeof(raw), &text));
    ATT_CHECK(text.len == ATT_SECRET_TEXT_LEN, ATT_ERR_INTERNAL);
    (void)snprintf(out, ATT_SECRET_TEXT_LEN + 1, "%s", att_buf_cstr(&text));
    rc = ATT_OK;
out:
    att_wipe(raw, sizeof(raw));
    att_buf_cleanup(&text);
    return rc;
}

att_err att_secret_hash(const char *secret, size_t len, char *out, size_t out_len)
{
    att_err rc = ATT_ERR_INTERNAL;
    const struct scrypt_params sp = {DEFAULT_LN, DEFAULT_R, DEFAULT_P};
    uint8_t salt[SALT_LEN];
    uint8_t dk[HASH_LEN];
    struct att_buf enc;

    att_buf_init(&enc, ATT_SECRET_HASH_MAX);
    ATT_CHECK(secret != NULL || len == 0, ATT_ERR_ARG);
    ATT_CHECK(out != NULL && out_len >= ATT_SECRET_HASH_MAX + 1, ATT_ERR_ARG);
    ATT_CHECK(RAND_bytes(salt, sizeof(salt)) == 1, ATT_ERR_CRYPTO);
    ATT_GUARD(derive(secret, len, salt, &sp, dk));
    ATT_GUARD(att_buf_printf(&enc, "$%s$ln=%u,r=%u,p=%u$", PHC_ID, (unsigned)sp.ln, (unsigned)sp.r,
                             (unsigned)sp.p));
    ATT_GUARD(b64_nopad_put(salt, sizeof(salt), &enc));
    ATT_GUARD(att_buf_putc(&enc, '$'));
    ATT_GUARD(b64_nopad_put(dk, sizeof(dk), &enc));
    (void)snprintf(out, out_len, "%s", att_buf_cstr(&enc));
    rc = ATT_OK;
out:
    att_wipe(dk, sizeof(dk));
    att_buf_cleanup(&enc);
    return rc;
}

att_err att_secret_verify(const char *secret, size_t len, const char *encoded)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct scrypt_params sp;
    struct att_buf salt;
    struct att_buf hash;
    uint8_t dk[HASH_LEN];

    /* Room for what the decoder reserves; the exact lengths are checked after decoding. */
    att_buf_init(&salt, DECODE_MAX);
    att_buf_init(&hash, DECODE_MAX);
    ATT_CHECK(secret != NULL || len == 0, ATT_ERR_ARG);
    ATT_CHECK(encoded != NULL, ATT_ERR_ARG);
    ATT_GUARD(parse_encoded(encoded, &sp, &salt, &hash));
    rc = derive(secret, len, salt.data, &sp, dk);
    /* An over-long secret cannot be one of ours. */
    ATT_CHECK(rc != ATT_ERR_TOO_LARGE, ATT_ERR_CREDENTIALS);
    ATT_GUARD(rc);
    ATT_CHECK(att_ct_equal(dk, hash.data, HASH_LEN), ATT_ERR_CREDENTIALS);
    rc = ATT_OK;
out:
    att_wipe(dk, sizeof(dk));
    att_buf_cleanup(&salt);
    att_buf_cleanup(&hash);
    return rc;
}

void att_secret_burn(const char *secret, size_t len)
{
    /* A fixed salt is fine: the result is thrown away; only the time spent matters. */
    static const uint8_t salt[SALT_LEN] = "attestd-burn-v1";
    const struct scrypt_params sp = {DEFAULT_LN, DEFAULT_R, DEFAULT_P};
    uint8_t dk[HASH_LEN];

    if (secret == NULL) {
        len = 0;
    }
    /* Nothing to report: a failure only makes this call shorter, as a verify would be. */
    att_ignore_err(derive(secret, len, salt, &sp, dk));
    att_wipe(dk, sizeof(dk));
}
