/*
 * upkeep.c - the daemon's periodic look at the providers' signing keys (see provider.h,
 * att_provider_keys_upkeep; the schedule itself is schedule.h).
 *
 * Input: records from our own store. Each provider is handled on its own: a failure is logged
 * and the others are still looked after.
 */
#include "provider/provider.h"

#include "provider/provider_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"

_Static_assert(sizeof(((struct att_key_rec *)0)->kid) == ATT_KID_MAX + 1, "kid sizes agree");

/* A provider's keys as the store has them now (att_store_key_list's callback). */
att_err att_stored_keys_add(const struct att_key_rec *k, void *arg)
{
    struct att_stored_keys *l = arg;
    if (l->n == ATT_PROVIDER_KEYS_MAX) {
        l->too_many = true;
        return ATT_OK;
    }
    memcpy(l->kid[l->n], k->kid, sizeof(k->kid));
    l->times[l->n] = att_provider_key_times(k);
    l->n++;
    return ATT_OK;
}

struct names {
    char (*name)[ATT_PROVIDER_NAME_MAX + 1];
    size_t n;
};

static att_err collect_name(const struct att_provider_rec *p, void *arg)
{
    struct names *l = arg;
    ATT_ENSURE(l->n < ATT_PROVIDERS_MAX, ATT_ERR_TOO_LARGE);
    memcpy(l->name[l->n++], p->name, sizeof(p->name));
    return ATT_OK;
}

/* Whether `p` (loaded) has exactly the keys `have`, in the same order and with the same times. */
static bool same_keys(const struct att_provider *p, const struct att_stored_keys *have)
{
    if (p == NULL || have->too_many || p->n_keys != have->n) {
        return false;
    }
    for (size_t i = 0; i < have->n; i++) {
        if (strcmp(p->keys[i].kid, have->kid[i]) != 0 ||
            p->keys[i].times.activate_at != have->times[i].activate_at) {
            return false;
        }
    }
    return true;
}

/* A retired key's record, to destroy what it names outside the store (a token key pair). */
struct find_sealed {
    const char *kid;
    struct att_key_rec *rec;
    bool found;
};

static att_err copy_if_kid(const struct att_key_rec *k, void *arg)
{
    struct find_sealed *f = arg;
    if (!f->found && strcmp(k->kid, f->kid) == 0) {
        f->found = true;
        return att_buf_put(&f->rec->sealed_key, k->sealed_key.data, k->sealed_key.len);
    }
    return ATT_OK;
}

/* Destroy a retired key: its key pair in the token, if it has one, then its record. */
static att_err destroy_key(struct att_store *store, struct att_keyring *kr, const char *provider,
                           const char *kid)
{
    struct att_key_rec rec;
    att_key_rec_init(&rec);
    struct find_sealed f = {kid, &rec, false};
    att_err rc = att_store_key_list(store, provider, copy_if_kid, &f);
    if (rc == ATT_OK && !f.found) {
        rc = ATT_ERR_NOT_FOUND;
    }
    if (rc == ATT_OK) {
        rc = att_signer_destroy_sealed(kr, ATT_PROVIDER_KEYS_TABLE, kid, rec.sealed_key.data,
                                       rec.sealed_key.len);
    }
    if (rc == ATT_OK) {
        rc = att_store_key_delete(store, provider, kid);
    }
    att_key_rec_cleanup(&rec);
    return rc;
}

static void log_failure(const char *what, const char *provider, att_err rc)
{
    att_log(ATT_LOG_ERROR, what, "provider", json_string(provider), "error",
            json_string(att_err_name(rc)), NULL);
}

/*
 * Rotate and retire one provider's keys as due; *touched when the store changed. At most
 * ATT_KEY_ROTATIONS_PER_LOOK keys are made per look (*made counts them): making an RSA key takes
 * tens of milliseconds, and the key worker signs nothing meanwhile. The others wait for the
 * next looks; their old keys sign until then.
 */
