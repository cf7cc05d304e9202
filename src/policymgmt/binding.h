/*
 * binding.h - binding claims of signed policy changes (docs/policies.md, "Bound requests").
 *
 * MAA's signed set, reset and signer change (docs/reference/maa-policy.md §4.2-§4.4) name no
 * provider, type or time: a captured one could be applied again later, elsewhere, or to another
 * type trusting the same signer. A signed request may therefore carry, in its JWS protected header
 * (a reset's payload is empty; RFC 7519 §5.3 replicates claims as header parameters):
 *
 *   "iat"              NumericDate (RFC 7519 §4.1.6): accepted from 60 s before it (clock
 *                      skew) to 600 s after it (ATT_BINDING_WINDOW);
 *   "aud"              the provider's issuer URL, a string or an array holding it (§4.1.3);
 *   "attestationType"  the {type} of the path (set and reset; a signer change has none);
 *   "nbf", "exp"       optional; honoured with the same 60 s skew.
 *
 * A request carrying any of iat, aud or attestationType is bound and must carry all of them,
 * right. A provider may require bound requests (providers.require_bound_requests). A bound
 * request is accepted once: its digest (SHA-256 of the JWS signing input, so a re-encoded
 * ECDSA signature is the same request) is recorded until its window ends (manage.c).
 *
 * Pure: no I/O, the caller passes the clock. Unsigned requests are not checked here.
 */
#ifndef ATT_POLICYMGMT_BINDING_H
#define ATT_POLICYMGMT_BINDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "policymgmt/envelope.h"

#define ATT_BINDING_WINDOW 600 /* seconds after "iat" a bound request is accepted */
#define ATT_BINDING_SKEW 60    /* seconds of clock skew allowed on iat, nbf and exp */
#define ATT_BINDING_TYPE_CLAIM "attestationType"

struct att_binding {
    bool bound;      /* the request carries binding claims (all checked) */
    int64_t iat;     /* when bound */
    char digest[65]; /* hex SHA-256 of the JWS signing input */
};

/*
 * Check the binding claims of the signed request `jws` (as sent; opened as `e`) for a provider
 * whose issuer is `issuer`, changing attestation type `type` (NULL: a signer change). With
 * `required`, unbound requests are refused. On success *out is filled. On refusal, `problem`
 * gets the message naming the claim: ATT_ERR_TOKEN_CLAIMS (a claim missing or malformed),
 * ATT_ERR_TOKEN_AUDIENCE (aud), ATT_ERR_VALIDATE (attestationType), ATT_ERR_TOKEN_EXPIRED (iat
 * older than the window, or exp passed), ATT_ERR_TOKEN_NOT_YET_VALID (iat or nbf ahead).
 */
att_err att_binding_check(const struct att_envelope *e, const char *jws, size_t len,
                          const char *issuer, const char *type, bool required, int64_t now,
                          struct att_binding *out, char *problem, size_t problem_len) ATT_WUR;

/* The hex SHA-256 of the signing input (header.payload) of a compact JWS. */
att_err att_binding_digest(const char *jws, size_t len, char digest[65]) ATT_WUR;

#endif
