/*
 * Unit tests for signing-key rotation: the key schedule (src/provider/schedule.c), making a
 * new key (att_provider_rotate_key) and the daemon's upkeep (src/provider/upkeep.c) over a
 * real SQLite store: which key signs when, what /certs publishes, when a retired key goes.
 */
#include "att_test.h"

#include <jansson.h>

#include "core/codec.h"
#include "provider/provider.h"
#include "seal/keyring.h"

#define KEK_A "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define NOW 1795000000

/* ---- the schedule ---- */

static void test_signing_index(void **state)
{
    (void)state;
    struct att_key_times k[3] = {{.activate_at = 100}, {.activate_at = 200}, {.activate_at = 300}};
    assert_int_equal(att_key_signing_index(k, 3, 99), 0); /* a clock set back: the first */
    assert_int_equal(att_key_signing_index(k, 3, 100), 0);
    assert_int_equal(att_key_signing_index(k, 3, 199), 0);
    assert_int_equal(att_key_signing_index(k, 3, 200), 1);
    assert_int_equal(att_key_signing_index(k, 3, 300), 2);
    assert_int_equal(att_key_signing_index(k, 1, 5), 0);
    /* Two keys activating in the same second: the later one in the store's order signs. */
    struct att_key_times same[2] = {{.activate_at = 100}, {.activate_at = 100}};
    assert_int_equal(att_key_signing_index(same, 2, 100), 1);
}

static void test_phases(void **state)
{
    (void)state;
    struct att_key_times k[3] = {{.activate_at = 100, .token_lifetime = 3600},
                                 {.activate_at = 200, .token_lifetime = 60},
                                 {.activate_at = 300}};
    struct att_key_phase ph[3];
    att_key_phases(k, 3, 250, 300, ph);
    assert_int_equal(ph[0].state, ATT_KEY_RETIRED);
    assert_int_equal(ph[0].stop_at, 200);
    /* stop + its longest token + the leeway */
    assert_int_equal(ph[0].destroy_at, 200 + 3600 + 300);
    /* A signer noted it may sign with it past its stop (it had not loaded the next key yet):
     * the key lives until that, plus its tokens' lifetime. */
    k[0].used_until = 900;
    att_key_phases(k, 3, 250, 300, ph);
    assert_int_equal(ph[0].destroy_at, 900 + 3600 + 300);
    assert_int_equal(ph[1].state, ATT_KEY_SIGNING);
    assert_int_equal(ph[1].destroy_at, 0);
    assert_int_equal(ph[2].state, ATT_KEY_WAITING);
    att_key_phases(k, 3, 300, 0, ph);
    assert_int_equal(ph[1].state, ATT_KEY_RETIRED);
    assert_int_equal(ph[1].stop_at, 300);
    assert_int_equal(ph[1].destroy_at, 300 + 60);
    assert_int_equal(ph[2].state, ATT_KEY_SIGNING);
}

static void test_rotation_due(void **state)
{
    (void)state;
    struct att_key_times one[1] = {{.activate_at = 1000}};
    assert_false(att_key_rotation_due(one, 1, 5000, 0, 100));   /* off */
    assert_false(att_key_rotation_due(one, 0, 5000, 1000, 10)); /* no key */
    assert_false(att_key_rotation_due(one, 1, 1899, 1000, 100));
    assert_true(att_key_rotation_due(one, 1, 1900, 1000, 100)); /* period ends within lead */
    assert_true(att_key_rotation_due(one, 1, 99999, 1000, 100));
    struct att_key_times waiting[2] = {{.activate_at = 1000}, {.activate_at = 2000}};
    assert_false(att_key_rotation_due(waiting, 2, 1950, 1000, 100)); /* one already waits */
    assert_true(att_key_rotation_due(waiting, 2, 2900, 1000, 100));  /* the second's turn */
}

/* attestctl signs with a key attestd has had a look to publish. */
static void test_published_index(void **state)
{
    (void)state;
    struct att_key_times k[2] = {{.created_at = 100, .activate_at = 100},
                                 {.created_at = 500, .activate_at = 500}};
    assert_int_equal(att_key_signing_index(k, 2, 500), 1);
    assert_int_equal(att_key_published_index(k, 2, 500), 0);
    assert_int_equal(att_key_published_index(k, 2, 500 + ATT_KEY_CHECK_INTERVAL - 1), 0);
    assert_int_equal(att_key_published_index(k, 2, 500 + ATT_KEY_CHECK_INTERVAL), 1);
}

