/*
 * test_maa_tpm.c - MAA's TPM protocol messages (src/evidence/tpm/maa_protocol.c) and the JSON
 * span scanner under them (src/core/json_span.c): envelopes both ways, a version 2 request into
 * TpmQuote's body with its JWK's exact text, and each refusal naming its member.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/codec.h"
#include "core/json_span.h"
#include "evidence/tpm/maa_protocol.h"

#define REQUEST(att_type, info, extra)                                                             \
    "{\"att_type\":\"" att_type "\",\"att_data\":{\"challenge\":\"AAAA\",\"service_context\":"     \
    "\"BBBB\",\"rp_data\":\"AQIDBA\",\"request_key\":{\"jwk\": {\"kty\" : \"RSA\",\"n\":\"xx\","   \
    "\"e\":\"AQAB\"} ,\"info\":" info "},\"tpm_att_data\":{\"current_attestation\":{\"logs\":["    \
    "{\"type\":\"IMA\",\"log\":\"AA\"},{\"type\":\"TCG\",\"log\":\"AAAA\"}],\"aik_cert\":\"MII\"," \
    "\"aik_pub\":{\"kty\":\"RSA\",\"n\":\"yy\",\"e\":\"AQAB\"},\"pcrs\":[{\"algorithm\":11,"       \
    "\"values\":[{\"index\":7,\"digest\":\"AQID\"}]}],\"quote\":\"_1RDR4AY\",\"signature\":"       \
    "\"ABQACw\"" extra "}}}}"
#define TPM_QUOTE_INFO "{\"tpm_quote\":{\"hash_alg\":\"sha-256\"}}"

static att_err parse(const char *text, struct att_maa_tpm_request *r, char *msg, size_t len)
{
    struct att_bytes b = {(const uint8_t *)text, strlen(text)};
    return att_maa_tpm_request_parse(b, r, msg, len);
}

static void test_request(void **state)
{
    (void)state;
    struct att_maa_tpm_request r;
    char msg[256] = "";
    assert_int_equal(parse(REQUEST("basic", TPM_QUOTE_INFO, ""), &r, msg, sizeof(msg)), ATT_OK);
    /* the JWK exactly as written, spaces and all */
    assert_int_equal(r.jwk_text.len, strlen("{\"kty\" : \"RSA\",\"n\":\"xx\",\"e\":\"AQAB\"}"));
    assert_memory_equal(r.jwk_text.ptr, "{\"kty\" : \"RSA\"", 14);
    assert_string_equal(r.challenge, "AAAA");
    assert_string_equal(r.service_context, "BBBB");
    assert_string_equal(r.rp_data, "AQIDBA");
    assert_int_equal(r.quote.len, 6);
    assert_string_equal(json_string_value(json_object_get(r.body, "eventLog")), "AAAA");
    assert_string_equal(json_string_value(json_object_get(r.body, "akCertificate")), "MII");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(r.body, "pcrs"), "sha256"), "7")),
                        "010203");
    assert_true(json_is_object(json_object_get(r.body, "akJwk")));
    att_maa_tpm_request_free(&r);
}

static void test_request_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *says;
    } cases[] = {
        {REQUEST("vbs", TPM_QUOTE_INFO, ""), "att_type"},
        {REQUEST("basic", "{}", ""), "request_key.info"},
        {REQUEST("basic", "{\"tpm_certify\":{}}", ""), "TPM2_Certify"},
        {REQUEST("basic", "{\"tpm_quote\":{\"hash_alg\":\"sha-1\"}}", ""), "request_key.info"},
        {REQUEST("basic", TPM_QUOTE_INFO, ",\"boot\":1,\"pcrs\":3"), NULL}, /* duplicate pcrs */
        {"{\"att_type\":\"basic\",\"att_data\":{\"challenge\":\"A\",\"service_context\":\"B\","
         "\"request_key\":{\"jwk\":{},\"info\":" TPM_QUOTE_INFO "}}}",
         "current_attestation"},
        {"{\"att_type\":\"basic\",\"att_data\":{}}", "challenge and service_context"},
        {"[1]", "not a JSON object"},
        {"", "not a JSON object"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct att_maa_tpm_request r;
        char msg[256] = "";
        assert_int_equal(parse(cases[i].text, &r, msg, sizeof(msg)), ATT_ERR_TPM_PROTOCOL);
        if (cases[i].says != NULL && strstr(msg, cases[i].says) == NULL) {
            fail_msg("case %zu: \"%s\" does not say %s", i, msg, cases[i].says);
        }
        att_maa_tpm_request_free(&r);
    }
}

