/*
 * jmespath_func.c - the built-in functions of the JMESPath subset: the spec's
 * length() and MAA's extension equals_ignore_case(). Every other function name is
 * valid JMESPath outside the subset (the parser reports it).
 *
 * Input trust: the arguments are values computed from the untrusted event log. The
 * parser has checked the arity; each function checks its argument types (spec
 * "invalid-type": ATT_ERR_JMESPATH_TYPE) and charges the step budget for work
 * proportional to string lengths.
 *
 * Spec: JMESPath Specification, https://jmespath.org/specification.html,
 * "Built-in Functions"; MAA's extension: learn.microsoft.com/azure/attestation/
 * tpm-attestation-sample-policies (the ELAM recipe).
 */
#include "policy/jmespath_int.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/rd.h"

/* Owned result: a new reference, or NOMEM. */
static att_err own(json_t *v, json_t **out)
{
    if (v == NULL) {
        return ATT_ERR_NOMEM;
    }
    *out = v;
    return ATT_OK;
}

/* Code points of a UTF-8 string (jansson has checked it is valid UTF-8). */
static size_t count_code_points(const json_t *s)
{
    struct att_rd r;
    att_rd_init(&r, json_string_value(s), json_string_length(s));
    size_t n = 0;
    uint8_t c;
    while (att_rd_u8(&r, &c) == ATT_OK) {
        if ((c & 0xC0) != 0x80) {
            n++;
        }
    }
    return n;
}

/* Spec, "length": number length(string|array|object $subject); strings count code points. */
static att_err fn_length(struct jmes_evaluator *e, const struct jmes_node *call,
                         json_t *const *args, json_t **out)
{
    json_t *v = args[0];
    size_t n;
    if (json_is_string(v)) {
        ATT_TRY(jmes_charge(e, jmes_bytewise_cost(json_string_length(v))));
        n = count_code_points(v);
    } else if (json_is_array(v)) {
        n = json_array_size(v);
    } else if (json_is_object(v)) {
        n = json_object_size(v);
    } else {
        jmes_set_msg(e->msg, e->msg_len,
                     "column %zu: length() expects a string, array or object, got %s", call->col,
                     jmes_type_name(v));
        return ATT_ERR_JMESPATH_TYPE;
    }
    return own(json_integer((json_int_t)n), out);
}

static uint8_t ascii_lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c - 'A' + 'a') : c;
}

/*
 * MAA extension: boolean equals_ignore_case(string $a, string $b). MAA documents it
 * only by use (the ELAM recipe compares file paths such as
 * '\windows\system32\drivers\wdboot.sys') and says nothing about Unicode; attestd
 * folds ASCII letters only and compares every other byte exactly. That is enough for
 * the Windows paths it exists for, needs no Unicode tables, and can only be stricter
 * than a full case fold (never equal where MAA would say unequal).
 */
static att_err fn_equals_ignore_case(struct jmes_evaluator *e, const struct jmes_node *call,
                                     json_t *const *args, json_t **out)
{
    for (size_t i = 0; i < 2; i++) {
        if (!json_is_string(args[i])) {
            jmes_set_msg(e->msg, e->msg_len,
                         "column %zu: equals_ignore_case() expects a string as argument %zu, "
                         "got %s",
                         call->col, i + 1, jmes_type_name(args[i]));
            return ATT_ERR_JMESPATH_TYPE;
        }
    }
    size_t len = json_string_length(args[0]);
    bool eq = len == json_string_length(args[1]);
    if (eq) {
        ATT_TRY(jmes_charge(e, jmes_bytewise_cost(2 * len))); /* both strings are read */
        struct att_rd ra;
        struct att_rd rb;
        att_rd_init(&ra, json_string_value(args[0]), len);
        att_rd_init(&rb, json_string_value(args[1]), len);
        uint8_t a;
        uint8_t b;
        while (eq && att_rd_u8(&ra, &a) == ATT_OK && att_rd_u8(&rb, &b) == ATT_OK) {
            eq = ascii_lower(a) == ascii_lower(b);
        }
    }
    *out = json_boolean(eq);
    return ATT_OK;
}

static const struct jmes_func funcs[] = {
    {"length", 1, fn_length},
    {"equals_ignore_case", 2, fn_equals_ignore_case},
};

const struct jmes_func *jmes_func_find(struct att_bytes name)
{
    for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++) {
        if (att_bytes_eq_str(name, funcs[i].name)) {
            return &funcs[i];
        }
    }
    return NULL;
}
