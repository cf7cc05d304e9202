/*
 * Unit tests for src/auth/rbac.c on a real store, SQLite and again PostgreSQL
 * (store_fixture.h): a caller's assignments read by one targeted query (principals, external
 * subjects, their groups up to the cap), and the rule that the last usable Owner on all
 * providers cannot be removed - by deleting its assignment, disabling or deleting its
 * principal - also when several "nodes" (threads, each with a store handle of its own on the
 * same database) remove different Owners at the same moment.
 */
#include "att_test.h"
#include "store_fixture.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "auth/rbac.h"
#include "store/store.h"

#define IDP "https://login.example"

static int setup(void **state)
{
    return store_fx_setup(state, "rbac", true);
}

static int setup_pg(void **state)
{
    return store_fx_setup_pg(state, "rbac", true);
}

static int teardown(void **state)
{
    return store_fx_teardown(state);
}

/* Principal n: id "00000000-0000-4000-8000-0000000000nn", name "p<n>". */
static void principal_id(int n, char id[37])
{
    snprintf(id, 37, "00000000-0000-4000-8000-0000000000%02d", n);
}

static void add_principal(struct att_store *s, int n, bool disabled)
{
    struct att_principal_rec p;
    memset(&p, 0, sizeof(p));
    principal_id(n, p.id);
    snprintf(p.name, sizeof(p.name), "p%d", n);
    p.disabled = disabled;
    p.created_at = 1;
    EXPECT_OK(att_store_principal_insert(s, &p));
}

static void add_role(struct att_store *s, const char *id, const char *kind, const char *subject,
                     const char *issuer, const char *role, const char *provider)
{
    struct att_role_rec r;
    memset(&r, 0, sizeof(r));
    snprintf(r.id, sizeof(r.id), "%s", id);
    snprintf(r.subject_kind, sizeof(r.subject_kind), "%s", kind);
    snprintf(r.subject, sizeof(r.subject), "%s", subject);
    snprintf(r.issuer, sizeof(r.issuer), "%s", issuer);
    snprintf(r.role, sizeof(r.role), "%s", role);
    snprintf(r.provider, sizeof(r.provider), "%s", provider);
    r.created_at = 1700000000;
    EXPECT_OK(att_store_role_insert(s, &r));
}

/* Principal n holds Owner on all providers as assignment "owner-<n>". */
static void add_owner(struct att_store *s, int n)
{
    char id[37];
    char rid[16];
    add_principal(s, n, false);
    principal_id(n, id);
    snprintf(rid, sizeof(rid), "owner-%d", n);
    add_role(s, rid, "principal", id, "", "Owner", "*");
}

static size_t usable_owners(struct att_store *s)
{
    size_t n = 0;
    EXPECT_OK(att_rbac_usable_owners(s, NULL, NULL, &n));
    return n;
}

static att_err count_role(const struct att_role_rec *r, void *arg)
{
    (void)r;
    (*(size_t *)arg)++;
    return ATT_OK;
}

/* ---- a caller's own assignments ------------------------------------------------------ */

static void test_assignments_and_check(void **state)
{
    struct store_fx *f = *state;
    struct att_identity who;
    char id[37];
    size_t n = 0;
    bool ok = false;

    add_principal(f->s, 1, false);
    principal_id(1, id);
    add_role(f->s, "r-p", "principal", id, "", "AttestationReader", "p1");
    add_role(f->s, "r-s", "subject", "user@example", IDP, "AttestationContributor", "p2");
    add_role(f->s, "r-g", "group", "group-31", IDP, "Owner", "*");
    add_role(f->s, "r-x", "group", "group-31", "https://other.example", "Owner", "*");

    memset(&who, 0, sizeof(who));
    snprintf(who.kind, sizeof(who.kind), "principal");
    snprintf(who.subject, sizeof(who.subject), "%s", id);
    EXPECT_OK(att_rbac_assignments(f->s, &who, count_role, &n));
    assert_int_equal(n, 1);
    EXPECT_OK(att_rbac_check(f->s, &who, "p1", ATT_PERM_READ, &ok));
    assert_true(ok);
    EXPECT_OK(att_rbac_check(f->s, &who, "p2", ATT_PERM_READ, &ok));
    assert_false(ok);

    /* An external caller with the most groups a token keeps: the last one still counts. */
    memset(&who, 0, sizeof(who));
    snprintf(who.kind, sizeof(who.kind), "subject");
    snprintf(who.subject, sizeof(who.subject), "user@example");
    snprintf(who.issuer, sizeof(who.issuer), IDP);
    for (size_t i = 0; i < ATT_IDENTITY_MAX_GROUPS; i++) {
        snprintf(who.groups[i], sizeof(who.groups[i]), "group-%02zu", i);
    }
    who.n_groups = ATT_IDENTITY_MAX_GROUPS;
    n = 0;
    EXPECT_OK(att_rbac_assignments(f->s, &who, count_role, &n));
    assert_int_equal(n, 2); /* r-s and r-g, not r-x of another issuer */
    EXPECT_OK(att_rbac_check(f->s, &who, "", ATT_PERM_ADMIN, &ok));
    assert_true(ok);
    who.n_groups = ATT_IDENTITY_MAX_GROUPS - 1; /* without group-31 */
    EXPECT_OK(att_rbac_check(f->s, &who, "", ATT_PERM_ADMIN, &ok));
    assert_false(ok);
    EXPECT_OK(att_rbac_check(f->s, &who, "p2", ATT_PERM_WRITE, &ok));
    assert_true(ok);
    /* A count past the array (never made by a token) reads the array only. */
    who.n_groups = ATT_IDENTITY_MAX_GROUPS + 5;
    EXPECT_OK(att_rbac_check(f->s, &who, "", ATT_PERM_ADMIN, &ok));
    assert_true(ok);
}

