/*
 * manage.c - policy set / reset / rollback / history and signer changes (see manage.h).
 *
 * Input trust: JWS bodies from authenticated callers (checked by envelope.c); stored JWS
 * blobs are ours but read back through the same decoders.
 */
#include "policymgmt/manage.h"

#include <jansson.h>
#include <stdarg.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "core/codec.h"
#include "policy/policy.h"
#include "policymgmt/binding.h"
#include "seal/keyring.h"
#include "token/jws.h"
#include "x509/chain.h"

#define SEAL_TABLE "policy_versions"

void att_policy_state_init(struct att_policy_state *s)
{
    memset(s, 0, sizeof(*s));
    att_buf_init(&s->text, ATT_POLICY_DEFAULT_MAX_TEXT + 1);
    att_buf_init(&s->jws, ATT_ENVELOPE_MAX);
    att_policy_version_rec_init(&s->rec);
}

void att_policy_state_cleanup(struct att_policy_state *s)
{
    att_buf_cleanup(&s->text);
    att_buf_cleanup(&s->jws);
    X509_free(s->signer);
    s->signer = NULL;
    att_policy_version_rec_cleanup(&s->rec);
}

__attribute__((format(printf, 3, 4))) static void refuse(struct att_policy_refusal *why,
                                                         const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    why->code = code;
    vsnprintf(why->message, sizeof(why->message), fmt, ap);
    va_end(ap);
}

static bool isolated(const struct att_provider_rec *p)
{
    return strcmp(p->trust_model, ATT_TRUST_ISOLATED) == 0;
}

/* ---- reading stored versions ---- */

/* The text and signer of a JWS we stored (checked when it came in; not re-judged now). */
static att_err read_stored_jws(struct att_policy_state *s, bool empty)
{
    struct att_jws jws = {0};
    att_err rc = ATT_ERR_INTERNAL;
    STACK_OF(X509) *chain = NULL;
    ATT_GUARD(att_jws_decode_unverified_flags((const char *)s->jws.data, s->jws.len,
                                              empty ? ATT_JWS_EMPTY_PAYLOAD : 0, &jws, NULL));
    /* Only a signed JWS has a signer (envelope.c refuses certificates on unsigned ones). */
    const char *alg = json_string_value(json_object_get(jws.header, "alg"));
    const json_t *x5c = json_object_get(jws.header, "x5c");
    if (x5c == NULL) {
        x5c = json_object_get(json_object_get(jws.header, "jwk"), "x5c");
    }
    if (x5c != NULL && alg != NULL && strcmp(alg, "none") != 0) {
        ATT_GUARD(att_x5c_parse(x5c, &chain));
        s->signer = sk_X509_shift(chain);
    }
    if (!empty) {
        struct att_envelope e = {jws.header, jws.payload, NULL, "", NULL};
        ATT_GUARD(att_envelope_policy_text(&e, &s->text));
    }
    rc = ATT_OK;
out:
    if (chain != NULL) {
        sk_X509_pop_free(chain, X509_free);
    }
    att_jws_cleanup(&jws);
    return rc;
}

/* The built-in default of `type`, as an unsigned StoredAttestationPolicy JWS. */
static att_err default_state(const char *type, struct att_policy_state *s)
{
    enum att_policy_type t;
    ATT_TRY(att_policy_type_parse(type, strlen(type), &t));
    const char *text = att_policy_default(t);
    ATT_ENSURE(text != NULL, ATT_ERR_NOT_FOUND);
    att_buf_reset(&s->text);
    ATT_TRY(att_buf_puts(&s->text, text));
    struct att_buf b64;
    att_buf_init(&b64, 2 * ATT_POLICY_DEFAULT_MAX_TEXT);
    att_err rc = att_b64url_encode(s->text.data, s->text.len, &b64);
    json_t *payload =
        rc == ATT_OK ? json_pack("{s:s}", "AttestationPolicy", att_buf_cstr(&b64)) : NULL;
    char *ptext = payload != NULL ? json_dumps(payload, JSON_COMPACT) : NULL;
    att_buf_reset(&s->jws);
    rc = rc != ATT_OK    ? rc
         : ptext == NULL ? ATT_ERR_NOMEM
                         : att_jws_sign_none(NULL, ptext, strlen(ptext), &s->jws);
    free(ptext);
    json_decref(payload);
    att_buf_cleanup(&b64);
    s->is_default = true;
    return rc;
}

