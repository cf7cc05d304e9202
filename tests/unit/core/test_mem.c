/* Unit tests for src/core/mem.c: wiping, constant-time equality, key memory out of dumps. */
#include "att_test.h"

#include <stdlib.h>
#include <unistd.h>

#include "core/dump_testutil.h"
#include "core/mem.h"

static void test_ct_equal_and_wipe(void **state)
{
    (void)state;
    uint8_t a[16] = "0123456789abcde";
    uint8_t b[16] = "0123456789abcde";
    assert_true(att_ct_equal(a, b, sizeof(a)));
    b[15] = 1;
    assert_false(att_ct_equal(a, b, sizeof(a)));
    assert_true(att_ct_equal(a, b, 0));
    att_wipe(a, sizeof(a));
    for (size_t i = 0; i < sizeof(a); i++) {
        assert_int_equal(a[i], 0);
    }
}

/* Key memory: zeroed, page-aligned, marked MADV_DONTDUMP; ordinary heap memory is not. */
static void test_key_memory_left_out_of_dumps(void **state)
{
    (void)state;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t sizes[] = {1, 32, page, page + 1, 5 * page};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint8_t *k = att_key_memory_new(sizes[i]);
        assert_non_null(k);
        assert_int_equal((uintptr_t)k % page, 0);
        for (size_t j = 0; j < sizes[i]; j++) {
            assert_int_equal(k[j], 0);
        }
        memset(k, 0xa5, sizes[i]);
        assert_int_equal(tu_excluded_from_dumps(k), 1);
        assert_int_equal(tu_excluded_from_dumps(k + sizes[i] - 1), 1);
        att_key_memory_free(k, sizes[i]);
    }
    void *heap = malloc(64);
    assert_non_null(heap);
    assert_int_equal(tu_excluded_from_dumps(heap), 0);
    free(heap);
    assert_null(att_key_memory_new(0));
    assert_null(att_key_memory_new(SIZE_MAX));
    att_key_memory_free(NULL, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ct_equal_and_wipe),
        cmocka_unit_test(test_key_memory_left_out_of_dumps),
    };
    return cmocka_run_group_tests_name("core_mem", tests, NULL, NULL);
}
