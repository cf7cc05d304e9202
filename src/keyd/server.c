/*
 * server.c - a key worker (keyd.h), forked by the supervisor for one session: read the KEK,
 * give up root, load the keys, then answer requests - in order, a batch's answers in one
 * write - until the network process goes away.
 *
 * Input trust: every request comes from the network-facing process, which an attacker may
 * control; requests are read with the bounded reader (proto.c), each is checked against the
 * narrow table in keyd.h, and nothing else is served: in particular no key, KEK or data key
 * ever leaves, a signature is given only for a signing input whose header is a token of that
 * key's kind, and only policy texts are sealed or opened.
 */
#include "keyd/keyd.h"

#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "auth/access.h"
#include "core/codec.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "keyd/proto.h"
#include "seal/keyring.h"
#include "seal/seal.h"
#include "server/config.h"
#include "server/daemon.h"
#include "server/privdrop.h"

#define POLICY_TABLE "policy_versions"
#define HEADER_MAX 4096
#define SIGN_INPUT_MAX ((size_t)256 << 10)

struct keyd {
    const struct att_config *cfg;
    struct att_store *store;
    struct att_keyring *kr;
    struct att_provider_set *set;
    struct att_auth *auth;
    /* The last protected header found acceptable, with the key and kind it was checked for:
     * a provider's tokens all carry the same one, so it is parsed once, not per token. */
    char approved[HEADER_MAX];
    size_t approved_len;
    char approved_kid[ATT_KID_MAX + 1];
    bool approved_provider_key;
    /* A PKCS#11 token stopped answering: this worker ends after answering, and the next one
     * opens a new session (a module keeps no session across processes). */
    bool token_failed;
    /* ATT_LOCK_KEYS while this node's key process leads the rotation of signing keys. */
    struct att_store *keys_lock;
};

/*
 * Read the KEK, give up root, and load the keys: the steps and messages of attestd's own
 * start-up (server/daemon.c), as "step: detail" in msg, so a failure reads the same either way.
 */
static att_err setup(struct keyd *k, char *msg, size_t n)
{
    const struct att_config *cfg = k->cfg;
    struct att_kek kek;
    char why[768] = "";
    bool created = false;
    att_err rc = att_daemon_load_kek(cfg, &kek, why, sizeof(why));
    snprintf(msg, n, "key-encryption key: %s", why);
    /* Root is given up before anything is opened or made: files stay the service user's. */
    if (rc == ATT_OK) {
        rc = att_privdrop(cfg->user, false, why, sizeof(why));
        snprintf(msg, n, "user: %s", why);
    }
    if (rc == ATT_OK) {
        rc = att_daemon_check_data_dir(cfg, why, sizeof(why));
        snprintf(msg, n, "data_dir: %s", why);
    }
    /* A change of user clears the parent-death signal (prctl(2)): set it again. */
    if (rc == ATT_OK && !att_keyd_harden()) {
        rc = ATT_ERR_KEYD_UNAVAILABLE;
        snprintf(msg, n, "key process: the supervisor is gone");
    }
    if (rc == ATT_OK) {
        rc = att_store_open(att_config_store_where(cfg), &k->store);
        snprintf(msg, n, "store: %s: %s", att_config_store_label(cfg), att_err_str(rc));
    }
    if (rc == ATT_OK) {
        rc = att_keyring_new(k->store, &kek, &k->kr);
        snprintf(msg, n, "keyring: %s", att_err_str(rc));
    }
    att_kek_wipe(&kek);
    if (rc == ATT_OK && cfg->signing_keys_pkcs11[0] != 0) {
        rc = att_keyring_use_signing_token(k->kr, cfg->signing_keys_pkcs11, why, sizeof(why));
        snprintf(msg, n, "signing_keys_pkcs11: %s", why);
    }
    /* Nodes starting together make the first provider and keys one at a time (daemon.h). */
    struct att_store *bootstrap = NULL;
    if (rc == ATT_OK) {
        rc = att_daemon_bootstrap_lock(k->store, &bootstrap);
        snprintf(msg, n, "store: %s", att_err_str(rc));
    }
    if (rc == ATT_OK) {
        rc = att_provider_ensure_default(k->store, k->kr, cfg->public_url, cfg->default_signing_alg,
                                         att_time_now(), &created);
        snprintf(msg, n, "default provider: %s", att_err_str(rc));
    }
    if (rc == ATT_OK) {
        rc = att_provider_set_load(k->store, k->kr, &k->set);
        snprintf(msg, n, "providers: %s%s", att_err_str(rc),
                 rc == ATT_ERR_KEK_MISMATCH || rc == ATT_ERR_SEAL_AUTH
                     ? " (is this the key-encryption key the data was sealed with?)"
                     : "");
    }
    if (rc == ATT_OK) {
        rc = att_auth_new(k->store, k->kr, cfg->public_url, att_time_now(), &k->auth);
        snprintf(msg, n, "auth key: %s", att_err_str(rc));
    }
    att_store_unlock(bootstrap);
    /* The looks (UPKEEP) write the store; signatures queued behind one must not wait out a
     * lock held elsewhere: a look that cannot write tries again at the next. */
    if (rc == ATT_OK) {
        rc = att_store_set_lock_wait(k->store, ATT_KEY_LOOK_LOCK_WAIT_MS);
        snprintf(msg, n, "store: %s", att_err_str(rc));
    }
    return rc;
}

