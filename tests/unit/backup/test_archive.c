/*
 * Unit tests for the backup archive (src/backup/archive.c) and restore's refusals that need a
 * crafted archive (src/admin/backup.c): round trip; every truncation and every flipped bit
 * refused at the step that owns it; wrong keys told apart from tampering; the passphrase
 * cost bounded before any work; payload entries checked; an archive of a newer schema refused
 * by restore without writing anything.
 */
#include "att_test.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "att/admin.h"
#include "backup/archive.h"
#include "signer/signer.h"

#define KID "test"

struct signer_fx {
    struct att_signer *s;
    struct att_buf cert;
};

static att_err sign_cb(void *arg, const char *digest_hex, size_t len, struct att_buf *jws)
{
    struct signer_fx *fx = arg;
    char kid[ATT_KID_MAX + 1];
    ATT_TRY(att_signer_cert_kid(fx->cert.data, fx->cert.len, kid));
    json_t *hdr = json_pack("{s:s}", "typ", ATT_BACKUP_JWS_TYP);
    att_err rc = att_jws_sign(fx->s, kid, hdr, digest_hex, len, jws);
    json_decref(hdr);
    return rc;
}

static void signer_make(struct signer_fx *fx)
{
    struct att_buf pkcs8;
    char kid[ATT_KID_MAX + 1];
    att_buf_init_secret(&pkcs8, 1 << 16);
    att_buf_init(&fx->cert, 1 << 16);
    EXPECT_OK(att_signer_new(&fx->s));
    EXPECT_OK(
        att_signer_create_key(ATT_JWS_ES256, "backup test", 1700000000, 30, &pkcs8, &fx->cert));
    EXPECT_OK(att_signer_cert_kid(fx->cert.data, fx->cert.len, kid));
    EXPECT_OK(att_signer_add_pkcs8(fx->s, kid, ATT_JWS_ES256, pkcs8.data, pkcs8.len, fx->cert.data,
                                   fx->cert.len));
    att_buf_cleanup(&pkcs8);
}

static void signer_free(struct signer_fx *fx)
{
    att_signer_free(fx->s);
    att_buf_cleanup(&fx->cert);
}

static void key_of(uint8_t fill, struct att_backup_key *k)
{
    uint8_t raw[32];
    memset(raw, fill, sizeof(raw));
    EXPECT_OK(att_backup_key_from_bytes(raw, k));
}

/* An archive of a two-entry payload under key `fill`, schema `schema`. */
static void make_archive(struct signer_fx *fx, uint8_t fill, uint32_t schema, struct att_buf *out)
{
    struct att_backup_header h = {
        .kdf = ATT_BACKUP_KDF_KEY, .schema = schema, .created_at = 1800000000};
    struct att_backup_key k;
    struct att_buf payload;
    att_buf_init(&payload, 1 << 16);
    key_of(fill, &k);
    EXPECT_OK(att_backup_entry_put(&payload, "manifest.json", (const uint8_t *)"{}", 2));
    EXPECT_OK(att_backup_entry_put(&payload, "attestd.db", (const uint8_t *)"database", 8));
    EXPECT_OK(att_backup_write(&h, &k, payload.data, payload.len, fx->cert.data, fx->cert.len,
                               sign_cb, fx, out));
    att_buf_cleanup(&payload);
}

/* Parse, check the signature and decrypt with key `fill`: the first error. */
static att_err read_all(const uint8_t *data, size_t len, uint8_t fill)
{
    struct att_backup_view v;
    struct att_backup_key k;
    struct att_buf pt;
    char kid[ATT_KID_MAX + 1];
    att_buf_init_secret(&pt, 1 << 20);
    key_of(fill, &k);
    att_err rc = att_backup_parse(data, len, &v);
    if (rc == ATT_OK) {
        rc = att_backup_check_signature(&v, kid);
    }
    if (rc == ATT_OK) {
        rc = att_backup_decrypt(&v, &k, &pt);
    }
    att_buf_cleanup(&pt);
    return rc;
}

