/*
 * policy_test.h - helpers shared by the policy language tests (src/policy/policy.h):
 * fixture loading, claim-set builders and exact comparison of outgoing claims.
 */
#ifndef ATT_POLICY_TEST_H
#define ATT_POLICY_TEST_H

#include "att_test.h"

#include <stdbool.h>

#include "policy/policy.h"

#ifndef POLICY_FIXTURES
#error "POLICY_FIXTURES must name tests/unit/policy/fixtures"
#endif

/* The whole file, NUL-terminated (not counted in *len); the caller frees it. */
static inline char *read_fixture(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", POLICY_FIXTURES, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fail_msg("cannot open fixture %s", path);
    }
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

/* An expected claim: type, valueType and value. */
struct exp_claim {
    const char *type;
    enum att_claim_value_type vt;
    const char *s;
    int64_t i;
    bool b;
};

#define EXP_S(t, v)                                                                                \
    {                                                                                              \
        (t), ATT_CLAIM_STRING, (v), 0, false                                                       \
    }
#define EXP_I(t, v)                                                                                \
    {                                                                                              \
        (t), ATT_CLAIM_INTEGER, NULL, (v), false                                                   \
    }
#define EXP_B(t, v)                                                                                \
    {                                                                                              \
        (t), ATT_CLAIM_BOOLEAN, NULL, 0, (v)                                                       \
    }

static inline void claim_repr(const struct att_claim *c, char *out, size_t n)
{
    switch (c->value_type) {
    case ATT_CLAIM_STRING:
        snprintf(out, n, "%.*s = \"%.*s\" (String)", (int)c->type_len, c->type, (int)c->str_len,
                 c->str);
        break;
    case ATT_CLAIM_INTEGER:
        snprintf(out, n, "%.*s = %lld (Integer)", (int)c->type_len, c->type, (long long)c->integer);
        break;
    case ATT_CLAIM_BOOLEAN:
    default:
        snprintf(out, n, "%.*s = %s (Boolean)", (int)c->type_len, c->type,
                 c->boolean ? "true" : "false");
        break;
    }
}

static inline bool claim_is(const struct att_claim *c, const struct exp_claim *e)
{
    if (c->type_len != strlen(e->type) || memcmp(c->type, e->type, c->type_len) != 0 ||
        c->value_type != e->vt || c->issuer != ATT_ISSUER_ATTESTATION_POLICY) {
        return false;
    }
    switch (e->vt) {
    case ATT_CLAIM_STRING:
        return c->str_len == strlen(e->s) && memcmp(c->str, e->s, c->str_len) == 0 &&
               c->str[c->str_len] == 0;
    case ATT_CLAIM_INTEGER: return c->integer == e->i;
    case ATT_CLAIM_BOOLEAN:
    default: return c->boolean == e->b;
    }
}

/* The claims equal `exp` exactly: same count, order, types, values, valueTypes. */
static inline void assert_claims(const char *what, const struct att_claim *got, size_t n,
                                 const struct exp_claim *exp, size_t nexp)
{
    char repr[256];
    for (size_t i = 0; i < n || i < nexp; i++) {
        if (i >= n) {
            fail_msg("%s: claim %zu missing (expected %s)", what, i, exp[i].type);
        }
        if (i >= nexp) {
            claim_repr(&got[i], repr, sizeof(repr));
            fail_msg("%s: unexpected claim %zu: %s", what, i, repr);
        }
        if (!claim_is(&got[i], &exp[i])) {
            claim_repr(&got[i], repr, sizeof(repr));
            fail_msg("%s: claim %zu is %s, expected %s", what, i, repr, exp[i].type);
        }
    }
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static inline struct att_policy *parse_ok(const char *text, size_t len)
{
    struct att_policy *p = NULL;
    char msg[256];
    att_err rc = att_policy_parse(text, len, NULL, &p, msg, sizeof(msg));
    if (rc != ATT_OK) {
        fail_msg("parse failed: %s: %s", att_err_name(rc), msg);
    }
    return p;
}

static inline struct att_policy *parse_str(const char *text)
{
    return parse_ok(text, strlen(text));
}

/* Evaluate and expect success; the caller cleans the result up. */
static inline void eval_ok(const struct att_policy *p, const struct att_claim *in, size_t n,
                           struct att_policy_result *r)
{
    char msg[256];
    att_err rc = att_policy_eval(p, in, n, NULL, r, msg, sizeof(msg));
    if (rc != ATT_OK) {
        fail_msg("eval failed: %s: %s", att_err_name(rc), msg);
    }
}

#define AS ATT_ISSUER_ATTESTATION_SERVICE
#define CC ATT_ISSUER_CUSTOM_CLAIM
#define AP ATT_ISSUER_ATTESTATION_POLICY

#endif
