/*
 * issuers.c - trusted external token issuers: the file, the key cache, token validation
 * (see issuers.h).
 *
 * Input trust: the issuers file is the operator's (checked strictly, every unknown member
 * refused so a typo cannot silently drop a rule); discovery documents and JWK Sets come from
 * the network (capped, parsed strictly); bearer tokens are the attacker's (capped, decoded by
 * src/token/jws.c, nothing trusted before the signature is).
 */
#include "auth/issuers.h"

#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/file.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "net/https.h"
#include "provider/provider.h"
#include "token/jws.h"
#include "token/jwks.h"

#define NAME_MAX_LEN 63
#define CLAIM_NAME_MAX 63
#define PATH_MAX_LEN 1023
#define VALUE_MAX 255
#define CLAIM_ARRAY_MAX 256 /* entries of aud / roles / groups looked at */

enum key_source {
    SOURCE_DISCOVERY, /* issuer + /.well-known/openid-configuration -> jwks_uri */
    SOURCE_URI,       /* jwks_uri given */
    SOURCE_FILE,      /* static JWKS file, read at load */
};

struct role_map_entry {
    char value[VALUE_MAX + 1]; /* a value of the roles claim */
    struct att_token_role grant;
};

struct required_claim {
    char name[CLAIM_NAME_MAX + 1];
    char value[VALUE_MAX + 1];
};

struct issuer {
    char name[NAME_MAX_LEN + 1];
    char issuer[ATT_URL_MAX + 1];
    char audiences[ATT_ISSUER_MAX_AUDIENCES][VALUE_MAX + 1];
    size_t n_audiences;
    enum key_source source;
    char location[PATH_MAX_LEN + 1]; /* jwks_uri or jwks_file; "" for discovery */
    char ca_file[PATH_MAX_LEN + 1];  /* "" = the system's trust anchors */
    char subject_claim[CLAIM_NAME_MAX + 1];
    char roles_claim[CLAIM_NAME_MAX + 1];  /* "" = none */
    char groups_claim[CLAIM_NAME_MAX + 1]; /* "" = none */
    struct role_map_entry role_map[ATT_ISSUER_MAX_ROLE_MAP];
    size_t n_role_map;
    struct required_claim required[ATT_ISSUER_MAX_REQUIRED];
    size_t n_required;
    int64_t leeway;
    int64_t max_lifetime;
    int64_t refresh_interval;
    int64_t refresh_min_interval;

    /* The key cache; everything below is guarded by `lock`. */
    pthread_mutex_t lock;
    struct att_jwks *keys; /* NULL until a fetch or the file succeeds */
    int64_t fetched_at;
    int64_t last_attempt; /* 0 = never */
    bool fetching;
};

struct att_issuers {
    size_t n;
    struct issuer *items;
    unsigned refs; /* atomic: a reload may hand the same registry to a new API snapshot */
};

/* ---- the issuers file ---- */

struct parse_ctx {
    const char *file;
    char *msg;
    size_t msg_len;
};

static att_err bad(struct parse_ctx *p, size_t i, const char *field, const char *what)
{
    snprintf(p->msg, p->msg_len, "%s: issuers[%zu].%s: %s", p->file, i, field, what);
    return ATT_ERR_CONFIG;
}

static att_err copy_str(struct parse_ctx *p, size_t i, const char *field, const json_t *v,
                        char *out, size_t cap)
{
    const char *s = json_string_value(v);
    if (s == NULL || s[0] == 0 || strlen(s) != json_string_length(v)) {
        return bad(p, i, field, "must be a non-empty string");
    }
    if (strlen(s) >= cap) {
        return bad(p, i, field, "is too long");
    }
    memcpy(out, s, strlen(s) + 1);
    return ATT_OK;
}

/* A whole number of seconds in [lo, hi]. */
static att_err seconds(struct parse_ctx *p, size_t i, const char *field, const json_t *v,
                       int64_t lo, int64_t hi, int64_t *out)
{
    char what[96];
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        snprintf(what, sizeof(what), "must be a whole number of seconds from %lld to %lld",
                 (long long)lo, (long long)hi);
        return bad(p, i, field, what);
    }
    *out = json_integer_value(v);
    return ATT_OK;
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > NAME_MAX_LEN) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  (i > 0 && (c == '-' || c == '.' || c == '_'));
        if (!ok) {
            return false;
        }
    }
    return true;
}