static att_err fill_hash(struct att_policy_state *s)
{
    return att_policy_hash((const char *)s->text.data, s->text.len, s->hash);
}

/* Fill `s` from history row s->rec (already read). */
static att_err state_of_row(struct att_keyring *kr, const char *type, struct att_policy_state *s)
{
    struct att_buf jws;
    att_buf_init_secret(&jws, ATT_ENVELOPE_MAX);
    att_err rc = att_keyring_open(kr, SEAL_TABLE, s->rec.id, s->rec.sealed_jws.data,
                                  s->rec.sealed_jws.len, &jws);
    if (rc == ATT_OK) {
        att_buf_reset(&s->jws);
        rc = att_buf_put(&s->jws, jws.data, jws.len);
    }
    att_buf_cleanup(&jws);
    ATT_TRY(rc);
    s->version = s->rec.version;
    snprintf(s->action, sizeof(s->action), "%s", s->rec.action);
    bool reset =
        strcmp(s->rec.action, "reset") == 0 ||
        (strcmp(s->rec.action, "rollback") == 0 && s->jws.len > 0 && s->rec.policy_hash[0] == 0);
    ATT_TRY(read_stored_jws(s, reset));
    if (reset) {
        /* A reset puts the default back; the row keeps the reset request for the record. */
        X509_free(s->signer);
        s->signer = NULL;
        att_buf_reset(&s->jws);
        ATT_TRY(default_state(type, s));
    }
    return fill_hash(s);
}

att_err att_policy_get(struct att_store *store, struct att_keyring *kr,
                       const struct att_provider_rec *provider, const char *type, int64_t version,
                       struct att_policy_state *out)
{
    att_err rc = att_store_policy_version_get(store, provider->name, type, version, &out->rec);
    if (rc == ATT_ERR_NOT_FOUND && version == 0) {
        snprintf(out->action, sizeof(out->action), "%s", "default");
        ATT_TRY(default_state(type, out));
        return fill_hash(out);
    }
    ATT_TRY(rc);
    return state_of_row(kr, type, out);
}

att_err att_policy_history(struct att_store *store, const char *provider, const char *type,
                           int64_t after, int64_t limit, att_store_policy_version_cb cb, void *arg)
{
    return att_store_policy_version_list(store, provider, type, after, limit, cb, arg);
}

/* ---- changes ---- */

static att_err is_trusted(struct att_store *store, const char *provider, X509 *cert, bool *yes);

/*
 * Open the envelope and apply the trust model: in Isolated mode it must be signed by a trusted
 * signer. Fills `why` on refusal.
 */
/* In Isolated mode the envelope must be signed by a trusted signer. Fills `why` on refusal. */
static att_err check_trust(struct att_store *store, const struct att_provider_rec *provider,
                           const struct att_envelope *e, struct att_policy_refusal *why)
{
    X509 *signer = att_envelope_signer(e);
    if (!isolated(provider)) {
        return ATT_OK;
    }
    if (signer == NULL) {
        refuse(why, "InvalidOperation",
               "%s: the provider is in Isolated mode; the request must be signed by a trusted "
               "policy signer",
               provider->name);
        return ATT_ERR_STATE;
    }
    bool trusted = false;
    ATT_TRY(is_trusted(store, provider->name, signer, &trusted));
    if (!trusted) {
        refuse(why, "InvalidOperation", "%s",
               "the signing certificate is not a trusted policy signer of this provider");
        return ATT_ERR_SIGNER_UNTRUSTED;
    }
    return ATT_OK;
}

