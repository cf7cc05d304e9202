/*
 * test_challenge.c - sealed single-use challenges (src/attest/challenge.c): a challenge opens
 * for its provider and purpose until it expires, once; forged, altered, truncated, foreign and
 * expired ones are refused with their own codes; another node's key opens nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "attest/challenge.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opens_once),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_distinct),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
