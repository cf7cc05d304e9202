/*
 * binding.c - check the binding claims of signed policy changes (see binding.h).
 *
 * Input trust: the protected header of a JWS whose signature envelope.c has verified; its
 * values are still the caller's choice and are checked for type and range. The JWS bytes are
 * walked with the bounded reader only.
 */
#include "policymgmt/binding.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/rd.h"
#include "crypto/ecdsa.h"
#include "policy/policy.h"

/* NumericDate values above 9999-12-31T23:59:59Z are refused, so sums cannot overflow. */
#define TIME_MAX ((int64_t)253402300799)

__attribute__((format(printf, 3, 4))) static void say(char *problem, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(problem, n, fmt, ap);
    va_end(ap);
}

att_err att_binding_digest(const char *jws, size_t len, char digest[65])
{
    static const char hex[] = "0123456789abcdef";
    struct att_rd r;
    struct att_bytes part;
    uint8_t d[32];
    att_rd_init(&r, jws, len);
    ATT_TRY(att_rd_until(&r, '.', &part)); /* header */
    ATT_TRY(att_rd_until(&r, '.', &part)); /* payload */
    /* RFC 7515 §5.1: the signing input is ASCII(header) || '.' || ASCII(payload). */
    ATT_TRY(att_sha256(jws, att_rd_offset(&r) - 1, d));
    for (size_t i = 0; i < sizeof(d); i++) {
        digest[2 * i] = hex[d[i] >> 4];
        digest[2 * i + 1] = hex[d[i] & 15];
    }
    digest[64] = 0;
    return ATT_OK;
}

/* An optional NumericDate (RFC 7519 §2): an integer from 0 to TIME_MAX. */
static att_err time_claim(const json_t *header, const char *name, bool *present, int64_t *out,
                          char *problem, size_t n)
{
    const json_t *v = json_object_get(header, name);
    *present = v != NULL;
    if (v == NULL) {
        return ATT_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > TIME_MAX) {
        say(problem, n, "the \"%s\" header claim must be a NumericDate (whole seconds)", name);
        return ATT_ERR_TOKEN_CLAIMS;
    }
    *out = (int64_t)json_integer_value(v);
    return ATT_OK;
}

/* RFC 7519 §4.1.3: "aud" is a string or an array of strings; one must be our issuer. */
static bool names_issuer(const json_t *aud, const char *issuer)
{
    if (json_is_string(aud)) {
        return strcmp(json_string_value(aud), issuer) == 0;
    }
    size_t i;
    const json_t *one;
    json_array_foreach(aud, i, one)
    {
        if (json_is_string(one) && strcmp(json_string_value(one), issuer) == 0) {
            return true;
        }
    }
    return false;
}

/* "nbf" and "exp", when present, frame the request further (RFC 7519 §4.1.4, §4.1.5). */
static att_err check_nbf_exp(const json_t *header, int64_t now, char *problem, size_t n)
{
    bool has = false;
    int64_t t = 0;
    ATT_TRY(time_claim(header, "nbf", &has, &t, problem, n));
    if (has && t > now + ATT_BINDING_SKEW) {
        say(problem, n, "%s", "the request is not valid yet (its \"nbf\" is in the future)");
        return ATT_ERR_TOKEN_NOT_YET_VALID;
    }
    ATT_TRY(time_claim(header, "exp", &has, &t, problem, n));
    if (has && t <= now - ATT_BINDING_SKEW) {
        say(problem, n, "%s", "the request has expired (its \"exp\" has passed)");
        return ATT_ERR_TOKEN_EXPIRED;
    }
    return ATT_OK;
}

/* The first binding claim the header lacks, or NULL. */
static const char *missing_claim(const json_t *header, const char *type)
{
    if (json_object_get(header, "iat") == NULL) {
        return "iat";
    }
    if (json_object_get(header, "aud") == NULL) {
        return "aud";
    }
    if (type != NULL && json_object_get(header, ATT_BINDING_TYPE_CLAIM) == NULL) {
        return ATT_BINDING_TYPE_CLAIM;
    }
    return NULL;
}

/* attestationType must name the type the path changes (case as att_policy_type_parse). */
static att_err check_type(const json_t *header, const char *type, char *problem, size_t n)
{
    const json_t *v = json_object_get(header, ATT_BINDING_TYPE_CLAIM);
    if (type == NULL) {
        if (v != NULL) {
            say(problem, n,
                "a signer change applies to the whole provider: \"%s\" does not belong in it",
                ATT_BINDING_TYPE_CLAIM);
            return ATT_ERR_VALIDATE;
        }
        return ATT_OK;
    }
    enum att_policy_type t;
    bool same = json_is_string(v) &&
                att_policy_type_parse(json_string_value(v), json_string_length(v), &t) == ATT_OK &&
                strcmp(att_policy_type_name(t), type) == 0;
    if (!same) {
        say(problem, n, "the request's \"%s\" must be %s, the attestation type it changes",
            ATT_BINDING_TYPE_CLAIM, type);
        return ATT_ERR_VALIDATE;
    }
    return ATT_OK;
}

att_err att_binding_check(const struct att_envelope *e, const char *jws, size_t len,
                          const char *issuer, const char *type, bool required, int64_t now,
                          struct att_binding *out, char *problem, size_t problem_len)
{
    const json_t *h = e->header;
    struct att_binding b;
    memset(&b, 0, sizeof(b));
    ATT_TRY(att_binding_digest(jws, len, b.digest));
    b.bound = json_object_get(h, "iat") != NULL || json_object_get(h, "aud") != NULL ||
              json_object_get(h, ATT_BINDING_TYPE_CLAIM) != NULL;
    const char *missing = missing_claim(h, type);
    if (missing != NULL && (b.bound || required)) {
        if (b.bound) {
            say(problem, problem_len,
                "a bound request carries iat, aud%s in its JWS protected header: \"%s\" is "
                "missing",
                type != NULL ? " and " ATT_BINDING_TYPE_CLAIM : "", missing);
        } else {
            say(problem, problem_len,
                "this provider requires bound policy requests: the JWS protected header has "
                "no \"%s\" (docs/policies.md, \"Bound requests\")",
                missing);
        }
        return ATT_ERR_TOKEN_CLAIMS;
    }
    if (b.bound) {
        bool has = false;
        ATT_TRY(time_claim(h, "iat", &has, &b.iat, problem, problem_len));
        if (b.iat > now + ATT_BINDING_SKEW) {
            say(problem, problem_len, "%s", "the request's \"iat\" is in the future");
            return ATT_ERR_TOKEN_NOT_YET_VALID;
        }
        if (b.iat < now - ATT_BINDING_WINDOW) {
            say(problem, problem_len, "%s",
                "the request's \"iat\" is older than 10 minutes: sign a new request");
            return ATT_ERR_TOKEN_EXPIRED;
        }
        if (!names_issuer(json_object_get(h, "aud"), issuer)) {
            say(problem, problem_len, "the request's \"aud\" must name this provider's issuer, %s",
                issuer);
            return ATT_ERR_TOKEN_AUDIENCE;
        }
        ATT_TRY(check_type(h, type, problem, problem_len));
    }
    ATT_TRY(check_nbf_exp(h, now, problem, problem_len));
    *out = b;
    return ATT_OK;
}