/* The provider's policy settings as stored now: attestctl's changes bind at once (no SIGHUP). */
static att_err stored_settings(struct att_store *store, const struct att_provider_rec *provider,
                               struct att_provider_rec *stored)
{
    return att_store_provider_get(store, provider->name, stored);
}

/*
 * The binding claims of a signed request for `type` (NULL: a signer change), required when the
 * provider says so (binding.h). An unsigned request is not bound (b->digest stays "").
 */
static att_err check_binding(struct att_store *store, const struct att_provider_rec *provider,
                             const struct att_envelope *e, const char *jws, size_t len,
                             const char *type, int64_t now, struct att_binding *b,
                             struct att_policy_refusal *why)
{
    struct att_provider_rec stored;
    char problem[sizeof(why->message)];
    memset(b, 0, sizeof(*b));
    if (att_envelope_signer(e) == NULL) {
        return ATT_OK;
    }
    ATT_TRY(stored_settings(store, provider, &stored));
    att_err rc = att_binding_check(e, jws, len, provider->issuer, type,
                                   stored.require_bound_requests, now, b, problem, sizeof(problem));
    if (rc != ATT_OK) {
        refuse(why, "InvalidOperation", "%s", problem);
    }
    return rc;
}

/*
 * Open the envelope and apply the trust model, then (with `b`) the binding claims for `type`.
 * On success the caller owns *e (cleanup); on failure nothing is left to release and `why`
 * says why (when it is the request's fault).
 */
static att_err open_checked(struct att_store *store, const struct att_provider_rec *provider,
                            const char *jws, size_t len, bool empty, const char *type, int64_t now,
                            struct att_envelope *e, struct att_binding *b,
                            struct att_policy_refusal *why)
{
    att_err rc = att_envelope_open(jws, len, empty, now, e);
    if (rc != ATT_OK) {
        enum att_err_kind kind = att_err_kind(rc);
        bool chain = rc >= ATT_ERR_CERT_PARSE && rc <= ATT_ERR_CERT_CHAIN;
        refuse(why, chain || kind == ATT_KIND_VERIFY ? "InvalidParameter" : "InvalidOperation",
               "the request is not a valid policy JWS: %s",
               e->problem != NULL ? e->problem : att_err_str(rc));
        return rc;
    }
    rc = check_trust(store, provider, e, why);
    if (rc == ATT_OK && b != NULL) {
        rc = check_binding(store, provider, e, jws, len, type, now, b, why);
    }
    if (rc != ATT_OK) {
        att_envelope_cleanup(e);
    }
    return rc;
}

/*
 * The record of a signed request (store.h): a bound one until its window closes; an unbound
 * one for good when `keep_unbound` (a set). NULL when nothing is to be recorded.
 */
static struct att_policy_request_rec *request_rec(const char *provider, const char *scope,
                                                  const struct att_binding *b, bool keep_unbound,
                                                  struct att_policy_request_rec *r)
{
    if (b == NULL || b->digest[0] == 0 || (!b->bound && !keep_unbound)) {
        return NULL;
    }
    memset(r, 0, sizeof(*r));
    snprintf(r->provider, sizeof(r->provider), "%s", provider);
    snprintf(r->scope, sizeof(r->scope), "%s", scope);
    snprintf(r->digest, sizeof(r->digest), "%s", b->digest);
    r->expires_at = b->bound ? b->iat + ATT_BINDING_WINDOW : 0;
    return r;
}

static void refuse_replay(struct att_policy_refusal *why)
{
    refuse(why, "InvalidOperation", "%s",
           "this signed request was applied already: a bound request is accepted only once "
           "(sign a new one)");
}

static att_err new_version_id(char id[33])
{
    unsigned char r[16];
    static const char hex[] = "0123456789abcdef";
    ATT_ENSURE(RAND_bytes(r, sizeof(r)) == 1, ATT_ERR_CRYPTO);
    for (size_t i = 0; i < sizeof(r); i++) {
        id[2 * i] = hex[r[i] >> 4];
        id[2 * i + 1] = hex[r[i] & 15];
    }
    id[32] = 0;
    return ATT_OK;
}