/* The providers' keys as the store has them now (after attestctl made or rotated some). */
static att_err reload_providers(struct keyd *k)
{
    struct att_provider_set *set = NULL;
    ATT_TRY(att_provider_set_load(k->store, k->kr, &set));
    att_provider_set_carry_floors(set, k->set);
    att_provider_set_free(k->set);
    k->set = set;
    return ATT_OK;
}

/* ---- SIGN: the header must be a token of this key's kind ---- */

static bool typ_allowed(const char *typ, bool provider_key)
{
    if (provider_key) {
        return strcmp(typ, "JWT") == 0;
    }
    return strcmp(typ, "at+jwt") == 0 || strcmp(typ, ATT_AUDIT_CHECKPOINT_TYP) == 0;
}

static att_err check_header(struct keyd *k, struct att_bytes input, const char *kid,
                            enum att_jws_alg alg, bool provider_key)
{
    struct att_rd r;
    struct att_bytes head;
    struct att_buf raw;
    att_rd_init(&r, input.ptr, input.len);
    ATT_TRY(att_rd_until(&r, '.', &head));
    ATT_ENSURE(head.len > 0 && head.len <= HEADER_MAX, ATT_ERR_JWS_FORMAT);
    if (head.len == k->approved_len && memcmp(head.ptr, k->approved, head.len) == 0 &&
        strcmp(kid, k->approved_kid) == 0 && provider_key == k->approved_provider_key) {
        return ATT_OK; /* the very bytes checked before, for the same key and kind */
    }
    att_buf_init(&raw, HEADER_MAX);
    att_err rc = att_b64url_decode((const char *)head.ptr, head.len, &raw);
    json_t *h = rc == ATT_OK
                    ? json_loadb((const char *)raw.data, raw.len, JSON_REJECT_DUPLICATES, NULL)
                    : NULL;
    att_buf_cleanup(&raw);
    const char *h_alg = json_string_value(json_object_get(h, "alg"));
    const char *h_kid = json_string_value(json_object_get(h, "kid"));
    const char *h_typ = json_string_value(json_object_get(h, "typ"));
    bool ok = h_alg != NULL && strcmp(h_alg, att_jws_alg_name(alg)) == 0 && h_kid != NULL &&
              strcmp(h_kid, kid) == 0 && h_typ != NULL && typ_allowed(h_typ, provider_key);
    json_decref(h);
    if (ok) {
        memcpy(k->approved, head.ptr, head.len);
        k->approved_len = head.len;
        snprintf(k->approved_kid, sizeof(k->approved_kid), "%s", kid);
        k->approved_provider_key = provider_key;
    }
    return ok ? ATT_OK : ATT_ERR_KEYD_REFUSED;
}