/* ---- keys in a store ---- */

struct fx {
    char dir[64];
    char db[128];
    struct att_store *store;
    struct att_keyring *kr;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct att_kek kek;
    assert_non_null(f);
    att_test_mkdtemp("rotation", f->dir, sizeof(f->dir));
    snprintf(f->db, sizeof(f->db), "%s/attestd.db", f->dir);
    EXPECT_OK(att_store_open_sqlite(f->db, &f->store));
    assert_int_equal(setenv("ATT_TEST_ROTATION_KEK", KEK_A, 1), 0);
    EXPECT_OK(att_kek_load_env("ATT_TEST_ROTATION_KEK", &kek));
    EXPECT_OK(att_keyring_new(f->store, &kek, &f->kr));
    att_kek_wipe(&kek);
    EXPECT_OK(att_provider_create(f->store, f->kr, "tenant", "https://attest.example/t",
                                  ATT_JWS_ES256, true, NOW));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    att_keyring_free(f->kr);
    att_store_close(f->store);
    att_test_rmdir(f->dir);
    free(f);
    return 0;
}

static struct att_provider_set *load(struct fx *f)
{
    struct att_provider_set *set = NULL;
    EXPECT_OK(att_provider_set_load(f->store, f->kr, &set));
    return set;
}

/* The kid in the header of a token `p` signs at `at`. */
static json_t *token_header_at(const struct att_provider_set *set, const struct att_provider *p,
                               int64_t at)
{
    struct att_buf token;
    struct att_buf hdr;
    att_buf_init(&token, 1 << 16);
    att_buf_init(&hdr, 1 << 16);
    json_t *claims = json_object();
    EXPECT_OK(att_provider_issue_token(set, p, claims, at, 60, &token));
    const char *dot = strchr(att_buf_cstr(&token), '.');
    assert_non_null(dot);
    EXPECT_OK(att_b64url_decode(att_buf_cstr(&token), (size_t)(dot - att_buf_cstr(&token)), &hdr));
    json_t *h = json_loadb((const char *)hdr.data, hdr.len, 0, NULL);
    assert_non_null(h);
    json_decref(claims);
    att_buf_cleanup(&token);
    att_buf_cleanup(&hdr);
    return h;
}

static void assert_signs_with(const struct att_provider_set *set, const struct att_provider *p,
                              int64_t at, const char *kid)
{
    json_t *h = token_header_at(set, p, at);
    assert_string_equal(json_string_value(json_object_get(h, "kid")), kid);
    json_decref(h);
}

static size_t jwks_count(const struct att_provider *p)
{
    json_t *jwks = json_loads(att_buf_cstr(&p->jwks), 0, NULL);
    size_t n = json_array_size(json_object_get(jwks, "keys"));
    json_decref(jwks);
    return n;
}

/* A new key is published at once, signs from its activation, and the old one stops then. */
static void test_rotate_publishes_then_signs(void **state)
{
    struct fx *f = *state;
    struct att_provider_set *set = load(f);
    char old_kid[ATT_KID_MAX + 1];
    snprintf(old_kid, sizeof(old_kid), "%s", set->items[0].keys[0].kid);
    att_provider_set_free(set);

    char kid[ATT_KID_MAX + 1];
    int64_t activate_at = 0;
    EXPECT_OK(att_provider_rotate_key(f->store, f->kr, "tenant", NOW + 10, 100, 0, kid,
                                      &activate_at, NULL));
    assert_int_equal(activate_at, NOW + 110);
    assert_string_not_equal(kid, old_kid);

    set = load(f);
    const struct att_provider *p = &set->items[0];
    assert_int_equal(p->n_keys, 2);
    assert_int_equal(jwks_count(p), 2);
    assert_string_equal(p->keys[1].kid, kid);
    assert_signs_with(set, p, NOW + 10, old_kid);
    assert_signs_with(set, p, NOW + 109, old_kid);
    assert_signs_with(set, p, NOW + 110, kid);
    /* A clock set back afterwards does not bring the old key back in this set. */
    assert_signs_with(set, p, NOW + 50, kid);
    json_t *h = token_header_at(set, p, NOW + 110);
    assert_string_equal(json_string_value(json_object_get(h, "alg")), "ES256");
    assert_string_equal(json_string_value(json_object_get(h, "jku")),
                        "https://attest.example/t/certs");
    json_decref(h);
    att_provider_set_free(set);
}