/* Append a history row for `jws` (sealed) and fill *out from it. */
/* With `req`, the request is recorded with it (a bound one refused when seen before). */
static att_err append(struct att_store *store, struct att_keyring *kr,
                      const struct att_provider_rec *provider, const char *type, const char *action,
                      const uint8_t *jws, size_t len, const char *hash, X509 *signer,
                      int64_t rollback_of, const struct att_policy_actor *actor, int64_t now,
                      struct att_policy_request_rec *req, struct att_policy_state *out,
                      struct att_policy_refusal *why)
{
    struct att_policy_version_rec *v = &out->rec;
    struct att_provider_rec stored;
    ATT_TRY(stored_settings(store, provider, &stored));
    ATT_TRY(new_version_id(v->id));
    snprintf(v->provider, sizeof(v->provider), "%s", provider->name);
    snprintf(v->type, sizeof(v->type), "%s", type);
    snprintf(v->action, sizeof(v->action), "%s", action);
    snprintf(v->policy_hash, sizeof(v->policy_hash), "%s", hash);
    v->signer_sha256[0] = 0;
    if (signer != NULL) {
        ATT_TRY(att_cert_sha256_hex(signer, v->signer_sha256));
    }
    snprintf(v->principal, sizeof(v->principal), "%s", actor->subject);
    snprintf(v->principal_name, sizeof(v->principal_name), "%s", actor->name);
    snprintf(v->source, sizeof(v->source), "%s", actor->peer);
    v->created_at = now;
    v->rollback_of = rollback_of;
    /* Read it back before storing: once committed, a version must always be readable (a
     * request answered 500 must not have changed anything). */
    struct att_policy_state probe;
    att_policy_state_init(&probe);
    att_err rc = att_buf_put(&probe.jws, jws, len);
    if (rc == ATT_OK) {
        rc = read_stored_jws(&probe, hash[0] == 0);
    }
    att_policy_state_cleanup(&probe);
    ATT_TRY(rc);
    att_buf_reset(&v->sealed_jws);
    ATT_TRY(att_keyring_seal(kr, SEAL_TABLE, v->id, jws, len, &v->sealed_jws));
    rc = att_store_policy_version_append(store, v, req, stored.policy_history_keep);
    if (rc == ATT_ERR_TOKEN_REPLAY) {
        refuse_replay(why);
    }
    ATT_TRY(rc);
    return state_of_row(kr, type, out);
}

/*
 * A policy is stored only if it parses, issues no claim only the service sets, and stays
 * within the evaluation limits on an ordinary attestation of its type (docs/policies.md).
 */
static att_err check_text(const struct att_buf *text, const char *type,
                          struct att_policy_refusal *why)
{
    char msg[sizeof(why->message)];
    struct att_policy *policy = NULL;
    enum att_policy_type t;
    att_err rc = att_policy_type_parse(type, strlen(type), &t);
    if (rc == ATT_OK) {
        rc = att_policy_parse((const char *)text->data, text->len, NULL, &policy, msg, sizeof(msg));
        if (rc != ATT_OK) {
            refuse(why, "PolicyParsingError", "%s", msg);
        }
    }
    if (rc == ATT_OK) {
        rc = att_policy_check_reserved(policy, msg, sizeof(msg));
        if (rc != ATT_OK) {
            refuse(why, "PolicyParsingError", "%s", msg);
        }
    }
    if (rc == ATT_OK) {
        rc = att_policy_check_cost(policy, t, msg, sizeof(msg));
        if (rc != ATT_OK && rc != ATT_ERR_NOMEM) {
            refuse(why, "PolicyEvaluationError", "%s", msg);
        }
    }
    att_policy_free(policy);
    return rc;
}