static att_err handle_sign(struct keyd *k, struct att_rd *body, struct att_buf *out)
{
    char kid[ATT_KID_MAX + 1];
    struct att_bytes input;
    enum att_jws_alg alg;
    ATT_TRY(att_keyd_get_str8(body, kid, sizeof(kid)));
    ATT_TRY(att_keyd_get_bytes32(body, SIGN_INPUT_MAX, &input));
    ATT_TRY(att_rd_end(body));
    bool provider_key = att_signer_alg(k->set->signer, kid, &alg) == ATT_OK;
    if (!provider_key && att_signer_alg(att_auth_signer(k->auth), kid, &alg) != ATT_OK) {
        /* A key made since this worker loaded them, which the network process has loaded. */
        ATT_TRY(reload_providers(k));
        provider_key = att_signer_alg(k->set->signer, kid, &alg) == ATT_OK;
        ATT_ENSURE(provider_key, ATT_ERR_NOT_FOUND);
    }
    struct att_signer *s = provider_key ? k->set->signer : att_auth_signer(k->auth);
    ATT_TRY(check_header(k, input, kid, alg, provider_key));
    struct att_buf sig;
    att_buf_init(&sig, 4096);
    att_err rc = att_signer_sign(s, kid, input.ptr, input.len, &sig);
    if (rc == ATT_OK) {
        rc = att_keyd_put_bytes32(out, sig.data, sig.len);
    }
    att_buf_cleanup(&sig);
    return rc;
}

/* ---- SEAL / OPEN: policy texts only ---- */

static att_err handle_seal(struct keyd *k, struct att_rd *body, bool seal, struct att_buf *out)
{
    char id[65];
    struct att_bytes data;
    struct att_buf result;
    ATT_TRY(att_keyd_get_str8(body, id, sizeof(id)));
    ATT_TRY(att_keyd_get_bytes32(body, ATT_KEYD_MSG_MAX - 128, &data));
    ATT_TRY(att_rd_end(body));
    att_buf_init_secret(&result, ATT_KEYD_MSG_MAX);
    att_err rc = seal ? att_keyring_seal(k->kr, POLICY_TABLE, id, data.ptr, data.len, &result)
                      : att_keyring_open(k->kr, POLICY_TABLE, id, data.ptr, data.len, &result);
    if (rc == ATT_OK) {
        rc = att_keyd_put_bytes32(out, result.data, result.len);
    }
    att_buf_cleanup(&result);
    return rc;
}

/* ---- UPKEEP ---- */

struct events {
    struct att_buf *out;
    uint16_t n;
    att_err rc;
};

static void put_event(const struct att_key_event *e, void *arg)
{
    struct events *ev = arg;
    if (ev->rc != ATT_OK || ev->n == ATT_KEYD_EVENTS_MAX) {
        return;
    }
    ev->rc = att_keyd_put_u8(ev->out, (uint8_t)e->kind);
    if (ev->rc == ATT_OK) {
        ev->rc = att_keyd_put_str8(ev->out, e->provider);
    }
    if (ev->rc == ATT_OK) {
        ev->rc = att_keyd_put_str8(ev->out, e->kid);
    }
    if (ev->rc == ATT_OK) {
        ev->rc = att_keyd_put_i64(ev->out, e->at);
    }
    ev->n++;
}

static att_err handle_upkeep(struct keyd *k, struct att_rd *body, struct att_buf *out)
{
    /* The time and the settings are this process's own: a hostile network process could
     * otherwise jump the clock years ahead and have the key of today retired and destroyed. */
    struct att_key_upkeep cfg = att_daemon_key_upkeep_config(k->cfg);
    cfg.follower = !att_daemon_cluster_lead(k->store, ATT_LOCK_KEYS, &k->keys_lock,
                                            "signing-key rotation", k->cfg->node_name);
    int64_t now = att_time_now();
    ATT_TRY(att_rd_end(body));
    struct att_buf events;
    att_buf_init(&events, 1 << 16);
    struct events ev = {&events, 0, ATT_OK};
    bool changed = false;
    att_err rc =
        att_provider_keys_upkeep(k->store, k->kr, k->set, &cfg, now, put_event, &ev, &changed);
    if (changed) {                           /* the keys this process holds follow the store */
        att_ignore_err(reload_providers(k)); /* else at the first SIGN of a new key */
    }
    if (ev.rc == ATT_OK) {
        ev.rc = att_keyd_put_u8(out, changed ? 1 : 0);
    }
    if (ev.rc == ATT_OK) {
        ev.rc = att_keyd_put_u16(out, ev.n);
    }
    if (ev.rc == ATT_OK) {
        ev.rc = att_buf_put(out, events.data, events.len);
    }
    att_buf_cleanup(&events);
    return rc != ATT_OK ? rc : ev.rc;
}