static att_err upkeep_one(struct att_store *store, struct att_keyring *kr, const char *name,
                          const struct att_key_upkeep *cfg, int64_t now, att_key_event_cb cb,
                          void *arg, struct att_stored_keys *have, bool *touched, size_t *made)
{
    att_err first = ATT_OK;
    if (*made < ATT_KEY_ROTATIONS_PER_LOOK &&
        att_key_rotation_due(have->times, have->n, now, cfg->rotation, cfg->lead)) {
        (*made)++;
        struct att_key_event e = {.kind = ATT_KEY_EVENT_MADE, .provider = name};
        att_err rc = att_provider_rotate_key(store, kr, name, now, cfg->lead, cfg->token_lifetime,
                                             e.kid, &e.at, NULL);
        if (rc == ATT_OK) {
            *touched = true;
            cb(&e, arg);
        } else if (rc != ATT_ERR_STATE) { /* STATE: another process made one meanwhile */
            log_failure("scheduled signing-key rotation failed", name, rc);
            first = rc;
        }
        if (rc == ATT_ERR_STORE_BUSY) {
            return rc; /* the store is locked: the next look tries again */
        }
    }
    struct att_key_phase phase[ATT_PROVIDER_KEYS_MAX];
    att_key_phases(have->times, have->n, now, cfg->leeway, phase);
    for (size_t i = 0; i < have->n; i++) {
        if (phase[i].state != ATT_KEY_RETIRED || phase[i].destroy_at > now) {
            continue;
        }
        struct att_key_event e = {.kind = ATT_KEY_EVENT_DESTROYED, .provider = name};
        memcpy(e.kid, have->kid[i], sizeof(e.kid));
        e.at = phase[i].destroy_at;
        att_err rc = destroy_key(store, kr, name, e.kid);
        if (rc == ATT_OK) {
            *touched = true;
            cb(&e, arg);
        } else if (rc != ATT_ERR_NOT_FOUND) { /* NOT_FOUND: another process destroyed it */
            log_failure("cannot destroy a retired signing key", name, rc);
            first = first != ATT_OK ? first : rc;
        }
        if (rc == ATT_ERR_STORE_BUSY) {
            return rc;
        }
    }
    return first;
}

att_err att_provider_keys_upkeep(struct att_store *store, struct att_keyring *kr,
                                 const struct att_provider_set *set,
                                 const struct att_key_upkeep *cfg, int64_t now, att_key_event_cb cb,
                                 void *arg, bool *changed)
{
    *changed = false;
    /* First the keys this daemon signs with: until that is durable nothing may be retired
     * (a key the daemon still uses, because it could not load the next, stays alive). */
    ATT_TRY(att_provider_note_signing_keys(store, set, now, cfg->token_lifetime));
    char(*name)[ATT_PROVIDER_NAME_MAX + 1] = calloc(ATT_PROVIDERS_MAX, sizeof(*name));
    struct names names = {name, 0};
    att_err first = ATT_OK;
    ATT_ENSURE(name != NULL, ATT_ERR_NOMEM);
    att_err rc = att_store_provider_list(store, collect_name, &names);
    if (rc != ATT_OK) {
        free(name);
        return rc;
    }
    *changed = names.n != set->n;
    size_t made = 0;
    for (size_t i = 0; i < names.n; i++) {
        struct att_stored_keys have = {.n = 0};
        bool touched = false;
        rc = att_store_key_list(store, name[i], att_stored_keys_add, &have);
        if (rc != ATT_OK) {
            log_failure("cannot read a provider's signing keys", name[i], rc);
        } else if (!cfg->follower) {
            rc = upkeep_one(store, kr, name[i], cfg, now, cb, arg, &have, &touched, &made);
        }
        first = first != ATT_OK ? first : rc;
        if (rc == ATT_ERR_STORE_BUSY) {
            *changed = *changed || touched;
            break; /* a locked store: no use holding the main thread for every provider */
        }
        const struct att_provider *p = att_provider_set_find(set, name[i], strlen(name[i]));
        if (touched || !same_keys(p, &have)) {
            *changed = true;
        }
    }
    free(name);
    return first;
}