static void test_rotate_refusals(void **state)
{
    struct fx *f = *state;
    char kid[ATT_KID_MAX + 1];
    int64_t at = 0;
    bool was_waiting = true;
    EXPECT_ERR(att_provider_rotate_key(f->store, f->kr, "nobody", NOW, 0, 0, kid, &at, NULL),
               ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_provider_rotate_key(f->store, f->kr, "Bad", NOW, 0, 0, kid, &at, NULL),
               ATT_ERR_ARG);
    EXPECT_ERR(att_provider_rotate_key(f->store, f->kr, "tenant", NOW, -1, 0, kid, &at, NULL),
               ATT_ERR_ARG);
    EXPECT_OK(
        att_provider_rotate_key(f->store, f->kr, "tenant", NOW, 50, 0, kid, &at, &was_waiting));
    assert_false(was_waiting);
    char waiting_kid[ATT_KID_MAX + 1];
    memcpy(waiting_kid, kid, sizeof(kid));
    /* A key is already waiting: a second rotation is refused until it signs... */
    EXPECT_ERR(att_provider_rotate_key(f->store, f->kr, "tenant", NOW + 20, 50, 0, kid, &at, NULL),
               ATT_ERR_STATE);
    /* ...unless it is an emergency (lead 0): then the waiting key, published already, signs
     * at once, and no other key is made. */
    EXPECT_OK(
        att_provider_rotate_key(f->store, f->kr, "tenant", NOW + 20, 0, 0, kid, &at, &was_waiting));
    assert_true(was_waiting);
    assert_string_equal(kid, waiting_kid);
    assert_int_equal(at, NOW + 20);
    struct att_provider_set *set0 = load(f);
    assert_int_equal(set0->items[0].n_keys, 2);
    assert_signs_with(set0, &set0->items[0], NOW + 20, waiting_kid);
    att_provider_set_free(set0);
    /* Keys up to the cap, then refused (retired keys still published count). */
    int64_t t = NOW + 50;
    for (size_t n = 2; n < ATT_PROVIDER_KEYS_MAX; n++) {
        EXPECT_OK(att_provider_rotate_key(f->store, f->kr, "tenant", t, 0, 0, kid, &at, NULL));
        t++;
    }
    EXPECT_ERR(att_provider_rotate_key(f->store, f->kr, "tenant", t, 0, 0, kid, &at, NULL),
               ATT_ERR_TOO_LARGE);
    struct att_provider_set *set = load(f);
    assert_int_equal(set->items[0].n_keys, ATT_PROVIDER_KEYS_MAX);
    assert_signs_with(set, &set->items[0], t, kid);
    att_provider_set_free(set);
}

struct events {
    int made;
    int destroyed;
    char kid[ATT_KID_MAX + 1];
    int64_t at;
};

static void note_event(const struct att_key_event *e, void *arg)
{
    struct events *ev = arg;
    assert_string_equal(e->provider, "tenant");
    if (e->kind == ATT_KEY_EVENT_MADE) {
        ev->made++;
    } else {
        ev->destroyed++;
    }
    snprintf(ev->kid, sizeof(ev->kid), "%s", e->kid);
    ev->at = e->at;
}