static att_err resolve_path(struct parse_ctx *p, size_t i, const char *field, const char *base,
                            const json_t *v, char *out, size_t cap)
{
    char raw[PATH_MAX_LEN + 1];
    ATT_TRY(copy_str(p, i, field, v, raw, sizeof(raw)));
    int n = raw[0] == '/' || base == NULL ? snprintf(out, cap, "%s", raw)
                                          : snprintf(out, cap, "%s/%s", base, raw);
    if (n < 0 || (size_t)n >= cap) {
        return bad(p, i, field, "the path is too long");
    }
    return ATT_OK;
}

static att_err parse_audiences(struct parse_ctx *p, size_t i, const json_t *v, struct issuer *is)
{
    size_t k;
    const json_t *a;
    if (!json_is_array(v) || json_array_size(v) == 0) {
        return bad(p, i, "audiences", "must be a non-empty array of strings");
    }
    if (json_array_size(v) > ATT_ISSUER_MAX_AUDIENCES) {
        return bad(p, i, "audiences", "has too many entries (at most 8)");
    }
    json_array_foreach(v, k, a)
    {
        ATT_TRY(copy_str(p, i, "audiences", a, is->audiences[k], sizeof(is->audiences[k])));
    }
    is->n_audiences = json_array_size(v);
    return ATT_OK;
}

/* "claim value": "Role" (on every provider) or {"role": "Role", "provider": "name" | "*"}. */
static att_err parse_role_map(struct parse_ctx *p, size_t i, json_t *v, struct issuer *is)
{
    const char *key;
    json_t *val;
    if (!json_is_object(v)) {
        return bad(p, i, "role_map", "must be an object of claim value -> role");
    }
    if (json_object_size(v) > ATT_ISSUER_MAX_ROLE_MAP) {
        return bad(p, i, "role_map", "has too many entries (at most 32)");
    }
    json_object_foreach(v, key, val)
    {
        struct role_map_entry *e = &is->role_map[is->n_role_map];
        const json_t *role = val;
        const char *provider = "*";
        if (key[0] == 0 || strlen(key) > VALUE_MAX) {
            return bad(p, i, "role_map", "a claim value is empty or too long");
        }
        if (json_is_object(val)) {
            role = json_object_get(val, "role");
            const json_t *pv = json_object_get(val, "provider");
            if (json_object_size(val) != (pv != NULL ? 2u : 1u)) {
                return bad(p, i, "role_map",
                           "an entry object has members other than role and "
                           "provider");
            }
            provider = pv != NULL ? json_string_value(pv) : "*";
        }
        if (!json_is_string(role) ||
            att_role_parse(json_string_value(role), &e->grant.role) != ATT_OK) {
            return bad(p, i, "role_map",
                       "roles are Owner, AttestationContributor, AttestationReader or Attester");
        }
        if (provider == NULL ||
            (strcmp(provider, "*") != 0 && att_provider_name_check(provider) != ATT_OK)) {
            return bad(p, i, "role_map", "provider must be a provider name or \"*\"");
        }
        snprintf(e->value, sizeof(e->value), "%s", key);
        snprintf(e->grant.provider, sizeof(e->grant.provider), "%s", provider);
        is->n_role_map++;
    }
    return ATT_OK;
}

static att_err parse_required(struct parse_ctx *p, size_t i, json_t *v, struct issuer *is)
{
    const char *key;
    json_t *val;
    if (!json_is_object(v) || json_object_size(v) > ATT_ISSUER_MAX_REQUIRED) {
        return bad(p, i, "required_claims", "must be an object of at most 8 claim -> string");
    }
    json_object_foreach(v, key, val)
    {
        struct required_claim *r = &is->required[is->n_required];
        if (key[0] == 0 || strlen(key) > CLAIM_NAME_MAX) {
            return bad(p, i, "required_claims", "a claim name is empty or too long");
        }
        snprintf(r->name, sizeof(r->name), "%s", key);
        ATT_TRY(copy_str(p, i, "required_claims", val, r->value, sizeof(r->value)));
        is->n_required++;
    }
    return ATT_OK;
}

static const char *const issuer_members[] = {
    "name",        "issuer",       "audiences",        "discovery",
    "jwks_uri",    "jwks_file",    "ca_file",          "subject_claim",
    "roles_claim", "role_map",     "groups_claim",     "required_claims",
    "leeway",      "max_lifetime", "refresh_interval", "refresh_min_interval",
};

