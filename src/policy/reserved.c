/*
 * reserved.c - the claim names only the service sets: a policy cannot issue() them.
 *
 * A token's service claims say what attestd checked (x-ms-attestation-type, x-ms-policy-hash,
 * x-ms-policy-signer, the evidence's measurements), who issued it and for whom (the JWT
 * registered claims), and what the client bound to it (nonce, cnf). A policy that could issue
 * one whenever the service did not set it could make an unsigned policy look signed, or a
 * token look bound to a nonce nobody sent. The list is docs/attestation.md, "Reserved claim
 * names"; issueproperty() names are properties, not token claims, and are not affected. Names
 * are compared without regard to ASCII case: JSON member names are case-sensitive, but a
 * relying party's claim lookup may not be ("X-MS-Policy-Signer" must not pass for the real one).
 *
 * Input: claim types from policy text and rule evaluation, untrusted, compared as bytes.
 */
#include "policy/policy_int.h"

#include <string.h>

/* Every name beginning with these is the service's. */
static const char *const reserved_prefixes[] = {
    "x-ms-", /* docs/reference/maa-tokens.md §2.3-§2.7 */
    "tdx_",  /* TdxVm: the EAT profile's claims drop the x-ms- prefix (§2.6) */
};

static const char *const reserved_names[] = {
    /* RFC 7519 §4.1: registered claims */
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    /* bound by the client and echoed by the service (docs/reference/maa-tokens.md §2.2, §2.7) */
    "nonce",
    "cnf",
    "rp_data",
    /* legacy aliases of service claims (§2.3, §2.4). Two stay the policy's, because MAA's own
     * published policies issue them: "tee" (the default SGX policy, from $tee) and "aas-ehd"
     * (the VBS samples, from the client's custom claim); where the service sets them itself,
     * a policy still cannot overwrite them. */
    "ver",
    "policy_hash",
    "maa-policyHash",
    "policy_signer",
    "maa-ehd",
    "maa-attestationcollateral",
    /* TdxVm: the EAT profile's claims (§2.6) */
    "eat_profile",
    "dbgstat",
    "intuse",
    "attester_tcb_status",
    "attester_advisory_ids", /* attestd's companion of attester_tcb_status (docs/attestation.md) */
    /* attestd's marks of tokens that are not attestations: a demo provider's (docs/internals/
     * demo.md) and `attestctl token issue`'s; a policy must not fake or hide them */
    "x-attestd-demo",
    "x-attestd-test-token",
};

/* Policy verdicts under the service's prefix: MAA's default SevSnpVm policy issues
 * x-ms-compliance-status (docs/reference/maa-tokens.md §2.5), so policies may. */
static const char *const policy_names[] = {"x-ms-compliance-status"};

bool att_policy_claim_reserved(const char *type, size_t len)
{
    struct att_bytes t = {(const uint8_t *)type, len};
    struct att_bytes head;
    for (size_t i = 0; i < sizeof(policy_names) / sizeof(policy_names[0]); i++) {
        if (att_bytes_eq_str_nocase(t, policy_names[i])) {
            return false;
        }
    }
    for (size_t i = 0; i < sizeof(reserved_prefixes) / sizeof(reserved_prefixes[0]); i++) {
        size_t n = strlen(reserved_prefixes[i]);
        if (att_bytes_slice(t, 0, n, &head) == ATT_OK &&
            att_bytes_eq_str_nocase(head, reserved_prefixes[i])) {
            return true;
        }
    }
    for (size_t i = 0; i < sizeof(reserved_names) / sizeof(reserved_names[0]); i++) {
        if (att_bytes_eq_str_nocase(t, reserved_names[i])) {
            return true;
        }
    }
    return false;
}

int pol_quote_len(const char *s, size_t len)
{
    size_t n = len < 32 ? len : 32;
    /* Never cut a UTF-8 character: back off its continuation bytes. */
    while (n < len && n > 0 && ((uint8_t)s[n] & 0xC0) == 0x80) {
        n--;
    }
    return (int)n;
}

/* The type of each issue() whose type is a literal, in rule order; stops at the first refusal. */
static att_err each_literal_issue(const struct att_policy *p,
                                  att_err (*fn)(const struct pol_expr *type, void *arg), void *arg)
{
    for (size_t s = 0; s < POL_SECTION_COUNT; s++) {
        const struct pol_section *sec = &p->sections[s];
        for (size_t i = 0; i < sec->nrules; i++) {
            const struct pol_action *a = &sec->rules[i].action;
            /* claim=IDENT and computed types are known only when the rule runs. */
            if (a->kind == PA_ISSUE && !a->by_claim && a->type != NULL &&
                a->type->kind == PE_STRING) {
                ATT_TRY(fn(a->type, arg));
            }
        }
    }
    return ATT_OK;
}

static att_err refuse_reserved(const struct pol_expr *type, void *arg)
{
    if (!att_policy_claim_reserved(type->str, type->str_len)) {
        return ATT_OK;
    }
    return pol_fail(arg, ATT_ERR_POLICY_RESERVED_CLAIM, type->pos.line, type->pos.col,
                    "issue(): '%.*s' is a claim only the service sets",
                    pol_quote_len(type->str, type->str_len), type->str);
}

att_err att_policy_check_reserved(const struct att_policy *p, char *msg, size_t msg_len)
{
    struct pol_diag diag = {msg, msg_len};
    ATT_ENSURE(p != NULL, ATT_ERR_ARG);
    return each_literal_issue(p, refuse_reserved, &diag);
}

struct issued {
    att_err (*fn)(const char *type, size_t len, void *arg);
    void *arg;
};

static att_err pass_issued(const struct pol_expr *type, void *arg)
{
    const struct issued *is = arg;
    return is->fn(type->str, type->str_len, is->arg);
}

att_err att_policy_issued_claims(const struct att_policy *p,
                                 att_err (*fn)(const char *type, size_t len, void *arg), void *arg)
{
    struct issued is = {fn, arg};
    ATT_ENSURE(p != NULL && fn != NULL, ATT_ERR_ARG);
    return each_literal_issue(p, pass_issued, &is);
}