/* ---- the loop ---- */

/* Append the answer to one request to `out`. */
static att_err answer(struct keyd *k, struct att_bytes msg, struct att_buf *out)
{
    uint32_t id;
    uint16_t op;
    struct att_rd body;
    size_t start;
    ATT_TRY(att_keyd_split(msg, &id, &op, &body));
    ATT_TRY(att_keyd_msg_begin(out, id, ATT_OK, &start));
    size_t head = out->len;
    att_err rc;
    switch (op) {
    case ATT_KEYD_SIGN: rc = handle_sign(k, &body, out); break;
    case ATT_KEYD_SEAL: rc = handle_seal(k, &body, true, out); break;
    case ATT_KEYD_OPEN: rc = handle_seal(k, &body, false, out); break;
    case ATT_KEYD_UPKEEP: rc = handle_upkeep(k, &body, out); break;
    default: rc = ATT_ERR_KEYD_REFUSED; break;
    }
    k->token_failed = k->token_failed || rc == ATT_ERR_TOKEN_UNAVAILABLE;
    if (rc != ATT_OK) { /* an answer with the error and no body */
        out->len = head;
        out->data[head - 2] = (uint8_t)((unsigned)rc >> 8);
        out->data[head - 1] = (uint8_t)rc;
    }
    return att_keyd_msg_end(out, start);
}

/* The answers to requests sent together go back together: one write for the batch. */
#define FLUSH_AT ((size_t)256 << 10)

static void serve(struct keyd *k, int fd)
{
    struct att_keyd_reader in;
    struct att_buf out;
    att_keyd_reader_init(&in);
    att_buf_init_secret(&out, 2 * ATT_KEYD_MSG_MAX + FLUSH_AT);
    for (;;) {
        struct att_bytes msg;
        if (att_keyd_reader_next(&in, fd, &msg) != ATT_OK || answer(k, msg, &out) != ATT_OK) {
            break; /* the network process is gone, or speaks nonsense: end */
        }
        if (att_keyd_reader_ready(&in) && out.len < FLUSH_AT && !k->token_failed) {
            continue;
        }
        if (att_keyd_send(fd, &out) != ATT_OK) {
            break;
        }
        if (k->token_failed) { /* what is unanswered is asked again of the next worker */
            att_log(ATT_LOG_ERROR,
                    "the PKCS#11 token failed; this key worker ends so that the next one opens "
                    "the token again",
                    NULL);
            break;
        }
        att_wipe(out.data, out.len); /* what was sent, not the whole capacity */
        out.len = 0;
    }
    att_keyd_reader_cleanup(&in);
    att_buf_cleanup(&out);
}

int att_keyd_worker_main(const struct att_config *cfg, int fd)
{
    struct keyd k = {.cfg = cfg};
    char msg[1024] = "key process: failed";
    struct att_buf ready;
    /* Die with the supervisor; keep the keys out of core dumps. */
    if (!att_keyd_harden()) {
        return 1;
    }
    /* On a shared core, let the network process's workers fill a batch before answering it. */
    struct sched_param batch = {0};
    (void)sched_setscheduler(0, SCHED_BATCH, &batch);
    size_t start;
    att_buf_init(&ready, 4096);
    att_err rc = setup(&k, msg, sizeof(msg));
    if (att_keyd_msg_begin(&ready, 0, (uint16_t)rc, &start) == ATT_OK &&
        (rc == ATT_OK || att_keyd_put_bytes32(&ready, msg, strlen(msg)) == ATT_OK) &&
        att_keyd_msg_end(&ready, start) == ATT_OK) {
        att_ignore_err(att_keyd_send(fd, &ready)); /* a parent gone sees EOF instead */
    }
    att_buf_cleanup(&ready);
    if (rc == ATT_OK) {
        att_log(ATT_LOG_INFO, "key worker ready", "pid", json_integer(getpid()), NULL);
        serve(&k, fd);
    }
    att_provider_set_free(k.set);
    att_auth_free(k.auth);
    att_keyring_free(k.kr);
    att_store_unlock(k.keys_lock);
    att_store_close(k.store);
    close(fd);
    return rc == ATT_OK ? 0 : 1;
}