/*
 * An unbound signed set (MAA's own form: no provider, type or time) whose signing input
 * `digest` was applied before on this provider and type and is no longer in force is refused:
 * Readers can copy any earlier JWS from the history, so a Contributor without the signing key
 * could otherwise bring back an older, weaker policy. Re-sending the policy in force changes
 * nothing (*in_force). docs/policies.md, "Replayed signed requests".
 */
static att_err check_resubmission(struct att_store *store, struct att_keyring *kr,
                                  const struct att_provider_rec *provider, const char *type,
                                  const char *digest, bool *in_force,
                                  struct att_policy_refusal *why)
{
    struct att_policy_state cur;
    struct att_policy_request_rec seen;
    char cur_digest[65] = "";
    att_policy_state_init(&cur);
    att_err rc = att_policy_get(store, kr, provider, type, 0, &cur);
    if (rc == ATT_OK && !cur.is_default && cur.signer != NULL) {
        rc = att_binding_digest((const char *)cur.jws.data, cur.jws.len, cur_digest);
    }
    att_policy_state_cleanup(&cur);
    ATT_TRY(rc);
    *in_force = strcmp(cur_digest, digest) == 0;
    if (*in_force) {
        return ATT_OK;
    }
    rc = att_store_policy_request_get(store, provider->name, type, digest, &seen);
    if (rc == ATT_ERR_NOT_FOUND) {
        return ATT_OK;
    }
    ATT_TRY(rc);
    refuse(why, "InvalidOperation",
           "this signed policy was applied before (version %lld of %s) and has since been "
           "superseded; a signed request is not applied twice. To make it the policy in force "
           "again, roll back to that version: attestctl policy rollback %s %lld --provider %s, "
           "or POST /attestd/policies/%s/versions/%lld:rollback",
           (long long)seen.version, type, type, (long long)seen.version, provider->name, type,
           (long long)seen.version);
    return ATT_ERR_STATE;
}

att_err att_policy_set(struct att_store *store, struct att_keyring *kr,
                       const struct att_provider_rec *provider, const char *type, const char *jws,
                       size_t len, const struct att_policy_actor *actor, int64_t now,
                       struct att_policy_state *out, struct att_policy_refusal *why)
{
    struct att_envelope e;
    struct att_binding b;
    struct att_policy_request_rec req;
    struct att_buf text;
    char hash[64];
    bool in_force = false;
    att_buf_init(&text, ATT_POLICY_DEFAULT_MAX_TEXT);
    att_err rc = open_checked(store, provider, jws, len, false, type, now, &e, &b, why);
    if (rc != ATT_OK) {
        att_buf_cleanup(&text);
        return rc;
    }
    rc = att_envelope_policy_text(&e, &text);
    if (rc != ATT_OK) {
        refuse(why, "InvalidOperation", "%s",
               rc == ATT_ERR_TOO_LARGE
                   ? "the policy text is larger than the limit"
                   : "the JWS payload must be {\"AttestationPolicy\": base64url(policy text)}");
    }
    if (rc == ATT_OK) {
        rc = check_text(&text, type, why);
    }
    if (rc == ATT_OK) {
        rc = att_policy_hash((const char *)text.data, text.len, hash);
    }
    if (rc == ATT_OK && b.digest[0] != 0 && !b.bound) {
        rc = check_resubmission(store, kr, provider, type, b.digest, &in_force, why);
    }
    if (rc == ATT_OK && in_force) {
        rc = att_policy_get(store, kr, provider, type, 0, out); /* nothing changes */
    } else if (rc == ATT_OK) {
        rc = append(store, kr, provider, type, "set", (const uint8_t *)jws, len, hash,
                    att_envelope_signer(&e), 0, actor, now,
                    request_rec(provider->name, type, &b, true, &req), out, why);
    }
    if (rc == ATT_OK) {
        snprintf(out->token_hash, sizeof(out->token_hash), "%s", e.token_hash);
    }
    att_envelope_cleanup(&e);
    att_buf_cleanup(&text);
    return rc;
}