/* ---- the last usable Owner -------------------------------------------------------------- */

static void test_guard_alone(void **state)
{
    struct store_fx *f = *state;
    char id1[37];
    char id2[37];
    struct att_principal_rec p;
    struct att_role_rec r;

    add_owner(f->s, 1);
    principal_id(1, id1);
    principal_id(2, id2);
    /* Owners that cannot be used do not count: a disabled principal's, an external subject's,
     * an Owner on one provider only, an assignment whose principal is gone. */
    add_principal(f->s, 2, true);
    add_role(f->s, "owner-2", "principal", id2, "", "Owner", "*");
    add_role(f->s, "owner-ext", "subject", "someone", IDP, "Owner", "*");
    add_role(f->s, "owner-p1", "principal", id1, "", "Owner", "p1");
    add_role(f->s, "owner-gone", "principal", "00000000-0000-4000-8000-000000000099", "", "Owner",
             "*");
    add_role(f->s, "reader-1", "principal", id1, "", "AttestationReader", "*");
    assert_int_equal(usable_owners(f->s), 1);

    EXPECT_ERR(att_rbac_change_guarded(f->s, ATT_OWNER_ROLE_DELETE, "owner-1"), ATT_ERR_STATE);
    EXPECT_ERR(att_rbac_change_guarded(f->s, ATT_OWNER_PRINCIPAL_DISABLE, id1), ATT_ERR_STATE);
    EXPECT_ERR(att_rbac_change_guarded(f->s, ATT_OWNER_PRINCIPAL_DELETE, id1), ATT_ERR_STATE);
    /* Refused changes changed nothing. */
    EXPECT_OK(att_store_role_get(f->s, "owner-1", &r));
    EXPECT_OK(att_store_principal_get(f->s, id1, &p));
    assert_false(p.disabled);
    assert_int_equal(usable_owners(f->s), 1);

    /* What takes no usable Owner away goes. */
    EXPECT_OK(att_rbac_change_guarded(f->s, ATT_OWNER_ROLE_DELETE, "reader-1"));
    EXPECT_OK(att_rbac_change_guarded(f->s, ATT_OWNER_ROLE_DELETE, "owner-p1"));
    EXPECT_OK(att_rbac_change_guarded(f->s, ATT_OWNER_ROLE_DELETE, "owner-ext"));
    EXPECT_OK(att_rbac_change_guarded(f->s, ATT_OWNER_ROLE_DELETE, "owner-gone"));
    EXPECT_OK(att_rbac_change_guarded(f->s, ATT_OWNER_PRINCIPAL_DISABLE, id2)); /* again */
    EXPECT_ERR(att_rbac_change_guarded(f->s, ATT_OWNER_ROLE_DELETE, "reader-1"), ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_rbac_change_guarded(f->s, ATT_OWNER_PRINCIPAL_DISABLE,
                                       "00000000-0000-4000-8000-000000000098"),
               ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_rbac_change_guarded(f->s, ATT_OWNER_PRINCIPAL_DELETE,
                                       "00000000-0000-4000-8000-000000000098"),
               ATT_ERR_NOT_FOUND);

    /* With a second usable Owner, the first can go - by any of the three changes. */
    EXPECT_OK(att_store_principal_set_disabled(f->s, id2, false));
    assert_int_equal(usable_owners(f->s), 2);
    EXPECT_OK(att_rbac_change_guarded(f->s, ATT_OWNER_PRINCIPAL_DISABLE, id1));
    EXPECT_ERR(att_rbac_change_guarded(f->s, ATT_OWNER_PRINCIPAL_DELETE, id2), ATT_ERR_STATE);
    EXPECT_OK(att_store_principal_set_disabled(f->s, id1, false));
    EXPECT_OK(att_rbac_change_guarded(f->s, ATT_OWNER_PRINCIPAL_DELETE, id2));
    EXPECT_ERR(att_store_principal_get(f->s, id2, &p), ATT_ERR_NOT_FOUND);
    add_owner(f->s, 3);
    EXPECT_OK(att_rbac_change_guarded(f->s, ATT_OWNER_ROLE_DELETE, "owner-1"));
    assert_int_equal(usable_owners(f->s), 1);

    /* With no usable Owner at all there is nothing to keep: changes go (the operator repairs
     * with attestctl role assign). */
    EXPECT_OK(att_store_principal_set_disabled(f->s, "00000000-0000-4000-8000-000000000003", true));
    add_role(f->s, "reader-3", "principal", "00000000-0000-4000-8000-000000000003", "",
             "AttestationReader", "*");
    EXPECT_OK(att_rbac_change_guarded(f->s, ATT_OWNER_ROLE_DELETE, "owner-3"));

    /* Arguments; and no nesting inside a caller's transaction. */
    EXPECT_ERR(att_rbac_change_guarded(NULL, ATT_OWNER_ROLE_DELETE, "x"), ATT_ERR_ARG);
    EXPECT_ERR(att_rbac_change_guarded(f->s, ATT_OWNER_ROLE_DELETE, NULL), ATT_ERR_ARG);
    struct att_store *tx = NULL;
    EXPECT_OK(att_store_begin(f->s, &tx));
    EXPECT_ERR(att_rbac_change_guarded(tx, ATT_OWNER_ROLE_DELETE, "reader-3"), ATT_ERR_STATE);
    EXPECT_OK(att_store_rollback(tx));
    EXPECT_OK(att_store_role_get(f->s, "reader-3", &r));
}