static att_err check_members(struct parse_ctx *p, size_t i, json_t *obj)
{
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        bool known = false;
        for (size_t k = 0; k < sizeof(issuer_members) / sizeof(issuer_members[0]); k++) {
            known = known || strcmp(key, issuer_members[k]) == 0;
        }
        if (!known) {
            snprintf(p->msg, p->msg_len, "%s: issuers[%zu]: unknown member \"%.64s\"", p->file, i,
                     key);
            return ATT_ERR_CONFIG;
        }
        (void)val;
    }
    return ATT_OK;
}

static att_err parse_source(struct parse_ctx *p, size_t i, const json_t *o, const char *base,
                            struct issuer *is)
{
    const json_t *disc = json_object_get(o, "discovery");
    const json_t *uri = json_object_get(o, "jwks_uri");
    const json_t *file = json_object_get(o, "jwks_file");
    int given = (disc != NULL) + (uri != NULL) + (file != NULL);
    if (given != 1) {
        return bad(p, i, "discovery", "give exactly one of discovery, jwks_uri and jwks_file");
    }
    if (disc != NULL) {
        if (!json_is_true(disc)) {
            return bad(p, i, "discovery", "must be true (or use jwks_uri / jwks_file)");
        }
        if (strncmp(is->issuer, "https://", 8) != 0) {
            return bad(p, i, "issuer", "discovery needs an https issuer URL");
        }
        is->source = SOURCE_DISCOVERY;
    } else if (uri != NULL) {
        ATT_TRY(copy_str(p, i, "jwks_uri", uri, is->location, sizeof(is->location)));
        if (strncmp(is->location, "https://", 8) != 0) {
            return bad(p, i, "jwks_uri", "must be an https URL");
        }
        is->source = SOURCE_URI;
    } else {
        ATT_TRY(resolve_path(p, i, "jwks_file", base, file, is->location, sizeof(is->location)));
        is->source = SOURCE_FILE;
    }
    const json_t *ca = json_object_get(o, "ca_file");
    if (ca != NULL) {
        if (is->source == SOURCE_FILE) {
            return bad(p, i, "ca_file", "only applies to keys fetched over https");
        }
        ATT_TRY(resolve_path(p, i, "ca_file", base, ca, is->ca_file, sizeof(is->ca_file)));
    }
    return ATT_OK;
}

static att_err claim_name(struct parse_ctx *p, size_t i, const json_t *o, const char *field,
                          const char *dflt, char *out, size_t cap)
{
    const json_t *v = json_object_get(o, field);
    if (v == NULL) {
        snprintf(out, cap, "%s", dflt);
        return ATT_OK;
    }
    return copy_str(p, i, field, v, out, cap);
}

static att_err parse_issuer(struct parse_ctx *p, size_t i, json_t *o, const char *base,
                            struct issuer *is)
{
    if (!json_is_object(o)) {
        snprintf(p->msg, p->msg_len, "%s: issuers[%zu]: must be an object", p->file, i);
        return ATT_ERR_CONFIG;
    }
    ATT_TRY(check_members(p, i, o));
    ATT_TRY(copy_str(p, i, "name", json_object_get(o, "name"), is->name, sizeof(is->name)));
    if (!name_ok(is->name)) {
        return bad(p, i, "name",
                   "use 1-63 of a-z, 0-9, '.', '_' and '-', starting with a "
                   "letter or digit");
    }
    ATT_TRY(copy_str(p, i, "issuer", json_object_get(o, "issuer"), is->issuer, sizeof(is->issuer)));
    ATT_TRY(parse_audiences(p, i, json_object_get(o, "audiences"), is));
    ATT_TRY(parse_source(p, i, o, base, is));
    ATT_TRY(
        claim_name(p, i, o, "subject_claim", "sub", is->subject_claim, sizeof(is->subject_claim)));
    ATT_TRY(claim_name(p, i, o, "roles_claim", "", is->roles_claim, sizeof(is->roles_claim)));
    ATT_TRY(claim_name(p, i, o, "groups_claim", "", is->groups_claim, sizeof(is->groups_claim)));
    json_t *map = json_object_get(o, "role_map");
    if ((map != NULL) != (is->roles_claim[0] != 0)) {
        return bad(p, i, "role_map", "roles_claim and role_map go together");
    }
    if (map != NULL) {
        ATT_TRY(parse_role_map(p, i, map, is));
    }
    json_t *req = json_object_get(o, "required_claims");
    if (req != NULL) {
        ATT_TRY(parse_required(p, i, req, is));
    }
    const json_t *v;
    is->leeway = ATT_ISSUER_DEFAULT_LEEWAY;
    is->max_lifetime = ATT_ISSUER_DEFAULT_LIFETIME;
    is->refresh_interval = ATT_ISSUER_DEFAULT_REFRESH;
    is->refresh_min_interval = ATT_ISSUER_DEFAULT_MIN_REFRESH;
    if ((v = json_object_get(o, "leeway")) != NULL) {
        ATT_TRY(seconds(p, i, "leeway", v, 0, ATT_ISSUER_MAX_LEEWAY, &is->leeway));
    }
    if ((v = json_object_get(o, "max_lifetime")) != NULL) {
        ATT_TRY(seconds(p, i, "max_lifetime", v, 60, 7 * 86400, &is->max_lifetime));
    }
    if ((v = json_object_get(o, "refresh_interval")) != NULL) {
        ATT_TRY(seconds(p, i, "refresh_interval", v, 60, 7 * 86400, &is->refresh_interval));
    }
    if ((v = json_object_get(o, "refresh_min_interval")) != NULL) {
        ATT_TRY(seconds(p, i, "refresh_min_interval", v, 1, 3600, &is->refresh_min_interval));
    }
    return ATT_OK;
}

