/*
 * dcap_fixtures.h - reading the real DCAP samples of tests/fixtures/dcap in unit tests.
 */
#ifndef ATT_TEST_DCAP_FIXTURES_H
#define ATT_TEST_DCAP_FIXTURES_H

#include <time.h>

#include "att_test.h"
#include "core/buf.h"
#include "core/codec.h"
#include "core/file.h"
#include "collateral/bundle.h"
#include "collateral/service.h"
#include "evidence/intel/intel_root.h"

#define FIXTURE_MAX ((size_t)4 << 20)

/* A fixture under tests/fixtures/, binary as is, ".hex" files decoded (first line, "0x" ok). */
static inline void fixture_load(const char *rel, struct att_buf *out)
{
    char path[512];
    struct att_buf raw;
    snprintf(path, sizeof(path), "%s/%s", ATT_FIXTURES_DIR, rel);
    att_buf_init(out, FIXTURE_MAX);
    att_buf_init(&raw, FIXTURE_MAX);
    if (att_file_read(path, FIXTURE_MAX, &raw) != ATT_OK) {
        fail_msg("cannot read fixture %s", path);
    }
    size_t n = strlen(rel);
    if (n > 4 && strcmp(rel + n - 4, ".hex") == 0) {
        size_t start = raw.len >= 2 && raw.data[0] == '0' && raw.data[1] == 'x' ? 2 : 0;
        size_t end = start;
        while (end < raw.len && raw.data[end] != '\n' && raw.data[end] != '\r') {
            end++;
        }
        EXPECT_OK(att_hex_decode((const char *)raw.data + start, end - start, out));
    } else {
        EXPECT_OK(att_buf_put(out, raw.data, raw.len));
    }
    att_buf_cleanup(&raw);
}

/* Seconds since the epoch of "YYYY-MM-DDTHH:MM:SSZ". */
static inline int64_t fixture_time(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    assert_non_null(strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm));
    return (int64_t)timegm(&tm);
}

/* cmocka state for the tests of real samples: the Intel SGX Root CA as the trust anchor. */
static inline int fixture_trust_setup(void **state)
{
    struct att_dcap_trust *t = NULL;
    char msg[256];
    EXPECT_OK(att_dcap_trust_from_pem(att_intel_sgx_root_ca_pem, strlen(att_intel_sgx_root_ca_pem),
                                      &t, msg, sizeof(msg)));
    *state = t;
    return 0;
}

static inline int fixture_trust_teardown(void **state)
{
    att_dcap_trust_free(*state);
    return 0;
}

/* A bundle's items, loaded (verified) at no particular time. */
static inline void fixture_load_inputs(const struct att_dcap_trust *trust, const char *bundle,
                                       struct att_intel_inputs *in)
{
    struct att_buf text;
    struct att_dcap_bundle b;
    char msg[256] = "";
    fixture_load(bundle, &text);
    memset(&b, 0, sizeof(b));
    EXPECT_OK(att_dcap_bundle_parse((const char *)text.data, text.len, &b, msg, sizeof(msg)));
    att_err rc = att_collateral_from_bundle(trust, &b, in, msg, sizeof(msg));
    if (rc != ATT_OK) {
        fail_msg("%s: %s: %s", bundle, att_err_name(rc), msg);
    }
    att_dcap_bundle_cleanup(&b);
    att_buf_cleanup(&text);
}

#endif