static void test_envelope(void **state)
{
    (void)state;
    json_t *p = json_pack("{s:s}", "type", "aikcert");
    struct att_buf out;
    json_t *back = NULL;
    char msg[256] = "";
    att_buf_init(&out, 4096);
    assert_int_equal(att_maa_tpm_envelope_seal(p, &out), ATT_OK);
    struct att_bytes b = {out.data, out.len};
    assert_int_equal(att_maa_tpm_envelope_open(b, &back, msg, sizeof(msg)), ATT_OK);
    assert_true(json_equal(p, back));
    json_decref(back);
    static const char *const bad[] = {"{}", "{\"data\":1}", "{\"data\":\"!!\"}",
                                      "{\"data\":\"e30\"}", /* {} */ "x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct att_bytes v = {(const uint8_t *)bad[i], strlen(bad[i])};
        assert_int_equal(att_maa_tpm_envelope_open(v, &back, msg, sizeof(msg)),
                         ATT_ERR_TPM_PROTOCOL);
    }
    json_decref(p);
    att_buf_cleanup(&out);
}

static void test_span(void **state)
{
    (void)state;
    static const char text[] =
        " { \"x\" : [1, {\"b\": 2}], \"a\\\"\": 0, \"a\" : { \"c\" : \"\\u0041\", \"b\" :"
        " {\"k\": [true, false, null, -1.5e+3, \"}\"]} } } ";
    static const char *const ab[] = {"a", "b", NULL};
    static const char *const ac[] = {"a", "c", NULL};
    static const char *const missing[] = {"a", "z", NULL};
    static const char *const through_array[] = {"x", "b", NULL};
    struct att_bytes t = {(const uint8_t *)text, strlen(text)};
    struct att_bytes out;
    assert_int_equal(att_json_value_span(t, ab, &out), ATT_OK);
    assert_int_equal(out.len, strlen("{\"k\": [true, false, null, -1.5e+3, \"}\"]}"));
    assert_memory_equal(out.ptr, "{\"k\": [true", 11);
    assert_int_equal(att_json_value_span(t, ac, &out), ATT_OK);
    assert_memory_equal(out.ptr, "\"\\u0041\"", out.len);
    assert_int_equal(att_json_value_span(t, missing, &out), ATT_ERR_NOT_FOUND);
    assert_int_equal(att_json_value_span(t, through_array, &out), ATT_ERR_NOT_FOUND);
    /* every truncation before the value's end is refused or not found, never read past (what
     * follows the value is not the scanner's to judge: jansson reads the whole text) */
    assert_int_equal(att_json_value_span(t, ab, &out), ATT_OK);
    size_t end = (size_t)(out.ptr - t.ptr) + out.len;
    for (size_t n = 0; n < end; n++) {
        struct att_bytes p = {t.ptr, n};
        assert_int_not_equal(att_json_value_span(p, ab, &out), ATT_OK);
    }
    static const char *const malformed[] = {"{\"a\":{\"b\":tru}}", "{\"a\":{\"b\":\"\n\"}}",
                                            "{\"a\" {\"b\":1}}", "{\"a\":{\"b\":\"\\q\"}}"};
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        struct att_bytes m = {(const uint8_t *)malformed[i], strlen(malformed[i])};
        assert_int_equal(att_json_value_span(m, ab, &out), ATT_ERR_JSON);
    }
    /* nesting past the cap */
    char deep[200];
    size_t k = 0;
    k += (size_t)snprintf(deep, sizeof(deep), "{\"a\":{\"b\":");
    for (int i = 0; i < 40; i++) {
        deep[k++] = '[';
    }
    deep[k] = '\0';
    struct att_bytes d = {(const uint8_t *)deep, k};
    assert_int_equal(att_json_value_span(d, ab, &out), ATT_ERR_JSON);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request),
        cmocka_unit_test(test_request_refusals),
        cmocka_unit_test(test_envelope),
        cmocka_unit_test(test_span),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
