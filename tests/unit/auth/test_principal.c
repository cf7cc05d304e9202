/*
 * Unit tests for src/auth/principal.c against a real SQLite store in a temp directory:
 * names, creation, authentication and each of its failure codes, rotation (two active
 * secrets, a third refused, revocation, expiry freeing a slot) and revocation across
 * principals. Every create, add and authenticate costs a scrypt (~0.3 s under ASan), so
 * the whole file stays around 35 of them.
 */
#include "att_test.h"
#include "store_fixture.h"

#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "auth/principal.h"
#include "store/store.h"

#define NOW INT64_C(1700000000)
#define DAY INT64_C(86400)
#define PEER "192.0.2.7"

static int setup(void **state)
{
    return store_fx_setup(state, "auth", true);
}

static int teardown(void **state)
{
    return store_fx_teardown(state);
}

static att_err auth(struct store_fx *f, const char *id, const char *secret, int64_t now,
                    struct att_principal_rec *out)
{
    return att_principal_authenticate(f->s, id, secret, strlen(secret), now, PEER, out);
}

static bool is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* RFC 9562 §5.4 layout: xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx, lowercase. */
static void assert_uuid_v4(const char *s)
{
    assert_int_equal(strlen(s), 36);
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            assert_int_equal(s[i], '-');
        } else {
            assert_true(is_lower_hex(s[i]));
        }
    }
    assert_int_equal(s[14], '4');
    assert_non_null(strchr("89ab", s[19]));
}

static void test_name_check(void **state)
{
    (void)state;
    static const char *good[] = {"a", "0", "svc", "svc.a_b-c", "9lives", "a.", "a-"};
    static const char *bad[] = {"",    "A",   "Svc", "-a",          ".a", "_a",
                                "a b", "a/b", "a@b", "caf\xc3\xa9", "a\n"};
    char longest[ATT_PRINCIPAL_NAME_MAX + 2];

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        EXPECT_OK(att_principal_name_check(good[i]));
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (att_principal_name_check(bad[i]) != ATT_ERR_ARG) {
            fail_msg("name \"%s\" accepted", bad[i]);
        }
    }
    memset(longest, 'a', sizeof(longest));
    longest[ATT_PRINCIPAL_NAME_MAX] = '\0';
    EXPECT_OK(att_principal_name_check(longest));
    longest[ATT_PRINCIPAL_NAME_MAX] = 'a';
    longest[ATT_PRINCIPAL_NAME_MAX + 1] = '\0';
    EXPECT_ERR(att_principal_name_check(longest), ATT_ERR_ARG);
    EXPECT_ERR(att_principal_name_check(NULL), ATT_ERR_ARG);
}

/* Bad names and arguments are refused before any work or write. */
static void test_create_refusals(void **state)
{
    struct store_fx *f = *state;
    struct att_principal_rec p;
    struct att_new_secret ns;

    memset(&p, 0x5a, sizeof(p));
    EXPECT_ERR(att_principal_create(f->s, "Bad Name", NOW, DAY, &p, &ns), ATT_ERR_ARG);
    EXPECT_ERR(att_principal_create(f->s, "", NOW, DAY, &p, &ns), ATT_ERR_ARG);
    EXPECT_ERR(att_principal_create(f->s, "ok", NOW, -1, &p, &ns), ATT_ERR_ARG);
    EXPECT_ERR(att_principal_create(f->s, "ok", 0, DAY, &p, &ns), ATT_ERR_ARG);
    EXPECT_ERR(att_principal_create(f->s, "ok", NOW, INT64_MAX, &p, &ns), ATT_ERR_ARG);
    EXPECT_ERR(att_principal_create(f->s, "ok", NOW, DAY, NULL, &ns), ATT_ERR_ARG);
    assert_int_equal(((unsigned char *)&p)[0], 0x5a);
    EXPECT_ERR(att_store_principal_get_by_name(f->s, "ok", &p), ATT_ERR_NOT_FOUND);
}

struct count {
    int n;
};

static att_err count_secret(const struct att_secret_rec *s, void *arg)
{
    (void)s;
    ((struct count *)arg)->n++;
    return ATT_OK;
}

static att_err count_principal(const struct att_principal_rec *p, void *arg)
{
    (void)p;
    ((struct count *)arg)->n++;
    return ATT_OK;
}