static void test_round_trip(void **state)
{
    (void)state;
    struct signer_fx fx;
    struct att_buf a, pt;
    struct att_backup_view v;
    struct att_backup_key k;
    struct att_bytes db;
    char kid[ATT_KID_MAX + 1];
    char want_kid[ATT_KID_MAX + 1];
    signer_make(&fx);
    att_buf_init(&a, 1 << 20);
    att_buf_init_secret(&pt, 1 << 20);
    make_archive(&fx, 7, 10, &a);
    EXPECT_OK(att_backup_parse(a.data, a.len, &v));
    assert_int_equal(v.h.kdf, ATT_BACKUP_KDF_KEY);
    assert_int_equal(v.h.schema, 10);
    assert_int_equal(v.h.created_at, 1800000000);
    EXPECT_OK(att_backup_check_signature(&v, kid));
    EXPECT_OK(att_signer_cert_kid(fx.cert.data, fx.cert.len, want_kid));
    assert_string_equal(kid, want_kid);
    key_of(7, &k);
    EXPECT_OK(att_backup_decrypt(&v, &k, &pt));
    /* With ATT_BACKUP_SEED set, the archive is written there: the fuzz target's seed
     * (tests/fuzz/corpus/backup/valid_small). */
    const char *seed = getenv("ATT_BACKUP_SEED");
    if (seed != NULL) {
        FILE *f = fopen(seed, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(a.data, 1, a.len, f), a.len);
        fclose(f);
    }
    EXPECT_OK(att_backup_entry_find(pt.data, pt.len, "attestd.db", &db));
    assert_int_equal(db.len, 8);
    assert_memory_equal(db.ptr, "database", 8);
    EXPECT_ERR(att_backup_entry_find(pt.data, pt.len, "other", &db), ATT_ERR_NOT_FOUND);
    /* Another key: told apart from tampering. */
    EXPECT_ERR(read_all(a.data, a.len, 8), ATT_ERR_KEY_MISMATCH);
    att_buf_cleanup(&a);
    att_buf_cleanup(&pt);
    signer_free(&fx);
}

/* Every prefix, and the whole with a byte more, is refused as malformed. */
static void test_every_truncation(void **state)
{
    (void)state;
    struct signer_fx fx;
    struct att_buf a;
    struct att_backup_view v;
    signer_make(&fx);
    att_buf_init(&a, 1 << 20);
    make_archive(&fx, 7, 10, &a);
    for (size_t n = 0; n < a.len; n++) {
        if (att_backup_parse(a.data, n, &v) != ATT_ERR_BACKUP_FORMAT) {
            fail_msg("a prefix of %zu of %zu bytes was not refused", n, a.len);
        }
    }
    EXPECT_OK(att_buf_putc(&a, 0));
    EXPECT_ERR(att_backup_parse(a.data, a.len, &v), ATT_ERR_BACKUP_FORMAT);
    att_buf_cleanup(&a);
    signer_free(&fx);
}

/* Flipping any bit makes some step refuse: structure, signature or tag. */
static void test_every_bit_flip(void **state)
{
    (void)state;
    struct signer_fx fx;
    struct att_buf a;
    signer_make(&fx);
    att_buf_init(&a, 1 << 20);
    make_archive(&fx, 7, 10, &a);
    for (size_t i = 0; i < a.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            a.data[i] ^= (uint8_t)(1u << bit);
            att_err rc = read_all(a.data, a.len, 7);
            a.data[i] ^= (uint8_t)(1u << bit);
            if (rc == ATT_OK) {
                fail_msg("byte %zu bit %d flipped and still accepted", i, bit);
            }
            if (rc != ATT_ERR_BACKUP_FORMAT && rc != ATT_ERR_SIGNATURE &&
                rc != ATT_ERR_KEY_MISMATCH) {
                fail_msg("byte %zu bit %d: unexpected %s", i, bit, att_err_name(rc));
            }
        }
    }
    EXPECT_OK(read_all(a.data, a.len, 7));
    att_buf_cleanup(&a);
    signer_free(&fx);
}

/* A signature by another key (its own certificate embedded) is checked, not trusted blindly:
 * the digest covers the certificate, so swapping only the certificate fails. */
static void test_swapped_certificate(void **state)
{
    (void)state;
    struct signer_fx fx, other;
    struct att_buf a, b;
    struct att_backup_view va, vb;
    char kid[ATT_KID_MAX + 1];
    signer_make(&fx);
    signer_make(&other);
    att_buf_init(&a, 1 << 20);
    att_buf_init(&b, 1 << 20);
    make_archive(&fx, 7, 10, &a);
    EXPECT_OK(att_backup_parse(a.data, a.len, &va));
    /* The same archive with the other certificate in place of the signer's. */
    EXPECT_OK(att_buf_put(&b, va.header.ptr, va.header.len));
    EXPECT_OK(att_buf_put(&b, va.body.ptr, va.body.len));
    uint8_t len2[2] = {(uint8_t)(other.cert.len >> 8), (uint8_t)other.cert.len};
    EXPECT_OK(att_buf_put(&b, len2, 2));
    EXPECT_OK(att_buf_put(&b, other.cert.data, other.cert.len));
    uint8_t jl[2] = {(uint8_t)(va.jws.len >> 8), (uint8_t)va.jws.len};
    EXPECT_OK(att_buf_put(&b, jl, 2));
    EXPECT_OK(att_buf_put(&b, va.jws.ptr, va.jws.len));
    EXPECT_OK(att_backup_parse(b.data, b.len, &vb));
    EXPECT_ERR(att_backup_check_signature(&vb, kid), ATT_ERR_SIGNATURE);
    att_buf_cleanup(&a);
    att_buf_cleanup(&b);
    signer_free(&fx);
    signer_free(&other);
}