/* Scheduled rotation, the reload signal, and destruction once the last token has expired. */
static void test_upkeep(void **state)
{
    struct fx *f = *state;
    const struct att_key_upkeep cfg = {
        .rotation = 1000, .lead = 100, .leeway = 30, .token_lifetime = 600};
    struct events ev = {0};
    bool changed = true;
    struct att_provider_set *set = load(f);
    char first[ATT_KID_MAX + 1];
    snprintf(first, sizeof(first), "%s", set->items[0].keys[0].kid);

    /* Nothing due, the store as loaded. */
    EXPECT_OK(
        att_provider_keys_upkeep(f->store, f->kr, set, &cfg, NOW + 899, note_event, &ev, &changed));
    assert_false(changed);
    assert_int_equal(ev.made + ev.destroyed, 0);

    /* The period ends within the lead time: a key is made, to sign at NOW + 1000. */
    EXPECT_OK(
        att_provider_keys_upkeep(f->store, f->kr, set, &cfg, NOW + 900, note_event, &ev, &changed));
    assert_true(changed);
    assert_int_equal(ev.made, 1);
    assert_int_equal(ev.at, NOW + 1000);
    char second[ATT_KID_MAX + 1];
    snprintf(second, sizeof(second), "%s", ev.kid);
    att_provider_set_free(set);
    set = load(f);
    assert_int_equal(set->items[0].n_keys, 2);
    assert_int_equal(set->items[0].keys[1].times.token_lifetime, 600);
    EXPECT_OK(
        att_provider_keys_upkeep(f->store, f->kr, set, &cfg, NOW + 950, note_event, &ev, &changed));
    assert_false(changed); /* one waits: no second rotation */
    assert_int_equal(ev.made, 1);

    /* The first key signed until NOW + 1000 (its successor's activation; the looks noted it
     * only up to NOW + 970) and its tokens live 600 s: gone after that and the leeway. */
    int64_t gone = NOW + 1000 + 600 + 30;
    EXPECT_OK(
        att_provider_keys_upkeep(f->store, f->kr, set, &cfg, gone - 1, note_event, &ev, &changed));
    assert_int_equal(ev.destroyed, 0);
    EXPECT_OK(
        att_provider_keys_upkeep(f->store, f->kr, set, &cfg, gone, note_event, &ev, &changed));
    assert_int_equal(ev.destroyed, 1);
    assert_string_equal(ev.kid, first);
    assert_int_equal(ev.at, gone);
    assert_true(changed);
    att_provider_set_free(set);
    set = load(f);
    assert_int_equal(set->items[0].n_keys, 1);
    assert_string_equal(set->items[0].keys[0].kid, second);
    assert_int_equal(jwks_count(&set->items[0]), 1);
    att_provider_set_free(set);
}

/* A provider made or deleted by another process is a change too (the daemon reloads). */
static void test_upkeep_sees_other_processes(void **state)
{
    struct fx *f = *state;
    const struct att_key_upkeep cfg = {.lead = 100, .leeway = 30, .token_lifetime = 600};
    struct events ev = {0};
    bool changed = false;
    struct att_provider_set *set = load(f);
    EXPECT_OK(att_provider_create(f->store, f->kr, "other", "https://attest.example/o",
                                  ATT_JWS_ES256, false, NOW));
    EXPECT_OK(att_provider_keys_upkeep(f->store, f->kr, set, &cfg, NOW, note_event, &ev, &changed));
    assert_true(changed);
    att_provider_set_free(set);
    set = load(f);
    EXPECT_OK(att_provider_keys_upkeep(f->store, f->kr, set, &cfg, NOW, note_event, &ev, &changed));
    assert_false(changed);
    char kid[ATT_KID_MAX + 1];
    int64_t at = 0;
    EXPECT_OK(att_provider_rotate_key(f->store, f->kr, "other", NOW, 100, 0, kid, &at, NULL));
    EXPECT_OK(att_provider_keys_upkeep(f->store, f->kr, set, &cfg, NOW, note_event, &ev, &changed));
    assert_true(changed);
    EXPECT_OK(att_provider_delete(f->store, f->kr, "other"));
    EXPECT_OK(att_provider_keys_upkeep(f->store, f->kr, set, &cfg, NOW, note_event, &ev, &changed));
    assert_true(changed);
    assert_int_equal(ev.made + ev.destroyed, 0); /* none of those were the upkeep's */
    att_provider_set_free(set);
}

static void count_made(const struct att_key_event *e, void *arg)
{
    *(int *)arg += e->kind == ATT_KEY_EVENT_MADE;
}

/* Many providers due at once: a look makes ATT_KEY_ROTATIONS_PER_LOOK keys (the key worker
 * signs nothing while it makes them), the next looks the rest. */