static void free_items(struct issuer *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        att_jwks_free(items[i].keys);
        pthread_mutex_destroy(&items[i].lock);
    }
    free(items);
}

att_err att_issuers_empty(struct att_issuers **out)
{
    struct att_issuers *is = calloc(1, sizeof(*is));
    ATT_ENSURE(is != NULL, ATT_ERR_NOMEM);
    is->refs = 1;
    *out = is;
    return ATT_OK;
}

static att_err parse_with_base(const char *name, const char *text, size_t len, const char *base,
                               const char *own_issuer, struct att_issuers **out, char *msg,
                               size_t msg_len)
{
    att_err rc = ATT_ERR_CONFIG;
    json_error_t jerr;
    struct parse_ctx p = {name, msg, msg_len};
    struct att_issuers *is = NULL;
    const json_t *arr;
    json_t *doc = NULL;

    snprintf(msg, msg_len, "%s", "");
    if (len > ATT_ISSUERS_FILE_MAX) {
        snprintf(msg, msg_len, "%s: larger than %d bytes", name, ATT_ISSUERS_FILE_MAX);
        return ATT_ERR_TOO_LARGE;
    }
    doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        snprintf(msg, msg_len, "%s:%d: %s", name, jerr.line, jerr.text);
        return ATT_ERR_CONFIG;
    }
    arr = json_object_get(doc, "issuers");
    if (!json_is_object(doc) || json_object_size(doc) != 1 || !json_is_array(arr)) {
        snprintf(msg, msg_len, "%s: must be {\"issuers\": [...]} and nothing else", name);
        goto out;
    }
    if (json_array_size(arr) > ATT_ISSUERS_MAX) {
        snprintf(msg, msg_len, "%s: at most %d issuers", name, ATT_ISSUERS_MAX);
        goto out;
    }
    ATT_GUARD(att_issuers_empty(&is));
    if (json_array_size(arr) > 0) {
        is->items = calloc(json_array_size(arr), sizeof(*is->items));
        ATT_CHECK(is->items != NULL, ATT_ERR_NOMEM);
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        struct issuer *it = &is->items[i];
        ATT_GUARD(parse_issuer(&p, i, json_array_get(arr, i), base, it));
        pthread_mutex_init(&it->lock, NULL);
        is->n = i + 1;
        for (size_t k = 0; k < i; k++) {
            if (strcmp(is->items[k].name, it->name) == 0) {
                rc = bad(&p, i, "name", "is used by another issuer");
                goto out;
            }
            if (strcmp(is->items[k].issuer, it->issuer) == 0) {
                rc = bad(&p, i, "issuer", "is listed twice");
                goto out;
            }
        }
        if (own_issuer != NULL && strcmp(it->issuer, own_issuer) == 0) {
            rc = bad(&p, i, "issuer", "is attestd's own public_url; its tokens need no entry");
            goto out;
        }
    }
    *out = is;
    is = NULL;
    rc = ATT_OK;
out:
    att_issuers_free(is);
    json_decref(doc);
    return rc;
}

att_err att_issuers_parse(const char *name, const char *text, size_t len, const char *own_issuer,
                          struct att_issuers **out, char *msg, size_t msg_len)
{
    return parse_with_base(name, text, len, NULL, own_issuer, out, msg, msg_len);
}

struct att_issuers *att_issuers_retain(struct att_issuers *is)
{
    __atomic_add_fetch(&is->refs, 1, __ATOMIC_RELAXED);
    return is;
}

