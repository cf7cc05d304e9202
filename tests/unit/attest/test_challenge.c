/*
 * test_challenge.c - sealed single-use challenges (src/attest/challenge.c): a challenge opens
 * for its provider and purpose until it expires, once; forged, altered, truncated, foreign and
 * expired ones are refused with their own codes; another node's key opens nothing. Shared
 * challenges (att_challenges_new_shared), on SQLite and on PostgreSQL: two nodes on one store
 * share the key, so a challenge one issues opens on the other, and is used once among them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "att_test.h"
#include "store_fixture.h"

#include "attest/challenge.h"
#include "seal/keyring.h"
#include "seal/seal.h"

#define NOW 1800000000

struct fixture {
    struct att_challenges *c;
    struct att_buf text;
    uint8_t nonce[ATT_CHALLENGE_NONCE_LEN];
    int64_t expires;
};

static int setup(void **state)
{
    static struct fixture f;
    memset(&f, 0, sizeof(f));
    assert_int_equal(att_challenges_new(&f.c), ATT_OK);
    att_buf_init(&f.text, ATT_CHALLENGE_TEXT_MAX);
    assert_int_equal(
        att_challenge_issue(f.c, "default", "TpmQuote", NOW, 300, &f.text, f.nonce, &f.expires),
        ATT_OK);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    att_buf_cleanup(&f->text);
    att_challenges_free(f->c);
    return 0;
}

static att_err open_at(struct fixture *f, const char *provider, const char *purpose,
                       const char *text, size_t len, int64_t now, uint8_t nonce[32])
{
    int64_t exp = 0;
    return att_challenge_open(f->c, provider, purpose, text, len, now, nonce, &exp);
}

static void test_opens_once(void **state)
{
    struct fixture *f = *state;
    uint8_t nonce[32];
    const char *t = att_buf_cstr(&f->text);
    assert_true(f->text.len <= ATT_CHALLENGE_TEXT_MAX);
    assert_int_equal(f->expires, NOW + 300);
    assert_int_equal(open_at(f, "default", "TpmQuote", t, f->text.len, NOW + 300, nonce), ATT_OK);
    assert_memory_equal(nonce, f->nonce, 32);
    assert_int_equal(att_challenge_use(f->c, "default", nonce, f->expires, NOW), ATT_OK);
    assert_int_equal(att_challenge_use(f->c, "default", nonce, f->expires, NOW + 1),
                     ATT_ERR_CHALLENGE_USED);
}

static void test_refusals(void **state)
{
    struct fixture *f = *state;
    uint8_t nonce[32];
    char t[ATT_CHALLENGE_TEXT_MAX + 2];
    size_t n = f->text.len;
    memcpy(t, f->text.data, n);
    t[n] = '\0';
    assert_int_equal(open_at(f, "default", "TpmQuote", t, n, NOW + 301, nonce),
                     ATT_ERR_CHALLENGE_EXPIRED);
    assert_int_equal(open_at(f, "other", "TpmQuote", t, n, NOW, nonce), ATT_ERR_CHALLENGE_INVALID);
    assert_int_equal(open_at(f, "default", "Tpm", t, n, NOW, nonce), ATT_ERR_CHALLENGE_INVALID);
    /* every character altered, and every truncation */
    for (size_t i = 0; i < n; i++) {
        char saved = t[i];
        t[i] = saved == 'A' ? 'B' : 'A';
        assert_int_not_equal(open_at(f, "default", "TpmQuote", t, n, NOW, nonce), ATT_OK);
        t[i] = saved;
        assert_int_equal(open_at(f, "default", "TpmQuote", t, i, NOW, nonce),
                         ATT_ERR_CHALLENGE_INVALID);
    }
    assert_int_equal(open_at(f, "default", "TpmQuote", "!!", 2, NOW, nonce),
                     ATT_ERR_CHALLENGE_INVALID);
    /* another node (another key) opens nothing */
    struct att_challenges *other = NULL;
    int64_t exp = 0;
    assert_int_equal(att_challenges_new(&other), ATT_OK);
    assert_int_equal(att_challenge_open(other, "default", "TpmQuote", t, n, NOW, nonce, &exp),
                     ATT_ERR_CHALLENGE_INVALID);
    att_challenges_free(other);
}

static void test_distinct(void **state)
{
    struct fixture *f = *state;
    struct att_buf t2;
    uint8_t nonce[32];
    int64_t exp = 0;
    att_buf_init(&t2, ATT_CHALLENGE_TEXT_MAX);
    assert_int_equal(att_challenge_issue(f->c, "default", "TpmQuote", NOW, 300, &t2, nonce, &exp),
                     ATT_OK);
    assert_memory_not_equal(nonce, f->nonce, 32);
    assert_false(t2.len == f->text.len && memcmp(t2.data, f->text.data, t2.len) == 0);
    att_buf_cleanup(&t2);
}