static void test_upkeep_rotations_per_look(void **state)
{
    struct fx *f = *state;
    const struct att_key_upkeep cfg = {
        .rotation = 1000, .lead = 100, .leeway = 30, .token_lifetime = 600};
    const char *names[] = {"p1", "p2", "p3"};
    for (size_t i = 0; i < 3; i++) {
        EXPECT_OK(att_provider_create(f->store, f->kr, names[i], "https://attest.example/p",
                                      ATT_JWS_ES256, false, NOW));
    }
    struct att_provider_set *set = load(f);
    int made = 0;
    bool changed = false;
    EXPECT_OK(att_provider_keys_upkeep(f->store, f->kr, set, &cfg, NOW + 900, count_made, &made,
                                       &changed));
    assert_int_equal(made, ATT_KEY_ROTATIONS_PER_LOOK);
    EXPECT_OK(att_provider_keys_upkeep(f->store, f->kr, set, &cfg, NOW + 910, count_made, &made,
                                       &changed));
    EXPECT_OK(att_provider_keys_upkeep(f->store, f->kr, set, &cfg, NOW + 920, count_made, &made,
                                       &changed));
    assert_int_equal(made, 4); /* the default provider ("tenant") and p1..p3, each once */
    EXPECT_OK(att_provider_keys_upkeep(f->store, f->kr, set, &cfg, NOW + 930, count_made, &made,
                                       &changed));
    assert_int_equal(made, 4);
    att_provider_set_free(set);
}

/* A reload keeps the floor: a clock set back does not bring a retired key back in a new set. */
static void test_floor_carried_over_reloads(void **state)
{
    struct fx *f = *state;
    struct att_provider_set *set1 = load(f);
    char old_kid[ATT_KID_MAX + 1];
    snprintf(old_kid, sizeof(old_kid), "%s", set1->items[0].keys[0].kid);
    char kid[ATT_KID_MAX + 1];
    int64_t at = 0;
    EXPECT_OK(att_provider_rotate_key(f->store, f->kr, "tenant", NOW + 10, 0, 0, kid, &at, NULL));
    struct att_provider_set *set2 = load(f);
    att_provider_set_carry_floors(set2, set1);
    assert_signs_with(set2, &set2->items[0], NOW + 20, kid);
    struct att_provider_set *set3 = load(f);
    att_provider_set_carry_floors(set3, set2);
    assert_signs_with(set3, &set3->items[0], NOW + 5, kid); /* the clock went back */
    struct att_provider_set *fresh = load(f);
    assert_signs_with(fresh, &fresh->items[0], NOW + 5, old_kid); /* without the carry */
    att_provider_set_free(set1);
    att_provider_set_free(set2);
    att_provider_set_free(set3);
    att_provider_set_free(fresh);
}

/* Noting a key's use only raises its times, and only that key's. */
static void test_note_use(void **state)
{
    struct fx *f = *state;
    struct att_provider_set *set = load(f);
    char kid[ATT_KID_MAX + 1];
    snprintf(kid, sizeof(kid), "%s", set->items[0].keys[0].kid);
    att_provider_set_free(set);
    EXPECT_OK(att_store_key_note_use(f->store, "tenant", kid, NOW + 500, 3600));
    EXPECT_OK(att_store_key_note_use(f->store, "tenant", kid, NOW + 100, 60));
    set = load(f);
    assert_int_equal(set->items[0].keys[0].times.token_lifetime, 3600);
    assert_int_equal(set->items[0].keys[0].times.used_until, NOW + 500);
    /* att_provider_note_signing_keys notes the signing key until the look after next. */
    EXPECT_OK(att_provider_note_signing_keys(f->store, set, NOW + 1000, 60));
    att_provider_set_free(set);
    set = load(f);
    assert_int_equal(set->items[0].keys[0].times.used_until,
                     NOW + 1000 + 2 * ATT_KEY_CHECK_INTERVAL);
    att_provider_set_free(set);
    EXPECT_ERR(att_store_key_note_use(f->store, "tenant", kid, NOW, 0), ATT_ERR_ARG);
    EXPECT_ERR(att_store_key_note_use(f->store, "tenant", kid, NOW, (int64_t)11 * 366 * 86400),
               ATT_ERR_ARG);
    EXPECT_ERR(att_store_key_note_use(f->store, "tenant", "no-such-kid", NOW, 60),
               ATT_ERR_NOT_FOUND);
    EXPECT_ERR(att_store_key_delete(f->store, "tenant", "no-such-kid"), ATT_ERR_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signing_index),
        cmocka_unit_test(test_phases),
        cmocka_unit_test(test_rotation_due),
        cmocka_unit_test(test_published_index),
        cmocka_unit_test_setup_teardown(test_rotate_publishes_then_signs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotate_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upkeep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upkeep_sees_other_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upkeep_rotations_per_look, setup, teardown),
        cmocka_unit_test_setup_teardown(test_note_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_floor_carried_over_reloads, setup, teardown),
    };
    return cmocka_run_group_tests_name("rotation", tests, NULL, NULL);
}