void att_issuers_free(struct att_issuers *is)
{
    if (is == NULL || __atomic_sub_fetch(&is->refs, 1, __ATOMIC_ACQ_REL) > 0) {
        return;
    }
    free_items(is->items, is->n);
    free(is);
}

size_t att_issuers_count(const struct att_issuers *is)
{
    return is->n;
}

static struct issuer *find_issuer(const struct att_issuers *is, const char *iss)
{
    for (size_t i = 0; i < is->n; i++) {
        if (strcmp(is->items[i].issuer, iss) == 0) {
            return &is->items[i];
        }
    }
    return NULL;
}

bool att_issuers_trusts(const struct att_issuers *is, const char *iss)
{
    return find_issuer(is, iss) != NULL;
}

/* ---- keys ---- */

/* OpenID Connect Discovery 1.0 §4: the document's issuer must be exactly ours. */
static att_err discover_jwks_uri(const struct issuer *it, char *uri, size_t cap, char *detail,
                                 size_t detail_len)
{
    char url[ATT_URL_MAX + 64];
    struct att_buf body;
    json_error_t jerr;
    size_t n = strlen(it->issuer);
    /* §4: the path is appended to the issuer without its trailing slash. */
    snprintf(url, sizeof(url), "%.*s/.well-known/openid-configuration",
             (int)(n > 0 && it->issuer[n - 1] == '/' ? n - 1 : n), it->issuer);
    att_buf_init(&body, ATT_ISSUER_DISCOVERY_MAX);
    att_err rc =
        att_https_get(url, it->ca_file, ATT_ISSUER_DISCOVERY_MAX, &body, detail, detail_len);
    json_t *doc = rc == ATT_OK
                      ? json_loadb((const char *)body.data, body.len, JSON_REJECT_DUPLICATES, &jerr)
                      : NULL;
    att_buf_cleanup(&body);
    if (rc != ATT_OK) {
        return rc;
    }
    const char *iss = json_string_value(json_object_get(doc, "issuer"));
    const char *jwks = json_string_value(json_object_get(doc, "jwks_uri"));
    if (doc == NULL || !json_is_object(doc)) {
        snprintf(detail, detail_len, "%s: not a JSON object", url);
        rc = ATT_ERR_JSON;
    } else if (iss == NULL || strcmp(iss, it->issuer) != 0) {
        snprintf(detail, detail_len, "%s: its issuer is not %s", url, it->issuer);
        rc = ATT_ERR_TOKEN_ISSUER;
    } else if (jwks == NULL || strncmp(jwks, "https://", 8) != 0 || strlen(jwks) >= cap) {
        snprintf(detail, detail_len, "%s: jwks_uri missing, not https or too long", url);
        rc = ATT_ERR_JSON;
    } else {
        snprintf(uri, cap, "%s", jwks);
    }
    json_decref(doc);
    return rc;
}

/* Get the issuer's key set from its source; no lock held (this may take seconds). */
static att_err fetch_keys(const struct issuer *it, struct att_jwks **out, char *detail,
                          size_t detail_len)
{
    char uri[PATH_MAX_LEN + 1];
    struct att_buf body;
    att_err rc = ATT_OK;
    snprintf(detail, detail_len, "%s", "");
    att_buf_init(&body, ATT_JWKS_MAX_BYTES);
    if (it->source == SOURCE_FILE) {
        rc = att_file_read(it->location, ATT_JWKS_MAX_BYTES, &body);
        if (rc != ATT_OK) {
            snprintf(detail, detail_len, "%s: %s", it->location, att_err_str(rc));
        }
    } else {
        if (it->source == SOURCE_DISCOVERY) {
            rc = discover_jwks_uri(it, uri, sizeof(uri), detail, detail_len);
        } else {
            snprintf(uri, sizeof(uri), "%s", it->location);
        }
        if (rc == ATT_OK) {
            rc = att_https_get(uri, it->ca_file, ATT_JWKS_MAX_BYTES, &body, detail, detail_len);
        }
    }
    if (rc == ATT_OK) {
        rc = att_jwks_parse((const char *)body.data, body.len, ATT_JWKS_MAX_KEYS, out);
        if (rc != ATT_OK) {
            snprintf(detail, detail_len, "the JWK Set is invalid: %s", att_err_str(rc));
        }
    }
    att_buf_cleanup(&body);
    return rc;
}