/* ---- shared by nodes on one store ------------------------------------------------------ */

#define KEK_HEX "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static struct att_keyring *keyring(struct att_store *s)
{
    struct att_kek kek;
    struct att_keyring *kr = NULL;
    assert_int_equal(setenv("ATT_TEST_CHALLENGE_KEK", KEK_HEX, 1), 0);
    EXPECT_OK(att_kek_load_env("ATT_TEST_CHALLENGE_KEK", &kek));
    EXPECT_OK(att_keyring_new(s, &kek, &kr));
    att_kek_wipe(&kek);
    return kr;
}

static void test_shared_across_nodes(void **state)
{
    struct store_fx *f = *state;
    struct att_store *other = NULL;
    EXPECT_OK(store_fx_open(f, &other)); /* the second node's own connection */
    struct att_keyring *ka = keyring(f->s);
    struct att_keyring *kb = keyring(other);
    struct att_challenges *a = NULL, *b = NULL;
    EXPECT_OK(att_challenges_new_shared(f->s, ka, &a));
    EXPECT_OK(att_challenges_new_shared(other, kb, &b));
    assert_int_equal(store_fx_raw_i64(f, "SELECT COUNT(*) FROM cluster_secrets"), 1);

    struct att_buf text;
    uint8_t nonce[32], got[32];
    int64_t exp = 0, exp2 = 0;
    att_buf_init(&text, ATT_CHALLENGE_TEXT_MAX);
    EXPECT_OK(att_challenge_issue(a, "default", "TpmQuote", NOW, 300, &text, nonce, &exp));
    EXPECT_OK(att_challenge_open(b, "default", "TpmQuote", att_buf_cstr(&text), text.len, NOW, got,
                                 &exp2));
    assert_memory_equal(nonce, got, 32);
    assert_int_equal(exp, exp2);
    EXPECT_OK(att_challenge_use(b, "default", got, exp2, NOW));
    EXPECT_ERR(att_challenge_use(a, "default", nonce, exp, NOW), ATT_ERR_CHALLENGE_USED);
    EXPECT_ERR(att_challenge_use(b, "default", nonce, exp, NOW), ATT_ERR_CHALLENGE_USED);
    /* Another provider's use of the same nonce is its own (the provider binds it anyway). */
    EXPECT_OK(att_challenge_use(a, "other", nonce, exp, NOW));
    /* Uses are forgotten at a later use, once an hour past their expiry (nodes' clocks may
     * differ by that much: a node ahead must not forget what another still counts). */
    uint8_t n2[32], n3[32];
    memset(n2, 7, sizeof(n2));
    memset(n3, 8, sizeof(n3));
    EXPECT_OK(att_challenge_use(a, "default", n2, NOW + 400, NOW + 350));
    assert_int_equal(store_fx_raw_i64(f, "SELECT COUNT(*) FROM used_challenges"), 3);
    EXPECT_OK(att_challenge_use(a, "default", n3, NOW + 4000, NOW + 3950));
    assert_int_equal(store_fx_raw_i64(f, "SELECT COUNT(*) FROM used_challenges"), 2);

    /* A node's own challenges are not the store's: they do not open elsewhere. */
    struct att_challenges *lone = NULL;
    EXPECT_OK(att_challenges_new(&lone));
    EXPECT_ERR(att_challenge_open(lone, "default", "TpmQuote", att_buf_cstr(&text), text.len, NOW,
                                  got, &exp2),
               ATT_ERR_CHALLENGE_INVALID);
    att_challenges_free(lone);
    att_buf_cleanup(&text);
    att_challenges_free(a);
    att_challenges_free(b);
    att_keyring_free(ka);
    att_keyring_free(kb);
    att_store_close(other);
}

static int shared_setup(void **state)
{
    return store_fx_setup(state, "chal", true);
}

static int shared_setup_pg(void **state)
{
    return store_fx_setup_pg(state, "chal", true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_opens_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_distinct, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_across_nodes, shared_setup, store_fx_teardown),
    };
    const struct CMUnitTest tests_pg[] = {
        cmocka_unit_test_setup_teardown(test_shared_across_nodes, shared_setup_pg,
                                        store_fx_teardown),
    };
    return STORE_FX_RUN_BOTH("attest_challenge", tests, tests_pg);
}