/*
 * Several nodes at once: N Owners, N threads, each with a store handle of its own on the
 * same database, each taking a different Owner away (by assignment, by disabling or by
 * deleting its principal) at the same moment. Exactly N - 1 may succeed; the last usable
 * Owner stays. Several rounds, so the threads meet in different orders.
 */
#define RACERS 6
#define ROUNDS 4

struct racer {
    struct att_store *s;
    pthread_barrier_t *start;
    enum att_owner_change change;
    char id[37];
    att_err rc;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    pthread_barrier_wait(r->start);
    r->rc = att_rbac_change_guarded(r->s, r->change, r->id);
    return NULL;
}

static void test_guard_concurrent_nodes(void **state)
{
    struct store_fx *f = *state;
    struct racer racers[RACERS];
    pthread_t th[RACERS];
    pthread_barrier_t start;

    memset(racers, 0, sizeof(racers));
    for (int i = 0; i < RACERS; i++) {
        EXPECT_OK(store_fx_open(f, &racers[i].s));
    }
    for (int round = 0; round < ROUNDS; round++) {
        store_fx_raw_exec(f, "DELETE FROM role_assignments");
        store_fx_raw_exec(f, "DELETE FROM principals");
        for (int i = 0; i < RACERS; i++) {
            add_owner(f->s, i + 1);
            /* Each round another mix of the three changes on the racers. */
            racers[i].change = (enum att_owner_change)((i + round) % 3);
            if (racers[i].change == ATT_OWNER_ROLE_DELETE) {
                snprintf(racers[i].id, sizeof(racers[i].id), "owner-%d", i + 1);
            } else {
                principal_id(i + 1, racers[i].id);
            }
            racers[i].start = &start;
            racers[i].rc = ATT_ERR_INTERNAL;
        }
        assert_int_equal(usable_owners(f->s), RACERS);
        assert_int_equal(pthread_barrier_init(&start, NULL, RACERS), 0);
        for (int i = 0; i < RACERS; i++) {
            assert_int_equal(pthread_create(&th[i], NULL, race, &racers[i]), 0);
        }
        int ok = 0;
        int refused = 0;
        for (int i = 0; i < RACERS; i++) {
            assert_int_equal(pthread_join(th[i], NULL), 0);
        }
        pthread_barrier_destroy(&start);
        for (int i = 0; i < RACERS; i++) {
            if (racers[i].rc == ATT_OK) {
                ok++;
            } else if (racers[i].rc == ATT_ERR_STATE) {
                refused++;
            } else {
                fail_msg("round %d racer %d: %s", round, i, att_err_name(racers[i].rc));
            }
        }
        assert_int_equal(ok, RACERS - 1);
        assert_int_equal(refused, 1);
        assert_int_equal(usable_owners(f->s), 1);
        /* The survivor is the refused racer's Owner, untouched. */
        for (int i = 0; i < RACERS; i++) {
            if (racers[i].rc == ATT_ERR_STATE) {
                char want[256];
                snprintf(want, sizeof(want),
                         "SELECT COUNT(*) FROM role_assignments r"
                         " JOIN principals p ON p.id = r.subject"
                         " WHERE r.id = 'owner-%d' AND p.disabled = 0",
                         i + 1);
                assert_int_equal(store_fx_raw_i64(f, want), 1);
            }
        }
    }
    for (int i = 0; i < RACERS; i++) {
        att_store_close(racers[i].s);
    }
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define P(fn) cmocka_unit_test_setup_teardown(fn, setup_pg, teardown)
#define BOTH(X) X(test_assignments_and_check), X(test_guard_alone), X(test_guard_concurrent_nodes)
    const struct CMUnitTest tests[] = {BOTH(T)};
    const struct CMUnitTest tests_pg[] = {BOTH(P)};
#undef T
#undef P
#undef BOTH
    return STORE_FX_RUN_BOTH("auth_rbac", tests, tests_pg);
}