/* Fetch now and install what came (called with it->fetching set by us). */
static void refresh(struct issuer *it, int64_t now)
{
    struct att_jwks *keys = NULL;
    char detail[512];
    att_err rc = fetch_keys(it, &keys, detail, sizeof(detail));
    pthread_mutex_lock(&it->lock);
    if (rc == ATT_OK) {
        att_jwks_free(it->keys);
        it->keys = keys;
        it->fetched_at = now;
    }
    it->fetching = false;
    size_t n = keys != NULL && rc == ATT_OK ? keys->n : 0; /* before another fetch may free it */
    pthread_mutex_unlock(&it->lock);
    if (rc == ATT_OK) {
        att_log(ATT_LOG_INFO, "fetched issuer keys", "issuer_name", json_string(it->name), "issuer",
                json_string(it->issuer), "keys", json_integer((json_int_t)n), NULL);
    } else {
        att_log(ATT_LOG_WARN, "cannot fetch issuer keys; keeping the ones held", "issuer_name",
                json_string(it->name), "issuer", json_string(it->issuer), "error",
                json_string(att_err_name(rc)), "detail", json_string(detail), NULL);
    }
}

/*
 * The key for `kid`, refetching first when the cache is stale or lacks the kid and the rate
 * limit allows. *key is a new reference (EVP_PKEY_free it); *alg the algorithm to verify
 * with, `requested` (the token's "alg") choosing among those the key allows (att_jwks_key_alg).
 */
static att_err key_for(struct issuer *it, const char *kid, enum att_jws_alg requested, int64_t now,
                       EVP_PKEY **key, enum att_jws_alg *alg)
{
    pthread_mutex_lock(&it->lock);
    const struct att_jwks_key *k = it->keys != NULL ? att_jwks_find(it->keys, kid) : NULL;
    bool networked = it->source != SOURCE_FILE;
    bool stale = it->keys == NULL || now - it->fetched_at >= it->refresh_interval;
    bool may = it->last_attempt == 0 || now - it->last_attempt >= it->refresh_min_interval;
    if (networked && (k == NULL || stale) && may && !it->fetching) {
        it->fetching = true;
        it->last_attempt = now;
        pthread_mutex_unlock(&it->lock);
        refresh(it, now);
        pthread_mutex_lock(&it->lock);
        k = it->keys != NULL ? att_jwks_find(it->keys, kid) : NULL;
    }
    if (k != NULL && EVP_PKEY_up_ref(k->key) == 1) {
        *key = k->key;
        *alg = att_jwks_key_alg(k, requested);
    } else {
        k = NULL;
    }
    pthread_mutex_unlock(&it->lock);
    return k != NULL ? ATT_OK : ATT_ERR_TOKEN_KID;
}

static void dirname_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        snprintf(out, cap, "%s", ".");
    } else if (slash == path) {
        snprintf(out, cap, "%s", "/");
    } else {
        snprintf(out, cap, "%.*s", (int)(slash - path), path);
    }
}

att_err att_issuers_load(const char *path, const char *own_issuer, struct att_issuers **out,
                         char *msg, size_t msg_len)
{
    struct att_buf text;
    char base[PATH_MAX_LEN + 1];
    struct att_issuers *is = NULL;
    att_buf_init(&text, ATT_ISSUERS_FILE_MAX);
    att_err rc = att_file_read(path, ATT_ISSUERS_FILE_MAX, &text);
    if (rc != ATT_OK) {
        snprintf(msg, msg_len, "%s: %s", path,
                 rc == ATT_ERR_TOO_LARGE ? "larger than 64 KiB" : "cannot read the file");
        att_buf_cleanup(&text);
        return rc;
    }
    dirname_of(path, base, sizeof(base));
    rc = parse_with_base(path, (const char *)text.data, text.len, base, own_issuer, &is, msg,
                         msg_len);
    att_buf_cleanup(&text);
    ATT_TRY(rc);
    for (size_t i = 0; i < is->n; i++) {
        struct issuer *it = &is->items[i];
        char detail[512];
        if (it->source == SOURCE_FILE) {
            rc = fetch_keys(it, &it->keys, detail, sizeof(detail));
            if (rc != ATT_OK) {
                snprintf(msg, msg_len, "%s: issuers[%zu].jwks_file: %s", path, i, detail);
                att_issuers_free(is);
                return rc;
            }
        } else {
            it->fetching = true;
            it->last_attempt = att_time_now();
            refresh(it, it->last_attempt);
        }
    }
    *out = is;
    return ATT_OK;
}

/* ---- token validation ---- */