static void test_passphrase_cost_bounded(void **state)
{
    (void)state;
    struct att_backup_key k;
    struct att_backup_header h = {.kdf = ATT_BACKUP_KDF_SCRYPT, .ln = 14, .r = 8, .p = 1};
    EXPECT_OK(att_backup_key_from_passphrase("long enough", 11, &h, &k));
    struct att_backup_key again;
    EXPECT_OK(att_backup_key_from_passphrase("long enough", 11, &h, &again));
    assert_memory_equal(k.key, again.key, sizeof(k.key));
    EXPECT_ERR(att_backup_key_from_passphrase("short", 5, &h, &k), ATT_ERR_ARG);
    const struct {
        uint8_t ln, r, p;
    } bad[] = {{21, 8, 1}, {13, 8, 1}, {20, 16, 1}, {17, 8, 5}, {17, 0, 1}, {17, 17, 1}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        h.ln = bad[i].ln;
        h.r = bad[i].r;
        h.p = bad[i].p;
        EXPECT_ERR(att_backup_key_from_passphrase("long enough", 11, &h, &k),
                   ATT_ERR_BACKUP_FORMAT);
    }
    att_backup_key_wipe(&k);
}

static void test_entries(void **state)
{
    (void)state;
    struct att_buf p;
    struct att_bytes out;
    att_buf_init(&p, 1 << 16);
    EXPECT_OK(att_backup_entry_put(&p, "a", (const uint8_t *)"1", 1));
    EXPECT_OK(att_backup_entry_put(&p, "a", (const uint8_t *)"2", 1));
    EXPECT_ERR(att_backup_entry_find(p.data, p.len, "a", &out), ATT_ERR_BACKUP_FORMAT);
    p.len = 0;
    for (int i = 0; i < ATT_BACKUP_ENTRIES_MAX + 1; i++) {
        char name[8];
        snprintf(name, sizeof(name), "e%d", i);
        EXPECT_OK(att_backup_entry_put(&p, name, (const uint8_t *)"", 0));
    }
    EXPECT_ERR(att_backup_entry_find(p.data, p.len, "e0", &out), ATT_ERR_BACKUP_FORMAT);
    /* A length past the end, a zero-length name. */
    const uint8_t past[] = {1, 'a', 0, 0, 0, 0, 0, 0, 0, 9, 'x'};
    EXPECT_ERR(att_backup_entry_find(past, sizeof(past), "a", &out), ATT_ERR_BACKUP_FORMAT);
    const uint8_t noname[] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
    EXPECT_ERR(att_backup_entry_find(noname, sizeof(noname), "a", &out), ATT_ERR_BACKUP_FORMAT);
    EXPECT_ERR(att_backup_entry_put(&p, "", (const uint8_t *)"", 0), ATT_ERR_ARG);
    att_buf_cleanup(&p);
}

/* Restore refuses a sound archive of a newer schema before decrypting, and writes nothing. */
static void test_restore_refuses_newer_schema(void **state)
{
    (void)state;
    struct signer_fx fx;
    struct att_buf a;
    char dir[64];
    char file[128], target[128], key[128];
    signer_make(&fx);
    att_buf_init(&a, 1 << 20);
    make_archive(&fx, 7, 999, &a);
    att_test_mkdtemp("backup", dir, sizeof(dir));
    snprintf(file, sizeof(file), "%s/newer.backup", dir);
    snprintf(target, sizeof(target), "%s/data", dir);
    snprintf(key, sizeof(key), "%s/backup.key", dir);
    FILE *f = fopen(file, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(a.data, 1, a.len, f), a.len);
    fclose(f);
    char err[1024];
    assert_int_equal(att_admin_kek_generate(key, err, sizeof(err)), 0);
    struct att_admin_backup_secret sec = {.key_file = key};
    char *json = NULL;
    assert_int_equal(
        att_admin_restore(file, target, &sec, key, NULL, NULL, &json, err, sizeof(err)), 1);
    assert_non_null(strstr(err, "made with database schema 999, newer than this attestctl"));
    struct stat st;
    assert_int_equal(stat(target, &st), -1);
    att_test_rmdir(dir); /* the archive and the key: nothing else was made */
    att_buf_cleanup(&a);
    signer_free(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_every_bit_flip),
        cmocka_unit_test(test_swapped_certificate),
        cmocka_unit_test(test_passphrase_cost_bounded),
        cmocka_unit_test(test_entries),
        cmocka_unit_test(test_restore_refuses_newer_schema),
    };
    return cmocka_run_group_tests_name("backup", tests, NULL, NULL);
}