att_err att_policy_reset(struct att_store *store, struct att_keyring *kr,
                         const struct att_provider_rec *provider, const char *type, const char *jws,
                         size_t len, const struct att_policy_actor *actor, int64_t now,
                         struct att_policy_state *out, struct att_policy_refusal *why)
{
    struct att_envelope e;
    struct att_binding b;
    struct att_policy_request_rec req;
    att_err rc = open_checked(store, provider, jws, len, true, type, now, &e, &b, why);
    ATT_TRY(rc);
    rc = append(store, kr, provider, type, "reset", (const uint8_t *)jws, len, "",
                att_envelope_signer(&e), 0, actor, now,
                request_rec(provider->name, type, &b, false, &req), out, why);
    if (rc == ATT_OK) {
        snprintf(out->token_hash, sizeof(out->token_hash), "%s", e.token_hash);
    }
    att_envelope_cleanup(&e);
    return rc;
}

/* Isolated mode: {"policyRollback": {"attestationType": type, "version": n}} signed. */
/*
 * Isolated mode: {"policyRollback": {"provider": P, "attestationType": T, "version": N},
 * "iat": seconds} signed. The provider and a fresh "iat" bind the request to one provider and
 * a short window, so a captured rollback cannot be replayed elsewhere or later.
 */
#define ROLLBACK_FRESHNESS 600 /* seconds an "iat" stays acceptable */
#define ROLLBACK_LEEWAY 60

static att_err check_rollback_request(const struct att_envelope *e, const char *provider,
                                      const char *type, int64_t version, int64_t now,
                                      int64_t *iat_out, struct att_policy_refusal *why)
{
    json_error_t jerr;
    json_t *doc =
        json_loadb((const char *)e->payload.data, e->payload.len, JSON_REJECT_DUPLICATES, &jerr);
    const json_t *r = json_object_get(doc, "policyRollback");
    const char *p = json_string_value(json_object_get(r, "provider"));
    const char *t = json_string_value(json_object_get(r, "attestationType"));
    const json_t *v = json_object_get(r, "version");
    const json_t *iat = json_object_get(doc, "iat");
    bool ok = p != NULL && strcmp(p, provider) == 0 && t != NULL && strcmp(t, type) == 0 &&
              json_is_integer(v) && json_integer_value(v) == version;
    bool fresh = json_is_integer(iat) && json_integer_value(iat) <= now + ROLLBACK_LEEWAY &&
                 json_integer_value(iat) >= now - ROLLBACK_FRESHNESS;
    *iat_out = fresh ? (int64_t)json_integer_value(iat) : 0;
    json_decref(doc);
    if (!ok) {
        refuse(why, "InvalidOperation", "%s",
               "the JWS payload must be {\"policyRollback\": {\"provider\": NAME, "
               "\"attestationType\": TYPE, \"version\": N}, \"iat\": SECONDS} naming this "
               "provider, type and version");
        return ATT_ERR_JSON;
    }
    if (!fresh) {
        refuse(why, "InvalidOperation", "%s",
               "the rollback request's iat is missing or not within the last 10 minutes");
        return ATT_ERR_TOKEN_EXPIRED;
    }
    return ATT_OK;
}