/* A claim holding a string or an array of strings: call `each` on every string (capped). */
static att_err each_string(const json_t *v, bool (*each)(const char *s, void *arg), void *arg)
{
    if (json_is_string(v)) {
        each(json_string_value(v), arg);
        return ATT_OK;
    }
    ATT_ENSURE(json_is_array(v) && json_array_size(v) <= CLAIM_ARRAY_MAX, ATT_ERR_TOKEN_CLAIMS);
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e)
    {
        ATT_ENSURE(json_is_string(e), ATT_ERR_TOKEN_CLAIMS);
        if (!each(json_string_value(e), arg)) {
            break;
        }
    }
    return ATT_OK;
}

struct aud_match {
    const struct issuer *it;
    bool hit;
};

static bool match_aud(const char *s, void *arg)
{
    struct aud_match *m = arg;
    for (size_t i = 0; i < m->it->n_audiences; i++) {
        m->hit = m->hit || strcmp(s, m->it->audiences[i]) == 0;
    }
    return !m->hit;
}

static bool add_group(const char *s, void *arg)
{
    struct att_identity *who = arg;
    if (who->n_groups >= ATT_IDENTITY_MAX_GROUPS) {
        return false; /* groups only grant: beyond the cap they are ignored (docs/identity.md) */
    }
    if (s[0] != 0 && strlen(s) < sizeof(who->groups[0])) {
        memcpy(who->groups[who->n_groups++], s, strlen(s) + 1);
    }
    return true;
}

struct role_ctx {
    const struct issuer *it;
    struct att_identity *who;
};

static bool add_role(const char *s, void *arg)
{
    struct role_ctx *c = arg;
    for (size_t i = 0; i < c->it->n_role_map; i++) {
        if (strcmp(c->it->role_map[i].value, s) == 0 &&
            c->who->n_token_roles < ATT_IDENTITY_MAX_TOKEN_ROLES) {
            c->who->token_roles[c->who->n_token_roles++] = c->it->role_map[i].grant;
        }
    }
    return c->who->n_token_roles < ATT_IDENTITY_MAX_TOKEN_ROLES;
}

/* RFC 7519 §4.1.4/§4.1.5/§4.1.6 with the issuer's leeway and lifetime cap. */
static att_err check_times(const struct issuer *it, const json_t *claims, int64_t now)
{
    const json_t *exp = json_object_get(claims, "exp");
    const json_t *nbf = json_object_get(claims, "nbf");
    const json_t *iat = json_object_get(claims, "iat");
    ATT_ENSURE(json_is_integer(exp), ATT_ERR_TOKEN_CLAIMS);
    ATT_ENSURE(nbf == NULL || json_is_integer(nbf), ATT_ERR_TOKEN_CLAIMS);
    ATT_ENSURE(iat == NULL || json_is_integer(iat), ATT_ERR_TOKEN_CLAIMS);
    int64_t e = json_integer_value(exp);
    ATT_ENSURE(e <= INT64_MAX - it->leeway, ATT_ERR_TOKEN_LIFETIME);
    ATT_ENSURE(now <= e + it->leeway, ATT_ERR_TOKEN_EXPIRED);
    int64_t start = now;
    if (iat != NULL) {
        start = json_integer_value(iat);
        ATT_ENSURE(start <= now + it->leeway, ATT_ERR_TOKEN_NOT_YET_VALID);
    }
    if (nbf != NULL) {
        ATT_ENSURE(json_integer_value(nbf) <= now + it->leeway, ATT_ERR_TOKEN_NOT_YET_VALID);
        if (iat == NULL) {
            start = json_integer_value(nbf);
        }
    }
    /* e >= now - leeway here, so e - max_lifetime cannot overflow; e - start could. */
    ATT_ENSURE(e > start && start >= e - it->max_lifetime, ATT_ERR_TOKEN_LIFETIME);
    return ATT_OK;
}