static void test_create_and_authenticate(void **state)
{
    struct store_fx *f = *state;
    struct att_principal_rec p;
    struct att_principal_rec got;
    struct att_new_secret ns;

    EXPECT_OK(att_principal_create(f->s, "svc.ci", NOW, 90 * DAY, &p, &ns));
    assert_uuid_v4(p.id);
    assert_string_equal(p.name, "svc.ci");
    assert_false(p.disabled);
    assert_int_equal(p.created_at, NOW);
    assert_int_equal(p.last_used_at, 0);
    assert_int_equal(strlen(ns.id), 32);
    for (size_t i = 0; i < 32; i++) {
        assert_true(is_lower_hex(ns.id[i]));
    }
    assert_int_equal(strlen(ns.secret), ATT_SECRET_TEXT_LEN);
    assert_int_equal(ns.expires_at, NOW + 90 * DAY);

    /* Stored: the principal, and one secret as a hash only. */
    struct count c = {0};
    EXPECT_OK(att_store_secret_list(f->s, p.id, count_secret, &c));
    assert_int_equal(c.n, 1);
    EXPECT_OK(att_store_principal_get_by_name(f->s, "svc.ci", &got));
    assert_string_equal(got.id, p.id);

    EXPECT_OK(auth(f, p.id, ns.secret, NOW + 10, &got));
    assert_string_equal(got.id, p.id);
    assert_string_equal(got.name, "svc.ci");
    assert_int_equal(got.last_used_at, NOW + 10);
    assert_string_equal(got.last_used_from, PEER);
    /* ... and recorded in the store. */
    memset(&got, 0, sizeof(got));
    EXPECT_OK(att_store_principal_get(f->s, p.id, &got));
    assert_int_equal(got.last_used_at, NOW + 10);
    assert_string_equal(got.last_used_from, PEER);

    /* Wrong secret, unknown id, ids that are not lowercase UUIDs: all the same answer. */
    struct att_principal_rec untouched;
    memset(&untouched, 0x5a, sizeof(untouched));
    char wrong[ATT_SECRET_TEXT_LEN + 1];
    (void)snprintf(wrong, sizeof(wrong), "%s", ns.secret);
    wrong[5] = wrong[5] == 'x' ? 'y' : 'x';
    EXPECT_ERR(auth(f, p.id, wrong, NOW + 20, &untouched), ATT_ERR_CREDENTIALS);
    EXPECT_ERR(auth(f, "00000000-0000-4000-8000-000000000000", ns.secret, NOW + 20, &untouched),
               ATT_ERR_CREDENTIALS);
    EXPECT_ERR(auth(f, "svc.ci", ns.secret, NOW + 20, &untouched), ATT_ERR_CREDENTIALS);
    char upper[37];
    (void)snprintf(upper, sizeof(upper), "%s", p.id);
    for (size_t i = 0; i < 36; i++) {
        if (upper[i] >= 'a' && upper[i] <= 'f') {
            upper[i] = (char)(upper[i] - 32);
        }
    }
    EXPECT_ERR(auth(f, upper, ns.secret, NOW + 20, &untouched), ATT_ERR_CREDENTIALS);
    assert_int_equal(((unsigned char *)&untouched)[0], 0x5a);
    /* The failures did not move the last use. */
    EXPECT_OK(att_store_principal_get(f->s, p.id, &got));
    assert_int_equal(got.last_used_at, NOW + 10);

    att_new_secret_wipe(&ns);
    assert_int_equal(ns.secret[0], 0);
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * F13: no principal has an id that is not a UUID, and the form is public: such an id is
 * refused without any scrypt run (ten refusals take less than a tenth of one run).
 */
static void test_non_uuid_ids(void **state)
{
    struct store_fx *f = *state;
    struct att_principal_rec got;
    assert_true(att_principal_id_well_formed("0f0e0d0c-0b0a-4908-8706-050403020100"));
    assert_false(att_principal_id_well_formed("0F0E0D0C-0B0A-4908-8706-050403020100"));
    assert_false(att_principal_id_well_formed("0f0e0d0c-0b0a-4908-8706-05040302010"));
    assert_false(att_principal_id_well_formed("0f0e0d0c-0b0a-4908-8706-0504030201000"));
    assert_false(att_principal_id_well_formed("0f0e0d0c0-b0a-4908-8706-050403020100"));
    assert_false(att_principal_id_well_formed("0f0e0d0c-0b0a-4908-8706-05040302010g"));
    assert_false(att_principal_id_well_formed(""));
    assert_false(att_principal_id_well_formed(NULL));
    double t0 = seconds_now();
    for (int i = 0; i < 10; i++) {
        EXPECT_ERR(att_principal_authenticate(f->s, NULL, "x", 1, NOW, PEER, &got),
                   ATT_ERR_CREDENTIALS);
        EXPECT_ERR(auth(f, "", "x", NOW, &got), ATT_ERR_CREDENTIALS);
        EXPECT_ERR(auth(f, "00000000-0000-4000-8000-00000000000", "x", NOW, &got),
                   ATT_ERR_CREDENTIALS);
    }
    double refusals = seconds_now() - t0;
    t0 = seconds_now();
    att_secret_burn("x", 1);
    double one_run = seconds_now() - t0;
    assert_true(refusals < one_run / 10);
}

static void test_disabled(void **state)
{
    struct store_fx *f = *state;
    struct att_principal_rec p;
    struct att_principal_rec got;
    struct att_new_secret ns;

    EXPECT_OK(att_principal_create(f->s, "svc-off", NOW, 0, &p, &ns));
    EXPECT_OK(att_store_principal_set_disabled(f->s, p.id, true));
    EXPECT_ERR(auth(f, p.id, ns.secret, NOW + 1, &got), ATT_ERR_PRINCIPAL_DISABLED);
    /* Only a caller with a valid secret learns that the principal is disabled. */
    EXPECT_ERR(auth(f, p.id, "not-the-secret", NOW + 1, &got), ATT_ERR_CREDENTIALS);
    EXPECT_OK(att_store_principal_get(f->s, p.id, &got));
    assert_int_equal(got.last_used_at, 0);
    att_new_secret_wipe(&ns);
}

static void test_expiry(void **state)
{
    struct store_fx *f = *state;
    struct att_principal_rec p;
    struct att_principal_rec q;
    struct att_principal_rec got;
    struct att_new_secret ns;
    struct att_new_secret forever;

    EXPECT_OK(att_principal_create(f->s, "svc-short", NOW, 100, &p, &ns));
    assert_int_equal(ns.expires_at, NOW + 100);
    EXPECT_OK(auth(f, p.id, ns.secret, NOW + 99, &got));
    EXPECT_ERR(auth(f, p.id, ns.secret, NOW + 100, &got), ATT_ERR_SECRET_EXPIRED);
    /* A wrong secret stays a wrong secret after expiry. */
    EXPECT_ERR(auth(f, p.id, "nope", NOW + 100, &got), ATT_ERR_CREDENTIALS);

    /* Lifetime 0: never expires. */
    EXPECT_OK(att_principal_create(f->s, "svc-forever", NOW, 0, &q, &forever));
    assert_int_equal(forever.expires_at, 0);
    EXPECT_OK(auth(f, q.id, forever.secret, NOW + 100 * 365 * DAY, &got));
    att_new_secret_wipe(&ns);
    att_new_secret_wipe(&forever);
}

static void test_rotation(void **state)
{
    struct store_fx *f = *state;
    struct att_principal_rec p;
    struct att_principal_rec got;
    struct att_new_secret s1;
    struct att_new_secret s2;
    struct att_new_secret s3;

    EXPECT_OK(att_principal_create(f->s, "svc-rot", NOW, 30 * DAY, &p, &s1));
    EXPECT_OK(att_principal_secret_add(f->s, p.id, NOW + 1, 60 * DAY, &s2));
    assert_string_not_equal(s1.id, s2.id);
    assert_string_not_equal(s1.secret, s2.secret);
    assert_int_equal(s2.expires_at, NOW + 1 + 60 * DAY);

    /* Both work during the overlap. */
    EXPECT_OK(auth(f, p.id, s1.secret, NOW + 2, &got));
    EXPECT_OK(auth(f, p.id, s2.secret, NOW + 2, &got));

    /* A third is refused while two are active (before any hashing). */
    memset(&s3, 0x5a, sizeof(s3));
    EXPECT_ERR(att_principal_secret_add(f->s, p.id, NOW + 3, DAY, &s3), ATT_ERR_STATE);
    assert_int_equal(((unsigned char *)&s3)[0], 0x5a);

    /* Retire the old one. */
    EXPECT_OK(att_principal_secret_revoke(f->s, p.id, s1.id, NOW + 4));
    EXPECT_ERR(auth(f, p.id, s1.secret, NOW + 5, &got), ATT_ERR_CREDENTIALS);
    EXPECT_OK(auth(f, p.id, s2.secret, NOW + 5, &got));
    EXPECT_ERR(att_principal_secret_revoke(f->s, p.id, s1.id, NOW + 6), ATT_ERR_NOT_FOUND);

    att_new_secret_wipe(&s1);
    att_new_secret_wipe(&s2);
}

/* An expired, unrevoked secret frees its slot but is still recognised as expired. */
static void test_expired_frees_slot(void **state)
{
    struct store_fx *f = *state;
    struct att_principal_rec p;
    struct att_principal_rec got;
    struct att_new_secret s1;
    struct att_new_secret s2;
    struct att_new_secret s3;

    EXPECT_OK(att_principal_create(f->s, "svc-slot", NOW, 100, &p, &s1));
    EXPECT_OK(att_principal_secret_add(f->s, p.id, NOW, 1000, &s2));
    EXPECT_ERR(att_principal_secret_add(f->s, p.id, NOW + 99, 1000, &s3), ATT_ERR_STATE);
    EXPECT_OK(att_principal_secret_add(f->s, p.id, NOW + 100, 1000, &s3));
    EXPECT_ERR(auth(f, p.id, s1.secret, NOW + 100, &got), ATT_ERR_SECRET_EXPIRED);
    EXPECT_OK(auth(f, p.id, s3.secret, NOW + 100, &got));
    att_new_secret_wipe(&s1);
    att_new_secret_wipe(&s2);
    att_new_secret_wipe(&s3);
}

static void test_revoke_scope(void **state)
{
    struct store_fx *f = *state;
    struct att_principal_rec a;
    struct att_principal_rec b;
    struct att_principal_rec got;
    struct att_new_secret sa;
    struct att_new_secret sb;

    EXPECT_OK(att_principal_create(f->s, "svc-a", NOW, DAY, &a, &sa));
    EXPECT_OK(att_principal_create(f->s, "svc-b", NOW, DAY, &b, &sb));
    /* b cannot revoke a's secret, and a's secret stays usable. */
    EXPECT_ERR(att_principal_secret_revoke(f->s, b.id, sa.id, NOW + 1), ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_principal_secret_revoke(f->s, a.id, "00000000000000000000000000000000", NOW + 1),
               ATT_ERR_NOT_FOUND);
    EXPECT_ERR(
        att_principal_secret_revoke(f->s, "00000000-0000-4000-8000-000000000000", sa.id, NOW + 1),
        ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_principal_secret_revoke(f->s, a.id, sa.id, 0), ATT_ERR_ARG);
    EXPECT_OK(auth(f, a.id, sa.secret, NOW + 2, &got));

    /* All secrets revoked: the principal can no longer authenticate. */
    EXPECT_OK(att_principal_secret_revoke(f->s, b.id, sb.id, NOW + 3));
    EXPECT_ERR(auth(f, b.id, sb.secret, NOW + 4, &got), ATT_ERR_CREDENTIALS);
    att_new_secret_wipe(&sa);
    att_new_secret_wipe(&sb);
}

static void test_duplicate_name(void **state)
{
    struct store_fx *f = *state;
    struct att_principal_rec p;
    struct att_principal_rec q;
    struct att_new_secret s1;
    struct att_new_secret s2;

    EXPECT_OK(att_principal_create(f->s, "svc-dup", NOW, DAY, &p, &s1));
    memset(&q, 0x5a, sizeof(q));
    memset(&s2, 0x5a, sizeof(s2));
    EXPECT_ERR(att_principal_create(f->s, "svc-dup", NOW, DAY, &q, &s2), ATT_ERR_EXISTS);
    assert_int_equal(((unsigned char *)&q)[0], 0x5a);
    assert_int_equal(((unsigned char *)&s2)[0], 0x5a);
    /* The failed create left nothing behind: still one principal, one secret. */
    struct count np = {0};
    struct count c = {0};
    EXPECT_OK(att_store_principal_list(f->s, count_principal, &np));
    assert_int_equal(np.n, 1);
    EXPECT_OK(att_store_secret_list(f->s, p.id, count_secret, &c));
    assert_int_equal(c.n, 1);
    att_new_secret_wipe(&s1);
}

static void test_add_unknown_principal(void **state)
{
    struct store_fx *f = *state;
    struct att_new_secret ns;
    EXPECT_ERR(
        att_principal_secret_add(f->s, "00000000-0000-4000-8000-000000000000", NOW, DAY, &ns),
        ATT_ERR_NOT_FOUND);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_check),
        T(test_create_refusals),
        T(test_create_and_authenticate),
        T(test_non_uuid_ids),
        T(test_disabled),
        T(test_expiry),
        T(test_rotation),
        T(test_expired_frees_slot),
        T(test_revoke_scope),
        T(test_duplicate_name),
        T(test_add_unknown_principal),
    };
#undef T
    return cmocka_run_group_tests_name("auth_principal", tests, NULL, NULL);
}