att_err att_policy_rollback(struct att_store *store, struct att_keyring *kr,
                            const struct att_provider_rec *provider, const char *type,
                            int64_t version, const char *jws, size_t len,
                            const struct att_policy_actor *actor, int64_t now,
                            struct att_policy_state *out, struct att_policy_refusal *why)
{
    struct att_policy_state old;
    struct att_envelope e;
    struct att_binding b;
    struct att_policy_request_rec req;
    bool opened = false;
    att_err rc;
    att_policy_state_init(&old);
    memset(&e, 0, sizeof(e));
    if (jws != NULL || isolated(provider)) {
        if (jws == NULL) {
            refuse(why, "InvalidOperation",
                   "%s: the provider is in Isolated mode; a rollback must be signed by a "
                   "trusted policy signer",
                   provider->name);
            att_policy_state_cleanup(&old);
            return ATT_ERR_STATE;
        }
        rc = open_checked(store, provider, jws, len, false, type, now, &e, NULL, why);
        if (rc != ATT_OK) {
            att_policy_state_cleanup(&old);
            return rc;
        }
        opened = true;
        /* Bound by its payload (provider, type, version, iat): accepted once, like any bound
         * request. */
        memset(&b, 0, sizeof(b));
        b.bound = true;
        rc = check_rollback_request(&e, provider->name, type, version, now, &b.iat, why);
        if (rc == ATT_OK) {
            rc = att_binding_digest(jws, len, b.digest);
        }
    } else {
        rc = ATT_OK;
    }
    if (rc == ATT_OK) {
        rc = att_policy_get(store, kr, provider, type, version, &old);
    }
    if (rc == ATT_OK) {
        /* The old version's own JWS comes back (a reset's returns the default). */
        const struct att_buf *src = old.is_default ? &old.rec.sealed_jws : &old.jws;
        struct att_buf copy;
        att_buf_init_secret(&copy, ATT_ENVELOPE_MAX);
        if (old.is_default) {
            rc = att_keyring_open(kr, SEAL_TABLE, old.rec.id, src->data, src->len, &copy);
        } else {
            rc = att_buf_put(&copy, src->data, src->len);
        }
        if (rc == ATT_OK) {
            rc = append(store, kr, provider, type, "rollback", copy.data, copy.len,
                        old.is_default ? "" : old.hash, old.signer, version, actor, now,
                        request_rec(provider->name, type, opened ? &b : NULL, false, &req), out,
                        why);
        }
        att_buf_cleanup(&copy);
    }
    if (opened) {
        att_envelope_cleanup(&e);
    }
    att_policy_state_cleanup(&old);
    return rc;
}

/* ---- signers ---- */

struct trust_ctx {
    const char *sha256;
    bool hit;
    size_t n;
};

static att_err match_signer(const struct att_signer_rec *r, void *arg)
{
    struct trust_ctx *t = arg;
    t->n++;
    t->hit = t->hit || strcmp(r->sha256, t->sha256) == 0;
    return ATT_OK;
}

/* One row by its key (att_store_signer_get), not the provider's whole list of certificates. */
static att_err is_trusted(struct att_store *store, const char *provider, X509 *cert, bool *yes)
{
    char sha[65];
    struct att_signer_rec r;
    ATT_TRY(att_cert_sha256_hex(cert, sha));
    att_signer_rec_init(&r);
    att_err rc = att_store_signer_get(store, provider, sha, &r);
    att_signer_rec_cleanup(&r);
    ATT_ENSURE(rc == ATT_OK || rc == ATT_ERR_NOT_FOUND, rc);
    *yes = rc == ATT_OK;
    return ATT_OK;
}

att_err att_signers_list(struct att_store *store, const char *provider, att_store_signer_cb cb,
                         void *arg)
{
    return att_store_signer_list(store, provider, cb, arg);
}