static att_err check_claims(const struct issuer *it, const json_t *claims, int64_t now,
                            struct att_identity *who)
{
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    ATT_ENSURE(iss != NULL && strcmp(iss, it->issuer) == 0, ATT_ERR_TOKEN_ISSUER);
    const json_t *aud = json_object_get(claims, "aud");
    struct aud_match m = {it, false};
    ATT_ENSURE(aud != NULL, ATT_ERR_TOKEN_AUDIENCE);
    ATT_ENSURE(each_string(aud, match_aud, &m) == ATT_OK, ATT_ERR_TOKEN_AUDIENCE);
    ATT_ENSURE(m.hit, ATT_ERR_TOKEN_AUDIENCE);
    ATT_TRY(check_times(it, claims, now));
    for (size_t i = 0; i < it->n_required; i++) {
        const json_t *v = json_object_get(claims, it->required[i].name);
        ATT_ENSURE(json_is_string(v) && strcmp(json_string_value(v), it->required[i].value) == 0,
                   ATT_ERR_TOKEN_CLAIMS);
    }
    const json_t *sub = json_object_get(claims, it->subject_claim);
    const char *s = json_string_value(sub);
    ATT_ENSURE(s != NULL && s[0] != 0 && strlen(s) == json_string_length(sub) &&
                   strlen(s) < sizeof(who->subject),
               ATT_ERR_TOKEN_CLAIMS);
    snprintf(who->kind, sizeof(who->kind), "%s", "subject");
    snprintf(who->subject, sizeof(who->subject), "%s", s);
    snprintf(who->issuer, sizeof(who->issuer), "%s", it->issuer);
    snprintf(who->name, sizeof(who->name), "%s", it->name);
    const json_t *groups =
        it->groups_claim[0] != 0 ? json_object_get(claims, it->groups_claim) : NULL;
    if (groups != NULL) {
        ATT_TRY(each_string(groups, add_group, who));
    }
    const json_t *roles = it->roles_claim[0] != 0 ? json_object_get(claims, it->roles_claim) : NULL;
    struct role_ctx rc = {it, who};
    if (roles != NULL) {
        ATT_TRY(each_string(roles, add_role, &rc));
    }
    return ATT_OK;
}

att_err att_issuers_verify(struct att_issuers *is, const char *token, size_t len, int64_t now,
                           struct att_identity *who)
{
    att_err rc = ATT_ERR_INTERNAL;
    struct att_jws peek = {0};
    struct att_jws jws = {0};
    json_t *unverified = NULL;
    json_t *claims = NULL;
    EVP_PKEY *key = NULL;
    enum att_jws_alg alg = ATT_JWS_NONE;
    json_error_t jerr;
    struct att_identity id;

    memset(&id, 0, sizeof(id));
    ATT_CHECK(len <= ATT_ISSUER_TOKEN_MAX, ATT_ERR_TOO_LARGE);
    /* The issuer and kid choose the key; nothing else is read before the signature holds. */
    ATT_GUARD(att_jws_decode_unverified(token, len, &peek));
    const char *hdr_alg = json_string_value(json_object_get(peek.header, "alg"));
    ATT_CHECK(hdr_alg == NULL || strcmp(hdr_alg, "none") != 0, ATT_ERR_ALG_NONE);
    /* Only chooses between the algorithms the key allows (att_jwks_key_alg). */
    enum att_jws_alg requested = ATT_JWS_NONE;
    if (hdr_alg == NULL || att_jws_alg_parse(hdr_alg, &requested) != ATT_OK) {
        requested = ATT_JWS_NONE;
    }
    unverified = json_loadb((const char *)peek.payload.data, peek.payload.len,
                            JSON_REJECT_DUPLICATES, &jerr);
    ATT_CHECK(json_is_object(unverified), ATT_ERR_JSON);
    const char *iss = json_string_value(json_object_get(unverified, "iss"));
    struct issuer *it = iss != NULL ? find_issuer(is, iss) : NULL;
    ATT_CHECK(it != NULL, ATT_ERR_TOKEN_ISSUER);
    const json_t *kid_v = json_object_get(peek.header, "kid");
    ATT_CHECK(kid_v == NULL || json_is_string(kid_v), ATT_ERR_TOKEN_KID);
    const char *kid = kid_v != NULL ? json_string_value(kid_v) : "";
    ATT_CHECK(strlen(kid) <= ATT_JWKS_KID_MAX, ATT_ERR_TOKEN_KID);
    ATT_GUARD(key_for(it, kid, requested, now, &key, &alg));
    ATT_GUARD(att_jws_verify(token, len, key, alg, &jws));
    claims =
        json_loadb((const char *)jws.payload.data, jws.payload.len, JSON_REJECT_DUPLICATES, &jerr);
    ATT_CHECK(json_is_object(claims), ATT_ERR_JSON);
    ATT_GUARD(check_claims(it, claims, now, &id));
    *who = id;
    rc = ATT_OK;
out:
    EVP_PKEY_free(key);
    json_decref(unverified);
    json_decref(claims);
    att_jws_cleanup(&peek);
    att_jws_cleanup(&jws);
    return rc;
}