att_err att_signers_add_cert(struct att_store *store, const char *provider, X509 *cert, int64_t now)
{
    struct att_signer_rec r;
    unsigned char *der = NULL;
    STACK_OF(X509) *one = sk_X509_new_null();
    ATT_ENSURE(one != NULL, ATT_ERR_NOMEM);
    /* A signer signs with x5c = [itself] at least: it must stand as a chain of its own. */
    att_err rc = sk_X509_push(one, cert) > 0 ? att_x5c_check_chain(one, now) : ATT_ERR_NOMEM;
    sk_X509_free(one);
    ATT_TRY(rc);
    char sha[65];
    ATT_TRY(att_cert_sha256_hex(cert, sha));
    struct trust_ctx t = {sha, false, 0};
    ATT_TRY(att_store_signer_list(store, provider, match_signer, &t));
    ATT_ENSURE(!t.hit, ATT_ERR_EXISTS); /* present already: not a new signer, whatever the cap */
    ATT_ENSURE(t.n < ATT_POLICY_MAX_SIGNERS, ATT_ERR_TOO_LARGE);
    att_signer_rec_init(&r);
    snprintf(r.provider, sizeof(r.provider), "%s", provider);
    r.created_at = now;
    int n = i2d_X509(cert, &der);
    rc = n > 0 ? att_buf_put(&r.cert_der, der, (size_t)n) : ATT_ERR_CRYPTO;
    OPENSSL_free(der);
    if (rc == ATT_OK) {
        rc = att_cert_sha256_hex(cert, r.sha256);
    }
    if (rc == ATT_OK) {
        rc = att_cert_sha1_hex(cert, r.sha1);
    }
    if (rc == ATT_OK) {
        rc = att_store_signer_insert(store, &r);
    }
    att_signer_rec_cleanup(&r);
    return rc;
}

att_err att_signers_change(struct att_store *store, const struct att_provider_rec *provider,
                           bool add, const char *jws, size_t len, int64_t now, char thumbprint[41],
                           struct att_policy_refusal *why)
{
    struct att_envelope e;
    struct att_binding b;
    struct att_policy_request_rec req;
    bool claimed = false;
    X509 *cert = NULL;
    if (!isolated(provider)) {
        refuse(why, "InvalidOperation",
               "%s: policy signer certificates can only be managed on an Isolated provider",
               provider->name);
        return ATT_ERR_STATE;
    }
    ATT_TRY(open_checked(store, provider, jws, len, false, NULL, now, &e, &b, why));
    att_err rc = att_envelope_policy_certificate(&e, &cert);
    if (rc != ATT_OK) {
        refuse(why, rc == ATT_ERR_NOT_FOUND ? "InvalidOperation" : "InvalidParameter", "%s",
               rc == ATT_ERR_NOT_FOUND
                   ? "could not find the policyCertificate claim in the policy token"
                   : "the policyCertificate claim must be a JWK with x5c holding one certificate");
    }
    if (rc == ATT_OK) {
        rc = att_cert_sha1_hex(cert, thumbprint);
    }
    /* A bound change is recorded first (a replay refused), and forgotten if it then fails. */
    const struct att_policy_request_rec *r =
        rc == ATT_OK ? request_rec(provider->name, "", &b, false, &req) : NULL;
    if (r != NULL) {
        rc = att_store_policy_request_claim(store, r, now);
        claimed = rc == ATT_OK;
        if (rc == ATT_ERR_TOKEN_REPLAY) {
            refuse_replay(why);
        }
    }
    if (rc == ATT_OK && add) {
        rc = att_signers_add_cert(store, provider->name, cert, now);
        if (rc == ATT_ERR_EXISTS) {
            rc = ATT_OK; /* already present: the result is IsPresent all the same */
        } else if (rc == ATT_ERR_TOO_LARGE) {
            refuse(why, "InvalidOperation", "%s", "the provider has the most signers allowed");
        } else if (rc != ATT_OK) {
            refuse(why, "InvalidParameter", "the certificate cannot be a policy signer: %s",
                   att_err_str(rc));
        }
    } else if (rc == ATT_OK) {
        char sha[65];
        rc = att_cert_sha256_hex(cert, sha);
        if (rc == ATT_OK) {
            rc = att_store_signer_delete(store, provider->name, sha);
        }
        if (rc == ATT_ERR_NOT_FOUND) {
            rc = ATT_OK; /* already absent: IsAbsent */
        } else if (rc == ATT_ERR_STATE) {
            refuse(why, "InvalidOperation", "%s", "the last policy signer cannot be removed");
        }
    }
    if (rc != ATT_OK && claimed) {
        att_ignore_err(att_store_policy_request_forget(store, provider->name, "", b.digest));
    }
    X509_free(cert);
    att_envelope_cleanup(&e);
    return rc;
}
